// SPDX-License-Identifier: GPL-2.0
/* Two RC QPs of one device in loopback; see rdma.h. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rdma.h"
#include "kselftest.h"

int rdma_reconnect(struct rdma *r)
{
	int tries;

	for (tries = 0; tries < 5; tries++) {
		if (!qp_connect(&r->v, r->qp[0], &r->v.gid, r->qp[1]->qp_num,
				QP_TIMEOUT) &&
		    !qp_connect(&r->v, r->qp[1], &r->v.gid, r->qp[0]->qp_num,
				QP_TIMEOUT))
			return 0;
		/*
		 * The responder's QP reaches the error state in rxe's own
		 * task, after the requester saw the error completion; a
		 * transition that raced with it is refused. Start over.
		 */
		usleep(20 * 1000);
	}
	return -1;
}

int rdma_open(struct rdma *r, const char *dev_env, const char *gid_env,
	      size_t buf_len)
{
	int err;

	memset(r, 0, sizeof(*r));
	if (!getenv(dev_env) || !getenv(gid_env))
		return -ENODEV;
	err = verbs_open(&r->v, getenv(dev_env), atoi(getenv(gid_env)));
	if (err)
		return err;
	r->qp[0] = verbs_create_qp(&r->v);
	r->qp[1] = verbs_create_qp(&r->v);
	if (!r->qp[0] || !r->qp[1])
		return -errno;
	r->buf_len = buf_len;
	r->buf = aligned_alloc(PAGE, buf_len);
	if (!r->buf)
		return -ENOMEM;
	memset(r->buf, 0, r->buf_len);
	r->buf_mr = ibv_reg_mr(r->v.pd, r->buf, r->buf_len, IBV_ACCESS_LOCAL_WRITE);
	if (!r->buf_mr)
		return -errno;
	return rdma_reconnect(r) ? -errno : 0;
}

int rdma_op(struct rdma *r, enum ibv_wr_opcode op, size_t loff,
		   size_t len, uint64_t raddr, uint32_t rkey,
		   uint64_t compare_add, uint64_t swap)
{
	return post_wait(&r->v, r->qp[0], op, r->buf + loff, len,
			 r->buf_mr->lkey, raddr, rkey, compare_add, swap);
}

int rdma_write(struct rdma *r, size_t loff, size_t len, uint64_t raddr,
		      uint32_t rkey)
{
	return rdma_op(r, IBV_WR_RDMA_WRITE, loff, len, raddr, rkey, 0, 0);
}

int rdma_read(struct rdma *r, size_t loff, size_t len, uint64_t raddr,
		     uint32_t rkey)
{
	return rdma_op(r, IBV_WR_RDMA_READ, loff, len, raddr, rkey, 0, 0);
}

struct ibv_qp_ex *rdma_qp_ex(struct rdma *r, uint64_t ops)
{
	struct ibv_qp_init_attr_ex qa = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 4, .max_recv_wr = 4,
			 .max_send_sge = 1, .max_recv_sge = 1 },
		.comp_mask = IBV_QP_INIT_ATTR_PD |
			     IBV_QP_INIT_ATTR_SEND_OPS_FLAGS,
		.send_ops_flags = ops,
		.pd = r->v.pd,
		.send_cq = r->v.cq,
		.recv_cq = r->v.cq,
	};
	struct ibv_qp *qp = ibv_create_qp_ex(r->v.ctx, &qa);

	if (!qp)
		return NULL;
	if (qp_connect(&r->v, qp, &r->v.gid, r->qp[1]->qp_num, QP_TIMEOUT) ||
	    qp_connect(&r->v, r->qp[1], &r->v.gid, qp->qp_num, QP_TIMEOUT)) {
		ibv_destroy_qp(qp);
		return NULL;
	}
	return ibv_qp_to_qp_ex(qp);
}

void *map_anon(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

long long dev_counter(const char *dev, const char *name)
{
	char path[256];
	long long v;
	FILE *f;

	/* the core caches hw counters for RDMA_HW_STATS_DEFAULT_LIFESPAN */
	usleep(50 * 1000);
	snprintf(path, sizeof(path),
		 "/sys/class/infiniband/%s/ports/1/hw_counters/%s",
		 dev, name);
	/*
	 * A counter that cannot be read is a failure of the test that asked,
	 * never a value: two missing reads must not compare equal.
	 */
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "# counter %s: %s\n", path, strerror(errno));
		exit(KSFT_FAIL);
	}
	if (fscanf(f, "%lld", &v) != 1) {
		fprintf(stderr, "# counter %s: not a number\n", path);
		exit(KSFT_FAIL);
	}
	fclose(f);
	return v;
}

long long counter(const char *name)
{
	return dev_counter(getenv("RXE_HMM_DEV"), name);
}

long long settle(long long (*read)(void), long long want)
{
	long long v = read();
	int i;

	for (i = 0; i < 100 && v != want; i++) {
		usleep(20 * 1000);
		v = read();
	}
	return v;
}
