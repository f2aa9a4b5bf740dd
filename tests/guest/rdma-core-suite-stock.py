#!/usr/bin/python3
"""rdma-core's python suite on rxe_hmm through an unpatched rdma-core 65.0
(scripts/build-userspace.sh builds it beside the patched one): the librxe
of a distribution that ships 65.0, which knows nothing of rxe_hmm, binds
its devices and passes every test that passes on stock rdma_rxe, and
implicit ODP too. Its cases are named rdma-core-stock/..."""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    if os.environ.get("RXE_HMM_LINK_TYPE", "rxe_hmm") != "rxe_hmm":
        print("stock rdma-core on rxe_hmm: not a test of a link type")
        return 77
    env = dict(os.environ, RXE_HMM_RDMA_CORE=os.environ["RXE_HMM_RDMA_CORE_STOCK"],
               RXE_HMM_SUITE_USERSPACE="stock", RXE_HMM_SUITE_NAME="rdma-core-stock")
    return subprocess.run([os.path.join(HERE, "rdma-core-suite.py")], env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
