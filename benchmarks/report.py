#!/usr/bin/python3
"""Tables and plots of one benchmark run (benchmarks/guest/bench.py).

usage: benchmarks/report.py [--out DIR] [--no-plots] [--keep NAME] BENCH_JSON
       benchmarks/report.py --self-test

Writes report.md (printed too) and one PNG per part (gnuplot) into DIR:
by default beside BENCH_JSON, or for a kept file
(benchmarks/results/NAME.json) into results/kept-NAME/ at the top. Every
table comes from the samples and metadata alone, so a kept file gives the
same report as the run's own bench.json. --keep NAME writes that kept
file: BENCH_JSON trimmed to its samples and metadata, one sample a line,
into benchmarks/results/NAME.json (never over an existing one).
--self-test checks the percentile, the order designs, the paired ratios,
the data counts and the kept file's round trip on made-up samples.

Every ratio compares two figures of the same repeat in the same guest
boot; it is given as the median over the repeats (min-max). Latencies are
pooled over every iteration of every repeat for min, median and p99 (by
nearest rank, pct()).
"""

import fractions
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "guest"))
import order  # noqa: E402  (benchmarks/guest/order.py)

TOP = os.path.dirname(HERE)
KEPT = os.path.join(HERE, "results")


def pct(values, p):
    """The P-th percentile of VALUES by nearest rank: the k-th smallest of
    the n values, k = ceil(P / 100 * n) counted from 1 (and at least 1).
    For n = 100 the 99th percentile is the 99th smallest value, for n = 300
    the 297th; P is taken as the decimal it prints as (99.9, not its
    binary neighbour)."""
    s = sorted(values)
    k = math.ceil(fractions.Fraction(str(p)) * len(s) / 100)
    return s[max(1, k) - 1]


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


def bytes_right(runs):
    """In how many of RUNS' iterations the bytes were right; a bench.json
    from before fault_migrate_lat checked each iteration says it of the
    last one of each run."""
    if all("iters_ok" in s for s in runs):
        return (f"{sum(s['iters_ok'] for s in runs)} of "
                f"{sum(len(s['ns']) for s in runs)} iterations")
    return f"{sum(s['data_ok'] for s in runs)} of {len(runs)} runs (last iteration only)"


def in_order(names, rec, label=lambda n: n):
    """NAMES as REC (a part's bench.json "order") lists its modes, not in
    the order the first repeat happened to run them."""
    listed = rec["modes"] if rec else []
    return sorted(names, key=lambda n: listed.index(label(n)) if label(n) in listed
                  else len(listed))


def fault_report(samples, plot, rec=None):
    out = []
    modes = in_order(list(dict.fromkeys(s["mode"] for s in samples)), rec)
    cases = list(dict.fromkeys((s["op"], s["drop"], s["size"]) for s in samples))
    out.append("## Fault latency: one RDMA operation into non-resident memory\n")
    out.append("`benchmarks/src/fault_migrate_lat`, initiator and target in two "
               "network namespaces. Latency of the operation to its completion in µs, "
               "over every iteration (p99 by nearest rank); ratio to `odp fault` "
               "(rxe_hmm ODP, no migration; `unified` where only migrating modes ran) "
               "per repeat; the engine's own time per fault and per "
               "migration, from its `odp_fault_ns` and `odp_migrate_ns` counters; "
               "in how many iterations the operation moved the right bytes, every byte "
               "checked against a pattern that names each word's page and iteration "
               "(a wrong byte fails the run, except on stock rdma_rxe, whose wrong "
               "bytes are counted here). Two-step against unified is paired: the ratio of their "
               "medians in the same repeat.\n")
    rows = []
    paired = []
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
                       f"{bytes_right(of[m])} |")
            rows.append((f"{op} {size_label(size)}{' touch' if drop == 'touch' else ''}",
                         m, statistics.median(pooled), min(pooled), pct(pooled, 99)))
        out.append("")
        if of.get("two-step") and of.get("unified"):
            two, uni = run_medians(of["two-step"]), run_medians(of["unified"])
            paired.append((op, drop, size, rep_ratio(two, uni), rep_ratio(uni, two),
                           f"{engine_per(of['two-step'], 'migrate_ns', 'migrations')} / "
                           f"{engine_per(of['unified'], 'migrate_ns', 'migrations')}"))
            out.append(f"Paired in each repeat: two-step ÷ unified {paired[-1][3]}, "
                       f"unified ÷ two-step {paired[-1][4]}.\n")
    if paired:
        out.append("### Two-step against unified, paired in each repeat\n")
        out.append("The ratio of the two modes' medians within one repeat, then the "
                   "median (min-max) over the repeats.\n")
        out.append("| operation | made non-resident by | size | two-step ÷ unified | "
                   "unified ÷ two-step | engine µs per migration, two-step / unified |")
        out.append("|---|---|---|---|---|---|")
        for op, drop, size, two_uni, uni_two, engine in paired:
            out.append(f"| RDMA {op} | "
                       f"{'MADV_DONTNEED' if drop == 'dontneed' else 'a CPU write'} | "
                       f"{size_label(size)} | {two_uni} | {uni_two} | {engine} |")
        out.append("")
    plot_bars(plot, "RDMA operation into non-resident memory: median, min to p99",
              "µs (log)", rows, modes, log=True)
    return out


def perftest_report(samples, plot, rec=None):
    out = []
    out.append("## perftest\n")
    out.append("Between the two namespaces; on rxe_hmm the `migrate_policy` of both "
               "devices is set as named. Latency tools: steady state is perftest's "
               "median (`t_typical`), cold is the first iteration of the same run "
               "(`-U`). Bandwidth tools: steady state is a full run, cold a fresh run "
               "of 8 messages. Ratios per repeat.\n")
    targets = in_order(list(dict.fromkeys((s["target"], s["odp"]) for s in samples)), rec,
                       lambda t: f"{t[0]}{' --odp' if t[1] else ''}")
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


def invalidate_report(samples, plot, rec=None):
    out = []
    out.append("## Invalidation: MADV_DONTNEED under traffic on N MRs\n")
    out.append("`benchmarks/src/invalidate_lat`: one buffer (256 KiB) registered N "
               "times, one RDMA write of a page in flight on each of N QPs, QP i into "
               "MR i; the latency of `madvise(MADV_DONTNEED)` on the buffer in µs. "
               "Two-pass is rxe_hmm's `invalidate_start`/`invalidate_finish`; one-pass "
               "its `invalidate_one_pass` debug knob, which waits for each MR's "
               "accesses in turn. With `odp_access_delay_ms` = 1 each access holds its "
               "page 1 ms, as a slow device would. Ratio one-pass ÷ two-pass per repeat; "
               "engine µs per invalidation from `odp_invalidate_ns`. After the drops "
               "each MR writes the whole buffer, and every byte is checked against a "
               "pattern that names its page and MR (a wrong one fails the run).\n")
    out.append("| access delay | N | passes | median | p99 (nearest rank) | "
               "one-pass ÷ two-pass | engine µs per invalidation | writes during the run |")
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


def walk_report(samples, plot, rec=None):
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
    error bar from its low to its high figure. No PNG: no plot."""
    if not rows or not png:
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
    if not series or not png:
        return
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


def order_note(rec):
    """What the order of a part's modes balanced: REC is bench.json's
    "order" of the part (benchmarks/guest/order.py's record())."""
    if not rec:
        return ("Order: not recorded in this bench.json (from before bench.py "
                "recorded it).\n")
    modes, seqs, rows = rec["modes"], rec["repeats"], rec["rows"]
    pos, after, pos_ok, carry_ok = order.balance(modes, seqs)
    ran = f"This run's {len(seqs)} repeat{'s' if len(seqs) != 1 else ''}"
    text = (f"Order: {rec['design']} design for {len(modes)} modes in {rows} "
            f"sequences, a repeat each: over every {rows} repeats each mode runs "
            f"equally often in each position and right after each other mode. ")
    if pos_ok and carry_ok:
        text += (f"{ran} are balanced: each mode "
                 f"{pos[modes[0]][0]} times in each position")
        text += (f", right after each other mode {next(iter(after.values()))} times. "
                 if after else ". ")
    else:
        rounds, extra = divmod(len(seqs), rows)
        what = "positions are, neighbours not" if pos_ok else \
            "neither positions nor neighbours"
        which = f"{extra} of its {rows} sequences" if not rounds else \
            f"{rounds} whole round{'s' if rounds > 1 else ''} of the design and {extra} more"
        text += f"{ran} {'is' if len(seqs) == 1 else 'are'} not balanced ({what}): {which}. "
    text += "Position of each mode, repeat by repeat: " + "; ".join(
        f"{m} " + ", ".join(str(seq.index(m) + 1) for seq in seqs) for m in modes) + "."
    return text + "\n"


def trimmed(run):
    """RUN's samples and metadata, nothing else."""
    keep = ("set", "repeats", "parts", "started", "machine", "seconds", "order")
    out = {k: run[k] for k in keep if k in run}
    out.update((part, run[part]) for part in REPORTS if part in run)
    return out


def write_kept(run, path):
    """Writes trimmed(RUN) to PATH, a new file, one sample a line."""
    items = []
    for k, v in trimmed(run).items():
        if k in REPORTS and v:
            items.append(f" {json.dumps(k)}: [\n" + ",\n".join(
                "  " + json.dumps(sample, ensure_ascii=False, separators=(",", ":"))
                for sample in v) + "\n ]")
        else:
            items.append(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}")
    with open(path, "x") as f:
        f.write("{\n" + ",\n".join(items) + "\n}\n")


def report(run, where, plots=True):
    """The report's text; the plots (unless PLOTS is false) into WHERE."""
    m = run["machine"]
    out = [f"# rxe-hmm benchmarks ({run['set']} set, {run['repeats']} repeats)\n",
           f"Guest kernel {m['kernel']} ({m['cpus']} CPUs, {m['mem_total']}, "
           f"clocksource {m['clocksource']}, cpu MHz {m['cpu_mhz']}), "
           f"QEMU accel {m['accel']} ({m['qemu']}); rdma-core {m['rdma_core']}, "
           f"perftest {m['perftest']}; mm series "
           f"{'present' if m['mm_series'] else 'absent'}; commit {m['commit']}; "
           f"{run['started']}.\n",
           "The rdma_rxe rows are " + (
               "the kernel's stock rdma_rxe, whose ODP moves wrong bytes "
               "(kernel/patches/upstream/ fixes it)."
               if run.get("rdma_rxe_module", "rdma_rxe") == "rdma_rxe" else
               f"{run['rdma_rxe_module']}.ko: upstream's rdma_rxe with the fixes of "
               "kernel/patches/upstream/.") + "\n"]
    if m["accel"] and m["accel"].startswith("tcg"):
        out.append("The guest runs under QEMU TCG: every instruction is emulated, so "
                   "absolute times are many times what hardware or KVM would show, and "
                   "differ by how much of each path is emulated code. Only the ratios, "
                   "measured side by side in this one boot, mean anything.\n")
    for part, part_report in REPORTS.items():
        if part in run:
            png = os.path.join(where, f"{part}.png") if plots else None
            rec = run.get("order", {}).get(part)
            out += part_report(run[part], png, rec)
            if run[part] or rec:
                out.append(order_note(rec))
            if png and os.path.exists(png):
                out.append(f"![{part}]({part}.png)\n")
    return "\n".join(out)


def made_up_run(repeats=3):
    """A small bench.json of made-up samples, every part, for self_test():
    two-step's run medians 200, 300, 260 µs against unified's 100, 100,
    200; rdma_rxe's bytes right in 1, 0 and 2 of 3 iterations."""
    fault_modes = ["pinned", "rdma_rxe odp", "odp fault", "two-step", "unified"]
    medians = {"pinned": [50] * 3, "rdma_rxe odp": [90] * 3, "odp fault": [80] * 3,
               "two-step": [200, 300, 260], "unified": [100, 100, 200]}
    targets = ["rdma_rxe", "rxe_hmm", "rdma_rxe --odp", "rxe_hmm off --odp",
               "rxe_hmm on-fault --odp"]
    engine = {"faults": 3, "faulted_pages": 3, "fault_ns": 30000, "migrations": 3,
              "migrate_ns": 9000, "migrated_pages": 3, "migrated_thps": 0,
              "invalidations": 3, "invalidate_ns": 600}
    run = {"set": "made-up", "repeats": repeats, "parts": list(REPORTS),
           "started": "2000-01-01T00:00:00+00:00", "seconds": {"fault": 1.0},
           "machine": {"kernel": "k", "cpus": 2, "mem_total": "1 kB",
                       "clocksource": "tsc", "cpu_mhz": 1.0, "accel": "tcg",
                       "qemu": "q", "rdma_core": "65.0", "perftest": "25.01",
                       "mm_series": True, "commit": "c"},
           "log": "what a trimmed file leaves out",
           "order": {}, "fault": [], "perftest": [], "invalidate": [], "walk": []}
    for part, modes, design in (("fault", fault_modes, "Williams"),
                                ("perftest", targets, "Williams"),
                                ("invalidate", ["2-pass", "1-pass"], "ABBA"),
                                ("walk", ["unified", "two walks"], "ABBA")):
        rec = run["order"][part] = order.record(modes, design)
        rec["repeats"] = [order.sequence(modes, r) for r in range(repeats)]
    for rep in range(repeats):
        for m in fault_modes:
            mid = medians[m][rep % 3] * 1000
            run["fault"].append({
                "mode": m, "op": "write", "size": 4096, "drop": "dontneed", "rep": rep,
                "ns": [mid - 10, mid, mid + 10],
                "data_ok": m != "rdma_rxe odp",
                "iters_ok": [1, 0, 2][rep % 3] if m == "rdma_rxe odp" else 3,
                "engine": None if m == "rdma_rxe odp" else engine})
        for t in targets:
            for phase in ("cold", "steady"):
                run["perftest"].append({
                    "tool": "ib_write_lat", "size": 8, "target": t.split(" --")[0],
                    "odp": t.endswith("--odp"), "phase": phase, "rep": rep,
                    "figures": {"t_first[usec]": 9.0, "t_typical[usec]": 4.0 + rep}})
        for passes in (2, 1):
            run["invalidate"].append({"nmrs": 2, "passes": passes, "access_delay_ms": 0,
                                      "rep": rep, "ns": [1000 * passes, 1100 * passes],
                                      "writes": 10, "engine": engine})
        for m in ("unified", "two walks"):
            run["walk"].append({"case": "1 page", "mode": m, "rep": rep, "retries": 0,
                                "collect_ns": 1000, "total_ns": 3000})
    return run


def self_test():
    """Checks on made-up samples, printed; exit status 1 when one fails."""
    failures = []

    def check(what, ok, detail=""):
        print(f"{'ok  ' if ok else 'FAIL'} {what}{': ' + detail if detail else ''}")
        if not ok:
            failures.append(what)

    # nearest rank: the ceil(p/100 n)-th smallest (round() to even made
    # it one rank high at n = 100, 300, 500)
    for n, p, want in ((100, 99, 99), (300, 99, 297), (500, 99, 495), (1000, 99.9, 999),
                       (1, 99, 1), (7, 50, 4), (8, 50, 4), (10, 0, 1), (10, 100, 10),
                       (3, 99, 3)):
        got = pct(list(range(n, 0, -1)), p)
        check(f"pct(1..{n}, {p}) is the value of rank {want}", got == want, f"got {got}")

    for n in range(1, 9):
        rows = order.williams(n)
        pos, after, pos_ok, carry_ok = order.balance(list(range(n)), rows)
        check(f"Williams design for {n}: {len(rows)} rows balance positions and "
              "neighbours", pos_ok and carry_ok and len(rows) == n + n % 2 * (n > 1) * n
              and all(sorted(r) == list(range(n)) for r in rows))
    check("the old cyclic rotation is not balanced for neighbours",
          not order.balance(list(range(5)), [list(range(5))[r:] + list(range(5))[:r]
                                             for r in range(5)])[3])

    run = made_up_run()
    text = report(run, None, plots=False)
    check("two-step ÷ unified is paired in each repeat",
          "two-step ÷ unified 2.00 (1.30-3.00)x, unified ÷ two-step 0.50 (0.33-0.77)x"
          in text)
    check("the paired table", "| RDMA write | MADV_DONTNEED | 4 KiB | 2.00 (1.30-3.00)x | "
          "0.50 (0.33-0.77)x | 3.0 / 3.0 |" in text)
    rows = [line.split(" | ")[0][2:] for line in text.splitlines()
            if line.startswith("| ") and "iterations |" in line]
    check("the fault table lists the modes in their order, not the first repeat's",
          rows == ["pinned", "rdma_rxe odp", "odp fault", "two-step", "unified"], str(rows))
    check("rdma_rxe's bytes right, per iteration", "| 3 of 9 iterations |" in text
          and "| 9 of 9 iterations |" in text)
    old = json.loads(json.dumps(run))
    for smp in old["fault"]:
        del smp["iters_ok"]
    check("a bench.json without per-iteration counts",
          "| 0 of 3 runs (last iteration only) |" in report(old, None, plots=False))
    check("3 repeats of 5 modes are not balanced, and it says so",
          "Order: Williams design for 5 modes in 10 sequences" in text
          and "This run's 3 repeats are not balanced (neither positions nor neighbours): "
          "3 of its 10 sequences" in text and "unified 3, 5, 4" in text)
    check("3 repeats of ABBA are not balanced either", "This run's 3 repeats are not "
          "balanced (neither positions nor neighbours): 1 whole round of the design and "
          "1 more" in text)
    ten = report(made_up_run(10), None, plots=False)
    check("10 repeats of 5 modes are balanced",
          "This run's 10 repeats are balanced: each mode 2 times in each position, "
          "right after each other mode 2 times" in ten)
    del old["order"]
    check("a bench.json without an order", "Order: not recorded" in
          report(old, None, plots=False))

    with tempfile.TemporaryDirectory() as tmp:
        kept = os.path.join(tmp, "kept.json")
        write_kept(run, kept)
        with open(kept) as f:
            back = json.load(f)
        check("a kept file holds samples and metadata only",
              "log" not in back and set(back) == set(run) - {"log"})
        check("a kept file gives the same report", report(back, None, plots=False) == text)
        check("a kept file is one sample a line",
              sum(1 for _ in open(kept)) < len(run["fault"]) + len(run["perftest"])
              + len(run["invalidate"]) + len(run["walk"]) + 20)
        try:
            write_kept(run, kept)
            check("a kept file is not overwritten", False)
        except FileExistsError:
            check("a kept file is not overwritten", True)
    print("report self-test:", "FAILED" if failures else "ok")
    return 1 if failures else 0


def main(argv):
    usage = (f"usage: {argv[0]} [--out DIR] [--no-plots] [--keep NAME] BENCH_JSON\n"
             f"       {argv[0]} --self-test")
    args, opts = argv[1:], {}
    if args == ["--self-test"]:
        return self_test()
    while len(args) > 1 and args[0] in ("--out", "--no-plots", "--keep"):
        opt = args.pop(0)
        opts[opt] = True if opt == "--no-plots" else args.pop(0)
    if len(args) != 1:
        sys.exit(usage)
    path = args[0]
    with open(path) as f:
        run = json.load(f)
    if "--keep" in opts:
        name = opts["--keep"].removesuffix(".json")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
            sys.exit(f"--keep {name}: a name of letters, digits, '.', '_', '-'")
        kept = os.path.join(KEPT, name + ".json")
        os.makedirs(KEPT, exist_ok=True)
        try:
            write_kept(run, kept)
        except FileExistsError:
            sys.exit(f"{kept} exists: the figures of a kept run are not overwritten; "
                     "choose another name")
        print(f"kept: {os.path.relpath(kept, TOP)} ({os.path.getsize(kept)} bytes)")
    where = opts.get("--out")
    if not where:
        where = os.path.dirname(os.path.abspath(path))
        if os.path.realpath(where) == os.path.realpath(KEPT):
            # not into the repository: beside the runs, in results/
            where = os.path.join(TOP, "results", "kept-" + os.path.basename(path)
                                 .removesuffix(".json"))
    os.makedirs(where, exist_ok=True)
    text = report(run, where, plots="--no-plots" not in opts)
    with open(os.path.join(where, "report.md"), "w") as f:
        f.write(text)
    print(text)
    pngs = [os.path.join(where, f"{p}.png") for p in REPORTS
            if p in run and "--no-plots" not in opts
            and os.path.exists(os.path.join(where, f"{p}.png"))]
    print(f"report: {os.path.join(where, 'report.md')}; plots: {', '.join(pngs) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
