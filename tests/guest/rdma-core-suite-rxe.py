#!/usr/bin/python3
"""rdma-core's python suite on the kernel's stock rdma_rxe through librxe
with our series (rdma-core-provider/), held to the baseline of stock
rdma_rxe with stock librxe (tests/baseline/rdma-core-rdma_rxe.txt): the
series breaks no test that passes there. make check-full runs it
(tests/suite-full), whose tag tells its rdma-core/... cases from those of
rdma-core-suite."""

import sys

from rdma_core_tests import rerun_suite


def main():
    return rerun_suite("rdma_rxe through the patched librxe",
                       RXE_HMM_LINK_TYPE="rxe", RXE_HMM_RXE_MODULE="rdma_rxe")


if __name__ == "__main__":
    sys.exit(main())
