#!/usr/bin/python3
"""Tables and plots of one benchmark run (benchmarks/guest/bench.py).

usage: benchmarks/report.py RESULTS/bench.json

Writes report.md (printed too) and one PNG per part (gnuplot) beside the
JSON. Every ratio compares two figures of the same repeat in the same
guest boot; it is given as the median over the repeats (min-max).
Latencies are pooled over every iteration of every repeat for min, median
and p99.
"""

import json
import os
import statistics
import subprocess
import sys


def pct(values, p):
    """The P-th percentile, nearest rank."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))]


def spread(values, fmt="%.2f"):
    """median (min-max)"""
    return (fmt + " (" + fmt + "-" + fmt + ")") % (statistics.median(values), min(values),
                                                   max(values))


def rep_ratio(num, den):
    """NUM ÷ DEN repeat by repeat (each {rep: figure}), as spread(); "-"
    without a repeat in common."""
    r = [num[k] / den[k] for k in num if k in den]
    return spread(r) + "x" if r else "-"


def run_medians(samples):
    """{rep: median of the run's ns} of one mode's runs."""
    return {s["rep"]: statistics.median(s["ns"]) for s in samples}


def size_label(n):
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n >> 10} KiB" if n >= 1024 else f"{n} B"


def us(ns):
    return ns / 1000


def engine_per(samples, what, count):
    """The engine's own mean time per event, in µs, over SAMPLES."""
    engines = [s["engine"] for s in samples if s.get("engine")]
    n = sum(e[count] for e in engines)
    if not engines or not n:
        return "-"
    return "%.1f" % us(sum(e[what] for e in engines) / n)


def fault_report(samples, plot):
    out = []
    modes = list(dict.fromkeys(s["mode"] for s in samples))
    cases = list(dict.fromkeys((s["op"], s["drop"], s["size"]) for s in samples))
    out.append("## Fault latency: one RDMA operation into non-resident memory\n")
    out.append("`benchmarks/src/fault_migrate_lat`, initiator and target in two "
               "network namespaces. Latency of the operation to its completion in µs, "
               "over every iteration; ratio to `odp fault` (rxe_hmm ODP, no "
               "migration; `unified` where only migrating modes ran) per repeat; "
               "the engine's own time per fault and per "
               "migration, from its `odp_fault_ns` and `odp_migrate_ns` counters; "
               "whether the last operation of each run moved the right bytes.\n")
    rows = []
    for op, drop, size in cases:
        of = {m: [s for s in samples if (s["op"], s["drop"], s["size"], s["mode"])
                  == (op, drop, size, m)] for m in modes}
        # a CPU write only moves device pages: there, the migrating modes
        # are compared with the unified one
        base = "odp fault" if of.get("odp fault") else "unified"
        out.append(f"### RDMA {op}, {size_label(size)}, target made non-resident by "
                   f"{'MADV_DONTNEED' if drop == 'dontneed' else 'a CPU write'}\n")
        out.append(f"| mode | min | median | p99 | ÷ {base} | faults per op | "
                   "engine µs per fault | engine µs per migration | bytes right |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        for m in modes:
            if not of[m]:
                continue
            pooled = [us(x) for s in of[m] for x in s["ns"]]
            ratio = rep_ratio(run_medians(of[m]), run_medians(of.get(base, [])))
            engines = [s["engine"] for s in of[m] if s.get("engine")]
            ops = sum(len(s["ns"]) for s in of[m] if s.get("engine"))
            faults = "%.1f" % (sum(e["faults"] for e in engines) / ops) if engines else "-"
            out.append(f"| {m} | {min(pooled):.0f} | {statistics.median(pooled):.0f} | "
                       f"{pct(pooled, 99):.0f} | {ratio} | {faults} | "
                       f"{engine_per(of[m], 'fault_ns', 'faults')} | "
                       f"{engine_per(of[m], 'migrate_ns', 'migrations')} | "
                       f"{sum(s['data_ok'] for s in of[m])} of {len(of[m])} runs |")
            rows.append((f"{op} {size_label(size)}{' touch' if drop == 'touch' else ''}",
                         m, statistics.median(pooled), min(pooled), pct(pooled, 99)))
        out.append("")
    plot_bars(plot, "RDMA operation into non-resident memory: median, min to p99",
              "µs (log)", rows, modes, log=True)
    return out


def perftest_report(samples, plot):
    out = []
    out.append("## perftest\n")
    out.append("Between the two namespaces; on rxe_hmm the `migrate_policy` of both "
               "devices is set as named. Latency tools: steady state is perftest's "
               "median (`t_typical`), cold is the first iteration of the same run "
               "(`-U`). Bandwidth tools: steady state is a full run, cold a fresh run "
               "of 8 messages. Ratios per repeat.\n")
    targets = list(dict.fromkeys((s["target"], s["odp"]) for s in samples))
    names = [f"{t}{' --odp' if odp else ''}" for t, odp in targets]
    out.append("| tool | size | phase | unit | " + " | ".join(names) +
               " | rxe_hmm off ÷ rdma_rxe (--odp) | on-fault ÷ off (--odp) |")
    out.append("|---" * (6 + len(names)) + "|")
    rows = []
    for tool, size in dict.fromkeys((s["tool"], s["size"]) for s in samples):
        lat = "_lat" in tool
        for phase in ("cold", "steady"):
            key = ("t_first[usec]" if phase == "cold" else "t_typical[usec]") if lat \
                else "BW_average[MiB/sec]"
            vals = {}
            for t in targets:
                vals[t] = {s["rep"]: s["figures"][key] for s in samples
                           if (s["tool"], s["phase"], s["target"], s["odp"])
                           == (tool, phase, *t)}
            cells = [spread(list(vals[t].values())) if vals[t] else "-" for t in targets]
            odp = {name: vals.get((name, True), {})
                   for name in ("rdma_rxe", "rxe_hmm off", "rxe_hmm on-fault")}
            out.append(f"| {tool} | {size_label(size)} | {phase} | "
                       f"{'µs' if lat else 'MiB/s'} | " + " | ".join(cells) + " | "
                       + rep_ratio(odp["rxe_hmm off"], odp["rdma_rxe"]) + " | "
                       + rep_ratio(odp["rxe_hmm on-fault"], odp["rxe_hmm off"]) + " |")
            if lat:
                for t, n in zip(targets, names):
                    if vals[t]:
                        v = list(vals[t].values())
                        rows.append((f"{tool} {phase}", n, statistics.median(v), min(v),
                                     max(v)))
    out.append("")
    out.append("Latency: lower is better; bandwidth: higher is better.\n")
    plot_bars(plot, "perftest latency: median over repeats, min to max", "µs (log)",
              rows, names, log=True)
    return out


def invalidate_report(samples, plot):
    out = []
    out.append("## Invalidation: MADV_DONTNEED under traffic on N MRs\n")
    out.append("`benchmarks/src/invalidate_lat`: one buffer (256 KiB) registered N "
               "times, one RDMA write of a page in flight on each of N QPs, QP i into "
               "MR i; the latency of `madvise(MADV_DONTNEED)` on the buffer in µs. "
               "Two-pass is rxe_hmm's `invalidate_start`/`invalidate_finish`; one-pass "
               "its `invalidate_one_pass` debug knob, which waits for each MR's "
               "accesses in turn. With `odp_access_delay_ms` = 1 each access holds its "
               "page 1 ms, as a slow device would. Ratio one-pass ÷ two-pass per repeat; "
               "engine µs per invalidation from `odp_invalidate_ns`.\n")
    out.append("| access delay | N | passes | median | p99 | one-pass ÷ two-pass | "
               "engine µs per invalidation | writes during the run |")
    out.append("|---|---|---|---|---|---|---|---|")
    series = {}
    for delay, nmrs in dict.fromkeys((s["access_delay_ms"], s["nmrs"]) for s in samples):
        of = {p: [s for s in samples if (s["access_delay_ms"], s["nmrs"], s["passes"])
                  == (delay, nmrs, p)] for p in (2, 1)}
        for passes in (2, 1):
            if not of[passes]:
                continue
            pooled = [us(x) for s in of[passes] for x in s["ns"]]
            ratio = "-" if passes == 2 else rep_ratio(run_medians(of[1]),
                                                      run_medians(of[2]))
            writes = sum(s["writes"] for s in of[passes]) // len(of[passes])
            out.append(f"| {delay} ms | {nmrs} | {passes} | "
                       f"{statistics.median(pooled):.0f} | {pct(pooled, 99):.0f} | {ratio} | "
                       f"{engine_per(of[passes], 'invalidate_ns', 'invalidations')} | "
                       f"{writes} |")
            series.setdefault(f"{passes}-pass, delay {delay} ms", []).append(
                (nmrs, statistics.median(pooled), pct(pooled, 99)))
    out.append("")
    plot_lines(plot, "MADV_DONTNEED under traffic: median, up to p99",
               "MRs over the buffer", "µs (log)", series)
    return out


def walk_report(samples, plot):
    out = ["## The mm series alone: one hmm_range_fault() walk against two\n",
           "`lib/test_hmm`'s migrate-on-fault ioctl moves a range into its device "
           "memory with the unified walk, or with `hmm_range_fault()` then "
           "`migrate_vma_setup()`; the kernel times collecting (through the unmap "
           "step) and the whole migration with the copy. µs; ratio two walks ÷ "
           "unified per repeat (above 1: the unified walk is faster).\n"]
    if not samples:
        return out + ["Not run: the kernel lacks the mm series.\n"]
    out.append("| case | what | unified | two walks | two walks ÷ unified |")
    out.append("|---|---|---|---|---|")
    rows = []
    for case in dict.fromkeys(s["case"] for s in samples):
        for what in ("collect_ns", "total_ns"):
            by = {m: {s["rep"]: us(s[what]) for s in samples
                      if (s["case"], s["mode"]) == (case, m)}
                  for m in ("unified", "two walks")}
            out.append(f"| {case} | {what[:-3]} | {spread(list(by['unified'].values()), '%.1f')} | "
                       f"{spread(list(by['two walks'].values()), '%.1f')} | "
                       f"{rep_ratio(by['two walks'], by['unified'])} |")
            if what == "total_ns":
                for m in by:
                    v = list(by[m].values())
                    rows.append((case, m, statistics.median(v), min(v), max(v)))
    retries = sum(s["retries"] for s in samples)
    out.append(f"\nhmm_range_fault() -EBUSY retries over all runs: {retries}\n")
    plot_bars(plot, "migrate on fault in lib/test_hmm, whole migration: median, min to max",
              "µs (log)", rows, ["unified", "two walks"], log=True)
    return out


def gnuplot(script):
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def quote(s):
    return '"' + s.replace('"', "'") + '"'


def plot_bars(png, title, ylabel, rows, columns, log=False):
    """Clustered bars: a cluster per row label, a bar per column, with an
    error bar from its low to its high figure."""
    if not rows:
        return
    labels = list(dict.fromkeys(r[0] for r in rows))
    data = png[:-4] + ".dat"
    with open(data, "w") as f:
        for label in labels:
            cells = []
            for c in columns:
                v = next((r for r in rows if r[0] == label and r[1] == c), None)
                cells += ["%g %g %g" % v[2:] if v else "NaN NaN NaN"]
            f.write(quote(label) + " " + " ".join(cells) + "\n")
    plots = ", ".join(f"{quote(data)} using {3 * i + 2}:{3 * i + 3}:{3 * i + 4}"
                      f"{':xtic(1)' if i == 0 else ''} title {quote(c)}"
                      for i, c in enumerate(columns))
    gnuplot(f"""set terminal pngcairo noenhanced size 1400,600 font ",10"
set output {quote(png)}
set title {quote(title)}
set ylabel {quote(ylabel)}
{"set logscale y" if log else ""}
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.7 border -1
set key outside right
set xtics rotate by -20
set grid ytics
plot {plots}
""")


def plot_lines(png, title, xlabel, ylabel, series):
    data = png[:-4] + ".dat"
    with open(data, "w") as f:
        for name, points in series.items():
            f.write(f"# {name}\n")
            for p in points:
                f.write("%g %g %g\n" % p)
            f.write("\n\n")
    plots = ", ".join(f"{quote(data)} index {i} using 1:2:2:3 with yerrorlines "
                      f"title {quote(n)}" for i, n in enumerate(series))
    gnuplot(f"""set terminal pngcairo noenhanced size 1000,600 font ",10"
set output {quote(png)}
set title {quote(title)}
set xlabel {quote(xlabel)}
set ylabel {quote(ylabel)}
set logscale y
set logscale x 2
set xrange [0.8:10]
set xtics (1, 2, 4, 8)
set grid
set key outside right
plot {plots}
""")


REPORTS = {"fault": fault_report, "perftest": perftest_report,
           "invalidate": invalidate_report, "walk": walk_report}


def main():
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} RESULTS/bench.json")
    path = sys.argv[1]
    with open(path) as f:
        run = json.load(f)
    where = os.path.dirname(os.path.abspath(path))
    m = run["machine"]
    out = [f"# rxe-hmm benchmarks ({run['set']} set, {run['repeats']} repeats)\n",
           f"Guest kernel {m['kernel']} ({m['cpus']} CPUs, {m['mem_total']}, "
           f"clocksource {m['clocksource']}, cpu MHz {m['cpu_mhz']}), "
           f"QEMU accel {m['accel']} ({m['qemu']}); rdma-core {m['rdma_core']}, "
           f"perftest {m['perftest']}; mm series "
           f"{'present' if m['mm_series'] else 'absent'}; commit {m['commit']}; "
           f"{run['started']}.\n"]
    if m["accel"] and m["accel"].startswith("tcg"):
        out.append("The guest runs under QEMU TCG: every instruction is emulated, so "
                   "absolute times are many times what hardware or KVM would show, and "
                   "differ by how much of each path is emulated code. Only the ratios, "
                   "measured side by side in this one boot, mean anything.\n")
    pngs = []
    for part, report in REPORTS.items():
        if part in run:
            png = os.path.join(where, f"{part}.png")
            out += report(run[part], png)
            if os.path.exists(png):
                pngs.append(png)
                out.append(f"![{part}]({part}.png)\n")
    text = "\n".join(out)
    with open(os.path.join(where, "report.md"), "w") as f:
        f.write(text)
    print(text)
    print(f"report: {os.path.join(where, 'report.md')}; plots: {', '.join(pngs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
