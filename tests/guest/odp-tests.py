#!/usr/bin/python3
"""tests/odp/odp_test (kselftest harness) on an rxe_hmm device in loopback.

ODP MRs under RDMA traffic while the process changes its address space
(munmap, MADV_DONTNEED, mprotect, fork, mremap), unaligned writes and
reads, pass 2 waiting for an access in flight, and bad input answered by
errno or completion status. A second device, created with the implicit
ODP cap turned off, serves the case that needs one without it; a third is
deleted by the test that removes a device under its MRs. Swap is on, on a
loop device, for the case of a written page in the swap cache.
"""

import os
import re
import subprocess
import sys

from lib import lib_sh, loop_swap, record_case, run_tap, setup_loopback, \
    teardown_net, write_sysfs

SKIP = 77
IMPLICIT = "/sys/module/rxe_hmm/parameters/implicit_odp"


def check_caps(dev, noimp_dev):
    """ibv_devinfo -v lists implicit ODP on the device that offers it, and
    not on the one created with implicit_odp=N."""
    def caps(d):
        out = subprocess.run(["ibv_devinfo", "-v", "-d", d], check=True,
                             stdout=subprocess.PIPE, text=True).stdout
        # the caps are the lines below, indented deeper than the heading
        m = re.search(r"general_odp_caps:\n((?:\t{2,}\S+\n)+)", out)
        return m.group(1).split() if m else []
    got, got_noimp = caps(dev), caps(noimp_dev)
    ok = "ODP_SUPPORT_IMPLICIT" in got and "ODP_SUPPORT" in got_noimp \
        and "ODP_SUPPORT_IMPLICIT" not in got_noimp
    record_case("odp-tests/devinfo-odp-caps", "pass" if ok else "fail",
                message="" if ok else
                f"general_odp_caps {got} / without implicit: {got_noimp}")


def main():
    if os.environ.get("RXE_HMM_LINK_TYPE", "rxe_hmm") != "rxe_hmm":
        print("these tests are of rxe_hmm's ODP engine")
        return SKIP
    dev, gid = setup_loopback("rxe_hmm")
    try:
        write_sysfs(IMPLICIT, "N")
        try:
            noimp_gid = lib_sh("setup_dummy rxe_hmm rxe_hmm_noimp dummy_noimp 198.18.2.1")[0]
        finally:
            write_sysfs(IMPLICIT, "Y")
        check_caps(dev, "rxe_hmm_noimp")
        # for the test that deletes its device under its MRs
        rm_gid = lib_sh("setup_dummy rxe_hmm rxe_hmm_rm dummy_rm 198.18.3.1")[0]
        env = dict(os.environ, RXE_HMM_DEV=dev, RXE_HMM_GID=gid,
                   RXE_HMM_NOIMPLICIT_DEV="rxe_hmm_noimp",
                   RXE_HMM_NOIMPLICIT_GID=noimp_gid,
                   RXE_HMM_REMOVABLE_DEV="rxe_hmm_rm",
                   RXE_HMM_REMOVABLE_GID=rm_gid)
        with loop_swap():
            return run_tap([os.path.join(os.environ["RXE_HMM_TESTS"], "odp_test")],
                           "odp-tests", env=env)
    finally:
        teardown_net()


if __name__ == "__main__":
    sys.exit(main())
