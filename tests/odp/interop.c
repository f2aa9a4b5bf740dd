// SPDX-License-Identifier: GPL-2.0
/*
 * Wire interop between two RC peers on two devices (rxe_hmm and the
 * reference rdma_rxe, in two network namespaces): each side in turn sends,
 * RDMA-writes, RDMA-reads and does both atomics on the other's MR, at
 * unaligned offsets that cross pages; every byte is checked on both sides.
 *
 * usage: interop server PORT DEV GID_INDEX odp|pinned
 *        interop client ADDR PORT DEV GID_INDEX odp|pinned
 * odp|pinned: how this side registers its MR. Exit status 0: all checks
 * passed in both directions.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "verbs.h"

#define PAGE		4096
#define MR_LEN		(16 * PAGE)
#define QP_TIMEOUT	14

/* Offsets into the passive side's MR, chosen to start mid-page. */
#define RECV_OFF	(1 * PAGE + 300)
#define SEND_LEN	3000
#define WRITE_OFF	(3 * PAGE + 7)
#define WRITE_LEN	5000
#define READ_OFF	(6 * PAGE + 100)
#define READ_LEN	6000
#define ATOMIC_OFF	(10 * PAGE + 40)
/* Where the active side keeps what it sends and what it reads back. */
#define SRC_OFF		(12 * PAGE + 5)
#define DST_OFF		(2 * PAGE + 11)

struct peer {
	uint32_t qpn;
	uint32_t rkey;
	uint64_t addr;
	union ibv_gid gid;
};

struct side {
	struct verbs v;
	struct ibv_qp *qp;
	struct ibv_mr *mr;
	uint8_t *mem;
	struct peer remote;
	int sock;
	const char *name;
};

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s: ", s->name);			\
		fprintf(stderr, __VA_ARGS__);				\
		fprintf(stderr, "\n");					\
		return -1;						\
	}								\
} while (0)

static int xfer(int sock, void *buf, size_t len, int out)
{
	ssize_t n;

	while (len) {
		n = out ? write(sock, buf, len) : read(sock, buf, len);
		if (n <= 0)
			return -1;
		buf = (uint8_t *)buf + n;
		len -= n;
	}
	return 0;
}

/* A one-byte step of the exchange between the two sides. */
static int step(struct side *s, char tell, char expect)
{
	char c;

	if (tell && xfer(s->sock, &tell, 1, 1))
		return -1;
	if (expect && (xfer(s->sock, &c, 1, 0) || c != expect))
		return -1;
	return 0;
}

static void expected_mr(uint8_t *p, unsigned int round)
{
	fill(p, MR_LEN, 100 + round);
}

/* Active: drive every operation against the other side's MR. */
static int active(struct side *s, unsigned int round)
{
	uint64_t raddr = s->remote.addr, word, orig;
	uint8_t *expect = malloc(MR_LEN);
	uint8_t *src = s->mem + SRC_OFF, *dst = s->mem + DST_OFF;
	uint32_t lkey = s->mr->lkey, rkey = s->remote.rkey;
	int st;

	CHECK(expect, "out of memory");
	expected_mr(expect, round);
	CHECK(!step(s, 0, 'r'), "no ready from the passive side");

	fill(src, SEND_LEN, 1 + round);
	st = post_wait(&s->v, s->qp, IBV_WR_SEND, src, SEND_LEN, lkey, 0, 0,
		       0, 0);
	CHECK(st == IBV_WC_SUCCESS, "send: status %d", st);

	fill(src, WRITE_LEN, 2 + round);
	st = post_wait(&s->v, s->qp, IBV_WR_RDMA_WRITE, src, WRITE_LEN, lkey,
		       raddr + WRITE_OFF, rkey, 0, 0);
	CHECK(st == IBV_WC_SUCCESS, "write: status %d", st);

	memset(dst, 0, READ_LEN);
	st = post_wait(&s->v, s->qp, IBV_WR_RDMA_READ, dst, READ_LEN, lkey,
		       raddr + READ_OFF, rkey, 0, 0);
	CHECK(st == IBV_WC_SUCCESS, "read: status %d", st);
	CHECK(!memcmp(dst, expect + READ_OFF, READ_LEN), "read: wrong bytes");

	memcpy(&orig, expect + ATOMIC_OFF, 8);
	st = post_wait(&s->v, s->qp, IBV_WR_ATOMIC_FETCH_AND_ADD, dst, 8, lkey,
		       raddr + ATOMIC_OFF, rkey, 5, 0);
	CHECK(st == IBV_WC_SUCCESS, "fetch-add: status %d", st);
	memcpy(&word, dst, 8);
	CHECK(word == orig, "fetch-add returned %#llx, not %#llx",
	      (unsigned long long)word, (unsigned long long)orig);
	st = post_wait(&s->v, s->qp, IBV_WR_ATOMIC_CMP_AND_SWP, dst, 8, lkey,
		       raddr + ATOMIC_OFF, rkey, orig + 5, 0x1234);
	CHECK(st == IBV_WC_SUCCESS, "compare-swap: status %d", st);
	memcpy(&word, dst, 8);
	CHECK(word == orig + 5, "compare-swap returned %#llx",
	      (unsigned long long)word);

	CHECK(!step(s, 'd', 'k'), "the passive side found wrong bytes");
	free(expect);
	return 0;
}

/* Passive: serve the other side, then check every byte of the MR. */
static int passive(struct side *s, unsigned int round)
{
	uint8_t *expect = malloc(MR_LEN);
	struct ibv_sge sge = {
		.addr = (uintptr_t)s->mem + RECV_OFF, .length = SEND_LEN,
		.lkey = s->mr->lkey,
	};
	struct ibv_recv_wr wr = { .sg_list = &sge, .num_sge = 1 }, *bad;
	uint64_t word = 0x1234;
	struct ibv_wc wc;
	int st;

	CHECK(expect, "out of memory");
	expected_mr(s->mem, round);
	expected_mr(expect, round);
	CHECK(!ibv_post_recv(s->qp, &wr, &bad), "post_recv failed");
	CHECK(!step(s, 'r', 'd'), "the active side gave up");

	st = wait_wc(&s->v, &wc);
	CHECK(st == IBV_WC_SUCCESS && wc.opcode == IBV_WC_RECV &&
	      wc.byte_len == SEND_LEN, "recv: status %d, %u bytes", st,
	      wc.byte_len);
	fill(expect + RECV_OFF, SEND_LEN, 1 + round);
	fill(expect + WRITE_OFF, WRITE_LEN, 2 + round);
	memcpy(expect + ATOMIC_OFF, &word, 8);
	CHECK(!memcmp(s->mem, expect, MR_LEN), "MR bytes differ");
	CHECK(!step(s, 'k', 0), "lost the active side");
	free(expect);
	return 0;
}

static int connect_sock(int server, const char *addr, int port)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET, .sin_port = htons(port),
	};
	int fd, lfd, one = 1;

	if (!server) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1 ||
		    connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return -1;
		return fd;
	}
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 1))
		return -1;
	fd = accept(lfd, NULL, NULL);
	close(lfd);
	return fd;
}

int main(int argc, char **argv)
{
	int server = argc == 6 && !strcmp(argv[1], "server");
	int client = argc == 7 && !strcmp(argv[1], "client");
	struct side side = { 0 }, *s = &side;
	const char *mode;
	struct peer me;
	int access, i;

	if (!server && !client) {
		fprintf(stderr, "usage: %s server PORT DEV GID_INDEX odp|pinned\n"
			"       %s client ADDR PORT DEV GID_INDEX odp|pinned\n",
			argv[0], argv[0]);
		return 2;
	}
	argv += client;
	s->name = server ? "server" : "client";
	mode = argv[5];
	access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC;
	if (!strcmp(mode, "odp"))
		access |= IBV_ACCESS_ON_DEMAND;
	else if (strcmp(mode, "pinned"))
		return 2;

	CHECK(!verbs_open(&s->v, argv[3], atoi(argv[4])), "cannot open %s",
	      argv[3]);
	s->qp = verbs_create_qp(&s->v);
	s->mem = mmap(NULL, MR_LEN, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(s->qp && s->mem != MAP_FAILED, "no QP or memory");
	s->mr = ibv_reg_mr(s->v.pd, s->mem, MR_LEN, access);
	CHECK(s->mr, "ibv_reg_mr (%s): %s", mode, strerror(errno));

	s->sock = connect_sock(server, client ? argv[1] : NULL,
			       atoi(argv[2]));
	CHECK(s->sock >= 0, "no TCP connection: %s", strerror(errno));
	me = (struct peer){ s->qp->qp_num, s->mr->rkey, (uintptr_t)s->mem,
			    s->v.gid };
	CHECK(!xfer(s->sock, &me, sizeof(me), 1) &&
	      !xfer(s->sock, &s->remote, sizeof(s->remote), 0),
	      "exchange failed");
	CHECK(!qp_connect(&s->v, s->qp, &s->remote.gid, s->remote.qpn,
			  QP_TIMEOUT), "cannot connect the QP");

	/* round 0: the client drives; round 1: the server drives */
	for (i = 0; i < 2; i++) {
		if ((i == 0) == client) {
			if (active(s, i))
				return 1;
		} else if (passive(s, i)) {
			return 1;
		}
		printf("%s: round %d as %s: all bytes as expected\n", s->name,
		       i, (i == 0) == client ? "initiator" : "target");
	}
	return 0;
}
