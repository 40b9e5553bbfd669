#!/usr/bin/env python3
"""bench/report.py - turns bench/run.sh's raw samples into the table, the JSON
result file and the chart's data file.

Ratios are paired: within one repetition the two systems ran one after the
other under the same front-end and frame size, so rs/ovs is computed per
repetition and its median and min-max are reported (less noisy on this
machine than a ratio of medians, which is also given).

A sample during which processes outside the benchmark took more than
OTHERS_MAX % of a core (run.sh retried it and kept the last try) is noisy:
medians and ratios use the clean samples of a cell when there are any, and
say so ("n=clean/all"); every sample stays in the JSON.

Exit status: 0 when every system/front-end/size cell has a nonzero median
(that is all --smoke checks), 1 otherwise.
"""
import argparse
import json
import statistics
import sys

RS_SYSTEMS = ["rs-p2p-busy", "rs-p2p-adaptive", "rs-normal-busy", "rs-normal-adaptive"]
# Each ringswitch variant's OVS counterpart (same rule set).
OVS_PEER = {"rs-p2p-busy": "ovs-p2p", "rs-p2p-adaptive": "ovs-p2p",
            "rs-normal-busy": "ovs-normal", "rs-normal-adaptive": "ovs-normal"}
# Issue 4's targets: (front-end, size, peer kind) -> minimum ratio.
TARGETS = {("testpmd", 64, "ovs"): 1.3, ("testpmd", 64, "tp-vhost"): 1.0,
           ("rsgen", 64, "ovs"): 2.0, ("rsgen", 1518, "ovs"): 1.3}
IDLE_TARGET_PCT = 2.0
OTHERS_MAX = 10.0
RSS_TARGET_MIB = 64


def num(s):
    return None if s in ("", "null", None) else float(s)


def stats(values):
    v = [x for x in values if x is not None]
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}


def load(path, cols):
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == len(cols):
                rows.append(dict(zip(cols, parts)))
    return rows


def fmt(st, digits=2):
    if not st:
        return "-"
    if st["n"] == 1:
        return f"{st['median']:.{digits}f}"
    return f"{st['median']:.{digits}f} [{st['min']:.{digits}f}-{st['max']:.{digits}f}]"


def noisy(r):
    o = num(r.get("others"))
    return o is not None and o > OTHERS_MAX


def clean(rows):
    """The clean rows when there are any, else all of them."""
    c = [r for r in rows if not noisy(r)]
    return c if c else rows


def summarise(samples):
    cells = {}
    for s in samples:
        key = (s["fe"], int(s["size"]), s["system"])
        cells.setdefault(key, []).append(s)
    out = []
    for (fe, size, system), all_rows in cells.items():
        rows = clean(all_rows)
        mpps = stats([num(r["mpps"]) for r in rows])
        out.append({
            "front_end": fe, "size": size, "system": system,
            "mpps": mpps,
            "gbps": {k: (v * size * 8 / 1000 if k != "n" else v) for k, v in mpps.items()} if mpps else None,
            "loss_pct": stats([num(r["loss"]) for r in rows]),
            "cycles_per_packet": stats([num(r["cpp"]) for r in rows]),
            "vmrss_kib": stats([num(r["vmrss"]) for r in rows]),
            "rss_anon_kib": stats([num(r["anon"]) for r in rows]),
            "rss_shmem_kib": stats([num(r["shmem"]) for r in rows]),
            "hugetlb_kib": stats([num(r["huge"]) for r in rows]),
            "others_pct": stats([num(r["others"]) for r in rows]),
            "samples_used": len(rows), "samples": len(all_rows),
            "noisy": len(rows) < len(all_rows) or any(noisy(r) for r in rows),
        })
    return out


def ratios(samples, systems):
    by, bad = {}, set()
    for s in samples:
        by[(s["rep"], s["fe"], int(s["size"]), s["system"])] = num(s["mpps"])
        if noisy(s):
            bad.add((s["rep"], s["fe"], int(s["size"]), s["system"]))
    keys = sorted({(s["fe"], int(s["size"])) for s in samples}, key=lambda k: (k[0] != "testpmd", k[1]))
    out = []
    for fe, size in keys:
        for rs in [x for x in RS_SYSTEMS if x in systems]:
            for peer in (OVS_PEER[rs], "tp-vhost"):
                if peer not in systems:
                    continue
                reps = sorted({s["rep"] for s in samples})
                ok = [r for r in reps if (r, fe, size, rs) not in bad and (r, fe, size, peer) not in bad]
                use = ok if ok else reps
                per_rep = []
                for rep in use:
                    a, b = by.get((rep, fe, size, rs)), by.get((rep, fe, size, peer))
                    if a is not None and b:
                        per_rep.append(a / b)
                ma = stats([by.get((r, fe, size, rs)) for r in use])
                mb = stats([by.get((r, fe, size, peer)) for r in use])
                target = TARGETS.get((fe, size, "ovs" if peer.startswith("ovs") else peer))
                st = stats(per_rep)
                out.append({
                    "front_end": fe, "size": size, "system": rs, "peer": peer,
                    "ratio": st,
                    "ratio_of_medians": ma["median"] / mb["median"] if ma and mb and mb["median"] else None,
                    "target": target,
                    "met": (st["median"] >= target) if (st and target) else None,
                    "pairs_used": len(per_rep), "noisy": not ok,
                })
    return out


def idle_summary(idle):
    out = []
    for system in sorted({r["system"] for r in idle}):
        rows = clean([r for r in idle if r["system"] == system])
        out.append({"system": system,
                    "cpu_pct": stats([num(r["cpu"]) for r in rows]),
                    "vmrss_kib": stats([num(r["vmrss"]) for r in rows]),
                    "rss_anon_kib": stats([num(r["anon"]) for r in rows]),
                    "rss_shmem_kib": stats([num(r["shmem"]) for r in rows]),
                    "hugetlb_kib": stats([num(r["huge"]) for r in rows]),
                    "others_pct": stats([num(r["others"]) for r in rows])})
    return out


def mib(st):
    return f"{st['median'] / 1024:.1f}" if st else "-"


def print_table(meta, summary, rat, idle, systems):
    print(f"ringswitch benchmark {meta.get('date', '')}  git {meta.get('git', '')}")
    print(f"load average: start {meta.get('load_start')}, end {meta.get('load_end')}; "
          f"hugepages for DPDK switches: {'yes' if meta.get('hugepages') == '1' else 'no (--no-huge)'}; "
          f"{meta.get('reps')} repetition(s), warm-up {meta.get('warmup_s')} s, window {meta.get('window_s')} s; "
          f"rs_gen flows {meta.get('flows')}; front-end rings {meta.get('ring')}")
    print("switch on CPU 1, front-end on CPU 0; median [min-max]; testpmd: both directions summed; "
          "rsgen: one direction;")
    print("others %: CPU (% of a core) that processes outside the benchmark used during the window;")
    print(f"n: clean samples used / samples (a sample is noisy when others took > {OTHERS_MAX:.0f}%; "
          "'!': only noisy ones)")
    print()
    hdr = f"{'front-end':<9} {'size':>4}  {'system':<19} {'n':<5} {'Mpps':<22} {'Gbit/s':>7}  {'cycles/pkt':<20} {'VmRSS MiB':>9} {'anon MiB':>8} {'hugetlb MiB':>11} {'others %':>8}"
    print(hdr)
    print("-" * len(hdr))
    order = {s: i for i, s in enumerate(systems)}
    for c in sorted(summary, key=lambda c: (c["front_end"] != "testpmd", c["size"], order.get(c["system"], 99))):
        g = f"{c['gbps']['median']:.2f}" if c["gbps"] else "-"
        n = f"{c['samples_used']}/{c['samples']}" + ("!" if c["noisy"] and c["samples_used"] == c["samples"] and c["samples"] else "")
        print(f"{c['front_end']:<9} {c['size']:>4}  {c['system']:<19} {n:<5} {fmt(c['mpps']):<22} {g:>7}  "
              f"{fmt(c['cycles_per_packet'], 0):<20} {mib(c['vmrss_kib']):>9} {mib(c['rss_anon_kib']):>8} "
              f"{mib(c['hugetlb_kib']):>11} {fmt(c['others_pct'], 0):>8}")
    if rat:
        print()
        print("ratios, paired per repetition: median [min-max] (ratio of medians)")
        for r in rat:
            t = ""
            if r["target"]:
                t = f"target >= {r['target']}: {'met' if r['met'] else 'NOT met'}"
            rom = f"({r['ratio_of_medians']:.2f})" if r["ratio_of_medians"] else ""
            nz = " (noisy samples only)" if r["noisy"] else ""
            print(f"  {r['front_end']:<8} {r['size']:>4}  {r['system'] + ' / ' + r['peer']:<35} "
                  f"{fmt(r['ratio']):<20} {rom:<7} {t}{nz}")
    if idle:
        print()
        print(f"two idle guests attached, CPU use of the switch process over the window "
              f"(target <= {IDLE_TARGET_PCT}% of a core), resident memory (target <= {RSS_TARGET_MIB} MiB)")
        for i in idle:
            print(f"  {i['system']:<19} CPU {fmt(i['cpu_pct'], 1):<20} % of a core   VmRSS {mib(i['vmrss_kib'])} MiB "
                  f"(anon {mib(i['rss_anon_kib'])}, guest/shared {mib(i['rss_shmem_kib'])}, "
                  f"hugetlb {mib(i['hugetlb_kib'])})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", required=True)
    ap.add_argument("--idle", required=True)
    ap.add_argument("--fails", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--plot-data")
    ap.add_argument("--meta", nargs="*", default=[])
    a = ap.parse_args()
    meta = dict(kv.split("=", 1) for kv in a.meta)
    global OTHERS_MAX
    OTHERS_MAX = float(meta.get("others_max", OTHERS_MAX))
    systems = meta.get("systems", "").split()
    samples = load(a.samples, ["rep", "fe", "size", "system", "mpps", "loss", "cpp",
                               "vmrss", "anon", "shmem", "huge", "others"])
    idle = load(a.idle, ["rep", "system", "cpu", "vmrss", "anon", "shmem", "huge", "others"])
    fails = load(a.fails, ["rep", "fe", "size", "system"])
    summary = summarise(samples)
    rat = ratios(samples, systems)
    isum = idle_summary(idle)
    print_table(meta, summary, rat, isum, systems)
    result = {"meta": meta, "summary": summary, "ratios": rat, "idle": isum,
              "samples": samples, "idle_samples": idle, "failed": fails}
    with open(a.json, "w") as f:
        json.dump(result, f, indent=1)
    if a.plot_data:
        order = {s: i for i, s in enumerate(systems)}
        panels = sorted({(c["front_end"], c["size"]) for c in summary}, key=lambda k: (k[0] != "testpmd", k[1]))
        with open(a.plot_data + ".titles", "w") as f:
            names = {"testpmd": "testpmd~virtio-user~io-fwd~(both~directions)", "rsgen": "rs_gen~(one~direction)"}
            f.write(" ".join(f"{names.get(fe, fe)},~{size}~B" for fe, size in panels) + "\n")
        with open(a.plot_data, "w") as f:
            for fe, size in panels:
                f.write(f"# {fe} {size}\n")
                cells = sorted((c for c in summary if c["front_end"] == fe and c["size"] == size),
                               key=lambda c: order.get(c["system"], 99))
                for i, c in enumerate(cells):
                    m = c["mpps"] or {"median": 0, "min": 0, "max": 0}
                    f.write(f"{i} {c['system']} {m['median']:.3f} {m['min']:.3f} {m['max']:.3f}\n")
                f.write("\n\n")
    # Every expected cell must have forwarded something.
    expected = {(fe, int(size), s) for fe in meta.get("front_ends", "").split()
                for size in meta.get("sizes", "").split() for s in systems}
    got = {(c["front_end"], c["size"], c["system"]) for c in summary if c["mpps"] and c["mpps"]["median"] > 0}
    missing = sorted(expected - got)
    for m in missing:
        print(f"no figure: {m[0]} {m[1]} B {m[2]}")
    return 1 if missing or fails else 0


if __name__ == "__main__":
    sys.exit(main())
