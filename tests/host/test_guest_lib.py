"""Host-side checks of the guest tests' own judging: perftest's retry of a
run whose clock calibration failed, and the comparison with a baseline."""

import os
import sys
import unittest
from unittest import mock

# lib.py puts rdma-core's programs on PATH when it is imported
os.environ.setdefault("RXE_HMM_RDMA_CORE", "/nonexistent")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "guest"))
import lib  # noqa: E402
import perftest  # noqa: E402

GOOD = ({"t_avg[usec]": 10.0}, "output")
CALIBRATION = perftest.CalibrationFailed(
    "ib_write_lat failed (client 1, server 1):\nCorrelation coefficient r^2 ...")


class Retry(unittest.TestCase):
    def run_with(self, outcomes):
        with mock.patch.object(perftest, "_run_perftest_once", side_effect=outcomes):
            return perftest.run_perftest({}, "ib_write_lat")

    def test_first_run_good_no_retry(self):
        self.assertEqual([], self.run_with([GOOD])[2])

    def test_calibration_failure_is_retried_and_told(self):
        figures, _, retried = self.run_with([CALIBRATION, GOOD])
        self.assertEqual(GOOD[0], figures)
        self.assertEqual(1, len(retried))
        self.assertIn("run 1: clock calibration failed", retried[0])

    def test_exit_0_with_failed_calibration_is_retried(self):
        _, _, retried = self.run_with([({}, "Correlation coefficient r^2 0.2"), GOOD])
        self.assertEqual(["run 1: exit 0, clock calibration failed"], retried)

    def test_retried_run_failing_otherwise_fails(self):
        with self.assertRaises(RuntimeError) as e:
            self.run_with([CALIBRATION, RuntimeError("couldn't connect")])
        self.assertNotIsInstance(e.exception, perftest.CalibrationFailed)

    def test_three_calibration_failures_fail_with_every_run(self):
        with self.assertRaises(perftest.CalibrationFailed) as e:
            self.run_with([CALIBRATION] * 3)
        for run in (1, 2, 3):
            self.assertIn(f"run {run}:", str(e.exception))
        self.assertEqual(3, len(e.exception.retried))


class Baseline(unittest.TestCase):
    base = {"t/a": "pass", "t/b": "skip", "t/c": "pass"}

    def judged(self, cases):
        return {c["name"]: c for c in lib.against_baseline(cases, self.base, "b.txt")}

    def test_baseline_pass_that_fails_here_fails(self):
        got = self.judged([{"name": "t/a", "status": "skip"},
                           {"name": "t/b", "status": "skip"},
                           {"name": "t/c", "status": "pass"}])
        self.assertEqual("fail", got["t/a"]["status"])
        self.assertEqual("skip", got["t/b"]["status"])

    def test_baseline_case_that_did_not_run_fails(self):
        got = self.judged([{"name": "t/a", "status": "pass"},
                           {"name": "t/b", "status": "skip"}])
        self.assertEqual("fail", got["t/c"]["status"])
        self.assertIn("did not run", got["t/c"]["message"])

    def test_new_case_is_judged_as_it_is(self):
        got = self.judged([{"name": "t/a", "status": "pass"},
                           {"name": "t/b", "status": "pass"},
                           {"name": "t/c", "status": "pass"},
                           {"name": "t/d", "status": "fail"}])
        self.assertEqual("fail", got["t/d"]["status"])
        self.assertEqual("pass", got["t/b"]["status"])


if __name__ == "__main__":
    unittest.main()
