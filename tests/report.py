#!/usr/bin/python3
"""Turns the guest's case records into results/check.json and the summary.

A test that left no record (the guest died or timed out first) fails, and
so does a run whose guest splatted outside any test. The last line printed
is "N passed, N failed, N skipped".
"""

import argparse
import collections
import json
import os
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", nargs="+", required=True, help="JSON-lines case files")
    ap.add_argument("--vm-status", type=int, required=True)
    ap.add_argument("--vm-results", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--seconds", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tests", nargs="+", required=True,
                    help="the guest tests that were asked for")
    args = ap.parse_args()

    cases = []
    for path in args.cases:
        if os.path.exists(path):
            with open(path) as f:
                cases += [json.loads(line) for line in f if line.strip()]
    for c in cases:
        # host-side records (lint, the harness self-test) name their test
        # by the first part of the case's name
        c.setdefault("test", c["name"].split("/")[0])
    ran = {c["test"] for c in cases}
    for test in args.tests:
        if test not in ran:
            cases.append({"test": test, "name": test, "status": "fail", "seconds": 0,
                          "message": f"left no result (guest exit status {args.vm_status})"})
    # The runner exits 1 for failed cases; anything else is the guest's doing.
    if args.vm_status not in (0, 1) or (args.vm_status == 1 and
                                        all(c["status"] != "fail" for c in cases)):
        cases.append({"test": "vm", "name": "vm", "status": "fail", "seconds": 0,
                      "message": f"guest exit status {args.vm_status}, see "
                      f"{args.vm_results}/console.log"})

    counts = collections.Counter(c["status"] for c in cases)
    release = open(os.path.join(args.kernel, "release")).read().strip()
    report = {"kernel": release, "kernel_build": args.kernel, "seconds": args.seconds,
              "passed": counts["pass"], "failed": counts["fail"],
              "skipped": counts["skip"],
              "tests": [{k: c[k] for k in ("name", "status", "seconds", "message")
                         if k in c} for c in cases]}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")

    for c in cases:
        if c["status"] == "fail":
            print(f"FAIL  {c['name']}: {c.get('message', '')}")
    per_test = collections.defaultdict(collections.Counter)
    for c in cases:
        per_test[c["test"]][c["status"]] += 1
    for test, n in per_test.items():
        print(f"{test}: {n['pass']} passed, {n['fail']} failed, {n['skip']} skipped")
    print(f"results: {args.out}, guest log: {args.vm_results}/console.log")
    print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped")
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
