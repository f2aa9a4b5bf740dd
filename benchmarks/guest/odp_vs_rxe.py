#!/usr/bin/python3
"""perftest --odp on rxe_hmm versus the reference rdma_rxe, in one boot.

Runs in the guest (see benchmarks/odp-vs-rxe). Each link type has its own
veth pair in its own two namespaces, set up once for the whole run (setting
pairs up and down between runs makes every later run slower, for both
types alike). For each repetition each type runs every tool, in ABBA order
(rdma_rxe first in even repetitions, rxe_hmm first in odd ones), so that
neither drift of the emulated machine nor going first favours one side.
Latency is perftest's typical (median) figure: TCG's occasional long
stalls move the average far more than the median. Writes the samples as JSON to
$RXE_HMM_RESULTS/odp-vs-rxe.json and prints, per tool, both medians with
their min-max and the ratio rxe_hmm/rdma_rxe as a speedup (bandwidth:
rxe_hmm / rxe; latency: rxe / rxe_hmm), median and min-max over the
repetitions' ratios.
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

# (tool, message size, iterations, headline figure, higher is better)
RUNS = [
    ("ib_write_bw", 65536, 2000, "BW_average[MiB/sec]", True),
    ("ib_read_lat", 8, 10000, "t_typical[usec]", False),
]
TYPES = ("rxe", "rxe_hmm")
# (namespaces, addresses) of each type's pair
PLACES = ((("a", "b"), ("198.18.0.1", "198.18.0.2")),
          (("c", "d"), ("198.18.4.1", "198.18.4.2")))


def main():
    repeats = int(os.environ.get("RXE_HMM_REPEATS", "6"))
    samples = []
    pairs = {}
    try:
        for link_type, where in zip(TYPES, PLACES):
            pairs[link_type] = lib.setup_veth_pair(link_type, *where)
        for rep in range(repeats):
            for link_type in (TYPES if rep % 2 == 0 else TYPES[::-1]):
                for tool, size, iters, key, _ in RUNS:
                    figures, _ = perftest.run_perftest(pairs[link_type], tool, odp=True,
                                                       size=size, iters=iters)
                    samples.append({"type": link_type, "tool": tool, "size": size,
                                    "rep": rep, "value": figures[key]})
    finally:
        for ns, _ in PLACES:
            lib.teardown_net(ns)
    with open(os.path.join(os.environ["RXE_HMM_RESULTS"], "odp-vs-rxe.json"), "w") as f:
        json.dump({"kernel": platform.release(), "repeats": repeats,
                   "samples": samples}, f, indent=1)

    print(f"\nperftest --odp, rxe_hmm versus rdma_rxe, kernel {platform.release()}, "
          f"{repeats} runs each, ABBA order: median (min-max)\n")
    print("| tool | size | rdma_rxe | rxe_hmm | speedup of rxe_hmm |")
    print("|---|---|---|---|---|")
    for tool, size, _, key, higher_better in RUNS:
        vals = {t: [s["value"] for s in samples if s["tool"] == tool and s["type"] == t]
                for t in TYPES}
        ratios = [(h / r) if higher_better else (r / h)
                  for r, h in zip(vals["rxe"], vals["rxe_hmm"])]
        unit = key.split("[")[1].rstrip("]")
        cells = [f"{statistics.median(vals[t]):.2f} ({min(vals[t]):.2f}-{max(vals[t]):.2f}) {unit}"
                 for t in TYPES]
        print(f"| {tool} | {size} B | {cells[0]} | {cells[1]} | "
              f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
