/*
 * test_sw_vlan.c - VLANs of the learning switch (OVS semantics) on a real
 * ringswitchd: access ports vm1 and vm2 (tag=10) and vm3 (tag=20), a trunk
 * (trunks=10,20). Access ports of one VLAN talk, untagged; the other VLAN's
 * port hears nothing; the trunk receives their frames with an 802.1Q tag of
 * the right VID and its tagged frames reach only that VLAN's access ports,
 * untagged. Tagged frames on an access port, untagged frames or VIDs outside
 * the list on the trunk are dropped and counted (drops.vlan). A priority tag
 * (VID 0) on an access port is accepted. Learning is per VLAN. set-port
 * moves a port to another VLAN at run time. test_sw_vlan_pcp: the 802.1Q
 * priority is kept from trunk to trunk and from a priority tag, as in OVS.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "swtest.h"

#define NP	  4
#define SILENT_MS 100
#define A1	  0 /* vm1, tag 10 */
#define A2	  1 /* vm2, tag 10 */
#define B1	  2 /* vm3, tag 20 */
#define TR	  3 /* trunk, 10 and 20 */

static const char *const names[NP] = {"vm1", "vm2", "vm3", "trunk"};

static struct vt {
	struct swd d;
	struct fe fe[NP];
	struct swt_mac mac[NP];
	uint32_t seq;
} T;

static int vt_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NP; i++)
		fe_close(&T.fe[i]);
	swd_cleanup(&T.d);
	return 0;
}

struct want {
	int port;
	int tci; /* -1: untagged, else the 802.1Q TCI the port must see */
};

/*
 * Sends a frame from 'from' (tagged with 'tci' unless it is -1) and expects
 * it on exactly the ports of 'w' (n entries), tagged as each says.
 */
static void vt_check(int from, int tci, struct swt_mac dst, size_t len, const struct want *w,
		     unsigned n)
{
	uint8_t plain[SWT_FRAME_MAX], f[SWT_FRAME_MAX];
	swt_eth(plain, len, dst, T.mac[from], ++T.seq);
	memcpy(f, plain, len);
	size_t flen = tci >= 0 ? swt_tag(f, len, (uint16_t)tci) : len;
	swt_send(&T.fe[from], 0, f, flen);
	unsigned seen = 0;
	for (unsigned i = 0; i < n; i++) {
		uint8_t e[SWT_FRAME_MAX];
		memcpy(e, plain, len);
		size_t elen = w[i].tci >= 0 ? swt_tag(e, len, (uint16_t)w[i].tci) : len;
		swt_expect(&T.fe[w[i].port], names[w[i].port], 0, e, elen);
		seen |= 1u << w[i].port;
	}
	for (int p = 0; p < NP; p++)
		if (!(seen & (1u << p)))
			swt_silence(&T.fe[p], names[p], SILENT_MS);
}

static void vt_fdb_has(struct swt_mac mac, const char *port, int vlan)
{
	char want[18];
	snprintf(want, sizeof(want), "%02x:%02x:%02x:%02x:%02x:%02x", mac.b[0], mac.b[1], mac.b[2],
		 mac.b[3], mac.b[4], mac.b[5]);
	json_t *a = swctl_ok(&T.d, true, "fdb-show");
	size_t i;
	json_t *e;
	bool found = false;
	json_array_foreach(a, i, e)
	{
		found |= strcmp(json_string_value(json_object_get(e, "mac")), want) == 0 &&
			 strcmp(json_string_value(json_object_get(e, "port")), port) == 0 &&
			 json_integer_value(json_object_get(e, "vlan")) == vlan;
	}
	char *dump = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	if (!found)
		fail_msg("fdb-show lacks %s on %s VLAN %d: %s", want, port, vlan, dump);
	free(dump);
}

static void test_sw_vlan(void **state)
{
	(void)state;
	memset(&T, 0, sizeof(T));
	swd_start(&T.d, "add-port vm1 vhost-user-server tag=10\n"
			"add-port vm2 vhost-user-server tag=10\n"
			"add-port vm3 vhost-user-server tag=20\n"
			"add-port trunk vhost-user-server trunks=10,20\n");
	for (int i = 0; i < NP; i++) {
		T.mac[i] = swt_mac((uint8_t)(0x10 + i));
		swt_fe_attach(&T.d, &T.fe[i], names[i], 1);
	}
	struct swt_mac *m = T.mac;

	/* VLAN 10 broadcast from an access port: vm2 untagged, the trunk tagged 10, not vm3. */
	vt_check(A1, -1, swt_bcast, 100, (struct want[]){{A2, -1}, {TR, 10}}, 2);
	/* Learned in VLAN 10: vm2 -> vm1 unicast only to vm1; unknown vm2 MAC floods VLAN 10. */
	vt_check(A2, -1, m[A1], 333, (struct want[]){{A1, -1}}, 1);
	vt_check(A1, -1, m[A2], 1514, (struct want[]){{A2, -1}}, 1);
	/* Frames above VQ_REF_MIN are copied once (split pbufs): tagged for the trunk, untagged
	 * from it, the tail shared by the copies. */
	vt_check(A1, -1, swt_bcast, 1514, (struct want[]){{A2, -1}, {TR, 10}}, 2);
	vt_check(TR, 10, m[A1], 1400, (struct want[]){{A1, -1}}, 1);
	/* VLAN 20 broadcast from vm3: only the trunk, tagged 20. */
	vt_check(B1, -1, swt_bcast, 64, (struct want[]){{TR, 20}}, 1);
	/* The trunk in VLAN 20: only vm3, untagged (unknown unicast and broadcast). */
	vt_check(TR, 20, swt_bcast, 80, (struct want[]){{B1, -1}}, 1);
	vt_check(TR, 20, m[B1], 81, (struct want[]){{B1, -1}}, 1);
	/* The trunk in VLAN 10: broadcast to both access ports, unicast to one. */
	vt_check(TR, 10, swt_bcast, 90, (struct want[]){{A1, -1}, {A2, -1}}, 1 + 1);
	vt_check(TR, 10, m[A1], 91, (struct want[]){{A1, -1}}, 1);
	/* vm1 -> the trunk's MAC, learned in VLAN 10: only the trunk, tagged. */
	vt_check(A1, -1, m[TR], 92, (struct want[]){{TR, 10}}, 1);
	/* vm3 -> the trunk's MAC in VLAN 20. */
	vt_check(B1, -1, m[TR], 93, (struct want[]){{TR, 20}}, 1);
	/* A MAC learned in VLAN 10 does not leak into VLAN 20: vm3 -> vm1's MAC floods VLAN 20. */
	vt_check(B1, -1, m[A1], 94, (struct want[]){{TR, 20}}, 1);

	vt_fdb_has(m[A1], "vm1", 10);
	vt_fdb_has(m[A2], "vm2", 10);
	vt_fdb_has(m[B1], "vm3", 20);
	vt_fdb_has(m[TR], "trunk", 10);
	vt_fdb_has(m[TR], "trunk", 20);

	/* Dropped and counted: a VID the trunk does not carry, an untagged frame on the trunk
	 * (no native VLAN in trunks=10,20), tagged frames on an access port. */
	vt_check(TR, 30, swt_bcast, 100, NULL, 0);
	vt_check(TR, -1, swt_bcast, 100, NULL, 0);
	vt_check(A1, 10, swt_bcast, 100, NULL, 0);
	vt_check(A1, 20, m[B1], 100, NULL, 0);
	int64_t v;
	assert_int_equal((v = swt_wait_stat(&T.d, "trunk", "drops.vlan", 2)), 2);
	assert_int_equal((v = swt_wait_stat(&T.d, "vm1", "drops.vlan", 2)), 2);
	assert_int_equal(swt_stat(&T.d, "vm2", "drops.vlan"), 0);
	assert_int_equal(swt_stat(&T.d, "vm3", "drops.vlan"), 0);

	/* A priority tag (VID 0) on an access port is accepted as untagged: VLAN 10. */
	vt_check(A2, 0x0000, swt_bcast, 120, (struct want[]){{A1, -1}, {TR, 10}}, 2);
	assert_int_equal(swt_stat(&T.d, "vm2", "drops.vlan"), 0);

	/* set-port at run time: vm3 joins VLAN 10. */
	swctl_do(&T.d, "set-port", "vm3", "tag=10");
	swctl_do(&T.d, "fdb-flush");
	vt_check(A1, -1, swt_bcast, 130, (struct want[]){{A2, -1}, {B1, -1}, {TR, 10}}, 3);
	vt_check(TR, 20, swt_bcast, 131, NULL, 0); /* nobody is in VLAN 20 any more */

	for (int i = 0; i < NP; i++)
		swt_fe_detach(&T.fe[i]);
	swd_cleanup(&T.d);
}

/*
 * The 802.1Q priority (PCP) survives normal switching, as in OVS: a frame
 * tagged VID 10 PCP 5 on one trunk leaves another trunk as VID 10 PCP 5, and
 * a priority-tagged frame (VID 0, PCP 3) on an access port of VLAN 10 leaves a
 * trunk as VID 10 PCP 3 (OVS keeps the PCP in the flow's VLAN header and only
 * replaces the VID).
 */
/* Receives one frame on 'fe'; true when it equals 'want', else prints both TCIs. */
static bool vt_tci_is(struct fe *fe, const char *who, const uint8_t *want, size_t len)
{
	uint8_t got[SWT_FRAME_MAX + 64];
	size_t n = 0;
	int err = fe_recv(fe, 0, got, sizeof(got), &n);
	if (err < 0)
		fail_msg("%s: no frame (%d: %s)", who, err, fe->err);
	if (n == len && memcmp(got, want, len) == 0)
		return true;
	fprintf(stderr, "%s: want TCI 0x%02x%02x, got %zu bytes with TCI 0x%02x%02x\n", who,
		want[14], want[15], n, got[14], got[15]);
	return false;
}

static void test_sw_vlan_pcp(void **state)
{
	(void)state;
	memset(&T, 0, sizeof(T));
	swd_start(&T.d, "add-port vm1 vhost-user-server tag=10\n"
			"add-port t1 vhost-user-server trunks=10,20\n"
			"add-port t2 vhost-user-server trunks=10,20\n");
	static const char *const pn[3] = {"vm1", "t1", "t2"};
	for (int i = 0; i < 3; i++) {
		T.mac[i] = swt_mac((uint8_t)(0x40 + i));
		swt_fe_attach(&T.d, &T.fe[i], pn[i], 1);
	}
	uint8_t plain[SWT_FRAME_MAX], f[SWT_FRAME_MAX], e[SWT_FRAME_MAX];
	size_t len = swt_eth(plain, 100, swt_bcast, T.mac[1], 1), flen, elen;

	/* t1: VID 10 PCP 5 -> vm1 untagged, t2 VID 10 PCP 5. */
	memcpy(f, plain, len);
	flen = swt_tag(f, len, 5 << 13 | 10);
	swt_send(&T.fe[1], 0, f, flen);
	swt_expect(&T.fe[0], "vm1", 0, plain, len);
	int bad = !vt_tci_is(&T.fe[2], "t2, trunk to trunk", f, flen);

	/* vm1: priority tag PCP 3 -> t1 and t2 as VID 10 PCP 3. */
	len = swt_eth(plain, 100, swt_bcast, T.mac[0], 2);
	memcpy(f, plain, len);
	flen = swt_tag(f, len, 3 << 13);
	swt_send(&T.fe[0], 0, f, flen);
	memcpy(e, plain, len);
	elen = swt_tag(e, len, 3 << 13 | 10);
	bad += !vt_tci_is(&T.fe[1], "t1, priority tag from an access port", e, elen);
	bad += !vt_tci_is(&T.fe[2], "t2, priority tag from an access port", e, elen);
	if (bad)
		fail_msg("%d frame(s) lost their 802.1Q PCP (printed above)", bad);

	for (int i = 0; i < 3; i++)
		swt_fe_detach(&T.fe[i]);
	swd_cleanup(&T.d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sw_vlan),
	    cmocka_unit_test_teardown(test_sw_vlan_pcp, vt_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
