#!/usr/bin/python3
"""rdma-core's python suite on rdma_rxe_fixed (upstream rdma_rxe with the
rxe fixes of kernel/patches/upstream/), held to the baseline of the stock
rdma_rxe (tests/baseline/rdma-core-rdma_rxe.txt): the fixes break no test
that passes on stock. make check-full runs it (tests/suite-full), whose
tag tells its rdma-core/... cases from those of rdma-core-suite."""

import subprocess
import sys

from rdma_core_tests import rerun_suite


def main():
    try:
        return rerun_suite("rdma_rxe against its fixes",
                           RXE_HMM_LINK_TYPE="rxe", RXE_HMM_RXE_MODULE="rdma_rxe_fixed")
    finally:
        subprocess.run(["modprobe", "-r", "rdma_rxe_fixed"], check=False)


if __name__ == "__main__":
    sys.exit(main())
