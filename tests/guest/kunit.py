#!/usr/bin/python3
"""KUnit tests of rxe_hmm (rxe_hmm_kunit.ko). They run when the module
loads (kunit.autorun=1 on the guest's command line) and print KTAP to the
kernel log; each case of each suite becomes a case here."""

import re
import subprocess
import sys

from lib import record_case

SUITES = ["rxe_hmm_odp_table", "rxe_hmm_odp_invalidate"]
SUBTEST = re.compile(r"^\s*# Subtest: (\S+)")
# A suite's cases are indented KTAP results; the suite's own is not.
CASE = re.compile(r"^(\s+)(not ok|ok) \d+ (\S+)(?: # (SKIP)\s*(.*))?")


def kernel_log():
    return subprocess.run(["dmesg", "--kernel", "--notime"], check=True,
                          stdout=subprocess.PIPE, text=True).stdout.splitlines()


def main():
    before = len(kernel_log())
    subprocess.run(["modprobe", "rxe_hmm_kunit"], check=True)
    log = kernel_log()[before:]
    subprocess.run(["modprobe", "-r", "rxe_hmm_kunit"], check=True)
    print("\n".join(log), flush=True)

    status = 0
    suite = None
    found = {s: 0 for s in SUITES}
    for line in log:
        m = SUBTEST.match(line)
        if m:
            suite = m.group(1)
            continue
        m = CASE.match(line)
        if not m or suite not in found:
            continue
        found[suite] += 1
        st = "fail" if m.group(2) == "not ok" else "skip" if m.group(4) else "pass"
        status |= st == "fail"
        record_case(f"kunit/{suite}.{m.group(3)}", st, message=m.group(5) or "")
    for s, n in found.items():
        if not n:
            print(f"KUnit suite {s} reported no case", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
