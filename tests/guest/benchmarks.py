#!/usr/bin/python3
"""The benchmark set, run briefly (benchmarks/guest/bench.py's smoke set),
then benchmarks/report.py on its output.

The benchmarks time; this checks that what they time is what they say:
every rxe_hmm mode moved the right bytes, the engine counted the faults,
migrations and invalidations each mode must cause (and none for pinned
memory), the one-pass knob was exercised beside two passes, and the
report has its tables and plots.
"""

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

from lib import has_unified_walk, record_case

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def check_fault(samples, rdma_rxe):
    problems = []
    for s in samples:
        what = f"{s['mode']} {s['op']} {s['size']} {s['drop']}"
        ops = len(s["ns"])
        e = s["engine"]
        if s["mode"] == "rdma_rxe odp":
            # upstream; no engine counters. The fixed build must move the
            # right bytes; stock's data is reported as found.
            if e is not None:
                problems.append(f"{what}: engine counters on rdma_rxe")
            if rdma_rxe == "rdma_rxe_fixed" and not s["data_ok"]:
                problems.append(f"{what}: wrong bytes on rdma_rxe_fixed")
            continue
        if not s["data_ok"]:
            problems.append(f"{what}: wrong bytes")
        if s["mode"] == "pinned":
            if e["faults"]:
                problems.append(f"{what}: {e['faults']} faults on a pinned MR")
            continue
        if e["faults"] < ops or e["fault_ns"] <= 0:
            problems.append(f"{what}: {e['faults']} faults, {e['fault_ns']} ns "
                            f"for {ops} operations")
        migrates = s["mode"] in ("two-step", "unified")
        if migrates and (e["migrations"] < ops or e["migrated_pages"] < ops
                         or not 0 < e["migrate_ns"] <= e["fault_ns"]):
            problems.append(f"{what}: {e['migrations']} migrations of "
                            f"{e['migrated_pages']} pages in {e['migrate_ns']} ns")
        if not migrates and e["migrations"]:
            problems.append(f"{what}: {e['migrations']} migrations")
    modes = {s["mode"] for s in samples}
    if not {"pinned", "rdma_rxe odp", "odp fault", "two-step"} <= modes:
        problems.append(f"modes run: {sorted(modes)}")
    return problems


def check_invalidate(samples):
    problems = []
    for s in samples:
        what = f"N={s['nmrs']} {s['passes']}-pass"
        e = s["engine"]
        if not s["writes"]:
            problems.append(f"{what}: no write during the run")
        if e["invalidations"] < len(s["ns"]) or e["invalidate_ns"] <= 0:
            problems.append(f"{what}: {e['invalidations']} invalidations in "
                            f"{e['invalidate_ns']} ns for {len(s['ns'])} drops")
    if {(s["nmrs"], s["passes"]) for s in samples} != {(1, 1), (1, 2), (2, 1), (2, 2)}:
        problems.append("not every N and pass count ran")
    return problems


def check_perftest(samples):
    problems = []
    for s in samples:
        key = ("t_first[usec]" if s["phase"] == "cold" else "t_typical[usec]") \
            if "_lat" in s["tool"] else "BW_average[MiB/sec]"
        value = s["figures"].get(key, 0)
        if not (math.isfinite(value) and value > 0):
            problems.append(f"{s['tool']} {s['target']} {s['phase']}: {key} {value}")
    got = {(s["target"], s["odp"], s["phase"]) for s in samples}
    if len(got) != 10:
        problems.append(f"targets and phases run: {sorted(got)}")
    return problems


def check_walk(samples):
    # hmm_walk.migrate_once() checks each migration's pages and data itself
    if not has_unified_walk():
        return []
    cases = {(s["case"], s["mode"]) for s in samples}
    return [] if len(cases) == 10 else [f"cases run: {sorted(cases)}"]


def case(name, start, problems):
    record_case(f"benchmarks/{name}", "fail" if problems else "pass",
                round(time.monotonic() - start, 2), "; ".join(problems)[:500])


def main():
    out = tempfile.mkdtemp(prefix="bench-", dir=os.environ["RXE_HMM_RESULTS"])
    env = dict(os.environ, RXE_HMM_BENCH_SET="smoke", RXE_HMM_RESULTS=out)
    # what tests/vm/run wrote for bench.py's record
    accel = os.path.join(os.environ["RXE_HMM_RESULTS"], "accel")
    if os.path.exists(accel):
        shutil.copy(accel, out)
    start = time.monotonic()
    proc = subprocess.run([os.path.join(TOP, "benchmarks", "guest", "bench.py")], env=env)
    case("run", start, [f"bench.py exit status {proc.returncode}"] if proc.returncode else [])
    if proc.returncode:
        return 1
    with open(os.path.join(out, "bench.json")) as f:
        run = json.load(f)
    if run.get("rdma_rxe_module") != "rdma_rxe_fixed":
        case("rdma_rxe-module", time.monotonic(),
             [f"the rdma_rxe pair ran {run.get('rdma_rxe_module')}, not rdma_rxe_fixed"])
    for part, check in (("fault", lambda s: check_fault(s, run.get("rdma_rxe_module"))),
                        ("perftest", check_perftest),
                        ("invalidate", check_invalidate), ("walk", check_walk)):
        start = time.monotonic()
        case(part, start, check(run[part]))

    start = time.monotonic()
    proc = subprocess.run([os.path.join(TOP, "benchmarks", "report.py"),
                           os.path.join(out, "bench.json")], stdout=subprocess.PIPE, text=True)
    problems = [f"report.py exit status {proc.returncode}"] if proc.returncode else []
    for heading in ("## Fault latency", "## perftest", "## Invalidation",
                    "## The mm series alone"):
        if heading not in proc.stdout:
            problems.append(f"no '{heading}' in the report")
    for part in ("fault", "perftest", "invalidate") + (("walk",) if has_unified_walk() else ()):
        png = os.path.join(out, f"{part}.png")
        if not os.path.exists(png):
            problems.append(f"no {part}.png")
            continue
        with open(png, "rb") as f:
            if f.read(8) != PNG_MAGIC:
                problems.append(f"{part}.png is not a PNG")
    case("report", start, problems)
    print(proc.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
