"""rdma-core's python test package (tests/) on one device, and a unittest
result that records every outcome: for rdma-core-suite.py and for our
own pyverbs tests built on rdma-core's test base classes."""

import os
import subprocess
import sys
import time
import unittest
from importlib.machinery import SourceFileLoader


def load_rdma_core_tests(dev):
    """Puts the pinned rdma-core's pyverbs and tests on sys.path, aims its
    argument holder at DEV, and returns its tests package."""
    rdma_core = os.environ["RXE_HMM_RDMA_CORE"]
    src = os.path.dirname(rdma_core)
    sys.path[:0] = [os.path.join(rdma_core, "python"), os.path.join(src, "tests")]
    from args_parser import parser  # rdma-core's own argument holder
    sys.argv = [sys.argv[0], "--dev", dev]
    parser.parse_args()
    return SourceFileLoader("tests", os.path.join(src, "tests", "__init__.py")).load_module()


def rerun_suite(what, **env):
    """rdma-core-suite.py run again with ENV, for a wrapper test of WHAT
    that only ever runs as part of rxe_hmm's tests: 77 (a skip) under
    another link type, else the suite's exit status."""
    if os.environ.get("RXE_HMM_LINK_TYPE", "rxe_hmm") != "rxe_hmm":
        print(f"{what}: not a test of a link type")
        return 77
    suite = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         "rdma-core-suite.py")
    return subprocess.run([suite], env=dict(os.environ, **env)).returncode


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
