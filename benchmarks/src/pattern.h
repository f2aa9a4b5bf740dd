/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The benchmarks' data pattern, and its check: every 8-byte word says
 * where it belongs, so that the check sees not only a wrong byte but a
 * page that landed in the wrong place (another page index) or that an
 * earlier iteration left (another iteration or tag).
 *
 * A word, in host byte order:
 *   bits 63-56  the tag, never 0 (which pattern: who wrote it)
 *   bits 55-32  the iteration, mod 2^24
 *   bits 31-9   the word's 4 KiB page in the buffer, mod 2^23
 *   bits  8-0   the word in its page
 * Tag PATTERN_ZERO stands for zeroes: memory never written, or dropped.
 *
 * benchmarks/guest/hmm_walk.py writes the same pattern from Python;
 * benchmarks/src/pattern_test.c (host only: benchmarks/selftest) checks
 * both, and that the check catches what it is for.
 */

#ifndef RXE_HMM_BENCH_PATTERN_H
#define RXE_HMM_BENCH_PATTERN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define PATTERN_PAGE	4096UL
#define PATTERN_ZERO	0

/* The word at byte offset @off (a multiple of 8) of a buffer. */
static inline uint64_t pattern_word(unsigned int tag, unsigned int iter,
				    size_t off)
{
	if (tag == PATTERN_ZERO)
		return 0;
	return (uint64_t)(tag & 0xff) << 56 |
	       (uint64_t)(iter & 0xffffff) << 32 |
	       (uint64_t)((off / PATTERN_PAGE) & 0x7fffff) << 9 |
	       (off % PATTERN_PAGE) / 8;
}

/* Fills @len bytes (a multiple of 8) at @p, 8-byte aligned. */
static inline void pattern_fill(void *p, size_t len, unsigned int tag,
				unsigned int iter)
{
	uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = pattern_word(tag, iter, i * 8);
}

/* Where a check found the first wrong byte, and how many there were. */
struct pattern_bad {
	size_t wrong;		/* bytes that differ, over the whole buffer */
	size_t off;		/* the offset of the first of them */
	uint8_t want[8];	/* the 8-byte word that holds it, expected */
	uint8_t got[8];		/* and found */
};

/*
 * Compares @len bytes at @p with the pattern of @tag and @iter: 0 when
 * every byte is right, else the number of wrong bytes, with the first
 * one in @bad.
 */
static inline size_t pattern_check(const void *p, size_t len,
				   unsigned int tag, unsigned int iter,
				   struct pattern_bad *bad)
{
	const uint64_t *w = p;
	uint64_t want;
	size_t i, b;

	memset(bad, 0, sizeof(*bad));
	for (i = 0; i < len / 8; i++) {
		want = pattern_word(tag, iter, i * 8);
		if (w[i] == want)
			continue;
		for (b = 0; b < 8; b++) {
			if (((const uint8_t *)&w[i])[b] ==
			    ((const uint8_t *)&want)[b])
				continue;
			if (!bad->wrong++) {
				bad->off = i * 8 + b;
				memcpy(bad->want, &want, 8);
				memcpy(bad->got, &w[i], 8);
			}
		}
	}
	return bad->wrong;
}

/*
 * Prints a failed check of @len bytes as one line: @what, then where the
 * first wrong byte is, the 8 bytes expected and found there, and what the
 * found word says of itself.
 */
static inline void pattern_print_bad(FILE *f, const char *what, size_t len,
				     const struct pattern_bad *bad)
{
	uint64_t got;
	int b;

	memcpy(&got, bad->got, 8);
	fprintf(f, "%s: %zu of %zu bytes wrong, the first at offset %zu "
		"(page %zu, byte %zu); the word at offset %zu: expected",
		what, bad->wrong, len, bad->off, bad->off / PATTERN_PAGE,
		bad->off % PATTERN_PAGE, bad->off & ~(size_t)7);
	for (b = 0; b < 8; b++)
		fprintf(f, " %02x", bad->want[b]);
	fprintf(f, ", found");
	for (b = 0; b < 8; b++)
		fprintf(f, " %02x", bad->got[b]);
	if (got)
		fprintf(f, " (tag %#x, iteration %u, page %u, word %u)\n",
			(unsigned int)(got >> 56),
			(unsigned int)(got >> 32) & 0xffffff,
			(unsigned int)(got >> 9) & 0x7fffff,
			(unsigned int)got & 0x1ff);
	else
		fprintf(f, " (zeroes)\n");
}

#endif
