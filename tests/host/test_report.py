"""tests/report.py: the rules that make a green run mean what it says."""

import io
import json
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stdout

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import report  # noqa: E402


def case(name, status, test=None, message=""):
    c = {"name": name, "status": status, "seconds": 0}
    if test:
        c["test"] = test
    if message:
        c["message"] = message
    return c


def judge(cases, tests=("t",), skips=(), failures=(), expected=(), versions=None,
          vm_status=0):
    return report.judge(cases, list(tests), vm_status, "/vm", list(skips),
                        list(failures), list(expected), versions or {})


def by_name(cases):
    return {c["name"]: c for c in cases}


class Skips(unittest.TestCase):
    def test_unexpected_skip_fails(self):
        got = by_name(judge([case("t/a", "skip", "t", "no device")]))
        self.assertEqual("fail", got["t/a"]["status"])
        self.assertIn("unexpected skip", got["t/a"]["message"])
        self.assertIn("no device", got["t/a"]["message"])

    def test_listed_skip_stays_a_skip_with_its_reason(self):
        got = by_name(judge([case("t/x.mlx5_y", "skip", "t")],
                            skips=[("t/*mlx5*", "needs mlx5 hardware")]))
        self.assertEqual("skip", got["t/x.mlx5_y"]["status"])
        self.assertEqual("needs mlx5 hardware", got["t/x.mlx5_y"]["expected"])

    def test_pattern_matches_whole_name(self):
        got = by_name(judge([case("t/ab", "skip", "t")], skips=[("t/a", "r")]))
        self.assertEqual("fail", got["t/ab"]["status"])


class ExpectedFailures(unittest.TestCase):
    rule = [("rdma-core", "65.0", "t/bug", "upstream bug X")]

    def test_failure_on_that_version_passes_and_says_so(self):
        got = by_name(judge([case("t/bug", "fail", "t", "wrong bytes")],
                            failures=self.rule, versions={"rdma-core": "65.0"}))
        self.assertEqual("pass", got["t/bug"]["status"])
        self.assertIn("expected failure (rdma-core 65.0: upstream bug X)",
                      got["t/bug"]["message"])
        self.assertIn("wrong bytes", got["t/bug"]["message"])

    def test_pass_on_that_version_fails(self):
        got = by_name(judge([case("t/bug", "pass", "t")], failures=self.rule,
                            versions={"rdma-core": "65.0"}))
        self.assertEqual("fail", got["t/bug"]["status"])
        self.assertIn("expected to fail", got["t/bug"]["message"])

    def test_other_version_is_judged_as_it_is(self):
        got = by_name(judge([case("t/bug", "fail", "t")], failures=self.rule,
                            versions={"rdma-core": "65.1"}))
        self.assertEqual("fail", got["t/bug"]["status"])
        self.assertNotIn("message", got["t/bug"])


class Missing(unittest.TestCase):
    def test_test_asked_for_without_record_fails(self):
        got = by_name(judge([], tests=["t"]))
        self.assertEqual("fail", got["t"]["status"])

    def test_expected_case_that_did_not_run_fails(self):
        got = by_name(judge([case("t/a", "pass", "t")], tests=["t"],
                            expected=[("t", "t/a"), ("t", "t/b")]))
        self.assertEqual("fail", got["t/b"]["status"])
        self.assertEqual("pass", got["t/a"]["status"])

    def test_expected_cases_of_tests_not_asked_for_are_not_required(self):
        got = by_name(judge([case("t/a", "pass", "t")], tests=["t"],
                            expected=[("u", "u/a")]))
        self.assertNotIn("u/a", got)

    def test_lint_cases_are_always_required(self):
        got = by_name(judge([case("t/a", "pass", "t")], tests=["t"],
                            expected=[("lint", "lint/build-W1-sparse")]))
        self.assertEqual("fail", got["lint/build-W1-sparse"]["status"])

    def test_guest_that_died_fails(self):
        got = by_name(judge([case("t/a", "pass", "t")], vm_status=125))
        self.assertEqual("fail", got["vm"]["status"])

    def test_guest_exit_1_for_an_expected_failure_is_fine(self):
        got = by_name(judge([case("t/bug", "fail", "t")], vm_status=1,
                            failures=[("kernel", "7.3.4", "t/bug", "upstream")],
                            versions={"kernel": "7.3.4"}))
        self.assertNotIn("vm", got)
        self.assertEqual("pass", got["t/bug"]["status"])

    def test_guest_exit_1_without_failed_case_fails(self):
        got = by_name(judge([case("t/a", "pass", "t")], vm_status=1))
        self.assertEqual("fail", got["vm"]["status"])


class Main(unittest.TestCase):
    def run_main(self, cases, rules=""):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "cases.jsonl"), "w") as f:
                f.writelines(json.dumps(c) + "\n" for c in cases)
            with open(os.path.join(d, "release"), "w") as f:
                f.write("7.3.4\n")
            with open(os.path.join(d, "skips"), "w") as f:
                f.write(rules)
            with open(os.path.join(d, "versions"), "w") as f:
                f.write("rdma-core 65.0 x.tar.gz 0 pinned\n")
            out = io.StringIO()
            with redirect_stdout(out):
                status = report.main([
                    "--cases", f"{d}/cases.jsonl", "--vm-status", "0",
                    "--vm-results", d, "--kernel", d, "--seconds", "1",
                    "--out", f"{d}/check.json", "--tests", "t",
                    "--versions", f"{d}/versions",
                    "--expected-skips", f"{d}/skips",
                    "--expected-failures", f"{d}/none",
                    "--expected-cases", f"{d}/none"])
            data = json.load(open(f"{d}/check.json"))
        return status, out.getvalue().splitlines(), data

    def test_closing_line_and_status(self):
        status, lines, data = self.run_main(
            [case("t/a", "pass", "t"), case("t/b", "skip", "t", "r")],
            "t/b  a reason\n")
        self.assertEqual(0, status)
        self.assertEqual("1 passed, 0 failed, 1 skipped", lines[-1])
        self.assertEqual({"kernel": "7.3.4", "rdma-core": "65.0"}, data["versions"])

    def test_failure_exits_1(self):
        status, lines, _ = self.run_main([case("t/a", "skip", "t")])
        self.assertEqual(1, status)
        self.assertEqual("0 passed, 1 failed, 0 skipped", lines[-1])

    def test_retries_are_counted(self):
        c = case("t/a", "pass", "t")
        c["retries"] = 2
        _, _, data = self.run_main([c])
        self.assertEqual(2, data["retries"])

    def test_rule_without_reason_is_refused(self):
        with self.assertRaises(SystemExit):
            self.run_main([case("t/a", "skip", "t")], "t/a\n")


class CommittedLists(unittest.TestCase):
    """The committed lists parse, and every skip has its reason."""

    def test_lists_parse(self):
        self.assertTrue(report.read_rules(report.EXPECTED_SKIPS, 2))
        report.read_rules(report.EXPECTED_FAILURES, 4)
        self.assertTrue(report.read_rules(report.EXPECTED_CASES, 2))


if __name__ == "__main__":
    unittest.main()
