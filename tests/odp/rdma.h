/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Two RC QPs of one device in loopback: a peer that issues RDMA from its
 * pinned buffer, and the QP that serves the MR under test.
 */

#ifndef RXE_HMM_TESTS_RDMA_H
#define RXE_HMM_TESTS_RDMA_H

#include <stddef.h>
#include <stdint.h>

#include "verbs.h"

#define PAGE		4096UL
/* 4 s: the access delay knob must not look like a lost packet */
#define QP_TIMEOUT	20

struct rdma {
	struct verbs v;
	/* qp[0] is the peer that issues RDMA; qp[1] serves the ODP MR */
	struct ibv_qp *qp[2];
	/* the peer's pinned buffer */
	uint8_t *buf;
	size_t buf_len;
	struct ibv_mr *buf_mr;
};

/* (Re)connects the two QPs: after an error completion they are in ERR. */
int rdma_reconnect(struct rdma *r);
/* The device named by $DEV_ENV, its GID index in $GID_ENV; -ENODEV if unset. */
int rdma_open(struct rdma *r, const char *dev_env, const char *gid_env,
	      size_t buf_len);
/* One RDMA op from the peer, from its buffer at @loff: the wc status. */
int rdma_op(struct rdma *r, enum ibv_wr_opcode op, size_t loff, size_t len,
	    uint64_t raddr, uint32_t rkey, uint64_t compare_add, uint64_t swap);
int rdma_write(struct rdma *r, size_t loff, size_t len, uint64_t raddr,
	       uint32_t rkey);
int rdma_read(struct rdma *r, size_t loff, size_t len, uint64_t raddr,
	      uint32_t rkey);
/*
 * An extended RC QP on @r's device with the ibv_wr_*() ops @ops,
 * connected to qp[1], which is reconnected to it; NULL, errno set.
 */
struct ibv_qp_ex *rdma_qp_ex(struct rdma *r, uint64_t ops);
void *map_anon(size_t len, int prot);
/* A device-wide counter of @dev, as "rdma statistic" shows it. */
long long dev_counter(const char *dev, const char *name);
/* ... of $RXE_HMM_DEV */
long long counter(const char *name);
/*
 * Waits (a little: about 2 s) for a level that deferred work moves, read
 * by @read, to reach @want; its last value.
 */
long long settle(long long (*read)(void), long long want);

#endif
