#!/usr/bin/python3
"""Fault-and-migrate latency: one hmm_range_fault() walk versus two.

The "walk" part of benchmarks/guest/bench.py, against lib/test_hmm.ko of
the booted kernel, which carries our mm series. For each case the
HMM_DMIRROR_MIGRATE_ON_FAULT ioctl migrates a freshly populated range into
the dmirror device's memory, either with the unified walk (hmm_range_fault()
with HMM_PFN_REQ_MIGRATE, then migrate_hmm_range_setup()) or with
hmm_range_fault() and then migrate_vma_setup(). The kernel times both
inside the ioctl: "collect" is faulting and collecting (through the unmap
step), "total" the whole migration including the copy.

Each repetition runs both ways in ABBA order (unified first in even
repetitions).
"""

import ctypes
import fcntl
import mmap
import os
import struct
import subprocess


PAGE = mmap.PAGESIZE
PMD = 2 << 20

# lib/test_hmm_uapi.h: struct hmm_dmirror_migrate_cmd, 8 x __u64
CMD = struct.Struct("8Q")
MIGRATE_ON_FAULT = (3 << 30) | (CMD.size << 16) | (ord("H") << 8) | 0x0a
TWO_WALKS = 1 << 0
WRITE = 1 << 1

MADV_HUGEPAGE = 14
MADV_NOHUGEPAGE = 15
MADV_COLLAPSE = 25

# (name, pages, THP, populated before the migration)
CASES = [
    ("1 page", 1, False, True),
    ("16 pages", 16, False, True),
    ("512 pages", 512, False, True),
    ("2 MiB THP", 512, True, True),
    # Holes: the unified walk collects them empty, two walks fault them in.
    ("512 holes", 512, False, False),
]
MODES = (("unified", 0), ("two walks", TWO_WALKS))

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                      ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


def check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def migrate_once(fd, pages, thp, populate, flags):
    """Maps (and populates) a PMD aligned range, migrates it, unmaps it."""
    span = 2 * PMD
    base = libc.mmap(None, span, mmap.PROT_READ | mmap.PROT_WRITE,
                     mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    if base in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), "mmap")
    try:
        addr = (base + PMD - 1) & ~(PMD - 1)
        size = pages * PAGE
        check(libc.madvise(addr, size, MADV_HUGEPAGE if thp else MADV_NOHUGEPAGE),
              "madvise")
        fill = 0x5a if populate else 0
        if populate:
            ctypes.memset(addr, fill, size)
        if thp:
            check(libc.madvise(addr, size, MADV_COLLAPSE), "MADV_COLLAPSE")
        cmd = bytearray(CMD.pack(addr, pages, flags | WRITE, 0, 0, 0, 0, 0))
        fcntl.ioctl(fd, MIGRATE_ON_FAULT, cmd)
        _, _, _, cpages, empty, retries, collect_ns, total_ns = CMD.unpack(cmd)
        want_empty = 0 if populate or flags & TWO_WALKS else pages
        if cpages != pages or empty != want_empty:
            raise RuntimeError(f"{pages} pages: {cpages} migrated, {empty} empty")
        # Read back through the CPU: the data must have survived.
        if ctypes.string_at(addr, size) != bytes([fill]) * size:
            raise RuntimeError(f"{pages} pages: data changed by the migration")
        return {"collect_ns": collect_ns, "total_ns": total_ns,
                "retries": retries}
    finally:
        libc.munmap(base, span)



def measure(repeats):
    """Every case both ways, REPEATS times; the samples."""
    subprocess.run(["modprobe", "test_hmm"], check=True)
    samples = []
    try:
        fd = os.open("/dev/hmm_dmirror0", os.O_RDWR)
        try:
            # One unmeasured round first, so neither way pays for warm-up.
            for _, pages, thp, populate in CASES:
                for _, flags in MODES:
                    migrate_once(fd, pages, thp, populate, flags)
            for rep in range(repeats):
                for case, pages, thp, populate in CASES:
                    for mode, flags in (MODES if rep % 2 == 0 else MODES[::-1]):
                        s = migrate_once(fd, pages, thp, populate, flags)
                        s.update(case=case, mode=mode, rep=rep)
                        samples.append(s)
        finally:
            os.close(fd)
    finally:
        subprocess.run(["modprobe", "-r", "test_hmm"], check=False)
    return samples
