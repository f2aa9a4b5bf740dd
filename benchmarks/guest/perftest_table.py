#!/usr/bin/python3
"""perftest on upstream rdma_rxe, pinned and --odp, REPEATS runs each.

Runs in the guest (see benchmarks/perftest-table). Writes every sample as
JSON to $RXE_HMM_RESULTS/perftest.json and prints a Markdown table of
medians with min-max spread, and the --odp/pinned ratio of the medians.
"""

import json
import os
import platform
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests", "guest"))
import lib  # noqa: E402  (tests/guest/lib.py)
import perftest  # noqa: E402  (tests/guest/perftest.py)

# (tool, message size, iterations, headline figure)
RUNS = [
    ("ib_write_lat", 8, 1000, "t_avg[usec]"),
    ("ib_read_lat", 8, 1000, "t_avg[usec]"),
    ("ib_write_bw", 65536, 1000, "BW_average[MiB/sec]"),
    ("ib_read_bw", 65536, 1000, "BW_average[MiB/sec]"),
]


def cpu_mhz():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("cpu MHz"):
                return float(line.split(":")[1])
    return 0.0


def main():
    repeats = int(os.environ.get("RXE_HMM_REPEATS", "3"))
    link_type = os.environ.get("RXE_HMM_LINK_TYPE", "rxe")
    pair = lib.setup_veth_pair(link_type)
    samples = []
    try:
        for tool, size, iters, key in RUNS:
            for odp in (False, True):
                for rep in range(repeats):
                    figures, _ = perftest.run_perftest(pair, tool, odp=odp, size=size,
                                                       iters=iters)
                    samples.append({"tool": tool, "size": size, "odp": odp, "rep": rep,
                                    "figures": figures})
    finally:
        lib.teardown_net()
    out = {"kernel": platform.release(), "cpu_mhz": cpu_mhz(), "link_type": link_type,
           "repeats": repeats, "samples": samples}
    with open(os.path.join(os.environ["RXE_HMM_RESULTS"], "perftest.json"), "w") as f:
        json.dump(out, f, indent=1)

    print(f"\nperftest on {link_type}, kernel {out['kernel']}, guest cpu MHz "
          f"{out['cpu_mhz']:.0f}, {repeats} runs each: median (min-max)\n")
    print("| tool | size | pinned | --odp | odp/pinned |")
    print("|---|---|---|---|---|")
    for tool, size, _, key in RUNS:
        med = {}
        cells = []
        for odp in (False, True):
            vals = [s["figures"][key] for s in samples
                    if s["tool"] == tool and s["odp"] == odp]
            med[odp] = statistics.median(vals)
            cells.append(f"{med[odp]:.2f} ({min(vals):.2f}-{max(vals):.2f})")
        unit = key.split("[")[1].rstrip("]")
        print(f"| {tool} | {size} B | {cells[0]} {unit} | {cells[1]} {unit} | "
              f"{med[True] / med[False]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
