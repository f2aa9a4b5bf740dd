"""Python side of lib.sh: the same network setup, for the python tests."""

import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))

# As lib.sh does: rdma-core's and perftest's programs come first.
os.environ["PATH"] = ":".join(
    [os.path.join(os.environ["RXE_HMM_RDMA_CORE"], "bin")]
    + ([os.environ["RXE_HMM_PERFTEST"]] if os.environ.get("RXE_HMM_PERFTEST") else [])
    + [os.environ["PATH"]])


def lib_sh(script):
    """Runs SCRIPT (bash) after sourcing lib.sh; returns its stdout's words."""
    return subprocess.run(["bash", "-c", f'. "{HERE}/lib.sh"; {script}'],
                          check=True, stdout=subprocess.PIPE, text=True).stdout.split()


def setup_veth_pair(link_type):
    """lib.sh's setup_veth_pair; returns its devices and GID indices."""
    out = lib_sh(f'load_link_module {link_type}; setup_veth_pair {link_type} >&2;'
                 ' echo "$DEV_A $GID_A $DEV_B $GID_B $NET_B"')
    return {"a": (out[0], out[1]), "b": (out[2], out[3]), "addr_b": out[4]}


def setup_loopback(link_type):
    """lib.sh's setup_loopback; returns the device's name."""
    return lib_sh(f'load_link_module {link_type}; setup_loopback {link_type} >&2;'
                  ' echo "$DEV_LO"')[0]


def teardown_net():
    lib_sh("teardown_net")
