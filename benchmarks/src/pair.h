/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the C benchmarks share: an initiator device and a target device,
 * each on one end of a veth pair in its own network namespace, with RC
 * QPs connected across, and the target's engine counters.
 */

#ifndef RXE_HMM_BENCH_PAIR_H
#define RXE_HMM_BENCH_PAIR_H

#include <stddef.h>
#include <stdint.h>

#include <infiniband/rxedv.h>

#include "verbs.h"

#define PAIR_MAX_QPS	16

struct pair {
	/* $RXE_HMM_DEV, $RXE_HMM_GID: issues the RDMA operations */
	struct verbs a;
	/* $RXE_HMM_DEV_B, $RXE_HMM_GID_B: holds the memory under test */
	struct verbs b;
	/* qa[i] on a is connected to qb[i] on b */
	struct ibv_qp *qa[PAIR_MAX_QPS];
	struct ibv_qp *qb[PAIR_MAX_QPS];
	unsigned int nqps;
	/* the initiator's pinned buffer */
	uint8_t *buf;
	size_t buf_len;
	struct ibv_mr *buf_mr;
};

/* Opens both devices, @nqps QP pairs and a buffer of @buf_len; an errno. */
int pair_open(struct pair *p, unsigned int nqps, size_t buf_len);
void pair_close(struct pair *p);

/*
 * The target's engine counters (rxedv_query_dev_counters()), or
 * EOPNOTSUPP when the target is not an rxe_hmm device.
 */
int pair_engine(struct pair *p, struct rxedv_dev_counters *c);
/*
 * Prints, as a JSON member, what the engine counted between @before and
 * now: ,"engine":{...}, or ,"engine":null on another device.
 */
void pair_print_engine(struct pair *p,
		       const struct rxedv_dev_counters *before);

#endif
