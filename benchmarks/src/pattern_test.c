// SPDX-License-Identifier: GPL-2.0
/*
 * pattern_test: host check of pattern.h (benchmarks/selftest). The right
 * pattern passes; a page one place off, a page of the iteration before,
 * a zeroed page and one flipped byte each fail, at the right offset.
 *
 * usage: pattern_test
 *        pattern_test --dump TAG ITERATION PAGES   (the raw bytes, for
 *                     benchmarks/guest/hmm_walk.py's self-test)
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"

#define PAGES	8
#define LEN	(PAGES * PATTERN_PAGE)

static int failures;

/* Checks @buf against (@tag, @iter): @wrong bytes, the first at @off. */
static void expect(const char *what, const uint8_t *buf, unsigned int tag,
		   unsigned int iter, size_t wrong, size_t off)
{
	struct pattern_bad bad;
	char line[96];
	size_t got = pattern_check(buf, LEN, tag, iter, &bad);

	if (got != wrong || (wrong && bad.off != off)) {
		printf("FAIL %s: %zu wrong bytes, the first at %zu; expected "
		       "%zu at %zu\n", what, got, bad.off, wrong, off);
		failures++;
		return;
	}
	snprintf(line, sizeof(line), "ok   %s", what);
	if (wrong)
		pattern_print_bad(stdout, line, LEN, &bad);
	else
		printf("%s\n", line);
}

int main(int argc, char **argv)
{
	static uint8_t buf[LEN] __attribute__((aligned(8)));
	static uint8_t old[LEN] __attribute__((aligned(8)));
	uint8_t *p;
	uint64_t w;
	size_t len;

	if (argc == 5 && !strcmp(argv[1], "--dump")) {
		len = strtoul(argv[4], NULL, 0) * PATTERN_PAGE;
		p = aligned_alloc(8, len);
		if (!p)
			return 1;
		pattern_fill(p, len, strtoul(argv[2], NULL, 0),
			     strtoul(argv[3], NULL, 0));
		return fwrite(p, 1, len, stdout) != len;
	}

	w = pattern_word(0xa5, 3, 2 * PATTERN_PAGE + 16);
	if (w != (0xa5ULL << 56 | 3ULL << 32 | 2 << 9 | 2)) {
		printf("FAIL pattern_word: %#llx\n", (unsigned long long)w);
		failures++;
	}
	if (pattern_word(PATTERN_ZERO, 3, 4096))
		failures++;

	pattern_fill(buf, LEN, 0xa5, 3);
	expect("the pattern itself", buf, 0xa5, 3, 0, 0);
	/* the pattern of another iteration, or tag, is wrong everywhere */
	expect("checked as the next iteration", buf, 0xa5, 4, LEN / 8, 4);
	expect("checked as another tag", buf, 0xc3, 3, LEN / 8, 7);

	/* page 5 holds page 6: the page bits of every word differ */
	pattern_fill(old, LEN, 0xa5, 3);
	memcpy(buf + 5 * PATTERN_PAGE, old + 6 * PATTERN_PAGE, PATTERN_PAGE);
	expect("a page one place off", buf, 0xa5, 3, PATTERN_PAGE / 8,
	       5 * PATTERN_PAGE + 1);

	/* page 2 left from the iteration before */
	pattern_fill(buf, LEN, 0xa5, 3);
	pattern_fill(old, LEN, 0xa5, 2);
	memcpy(buf + 2 * PATTERN_PAGE, old + 2 * PATTERN_PAGE, PATTERN_PAGE);
	expect("a page of the iteration before", buf, 0xa5, 3,
	       PATTERN_PAGE / 8, 2 * PATTERN_PAGE + 4);

	/* page 7 dropped: each of its non-zero bytes is wrong */
	pattern_fill(buf, LEN, 0xa5, 3);
	for (len = 7 * PATTERN_PAGE, w = 0; len < LEN; len++)
		w += buf[len] != 0;
	memset(buf + 7 * PATTERN_PAGE, 0, PATTERN_PAGE);
	/* word 0 of a page has a zero low byte: its word index */
	expect("a zeroed page", buf, 0xa5, 3, w, 7 * PATTERN_PAGE + 1);
	pattern_fill(buf, LEN, 0xa5, 3);
	buf[12345] ^= 1;
	expect("one flipped byte", buf, 0xa5, 3, 1, 12345);

	/* zeroes: what a read of dropped memory must bring */
	memset(buf, 0, LEN);
	expect("zeroes", buf, PATTERN_ZERO, 1, 0, 0);
	buf[LEN - 1] = 0x5a;
	expect("zeroes but the last byte", buf, PATTERN_ZERO, 1, 1, LEN - 1);

	printf("%s\n", failures ? "pattern_test: FAILED" : "pattern_test: ok");
	return failures ? 1 : 0;
}
