"""The order in which the benchmarks run the modes they compare, and what
an order balances.

benchmarks/guest/bench.py runs the modes of one comparison in a Williams
design: the sequence of repeat r is row r (mod its rows) of williams(n).
Over all its rows every mode runs in every position equally often, and
right after every other mode equally often (balanced for first-order
carry-over), so that neither a place in the sequence nor a neighbour's
leftovers (caches, pages, device memory) favours a mode; n rows for an
even n, 2n (a Latin square and its mirror) for an odd n. With two modes
it is AB, BA: ABBA. bench.json records, per part, the design and the
sequence each repeat ran; benchmarks/report.py says what it balanced
(balance()).
"""


def williams(n):
    """The rows of a Williams design for modes 0 .. N-1: the row 0, 1,
    n-1, 2, n-2, ... and its cyclic shifts (a Latin square), then for an
    odd N their mirrors."""
    first, lo, hi = [0], 1, n - 1
    while len(first) < n:
        first.append(lo)
        lo += 1
        if len(first) < n:
            first.append(hi)
            hi -= 1
    rows = [[(m + r) % n for m in first] for r in range(n)]
    if n % 2 and n > 1:
        rows += [row[::-1] for row in rows]
    return rows


def sequence(items, rep):
    """ITEMS in the order of repeat REP: the row REP mod the rows of the
    Williams design for len(ITEMS)."""
    rows = williams(len(items))
    return [items[i] for i in rows[rep % len(rows)]]


def record(modes, design="Williams"):
    """bench.json's order of one part, before it runs: the modes (by
    name), the design, the rows it needs; bench.py appends each repeat's
    sequence (names) to "repeats"."""
    return {"design": design, "modes": list(modes),
            "rows": len(williams(len(modes))), "repeats": []}


def balance(modes, sequences):
    """What SEQUENCES (lists of the names in MODES) balance: ({mode:
    [times in position 1, 2, ...]}, {(a, b): times b ran right after a},
    positions balanced, carry-over balanced)."""
    pos = {m: [0] * len(modes) for m in modes}
    after = {(a, b): 0 for a in modes for b in modes if a != b}
    for seq in sequences:
        for i, m in enumerate(seq):
            pos[m][i] += 1
            if i:
                after[(seq[i - 1], m)] += 1
    counts = [c for v in pos.values() for c in v]
    return (pos, after, len(set(counts)) == 1,
            len(set(after.values())) <= 1)
