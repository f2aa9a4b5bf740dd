#!/usr/bin/python3
"""The rdma-core python suite (run_tests.py's tests) on one device.

Runs every test of the pinned rdma-core's tests/ package through unittest,
as run_tests.py does, and records each one as a case. Against a baseline
file (tests/baseline/), a test that passed there and does not pass here
fails; a known upstream failure goes in tests/expected-failures, keyed to
the version it fails on.
On rxe_hmm, the tests of what upstream rxe lacks (MUST_PASS) must pass too,
and in sum no fewer tests may pass than in the baseline.

Environment: RXE_HMM_RDMA_CORE (rdma-core build directory),
RXE_HMM_LINK_TYPE (rxe_hmm by default), RXE_HMM_SUITE_FILTER (optional:
only tests whose id contains it), RXE_HMM_SUITE_USERSPACE ("patched", the
default: rdma-core with our series on librxe; "stock": without it), and
RXE_HMM_SUITE_NAME (what the cases are named under, rdma-core by default).
"""

import argparse
import json
import os
import sys
import unittest

from lib import against_baseline, read_baseline, setup_loopback, teardown_net
from rdma_core_tests import RecordingResult, load_rdma_core_tests

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BASELINE = os.path.join(TOP, "tests", "baseline", "rdma-core-rdma_rxe.txt")

IMPLICIT_ODP = {f"rdma-core/tests.test_odp.OdpTestCase.{t}" for t in (
    "test_odp_implicit_rc_traffic",
    "test_odp_implicit_sync_prefetch_rc_traffic",
    "test_odp_implicit_async_prefetch_rc_traffic",
    "test_mrex_odp_implicit_rc_traffic",
)}
REREG = {f"rdma-core/tests.test_mr.MRTest.{t}" for t in (
    "test_mr_rereg_access",
    "test_mr_rereg_access_bad_flow",
    "test_mr_rereg_addr",
    "test_mr_rereg_atomic",
    "test_mr_rereg_pd",
    "test_mrex_rereg_access",
    "test_mrex_rereg_addr",
)}

# Per link type and userspace: tests that must pass whatever the baseline
# says. On rxe_hmm, what rdma_rxe lacks and our module adds: implicit ODP,
# which any librxe drives; and re-registration, which librxe has only with
# our series.
MUST_PASS = {
    ("rxe_hmm", "stock"): IMPLICIT_ODP,
    ("rxe_hmm", "patched"): IMPLICIT_ODP | REREG,
}


def load_suite(dev):
    tests = load_rdma_core_tests(dev)
    suite = unittest.defaultTestLoader.loadTestsFromModule(tests)
    wanted = os.environ.get("RXE_HMM_SUITE_FILTER")
    if wanted:
        def flatten(s):
            for t in s:
                yield from flatten(t) if isinstance(t, unittest.TestSuite) else [t]
        suite = unittest.TestSuite(t for t in flatten(suite) if wanted in t.id())
    return suite


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baseline", default=os.environ.get("RXE_HMM_BASELINE", BASELINE),
                    help="baseline file to compare with, or none "
                    "(default: $RXE_HMM_BASELINE or %(default)s)")
    args = ap.parse_args()

    link_type = os.environ.get("RXE_HMM_LINK_TYPE", "rxe_hmm")
    userspace = os.environ.get("RXE_HMM_SUITE_USERSPACE", "patched")
    prefix = os.environ.get("RXE_HMM_SUITE_NAME", "rdma-core")

    def named(name):
        """A suite case's name under PREFIX."""
        return prefix + name[len("rdma-core"):]

    must_pass = {named(n) for n in MUST_PASS.get((link_type, userspace), set())}
    dev, _ = setup_loopback(link_type)
    try:
        suite = load_suite(dev)
        runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2,
                                         resultclass=RecordingResult)
        outcomes = runner.run(suite).outcomes
    finally:
        teardown_net()

    base = {}
    if args.baseline != "none":
        base = {named(n): s for n, s in read_baseline(args.baseline).items()}
    what = os.path.basename(args.baseline)
    filtered = os.environ.get("RXE_HMM_SUITE_FILTER")
    cases = []
    for test in sorted(outcomes):
        status, seconds, message = outcomes[test]
        case = {"name": f"{prefix}/{test}", "status": status, "seconds": seconds}
        if case["name"] in must_pass and status != "pass":
            case.update(status="fail",
                        message=f"must pass on {link_type} with {userspace} librxe; here: {message}")
        elif message:
            case["message"] = message
        cases.append(case)
    ran = {c["name"] for c in cases}
    # With a filter, only the tests that ran are compared.
    judged = against_baseline(cases, {n: s for n, s in base.items()
                                      if not filtered or n in ran}, what)
    if not filtered:
        judged += [{"name": name, "status": "fail", "seconds": 0,
                    "message": f"must pass on {link_type} with {userspace} librxe, did not run"}
                   for name in sorted(must_pass - ran - set(base))]
        # Per test above; in sum here: no fewer passes than the baseline.
        if base:
            here = sum(1 for s, _, _ in outcomes.values() if s == "pass")
            there = sum(1 for s in base.values() if s == "pass")
            judged.append({"name": f"{prefix}-suite/pass-count",
                           "status": "pass" if here >= there else "fail",
                           "seconds": 0,
                           "message": f"{here} pass here, {there} in {what}"})
    with open(os.environ["RXE_HMM_CASES"], "a") as out:
        for c in judged:
            out.write(json.dumps(c) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
