/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * The rxe_hmm provider: rxe's queues and work requests
 * (rdma/rdma_user_rxe.h) plus rxe_hmm's own ABI (rdma/rxe_hmm-abi.h).
 */

#ifndef RXE_HMM_H
#define RXE_HMM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <infiniband/driver.h>
#include <infiniband/kern-abi.h>
#include <rdma/rdma_user_rxe.h>
#include <rdma/rxe_hmm-abi.h>
#include <kernel-abi/rdma_user_rxe.h>
#include <kernel-abi/rxe_hmm-abi.h>

#include "rxe_hmmdv.h"

DECLARE_DRV_CMD(urxe_hmm_create_ah, IB_USER_VERBS_CMD_CREATE_AH, empty,
		rxe_create_ah_resp);
DECLARE_DRV_CMD(urxe_hmm_create_cq, IB_USER_VERBS_CMD_CREATE_CQ, empty,
		rxe_create_cq_resp);
DECLARE_DRV_CMD(urxe_hmm_create_cq_ex, IB_USER_VERBS_EX_CMD_CREATE_CQ, empty,
		rxe_create_cq_resp);
DECLARE_DRV_CMD(urxe_hmm_resize_cq, IB_USER_VERBS_CMD_RESIZE_CQ, empty,
		rxe_resize_cq_resp);
DECLARE_DRV_CMD(urxe_hmm_create_qp, IB_USER_VERBS_CMD_CREATE_QP, empty,
		rxe_create_qp_resp);
DECLARE_DRV_CMD(urxe_hmm_create_qp_ex, IB_USER_VERBS_EX_CMD_CREATE_QP, empty,
		rxe_create_qp_resp);
DECLARE_DRV_CMD(urxe_hmm_create_srq, IB_USER_VERBS_CMD_CREATE_SRQ, empty,
		rxe_create_srq_resp);
DECLARE_DRV_CMD(urxe_hmm_create_srq_ex, IB_USER_VERBS_CMD_CREATE_XSRQ, empty,
		rxe_create_srq_resp);
DECLARE_DRV_CMD(urxe_hmm_modify_srq, IB_USER_VERBS_CMD_MODIFY_SRQ,
		rxe_modify_srq_cmd, empty);
DECLARE_DRV_CMD(urxe_hmm_reg_mr, IB_USER_VERBS_CMD_REG_MR, rxe_hmm_reg_mr,
		empty);
DECLARE_DRV_CMD(urxe_hmm_rereg_mr, IB_USER_VERBS_CMD_REREG_MR, rxe_hmm_reg_mr,
		empty);

struct rxe_hmm_device {
	struct verbs_device vdev;
};

struct rxe_hmm_context {
	struct verbs_context vctx;
};

/*
 * A protection domain, or a parent domain wrapping one (@pd set). A parent
 * domain carries its PD's handle, so every command works on it unchanged.
 */
struct rxe_hmm_pd {
	struct ibv_pd ibv_pd;
	struct rxe_hmm_pd *pd;
	/* parent domains holding this PD */
	atomic_int users;
};

/* One queue the kernel shares with us: a CQ, a send or a receive queue. */
struct rxe_hmm_queue {
	struct rxe_queue_buf *buf;
	size_t map_len;
	pthread_spinlock_t lock;
};

struct rxe_hmm_cq {
	struct verbs_cq vcq;
	struct rxe_hmm_queue q;
	uint64_t wc_flags;
	/* extended polling: the entry under the cursor and its time */
	struct ib_uverbs_wc *cur;
	uint32_t cur_index;
	uint64_t cur_wallclock_ns;
	uint64_t cur_clock_ns;
};

struct rxe_hmm_wq {
	struct rxe_hmm_queue q;
	unsigned int max_sge;
	unsigned int max_inline;
};

struct rxe_hmm_qp {
	struct verbs_qp vqp;
	struct rxe_hmm_wq sq;
	struct rxe_hmm_wq rq;
	/* ibv_wr_*(): where the next work request goes, and the first error */
	uint32_t wr_index;
	struct rxe_send_wqe *wr_cur;
	int wr_err;
};

struct rxe_hmm_srq {
	struct verbs_srq vsrq;
	struct rxe_hmm_wq rq;
	uint32_t srq_num;
};

struct rxe_hmm_ah {
	struct ibv_ah ibv_ah;
	uint32_t ah_num;
};

static inline struct rxe_hmm_pd *to_rpd(struct ibv_pd *ibpd)
{
	return container_of(ibpd, struct rxe_hmm_pd, ibv_pd);
}

static inline struct rxe_hmm_cq *to_rcq(struct ibv_cq *ibcq)
{
	return container_of(ibcq, struct rxe_hmm_cq, vcq.cq);
}

static inline struct rxe_hmm_cq *ex_to_rcq(struct ibv_cq_ex *ibcq)
{
	return container_of(ibcq, struct rxe_hmm_cq, vcq.cq_ex);
}

static inline struct rxe_hmm_qp *to_rqp(struct ibv_qp *ibqp)
{
	return container_of(ibqp, struct rxe_hmm_qp, vqp.qp);
}

static inline struct rxe_hmm_qp *ex_to_rqp(struct ibv_qp_ex *ibqp)
{
	return container_of(ibqp, struct rxe_hmm_qp, vqp.qp_ex);
}

static inline struct rxe_hmm_srq *to_rsrq(struct ibv_srq *ibsrq)
{
	return container_of(ibsrq, struct rxe_hmm_srq, vsrq.srq);
}

static inline struct rxe_hmm_ah *to_rah(struct ibv_ah *ibah)
{
	return container_of(ibah, struct rxe_hmm_ah, ibv_ah);
}

/*
 * Queue indexes stay within [0, index_mask]. The kernel is the other side
 * of every queue: we publish our index with release semantics and read
 * the kernel's with acquire; threads of ours serialize on the queue lock.
 */
static inline _Atomic(uint32_t) *rxe_hmm_producer(struct rxe_queue_buf *b)
{
	return (_Atomic(uint32_t) *)&b->producer_index;
}

static inline _Atomic(uint32_t) *rxe_hmm_consumer(struct rxe_queue_buf *b)
{
	return (_Atomic(uint32_t) *)&b->consumer_index;
}

static inline void *rxe_hmm_slot(struct rxe_queue_buf *b, uint32_t index)
{
	return b->data + ((size_t)(index & b->index_mask) << b->log2_elem_size);
}

static inline uint32_t rxe_hmm_next(struct rxe_queue_buf *b, uint32_t index)
{
	return (index + 1) & b->index_mask;
}

/* true when a producer at @prod has no free slot */
static inline bool rxe_hmm_full(struct rxe_queue_buf *b, uint32_t prod)
{
	return rxe_hmm_next(b, prod) ==
	       atomic_load_explicit(rxe_hmm_consumer(b), memory_order_acquire);
}

bool is_rxe_hmm_dev(struct ibv_device *device);
struct ibv_mr *rxe_hmm_reg_mr_policy(struct ibv_pd *pd, void *addr,
				     size_t length, uint64_t hca_va, int access,
				     enum rxe_hmmdv_migrate_policy policy);

int rxe_hmm_map_queue(struct ibv_context *ctx, struct rxe_hmm_queue *q,
		      const struct mminfo *mi);
void rxe_hmm_unmap_queue(struct rxe_hmm_queue *q);

#endif /* RXE_HMM_H */
