#!/usr/bin/python3
"""Runs test scripts inside the guest and records one result per case.

A test is an executable under tests/guest/. It passes with exit status 0,
is skipped with 77 and fails otherwise. A test that runs many cases (the
rdma-core suite, hmm-tests) appends one JSON object per case, with "name",
"status" (pass, fail or skip) and "seconds", to the file named by
$RXE_HMM_CASES; its cases then stand in its place.

Every kernel log record a test produces is checked against
tests/vm/splat-patterns: a splat fails the test that caused it.
Results are appended to --out as JSON lines as soon as each test ends, so
that the host still has them when the guest dies later.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GUEST_TESTS = os.path.join(TOP, "tests", "guest")
SKIP = 77


def splat_regex():
    with open(os.path.join(TOP, "tests", "vm", "splat-patterns")) as f:
        return re.compile(f.read().strip())


class Kmsg:
    """Reads the kernel's log records that appeared since the last read."""

    def __init__(self):
        self.fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
        os.lseek(self.fd, 0, os.SEEK_END)

    def new_lines(self):
        lines = []
        while True:
            try:
                rec = os.read(self.fd, 8192)
            except BlockingIOError:
                return lines
            except BrokenPipeError:
                # Records were overwritten before we read them; go on.
                continue
            prefix, _, text = rec.decode(errors="replace").partition(";")
            # Facility 0 is the kernel's; the rest came from userspace.
            if int(prefix.split(",", 1)[0]) >> 3 == 0:
                lines.append(text.split("\n", 1)[0])


def test_name(path):
    rel = os.path.relpath(os.path.abspath(path), GUEST_TESTS)
    return os.path.splitext(rel)[0]


def run_one(path, timeout, kmsg, splat):
    name = test_name(path)
    with tempfile.NamedTemporaryFile("r", prefix="cases.", dir="/tmp") as cases:
        env = dict(os.environ, RXE_HMM_CASES=cases.name)
        start = time.monotonic()
        print(f"---- {name}", flush=True)
        try:
            status = subprocess.run([path], env=env, timeout=timeout,
                                    stdin=subprocess.DEVNULL).returncode
            why = f"exit status {status}"
        except subprocess.TimeoutExpired:
            status, why = -1, f"timed out after {timeout}s"
        seconds = round(time.monotonic() - start, 2)
        results = [json.loads(line) for line in cases if line.strip()]

    if results:
        if status != 0 and all(r["status"] != "fail" for r in results):
            results.append({"name": name, "status": "fail", "seconds": seconds,
                            "message": why})
    else:
        result = "pass" if status == 0 else "skip" if status == SKIP else "fail"
        results = [{"name": name, "status": result, "seconds": seconds}]
        if result == "fail":
            results[0]["message"] = why

    splats = [line for line in kmsg.new_lines() if splat.search(line)]
    if splats:
        print(f"{name}: kernel splat:", *splats[:10], sep="\n  ", flush=True)
        results.append({"name": f"{name}: kernel splat", "status": "fail",
                        "seconds": 0, "message": splats[0]})
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="JSON-lines result file")
    ap.add_argument("--timeout", type=int, default=1800,
                    help="seconds one test may take")
    ap.add_argument("tests", nargs="+")
    args = ap.parse_args()

    kmsg = Kmsg()
    splat = splat_regex()
    failed = 0
    with open(args.out, "a") as out:
        for path in args.tests:
            for r in run_one(path, args.timeout, kmsg, splat):
                r.setdefault("test", test_name(path))
                out.write(json.dumps(r) + "\n")
                out.flush()
                failed += r["status"] == "fail"
                print(f"{r['status'].upper():4}  {r['name']}  ({r['seconds']}s)"
                      + (f"  {r['message']}" if "message" in r else ""),
                      flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
