/*
 * cls_bench.c - classifier and exact-match cache micro-benchmark: lookups per
 * second through cls_lookup for 1, 10 and 100 subtables (distinct masks),
 * then through an 8192-entry EMC for a small and a large flow population,
 * with its hit rate. Single thread; numbers are per core.
 *
 * Usage: cls_bench [rules-per-subtable (default 100)]
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "switch/cls.h"
#include "switch/emc.h"

#define N_KEYS 4096

static uint64_t rng = 88172645463325252ULL;

static uint32_t bench_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void bench_key(struct flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->in_port = 1 + bench_rand() % 4;
	k->dl_type = htons(0x0800);
	k->nw_proto = 6;
	k->nw_src = htonl(0x0a000000 | (bench_rand() & 0xffffff));
	k->nw_dst = htonl(0x0a000000 | (bench_rand() & 0xffffff));
	k->tp_src = htons((uint16_t)(1024 + bench_rand() % 1000));
	k->tp_dst = htons((uint16_t)(bench_rand() % 4 ? 80 : 443));
}

/* Mask number i (< 100): nw_dst /8../32, with or without tp_dst and in_port. */
static void bench_mask(struct flow_key *m, uint32_t i)
{
	int plen = 8 + (int)(i % 25);

	memset(m, 0, sizeof(*m));
	m->dl_type = 0xffff;
	m->nw_dst = htonl(plen ? (uint32_t)(~0ULL << (32 - plen)) : 0);
	if ((i / 25) & 1)
		m->tp_dst = 0xffff;
	if ((i / 50) & 1)
		m->in_port = UINT32_MAX;
}

static struct cls *bench_table(struct cls_table *t, uint32_t n_subs, uint32_t per_sub)
{
	struct cls *c = cls_create(t);
	struct cls_builder *b = cls_builder_create(c);
	int err;

	for (uint32_t s = 0; s < n_subs; s++) {
		for (uint32_t r = 0; r < per_sub; r++) {
			struct cls_rule_spec spec;
			memset(&spec, 0, sizeof(spec));
			bench_mask(&spec.match.mask, s);
			bench_key(&spec.match.value);
			spec.priority = bench_rand() % 1000;
			spec.actions.n = 1;
			spec.actions.a[0].type = ACT_OUTPUT;
			cls_builder_add(b, &spec);
		}
	}
	struct cls *n = cls_builder_finish(b, &err);
	cls_free(c);
	return n;
}

static void bench_cls(uint32_t n_subs, uint32_t per_sub, const struct flow_key *keys)
{
	struct cls_table *t = cls_table_create(n_subs * per_sub + 1, 1);
	struct cls *c = bench_table(t, n_subs, per_sub);
	uint64_t n = 0, hits = 0;
	double t0 = bench_now(), t1;

	do {
		for (uint32_t i = 0; i < N_KEYS; i++)
			hits += cls_lookup(c, &keys[i]) != NULL;
		n += N_KEYS;
		t1 = bench_now();
	} while (t1 - t0 < 0.5);
	printf("cls  %3u subtables (%zu rules): %7.2f M lookups/s, %4.1f%% matched\n",
	       (unsigned)cls_n_subtables(c), cls_count(c), (double)n / (t1 - t0) / 1e6,
	       100.0 * (double)hits / (double)n);
	cls_free(c);
	cls_table_destroy(t);
}

static void bench_emc(uint32_t n_flows, uint32_t per_sub)
{
	struct cls_table *t = cls_table_create(10 * per_sub + 1, 1);
	struct cls *c = bench_table(t, 10, per_sub);
	struct flow_key *keys = malloc(n_flows * sizeof(*keys));
	uint32_t *hash = malloc(n_flows * sizeof(*hash));
	struct emc emc;
	uint64_t n = 0;
	double t0, t1;

	if (!keys || !hash || emc_init(&emc, 8192))
		exit(1);
	for (uint32_t i = 0; i < n_flows; i++) {
		bench_key(&keys[i]);
		hash[i] = emc_hash_key(&keys[i]);
	}
	t0 = bench_now();
	do {
		for (uint32_t j = 0; j < N_KEYS; j++) {
			uint32_t i = bench_rand() % n_flows;
			const struct cls_rule *r;
			if (!emc_lookup(&emc, &keys[i], hash[i], cls_generation(c), &r))
				emc_insert(&emc, &keys[i], hash[i], cls_generation(c),
					   cls_lookup(c, &keys[i]));
		}
		n += N_KEYS;
		t1 = bench_now();
	} while (t1 - t0 < 0.5);
	printf("emc+cls 10 subtables, %6u flows: %7.2f M lookups/s, EMC hit rate %5.1f%%\n",
	       n_flows, (double)n / (t1 - t0) / 1e6,
	       100.0 * (double)emc.stats.hits / (double)(emc.stats.hits + emc.stats.misses));
	emc_fini(&emc);
	free(keys);
	free(hash);
	cls_free(c);
	cls_table_destroy(t);
}

int main(int argc, char **argv)
{
	uint32_t per_sub = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 100;
	static struct flow_key keys[N_KEYS];

	if (per_sub == 0)
		per_sub = 1;
	for (uint32_t i = 0; i < N_KEYS; i++)
		bench_key(&keys[i]);
	bench_cls(1, per_sub, keys);
	bench_cls(10, per_sub, keys);
	bench_cls(100, per_sub, keys);
	bench_emc(1000, per_sub);
	bench_emc(100000, per_sub);
	return 0;
}
