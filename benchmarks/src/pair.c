// SPDX-License-Identifier: GPL-2.0
/* Two devices with RC QPs connected across; see pair.h. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pair.h"

/* 4 s per try: the access delay knob must not look like a lost packet */
#define QP_TIMEOUT	20

static int verbs_open_env(struct verbs *v, const char *dev_env,
			  const char *gid_env)
{
	const char *dev = getenv(dev_env), *gid = getenv(gid_env);

	if (!dev || !gid) {
		fprintf(stderr, "$%s and $%s name the device\n", dev_env,
			gid_env);
		return EINVAL;
	}
	return -verbs_open(v, dev, atoi(gid));
}

int pair_open(struct pair *p, unsigned int nqps, size_t buf_len)
{
	unsigned int i;
	int err;

	memset(p, 0, sizeof(*p));
	if (!nqps || nqps > PAIR_MAX_QPS)
		return EINVAL;
	err = verbs_open_env(&p->a, "RXE_HMM_DEV", "RXE_HMM_GID");
	if (!err)
		err = verbs_open_env(&p->b, "RXE_HMM_DEV_B", "RXE_HMM_GID_B");
	if (err)
		return err;
	for (i = 0; i < nqps; i++) {
		p->qa[i] = verbs_create_qp(&p->a);
		p->qb[i] = verbs_create_qp(&p->b);
		if (!p->qa[i] || !p->qb[i])
			return errno;
		p->nqps++;
		if (qp_connect(&p->a, p->qa[i], &p->b.gid, p->qb[i]->qp_num,
			       QP_TIMEOUT) ||
		    qp_connect(&p->b, p->qb[i], &p->a.gid, p->qa[i]->qp_num,
			       QP_TIMEOUT))
			return errno ? errno : EIO;
	}
	p->buf_len = buf_len;
	p->buf = aligned_alloc(4096, buf_len);
	if (!p->buf)
		return ENOMEM;
	memset(p->buf, 0, buf_len);
	p->buf_mr = ibv_reg_mr(p->a.pd, p->buf, buf_len,
			       IBV_ACCESS_LOCAL_WRITE);
	return p->buf_mr ? 0 : errno;
}

static void verbs_close(struct verbs *v)
{
	if (v->cq)
		ibv_destroy_cq(v->cq);
	if (v->pd)
		ibv_dealloc_pd(v->pd);
	if (v->ctx)
		ibv_close_device(v->ctx);
}

void pair_close(struct pair *p)
{
	unsigned int i;

	for (i = 0; i < p->nqps; i++) {
		ibv_destroy_qp(p->qa[i]);
		ibv_destroy_qp(p->qb[i]);
	}
	if (p->buf_mr)
		ibv_dereg_mr(p->buf_mr);
	free(p->buf);
	verbs_close(&p->a);
	verbs_close(&p->b);
}

int pair_engine(struct pair *p, struct rxedv_dev_counters *c)
{
	return rxedv_query_dev_counters(p->b.ctx, c, sizeof(*c));
}

void pair_print_engine(struct pair *p,
		       const struct rxedv_dev_counters *before)
{
	struct rxedv_dev_counters now;

	if (pair_engine(p, &now)) {
		printf(",\"engine\":null");
		return;
	}
	printf(",\"engine\":{\"faults\":%llu,\"faulted_pages\":%llu,"
	       "\"fault_ns\":%llu,\"migrations\":%llu,\"migrate_ns\":%llu,"
	       "\"migrated_pages\":%llu,\"migrated_thps\":%llu,"
	       "\"invalidations\":%llu,\"invalidate_ns\":%llu}",
	       (unsigned long long)(now.odp_faults - before->odp_faults),
	       (unsigned long long)(now.odp_faulted_pages -
				    before->odp_faulted_pages),
	       (unsigned long long)(now.odp_fault_ns - before->odp_fault_ns),
	       (unsigned long long)(now.odp_migrations -
				    before->odp_migrations),
	       (unsigned long long)(now.odp_migrate_ns -
				    before->odp_migrate_ns),
	       (unsigned long long)(now.odp_migrated_pages -
				    before->odp_migrated_pages),
	       (unsigned long long)(now.odp_migrated_thps -
				    before->odp_migrated_thps),
	       (unsigned long long)(now.odp_invalidations -
				    before->odp_invalidations),
	       (unsigned long long)(now.odp_invalidate_ns -
				    before->odp_invalidate_ns));
}
