#!/usr/bin/python3
"""Fault-and-migrate latency of an RDMA write into non-resident ODP memory
on rxe_hmm: fault only, two-step migration and the unified walk.

Runs in the guest (see benchmarks/fault-and-migrate) on one rxe_hmm device
in loopback. benchmarks/fault_migrate_lat drops the target range before
every write and times the write to its completion. The modes:

  fault only  migrate_policy off: the fault maps system pages;
  two-step    migrate_policy on-fault, migrate_two_step=Y:
              hmm_range_fault(), then migrate_vma_setup();
  unified     migrate_policy on-fault, migrate_two_step=N: one
              hmm_range_fault() walk faults and collects (our mm series).

Each repetition runs every size in every mode, the mode order rotating
from one repetition to the next; a run's figure is the median of its
iterations. Prints a Markdown table of medians over the runs (min-max) in
microseconds and the ratios against unified with their spread (min-max of
the per-repetition ratios); writes every sample to
$RXE_HMM_RESULTS/fault-and-migrate.json.
"""

import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..",
                                "tests", "guest"))
from lib import TWO_STEP, has_unified_walk, setup_loopback, \
    teardown_net, write_sysfs  # noqa: E402
from results import save, summary  # noqa: E402

# (label, bytes, iterations per run)
SIZES = [("4 KiB", 4096, 40), ("64 KiB", 65536, 20), ("2 MiB", 2 << 20, 6)]
# (label, policy, migrate_two_step)
MODES = [("fault only", "off", None), ("two-step", "on-fault", "Y"),
         ("unified", "on-fault", "N")]


def counter(dev, name):
    with open(f"/sys/class/infiniband/{dev}/ports/1/hw_counters/{name}") as f:
        return int(f.read())


def run(dev, env, size, iters, policy, two_step):
    write_sysfs(f"/sys/class/infiniband/{dev}/migrate_policy", policy)
    if two_step:
        write_sysfs(TWO_STEP, two_step)
    moved = counter(dev, "odp_migrated_pages")
    thps = counter(dev, "odp_migrated_thps")
    out = subprocess.run([os.path.join(env["RXE_HMM_TESTS"], "fault_migrate_lat"),
                          str(size), str(iters)], env=env, check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    ns = [int(x) for x in out.split()]
    if len(ns) != iters:
        raise RuntimeError(f"fault_migrate_lat printed {len(ns)} samples, not {iters}")
    return ns, counter(dev, "odp_migrated_pages") - moved, \
        counter(dev, "odp_migrated_thps") - thps



def main():
    repeats = int(os.environ.get("RXE_HMM_REPEATS", "5"))
    dev, gid = setup_loopback("rxe_hmm")
    samples = []
    try:
        env = dict(os.environ, RXE_HMM_DEV=dev, RXE_HMM_GID=gid)
        modes = MODES if has_unified_walk() else MODES[:2]
        # one unmeasured round, so that no mode pays for warm-up
        for _, size, iters in SIZES:
            for _, policy, two_step in modes:
                run(dev, env, size, 2, policy, two_step)
        for rep in range(repeats):
            order = modes[rep % len(modes):] + modes[:rep % len(modes)]
            for label, size, iters in SIZES:
                for mode, policy, two_step in order:
                    ns, moved, thps = run(dev, env, size, iters, policy, two_step)
                    samples.append(dict(size=label, mode=mode, rep=rep, ns=ns,
                                        median_us=statistics.median(ns) / 1000,
                                        pages_moved=moved, thps_moved=thps))
    finally:
        if os.path.exists(TWO_STEP) and has_unified_walk():
            write_sysfs(TWO_STEP, "N")
        teardown_net()

    save("fault-and-migrate.json", samples)

    print(f"RDMA write into non-resident ODP memory, {repeats} runs each; "
          "median (min-max) of the runs' medians in µs; ratio = mode / unified")
    print()
    names = [m[0] for m in modes]
    print("| size | " + " | ".join(names) + " | pages (THPs) moved per write, two-step, unified | "
          + " | ".join(f"{n} / unified" for n in names[:-1] if "unified" in names) + " |")
    print("|---" * (2 + len(names) + (len(names) - 1 if "unified" in names else 0)) + "|")
    for label, _, iters in SIZES:
        by_mode = {m: [s for s in samples if s["size"] == label and s["mode"] == m]
                   for m in names}
        cells = ["%.0f (%.0f-%.0f)" % summary([s["median_us"] for s in by_mode[m]])
                 for m in names]
        runs = {m: iters * len(by_mode[m]) for m in names}
        moved = ", ".join("%.0f (%.0f)" % (sum(s["pages_moved"] for s in by_mode[m]) / runs[m],
                                           sum(s["thps_moved"] for s in by_mode[m]) / runs[m])
                          for m in names[1:])
        ratios = []
        if "unified" in names:
            for m in names[:-1]:
                r = [a["median_us"] / b["median_us"]
                     for a, b in zip(by_mode[m], by_mode["unified"])]
                ratios.append("%.2fx (%.2f-%.2f)" % summary(r))
        print(f"| {label} | " + " | ".join(cells) + f" | {moved} | " +
              " | ".join(ratios) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
