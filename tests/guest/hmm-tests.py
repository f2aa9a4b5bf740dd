#!/usr/bin/python3
"""The mm selftest hmm-tests against lib/test_hmm.ko of the booted kernel.

Both are built from the same tree by scripts/build-kernel.sh. Each test of
the kselftest harness's TAP output becomes one case.
"""

import json
import os
import re
import subprocess
import sys
import time

TAP = re.compile(r"^(not ok|ok) \d+ (\S+)(?: # (SKIP|XFAIL)?\s*(.*))?")

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
    proc = subprocess.Popen([os.path.join(kernel, "selftests", "hmm-tests")]
                            + [f"-T{name}" for name in sorted(excluded)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    start = time.monotonic()
    seen = 0
    with open(os.environ["RXE_HMM_CASES"], "a") as cases:
        for name in sorted(excluded):
            cases.write(json.dumps({"name": f"hmm-tests/hmm.*.{name}", "status": "skip",
                                    "seconds": 0, "message": "benchmark with a 120 s "
                                    "limit, not run under KASAN"}) + "\n")
        for line in proc.stdout:
            print(line, end="", flush=True)
            if line.startswith("#  RUN"):
                start = time.monotonic()
            m = TAP.match(line)
            if not m:
                continue
            seen += 1
            status = "fail" if m.group(1) == "not ok" else \
                "skip" if m.group(3) == "SKIP" else "pass"
            case = {"name": f"hmm-tests/{m.group(2)}", "status": status,
                    "seconds": round(time.monotonic() - start, 3)}
            if m.group(4):
                case["message"] = m.group(4)
            cases.write(json.dumps(case) + "\n")
    status = proc.wait()
    subprocess.run(["modprobe", "-r", "test_hmm"], check=True)
    if seen == 0:
        print("hmm-tests reported no test", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
