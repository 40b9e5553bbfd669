/*
 * ab.h - same-process A/B experiments, built only with -Dab_toggle=true
 * (bench/toggle.sh). On this shared machine two runs a minute apart differ by
 * more than most changes worth measuring (single samples of one build range
 * over 2-4x), so a candidate change is measured inside one switch: the
 * forwarding thread alternates between phase A and phase B every few
 * milliseconds (dp_ab.c), and both phases meet the same placement and the
 * same neighbours. A candidate is written `if (RS_AB(1)) new(); else old();`
 * for the length of the experiment and resolved before it is committed; in
 * every other build RS_AB is the constant 0. One forwarding thread only: the
 * phase is process-wide.
 */
#ifndef RS_LIB_AB_H
#define RS_LIB_AB_H

#ifdef RS_AB_TOGGLE
extern unsigned rs_ab_bits; /* 0 in phase A, RS_AB_MASK in phase B */
#define RS_AB(bit) ((rs_ab_bits & (bit)) != 0)
#else
#define RS_AB(bit) 0
#endif

#endif
