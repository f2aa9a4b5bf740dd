#!/usr/bin/python3
"""tests/odp/migrate_test (kselftest harness): fault-and-migrate on an
rxe_hmm device in loopback, once per migration path.

"unified" is the one-walk path of our mm series (hmm_range_fault() with
HMM_PFN_REQ_MIGRATE), "two-step" the fallback (hmm_range_fault(), then
migrate_vma_setup()); rxe_hmm's migrate_two_step debug knob picks one. On
a kernel without the series the knob is read-only and Y, and the
unified cases are skipped.
"""

import os
import sys

from lib import TWO_STEP, has_unified_walk, lib_sh, record_case, run_tap, \
    setup_loopback, teardown_net, write_sysfs

SKIP = 77


def main():
    if os.environ.get("RXE_HMM_LINK_TYPE", "rxe_hmm") != "rxe_hmm":
        print("these tests are of rxe_hmm's migration")
        return SKIP
    dev, gid = setup_loopback("rxe_hmm")
    status = 0
    try:
        env = dict(os.environ, RXE_HMM_DEV=dev, RXE_HMM_GID=gid)
        prog = os.path.join(os.environ["RXE_HMM_TESTS"], "migrate_test")
        for n, (path, two_step) in enumerate((("unified", "N"), ("two-step", "Y"))):
            if path == "unified" and not has_unified_walk():
                record_case("migrate-tests/unified", "skip",
                            message="the kernel lacks the mm series")
                continue
            write_sysfs(TWO_STEP, two_step)
            # a second device: two_devices reads through it, device_removed deletes it
            rm_dev = f"rxe_hmm_rm{n}"
            rm_gid = lib_sh(f"setup_dummy rxe_hmm {rm_dev} dummy_rm{n} 198.18.3.{n + 1}")[0]
            status |= run_tap([prog], f"migrate-tests/{path}",
                              env=dict(env, RXE_HMM_REMOVABLE_DEV=rm_dev,
                                       RXE_HMM_REMOVABLE_GID=rm_gid))
    finally:
        if os.path.exists(TWO_STEP) and has_unified_walk():
            write_sysfs(TWO_STEP, "N")
        teardown_net()
    return status


if __name__ == "__main__":
    sys.exit(main())
