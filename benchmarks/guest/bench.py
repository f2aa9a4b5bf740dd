#!/usr/bin/python3
"""The benchmark set, in one boot of the benchmark guest.

Runs in the guest (see benchmarks/run). Sets up two veth pairs, each in
its own two network namespaces: rxe_hmm devices on one (a-b), upstream
rdma_rxe devices on the other (c-d: rdma_rxe_fixed.ko, upstream's with
the fixes of kernel/patches/upstream/, unless RXE_HMM_BENCH_RDMA_RXE says
rdma_rxe); both stay up for the whole run, and
every part measures what it compares side by side, in a balanced order.

Parts (RXE_HMM_BENCH_PARTS, comma separated; all by default):

  fault       benchmarks/src/fault_migrate_lat: one RDMA write (or read)
              into non-resident target memory, per mode: pinned MR, ODP
              fault only, fault-and-migrate two-step and unified (our mm
              series), and upstream rdma_rxe ODP.
  perftest    ib_*_lat and ib_*_bw, pinned and --odp, on rdma_rxe and on
              rxe_hmm with migrate_policy off and on-fault; cold (first
              touch) and steady state.
  invalidate  benchmarks/src/invalidate_lat: MADV_DONTNEED under traffic
              on a buffer that N = 1, 2, 4, 8 MRs cover, rxe_hmm's two-pass
              invalidation against its invalidate_one_pass debug knob.
  walk        our mm series alone (hmm_walk.py): lib/test_hmm migrates a
              range with the unified walk and with hmm_range_fault() then
              migrate_vma_setup(), timed in the kernel.

The modes of one comparison run in the order of a Williams design
(order.py), repeat r taking its row r: fault and perftest over all their
modes, invalidate and walk over their two (ABBA). bench.json's "order"
says, per part, the design, the rows it needs to balance positions and
neighbours, and the sequence each repeat ran.

RXE_HMM_BENCH_SET is "default" (what make run runs: a few minutes),
"full" (make bench) or "smoke" (the test of this script); RXE_HMM_REPEATS
overrides the set's repeats (a multiple of the designs' rows balances
them: 10 for 5 modes, 4 for 4, 2 for 2). Writes
everything, every sample included, to $RXE_HMM_RESULTS/bench.json;
benchmarks/report.py on the host turns it into tables and plots.
"""

import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "guest"))
import hmm_walk  # noqa: E402
import lib  # noqa: E402  (tests/guest/lib.py)
import order  # noqa: E402
import perftest  # noqa: E402  (tests/guest/perftest.py)

# rxe_hmm's debug knobs
KNOBS = "/sys/kernel/debug/rxe_hmm"
KiB, MiB = 1 << 10, 1 << 20

# What each set runs. Iterations are per run of a tool; every run is
# repeated, the modes of one comparison in the order of a Williams design
# (order.py), a row per repeat.
SETS = {
    "default": {
        "repeats": 3,
        "fault_ops": ("write",),
        "fault_sizes": ((4 * KiB, 40), (64 * KiB, 20), (2 * MiB, 6)),
        "fault_touch": False,
        "perftest_tools": (("ib_write_lat", 8, 500), ("ib_read_lat", 8, 500),
                           ("ib_write_bw", 64 * KiB, 500)),
        "invalidate_nmrs": (1, 2, 4, 8),
        "invalidate_delays": (0, 1),
        "invalidate_iters": 20,
    },
    # tests/guest/benchmarks.py: every part and mode, once, briefly
    "smoke": {
        "repeats": 1,
        "fault_ops": ("write", "read"),
        "fault_sizes": ((4 * KiB, 3),),
        "fault_touch": True,
        "perftest_tools": (("ib_write_lat", 8, 50), ("ib_write_bw", 64 * KiB, 50)),
        "invalidate_nmrs": (1, 2),
        "invalidate_delays": (0,),
        "invalidate_iters": 5,
    },
    "full": {
        "repeats": 5,
        "fault_ops": ("write", "read"),
        "fault_sizes": ((4 * KiB, 100), (64 * KiB, 50), (2 * MiB, 12)),
        "fault_touch": True,
        "perftest_tools": (("ib_write_lat", 8, 2000), ("ib_read_lat", 8, 2000),
                           ("ib_send_lat", 8, 2000),
                           ("ib_write_bw", 64 * KiB, 2000),
                           ("ib_read_bw", 64 * KiB, 2000)),
        "invalidate_nmrs": (1, 2, 4, 8),
        "invalidate_delays": (0, 1),
        "invalidate_iters": 50,
    },
}

# The build behind the rdma_rxe pair: upstream's rdma_rxe with the fixes
# of kernel/patches/upstream/ by default, whose ODP moves the right bytes;
# RXE_HMM_BENCH_RDMA_RXE=rdma_rxe for the kernel's own, whose ODP does not.
RDMA_RXE = os.environ.get("RXE_HMM_BENCH_RDMA_RXE", "rdma_rxe_fixed")

# the pairs: (link type, namespaces, addresses)
PAIRS = {
    "rxe_hmm": ("rxe_hmm", ("a", "b"), ("198.18.0.1", "198.18.0.2")),
    "rdma_rxe": ("rxe", ("c", "d"), ("198.18.4.1", "198.18.4.2")),
}


def write_knob(name, value):
    lib.write_sysfs(os.path.join(KNOBS, name), value)


def set_policy(pair, policy, sides=("b",)):
    """migrate_policy of the pair's devices on SIDES (the target, b, by
    default), for the MRs registered from now on."""
    for side in sides:
        lib.write_sysfs(f"/sys/class/infiniband/{pair[side][0]}/migrate_policy", policy)


def start_order(orders, part, names, repeats, design="Williams"):
    """ORDERS[PART]: the order record of a part's comparison of NAMES
    (order.record()); says when REPEATS leave the design unbalanced."""
    orders[part] = rec = order.record(names, design)
    if repeats % rec["rows"]:
        print(f"{part}: {repeats} repeat{'s' if repeats > 1 else ''} leave positions "
              f"and neighbours unbalanced: the {design} design for {len(names)} modes "
              f"needs a multiple of {rec['rows']}", flush=True)
    return rec


def tool_env(pair):
    return dict(os.environ, RXE_HMM_DEV=pair["a"][0], RXE_HMM_GID=pair["a"][1],
                RXE_HMM_DEV_B=pair["b"][0], RXE_HMM_GID_B=pair["b"][1])


# fault_migrate_lat's exit status when the bytes moved were wrong
DATA_WRONG = 3


def run_tool(pair, args, wrong_data_ok=False):
    """Runs one of benchmarks/src/ against PAIR; its JSON output. With
    WRONG_DATA_OK, a run whose data check failed is recorded, not fatal."""
    proc = subprocess.run([os.path.join(os.environ["RXE_HMM_TESTS"], args[0])]
                          + [str(a) for a in args[1:]], env=tool_env(pair),
                          stdout=subprocess.PIPE, text=True, timeout=600)
    if proc.returncode and not (wrong_data_ok and proc.returncode == DATA_WRONG):
        raise subprocess.CalledProcessError(proc.returncode, proc.args, proc.stdout)
    return json.loads(proc.stdout)


def fault_modes(pairs):
    """(name, pair, policy, two_step, pinned) of each fault mode."""
    modes = [("pinned", "rxe_hmm", None, None, True),
             ("rdma_rxe odp", "rdma_rxe", None, None, False),
             ("odp fault", "rxe_hmm", "off", None, False),
             ("two-step", "rxe_hmm", "on-fault", "Y", False)]
    if lib.has_unified_walk():
        modes.append(("unified", "rxe_hmm", "on-fault", "N", False))
    return modes


def part_fault(cfg, pairs, repeats, orders):
    samples = []
    modes = fault_modes(pairs)
    rec = start_order(orders, "fault", [m[0] for m in modes], repeats)
    cases = [(op, size, iters, "dontneed") for op in cfg["fault_ops"]
             for size, iters in cfg["fault_sizes"]]
    if cfg["fault_touch"]:
        # only pages in device memory leave on a CPU write
        cases += [(op, size, iters, "touch") for op in cfg["fault_ops"]
                  for size, iters in cfg["fault_sizes"]]

    def one(mode, op, size, iters, drop):
        name, pair, policy, two_step, pinned = mode
        if policy:
            set_policy(pairs[pair], policy)
        if two_step and lib.has_unified_walk():
            write_knob("migrate_two_step", two_step)
        args = ["fault_migrate_lat"] + (["-P"] if pinned else []) \
            + (["-r"] if op == "read" else []) + (["-t"] if drop == "touch" else []) \
            + [size, iters]
        # stock rdma_rxe 7.3.4 gets ODP data wrong: measured, and said
        return run_tool(pairs[pair], args,
                        wrong_data_ok=(pair == "rdma_rxe" and RDMA_RXE == "rdma_rxe"))

    try:
        # one unmeasured round, so that no mode pays for warm-up
        for op, size, _, drop in cases:
            for mode in modes:
                if drop == "touch" and mode[2] != "on-fault":
                    continue
                one(mode, op, size, 2, drop)
        for rep in range(repeats):
            # every case runs the repeat's sequence; a CPU write's cases
            # the on-fault modes of it, in its order
            seq = order.sequence(modes, rep)
            rec["repeats"].append([m[0] for m in seq])
            for op, size, iters, drop in cases:
                for mode in seq:
                    if drop == "touch" and mode[2] != "on-fault":
                        continue
                    out = one(mode, op, size, iters, drop)
                    samples.append(dict(mode=mode[0], op=op, size=size, drop=drop,
                                        rep=rep, **out))
            print(f"fault: repeat {rep + 1} of {repeats} done", flush=True)
    finally:
        # what the module had: later tests in the same guest see its default
        if lib.has_unified_walk():
            write_knob("migrate_two_step", "N")
        set_policy(pairs["rxe_hmm"], "off")
    return samples


UNSORTED = re.compile(r"^(\d+), ([0-9.eE+-]+)$")


def perftest_targets():
    """(name, pair, policy, odp) of each perftest target; target_label()
    tells them apart."""
    return [("rdma_rxe", "rdma_rxe", None, False),
            ("rxe_hmm", "rxe_hmm", "off", False),
            ("rdma_rxe", "rdma_rxe", None, True),
            ("rxe_hmm off", "rxe_hmm", "off", True),
            ("rxe_hmm on-fault", "rxe_hmm", "on-fault", True)]


def target_label(target):
    return f"{target[0]}{' --odp' if target[3] else ''}"


def perftest_once(pairs, target, tool, size, iters):
    """One target's figures for TOOL: [(phase, figures)]. A latency run
    gives both phases: its first iteration (-U lists every one, in order)
    is the cold one, its median the steady state. A bandwidth tool runs
    twice: 8 messages from a fresh process (cold), then ITERS."""
    name, pair, policy, odp = target
    if policy:
        # both ends: perftest registers on either side
        set_policy(pairs[pair], policy, ("a", "b"))
    if tool in perftest.LAT_TOOLS:
        figures, output, _ = perftest.run_perftest(pairs[pair], tool, odp=odp,
                                                   size=size, iters=iters,
                                                   extra=("-U",))
        lat = [float(m.group(2)) for m in map(UNSORTED.match, output.splitlines()) if m]
        # perftest lists ITERS - 1: the time between two iterations' stamps
        if len(lat) != iters - 1:
            raise RuntimeError(f"{tool} -U listed {len(lat)} latencies, not {iters - 1}")
        return [("cold", {"t_first[usec]": lat[0]}),
                ("steady", figures)]
    cold, _, _ = perftest.run_perftest(pairs[pair], tool, odp=odp, size=size, iters=8)
    steady, _, _ = perftest.run_perftest(pairs[pair], tool, odp=odp, size=size,
                                         iters=iters)
    return [("cold", cold), ("steady", steady)]


def part_perftest(cfg, pairs, repeats, orders):
    samples = []
    targets = perftest_targets()
    rec = start_order(orders, "perftest", [target_label(t) for t in targets], repeats)
    for rep in range(repeats):
        # every tool runs the repeat's sequence
        seq = order.sequence(targets, rep)
        rec["repeats"].append([target_label(t) for t in seq])
        for tool, size, iters in cfg["perftest_tools"]:
            for target in seq:
                for phase, figures in perftest_once(pairs, target, tool, size, iters):
                    samples.append(dict(tool=tool, size=size, target=target[0],
                                        odp=target[3], phase=phase, rep=rep,
                                        figures=figures))
        print(f"perftest: repeat {rep + 1} of {repeats} done", flush=True)
    set_policy(pairs["rxe_hmm"], "off", ("a", "b"))
    return samples


def part_invalidate(cfg, pairs, repeats, orders):
    samples = []
    set_policy(pairs["rxe_hmm"], "off")
    # two passes against one, for each (delay, N): AB, BA, with the
    # (delay, N) in reverse order too in odd repeats
    rec = start_order(orders, "invalidate", ["2-pass", "1-pass"], repeats,
                      "ABBA (every delay and N; those in reverse order in odd repeats)")
    configs = [(delay, nmrs, passes) for delay in cfg["invalidate_delays"]
               for nmrs in cfg["invalidate_nmrs"] for passes in (2, 1)]
    try:
        for rep in range(repeats):
            seq = order.sequence(rec["modes"], rep)
            rec["repeats"].append(seq)
            for delay, nmrs, passes in configs[::1 if seq[0] == "2-pass" else -1]:
                write_knob("odp_access_delay_ms", str(delay))
                write_knob("invalidate_one_pass", "Y" if passes == 1 else "N")
                out = run_tool(pairs["rxe_hmm"], ["invalidate_lat", nmrs, 64 * 4096,
                                                  cfg["invalidate_iters"]])
                samples.append(dict(nmrs=nmrs, passes=passes, access_delay_ms=delay,
                                    rep=rep, **out))
            print(f"invalidate: repeat {rep + 1} of {repeats} done", flush=True)
    finally:
        write_knob("odp_access_delay_ms", "0")
        write_knob("invalidate_one_pass", "N")
    return samples


def part_walk(cfg, pairs, repeats, orders):
    if not lib.has_unified_walk():
        print("walk: this kernel lacks the mm series", flush=True)
        return []
    rec = start_order(orders, "walk", [m for m, _ in hmm_walk.MODES], repeats,
                      "ABBA (every case)")
    return hmm_walk.measure(repeats, rec)


PARTS = {"fault": part_fault, "perftest": part_perftest,
         "invalidate": part_invalidate, "walk": part_walk}


def first_line(cmd):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        return None


def read(path):
    with open(path) as f:
        return f.read().strip()


def read_if(path):
    return read(path) if os.path.exists(path) else None


def build_version(path):
    """The package version of a userspace build, from its cache path
    (.../rdma-core/65.0-1.1-HASH/...)."""
    for part in path.split("/"):
        if re.match(r"\d[^-]*-.*-[0-9a-f]{16}$", part):
            return part.rsplit("-", 1)[0]
    return None


def machine():
    """What the numbers were measured on."""
    cpuinfo = read("/proc/cpuinfo")
    model = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.M)
    mhz = re.search(r"^cpu MHz\s*:\s*(.*)$", cpuinfo, re.M)
    return {
        "kernel": platform.release(),
        "kernel_version": read("/proc/version"),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "cpu_model": model.group(1) if model else None,
        "cpu_mhz": float(mhz.group(1)) if mhz else None,
        "clocksource": read("/sys/devices/system/clocksource/clocksource0/"
                            "current_clocksource"),
        "mem_total": read("/proc/meminfo").splitlines()[0].split(":")[1].strip(),
        "qemu": first_line(["qemu-system-x86_64", "--version"]),
        # tests/vm/run says which accelerator it chose
        "accel": read_if(os.path.join(os.environ["RXE_HMM_RESULTS"], "accel")),
        "rdma_core": build_version(os.environ.get("RXE_HMM_RDMA_CORE", "")),
        "perftest": build_version(os.environ.get("RXE_HMM_PERFTEST", "")),
        "mm_series": lib.has_unified_walk(),
        "commit": os.environ.get("RXE_HMM_COMMIT"),
    }


def main():
    set_name = os.environ.get("RXE_HMM_BENCH_SET", "default")
    cfg = SETS[set_name]
    repeats = int(os.environ.get("RXE_HMM_REPEATS", cfg["repeats"]))
    parts = (os.environ.get("RXE_HMM_BENCH_PARTS") or ",".join(PARTS)).split(",")
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise SystemExit(f"unknown benchmark parts {sorted(unknown)}; "
                         f"there are {list(PARTS)}")
    result = {"set": set_name, "repeats": repeats, "parts": parts,
              "rdma_rxe_module": RDMA_RXE,
              "started": datetime.datetime.now(datetime.timezone.utc).isoformat()}
    pairs = {}
    os.environ["RXE_HMM_RXE_MODULE"] = RDMA_RXE
    try:
        for name, (link_type, ns, nets) in PAIRS.items():
            pairs[name] = lib.setup_veth_pair(link_type, ns, nets)
        result["machine"] = machine()
        for part in parts:
            start = time.monotonic()
            result[part] = PARTS[part](cfg, pairs, repeats,
                                       result.setdefault("order", {}))
            result.setdefault("seconds", {})[part] = round(time.monotonic() - start, 1)
    finally:
        for _, ns, _ in PAIRS.values():
            lib.teardown_net(ns)
    with open(os.path.join(os.environ["RXE_HMM_RESULTS"], "bench.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(f"bench: {', '.join(parts)} done in "
          f"{sum(result['seconds'].values()):.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
