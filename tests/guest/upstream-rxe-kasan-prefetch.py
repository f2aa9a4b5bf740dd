#!/usr/bin/python3
"""Stock rdma_rxe's ibv_advise_mr() takes a pinned MR for an ODP one and
reads the ib_umem_odp fields past its ib_umem: KASAN reports it
(tests/expected-failures, kernel 7.3.4; kernel/patches/upstream/0006
fixes it). In a boot of its own (tests/suite), as upstream-rxe-kasan;
rdma_rxe_fixed passes the same case in upstream-rxe."""

import sys

from lib import kasan_verdict


if __name__ == "__main__":
    sys.exit(kasan_verdict("upstream-rxe-kasan-prefetch"))
