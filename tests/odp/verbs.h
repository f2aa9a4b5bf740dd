/* SPDX-License-Identifier: GPL-2.0 */
/* Small verbs helpers shared by the C tests. */

#ifndef RXE_HMM_TESTS_VERBS_H
#define RXE_HMM_TESTS_VERBS_H

#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

#define WC_TIMEOUT_MS	20000

struct verbs {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	union ibv_gid gid;
	int gid_index;
};

uint64_t now_ms(void);
uint64_t now_ns(void);
/* A pattern that differs per seed and per byte position. */
void fill(uint8_t *p, size_t len, unsigned int seed);

/* Opens DEV, its PD and a CQ; -ENODEV when there is no such device. */
int verbs_open(struct verbs *v, const char *dev, int gid_index);
struct ibv_qp *verbs_create_qp(struct verbs *v);
/* Takes an RC QP through RESET, INIT, RTR and RTS towards a remote QP. */
int qp_connect(struct verbs *v, struct ibv_qp *qp, const union ibv_gid *dgid,
	       uint32_t dest_qpn, uint8_t timeout);
/*
 * Posts one signaled work request and waits for its completion. Returns
 * its status, or a negative errno when posting or polling failed.
 */
int post_wait(struct verbs *v, struct ibv_qp *qp, enum ibv_wr_opcode op,
	      void *laddr, uint32_t len, uint32_t lkey, uint64_t raddr,
	      uint32_t rkey, uint64_t compare_add, uint64_t swap);
/* Waits for one completion: its status, or -ETIMEDOUT. */
int wait_wc(struct verbs *v, struct ibv_wc *wc);

#endif
