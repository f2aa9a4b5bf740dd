#!/usr/bin/python3
"""Stock rdma_rxe indexes its ODP page list with the iova of an MR
registered at an iova other than its address: KASAN reports the read
past the list (tests/expected-failures, kernel 7.3.4;
kernel/patches/upstream/0002 fixes it). tests/suite runs this test in a
boot of its own, since KASAN reports only once a boot and a report
leaves lockdep unreliable. rdma_rxe_fixed passes the same cases in
upstream-rxe."""

import sys

from lib import kasan_verdict


if __name__ == "__main__":
    sys.exit(kasan_verdict("upstream-rxe-kasan"))
