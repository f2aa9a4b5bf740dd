#!/usr/bin/python3
"""The rxe_hmm provider of rdma-core: binding and direct verbs.

tests/provider/dv_test (C, kselftest harness) and
tests/provider/test_rxe_hmmdv.py (pyverbs, on rdma-core's test base
classes) run on an rxe_hmm device in loopback whose migrate_policy is
"off", with an rdma_rxe device beside it for the binding case and for
handing the dv calls a foreign object. The binding case also gets two more
rxe_hmm devices: one named like an rxe device (which librxe would take by
name) and one named like neither. The rdma_rxe device lives in namespace
b, as two rxe drivers cannot share a namespace's RoCE UDP port. The ABI
cases load our provider built for the neighbouring ABI revisions.
"""

import os
import re
import subprocess
import sys
import unittest
from importlib.machinery import SourceFileLoader

from lib import lib_sh, record_case, run_tap, setup_loopback, teardown_net
from rdma_core_tests import RecordingResult, load_rdma_core_tests

HERE = os.path.dirname(os.path.abspath(__file__))
PYVERBS_TESTS = os.path.join(os.path.dirname(HERE), "provider", "test_rxe_hmmdv.py")

SKIP = 77


REFUSED = re.compile(r"Driver rxe_hmm does not support the kernel ABI of (\d+) "
                     r"\(supports (\d+) to \2\) for device \S*/(\S+)$", re.M)


def abi_mismatch(devs):
    """The provider built for the ABI revision before ours and the one
    after (scripts/build-tests.sh), each loaded before the real one:
    libibverbs must refuse it every rxe_hmm device, saying why, and the
    real provider must still bind them all."""
    status = 0
    for rev in ("prev", "next"):
        drv = os.path.join(os.environ["RXE_HMM_TESTS"], f"librxe_hmm_abi_{rev}")
        p = subprocess.run(["ibv_devices"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True,
                           env=dict(os.environ, RDMAV_DRIVERS=drv))
        print(p.stdout + p.stderr)
        refused = {m.group(3) for m in REFUSED.finditer(p.stderr)
                   if m.group(1) != m.group(2)}
        listed = set(p.stdout.split())
        missing = [d for d in devs if d not in refused or d not in listed]
        ok = p.returncode == 0 and not missing
        record_case(f"provider-tests/abi-{rev}", "pass" if ok else "fail",
                    message="" if ok else
                    f"exit {p.returncode}; not refused or not listed: {missing}")
        status |= not ok
    return status


def run_pyverbs(dev):
    """Runs the pyverbs tests on DEV; each test becomes a case."""
    load_rdma_core_tests(dev)
    module = SourceFileLoader("test_rxe_hmmdv", PYVERBS_TESTS).load_module()
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2,
                                     resultclass=RecordingResult).run(suite)
    for test, (status, seconds, message) in sorted(result.outcomes.items()):
        record_case(f"provider-tests/pyverbs/{test.split('.', 1)[1]}", status,
                    seconds, message)
    return 0 if result.wasSuccessful() and result.outcomes else 1


def main():
    if os.environ.get("RXE_HMM_LINK_TYPE", "rxe_hmm") != "rxe_hmm":
        print("these tests are of the rxe_hmm provider")
        return SKIP
    dev, gid = setup_loopback("rxe_hmm")
    try:
        # rdma_rxe in a namespace of its own: rxe_hmm has the UDP port here
        lib_sh("load_link_module rxe; ip netns add b; "
               "ip -n b link add dummy_rxe type dummy; "
               "ip -n b addr add 198.18.4.1/24 dev dummy_rxe; "
               "ip -n b link set dummy_rxe up; "
               "in_ns b rdma link add rxe_plain type rxe netdev dummy_rxe; "
               "setup_dummy rxe_hmm rxe_lookalike dummy_hmm1 198.18.4.2 >/dev/null; "
               "setup_dummy rxe_hmm hmm_other dummy_hmm2 198.18.4.3 >/dev/null")
        env = dict(os.environ, RXE_HMM_DEV=dev, RXE_HMM_GID=gid,
                   RXE_HMM_RXE_DEV="rxe_plain",
                   RXE_HMM_BIND_DEVS=f"{dev} rxe_lookalike hmm_other")
        prog = os.path.join(os.environ["RXE_HMM_TESTS"], "dv_test")
        status = run_tap([prog], "provider-tests/dv", env=env)
        status |= abi_mismatch([dev, "rxe_lookalike", "hmm_other"])
        return status | run_pyverbs(dev)
    finally:
        teardown_net()


if __name__ == "__main__":
    sys.exit(main())
