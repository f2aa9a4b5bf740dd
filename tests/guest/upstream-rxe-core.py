#!/usr/bin/python3
"""The core's bug that kernel/patches/upstream/0007 fixes: umem_odp.c never
marks the pages of a virtual-DMA device dirty, so reclaim drops what
rdma_rxe wrote after MADV_FREE. rdma_rxe_fixed (the driver's own bugs
fixed) shows it on a kernel of the stock-core fragment, built without
that patch (make check-full; tests/expected-failures expects the loss on
7.3.4). In the test kernel, which carries the fix, upstream-rxe runs the
same case and passes."""

import os
import sys

from lib import rxe_odp_cases

SKIP = 77


def core_fixes():
    path = os.path.join(os.environ["RXE_HMM_KERNEL"], "core-fixes")
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def main():
    if os.environ.get("RXE_HMM_LINK_TYPE", "rxe_hmm") != "rxe_hmm":
        print("rdma_rxe against its fixes: not a test of a link type")
        return SKIP
    if core_fixes():
        print("this kernel carries the core's fixes:", *core_fixes())
        return SKIP
    return rxe_odp_cases("rdma_rxe_fixed", "upstream-rxe-core",
                         ["odp.explicit.write_after_madv_free_survives_pageout"])


if __name__ == "__main__":
    sys.exit(main())
