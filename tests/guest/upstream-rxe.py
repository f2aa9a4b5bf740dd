#!/usr/bin/python3
"""Upstream rxe's ODP bugs, each shown on the kernel's own rdma_rxe and
gone on rdma_rxe_fixed (the same sources with the rxe fixes of
kernel/patches/upstream/). tests/expected-failures expects each bug on
stock 7.3.4; the case fails if stock ever stops failing. The cases whose
verdict on stock is a KASAN report run there only in a boot of their own
each (upstream-rxe-kasan, upstream-rxe-kasan-prefetch). rxe_hmm runs
every one of these scenarios in odp-tests."""

import os
import sys

from lib import UPSTREAM_RXE_CASES, UPSTREAM_RXE_FIXED_ONLY, \
    UPSTREAM_RXE_KASAN_CASES, rxe_odp_cases

SKIP = 77


def main():
    if os.environ.get("RXE_HMM_LINK_TYPE", "rxe_hmm") != "rxe_hmm":
        print("rdma_rxe against its fixes: not a test of a link type")
        return SKIP
    kasan = {c for cases in UPSTREAM_RXE_KASAN_CASES.values() for c in cases}
    stock = [c for c in UPSTREAM_RXE_CASES
             if c not in kasan and c not in UPSTREAM_RXE_FIXED_ONLY]
    status = rxe_odp_cases("rdma_rxe", "upstream-rxe", stock)
    return rxe_odp_cases("rdma_rxe_fixed", "upstream-rxe",
                         UPSTREAM_RXE_CASES) or status


if __name__ == "__main__":
    sys.exit(main())
