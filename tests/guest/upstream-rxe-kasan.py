#!/usr/bin/python3
"""Stock rdma_rxe indexes its ODP page list with the iova of an MR
registered at an iova other than its address: KASAN reports the read
past the list (tests/expected-failures, kernel 7.3.4;
kernel/patches/upstream/0002 fixes it). tests/suite runs this test in a
boot of its own, since KASAN reports only once a boot and a report
leaves lockdep unreliable. rdma_rxe_fixed passes the same cases in
upstream-rxe."""

import os
import sys

from lib import kasan_verdict


def main():
    if os.environ.get("RXE_HMM_LINK_TYPE", "rxe_hmm") != "rxe_hmm":
        print("rdma_rxe against its fixes: not a test of a link type")
        return 77
    return kasan_verdict("upstream-rxe-kasan")


if __name__ == "__main__":
    sys.exit(main())
