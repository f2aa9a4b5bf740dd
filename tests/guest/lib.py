"""Python side of lib.sh: the same network setup, for the python tests."""

import contextlib
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# The runner ends a timed-out test with SIGTERM to its process group: exit
# through the tests' finally clauses, which tear down what they set up.
signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(128 + sig))

# As lib.sh does: rdma-core's and perftest's programs come first.
os.environ["PATH"] = ":".join(
    [os.path.join(os.environ["RXE_HMM_RDMA_CORE"], "bin")]
    + ([os.environ["RXE_HMM_PERFTEST"]] if os.environ.get("RXE_HMM_PERFTEST") else [])
    + [os.environ["PATH"]])


def lib_sh(script, env=None):
    """Runs SCRIPT (bash) after sourcing lib.sh, with ENV (a dict) added to
    the environment; returns its stdout's words."""
    return subprocess.run(["bash", "-c", f'. "{HERE}/lib.sh"; {script}'],
                          check=True, stdout=subprocess.PIPE, text=True,
                          env=dict(os.environ, **(env or {}))).stdout.split()


def setup_veth_pair(link_type, ns=("a", "b"), nets=("198.18.0.1", "198.18.0.2")):
    """lib.sh's setup_veth_pair in namespaces NS with addresses NETS;
    returns its devices, GID indices and namespaces."""
    env = {"NS_A": ns[0], "NS_B": ns[1], "NET_A": nets[0], "NET_B": nets[1]}
    out = lib_sh(f'load_link_module {link_type}; setup_veth_pair {link_type} >&2;'
                 ' echo "$DEV_A $GID_A $DEV_B $GID_B $NET_B"', env)
    return {"a": (out[0], out[1]), "b": (out[2], out[3]), "addr_b": out[4],
            "ns": ns}


def setup_loopback(link_type):
    """lib.sh's setup_loopback; returns the device's name and its GID
    index."""
    dev, gid = lib_sh(f'load_link_module {link_type}; setup_loopback {link_type} >&2;'
                      ' echo "$DEV_LO $GID_LO"')
    return dev, gid


def teardown_net(ns=("a", "b")):
    """lib.sh's teardown_net, for the pair in namespaces NS too."""
    lib_sh("teardown_net", {"NS_A": ns[0], "NS_B": ns[1]})


# rxe_hmm's debug knob for its migration path (debugfs); writable only when
# the kernel has our mm series (the unified walk), else read-only and Y.
TWO_STEP = "/sys/kernel/debug/rxe_hmm/migrate_two_step"


def write_sysfs(path, value):
    """Writes VALUE to the sysfs or debugfs file PATH."""
    with open(path, "w") as f:
        f.write(value)


@contextlib.contextmanager
def loop_swap(mb=64):
    """lib.sh's setup_swap, while the block runs, then its teardown_swap;
    yields the device."""
    dev = lib_sh(f"setup_swap {mb}")[0]
    try:
        yield dev
    finally:
        lib_sh("teardown_swap")


def has_unified_walk():
    """Whether rxe_hmm was built with the mm series' one-walk migration."""
    return bool(os.stat(TWO_STEP).st_mode & stat.S_IWUSR)


TAP = re.compile(r"^(not ok|ok) \d+ (\S+)(?: # (SKIP|XFAIL)?\s*(.*))?")


def record_case(name, status, seconds=0, message="", path=None):
    """lib.sh's record_case: appends one case to PATH, by default
    $RXE_HMM_CASES."""
    case = {"name": name, "status": status, "seconds": seconds}
    if message:
        case["message"] = message
    with open(path or os.environ["RXE_HMM_CASES"], "a") as cases:
        cases.write(json.dumps(case) + "\n")


def run_tap(cmd, prefix, env=None, cases=None):
    """Runs a kselftest-harness program; each TAP result becomes a case
    PREFIX/NAME in CASES (default $RXE_HMM_CASES). Returns the program's exit status, or 1
    when it reported no test at all."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    start = time.monotonic()
    seen = 0
    for line in proc.stdout:
        print(line, end="", flush=True)
        if line.startswith("#  RUN"):
            start = time.monotonic()
        m = TAP.match(line)
        if not m:
            continue
        seen += 1
        status = "fail" if m.group(1) == "not ok" else \
            "skip" if m.group(3) == "SKIP" else "pass"
        record_case(f"{prefix}/{m.group(2)}", status,
                    round(time.monotonic() - start, 3), m.group(4) or "", cases)
    status = proc.wait()
    if seen == 0:
        print(f"{cmd[0]} reported no test", file=sys.stderr)
        return 1
    return status


def read_baseline(path):
    """Maps each case name of a baseline file (tests/baseline/) to its
    status there."""
    base = {}
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                status, name = line.split()[:2]
                base[name] = status
    return base


def against_baseline(cases, base, what):
    """Judges CASES (dicts) against a baseline BASE (read_baseline) named
    WHAT: a case that passed there and does not pass here fails, and so
    does a baseline case that did not run. Returns the judged cases."""
    ran = set()
    for c in cases:
        ran.add(c["name"])
        if base.get(c["name"]) == "pass" and c["status"] != "pass":
            c["status"] = "fail"
            c["message"] = f"passes in {what}; here: {c.get('message', '')}"
    return cases + [{"name": name, "status": "fail", "seconds": 0,
                     "message": f"in {what}, did not run here"}
                    for name in sorted(base) if name not in ran]


# The scenarios of tests/odp/odp_test that show the bugs that
# kernel/patches/upstream/ fixes in upstream rxe, by the patch that fixes
# each: rxe_odp_cases() runs them against one rdma_rxe build.
UPSTREAM_RXE_CASES = [
    # 0001: the ODP copy ignores the offset in the page
    "odp.explicit.unaligned_write_read",
    # 0002: the ODP paths take the iova for a user address; on stock
    # rdma_rxe its verdict is a KASAN report (upstream-rxe-kasan)
    "odp.explicit_iova.unaligned_write_read",
    "odp.explicit_iova.atomics",
    # 0003: an iova range that wraps past 2^64 is accepted; one that ends
    # at 2^64 is not refused (on rdma_rxe_fixed only: on stock, 0002's
    # bug sends its access wild, wherever the iova leads)
    "bad.reg_iova_wraps",
    "bad.reg_iova_ends_at_top",
    # 0004: a failed send wqe completes as a flush
    "bad.local_sge_unmapped",
    # 0006: a prefetch takes a pinned MR for an ODP one; on stock
    # rdma_rxe its verdict is a KASAN report (upstream-rxe-kasan-prefetch)
    "bad.advise_pinned_mr",
    # 0007 (the core's umem_odp.c, in the test kernel): RDMA writes after
    # MADV_FREE lost to reclaim (on rdma_rxe_fixed only: on stock, 0001's
    # bug garbles the pages before reclaim can lose them; make check-full's
    # upstream-rxe-core shows 0007's bug on a kernel without it)
    "odp.explicit.write_after_madv_free_survives_pageout",
    # 0008: a FLUSH of a whole MR cuts its length to 32 bits
    "flush.whole_mr_past_4g",
    # 0009: the ODP fault takes an int length: an ODP MR of 2 GiB fails
    # to register, and a prefetch of as much fails
    "global.odp_mr_past_2g",
]

# Cases that only guard a fix: not run on stock rdma_rxe.
UPSTREAM_RXE_FIXED_ONLY = {"bad.reg_iova_ends_at_top",
                           "odp.explicit.write_after_madv_free_survives_pageout"}

# The cases whose verdict on stock rdma_rxe is a KASAN report, by the test
# that runs them there in a boot of its own, and the functions KASAN names.
UPSTREAM_RXE_KASAN_CASES = {
    "upstream-rxe-kasan": ["odp.explicit_iova.unaligned_write_read",
                           "odp.explicit_iova.atomics"],
    "upstream-rxe-kasan-prefetch": ["bad.advise_pinned_mr"],
}
KASAN_IN = {
    "upstream-rxe-kasan": ["rxe_odp_map_range_and_lock"],
    "upstream-rxe-kasan-prefetch": ["ib_umem_odp_map_dma_and_lock"],
}


def kasan_verdict(test):
    """Runs the cases of UPSTREAM_RXE_KASAN_CASES[TEST] on stock
    rdma_rxe, in a boot of its own, and judges the kernel log: case
    TEST/rdma_rxe/no-kasan-report-in-rxe fails when KASAN reported a bad
    access in one of KASAN_IN[TEST], and TEST/rdma_rxe/no-other-splat
    when anything else splatted. (The runner fails the boot's splat as a
    whole; tests/expected-failures expects that, and this names it.)
    Returns 0 when every case passed."""
    if os.environ.get("RXE_HMM_LINK_TYPE", "rxe_hmm") != "rxe_hmm":
        print("rdma_rxe against its fixes: not a test of a link type")
        return 77
    status = rxe_odp_cases("rdma_rxe", test, UPSTREAM_RXE_KASAN_CASES[test])
    log = subprocess.run(["dmesg", "--kernel", "--notime"], check=True,
                         stdout=subprocess.PIPE, text=True).stdout.splitlines()
    from runner import splat_regex  # the runner's own patterns
    splat = splat_regex()
    expected = re.compile(r"BUG: KASAN: \S+ in (%s)\+" % "|".join(KASAN_IN[test]))
    splats = [line for line in log if splat.search(line)]
    reports = [line for line in splats if expected.search(line)]
    others = [line for line in splats if not expected.search(line)]
    record_case(f"{test}/rdma_rxe/no-kasan-report-in-rxe",
                "fail" if reports else "pass", message=reports[0] if reports else "")
    record_case(f"{test}/rdma_rxe/no-other-splat", "fail" if others else "pass",
                message=others[0] if others else "")
    return status


def rxe_odp_cases(module, prefix, cases):
    """Loads MODULE (rdma_rxe or rdma_rxe_fixed, which both serve link
    type rxe), runs the odp_test CASES on a loopback rxe link of it, each
    recorded as PREFIX/MODULE/CASE, and unloads MODULE again, so that the
    other build can load: they may not be loaded together. Whatever goes
    wrong around the cases (setup, a case that reports nothing, unloading)
    fails PREFIX/MODULE/run, so that expected failures of the cases cannot
    hide it. Returns 0 when every case passed."""
    problems = []
    cases_file = os.environ["RXE_HMM_CASES"]
    before = sum(1 for _ in open(cases_file)) if os.path.exists(cases_file) else 0
    status = 1
    try:
        gid = lib_sh("load_link_module rxe; setup_dummy rxe rxe_lo dummy_lo 198.18.1.1",
                     {"RXE_HMM_RXE_MODULE": module})[0]
        env = dict(os.environ, RXE_HMM_DEV="rxe_lo", RXE_HMM_GID=gid)
        cmd = [os.path.join(os.environ["RXE_HMM_TESTS"], "odp_test")]
        for c in cases:
            cmd += ["-r", c]
        status = run_tap(cmd, f"{prefix}/{module}", env=env)
        ran = sum(1 for _ in open(cases_file)) - before
        if ran != len(cases):
            problems.append(f"{ran} of {len(cases)} cases reported")
    except (subprocess.CalledProcessError, OSError, IndexError) as e:
        problems.append(f"setup: {e}")
    finally:
        try:
            teardown_net()
            if os.path.isdir(f"/sys/module/{module}"):
                subprocess.run(["modprobe", "-r", module], check=True)
        except (subprocess.CalledProcessError, OSError) as e:
            problems.append(f"teardown: {e}")
    record_case(f"{prefix}/{module}/run", "fail" if problems else "pass",
                message="; ".join(problems))
    return 1 if problems else status
