#!/usr/bin/python3
"""rdma-core's python suite on rxe_hmm through an unpatched rdma-core 65.0
(scripts/build-userspace.sh builds it beside the patched one): the librxe
of a distribution that ships 65.0, which knows nothing of rxe_hmm, binds
its devices and passes every test that passes on stock rdma_rxe, and
implicit ODP too. Its cases are named rdma-core-stock/..."""

import os
import sys

from rdma_core_tests import rerun_suite


def main():
    return rerun_suite("stock rdma-core on rxe_hmm",
                       RXE_HMM_RDMA_CORE=os.environ["RXE_HMM_RDMA_CORE_STOCK"],
                       RXE_HMM_SUITE_USERSPACE="stock", RXE_HMM_SUITE_NAME="rdma-core-stock")


if __name__ == "__main__":
    sys.exit(main())
