/*
 * dp_ab.c - the phase clock of same-process A/B experiments (lib/ab.h),
 * compiled only with -Dab_toggle=true. The forwarding thread calls
 * dp_ab_tick once per loop iteration with the frames it moved; every
 * RS_AB_PERIOD_MS (default 20) it charges the elapsed time to the phase in
 * force and switches phase, and once a second it appends to RS_AB_OUT
 * (default /tmp/ringswitch-ab.txt) one line: pid, Mpps in phase A, Mpps in
 * phase B, B/A, seconds measured. The rates are cumulative from the start,
 * so the last line of a run is its result.
 */
#include "dp_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../lib/ab.h"

unsigned rs_ab_bits;

static unsigned dp_ab_env(const char *name, unsigned dflt)
{
	const char *s = getenv(name);
	return s && *s ? (unsigned)strtoul(s, NULL, 0) : dflt;
}

void dp_ab_init(struct dp_ab *ab)
{
	const char *out = getenv("RS_AB_OUT");
	*ab = (struct dp_ab){.mask = dp_ab_env("RS_AB_MASK", 1),
			     .period_ns = dp_ab_env("RS_AB_PERIOD_MS", 20) * 1000000ull,
			     .out = out && *out ? out : "/tmp/ringswitch-ab.txt"};
	ab->t0 = dp_now_ns();
	ab->report = ab->t0 + 1000000000ull;
	rs_ab_bits = 0;
}

static void dp_ab_report(const struct dp_ab *ab)
{
	FILE *f = fopen(ab->out, "a");
	if (!f)
		return;
	double a = ab->pk[0] * 1e3 / (double)ab->ns[0], b = ab->pk[1] * 1e3 / (double)ab->ns[1];
	fprintf(f, "%d %.4f %.4f %.4f %.1f\n", (int)getpid(), a, b, a > 0 ? b / a : 0.0,
		(ab->ns[0] + ab->ns[1]) / 1e9);
	fclose(f);
}

void dp_ab_tick(struct dp_ab *ab, unsigned moved)
{
	ab->pk[ab->phase] += moved;
	uint64_t now = dp_now_ns();
	if (now - ab->t0 < ab->period_ns)
		return;
	ab->ns[ab->phase] += now - ab->t0;
	ab->t0 = now;
	ab->phase ^= 1;
	rs_ab_bits = ab->phase ? ab->mask : 0;
	if (now >= ab->report && ab->ns[0] && ab->ns[1]) {
		dp_ab_report(ab);
		ab->report = now + 1000000000ull;
	}
}
