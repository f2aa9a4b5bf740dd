"""tests/vm/splats, the verdict tests/vm/run gives on a guest's kernel log."""

import os
import subprocess
import tempfile
import unittest

SPLATS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vm", "splats")


class Splats(unittest.TestCase):
    def run_on(self, dmesg, console):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "dmesg"), "w") as f:
                f.write(dmesg)
            with open(os.path.join(d, "console.log"), "w") as f:
                f.write(console)
            p = subprocess.run([SPLATS, d], capture_output=True, text=True)
        return p.returncode, p.stderr.splitlines()

    def test_quiet_log_passes(self):
        status, err = self.run_on("[    1.000000] rxe_hmm: loaded\n",
                                  "WARNING: a job's own output is no splat\n")
        self.assertEqual((status, err), (0, []))

    def test_splat_after_the_saved_dmesg_fails(self):
        status, err = self.run_on(
            "[    1.000000] rxe_hmm: loaded\n",
            "[    1.000000] rxe_hmm: loaded\n"
            "[    2.500000] BUG: KASAN: slab-use-after-free in rxe_odp_walk\n")
        self.assertEqual(status, 1)
        self.assertEqual(err[1:], ["vm:   [    2.500000] BUG: KASAN: "
                                   "slab-use-after-free in rxe_odp_walk"])

    def test_a_flood_of_splats_still_fails_and_is_cut_short(self):
        # 2,000 lines are far more than a pipe holds: a reader that stops
        # after 20 lines killed the writer (exit 141) and lost the verdict.
        lines = "".join(f"[ {i:6}.000000] WARNING: CPU: 0 PID: 1 at "
                        f"drivers/misc/lkdtm/bugs.c:97 lkdtm_WARNING+0x1d/0x30\n"
                        for i in range(2000))
        status, err = self.run_on(lines, lines)
        self.assertEqual(status, 1)
        self.assertEqual(len(err), 22)
        self.assertTrue(err[0].startswith("vm: kernel splat"))
        self.assertEqual(err[-1], "vm:   ... and 1980 more lines")

    def test_a_splat_in_both_logs_counts_once(self):
        # the console's lines end in CR LF, the saved dmesg's in LF
        line = "[    3.000000] WARNING: CPU: 1 PID: 9 at mm/hmm.c:1 x+0x1/0x2"
        status, err = self.run_on(line + "\n", line + "\r\n")
        self.assertEqual(status, 1)
        self.assertEqual(err[1:], ["vm:   " + line])


if __name__ == "__main__":
    unittest.main()
