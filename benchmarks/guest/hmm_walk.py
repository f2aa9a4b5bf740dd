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

Each repetition runs both ways in ABBA order (order.py's design for two:
unified first in even repetitions). Every migration's pages are checked
through the CPU afterwards, byte for byte, against a pattern in which each
8-byte word names its page and the run (benchmarks/src/pattern.h, written
here the same way), or against zeroes for holes: a page moved to the wrong
place, a stale page or one wrong byte fails the run.

python3 hmm_walk.py --self-test checks the pattern and its check, on any
host.
"""

import ctypes
import fcntl
import mmap
import os
import struct
import subprocess
import sys

import order


PAGE = mmap.PAGESIZE
PMD = 2 << 20

# lib/test_hmm_uapi.h: struct hmm_dmirror_migrate_cmd, 10 x __u64
CMD = struct.Struct("10Q")
MIGRATE_ON_FAULT = (3 << 30) | (CMD.size << 16) | (ord("H") << 8) | 0x0a
WRITE = 1 << 0
TWO_WALKS = 1 << 7

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

# benchmarks/src/pattern.h: a word is tag << 56 | iteration << 32 |
# page << 9 | word in the page, in host byte order; tag 0 is zeroes
PATTERN_PAGE = 4096
TAG = 0x96
_WORDS = PATTERN_PAGE // 8
_WORD_INDEX = int.from_bytes(b"".join(struct.pack("=Q", w) for w in range(_WORDS)),
                             sys.byteorder)


def pattern(pages, iteration, tag=TAG):
    """The bytes of PAGES pages that pattern_fill() writes."""
    if not tag:
        return bytes(pages * PATTERN_PAGE)
    out = []
    for page in range(pages):
        high = (tag & 0xff) << 56 | (iteration & 0xffffff) << 32 | (page & 0x7fffff) << 9
        out.append((_WORD_INDEX | int.from_bytes(struct.pack("=Q", high) * _WORDS,
                                                 sys.byteorder))
                   .to_bytes(PATTERN_PAGE, sys.byteorder))
    return b"".join(out)


def mismatch(got, want):
    """None when GOT == WANT; else where they differ, as pattern_print_bad()
    says it: the pages that differ, the first wrong byte's offset, the
    8-byte word there expected and found."""
    if got == want:
        return None
    bad = [p for p in range(0, len(want), PATTERN_PAGE)
           if got[p:p + PATTERN_PAGE] != want[p:p + PATTERN_PAGE]]
    off = next(i for i in range(bad[0], bad[0] + PATTERN_PAGE) if got[i] != want[i])
    word = off & ~7
    found = int.from_bytes(got[word:word + 8], sys.byteorder)
    says = (f"tag {found >> 56:#x}, iteration {found >> 32 & 0xffffff}, "
            f"page {found >> 9 & 0x7fffff}, word {found & 0x1ff}") if found else "zeroes"
    return (f"{len(bad)} of {len(want) // PATTERN_PAGE} pages wrong, the first wrong "
            f"byte at offset {off} (page {off // PATTERN_PAGE}, byte {off % PATTERN_PAGE}); "
            f"the word at offset {word}: expected {want[word:word + 8].hex(' ')}, "
            f"found {got[word:word + 8].hex(' ')} ({says})")


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


def migrate_once(fd, pages, thp, populate, flags, run):
    """Maps (and populates: the pattern of RUN) a PMD aligned range,
    migrates it, checks its bytes, unmaps it."""
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
        want = pattern(pages, run, TAG if populate else 0)
        if populate:
            ctypes.memmove(addr, want, size)
        if thp:
            check(libc.madvise(addr, size, MADV_COLLAPSE), "MADV_COLLAPSE")
        cmd = bytearray(CMD.pack(addr, pages, flags | WRITE, 0, 0, 0, 0, 0, 0, 0))
        fcntl.ioctl(fd, MIGRATE_ON_FAULT, cmd)
        _, _, _, cpages, empty, retries, collected, invalidated, collect_ns, total_ns = CMD.unpack(cmd)
        want_empty = 0 if populate or flags & TWO_WALKS else pages
        if cpages != pages or empty != want_empty or collected != pages or invalidated:
            raise RuntimeError(f"{pages} pages: {collected} collected, {cpages} migrated, "
                               f"{empty} empty, {invalidated} pieces invalidated")
        # Read back through the CPU: every page must have survived, in
        # its place.
        bad = mismatch(ctypes.string_at(addr, size), want)
        if bad:
            raise RuntimeError(f"{pages} pages{' (THP)' if thp else ''}"
                               f"{'' if populate else ' of holes'}, "
                               f"{'two walks' if flags & TWO_WALKS else 'unified'}, "
                               f"run {run}: {bad}")
        return {"collect_ns": collect_ns, "total_ns": total_ns,
                "retries": retries}
    finally:
        libc.munmap(base, span)



def measure(repeats, rec=None):
    """Every case both ways, REPEATS times; the samples. Appends each
    repeat's order to REC["repeats"] (order.record())."""
    subprocess.run(["modprobe", "test_hmm"], check=True)
    samples = []
    run = 0
    try:
        fd = os.open("/dev/hmm_dmirror0", os.O_RDWR)
        try:
            # One unmeasured round first, so neither way pays for warm-up.
            for _, pages, thp, populate in CASES:
                for _, flags in MODES:
                    run += 1
                    migrate_once(fd, pages, thp, populate, flags, run)
            for rep in range(repeats):
                seq = order.sequence(MODES, rep)
                if rec is not None:
                    rec["repeats"].append([mode for mode, _ in seq])
                for case, pages, thp, populate in CASES:
                    for mode, flags in seq:
                        run += 1
                        s = migrate_once(fd, pages, thp, populate, flags, run)
                        s.update(case=case, mode=mode, rep=rep)
                        samples.append(s)
        finally:
            os.close(fd)
    finally:
        subprocess.run(["modprobe", "-r", "test_hmm"], check=False)
    return samples


def self_test(dump=None):
    """The pattern against a word-by-word reference (and DUMP, a program
    printing pattern_fill()'s bytes for a tag, iteration and page count:
    benchmarks/selftest passes pattern_test --dump), and mismatch()
    against a page one place off, a page of the run before, a zeroed page
    and a flipped byte. Prints what it checked; the failures."""
    failures = []
    ref = b"".join(struct.pack("=Q", 0x96 << 56 | 7 << 32 | p << 9 | w)
                   for p in range(4) for w in range(_WORDS))
    want = pattern(4, 7)
    if want != ref:
        failures.append("pattern() is not the word-by-word pattern")
    if dump:
        c = subprocess.run(dump + [str(TAG), "7", "4"], stdout=subprocess.PIPE,
                           check=True).stdout
        if c != want:
            failures.append("pattern() is not pattern_fill()'s pattern")
        else:
            print("ok   pattern() is pattern_fill()'s pattern, byte for byte")
    if mismatch(want, want) is not None:
        failures.append("mismatch() of the pattern itself")
    old = pattern(4, 6)
    page = PATTERN_PAGE
    for what, got, at in (
            ("a page one place off", want[:page] + want[2 * page:3 * page] * 2
             + want[3 * page:], page + 1),
            ("a page of the run before", want[:2 * page] + old[2 * page:3 * page]
             + want[3 * page:], 2 * page + 4),
            ("a zeroed page", want[:3 * page] + bytes(page), 3 * page + 1),
            ("one flipped byte", want[:5000] + bytes([want[5000] ^ 1]) + want[5001:], 5000),
            ("zeroes but one byte", bytes(100) + b"\x01" + bytes(4 * page - 101), 100)):
        expect = bytes(4 * page) if what.startswith("zeroes") else want
        bad = mismatch(got, expect)
        if not bad or f"byte at offset {at} " not in bad:
            failures.append(f"{what}: {bad}")
        else:
            print(f"ok   {what}: {bad}")
    # migrate_once() itself, with a stand-in for the ioctl that moves
    # nothing, or breaks the range as a faulty migration would
    def fake_ioctl(populate, breaks):
        def ioctl(fd, request, cmd):
            addr, pages, flags = struct.unpack_from("3Q", cmd)
            if breaks == "page":
                ctypes.memmove(addr + PATTERN_PAGE, addr + 2 * PATTERN_PAGE, PATTERN_PAGE)
            elif breaks == "byte":
                ctypes.memset(addr + pages * PATTERN_PAGE // 2 + 5, 0x77, 1)
            empty = 0 if populate or flags & TWO_WALKS else pages
            cmd[:] = CMD.pack(addr, pages, flags, pages, empty, 0, pages, 0, 1000, 2000)
        return ioctl

    real_ioctl = fcntl.ioctl
    try:
        for breaks, populate in ((None, True), (None, False), ("page", True),
                                 ("byte", True), ("byte", False)):
            fcntl.ioctl = fake_ioctl(populate, breaks)
            what = f"migrate_once() of 16 {'pages' if populate else 'holes'}" + \
                (f", {breaks} broken" if breaks else "")
            try:
                migrate_once(-1, 16, False, populate, 0, 42)
                if breaks:
                    failures.append(f"{what}: passed")
                else:
                    print(f"ok   {what}: passes")
            except RuntimeError as e:
                if breaks and "run 42: " in str(e) and "offset" in str(e):
                    print(f"ok   {what}: {e}")
                else:
                    failures.append(f"{what}: {e}")
    finally:
        fcntl.ioctl = real_ioctl
    return failures


if __name__ == "__main__":
    if sys.argv[1:2] != ["--self-test"]:
        sys.exit(f"usage: {sys.argv[0]} --self-test [PATTERN_DUMP_PROGRAM...] "
                 "(the walk part runs from bench.py)")
    problems = self_test(sys.argv[2:] or None)
    for p in problems:
        print(f"FAIL {p}")
    print("hmm_walk self-test:", "FAILED" if problems else "ok")
    sys.exit(1 if problems else 0)
