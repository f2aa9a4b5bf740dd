// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Userspace verbs for rxe_hmm, soft-RoCE with HMM-based on-demand paging.
 *
 * The data path is rxe's: work and completion queues live in kernel memory
 * mapped here, work requests are written in place and a zero-length
 * post_send rings the doorbell. What differs from librxe is the binding
 * (rxe_hmm's driver id and ABI version), the driver data of memory
 * registration, parent domains, re-registration and completion times.
 */

#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <util/util.h>

#include "rxe_hmm.h"

static const struct verbs_match_ent rxe_hmm_match_table[] = {
	/* every rxe_hmm device, whatever its name; never an rdma_rxe one */
	VERBS_DRIVER_ID(RXE_HMM_DRIVER_ID),
	{},
};

int rxe_hmm_map_queue(struct ibv_context *ctx, struct rxe_hmm_queue *q,
		      const struct mminfo *mi)
{
	void *buf;

	buf = mmap(NULL, mi->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   ctx->cmd_fd, mi->offset);
	if (buf == MAP_FAILED)
		return errno;
	q->buf = buf;
	q->map_len = mi->size;
	pthread_spin_init(&q->lock, PTHREAD_PROCESS_PRIVATE);
	return 0;
}

void rxe_hmm_unmap_queue(struct rxe_hmm_queue *q)
{
	if (!q->buf)
		return;
	munmap(q->buf, q->map_len);
	pthread_spin_destroy(&q->lock);
	q->buf = NULL;
}

/* Device */

static int rxe_hmm_query_device(struct ibv_context *context,
				const struct ibv_query_device_ex_input *input,
				struct ibv_device_attr_ex *attr,
				size_t attr_size)
{
	struct ib_uverbs_ex_query_device_resp resp;
	size_t resp_size = sizeof(resp);
	int ret;

	ret = ibv_cmd_query_device_any(context, input, attr, attr_size, &resp,
				       &resp_size);
	if (ret)
		return ret;

	/*
	 * Completion times are taken by this provider in nanoseconds
	 * (rxe_hmm_cq_stamp()), so the "device clock" runs at 1 GHz.
	 */
	if (attr_size >= offsetof(struct ibv_device_attr_ex, hca_core_clock) +
				 sizeof(attr->hca_core_clock)) {
		attr->completion_timestamp_mask = UINT64_MAX;
		attr->hca_core_clock = 1000000;
	}
	return 0;
}

static int rxe_hmm_query_port(struct ibv_context *context, uint8_t port,
			      struct ibv_port_attr *attr)
{
	struct ibv_query_port cmd;

	return ibv_cmd_query_port(context, port, attr, &cmd, sizeof(cmd));
}

/* Protection and parent domains */

static struct ibv_pd *rxe_hmm_alloc_pd(struct ibv_context *context)
{
	struct ib_uverbs_alloc_pd_resp resp;
	struct ibv_alloc_pd cmd;
	struct rxe_hmm_pd *pd;
	int ret;

	pd = calloc(1, sizeof(*pd));
	if (!pd) {
		errno = ENOMEM;
		return NULL;
	}
	ret = ibv_cmd_alloc_pd(context, &pd->ibv_pd, &cmd, sizeof(cmd), &resp,
			       sizeof(resp));
	if (ret) {
		free(pd);
		errno = ret;
		return NULL;
	}
	return &pd->ibv_pd;
}

static struct ibv_pd *
rxe_hmm_alloc_parent_domain(struct ibv_context *context,
			    struct ibv_parent_domain_init_attr *attr)
{
	struct rxe_hmm_pd *parent;

	if (ibv_check_alloc_parent_domain(attr))
		return NULL;
	if (!check_comp_mask(attr->comp_mask,
			     IBV_PARENT_DOMAIN_INIT_ATTR_ALLOCATORS |
				     IBV_PARENT_DOMAIN_INIT_ATTR_PD_CONTEXT) ||
	    attr->td || to_rpd(attr->pd)->pd) {
		/* no thread domains; a parent domain wraps a plain PD */
		errno = EOPNOTSUPP;
		return NULL;
	}

	parent = calloc(1, sizeof(*parent));
	if (!parent) {
		errno = ENOMEM;
		return NULL;
	}
	parent->pd = to_rpd(attr->pd);
	/*
	 * Allocators and their context are accepted and not kept: rxe's
	 * queues are kernel memory mapped into the process, so no provider
	 * buffer is ever allocated through them.
	 */
	atomic_fetch_add(&parent->pd->users, 1);
	ibv_initialize_parent_domain(&parent->ibv_pd, attr->pd);
	return &parent->ibv_pd;
}

static int rxe_hmm_dealloc_pd(struct ibv_pd *ibpd)
{
	struct rxe_hmm_pd *pd = to_rpd(ibpd);
	int ret;

	if (pd->pd) {
		atomic_fetch_sub(&pd->pd->users, 1);
		free(pd);
		return 0;
	}
	if (atomic_load(&pd->users))
		return EBUSY;
	ret = ibv_cmd_dealloc_pd(ibpd);
	if (ret)
		return ret;
	free(pd);
	return 0;
}

/* Memory regions and windows */

struct ibv_mr *rxe_hmm_reg_mr_policy(struct ibv_pd *pd, void *addr,
				     size_t length, uint64_t hca_va, int access,
				     enum rxe_hmmdv_migrate_policy policy)
{
	struct urxe_hmm_reg_mr cmd = {};
	struct ib_uverbs_reg_mr_resp resp;
	struct verbs_mr *vmr;
	int ret;

	/*
	 * The dv's policies are the uAPI's, value for value; the kernel
	 * refuses one it does not know.
	 */
	if (policy != RXE_HMMDV_MIGRATE_DEVICE_DEFAULT) {
		cmd.drv_payload.comp_mask = RXE_HMM_REG_MR_MIGRATE_POLICY;
		cmd.drv_payload.migrate_policy = policy;
	}
	vmr = calloc(1, sizeof(*vmr));
	if (!vmr) {
		errno = ENOMEM;
		return NULL;
	}
	ret = ibv_cmd_reg_mr(pd, addr, length, hca_va, access, vmr,
			     &cmd.ibv_cmd, sizeof(cmd), &resp, sizeof(resp));
	if (ret) {
		free(vmr);
		errno = ret;
		return NULL;
	}
	return &vmr->ibv_mr;
}

static struct ibv_mr *rxe_hmm_reg_mr(struct ibv_pd *pd, void *addr,
				     size_t length, uint64_t hca_va, int access)
{
	return rxe_hmm_reg_mr_policy(pd, addr, length, hca_va, access,
				     RXE_HMMDV_MIGRATE_DEVICE_DEFAULT);
}

static int rxe_hmm_rereg_mr(struct verbs_mr *vmr, int flags, struct ibv_pd *pd,
			    void *addr, size_t length, int access)
{
	struct urxe_hmm_rereg_mr cmd = {};
	struct ib_uverbs_rereg_mr_resp resp;
	int ret;

	ret = ibv_cmd_rereg_mr(vmr, flags, addr, length, (uintptr_t)addr,
			       access, pd, &cmd.ibv_cmd, sizeof(cmd), &resp,
			       sizeof(resp));
	if (ret)
		errno = ret;
	return ret;
}

static int rxe_hmm_dereg_mr(struct verbs_mr *vmr)
{
	int ret;

	ret = ibv_cmd_dereg_mr(vmr);
	if (ret)
		return ret;
	free(vmr);
	return 0;
}

static struct ibv_mw *rxe_hmm_alloc_mw(struct ibv_pd *pd, enum ibv_mw_type type)
{
	struct ib_uverbs_alloc_mw_resp resp;
	struct ibv_alloc_mw cmd;
	struct ibv_mw *mw;
	int ret;

	mw = calloc(1, sizeof(*mw));
	if (!mw) {
		errno = ENOMEM;
		return NULL;
	}
	ret = ibv_cmd_alloc_mw(pd, type, mw, &cmd, sizeof(cmd), &resp,
			       sizeof(resp));
	if (ret) {
		free(mw);
		errno = ret;
		return NULL;
	}
	return mw;
}

static int rxe_hmm_dealloc_mw(struct ibv_mw *mw)
{
	int ret;

	ret = ibv_cmd_dealloc_mw(mw);
	if (ret)
		return ret;
	free(mw);
	return 0;
}

static int rxe_hmm_post_send(struct ibv_qp *ibqp, struct ibv_send_wr *wr,
			     struct ibv_send_wr **bad_wr);

/* A type 1 window is bound by a work request of its own. */
static int rxe_hmm_bind_mw(struct ibv_qp *qp, struct ibv_mw *mw,
			   struct ibv_mw_bind *bind)
{
	struct ibv_send_wr wr = {
		.wr_id = bind->wr_id,
		.opcode = IBV_WR_BIND_MW,
		.send_flags = bind->send_flags,
		.bind_mw = {
			.mw = mw,
			.rkey = ibv_inc_rkey(mw->rkey),
			.bind_info = bind->bind_info,
		},
	};
	struct ibv_send_wr *bad;
	int ret;

	if (!bind->bind_info.mr && bind->bind_info.length)
		return EINVAL;
	ret = rxe_hmm_post_send(qp, &wr, &bad);
	if (ret)
		return ret;
	mw->rkey = wr.bind_mw.rkey;
	return 0;
}

/* Completion queues */

enum {
	RXE_HMM_CQ_WC_FLAGS = IBV_WC_EX_WITH_BYTE_LEN | IBV_WC_EX_WITH_IMM |
			      IBV_WC_EX_WITH_QP_NUM | IBV_WC_EX_WITH_SRC_QP |
			      IBV_WC_EX_WITH_SLID | IBV_WC_EX_WITH_SL |
			      IBV_WC_EX_WITH_DLID_PATH_BITS |
			      IBV_WC_EX_WITH_COMPLETION_TIMESTAMP |
			      IBV_WC_EX_WITH_COMPLETION_TIMESTAMP_WALLCLOCK,
	RXE_HMM_CQ_TIMES = IBV_WC_EX_WITH_COMPLETION_TIMESTAMP |
			   IBV_WC_EX_WITH_COMPLETION_TIMESTAMP_WALLCLOCK,
};

static uint64_t rxe_hmm_clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * rxe's completion entries carry no time: the completion time is when
 * this provider first sees the entry.
 */
static void rxe_hmm_cq_stamp(struct rxe_hmm_cq *cq)
{
	if (cq->wc_flags & IBV_WC_EX_WITH_COMPLETION_TIMESTAMP)
		cq->cur_clock_ns = rxe_hmm_clock_ns(CLOCK_MONOTONIC);
	if (cq->wc_flags & IBV_WC_EX_WITH_COMPLETION_TIMESTAMP_WALLCLOCK)
		cq->cur_wallclock_ns = rxe_hmm_clock_ns(CLOCK_REALTIME);
}

static int rxe_hmm_cq_load(struct rxe_hmm_cq *cq, uint32_t index)
{
	struct rxe_queue_buf *b = cq->q.buf;

	if (index ==
	    atomic_load_explicit(rxe_hmm_producer(b), memory_order_acquire))
		return ENOENT;
	cq->cur_index = index;
	cq->cur = rxe_hmm_slot(b, index);
	cq->vcq.cq_ex.wr_id = cq->cur->wr_id;
	cq->vcq.cq_ex.status = cq->cur->status;
	rxe_hmm_cq_stamp(cq);
	return 0;
}

static int rxe_hmm_start_poll(struct ibv_cq_ex *ibcq,
			      struct ibv_poll_cq_attr *attr)
{
	struct rxe_hmm_cq *cq = ex_to_rcq(ibcq);
	uint32_t cons;
	int ret;

	if (attr->comp_mask)
		return EINVAL;
	pthread_spin_lock(&cq->q.lock);
	cons = atomic_load_explicit(rxe_hmm_consumer(cq->q.buf),
				    memory_order_relaxed);
	ret = rxe_hmm_cq_load(cq, cons);
	if (ret)
		pthread_spin_unlock(&cq->q.lock);
	return ret;
}

static int rxe_hmm_next_poll(struct ibv_cq_ex *ibcq)
{
	struct rxe_hmm_cq *cq = ex_to_rcq(ibcq);
	uint32_t next = rxe_hmm_next(cq->q.buf, cq->cur_index);

	/* the entry just read is consumed either way */
	atomic_store_explicit(rxe_hmm_consumer(cq->q.buf), next,
			      memory_order_release);
	return rxe_hmm_cq_load(cq, next);
}

static void rxe_hmm_end_poll(struct ibv_cq_ex *ibcq)
{
	struct rxe_hmm_cq *cq = ex_to_rcq(ibcq);
	struct rxe_queue_buf *b = cq->q.buf;
	uint32_t cons =
		atomic_load_explicit(rxe_hmm_consumer(b), memory_order_relaxed);

	/* next_poll() may have consumed the last entry already */
	if (cons == cq->cur_index)
		atomic_store_explicit(rxe_hmm_consumer(b),
				      rxe_hmm_next(b, cq->cur_index),
				      memory_order_release);
	pthread_spin_unlock(&cq->q.lock);
}

static enum ibv_wc_opcode rxe_hmm_read_opcode(struct ibv_cq_ex *ibcq)
{
	return ex_to_rcq(ibcq)->cur->opcode;
}

static uint32_t rxe_hmm_read_vendor_err(struct ibv_cq_ex *ibcq)
{
	return ex_to_rcq(ibcq)->cur->vendor_err;
}

static uint32_t rxe_hmm_read_byte_len(struct ibv_cq_ex *ibcq)
{
	return ex_to_rcq(ibcq)->cur->byte_len;
}

static __be32 rxe_hmm_read_imm_data(struct ibv_cq_ex *ibcq)
{
	/* the kernel stores it as it came off the wire */
	return (__be32)ex_to_rcq(ibcq)->cur->ex.imm_data;
}

static uint32_t rxe_hmm_read_qp_num(struct ibv_cq_ex *ibcq)
{
	return ex_to_rcq(ibcq)->cur->qp_num;
}

static uint32_t rxe_hmm_read_src_qp(struct ibv_cq_ex *ibcq)
{
	return ex_to_rcq(ibcq)->cur->src_qp;
}

static unsigned int rxe_hmm_read_wc_flags(struct ibv_cq_ex *ibcq)
{
	return ex_to_rcq(ibcq)->cur->wc_flags;
}

static uint32_t rxe_hmm_read_slid(struct ibv_cq_ex *ibcq)
{
	return ex_to_rcq(ibcq)->cur->slid;
}

static uint8_t rxe_hmm_read_sl(struct ibv_cq_ex *ibcq)
{
	return ex_to_rcq(ibcq)->cur->sl;
}

static uint8_t rxe_hmm_read_dlid_path_bits(struct ibv_cq_ex *ibcq)
{
	return ex_to_rcq(ibcq)->cur->dlid_path_bits;
}

static uint64_t rxe_hmm_read_completion_ts(struct ibv_cq_ex *ibcq)
{
	return ex_to_rcq(ibcq)->cur_clock_ns;
}

static uint64_t rxe_hmm_read_completion_wallclock_ns(struct ibv_cq_ex *ibcq)
{
	return ex_to_rcq(ibcq)->cur_wallclock_ns;
}

static void rxe_hmm_cq_set_ops(struct rxe_hmm_cq *cq, uint64_t wc_flags)
{
	struct ibv_cq_ex *ex = &cq->vcq.cq_ex;

	cq->wc_flags = wc_flags;
	ex->start_poll = rxe_hmm_start_poll;
	ex->next_poll = rxe_hmm_next_poll;
	ex->end_poll = rxe_hmm_end_poll;
	ex->read_opcode = rxe_hmm_read_opcode;
	ex->read_vendor_err = rxe_hmm_read_vendor_err;
	ex->read_wc_flags = rxe_hmm_read_wc_flags;
	if (wc_flags & IBV_WC_EX_WITH_BYTE_LEN)
		ex->read_byte_len = rxe_hmm_read_byte_len;
	if (wc_flags & IBV_WC_EX_WITH_IMM)
		ex->read_imm_data = rxe_hmm_read_imm_data;
	if (wc_flags & IBV_WC_EX_WITH_QP_NUM)
		ex->read_qp_num = rxe_hmm_read_qp_num;
	if (wc_flags & IBV_WC_EX_WITH_SRC_QP)
		ex->read_src_qp = rxe_hmm_read_src_qp;
	if (wc_flags & IBV_WC_EX_WITH_SLID)
		ex->read_slid = rxe_hmm_read_slid;
	if (wc_flags & IBV_WC_EX_WITH_SL)
		ex->read_sl = rxe_hmm_read_sl;
	if (wc_flags & IBV_WC_EX_WITH_DLID_PATH_BITS)
		ex->read_dlid_path_bits = rxe_hmm_read_dlid_path_bits;
	if (wc_flags & IBV_WC_EX_WITH_COMPLETION_TIMESTAMP)
		ex->read_completion_ts = rxe_hmm_read_completion_ts;
	if (wc_flags & IBV_WC_EX_WITH_COMPLETION_TIMESTAMP_WALLCLOCK)
		ex->read_completion_wallclock_ns =
			rxe_hmm_read_completion_wallclock_ns;
}

/* Maps the queue of a new CQ; destroys the CQ in the kernel on failure. */
static int rxe_hmm_cq_map(struct ibv_context *context, struct rxe_hmm_cq *cq,
			  const struct mminfo *mi)
{
	int ret;

	ret = rxe_hmm_map_queue(context, &cq->q, mi);
	if (!ret &&
	    (1UL << cq->q.buf->log2_elem_size) < sizeof(struct ib_uverbs_wc)) {
		rxe_hmm_unmap_queue(&cq->q);
		ret = EPROTO;
	}
	if (ret)
		ibv_cmd_destroy_cq(&cq->vcq.cq);
	return ret;
}

static struct ibv_cq *rxe_hmm_create_cq(struct ibv_context *context, int cqe,
					struct ibv_comp_channel *channel,
					int comp_vector)
{
	struct urxe_hmm_create_cq_resp resp = {};
	struct ibv_create_cq cmd;
	struct rxe_hmm_cq *cq;
	int ret;

	cq = calloc(1, sizeof(*cq));
	if (!cq) {
		errno = ENOMEM;
		return NULL;
	}
	ret = ibv_cmd_create_cq(context, cqe, channel, comp_vector, &cq->vcq.cq,
				&cmd, sizeof(cmd), &resp.ibv_resp,
				sizeof(resp));
	if (!ret)
		ret = rxe_hmm_cq_map(context, cq, &resp.mi);
	if (ret) {
		free(cq);
		errno = ret;
		return NULL;
	}
	rxe_hmm_cq_set_ops(cq, IBV_WC_STANDARD_FLAGS);
	return &cq->vcq.cq;
}

static struct ibv_cq_ex *rxe_hmm_create_cq_ex(struct ibv_context *context,
					      struct ibv_cq_init_attr_ex *attr)
{
	struct urxe_hmm_create_cq_ex_resp resp = {};
	struct ibv_cq_init_attr_ex kattr = *attr;
	struct ibv_create_cq_ex cmd;
	struct rxe_hmm_cq *cq;
	int ret;

	if (attr->wc_flags & ~(uint64_t)RXE_HMM_CQ_WC_FLAGS) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	if (attr->comp_mask & IBV_CQ_INIT_ATTR_MASK_PD) {
		/* a CQ belongs to no PD: only a parent domain may be named */
		if (!attr->parent_domain || !to_rpd(attr->parent_domain)->pd) {
			errno = EINVAL;
			return NULL;
		}
		kattr.comp_mask &= ~IBV_CQ_INIT_ATTR_MASK_PD;
	}

	cq = calloc(1, sizeof(*cq));
	if (!cq) {
		errno = ENOMEM;
		return NULL;
	}
	/* the times are ours, the kernel need not know them */
	kattr.wc_flags &= ~(uint64_t)RXE_HMM_CQ_TIMES;
	ret = ibv_cmd_create_cq_ex(context, &kattr, NULL, &cq->vcq, &cmd,
				   sizeof(cmd), &resp.ibv_resp, sizeof(resp),
				   0);
	if (!ret)
		ret = rxe_hmm_cq_map(context, cq, &resp.mi);
	if (ret) {
		free(cq);
		errno = ret;
		return NULL;
	}
	rxe_hmm_cq_set_ops(cq, attr->wc_flags);
	return &cq->vcq.cq_ex;
}

static int rxe_hmm_poll_cq(struct ibv_cq *ibcq, int ne, struct ibv_wc *wc)
{
	struct rxe_hmm_cq *cq = to_rcq(ibcq);
	struct rxe_queue_buf *b;
	struct ib_uverbs_wc *e;
	uint32_t cons, prod;
	int n = 0;

	pthread_spin_lock(&cq->q.lock);
	b = cq->q.buf;
	cons = atomic_load_explicit(rxe_hmm_consumer(b), memory_order_relaxed);
	prod = atomic_load_explicit(rxe_hmm_producer(b), memory_order_acquire);
	for (; n < ne && cons != prod; n++, cons = rxe_hmm_next(b, cons)) {
		e = rxe_hmm_slot(b, cons);
		wc[n] = (struct ibv_wc){
			.wr_id = e->wr_id,
			.status = e->status,
			.opcode = e->opcode,
			.vendor_err = e->vendor_err,
			.byte_len = e->byte_len,
			.imm_data = (__be32)e->ex.imm_data,
			.qp_num = e->qp_num,
			.src_qp = e->src_qp,
			.wc_flags = e->wc_flags,
			.pkey_index = e->pkey_index,
			.slid = e->slid,
			.sl = e->sl,
			.dlid_path_bits = e->dlid_path_bits,
		};
	}
	atomic_store_explicit(rxe_hmm_consumer(b), cons, memory_order_release);
	pthread_spin_unlock(&cq->q.lock);
	return n;
}

static int rxe_hmm_resize_cq(struct ibv_cq *ibcq, int cqe)
{
	struct urxe_hmm_resize_cq_resp resp = {};
	struct rxe_hmm_cq *cq = to_rcq(ibcq);
	struct ibv_resize_cq cmd;
	struct rxe_hmm_queue q = {};
	int ret;

	pthread_spin_lock(&cq->q.lock);
	ret = ibv_cmd_resize_cq(ibcq, cqe, &cmd, sizeof(cmd), &resp.ibv_resp,
				sizeof(resp));
	if (!ret)
		ret = rxe_hmm_map_queue(ibcq->context, &q, &resp.mi);
	if (ret) {
		pthread_spin_unlock(&cq->q.lock);
		return ret;
	}
	munmap(cq->q.buf, cq->q.map_len);
	cq->q.buf = q.buf;
	cq->q.map_len = q.map_len;
	pthread_spin_destroy(&q.lock);
	pthread_spin_unlock(&cq->q.lock);
	return 0;
}

static int rxe_hmm_destroy_cq(struct ibv_cq *ibcq)
{
	struct rxe_hmm_cq *cq = to_rcq(ibcq);
	int ret;

	ret = ibv_cmd_destroy_cq(ibcq);
	if (ret)
		return ret;
	rxe_hmm_unmap_queue(&cq->q);
	free(cq);
	return 0;
}

/* Receive queues, of a QP or shared */

static int rxe_hmm_post_one_recv(struct rxe_hmm_wq *rq, struct ibv_recv_wr *wr)
{
	struct rxe_queue_buf *b = rq->q.buf;
	struct rxe_recv_wqe *wqe;
	uint32_t prod, length = 0;
	int i;

	if (wr->num_sge < 0 || (unsigned int)wr->num_sge > rq->max_sge)
		return EINVAL;
	prod = atomic_load_explicit(rxe_hmm_producer(b), memory_order_relaxed);
	if (rxe_hmm_full(b, prod))
		return ENOMEM;

	wqe = rxe_hmm_slot(b, prod);
	wqe->wr_id = wr->wr_id;
	for (i = 0; i < wr->num_sge; i++) {
		wqe->dma.sge[i].addr = wr->sg_list[i].addr;
		wqe->dma.sge[i].length = wr->sg_list[i].length;
		wqe->dma.sge[i].lkey = wr->sg_list[i].lkey;
		length += wr->sg_list[i].length;
	}
	wqe->dma.length = length;
	wqe->dma.resid = length;
	wqe->dma.cur_sge = 0;
	wqe->dma.num_sge = wr->num_sge;
	wqe->dma.sge_offset = 0;
	atomic_store_explicit(rxe_hmm_producer(b), rxe_hmm_next(b, prod),
			      memory_order_release);
	return 0;
}

static int rxe_hmm_post_recv_list(struct rxe_hmm_wq *rq, struct ibv_recv_wr *wr,
				  struct ibv_recv_wr **bad_wr)
{
	int ret = 0;

	pthread_spin_lock(&rq->q.lock);
	for (; wr; wr = wr->next) {
		ret = rxe_hmm_post_one_recv(rq, wr);
		if (ret) {
			*bad_wr = wr;
			break;
		}
	}
	pthread_spin_unlock(&rq->q.lock);
	return ret;
}

static struct ibv_srq *rxe_hmm_srq_finish(struct ibv_context *context,
					  struct rxe_hmm_srq *srq,
					  const struct ibv_srq_attr *attr,
					  const struct rxe_create_srq_resp *r)
{
	int ret;

	ret = rxe_hmm_map_queue(context, &srq->rq.q, &r->mi);
	if (ret) {
		ibv_cmd_destroy_srq(&srq->vsrq.srq);
		free(srq);
		errno = ret;
		return NULL;
	}
	srq->rq.max_sge = attr->max_sge;
	srq->srq_num = r->srq_num;
	return &srq->vsrq.srq;
}

static struct ibv_srq *rxe_hmm_create_srq(struct ibv_pd *pd,
					  struct ibv_srq_init_attr *attr)
{
	struct urxe_hmm_create_srq_resp resp = {};
	struct ibv_create_srq cmd;
	struct rxe_hmm_srq *srq;
	int ret;

	srq = calloc(1, sizeof(*srq));
	if (!srq) {
		errno = ENOMEM;
		return NULL;
	}
	ret = ibv_cmd_create_srq(pd, &srq->vsrq.srq, attr, &cmd, sizeof(cmd),
				 &resp.ibv_resp, sizeof(resp));
	if (ret) {
		free(srq);
		errno = ret;
		return NULL;
	}
	return rxe_hmm_srq_finish(pd->context, srq, &attr->attr,
				  &resp.drv_payload);
}

static struct ibv_srq *rxe_hmm_create_srq_ex(struct ibv_context *context,
					     struct ibv_srq_init_attr_ex *attr)
{
	struct urxe_hmm_create_srq_ex_resp resp = {};
	struct ibv_create_xsrq cmd;
	struct rxe_hmm_srq *srq;
	int ret;

	srq = calloc(1, sizeof(*srq));
	if (!srq) {
		errno = ENOMEM;
		return NULL;
	}
	ret = ibv_cmd_create_srq_ex(context, &srq->vsrq, attr, &cmd,
				    sizeof(cmd), &resp.ibv_resp, sizeof(resp));
	if (ret) {
		free(srq);
		errno = ret;
		return NULL;
	}
	return rxe_hmm_srq_finish(context, srq, &attr->attr, &resp.drv_payload);
}

static int rxe_hmm_modify_srq(struct ibv_srq *ibsrq, struct ibv_srq_attr *attr,
			      int attr_mask)
{
	struct rxe_hmm_srq *srq = to_rsrq(ibsrq);
	struct urxe_hmm_modify_srq cmd = {};
	struct rxe_hmm_queue q = {};
	struct mminfo mi = {};
	int ret;

	/* a resize hands out a new queue through @mi */
	cmd.mmap_info_addr = (uintptr_t)&mi;
	pthread_spin_lock(&srq->rq.q.lock);
	ret = ibv_cmd_modify_srq(ibsrq, attr, attr_mask, &cmd.ibv_cmd,
				 sizeof(cmd));
	if (!ret && (attr_mask & IBV_SRQ_MAX_WR))
		ret = rxe_hmm_map_queue(ibsrq->context, &q, &mi);
	if (!ret && (attr_mask & IBV_SRQ_MAX_WR)) {
		munmap(srq->rq.q.buf, srq->rq.q.map_len);
		srq->rq.q.buf = q.buf;
		srq->rq.q.map_len = q.map_len;
		pthread_spin_destroy(&q.lock);
	}
	pthread_spin_unlock(&srq->rq.q.lock);
	return ret;
}

static int rxe_hmm_query_srq(struct ibv_srq *srq, struct ibv_srq_attr *attr)
{
	struct ibv_query_srq cmd;

	return ibv_cmd_query_srq(srq, attr, &cmd, sizeof(cmd));
}

static int rxe_hmm_get_srq_num(struct ibv_srq *srq, uint32_t *srq_num)
{
	*srq_num = to_rsrq(srq)->srq_num;
	return 0;
}

static int rxe_hmm_destroy_srq(struct ibv_srq *ibsrq)
{
	struct rxe_hmm_srq *srq = to_rsrq(ibsrq);
	int ret;

	ret = ibv_cmd_destroy_srq(ibsrq);
	if (ret)
		return ret;
	rxe_hmm_unmap_queue(&srq->rq.q);
	free(srq);
	return 0;
}

static int rxe_hmm_post_srq_recv(struct ibv_srq *srq, struct ibv_recv_wr *wr,
				 struct ibv_recv_wr **bad_wr)
{
	return rxe_hmm_post_recv_list(&to_rsrq(srq)->rq, wr, bad_wr);
}

/* Queue pairs */

/* Rings the doorbell: rxe runs a user QP's send queue on any post_send. */
static int rxe_hmm_doorbell(struct ibv_qp *qp)
{
	struct ib_uverbs_post_send_resp resp;
	struct ibv_post_send cmd = {
		.hdr = {
			.command = IB_USER_VERBS_CMD_POST_SEND,
			.in_words = sizeof(cmd) / 4,
			.out_words = sizeof(resp) / 4,
		},
		.response = (uintptr_t)&resp,
		.qp_handle = qp->handle,
		.wqe_size = sizeof(struct ibv_send_wr),
	};

	if (write(qp->context->cmd_fd, &cmd, sizeof(cmd)) != sizeof(cmd))
		return errno;
	return 0;
}

static int rxe_hmm_check_send_wr(struct rxe_hmm_qp *qp, struct ibv_send_wr *wr,
				 uint64_t length)
{
	enum ibv_qp_type type = qp->vqp.qp.qp_type;

	if (wr->num_sge < 0 || (unsigned int)wr->num_sge > qp->sq.max_sge)
		return EINVAL;
	if ((wr->send_flags & IBV_SEND_INLINE) && length > qp->sq.max_inline)
		return EINVAL;
	switch (wr->opcode) {
	case IBV_WR_SEND:
	case IBV_WR_SEND_WITH_IMM:
		if (type == IBV_QPT_UD && !wr->wr.ud.ah)
			return EINVAL;
		break;
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM:
		if (type == IBV_QPT_UD)
			return EINVAL;
		break;
	case IBV_WR_RDMA_READ:
		if (type != IBV_QPT_RC)
			return EINVAL;
		break;
	case IBV_WR_SEND_WITH_INV:
	case IBV_WR_LOCAL_INV:
		if (type == IBV_QPT_UD)
			return EINVAL;
		break;
	case IBV_WR_ATOMIC_CMP_AND_SWP:
	case IBV_WR_ATOMIC_FETCH_AND_ADD:
		if (type != IBV_QPT_RC || length < 8 ||
		    wr->wr.atomic.remote_addr & 7)
			return EINVAL;
		break;
	case IBV_WR_BIND_MW:
		/* a zero-length bind unbinds and needs no MR */
		if (length || wr->num_sge ||
		    (type != IBV_QPT_RC && type != IBV_QPT_UC) ||
		    !wr->bind_mw.mw ||
		    (!wr->bind_mw.bind_info.mr && wr->bind_mw.bind_info.length))
			return EINVAL;
		break;
	default:
		return EINVAL;
	}
	return 0;
}

static void rxe_hmm_fill_send_wqe(struct rxe_hmm_qp *qp,
				  struct rxe_send_wqe *wqe,
				  struct ibv_send_wr *wr, uint32_t length)
{
	struct rxe_send_wr *k = &wqe->wr;
	uint8_t *inl;
	int i;

	memset(wqe, 0, sizeof(*wqe));
	k->wr_id = wr->wr_id;
	k->opcode = wr->opcode;
	k->send_flags = wr->send_flags;
	switch (wr->opcode) {
	case IBV_WR_SEND_WITH_INV:
	case IBV_WR_LOCAL_INV:
		k->ex.invalidate_rkey = wr->invalidate_rkey;
		break;
	default:
		k->ex.imm_data = wr->imm_data;
		break;
	}

	switch (wr->opcode) {
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM:
	case IBV_WR_RDMA_READ:
		k->wr.rdma.remote_addr = wr->wr.rdma.remote_addr;
		k->wr.rdma.rkey = wr->wr.rdma.rkey;
		wqe->iova = wr->wr.rdma.remote_addr;
		break;
	case IBV_WR_ATOMIC_CMP_AND_SWP:
	case IBV_WR_ATOMIC_FETCH_AND_ADD:
		k->wr.atomic.remote_addr = wr->wr.atomic.remote_addr;
		k->wr.atomic.compare_add = wr->wr.atomic.compare_add;
		k->wr.atomic.swap = wr->wr.atomic.swap;
		k->wr.atomic.rkey = wr->wr.atomic.rkey;
		wqe->iova = wr->wr.atomic.remote_addr;
		break;
	case IBV_WR_BIND_MW:
		k->wr.mw.addr = wr->bind_mw.bind_info.addr;
		k->wr.mw.length = wr->bind_mw.bind_info.length;
		k->wr.mw.mr_lkey = wr->bind_mw.bind_info.mr ?
					   wr->bind_mw.bind_info.mr->lkey :
					   0;
		k->wr.mw.mw_rkey = wr->bind_mw.mw->rkey;
		k->wr.mw.rkey = wr->bind_mw.rkey;
		k->wr.mw.access = wr->bind_mw.bind_info.mw_access_flags;
		break;
	case IBV_WR_SEND:
	case IBV_WR_SEND_WITH_IMM:
		if (qp->vqp.qp.qp_type == IBV_QPT_UD) {
			k->wr.ud.remote_qpn = wr->wr.ud.remote_qpn;
			k->wr.ud.remote_qkey = wr->wr.ud.remote_qkey;
			k->wr.ud.ah_num = to_rah(wr->wr.ud.ah)->ah_num;
		}
		break;
	default:
		break;
	}

	if (wr->send_flags & IBV_SEND_INLINE) {
		inl = wqe->dma.inline_data;
		for (i = 0; i < wr->num_sge; i++) {
			memcpy(inl, (void *)(uintptr_t)wr->sg_list[i].addr,
			       wr->sg_list[i].length);
			inl += wr->sg_list[i].length;
		}
	} else {
		for (i = 0; i < wr->num_sge; i++) {
			wqe->dma.sge[i].addr = wr->sg_list[i].addr;
			wqe->dma.sge[i].length = wr->sg_list[i].length;
			wqe->dma.sge[i].lkey = wr->sg_list[i].lkey;
		}
		wqe->dma.num_sge = wr->num_sge;
	}
	wqe->dma.length = length;
	wqe->dma.resid = length;
}

static int rxe_hmm_post_send(struct ibv_qp *ibqp, struct ibv_send_wr *wr,
			     struct ibv_send_wr **bad_wr)
{
	struct rxe_hmm_qp *qp = to_rqp(ibqp);
	struct rxe_queue_buf *b = qp->sq.q.buf;
	uint32_t first, prod;
	uint64_t length;
	int ret = 0, i;

	pthread_spin_lock(&qp->sq.q.lock);
	prod = atomic_load_explicit(rxe_hmm_producer(b), memory_order_relaxed);
	first = prod;
	for (; wr; wr = wr->next) {
		length = 0;
		for (i = 0; i < wr->num_sge; i++)
			length += wr->sg_list[i].length;
		ret = rxe_hmm_check_send_wr(qp, wr, length);
		if (!ret && length > UINT32_MAX)
			ret = EINVAL;
		if (!ret && rxe_hmm_full(b, prod))
			ret = ENOMEM;
		if (ret) {
			*bad_wr = wr;
			break;
		}
		rxe_hmm_fill_send_wqe(qp, rxe_hmm_slot(b, prod), wr, length);
		prod = rxe_hmm_next(b, prod);
		atomic_store_explicit(rxe_hmm_producer(b), prod,
				      memory_order_release);
	}
	pthread_spin_unlock(&qp->sq.q.lock);

	/* what was queued before a bad request still goes */
	if (prod != first)
		i = rxe_hmm_doorbell(ibqp);
	else
		i = 0;
	return ret ?: i;
}

static int rxe_hmm_post_recv(struct ibv_qp *ibqp, struct ibv_recv_wr *wr,
			     struct ibv_recv_wr **bad_wr)
{
	struct rxe_hmm_qp *qp = to_rqp(ibqp);

	/* no SRQ, and past RESET (C10-97.2.1) */
	if (!qp->rq.q.buf || ibqp->state == IBV_QPS_RESET) {
		*bad_wr = wr;
		return EINVAL;
	}
	return rxe_hmm_post_recv_list(&qp->rq, wr, bad_wr);
}

/*
 * ibv_wr_*(): each builder fills the slot at wr_index and moves on; the
 * setters complete the last one. The first error sticks until
 * wr_complete() reports it and drops the whole batch.
 */
static struct rxe_send_wqe *rxe_hmm_wr_new(struct ibv_qp_ex *ibqp,
					   enum ibv_wr_opcode opcode)
{
	struct rxe_hmm_qp *qp = ex_to_rqp(ibqp);
	struct rxe_queue_buf *b = qp->sq.q.buf;
	struct rxe_send_wqe *wqe;

	qp->wr_cur = NULL;
	if (qp->wr_err)
		return NULL;
	if (rxe_hmm_full(b, qp->wr_index)) {
		qp->wr_err = ENOMEM;
		return NULL;
	}
	wqe = rxe_hmm_slot(b, qp->wr_index);
	memset(wqe, 0, sizeof(*wqe));
	wqe->wr.wr_id = ibqp->wr_id;
	wqe->wr.opcode = opcode;
	wqe->wr.send_flags = ibqp->wr_flags;
	qp->wr_index = rxe_hmm_next(b, qp->wr_index);
	qp->wr_cur = wqe;
	return wqe;
}

static struct rxe_send_wqe *rxe_hmm_wr_rdma(struct ibv_qp_ex *ibqp,
					    enum ibv_wr_opcode opcode,
					    uint32_t rkey, uint64_t addr)
{
	struct rxe_send_wqe *wqe = rxe_hmm_wr_new(ibqp, opcode);

	if (wqe) {
		wqe->wr.wr.rdma.remote_addr = addr;
		wqe->wr.wr.rdma.rkey = rkey;
		wqe->iova = addr;
	}
	return wqe;
}

static void rxe_hmm_wr_send(struct ibv_qp_ex *ibqp)
{
	rxe_hmm_wr_new(ibqp, IBV_WR_SEND);
}

static void rxe_hmm_wr_send_imm(struct ibv_qp_ex *ibqp, __be32 imm_data)
{
	struct rxe_send_wqe *wqe = rxe_hmm_wr_new(ibqp, IBV_WR_SEND_WITH_IMM);

	if (wqe)
		wqe->wr.ex.imm_data = imm_data;
}

static void rxe_hmm_wr_send_inv(struct ibv_qp_ex *ibqp, uint32_t rkey)
{
	struct rxe_send_wqe *wqe = rxe_hmm_wr_new(ibqp, IBV_WR_SEND_WITH_INV);

	if (wqe)
		wqe->wr.ex.invalidate_rkey = rkey;
}

static void rxe_hmm_wr_rdma_write(struct ibv_qp_ex *ibqp, uint32_t rkey,
				  uint64_t remote_addr)
{
	rxe_hmm_wr_rdma(ibqp, IBV_WR_RDMA_WRITE, rkey, remote_addr);
}

static void rxe_hmm_wr_rdma_write_imm(struct ibv_qp_ex *ibqp, uint32_t rkey,
				      uint64_t remote_addr, __be32 imm_data)
{
	struct rxe_send_wqe *wqe = rxe_hmm_wr_rdma(
		ibqp, IBV_WR_RDMA_WRITE_WITH_IMM, rkey, remote_addr);

	if (wqe)
		wqe->wr.ex.imm_data = imm_data;
}

static void rxe_hmm_wr_rdma_read(struct ibv_qp_ex *ibqp, uint32_t rkey,
				 uint64_t remote_addr)
{
	rxe_hmm_wr_rdma(ibqp, IBV_WR_RDMA_READ, rkey, remote_addr);
}

static void rxe_hmm_wr_atomic(struct ibv_qp_ex *ibqp, enum ibv_wr_opcode opcode,
			      uint32_t rkey, uint64_t remote_addr,
			      uint64_t compare_add, uint64_t swap)
{
	struct rxe_hmm_qp *qp = ex_to_rqp(ibqp);
	struct rxe_send_wqe *wqe;

	if (remote_addr & 7) {
		if (!qp->wr_err)
			qp->wr_err = EINVAL;
		return;
	}
	wqe = rxe_hmm_wr_new(ibqp, opcode);
	if (!wqe)
		return;
	wqe->wr.wr.atomic.remote_addr = remote_addr;
	wqe->wr.wr.atomic.compare_add = compare_add;
	wqe->wr.wr.atomic.swap = swap;
	wqe->wr.wr.atomic.rkey = rkey;
	wqe->iova = remote_addr;
}

static void rxe_hmm_wr_atomic_cmp_swp(struct ibv_qp_ex *ibqp, uint32_t rkey,
				      uint64_t remote_addr, uint64_t compare,
				      uint64_t swap)
{
	rxe_hmm_wr_atomic(ibqp, IBV_WR_ATOMIC_CMP_AND_SWP, rkey, remote_addr,
			  compare, swap);
}

static void rxe_hmm_wr_atomic_fetch_add(struct ibv_qp_ex *ibqp, uint32_t rkey,
					uint64_t remote_addr, uint64_t add)
{
	rxe_hmm_wr_atomic(ibqp, IBV_WR_ATOMIC_FETCH_AND_ADD, rkey, remote_addr,
			  add, 0);
}

static void rxe_hmm_wr_atomic_write(struct ibv_qp_ex *ibqp, uint32_t rkey,
				    uint64_t remote_addr, const void *atomic_wr)
{
	struct rxe_send_wqe *wqe =
		rxe_hmm_wr_rdma(ibqp, IBV_WR_ATOMIC_WRITE, rkey, remote_addr);

	if (!wqe)
		return;
	/* the 8 bytes travel inline */
	memcpy(wqe->dma.atomic_wr, atomic_wr, 8);
	wqe->dma.length = 8;
	wqe->dma.resid = 8;
}

static void rxe_hmm_wr_flush(struct ibv_qp_ex *ibqp, uint32_t rkey,
			     uint64_t remote_addr, size_t len, uint8_t type,
			     uint8_t level)
{
	struct rxe_send_wqe *wqe = rxe_hmm_wr_new(ibqp, IBV_WR_FLUSH);

	if (!wqe)
		return;
	wqe->wr.wr.flush.remote_addr = remote_addr;
	wqe->wr.wr.flush.rkey = rkey;
	wqe->wr.wr.flush.type = type;
	wqe->wr.wr.flush.level = level;
	wqe->dma.length = len;
	wqe->dma.resid = len;
	wqe->iova = remote_addr;
}

static void rxe_hmm_wr_local_inv(struct ibv_qp_ex *ibqp, uint32_t rkey)
{
	struct rxe_send_wqe *wqe = rxe_hmm_wr_new(ibqp, IBV_WR_LOCAL_INV);

	if (wqe)
		wqe->wr.ex.invalidate_rkey = rkey;
}

static void rxe_hmm_wr_bind_mw(struct ibv_qp_ex *ibqp, struct ibv_mw *mw,
			       uint32_t rkey,
			       const struct ibv_mw_bind_info *info)
{
	struct rxe_hmm_qp *qp = ex_to_rqp(ibqp);
	struct rxe_send_wqe *wqe;

	if (!info->mr && info->length) {
		if (!qp->wr_err)
			qp->wr_err = EINVAL;
		return;
	}
	wqe = rxe_hmm_wr_new(ibqp, IBV_WR_BIND_MW);
	if (!wqe)
		return;
	wqe->wr.wr.mw.addr = info->addr;
	wqe->wr.wr.mw.length = info->length;
	wqe->wr.wr.mw.mr_lkey = info->mr ? info->mr->lkey : 0;
	wqe->wr.wr.mw.mw_rkey = mw->rkey;
	wqe->wr.wr.mw.rkey = rkey;
	wqe->wr.wr.mw.access = info->mw_access_flags;
}

static void rxe_hmm_wr_set_ud_addr(struct ibv_qp_ex *ibqp, struct ibv_ah *ah,
				   uint32_t remote_qpn, uint32_t remote_qkey)
{
	struct rxe_send_wqe *wqe = ex_to_rqp(ibqp)->wr_cur;

	if (!wqe)
		return;
	wqe->wr.wr.ud.remote_qpn = remote_qpn;
	wqe->wr.wr.ud.remote_qkey = remote_qkey;
	wqe->wr.wr.ud.ah_num = to_rah(ah)->ah_num;
}

static void rxe_hmm_wr_set_sge_list(struct ibv_qp_ex *ibqp, size_t num_sge,
				    const struct ibv_sge *sg)
{
	struct rxe_hmm_qp *qp = ex_to_rqp(ibqp);
	struct rxe_send_wqe *wqe = qp->wr_cur;
	uint64_t length = 0;
	size_t i;

	if (!wqe)
		return;
	if (num_sge > qp->sq.max_sge) {
		qp->wr_err = EINVAL;
		return;
	}
	for (i = 0; i < num_sge; i++) {
		wqe->dma.sge[i].addr = sg[i].addr;
		wqe->dma.sge[i].length = sg[i].length;
		wqe->dma.sge[i].lkey = sg[i].lkey;
		length += sg[i].length;
	}
	if (length > UINT32_MAX) {
		qp->wr_err = EINVAL;
		return;
	}
	wqe->dma.num_sge = num_sge;
	wqe->dma.length = length;
	wqe->dma.resid = length;
}

static void rxe_hmm_wr_set_sge(struct ibv_qp_ex *ibqp, uint32_t lkey,
			       uint64_t addr, uint32_t length)
{
	struct ibv_sge sge = { .addr = addr, .length = length, .lkey = lkey };

	/* a zero-length SGE is no SGE */
	rxe_hmm_wr_set_sge_list(ibqp, length ? 1 : 0, &sge);
}

static void rxe_hmm_wr_set_inline_data_list(struct ibv_qp_ex *ibqp,
					    size_t num_buf,
					    const struct ibv_data_buf *bufs)
{
	struct rxe_hmm_qp *qp = ex_to_rqp(ibqp);
	struct rxe_send_wqe *wqe = qp->wr_cur;
	size_t i, length = 0;

	if (!wqe)
		return;
	for (i = 0; i < num_buf; i++) {
		if (bufs[i].length > qp->sq.max_inline - length) {
			qp->wr_err = EINVAL;
			return;
		}
		memcpy(wqe->dma.inline_data + length, bufs[i].addr,
		       bufs[i].length);
		length += bufs[i].length;
	}
	wqe->wr.send_flags |= IBV_SEND_INLINE;
	wqe->dma.length = length;
	wqe->dma.resid = length;
}

static void rxe_hmm_wr_set_inline_data(struct ibv_qp_ex *ibqp, void *addr,
				       size_t length)
{
	struct ibv_data_buf buf = { .addr = addr, .length = length };

	rxe_hmm_wr_set_inline_data_list(ibqp, 1, &buf);
}

static void rxe_hmm_wr_start(struct ibv_qp_ex *ibqp)
{
	struct rxe_hmm_qp *qp = ex_to_rqp(ibqp);

	pthread_spin_lock(&qp->sq.q.lock);
	qp->wr_err = 0;
	qp->wr_cur = NULL;
	qp->wr_index = atomic_load_explicit(rxe_hmm_producer(qp->sq.q.buf),
					    memory_order_relaxed);
}

static int rxe_hmm_wr_complete(struct ibv_qp_ex *ibqp)
{
	struct rxe_hmm_qp *qp = ex_to_rqp(ibqp);
	int ret = qp->wr_err;

	if (!ret)
		atomic_store_explicit(rxe_hmm_producer(qp->sq.q.buf),
				      qp->wr_index, memory_order_release);
	pthread_spin_unlock(&qp->sq.q.lock);
	if (ret)
		return ret;
	return rxe_hmm_doorbell(&qp->vqp.qp);
}

static void rxe_hmm_wr_abort(struct ibv_qp_ex *ibqp)
{
	pthread_spin_unlock(&ex_to_rqp(ibqp)->sq.q.lock);
}

enum {
	RXE_HMM_QP_COMP_MASK = IBV_QP_INIT_ATTR_PD |
			       IBV_QP_INIT_ATTR_CREATE_FLAGS |
			       IBV_QP_INIT_ATTR_SEND_OPS_FLAGS,
	RXE_HMM_UD_SEND_OPS =
		IBV_QP_EX_WITH_SEND | IBV_QP_EX_WITH_SEND_WITH_IMM,
	RXE_HMM_UC_SEND_OPS =
		RXE_HMM_UD_SEND_OPS | IBV_QP_EX_WITH_RDMA_WRITE |
		IBV_QP_EX_WITH_RDMA_WRITE_WITH_IMM | IBV_QP_EX_WITH_BIND_MW |
		IBV_QP_EX_WITH_SEND_WITH_INV | IBV_QP_EX_WITH_LOCAL_INV,
	RXE_HMM_RC_SEND_OPS = RXE_HMM_UC_SEND_OPS | IBV_QP_EX_WITH_RDMA_READ |
			      IBV_QP_EX_WITH_ATOMIC_CMP_AND_SWP |
			      IBV_QP_EX_WITH_ATOMIC_FETCH_AND_ADD |
			      IBV_QP_EX_WITH_FLUSH |
			      IBV_QP_EX_WITH_ATOMIC_WRITE,
};

static int rxe_hmm_check_qp_attr(const struct ibv_qp_init_attr_ex *attr)
{
	uint64_t ops;

	if (!check_comp_mask(attr->comp_mask, RXE_HMM_QP_COMP_MASK))
		return EOPNOTSUPP;
	if ((attr->comp_mask & IBV_QP_INIT_ATTR_CREATE_FLAGS) &&
	    attr->create_flags)
		return EOPNOTSUPP;
	if (!(attr->comp_mask & IBV_QP_INIT_ATTR_SEND_OPS_FLAGS))
		return 0;
	switch (attr->qp_type) {
	case IBV_QPT_RC:
		ops = RXE_HMM_RC_SEND_OPS;
		break;
	case IBV_QPT_UC:
		ops = RXE_HMM_UC_SEND_OPS;
		break;
	case IBV_QPT_UD:
		ops = RXE_HMM_UD_SEND_OPS;
		break;
	default:
		return EOPNOTSUPP;
	}
	return attr->send_ops_flags & ~ops ? EOPNOTSUPP : 0;
}

static void rxe_hmm_qp_set_ops(struct rxe_hmm_qp *qp, uint64_t ops)
{
	struct ibv_qp_ex *ex = &qp->vqp.qp_ex;

	if (ops & IBV_QP_EX_WITH_SEND)
		ex->wr_send = rxe_hmm_wr_send;
	if (ops & IBV_QP_EX_WITH_SEND_WITH_IMM)
		ex->wr_send_imm = rxe_hmm_wr_send_imm;
	if (ops & IBV_QP_EX_WITH_SEND_WITH_INV)
		ex->wr_send_inv = rxe_hmm_wr_send_inv;
	if (ops & IBV_QP_EX_WITH_RDMA_WRITE)
		ex->wr_rdma_write = rxe_hmm_wr_rdma_write;
	if (ops & IBV_QP_EX_WITH_RDMA_WRITE_WITH_IMM)
		ex->wr_rdma_write_imm = rxe_hmm_wr_rdma_write_imm;
	if (ops & IBV_QP_EX_WITH_RDMA_READ)
		ex->wr_rdma_read = rxe_hmm_wr_rdma_read;
	if (ops & IBV_QP_EX_WITH_ATOMIC_CMP_AND_SWP)
		ex->wr_atomic_cmp_swp = rxe_hmm_wr_atomic_cmp_swp;
	if (ops & IBV_QP_EX_WITH_ATOMIC_FETCH_AND_ADD)
		ex->wr_atomic_fetch_add = rxe_hmm_wr_atomic_fetch_add;
	if (ops & IBV_QP_EX_WITH_ATOMIC_WRITE)
		ex->wr_atomic_write = rxe_hmm_wr_atomic_write;
	if (ops & IBV_QP_EX_WITH_FLUSH)
		ex->wr_flush = rxe_hmm_wr_flush;
	if (ops & IBV_QP_EX_WITH_LOCAL_INV)
		ex->wr_local_inv = rxe_hmm_wr_local_inv;
	if (ops & IBV_QP_EX_WITH_BIND_MW)
		ex->wr_bind_mw = rxe_hmm_wr_bind_mw;
	ex->wr_set_ud_addr = rxe_hmm_wr_set_ud_addr;
	ex->wr_set_sge = rxe_hmm_wr_set_sge;
	ex->wr_set_sge_list = rxe_hmm_wr_set_sge_list;
	ex->wr_set_inline_data = rxe_hmm_wr_set_inline_data;
	ex->wr_set_inline_data_list = rxe_hmm_wr_set_inline_data_list;
	ex->wr_start = rxe_hmm_wr_start;
	ex->wr_complete = rxe_hmm_wr_complete;
	ex->wr_abort = rxe_hmm_wr_abort;
}

/* Maps the queues of a new QP; destroys the QP in the kernel on failure. */
static int rxe_hmm_qp_map(struct ibv_context *context, struct rxe_hmm_qp *qp,
			  const struct ibv_qp_cap *cap,
			  const struct rxe_create_qp_resp *r)
{
	int ret = 0;

	/* no receive queue of its own with an SRQ */
	if (r->rq_mi.size)
		ret = rxe_hmm_map_queue(context, &qp->rq.q, &r->rq_mi);
	if (!ret)
		ret = rxe_hmm_map_queue(context, &qp->sq.q, &r->sq_mi);
	if (ret) {
		rxe_hmm_unmap_queue(&qp->rq.q);
		ibv_cmd_destroy_qp(&qp->vqp.qp);
		return ret;
	}
	qp->sq.max_sge = cap->max_send_sge;
	qp->sq.max_inline = cap->max_inline_data;
	qp->rq.max_sge = cap->max_recv_sge;
	return 0;
}

static struct ibv_qp *rxe_hmm_create_qp(struct ibv_pd *pd,
					struct ibv_qp_init_attr *attr)
{
	struct urxe_hmm_create_qp_resp resp = {};
	struct ibv_create_qp cmd;
	struct rxe_hmm_qp *qp;
	int ret;

	qp = calloc(1, sizeof(*qp));
	if (!qp) {
		errno = ENOMEM;
		return NULL;
	}
	ret = ibv_cmd_create_qp(pd, &qp->vqp.qp, attr, &cmd, sizeof(cmd),
				&resp.ibv_resp, sizeof(resp));
	if (!ret)
		ret = rxe_hmm_qp_map(pd->context, qp, &attr->cap,
				     &resp.drv_payload);
	if (ret) {
		free(qp);
		errno = ret;
		return NULL;
	}
	return &qp->vqp.qp;
}

static struct ibv_qp *rxe_hmm_create_qp_ex(struct ibv_context *context,
					   struct ibv_qp_init_attr_ex *attr)
{
	struct urxe_hmm_create_qp_ex_resp resp = {};
	struct ibv_create_qp_ex cmd = {};
	struct rxe_hmm_qp *qp;
	int ret;

	ret = rxe_hmm_check_qp_attr(attr);
	if (ret) {
		errno = ret;
		return NULL;
	}
	qp = calloc(1, sizeof(*qp));
	if (!qp) {
		errno = ENOMEM;
		return NULL;
	}
	if (attr->comp_mask & IBV_QP_INIT_ATTR_SEND_OPS_FLAGS)
		rxe_hmm_qp_set_ops(qp, attr->send_ops_flags);
	ret = ibv_cmd_create_qp_ex2(context, &qp->vqp, attr, &cmd, sizeof(cmd),
				    &resp.ibv_resp, sizeof(resp), NULL);
	if (ret) {
		free(qp);
		errno = ret;
		return NULL;
	}
	if (attr->comp_mask & IBV_QP_INIT_ATTR_SEND_OPS_FLAGS)
		qp->vqp.comp_mask |= VERBS_QP_EX;
	ret = rxe_hmm_qp_map(context, qp, &attr->cap, &resp.drv_payload);
	if (ret) {
		free(qp);
		errno = ret;
		return NULL;
	}
	return &qp->vqp.qp;
}

static int rxe_hmm_query_qp(struct ibv_qp *qp, struct ibv_qp_attr *attr,
			    int attr_mask, struct ibv_qp_init_attr *init_attr)
{
	struct ibv_query_qp cmd;

	return ibv_cmd_query_qp(qp, attr, attr_mask, init_attr, &cmd,
				sizeof(cmd));
}

/*
 * Drops the completions of QP @qpn from @ibcq: a QP taken back to RESET
 * starts afresh, without the flushed completions of its past. The
 * entries left are packed towards the producer, which the kernel only
 * ever moves away from them.
 */
static void rxe_hmm_cq_clean(struct ibv_cq *ibcq, uint32_t qpn)
{
	struct rxe_hmm_cq *cq = to_rcq(ibcq);
	struct rxe_queue_buf *b = cq->q.buf;
	size_t size = 1UL << b->log2_elem_size;
	uint32_t cons, from, to;
	struct ib_uverbs_wc *e;

	pthread_spin_lock(&cq->q.lock);
	cons = atomic_load_explicit(rxe_hmm_consumer(b), memory_order_relaxed);
	to = atomic_load_explicit(rxe_hmm_producer(b), memory_order_acquire);
	for (from = to; from != cons;) {
		from = (from - 1) & b->index_mask;
		e = rxe_hmm_slot(b, from);
		if (e->qp_num == qpn)
			continue;
		to = (to - 1) & b->index_mask;
		if (to != from)
			memcpy(rxe_hmm_slot(b, to), e, size);
	}
	atomic_store_explicit(rxe_hmm_consumer(b), to, memory_order_release);
	pthread_spin_unlock(&cq->q.lock);
}

static int rxe_hmm_modify_qp(struct ibv_qp *qp, struct ibv_qp_attr *attr,
			     int attr_mask)
{
	struct ibv_modify_qp cmd = {};
	int ret;

	ret = ibv_cmd_modify_qp(qp, attr, attr_mask, &cmd, sizeof(cmd));
	if (ret || !(attr_mask & IBV_QP_STATE) ||
	    attr->qp_state != IBV_QPS_RESET)
		return ret;
	if (qp->recv_cq)
		rxe_hmm_cq_clean(qp->recv_cq, qp->qp_num);
	if (qp->send_cq && qp->send_cq != qp->recv_cq)
		rxe_hmm_cq_clean(qp->send_cq, qp->qp_num);
	return 0;
}

static int rxe_hmm_destroy_qp(struct ibv_qp *ibqp)
{
	struct rxe_hmm_qp *qp = to_rqp(ibqp);
	int ret;

	ret = ibv_cmd_destroy_qp(ibqp);
	if (ret)
		return ret;
	rxe_hmm_unmap_queue(&qp->rq.q);
	rxe_hmm_unmap_queue(&qp->sq.q);
	free(qp);
	return 0;
}

/* Address handles: the kernel keeps the address, sends name its index. */

static struct ibv_ah *rxe_hmm_create_ah(struct ibv_pd *pd,
					struct ibv_ah_attr *attr)
{
	struct urxe_hmm_create_ah_resp resp = {};
	struct rxe_hmm_ah *ah;
	int ret;

	ah = calloc(1, sizeof(*ah));
	if (!ah) {
		errno = ENOMEM;
		return NULL;
	}
	ret = ibv_cmd_create_ah(pd, &ah->ibv_ah, attr, &resp.ibv_resp,
				sizeof(resp));
	if (!ret && !resp.ah_num) {
		/* rxe_hmm always numbers its AHs */
		ibv_cmd_destroy_ah(&ah->ibv_ah);
		ret = EPROTO;
	}
	if (ret) {
		free(ah);
		errno = ret;
		return NULL;
	}
	ah->ah_num = resp.ah_num;
	return &ah->ibv_ah;
}

static int rxe_hmm_destroy_ah(struct ibv_ah *ibah)
{
	int ret;

	ret = ibv_cmd_destroy_ah(ibah);
	if (ret)
		return ret;
	free(to_rah(ibah));
	return 0;
}

/* Context and device */

static void rxe_hmm_free_context(struct ibv_context *ibctx);

static const struct verbs_context_ops rxe_hmm_ctx_ops = {
	.advise_mr = ibv_cmd_advise_mr,
	.alloc_mw = rxe_hmm_alloc_mw,
	.alloc_parent_domain = rxe_hmm_alloc_parent_domain,
	.alloc_pd = rxe_hmm_alloc_pd,
	.attach_mcast = ibv_cmd_attach_mcast,
	.bind_mw = rxe_hmm_bind_mw,
	.create_ah = rxe_hmm_create_ah,
	.create_cq = rxe_hmm_create_cq,
	.create_cq_ex = rxe_hmm_create_cq_ex,
	.create_qp = rxe_hmm_create_qp,
	.create_qp_ex = rxe_hmm_create_qp_ex,
	.create_srq = rxe_hmm_create_srq,
	.create_srq_ex = rxe_hmm_create_srq_ex,
	.dealloc_mw = rxe_hmm_dealloc_mw,
	.dealloc_pd = rxe_hmm_dealloc_pd,
	.dereg_mr = rxe_hmm_dereg_mr,
	.destroy_ah = rxe_hmm_destroy_ah,
	.destroy_cq = rxe_hmm_destroy_cq,
	.destroy_qp = rxe_hmm_destroy_qp,
	.destroy_srq = rxe_hmm_destroy_srq,
	.detach_mcast = ibv_cmd_detach_mcast,
	.free_context = rxe_hmm_free_context,
	.get_srq_num = rxe_hmm_get_srq_num,
	.modify_qp = rxe_hmm_modify_qp,
	.modify_srq = rxe_hmm_modify_srq,
	.poll_cq = rxe_hmm_poll_cq,
	.post_recv = rxe_hmm_post_recv,
	.post_send = rxe_hmm_post_send,
	.post_srq_recv = rxe_hmm_post_srq_recv,
	.query_device_ex = rxe_hmm_query_device,
	.query_port = rxe_hmm_query_port,
	.query_qp = rxe_hmm_query_qp,
	.query_srq = rxe_hmm_query_srq,
	.reg_mr = rxe_hmm_reg_mr,
	.req_notify_cq = ibv_cmd_req_notify_cq,
	.rereg_mr = rxe_hmm_rereg_mr,
	.resize_cq = rxe_hmm_resize_cq,
};

static struct verbs_context *
rxe_hmm_alloc_context(struct ibv_device *ibdev, int cmd_fd, void *private_data)
{
	struct ib_uverbs_get_context_resp resp;
	struct rxe_hmm_context *ctx;
	struct ibv_get_context cmd;

	ctx = verbs_init_and_alloc_context(ibdev, cmd_fd, ctx, vctx,
					   RXE_HMM_DRIVER_ID);
	if (!ctx)
		return NULL;
	if (ibv_cmd_get_context(&ctx->vctx, &cmd, sizeof(cmd), NULL, &resp,
				sizeof(resp))) {
		verbs_uninit_context(&ctx->vctx);
		free(ctx);
		return NULL;
	}
	verbs_set_ops(&ctx->vctx, &rxe_hmm_ctx_ops);
	return &ctx->vctx;
}

static void rxe_hmm_free_context(struct ibv_context *ibctx)
{
	struct rxe_hmm_context *ctx =
		container_of(ibctx, struct rxe_hmm_context, vctx.context);

	verbs_uninit_context(&ctx->vctx);
	free(ctx);
}

static struct verbs_device *rxe_hmm_device_alloc(struct verbs_sysfs_dev *s)
{
	struct rxe_hmm_device *dev;

	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	return &dev->vdev;
}

static void rxe_hmm_uninit_device(struct verbs_device *vdev)
{
	free(container_of(vdev, struct rxe_hmm_device, vdev));
}

static const struct verbs_device_ops rxe_hmm_dev_ops = {
	.name = "rxe_hmm",
	/* one version: the ABI of rdma/rxe_hmm-abi.h this was built with */
	.match_min_abi_version = RXE_HMM_UVERBS_ABI_VERSION,
	.match_max_abi_version = RXE_HMM_UVERBS_ABI_VERSION,
	.match_table = rxe_hmm_match_table,
	.alloc_device = rxe_hmm_device_alloc,
	.uninit_device = rxe_hmm_uninit_device,
	.alloc_context = rxe_hmm_alloc_context,
};

bool is_rxe_hmm_dev(struct ibv_device *device)
{
	return verbs_get_device(device)->ops == &rxe_hmm_dev_ops;
}

PROVIDER_DRIVER(rxe_hmm, rxe_hmm_dev_ops);
