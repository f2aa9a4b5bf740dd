#!/usr/bin/python3
"""The mm selftest hmm-tests against lib/test_hmm.ko of the booted kernel.

Both are built from the same tree by scripts/build-kernel.sh. Each test of
the kselftest harness's TAP output becomes one case, judged against
tests/baseline/hmm-tests.txt: a test that passes there must pass here, and
every test there must run, so that the migrate_on_fault cases of our mm
series cannot quietly disappear.
"""

import json
import os
import subprocess
import sys
import tempfile

from lib import against_baseline, read_baseline, run_tap

HERE = os.path.dirname(os.path.abspath(__file__))
BASELINE = os.path.join(os.path.dirname(HERE), "baseline", "hmm-tests.txt")
# Benchmarks whose fixed time limit (120 s) an emulated CPU cannot meet
# under KASAN; they measure speed, not correctness, and run in full on
# kernels without KASAN. The harness excludes a test in every variant.
TOO_SLOW_UNDER_KASAN = {"benchmark_thp_migration"}


def kernel_has(kernel, option):
    with open(os.path.join(kernel, "obj", ".config")) as f:
        return f"{option}=y\n" in f


def main():
    kernel = os.environ["RXE_HMM_KERNEL"]
    excluded = TOO_SLOW_UNDER_KASAN if kernel_has(kernel, "CONFIG_KASAN") else set()
    subprocess.run(["modprobe", "test_hmm"], check=True)
    with tempfile.NamedTemporaryFile("r", prefix="hmm-tests.", dir="/tmp") as tap:
        status = run_tap([os.path.join(kernel, "selftests", "hmm-tests")]
                         + [f"-T{name}" for name in sorted(excluded)], "hmm-tests",
                         cases=tap.name)
        cases = [json.loads(line) for line in tap if line.strip()]
    subprocess.run(["modprobe", "-r", "test_hmm"], check=True)
    cases += [{"name": f"hmm-tests/hmm.*.{name}", "status": "skip", "seconds": 0,
               "message": "benchmark with a 120 s limit, not run under KASAN"}
              for name in sorted(excluded)]
    base = read_baseline(BASELINE)
    if not excluded:
        # the baseline's stand-ins for what only KASAN kernels exclude
        base = {n: s for n, s in base.items() if "*" not in n}
    with open(os.environ["RXE_HMM_CASES"], "a") as out:
        for c in against_baseline(cases, base, os.path.basename(BASELINE)):
            out.write(json.dumps(c) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
