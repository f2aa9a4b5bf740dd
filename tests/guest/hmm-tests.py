#!/usr/bin/python3
"""The mm selftest hmm-tests against lib/test_hmm.ko of the booted kernel.

Both are built from the same tree by scripts/build-kernel.sh. Each test of
the kselftest harness's TAP output becomes one case.
"""

import os
import subprocess
import sys

from lib import record_case, run_tap

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
    for name in sorted(excluded):
        record_case(f"hmm-tests/hmm.*.{name}", "skip",
                    message="benchmark with a 120 s limit, not run under KASAN")
    status = run_tap([os.path.join(kernel, "selftests", "hmm-tests")]
                     + [f"-T{name}" for name in sorted(excluded)], "hmm-tests")
    subprocess.run(["modprobe", "-r", "test_hmm"], check=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
