#!/usr/bin/python3
"""The rdma-core python suite (run_tests.py's tests) on one device.

Runs every test of the pinned rdma-core's tests/ package through unittest,
as run_tests.py does, and records each one as a case. Against a baseline
file (tests/baseline/), a test that passed there and does not pass here
fails, and one that failed there too is skipped as a known upstream failure.
On rxe_hmm, the tests of what upstream rxe lacks (MUST_PASS) must pass too.

Environment: RXE_HMM_RDMA_CORE (rdma-core build directory),
RXE_HMM_LINK_TYPE (rxe_hmm by default), RXE_HMM_SUITE_FILTER (optional:
only tests whose id contains it).
"""

import argparse
import json
import os
import sys
import time
import unittest
from importlib.machinery import SourceFileLoader

from lib import setup_loopback, teardown_net

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
BASELINE = os.path.join(TOP, "tests", "baseline", "rdma-core-rdma_rxe.txt")

# Per link type: tests that must pass whatever the baseline says.
MUST_PASS = {
    "rxe_hmm": {f"rdma-core/tests.test_odp.OdpTestCase.{t}" for t in (
        "test_odp_implicit_rc_traffic",
        "test_odp_implicit_sync_prefetch_rc_traffic",
        "test_odp_implicit_async_prefetch_rc_traffic",
        "test_mrex_odp_implicit_rc_traffic",
    )},
}


class RecordingResult(unittest.TextTestResult):
    """Keeps (status, seconds, message) per test id."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcomes = {}
        self._start = 0.0

    def startTest(self, test):
        self._start = time.monotonic()
        super().startTest(test)

    def _record(self, test, status, message=""):
        self.outcomes[test.id()] = (status, round(time.monotonic() - self._start, 3),
                                    message.strip().splitlines()[-1] if message else "")

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, "pass")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, "fail", self.failures[-1][1])

    def addError(self, test, err):
        super().addError(test, err)
        # setUpClass errors arrive on a placeholder, not on a test.
        self._record(test, "fail", self.errors[-1][1])

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, "skip", reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._record(test, "pass", "expected failure")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._record(test, "fail", "unexpected success")


def load_suite(rdma_core, dev):
    src = os.path.dirname(rdma_core)
    sys.path[:0] = [os.path.join(rdma_core, "python"), os.path.join(src, "tests")]
    from args_parser import parser  # rdma-core's own argument holder
    sys.argv = [sys.argv[0], "--dev", dev]
    parser.parse_args()
    tests = SourceFileLoader("tests", os.path.join(src, "tests", "__init__.py")).load_module()
    suite = unittest.defaultTestLoader.loadTestsFromModule(tests)
    wanted = os.environ.get("RXE_HMM_SUITE_FILTER")
    if wanted:
        def flatten(s):
            for t in s:
                yield from flatten(t) if isinstance(t, unittest.TestSuite) else [t]
        suite = unittest.TestSuite(t for t in flatten(suite) if wanted in t.id())
    return suite


def read_baseline(path):
    """Maps each case name of a baseline file to its status there."""
    base = {}
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                status, name = line.split()[:2]
                base[name] = status
    return base


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baseline", default=os.environ.get("RXE_HMM_BASELINE", BASELINE),
                    help="baseline file to compare with, or none "
                    "(default: $RXE_HMM_BASELINE or %(default)s)")
    args = ap.parse_args()

    link_type = os.environ.get("RXE_HMM_LINK_TYPE", "rxe_hmm")
    must_pass = MUST_PASS.get(link_type, set())
    dev = setup_loopback(link_type)
    try:
        suite = load_suite(os.environ["RXE_HMM_RDMA_CORE"], dev)
        runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2,
                                         resultclass=RecordingResult)
        outcomes = runner.run(suite).outcomes
    finally:
        teardown_net()

    base = {}
    if args.baseline != "none":
        base = read_baseline(args.baseline)
    with open(os.environ["RXE_HMM_CASES"], "a") as cases:
        for test in sorted(outcomes):
            status, seconds, message = outcomes[test]
            name = f"rdma-core/{test}"
            if name in must_pass and status != "pass":
                status = "fail"
                message = f"must pass on {link_type}; here: {message}"
            elif base.get(name) == "pass" and status != "pass":
                status = "fail"
                message = f"passes in {os.path.basename(args.baseline)}; here: {message}"
            elif base.get(name) == "fail" and status == "fail":
                # An upstream failure, on record in the baseline: not ours.
                status = "skip"
                message = f"fails in {os.path.basename(args.baseline)} too: {message}"
            case = {"name": name, "status": status, "seconds": seconds}
            if message:
                case["message"] = message
            cases.write(json.dumps(case) + "\n")
        ran = {f"rdma-core/{t}" for t in outcomes}
        required = {n for n, s in base.items() if s == "pass"} | must_pass
        for name in sorted(n for n in required if n not in ran):
            if not os.environ.get("RXE_HMM_SUITE_FILTER"):
                cases.write(json.dumps({"name": name, "status": "fail", "seconds": 0,
                                        "message": "required to pass, did not run"})
                            + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
