#!/usr/bin/python3
"""rdma-core's python suite on rdma_rxe_fixed (upstream rdma_rxe with the
rxe fixes of kernel/patches/upstream/), held to the baseline of the stock
rdma_rxe (tests/baseline/rdma-core-rdma_rxe.txt): the fixes break no test
that passes on stock. rdma-core-suite.py does the work; its cases are
renamed rdma-core-rxe-fixed/..., apart from rxe_hmm's. make check-full
runs it (tests/suite-full)."""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    if os.environ.get("RXE_HMM_LINK_TYPE", "rxe_hmm") != "rxe_hmm":
        print("rdma_rxe against its fixes: not a test of a link type")
        return 77
    with tempfile.NamedTemporaryFile("r", prefix="cases.", dir="/tmp") as cases:
        env = dict(os.environ, RXE_HMM_LINK_TYPE="rxe",
                   RXE_HMM_RXE_MODULE="rdma_rxe_fixed", RXE_HMM_CASES=cases.name)
        status = subprocess.run([os.path.join(HERE, "rdma-core-suite.py")],
                                env=env).returncode
        judged = [json.loads(line) for line in cases if line.strip()]
    with open(os.environ["RXE_HMM_CASES"], "a") as out:
        for c in judged:
            c["name"] = "rdma-core-rxe-fixed/" + c["name"].split("/", 1)[1]
            out.write(json.dumps(c) + "\n")
    subprocess.run(["modprobe", "-r", "rdma_rxe_fixed"], check=False)
    return status


if __name__ == "__main__":
    sys.exit(main())
