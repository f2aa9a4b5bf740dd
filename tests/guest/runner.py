#!/usr/bin/python3
"""Runs test scripts inside the guest and records one result per case.

A test is an executable under tests/guest/. It passes with exit status 0,
is skipped with 77 and fails otherwise. A test that runs many cases (the
rdma-core suite, hmm-tests) appends one JSON object per case, with "name",
"status" (pass, fail or skip) and "seconds", to the file named by
$RXE_HMM_CASES; its cases then stand in its place.

Every kernel log record that appears while a test runs is checked against
tests/vm/splat-patterns: a splat fails the test that caused it, and so
do records lost before they could be read. A test runs in a process group
of its own: on its timeout the whole group is killed (servers in the
namespaces too) and the network teardown of tests/guest/lib.sh runs.
With kmemleak in the kernel, a last case scans for leaks.
Results are appended to --out as JSON lines as soon as each test ends, so
that the host still has them when the guest dies later.
"""

import argparse
import errno
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GUEST_TESTS = os.path.join(TOP, "tests", "guest")
KMEMLEAK = "/sys/kernel/debug/kmemleak"
SKIP = 77
# After SIGTERM to a timed-out test's group, this long for its traps.
TERM_GRACE = 10


def splat_regex(path=os.path.join(TOP, "tests", "vm", "splat-patterns")):
    with open(path) as f:
        return re.compile(f.read().strip())


class Kmsg:
    """Collects the kernel's log records from /dev/kmsg in a thread of its
    own, so that a test that logs a lot does not overflow the ring before
    they are read."""

    def __init__(self, path="/dev/kmsg"):
        self.path = path
        self.fd = os.open(path, os.O_RDONLY)
        self.lock = threading.Lock()
        self.lines = []
        self.lost = 0
        self.last_user = ""
        threading.Thread(target=self._read, daemon=True).start()
        # What the kernel logged from boot until now: a fresh open reads
        # from the first record in the ring, and a marker written now
        # ends the boot's part.
        self.boot, self.boot_lost = self.take()

    def _read(self):
        while True:
            try:
                rec = os.read(self.fd, 8192)
            except OSError as e:
                if e.errno != errno.EPIPE:
                    raise
                # Records were overwritten before we read them.
                with self.lock:
                    self.lost += 1
                continue
            prefix, _, text = rec.decode(errors="replace").partition(";")
            text = text.split("\n", 1)[0]
            with self.lock:
                # Facility 0 is the kernel's; the rest came from userspace.
                if int(prefix.split(",", 1)[0]) >> 3 == 0:
                    self.lines.append(text)
                else:
                    self.last_user = text

    def take(self):
        """The kernel's records since the last call, and how many reads
        found records lost in between. First waits until the reader has
        read a marker written now, so that nothing the test caused is left
        for the next one."""
        marker = f"rxe_hmm-runner: mark {time.monotonic_ns()}"
        with open(self.path, "w") as f:
            f.write(marker + "\n")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with self.lock:
                if self.last_user == marker:
                    break
            time.sleep(0.02)
        with self.lock:
            lines, self.lines = self.lines, []
            lost, self.lost = self.lost, 0
        return lines, lost


def test_name(path):
    rel = os.path.relpath(os.path.abspath(path), GUEST_TESTS)
    if rel.startswith(".."):
        # not under tests/guest/ (the harness self-test's): its file name
        rel = os.path.basename(path)
    return os.path.splitext(rel)[0]


def teardown():
    """What a killed test's own teardown would have done: no namespace,
    link or dummy device of it is left for the next test, nor the swap of
    lib.py's loop_swap()."""
    # each on its own: one that fails does not keep the other from running
    for step in ("teardown_net", "teardown_swap"):
        subprocess.run(["bash", "-c", f'. "{GUEST_TESTS}/lib.sh"; {step}'],
                       stdin=subprocess.DEVNULL, timeout=120, check=False,
                       env=dict(os.environ, RXE_HMM_RDMA_CORE=os.environ.get(
                           "RXE_HMM_RDMA_CORE", "/nonexistent")))


def run_child(cmd, env, timeout):
    """Runs CMD in a process group of its own; returns (status, why). On
    timeout the group gets SIGTERM, then SIGKILL after TERM_GRACE."""
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        return proc.wait(timeout=timeout), None
    except subprocess.TimeoutExpired:
        pass
    for sig, grace in ((signal.SIGTERM, TERM_GRACE), (signal.SIGKILL, 30)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
            # the leader is gone; its group may not be
            os.killpg(proc.pid, signal.SIGKILL)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            pass
        if proc.returncode is not None:
            break
    return -1, f"timed out after {timeout}s; its process group was killed"


def run_one(path, timeout, kmsg, splat, do_teardown=teardown):
    name = test_name(path)
    with tempfile.NamedTemporaryFile("r", prefix="cases.", dir="/tmp") as cases:
        env = dict(os.environ, RXE_HMM_CASES=cases.name)
        start = time.monotonic()
        print(f"---- {name} (timeout {timeout}s)", flush=True)
        status, why = run_child([path], env, timeout)
        timed_out = why is not None
        if timed_out:
            do_teardown()
        else:
            why = f"exit status {status}"
        seconds = round(time.monotonic() - start, 2)
        results = [json.loads(line) for line in cases if line.strip()]

    if results:
        # a timeout is a failure of its own, whatever failed before it
        if timed_out or (status != 0 and
                         all(r["status"] != "fail" for r in results)):
            results.append({"name": name, "status": "fail", "seconds": seconds,
                            "message": why})
    else:
        result = "pass" if status == 0 else "skip" if status == SKIP else "fail"
        results = [{"name": name, "status": result, "seconds": seconds}]
        if result == "fail":
            results[0]["message"] = why
        elif result == "skip":
            results[0]["message"] = "the test exited 77"

    lines, lost = kmsg.take()
    splats = [line for line in lines if splat.search(line)]
    if splats:
        print(f"{name}: kernel splat:", *splats[:10], sep="\n  ", flush=True)
        results.append({"name": f"{name}: kernel splat", "status": "fail",
                        "seconds": 0, "message": splats[0]})
    if lost:
        results.append({"name": f"{name}: kernel log", "status": "fail",
                        "seconds": 0, "message": "kernel log records were "
                        "overwritten before they were read: a splat may be "
                        "missing"})
    return results


def boot_case(kmsg, splat, first):
    """Case boot/before-FIRST/no-splat, FIRST the boot's first test: the
    kernel's log from boot to the runner's start. A splat there belongs to no test, yet must fail the run, and
    be named: under KASAN, which reports once a boot (unless booted with
    kasan_multi_shot), it would also hide the report a test expects."""
    splats = [line for line in kmsg.boot if splat.search(line)]
    r = {"name": f"boot/before-{first}/no-splat", "status": "pass", "seconds": 0}
    if splats:
        print("boot: kernel splat:", *splats[:10], sep="\n  ", flush=True)
        r.update(status="fail", message=splats[0])
    elif kmsg.boot_lost:
        r.update(status="fail", message="boot log records were overwritten "
                 "before they were read: a splat may be missing")
    return r


def kernel_config_has(option):
    config = os.path.join(os.environ.get("RXE_HMM_KERNEL", "/nonexistent"), "obj",
                          ".config")
    return os.path.exists(config) and f"{option}=y\n" in open(config)


def kmemleak_case():
    """A scan for leaks, when the kernel has kmemleak; None without it."""
    if not os.path.exists(KMEMLEAK):
        if kernel_config_has("CONFIG_DEBUG_KMEMLEAK"):
            return {"name": "kmemleak", "status": "fail", "seconds": 0,
                    "message": f"the kernel has kmemleak, but no {KMEMLEAK}"}
        return None
    start = time.monotonic()
    case = {"name": "kmemleak", "status": "pass"}
    try:
        # Two scans: an object must look unreferenced in both to be reported.
        for _ in range(2):
            with open(KMEMLEAK, "w") as f:
                f.write("scan\n")
        with open(KMEMLEAK) as f:
            report = f.read()
    except OSError as e:
        # kmemleak turns itself off when it runs out of its own memory
        report = ""
        case.update(status="fail", message=f"kmemleak could not scan: {e}")
    case["seconds"] = round(time.monotonic() - start, 2)
    if report.strip():
        print(report, flush=True)
        objects = report.count("unreferenced object")
        case.update(status="fail", message=f"{objects} unreferenced objects: "
                    + " / ".join(report.strip().splitlines()[:6]))
    return case


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="JSON-lines result file")
    ap.add_argument("--timeout", type=int, default=900,
                    help="seconds a test may take, when --timeouts does not say")
    ap.add_argument("--timeouts", help="file of 'TEST SECONDS' lines (tests/suite)")
    ap.add_argument("--tag", help="the kernel variant of this boot (make "
                    "check-full): tests are named TEST@TAG, cases TAG:NAME")
    ap.add_argument("--no-leak-scan", action="store_true",
                    help="no kmemleak scan after the last test")
    ap.add_argument("tests", nargs="+")
    args = ap.parse_args()

    timeouts = {}
    if args.timeouts:
        with open(args.timeouts) as f:
            for line in f:
                words = line.split()
                if len(words) >= 2 and not line.startswith("#"):
                    timeouts[words[0]] = int(words[1])
    kmsg = Kmsg()
    splat = splat_regex()
    failed = 0
    with open(args.out, "a") as out:
        def record(r, test):
            nonlocal failed
            r.setdefault("test", test)
            if args.tag:
                r["test"] = f"{r['test']}@{args.tag}"
                r["name"] = f"{args.tag}:{r['name']}"
            out.write(json.dumps(r) + "\n")
            out.flush()
            failed += r["status"] == "fail"
            print(f"{r['status'].upper():4}  {r['name']}  ({r['seconds']}s)"
                  + (f"  {r['message']}" if "message" in r else ""), flush=True)

        first = test_name(args.tests[0])
        # under the first test: a missing one then fails its expected cases
        record(boot_case(kmsg, splat, first), first)
        for path in args.tests:
            name = test_name(path)
            for r in run_one(path, timeouts.get(name, args.timeout), kmsg, splat):
                record(r, name)
        leaks = None if args.no_leak_scan else kmemleak_case()
        if leaks:
            record(leaks, "kmemleak")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
