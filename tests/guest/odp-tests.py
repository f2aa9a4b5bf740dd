#!/usr/bin/python3
"""tests/odp/odp_test (kselftest harness) on an rxe_hmm device in loopback.

ODP MRs under RDMA traffic while the process changes its address space
(munmap, MADV_DONTNEED, mprotect, fork, mremap), unaligned writes and
reads, pass 2 waiting for an access in flight, and bad input answered by
errno or completion status. A second device, created with the implicit
ODP cap turned off, serves the case that needs one without it.
"""

import os
import sys

from lib import lib_sh, run_tap, setup_loopback, teardown_net

SKIP = 77
IMPLICIT = "/sys/module/rxe_hmm/parameters/implicit_odp"


def set_param(path, value):
    with open(path, "w") as f:
        f.write(value)


def main():
    if os.environ.get("RXE_HMM_LINK_TYPE", "rxe_hmm") != "rxe_hmm":
        print("these tests are of rxe_hmm's ODP engine")
        return SKIP
    dev = setup_loopback("rxe_hmm")
    try:
        gid = lib_sh("gid_index rxe_hmm_lo $NET_LO")[0]
        set_param(IMPLICIT, "N")
        try:
            noimp_gid = lib_sh("setup_dummy rxe_hmm rxe_hmm_noimp dummy_noimp 198.18.2.1")[0]
        finally:
            set_param(IMPLICIT, "Y")
        env = dict(os.environ, RXE_HMM_DEV=dev, RXE_HMM_GID=gid,
                   RXE_HMM_NOIMPLICIT_DEV="rxe_hmm_noimp",
                   RXE_HMM_NOIMPLICIT_GID=noimp_gid)
        return run_tap([os.path.join(os.environ["RXE_HMM_TESTS"], "odp_test")],
                       "odp-tests", env=env)
    finally:
        teardown_net()


if __name__ == "__main__":
    sys.exit(main())
