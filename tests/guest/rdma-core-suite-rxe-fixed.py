#!/usr/bin/python3
"""rdma-core's python suite on rdma_rxe_fixed (upstream rdma_rxe with the
rxe fixes of kernel/patches/upstream/), held to the baseline of the stock
rdma_rxe (tests/baseline/rdma-core-rdma_rxe.txt): the fixes break no test
that passes on stock. make check-full runs it (tests/suite-full), whose
tag tells its rdma-core/... cases from those of rdma-core-suite."""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    if os.environ.get("RXE_HMM_LINK_TYPE", "rxe_hmm") != "rxe_hmm":
        print("rdma_rxe against its fixes: not a test of a link type")
        return 77
    env = dict(os.environ, RXE_HMM_LINK_TYPE="rxe", RXE_HMM_RXE_MODULE="rdma_rxe_fixed")
    try:
        return subprocess.run([os.path.join(HERE, "rdma-core-suite.py")],
                              env=env).returncode
    finally:
        subprocess.run(["modprobe", "-r", "rdma_rxe_fixed"], check=False)


if __name__ == "__main__":
    sys.exit(main())
