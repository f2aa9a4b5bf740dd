#!/usr/bin/python3
"""Stock rdma_rxe indexes its ODP page list with the iova of an MR
registered at an iova other than its address: KASAN reports the read
past the list (tests/expected-failures, kernel 7.3.4). tests/suite runs
this test in a boot of its own, since KASAN reports only once a boot and
a report leaves lockdep unreliable. rdma_rxe_fixed passes the same cases
in upstream-rxe."""

import os
import re
import subprocess
import sys

from lib import UPSTREAM_RXE_CASES, record_case, rxe_odp_cases

SKIP = 77


def main():
    if os.environ.get("RXE_HMM_LINK_TYPE", "rxe_hmm") != "rxe_hmm":
        print("rdma_rxe against its fixes: not a test of a link type")
        return SKIP
    status = rxe_odp_cases("rdma_rxe", "upstream-rxe-kasan",
                           [c for c in UPSTREAM_RXE_CASES
                            if ".explicit_iova." in c])
    # the verdict: a KASAN report in rdma_rxe's ODP layer (the runner
    # fails the boot's splat on its own; this names the one expected)
    log = subprocess.run(["dmesg", "--kernel", "--notime"], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    report = re.search(r"BUG: KASAN: \S+ in (rxe_\w+)", log)
    record_case("upstream-rxe-kasan/rdma_rxe/no-kasan-report-in-rxe_odp",
                "fail" if report and report.group(1).startswith("rxe_odp")
                else "pass",
                message=report.group(0) if report else "")
    return status


if __name__ == "__main__":
    sys.exit(main())
