"""tests/guest/runner.py's case protocol, on the host: exit statuses,
a test's own cases, splats and lost log records blamed on the test, and a
timeout that kills the test's whole process group."""

import os
import stat
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "guest"))
import runner  # noqa: E402


class FakeKmsg:
    def __init__(self, lines=(), lost=0, boot=(), boot_lost=0):
        self.lines, self.lost = list(lines), lost
        self.boot, self.boot_lost = list(boot), boot_lost

    def take(self):
        lines, lost = self.lines, self.lost
        self.lines, self.lost = [], 0
        return lines, lost


class Protocol(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.splat = runner.splat_regex()
        self.torn_down = 0

    def tearDown(self):
        self.dir.cleanup()

    def script(self, name, body):
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as f:
            f.write("#!/bin/bash\n" + body + "\n")
        os.chmod(path, stat.S_IRWXU)
        return path

    def teardown(self):
        self.torn_down += 1

    @staticmethod
    def kill(pid):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass

    def run_one(self, path, kmsg=None, timeout=30):
        return runner.run_one(path, timeout, kmsg or FakeKmsg(), self.splat,
                              self.teardown)

    def test_boot_splat_fails_boot_case(self):
        line = "BUG: KASAN: wild-memory-access in do_raw_spin_lock+0x10f/0x240"
        r = runner.boot_case(FakeKmsg(boot=["Calibrating delay loop", line]),
                             self.splat, "kunit")
        self.assertEqual(("boot/before-kunit/no-splat", "fail", line),
                         (r["name"], r["status"], r.get("message")))

    def test_clean_boot_passes(self):
        r = runner.boot_case(FakeKmsg(boot=["Linux version 7.3.4"]), self.splat,
                             "kunit")
        self.assertEqual("pass", r["status"])

    def test_lost_boot_log_fails(self):
        r = runner.boot_case(FakeKmsg(boot_lost=1), self.splat, "kunit")
        self.assertEqual("fail", r["status"])
        self.assertIn("overwritten", r["message"])

    def test_exit_0_passes(self):
        r = self.run_one(self.script("ok.sh", "exit 0"))
        self.assertEqual([("ok", "pass")], [(c["name"], c["status"]) for c in r])

    def test_exit_77_skips_and_says_so(self):
        r = self.run_one(self.script("sk.sh", "exit 77"))
        self.assertEqual("skip", r[0]["status"])
        self.assertIn("77", r[0]["message"])

    def test_other_exit_fails(self):
        r = self.run_one(self.script("bad.sh", "exit 3"))
        self.assertEqual(("fail", "exit status 3"), (r[0]["status"], r[0]["message"]))

    def test_own_cases_stand_in_its_place(self):
        r = self.run_one(self.script("many.sh", """
echo '{"name": "many/a", "status": "pass", "seconds": 1}' >>"$RXE_HMM_CASES"
echo '{"name": "many/b", "status": "skip", "seconds": 0}' >>"$RXE_HMM_CASES"
"""))
        self.assertEqual([("many/a", "pass"), ("many/b", "skip")],
                         [(c["name"], c["status"]) for c in r])

    def test_nonzero_exit_without_failed_case_fails(self):
        r = self.run_one(self.script("lie.sh", """
echo '{"name": "lie/a", "status": "pass", "seconds": 1}' >>"$RXE_HMM_CASES"
exit 2"""))
        self.assertEqual(["pass", "fail"], [c["status"] for c in r])

    def test_splat_fails_the_test(self):
        r = self.run_one(self.script("ok.sh", "exit 0"),
                         FakeKmsg(["rxe_hmm: hello", "WARNING: CPU: 0 PID: 1 at x"]))
        self.assertEqual([("ok", "pass"), ("ok: kernel splat", "fail")],
                         [(c["name"], c["status"]) for c in r])
        self.assertIn("WARNING: CPU", r[1]["message"])

    def test_lockdep_non_static_key_is_a_splat(self):
        r = self.run_one(self.script("ok.sh", "exit 0"),
                         FakeKmsg(["INFO: trying to register non-static key."]))
        self.assertEqual("fail", r[-1]["status"])

    def test_lost_records_fail_the_test(self):
        r = self.run_one(self.script("ok.sh", "exit 0"), FakeKmsg(lost=1))
        self.assertEqual("fail", r[-1]["status"])
        self.assertIn("overwritten", r[-1]["message"])

    def test_timeout_kills_the_process_group_and_tears_down(self):
        pidfile = os.path.join(self.dir.name, "child")
        start = time.monotonic()
        r = self.run_one(self.script("hang.sh", f"""
trap '' TERM
sleep 1000 &
echo $! >{pidfile}
sleep 1000"""), timeout=2)
        child = int(open(pidfile).read())
        self.addCleanup(self.kill, child)
        self.assertLess(time.monotonic() - start, 2 + runner.TERM_GRACE + 5)
        self.assertEqual("fail", r[0]["status"])
        self.assertIn("timed out after 2s", r[0]["message"])
        self.assertEqual(1, self.torn_down)
        # reaped by init or still a zombie: either way not running
        try:
            with open(f"/proc/{child}/stat") as f:
                self.assertEqual("Z", f.read().split(") ", 1)[1][0])
        except FileNotFoundError:
            pass

    def test_timeout_after_a_failed_case_is_told(self):
        """A test that recorded a failure and then hung: the hang is a
        failure of its own, not hidden behind the first."""
        r = self.run_one(self.script("failhang.sh", """
echo '{"name": "failhang/a", "status": "fail", "seconds": 1}' >>"$RXE_HMM_CASES"
exec sleep 1000"""), timeout=2)
        self.assertEqual([("failhang/a", "fail"), ("failhang", "fail")],
                         [(c["name"], c["status"]) for c in r])
        self.assertIn("timed out after 2s", r[1]["message"])


if __name__ == "__main__":
    unittest.main()
