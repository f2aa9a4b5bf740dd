#!/usr/bin/python3
"""Turns the case records of a run into results/check.json and the summary.

The rules, so that a green run means what it says:
- a test that was asked for and left no record fails, and so does a run
  whose guest died or splatted outside any test;
- a skip fails unless tests/expected-skips lists it, with a reason;
- a case of tests/expected-cases that did not run fails, for the tests
  that were asked for (lint, the harness self-tests and the host tests
  always run);
- tests/expected-failures lists tests that document a bug of an upstream
  component, keyed to its version: on that version such a test that fails
  counts as passed and says so, and one that passes counts as failed, so
  that someone looks.
The last line printed is "N passed, N failed, N skipped".
"""

import argparse
import collections
import fnmatch
import json
import os
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPECTED_SKIPS = os.path.join(TOP, "tests", "expected-skips")
EXPECTED_FAILURES = os.path.join(TOP, "tests", "expected-failures")
EXPECTED_CASES = os.path.join(TOP, "tests", "expected-cases")
# Host-side tests: they run in every make check, whatever T= asked for.
ALWAYS = {"lint", "vm-selftest", "host"}


def read_rules(path, fields):
    """The non-comment lines of PATH, each split into FIELDS words, the last
    of which takes the rest of the line and must not be empty."""
    rules = []
    if not os.path.exists(path):
        return rules
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            words = line.split(None, fields - 1)
            if len(words) != fields:
                raise SystemExit(f"{path}:{n}: want {fields} fields: {line}")
            rules.append(words)
    return rules


def read_versions(path):
    """Component versions: the lines "NAME VERSION ..." of PATH."""
    versions = {}
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                words = line.split()
                if len(words) >= 2 and not line.startswith("#"):
                    versions[words[0]] = words[1]
    return versions


def plain_name(c):
    """A case's name without the kernel variant that make check-full puts
    before it ("guest:hmm-tests/..."), for matching the lists."""
    return c["name"].split(":", 1)[1] if "@" in c.get("test", "") else c["name"]


def apply_expected_failures(cases, rules, versions):
    for c in cases:
        for component, version, pattern, reason in rules:
            if versions.get(component) != version or \
                    not fnmatch.fnmatchcase(plain_name(c), pattern):
                continue
            what = f"{component} {version}: {reason}"
            if c["status"] == "fail":
                c["status"] = "pass"
                c["message"] = f"expected failure ({what}); failed as expected: " \
                    + c.get("message", "")
            elif c["status"] == "pass":
                c["status"] = "fail"
                c["message"] = f"expected to fail ({what}) but passed: fixed? " \
                    "update tests/expected-failures"
            break


def apply_expected_skips(cases, rules):
    for c in cases:
        if c["status"] != "skip":
            continue
        for pattern, reason in rules:
            if fnmatch.fnmatchcase(plain_name(c), pattern):
                c["expected"] = reason
                break
        else:
            c["status"] = "fail"
            c["message"] = "unexpected skip (not in tests/expected-skips): " \
                + c.get("message", "")


def missing_expected(cases, expected, tests):
    """Cases for the expected ones that did not run, of the tests run."""
    ran = {c["name"] for c in cases}
    wanted = set(tests) | ALWAYS
    return [{"test": test, "name": name, "status": "fail", "seconds": 0,
             "message": "expected case did not run (tests/expected-cases)"}
            for test, name in expected if test in wanted and name not in ran]


def judge(cases, tests, vm_status, vm_results, skip_rules, failure_rules,
          expected, versions):
    """Applies the rules above to CASES in place; returns the final list."""
    for c in cases:
        # host-side records (lint, the harness self-test) name their test
        # by the first part of the case's name
        c.setdefault("test", c["name"].split("/")[0])
    ran = {c["test"] for c in cases}
    for test in tests:
        if test not in ran:
            cases.append({"test": test, "name": test, "status": "fail", "seconds": 0,
                          "message": f"left no result (guest exit status {vm_status})"})
    # The runner exits 1 for failed cases (an expected failure among them);
    # anything else is the guest's doing.
    runner_failed = any(c["status"] == "fail" for c in cases)
    apply_expected_failures(cases, failure_rules, versions)
    apply_expected_skips(cases, skip_rules)
    cases += missing_expected(cases, expected, tests)
    if vm_status is not None and (
            vm_status not in (0, 1) or (vm_status == 1 and not runner_failed)):
        cases.append({"test": "vm", "name": "vm", "status": "fail", "seconds": 0,
                      "message": f"guest exit status {vm_status}, see "
                      f"{vm_results}/console.log"})
    return cases


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", nargs="+", required=True, help="JSON-lines case files")
    ap.add_argument("--vm-status", type=int, required=True)
    ap.add_argument("--vm-results", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--seconds", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--versions", help="file of 'NAME VERSION ...' lines: the "
                    "pinned inputs used (scripts/deps.sh)")
    ap.add_argument("--tests", nargs="+", required=True,
                    help="the guest tests that were asked for")
    ap.add_argument("--expected-skips", default=EXPECTED_SKIPS)
    ap.add_argument("--expected-failures", default=EXPECTED_FAILURES)
    ap.add_argument("--expected-cases", default=EXPECTED_CASES)
    args = ap.parse_args(argv)

    cases = []
    for path in args.cases:
        if os.path.exists(path):
            with open(path) as f:
                cases += [json.loads(line) for line in f if line.strip()]
    release = open(os.path.join(args.kernel, "release")).read().strip()
    versions = dict(read_versions(args.versions), kernel=release)
    cases = judge(cases, args.tests, args.vm_status, args.vm_results,
                  read_rules(args.expected_skips, 2),
                  read_rules(args.expected_failures, 4),
                  read_rules(args.expected_cases, 2), versions)

    counts = collections.Counter(c["status"] for c in cases)
    report = {"kernel": release, "kernel_build": args.kernel, "versions": versions,
              "seconds": args.seconds, "passed": counts["pass"],
              "failed": counts["fail"], "skipped": counts["skip"],
              "retries": sum(c.get("retries", 0) for c in cases),
              "tests": [{k: c[k] for k in ("test", "name", "status", "seconds",
                                           "message", "expected", "retries")
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
    if report["retries"]:
        print(f"retried runs: {report['retries']} (see the cases' messages)")
    print(f"results: {args.out}, guest log: {args.vm_results}/console.log")
    print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['skip']} skipped")
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
