#!/usr/bin/python3
"""perftest between two rxe devices on a veth pair across two namespaces.

As a test: ib_write_lat, ib_read_lat, ib_write_bw and ib_read_bw, each
with pinned memory and with --odp, must complete and report finite,
positive figures. As a module: run_perftest() for the benchmarks.
"""

import itertools
import json
import math
import os
import subprocess
import sys
import time

from lib import setup_veth_pair, teardown_net
LAT_TOOLS = ("ib_write_lat", "ib_read_lat", "ib_send_lat")


def wait_listen(server, ns, port, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if server.poll() is not None:
            raise RuntimeError(f"perftest server exited with status {server.returncode}:"
                               f" {server.communicate()[0]}")
        ss = subprocess.run(["ip", "netns", "exec", ns, "ss", "-Hltn",
                             f"sport = :{port}"], stdout=subprocess.PIPE,
                            text=True).stdout
        if ss.strip():
            return
        time.sleep(0.1)
    raise RuntimeError(f"no perftest server on port {port} in {ns}")


def parse_result(tool, output):
    """The figures of perftest's result row, keyed by its column names."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("#bytes") and i + 1 < len(lines):
            # Two-word column names ("BW peak[MB/sec]") collapse to one key.
            header = line.replace(" [", "[").replace("BW peak", "BW_peak")
            header = header.replace("BW average", "BW_average")
            header = header.replace("99% percentile", "p99")
            header = header.replace("99.9% percentile", "p99.9")
            keys = header.split()
            values = lines[i + 1].split()
            if len(values) >= len(keys):
                return {k: float(v) for k, v in zip(keys, values)}
    raise ValueError(f"{tool}: no result row in its output")


# Each run gets its own TCP port: a server just killed may still hold one.
_ports = itertools.count(18601)


# perftest calibrates the CPU clock itself, from a few busy-wait samples
# against gettimeofday(); when a vCPU of the emulated guest is descheduled
# during them, it prints this. A latency tool then takes 0 MHz and reports
# every latency as inf; a bandwidth tool says "Can't produce a report" and
# fails, and its peer fails to exchange data with it. Such a run measured
# nothing: it is run again, up to three runs, and every retried run is
# told. A run that fails for any other reason is not retried.
CALIBRATION_FAILED = "Correlation coefficient r^2"
RUNS_PER_MEASUREMENT = 3


class CalibrationFailed(RuntimeError):
    """A perftest run that failed because its clock calibration did; after
    the last run, with the line of each run that was tried."""

    def __init__(self, message, retried=()):
        super().__init__(message)
        self.retried = list(retried)


def run_perftest(pair, tool, odp=False, size=None, iters=None, extra=()):
    """Runs TOOL between the pair; returns (figures, client output, the
    runs that were retried, one line each)."""
    retried = []
    for run in range(1, RUNS_PER_MEASUREMENT + 1):
        try:
            figures, output = _run_perftest_once(pair, tool, odp, size, iters,
                                                 extra)
        except CalibrationFailed as e:
            retried.append(f"run {run}: clock calibration failed: "
                           f"{failure_gist(str(e))}")
            if run == RUNS_PER_MEASUREMENT:
                raise CalibrationFailed("; ".join(retried), retried) from e
            continue
        if CALIBRATION_FAILED not in output:
            break
        retried.append(f"run {run}: exit 0, clock calibration failed")
        if run == RUNS_PER_MEASUREMENT:
            raise CalibrationFailed("; ".join(retried), retried)
    return figures, output, retried


def _run_perftest_once(pair, tool, odp, size, iters, extra):
    port = str(next(_ports))
    args = ["-p", port]
    if odp:
        args.append("--odp")
    if size is not None:
        args += ["-s", str(size)]
    if iters is not None:
        args += ["-n", str(iters)]
    args += list(extra)
    (dev_a, gid_a), (dev_b, gid_b) = pair["a"], pair["b"]
    ns_a, ns_b = pair["ns"]
    server = subprocess.Popen(
        ["ip", "netns", "exec", ns_b, tool, "-d", dev_b, "-x", gid_b] + args,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_listen(server, ns_b, port)
        client = subprocess.run(
            ["ip", "netns", "exec", ns_a, tool, "-d", dev_a, "-x", gid_a] + args
            + [pair["addr_b"]], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, timeout=600)
        server_out = server.communicate(timeout=60)[0]
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    output = client.stdout
    if client.returncode != 0 or server.returncode != 0:
        failed = (CalibrationFailed if CALIBRATION_FAILED in output + server_out
                  else RuntimeError)
        raise failed(f"{tool} failed (client {client.returncode}, "
                     f"server {server.returncode}):\n{output}\n{server_out}")
    return parse_result(tool, output), output


def failure_gist(problem):
    """The first line of a failure, and the first line of the tools' output
    that says what went wrong, if any."""
    lines = problem.splitlines()
    for line in lines[1:]:
        if any(w in line.lower() for w in ("error", "fail", "couldn't", "unable")):
            return f"{lines[0]} {line.strip()}"
    return lines[0]


def check_figures(tool, figures):
    """Every figure finite and the headline one positive."""
    bad = {k: v for k, v in figures.items() if not math.isfinite(v)}
    if bad:
        return f"non-finite figures {bad}"
    key = "t_avg[usec]" if tool in LAT_TOOLS else "BW_average[MiB/sec]"
    if figures.get(key, 0) <= 0:
        return f"{key} is {figures.get(key)}"
    return None


def main():
    pair = setup_veth_pair(os.environ.get("RXE_HMM_LINK_TYPE", "rxe_hmm"))
    try:
        run_cases(pair)
    finally:
        teardown_net()


def run_cases(pair):
    cases = open(os.environ["RXE_HMM_CASES"], "a")
    for tool in ("ib_write_lat", "ib_read_lat", "ib_write_bw", "ib_read_bw"):
        for odp in (False, True):
            name = f"perftest/{tool}{'-odp' if odp else ''}"
            start = time.monotonic()
            iters = 200 if tool in LAT_TOOLS else 500
            retried = []
            try:
                figures, output, retried = run_perftest(pair, tool, odp=odp,
                                                        iters=iters)
                print(output)
                problem = check_figures(tool, figures)
            except (RuntimeError, ValueError, subprocess.TimeoutExpired) as e:
                problem = str(e)
                # every run failed its calibration: all of them were tries
                retried = getattr(e, "retried", retried)
            result = {"name": name, "status": "fail" if problem else "pass",
                      "seconds": round(time.monotonic() - start, 2)}
            if retried:
                result["retries"] = len(retried)
            if problem:
                # The whole story to the console, its gist to the case.
                print(f"{name}: {problem}", file=sys.stderr)
                result["message"] = failure_gist(problem)
            if retried:
                result["message"] = "; ".join(
                    [result.get("message", "passed")] + retried)
            cases.write(json.dumps(result) + "\n")
            cases.flush()


if __name__ == "__main__":
    main()
