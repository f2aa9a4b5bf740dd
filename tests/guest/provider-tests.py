#!/usr/bin/python3
"""librxe with our series (rdma-core-provider/) on rxe_hmm: binding and
direct verbs.

tests/provider/dv_test (C, kselftest harness) and
tests/provider/test_rxedv.py (pyverbs, on rdma-core's test base
classes) run on an rxe_hmm device in loopback whose migrate_policy is
"off", with an rdma_rxe device beside it, which announces no
capabilities: for the binding case and for the dv calls that must return
EOPNOTSUPP there. The binding case also gets two more rxe_hmm devices: one
named like an rxe device and one named like neither; librxe binds all of
them by driver id. The rdma_rxe device lives in namespace b, as two rxe
drivers cannot share a namespace's RoCE UDP port.
"""

import os
import sys
import unittest
from importlib.machinery import SourceFileLoader

from lib import lib_sh, record_case, run_tap, setup_loopback, teardown_net
from rdma_core_tests import RecordingResult, load_rdma_core_tests

HERE = os.path.dirname(os.path.abspath(__file__))
PYVERBS_TESTS = os.path.join(os.path.dirname(HERE), "provider", "test_rxedv.py")

SKIP = 77


def run_pyverbs(dev):
    """Runs the pyverbs tests on DEV; each test becomes a case."""
    load_rdma_core_tests(dev)
    module = SourceFileLoader("test_rxedv", PYVERBS_TESTS).load_module()
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2,
                                     resultclass=RecordingResult).run(suite)
    for test, (status, seconds, message) in sorted(result.outcomes.items()):
        record_case(f"provider-tests/pyverbs/{test.split('.', 1)[1]}", status,
                    seconds, message)
    return 0 if result.wasSuccessful() and result.outcomes else 1


def main():
    if os.environ.get("RXE_HMM_LINK_TYPE", "rxe_hmm") != "rxe_hmm":
        print("these tests are of librxe's direct verbs on rxe_hmm")
        return SKIP
    # rdma_rxe first: loading it may unload rdma_rxe_fixed, whose exit
    # would take rxe_hmm's devices down (lib.sh's load_link_module)
    lib_sh("load_link_module rxe")
    dev, gid = setup_loopback("rxe_hmm")
    try:
        # rdma_rxe in a namespace of its own: rxe_hmm has the UDP port here
        lib_sh("ip netns add b; "
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
        return status | run_pyverbs(dev)
    finally:
        teardown_net()


if __name__ == "__main__":
    sys.exit(main())
