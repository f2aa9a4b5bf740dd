#!/usr/bin/python3
"""rdma-core's python suite on the kernel's stock rdma_rxe through librxe
with our series (rdma-core-provider/), held to the baseline of stock
rdma_rxe with stock librxe (tests/baseline/rdma-core-rdma_rxe.txt): the
series breaks no test that passes there. make check-full runs it
(tests/suite-full), whose tag tells its rdma-core/... cases from those of
rdma-core-suite."""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    if os.environ.get("RXE_HMM_LINK_TYPE", "rxe_hmm") != "rxe_hmm":
        print("rdma_rxe through the patched librxe: not a test of a link type")
        return 77
    env = dict(os.environ, RXE_HMM_LINK_TYPE="rxe", RXE_HMM_RXE_MODULE="rdma_rxe")
    return subprocess.run([os.path.join(HERE, "rdma-core-suite.py")],
                          env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
