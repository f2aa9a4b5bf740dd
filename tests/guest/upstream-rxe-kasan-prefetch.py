#!/usr/bin/python3
"""Stock rdma_rxe's ibv_advise_mr() takes a pinned MR for an ODP one and
reads the ib_umem_odp fields past its ib_umem: KASAN reports it
(tests/expected-failures, kernel 7.3.4; kernel/patches/upstream/0006
fixes it). In a boot of its own (tests/suite), as upstream-rxe-kasan;
rdma_rxe_fixed passes the same case in upstream-rxe."""

import os
import sys

from lib import kasan_verdict


def main():
    if os.environ.get("RXE_HMM_LINK_TYPE", "rxe_hmm") != "rxe_hmm":
        print("rdma_rxe against its fixes: not a test of a link type")
        return 77
    return kasan_verdict("upstream-rxe-kasan-prefetch")


if __name__ == "__main__":
    sys.exit(main())
