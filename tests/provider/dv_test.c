// SPDX-License-Identifier: GPL-2.0
/*
 * The direct verbs of librxe (infiniband/rxedv.h) on rxe_hmm, and what
 * the series adds to librxe's standard verbs (re-registration), through
 * real RDMA on an rxe_hmm device in loopback. Migration is observed
 * through the dv counters and data is checked byte for byte.
 *
 * Environment: RXE_HMM_DEV (device, whose migrate_policy is "off"),
 * RXE_HMM_GID (its GID index); RXE_HMM_RXE_DEV: a device of a kernel
 * module that announces no capabilities (rdma_rxe), for the binding case
 * and the cases that expect EOPNOTSUPP of it; RXE_HMM_BIND_DEVS: rxe_hmm
 * devices, space-separated, that librxe must bind whatever their names.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <infiniband/rxedv.h>

#include "kselftest_harness.h"
#include "rdma.h"

#define MR_PAGES	16
#define MR_LEN		(MR_PAGES * PAGE)

#define ALL_CAPS	(RXEDV_CAP_REG_MR_MIGRATE_POLICY | \
			 RXEDV_CAP_ADVISE_MR_MIGRATE | RXEDV_CAP_QUERY_COUNTERS)

#define ODP_RW	(IBV_ACCESS_ON_DEMAND | IBV_ACCESS_LOCAL_WRITE | \
		 IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)

/* The capabilities @ctx's device announced, or -errno */
static int64_t caps_of(struct ibv_context *ctx)
{
	struct rxedv_device_attr attr;
	int err;

	memset(&attr, 0xff, sizeof(attr));
	err = rxedv_query_device(ctx, &attr, sizeof(attr));
	return err ? -err : (int64_t)attr.caps;
}

static struct ibv_mr *reg_policy(struct ibv_pd *pd, void *addr, size_t len,
				 unsigned int access,
				 enum rxedv_migrate_policy policy)
{
	struct rxedv_reg_mr_attr attr = {
		.comp_mask = RXEDV_REG_MR_ATTR_MIGRATE_POLICY,
		.migrate_policy = policy,
	};

	return rxedv_reg_mr(pd, addr, len, (uintptr_t)addr, access, &attr);
}

static struct rxedv_odp_counters mr_counters(struct __test_metadata *_metadata,
						 struct ibv_mr *mr)
{
	struct rxedv_odp_counters c;

	memset(&c, 0xff, sizeof(c));
	ASSERT_EQ(0, rxedv_query_mr_counters(mr, &c, sizeof(c)));
	return c;
}

FIXTURE(dv)
{
	struct rdma r;
	uint8_t *mem;
	uint8_t *expect;
};

FIXTURE_SETUP(dv)
{
	int err = rdma_open(&self->r, "RXE_HMM_DEV", "RXE_HMM_GID", MR_LEN);

	/* provider-tests.py always sets up the device: no skip */
	ASSERT_EQ(0, err) TH_LOG("RXE_HMM_DEV: %s", strerror(-err));
	ASSERT_EQ(ALL_CAPS, caps_of(self->r.v.ctx));
	self->mem = map_anon(MR_LEN, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->mem);
	self->expect = malloc(MR_LEN);
	ASSERT_NE(NULL, self->expect);
}

FIXTURE_TEARDOWN(dv)
{
}

/* RDMA-writes a fresh pattern over the MR through the peer. */
static void write_all(struct __test_metadata *_metadata,
		      FIXTURE_DATA(dv) *self, struct ibv_mr *mr,
		      unsigned int seed)
{
	fill(self->r.buf, MR_LEN, seed);
	memcpy(self->expect, self->r.buf, MR_LEN);
	ASSERT_EQ(IBV_WC_SUCCESS,
		  rdma_write(&self->r, 0, MR_LEN, (uintptr_t)mr->addr, mr->rkey));
}

/* An MR that asks for on-fault migration migrates on a device that does not. */
TEST_F(dv, policy_at_registration)
{
	struct ibv_mr *on, *dflt;
	uint8_t *other = map_anon(MR_LEN, PROT_READ | PROT_WRITE);
	struct rxedv_odp_counters c;

	ASSERT_NE(NULL, other);
	on = reg_policy(self->r.v.pd, self->mem, MR_LEN, ODP_RW,
			RXEDV_MIGRATE_ON_FAULT);
	ASSERT_NE(NULL, on);
	dflt = reg_policy(self->r.v.pd, other, MR_LEN, ODP_RW,
			  RXEDV_MIGRATE_DEVICE_DEFAULT);
	ASSERT_NE(NULL, dflt);

	write_all(_metadata, self, on, 1);
	c = mr_counters(_metadata, on);
	EXPECT_LE(1, c.faults);
	EXPECT_EQ(MR_PAGES, c.migrated_pages);
	EXPECT_EQ(MR_PAGES, c.mapped_pages);
	/* the engine timed its faults and the migrations inside them */
	EXPECT_LE(1, c.migrations);
	EXPECT_LE(c.migrations, c.faults);
	EXPECT_LT(0, c.migrate_ns);
	EXPECT_LE(c.migrate_ns, c.fault_ns);
	/* the CPU reads them back: every byte as written */
	EXPECT_EQ(0, memcmp(self->mem, self->expect, MR_LEN));

	write_all(_metadata, self, dflt, 2);
	c = mr_counters(_metadata, dflt);
	EXPECT_LE(1, c.faults);
	EXPECT_EQ(0, c.migrated_pages);
	EXPECT_EQ(0, c.migrations);
	EXPECT_EQ(0, c.migrate_ns);
	EXPECT_LT(0, c.fault_ns);
	EXPECT_EQ(0, memcmp(other, self->expect, MR_LEN));

	EXPECT_EQ(0, ibv_dereg_mr(on));
	EXPECT_EQ(0, ibv_dereg_mr(dflt));
	munmap(other, MR_LEN);
}

/* A prefetch-only MR: faults map in place, only a prefetch moves pages. */
TEST_F(dv, prefetch_only_policy)
{
	struct rxedv_odp_counters c;
	struct ibv_sge sge;
	struct ibv_mr *mr;

	mr = reg_policy(self->r.v.pd, self->mem, MR_LEN, ODP_RW,
			RXEDV_MIGRATE_PREFETCH_ONLY);
	ASSERT_NE(NULL, mr);
	write_all(_metadata, self, mr, 6);
	c = mr_counters(_metadata, mr);
	EXPECT_LE(1, c.faults);
	EXPECT_EQ(MR_PAGES, c.mapped_pages);
	EXPECT_EQ(0, c.migrated_pages);

	/* a plain prefetch, no hint: the MR's policy moves the range */
	sge = (struct ibv_sge){ .addr = (uintptr_t)self->mem,
				.length = MR_LEN, .lkey = mr->lkey };
	ASSERT_EQ(0, ibv_advise_mr(self->r.v.pd, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
				   IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1));
	c = mr_counters(_metadata, mr);
	EXPECT_EQ(1, c.prefetches);
	EXPECT_EQ(MR_PAGES, c.migrated_pages);
	/* the device reads from its memory what the peer wrote */
	memset(self->r.buf, 0, MR_LEN);
	ASSERT_EQ(IBV_WC_SUCCESS, rdma_read(&self->r, 0, MR_LEN,
					    (uintptr_t)self->mem, mr->rkey));
	EXPECT_EQ(0, memcmp(self->r.buf, self->expect, MR_LEN));
	EXPECT_EQ(0, memcmp(self->mem, self->expect, MR_LEN));
	EXPECT_EQ(0, ibv_dereg_mr(mr));
}

/* The migrate hint moves pages of an MR whose policy is off. */
TEST_F(dv, advise_migrate)
{
	struct rxedv_dev_counters d0, d1;
	struct rxedv_odp_counters c;
	struct ibv_sge sge;
	struct ibv_mr *mr;

	memset(self->mem, 0x5a, MR_LEN);
	mr = reg_policy(self->r.v.pd, self->mem, MR_LEN, ODP_RW,
			RXEDV_MIGRATE_OFF);
	ASSERT_NE(NULL, mr);
	sge = (struct ibv_sge){ .addr = (uintptr_t)self->mem,
				.length = MR_LEN, .lkey = mr->lkey };

	/* a plain prefetch of an MR that does not migrate maps only */
	ASSERT_EQ(0, ibv_advise_mr(self->r.v.pd, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
				   IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1));
	c = mr_counters(_metadata, mr);
	EXPECT_EQ(1, c.prefetches);
	EXPECT_EQ(MR_PAGES, c.mapped_pages);
	EXPECT_EQ(0, c.migrated_pages);

	ASSERT_EQ(0, rxedv_query_dev_counters(self->r.v.ctx, &d0, sizeof(d0)));
	ASSERT_EQ(0, rxedv_advise_mr(self->r.v.pd,
					 IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
					 IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1,
					 RXEDV_ADVISE_MR_MIGRATE));
	c = mr_counters(_metadata, mr);
	EXPECT_EQ(2, c.prefetches);
	EXPECT_EQ(MR_PAGES, c.migrated_pages);
	ASSERT_EQ(0, rxedv_query_dev_counters(self->r.v.ctx, &d1, sizeof(d1)));
	EXPECT_EQ(MR_PAGES, d1.odp_migrated_pages - d0.odp_migrated_pages);
	EXPECT_EQ(MR_PAGES, d1.devmem_used_pages - d0.devmem_used_pages);

	/* the device reads what the CPU wrote before the move */
	memset(self->r.buf, 0, MR_LEN);
	ASSERT_EQ(IBV_WC_SUCCESS, rdma_read(&self->r, 0, MR_LEN,
					    (uintptr_t)self->mem, mr->rkey));
	memset(self->expect, 0x5a, MR_LEN);
	EXPECT_EQ(0, memcmp(self->r.buf, self->expect, MR_LEN));
	/* and the CPU touching them brings them back */
	EXPECT_EQ(0, memcmp(self->mem, self->expect, MR_LEN));
	ASSERT_EQ(0, rxedv_query_dev_counters(self->r.v.ctx, &d0, sizeof(d0)));
	EXPECT_LE(MR_PAGES, d0.devmem_cpu_fault_pages - d1.devmem_cpu_fault_pages);

	EXPECT_EQ(0, ibv_dereg_mr(mr));
}

/* ibv_rereg_mr() of an ODP MR onto a new range: new keys, new data path. */
TEST_F(dv, rereg_odp_translation)
{
	uint8_t *other = map_anon(MR_LEN, PROT_READ | PROT_WRITE);
	struct rxedv_odp_counters c;
	uint32_t old_rkey;
	struct ibv_mr *mr;

	ASSERT_NE(NULL, other);
	mr = ibv_reg_mr(self->r.v.pd, self->mem, MR_LEN, ODP_RW);
	ASSERT_NE(NULL, mr);
	write_all(_metadata, self, mr, 3);
	EXPECT_EQ(0, memcmp(self->mem, self->expect, MR_LEN));
	old_rkey = mr->rkey;

	ASSERT_EQ(0, ibv_rereg_mr(mr, IBV_REREG_MR_CHANGE_TRANSLATION, NULL,
				  other, MR_LEN, 0));
	EXPECT_EQ(other, mr->addr);
	/* a new MR: its counters start from zero */
	c = mr_counters(_metadata, mr);
	EXPECT_EQ(0, c.faults);
	EXPECT_EQ(0, c.mapped_pages);
	write_all(_metadata, self, mr, 4);
	EXPECT_EQ(0, memcmp(other, self->expect, MR_LEN));
	/* the old key reaches nothing */
	if (old_rkey != mr->rkey) {
		ASSERT_EQ(IBV_WC_REM_ACCESS_ERR,
			  rdma_write(&self->r, 0, PAGE, (uintptr_t)self->mem,
				     old_rkey));
		ASSERT_EQ(0, rdma_reconnect(&self->r));
	}

	/* in place, an ODP MR stays ODP */
	EXPECT_EQ(IBV_REREG_MR_ERR_CMD,
		  ibv_rereg_mr(mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
			       IBV_ACCESS_LOCAL_WRITE));
	EXPECT_EQ(EINVAL, errno);
	/* and still works */
	write_all(_metadata, self, mr, 5);
	EXPECT_EQ(0, memcmp(other, self->expect, MR_LEN));
	EXPECT_EQ(0, ibv_dereg_mr(mr));
	munmap(other, MR_LEN);
}

/* Bad arguments: an errno, never a crash, and nothing registered. */
TEST_F(dv, bad_arguments)
{
	struct rxedv_reg_mr_attr attr = {};
	struct rxedv_device_attr dattr;
	struct rxedv_dev_counters d;
	uint64_t big[sizeof(d) / 8 + 4];
	struct rxedv_odp_counters c;
	struct ibv_pd *pd = self->r.v.pd;
	struct ibv_sge sge;
	struct ibv_mr *mr, *pinned;

	/* the device's capabilities */
	EXPECT_EQ(-EOPNOTSUPP, caps_of(NULL));
	EXPECT_EQ(EINVAL, rxedv_query_device(self->r.v.ctx, NULL, sizeof(dattr)));
	EXPECT_EQ(EINVAL, rxedv_query_device(self->r.v.ctx, &dattr,
					     sizeof(dattr) - 1));

	/* registration */
	attr.comp_mask = 1ULL << 63;
	errno = 0;
	EXPECT_EQ(NULL, rxedv_reg_mr(pd, self->mem, MR_LEN, 0, ODP_RW, &attr));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(NULL, reg_policy(pd, self->mem, MR_LEN, ODP_RW, 99));
	EXPECT_EQ(EINVAL, errno);
	/* only ODP MRs migrate */
	errno = 0;
	EXPECT_EQ(NULL, reg_policy(pd, self->mem, MR_LEN, IBV_ACCESS_LOCAL_WRITE,
				   RXEDV_MIGRATE_ON_FAULT));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(NULL, rxedv_reg_mr(NULL, self->mem, MR_LEN, 0, ODP_RW, NULL));
	EXPECT_EQ(EOPNOTSUPP, errno);
	/* no attr: the device default, like ibv_reg_mr() */
	mr = rxedv_reg_mr(pd, self->mem, MR_LEN, (uintptr_t)self->mem,
			      ODP_RW, NULL);
	ASSERT_NE(NULL, mr);

	/* advice */
	sge = (struct ibv_sge){ .addr = (uintptr_t)self->mem,
				.length = MR_LEN, .lkey = mr->lkey };
	EXPECT_EQ(EINVAL, rxedv_advise_mr(pd, IBV_ADVISE_MR_ADVICE_PREFETCH,
					      IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1,
					      1U << 31));
	EXPECT_EQ(EINVAL, rxedv_advise_mr(pd, IBV_ADVISE_MR_ADVICE_PREFETCH,
					      IBV_ADVISE_MR_FLAG_FLUSH, &sge, 0,
					      RXEDV_ADVISE_MR_MIGRATE));
	EXPECT_EQ(EINVAL, rxedv_advise_mr(pd, IBV_ADVISE_MR_ADVICE_PREFETCH,
					      IBV_ADVISE_MR_FLAG_FLUSH, NULL, 1,
					      RXEDV_ADVISE_MR_MIGRATE));
	/* a snapshot faults nothing in, so it cannot move anything */
	EXPECT_EQ(EINVAL, rxedv_advise_mr(pd,
					      IBV_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT,
					      IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1,
					      RXEDV_ADVISE_MR_MIGRATE));
	sge.lkey ^= 0x80;
	EXPECT_EQ(EINVAL, rxedv_advise_mr(pd, IBV_ADVISE_MR_ADVICE_PREFETCH,
					      IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1,
					      RXEDV_ADVISE_MR_MIGRATE));
	EXPECT_EQ(EOPNOTSUPP, rxedv_advise_mr(NULL, IBV_ADVISE_MR_ADVICE_PREFETCH,
						  0, &sge, 1, 0));
	/* none of it moved or mapped a page */
	c = mr_counters(_metadata, mr);
	EXPECT_EQ(0, c.migrated_pages);
	EXPECT_EQ(0, c.mapped_pages);

	/* counters */
	EXPECT_EQ(EINVAL, rxedv_query_mr_counters(mr, NULL, sizeof(c)));
	/* 64 bytes: the structure's first version, up to migrated_thps */
	EXPECT_EQ(EINVAL, rxedv_query_mr_counters(mr, &c, 63));
	memset(&c, 0xff, sizeof(c));
	EXPECT_EQ(0, rxedv_query_mr_counters(mr, &c, 64));
	EXPECT_EQ(0, c.migrated_pages);
	/* an older caller's structure ends there: nothing written beyond */
	EXPECT_EQ(UINT64_MAX, c.fault_ns);
	EXPECT_EQ(EOPNOTSUPP, rxedv_query_mr_counters(NULL, &c, sizeof(c)));
	EXPECT_EQ(EINVAL, rxedv_query_dev_counters(self->r.v.ctx, &d, 8));
	EXPECT_EQ(EINVAL, rxedv_query_dev_counters(self->r.v.ctx, &d, 95));
	memset(&d, 0xff, sizeof(d));
	EXPECT_EQ(0, rxedv_query_dev_counters(self->r.v.ctx, &d, 96));
	EXPECT_EQ(UINT64_MAX, d.odp_fault_ns);
	EXPECT_EQ(EOPNOTSUPP, rxedv_query_dev_counters(NULL, &d, sizeof(d)));
	/* a pinned MR has no ODP counters */
	pinned = ibv_reg_mr(pd, self->expect, MR_LEN, IBV_ACCESS_LOCAL_WRITE);
	ASSERT_NE(NULL, pinned);
	EXPECT_EQ(EINVAL, rxedv_query_mr_counters(pinned, &c, sizeof(c)));
	EXPECT_EQ(0, ibv_dereg_mr(pinned));

	/* a larger caller structure is zero-filled beyond what we know */
	memset(big, 0xff, sizeof(big));
	ASSERT_EQ(0, rxedv_query_dev_counters(self->r.v.ctx, (void *)big,
						  sizeof(big)));
	EXPECT_EQ(0, big[sizeof(d) / 8]);
	EXPECT_EQ(0, big[sizeof(d) / 8 + 3]);
	EXPECT_EQ(0, ibv_dereg_mr(mr));
}

/*
 * A device whose kernel module announces nothing (rdma_rxe): librxe's
 * standard verbs work, and every dv call that needs a capability returns
 * EOPNOTSUPP without asking the kernel.
 */
TEST(no_caps_device)
{
	struct rxedv_dev_counters d;
	struct rxedv_odp_counters c;
	struct ibv_device **list;
	struct ibv_context *ctx = NULL;
	const char *name = getenv("RXE_HMM_RXE_DEV");
	struct ibv_sge sge;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	uint8_t *mem;
	int i, n;

	ASSERT_NE(NULL, name) TH_LOG("no RXE_HMM_RXE_DEV");
	list = ibv_get_device_list(&n);
	ASSERT_NE(NULL, list);
	for (i = 0; i < n; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	ASSERT_NE(NULL, ctx);
	EXPECT_EQ(0, caps_of(ctx));
	pd = ibv_alloc_pd(ctx);
	ASSERT_NE(NULL, pd);
	mem = map_anon(MR_LEN, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, mem);
	mr = ibv_reg_mr(pd, mem, MR_LEN, IBV_ACCESS_LOCAL_WRITE);
	ASSERT_NE(NULL, mr);
	sge = (struct ibv_sge){ .addr = (uintptr_t)mem, .length = MR_LEN,
				.lkey = mr->lkey };

	errno = 0;
	EXPECT_EQ(NULL, rxedv_reg_mr(pd, mem, MR_LEN, 0, ODP_RW, NULL));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(EOPNOTSUPP, rxedv_query_mr_counters(mr, &c, sizeof(c)));
	EXPECT_EQ(EOPNOTSUPP, rxedv_query_dev_counters(ctx, &d, sizeof(d)));
	EXPECT_EQ(EOPNOTSUPP, rxedv_advise_mr(pd, IBV_ADVISE_MR_ADVICE_PREFETCH,
					      IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1,
					      RXEDV_ADVISE_MR_MIGRATE));

	EXPECT_EQ(0, ibv_dereg_mr(mr));
	EXPECT_EQ(0, ibv_dealloc_pd(pd));
	EXPECT_EQ(0, ibv_close_device(ctx));
	munmap(mem, MR_LEN);
}

/*
 * Posts @wr on the peer's QP; when librxe takes it, waits for its
 * completion and logs what became of it, so that a failure says so.
 */
static int post_refused(struct __test_metadata *_metadata,
			FIXTURE_DATA(dv) *self, struct ibv_send_wr *wr)
{
	struct ibv_send_wr *bad = NULL;
	struct ibv_wc wc;
	int ret;

	ret = ibv_post_send(self->r.qp[0], wr, &bad);
	if (!ret) {
		TH_LOG("taken; completion: %s",
		       wait_wc(&self->r.v, &wc) ? "none" :
		       ibv_wc_status_str(wc.status));
		return 0;
	}
	EXPECT_EQ(wr, bad);
	return ret;
}

/* An atomic's local buffer is one 8-byte SGE: anything else is refused. */
TEST_F(dv, atomic_local_buffer_refused)
{
	struct ibv_sge sge = { .addr = (uintptr_t)self->r.buf, .length = 16,
			       .lkey = self->r.buf_mr->lkey };
	struct ibv_send_wr wr = {
		.sg_list = &sge, .num_sge = 1,
		.opcode = IBV_WR_ATOMIC_FETCH_AND_ADD,
		.send_flags = IBV_SEND_SIGNALED,
	};
	struct ibv_mr *mr;

	mr = ibv_reg_mr(self->r.v.pd, self->mem, MR_LEN,
			ODP_RW | IBV_ACCESS_REMOTE_ATOMIC);
	ASSERT_NE(NULL, mr);
	wr.wr.atomic.remote_addr = (uintptr_t)self->mem;
	wr.wr.atomic.rkey = mr->rkey;
	wr.wr.atomic.compare_add = 1;

	EXPECT_EQ(EINVAL, post_refused(_metadata, self, &wr));
	/* and nothing reached the MR */
	EXPECT_EQ(0, mr_counters(_metadata, mr).faults);
	/* one 8-byte SGE is an atomic */
	EXPECT_EQ(IBV_WC_SUCCESS,
		  rdma_op(&self->r, IBV_WR_ATOMIC_FETCH_AND_ADD, 0, 8,
			  (uintptr_t)self->mem, mr->rkey, 1, 0));
	EXPECT_EQ(0, ibv_dereg_mr(mr));
}

/* The device writes a read's local buffer: there is nothing to inline. */
TEST_F(dv, inline_read_refused)
{
	struct ibv_sge sge = { .addr = (uintptr_t)self->r.buf, .length = 8,
			       .lkey = self->r.buf_mr->lkey };
	struct ibv_send_wr wr = {
		.sg_list = &sge, .num_sge = 1, .opcode = IBV_WR_RDMA_READ,
		.send_flags = IBV_SEND_SIGNALED | IBV_SEND_INLINE,
	};
	struct ibv_mr *mr;

	mr = ibv_reg_mr(self->r.v.pd, self->mem, MR_LEN, ODP_RW);
	ASSERT_NE(NULL, mr);
	wr.wr.rdma.remote_addr = (uintptr_t)self->mem;
	wr.wr.rdma.rkey = mr->rkey;

	EXPECT_EQ(EINVAL, post_refused(_metadata, self, &wr));
	EXPECT_EQ(0, mr_counters(_metadata, mr).faults);
	EXPECT_EQ(0, ibv_dereg_mr(mr));
}

/* What wr_complete() said; when it took the work request, its completion. */
static int wr_complete_refused(struct __test_metadata *_metadata,
			       FIXTURE_DATA(dv) *self, struct ibv_qp_ex *qpx)
{
	struct ibv_wc wc;
	int ret = ibv_wr_complete(qpx);

	if (!ret)
		TH_LOG("taken; completion: %s",
		       wait_wc(&self->r.v, &wc) ? "none" :
		       ibv_wc_status_str(wc.status));
	return ret;
}

/* An atomic write writes one aligned word: an unaligned one is refused. */
TEST_F(dv, wr_atomic_write_unaligned_refused)
{
	uint64_t value = 0x0123456789abcdefULL;
	struct ibv_qp_ex *qpx;
	struct ibv_mr *mr;

	mr = ibv_reg_mr(self->r.v.pd, self->mem, MR_LEN,
			ODP_RW | IBV_ACCESS_REMOTE_ATOMIC);
	ASSERT_NE(NULL, mr);
	qpx = rdma_qp_ex(&self->r, IBV_QP_EX_WITH_ATOMIC_WRITE);
	ASSERT_NE(NULL, qpx) TH_LOG("rdma_qp_ex: %s", strerror(errno));

	ibv_wr_start(qpx);
	qpx->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_atomic_write(qpx, mr->rkey, (uintptr_t)self->mem + 4, &value);
	EXPECT_EQ(EINVAL, wr_complete_refused(_metadata, self, qpx));
	EXPECT_EQ(0, mr_counters(_metadata, mr).faults);
	EXPECT_EQ(0, ibv_destroy_qp(&qpx->qp_base));
	EXPECT_EQ(0, ibv_dereg_mr(mr));
}

/* A work request's length is 32 bits: a flush of 4 GiB and more is refused. */
TEST_F(dv, wr_flush_over_4g_refused)
{
	struct ibv_qp_ex *qpx;
	struct ibv_mr *mr;

	mr = ibv_reg_mr(self->r.v.pd, self->mem, MR_LEN,
			ODP_RW | IBV_ACCESS_FLUSH_GLOBAL);
	ASSERT_NE(NULL, mr);
	qpx = rdma_qp_ex(&self->r, IBV_QP_EX_WITH_FLUSH);
	ASSERT_NE(NULL, qpx) TH_LOG("rdma_qp_ex: %s", strerror(errno));

	/* cut to 32 bits, it would be one page of the MR */
	ibv_wr_start(qpx);
	qpx->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_flush(qpx, mr->rkey, (uintptr_t)self->mem, (1ULL << 32) + PAGE,
		     IBV_FLUSH_GLOBAL, IBV_FLUSH_RANGE);
	EXPECT_EQ(EINVAL, wr_complete_refused(_metadata, self, qpx));
	EXPECT_EQ(0, ibv_destroy_qp(&qpx->qp_base));
	EXPECT_EQ(0, ibv_dereg_mr(mr));
}

/*
 * A bind of length 0 unbinds a type 1 memory window and needs no MR:
 * librxe read the lkey of the NULL MR and crashed, through ibv_bind_mw()
 * and ibv_post_send() alike. An address or a length without an MR is
 * refused with EINVAL (ibv_bind_mw() refuses it itself, ibv_post_send()
 * leaves it to librxe). Once unbound, the window grants nothing, by its
 * old rkey or its new one.
 */
static void mw_bind(struct __test_metadata *_metadata, FIXTURE_DATA(dv) *self,
		    struct ibv_mw *mw, struct ibv_mr *mr)
{
	struct ibv_mw_bind bind = { .send_flags = IBV_SEND_SIGNALED };
	struct ibv_wc wc;

	if (mr)
		bind.bind_info = (struct ibv_mw_bind_info){
			.mr = mr, .addr = (uintptr_t)self->mem,
			.length = MR_LEN,
			.mw_access_flags = IBV_ACCESS_REMOTE_WRITE,
		};
	ASSERT_EQ(0, ibv_bind_mw(self->r.qp[1], mw, &bind));
	ASSERT_EQ(0, wait_wc(&self->r.v, &wc));
	ASSERT_EQ(IBV_WC_SUCCESS, wc.status);
}

/* A write through @rkey is refused; the QPs, moved to ERR, reconnected. */
static void mw_write_refused(struct __test_metadata *_metadata,
			     FIXTURE_DATA(dv) *self, uint32_t rkey)
{
	EXPECT_EQ(IBV_WC_REM_ACCESS_ERR,
		  rdma_write(&self->r, 0, PAGE, (uintptr_t)self->mem, rkey));
	ASSERT_EQ(0, rdma_reconnect(&self->r));
}

TEST_F(dv, mw_unbind_without_mr)
{
	struct ibv_send_wr wr = { .opcode = IBV_WR_BIND_MW,
				  .send_flags = IBV_SEND_SIGNALED };
	struct ibv_mw_bind bind = { .send_flags = IBV_SEND_SIGNALED };
	struct ibv_send_wr *bad = NULL;
	struct ibv_wc wc;
	struct ibv_mr *mr;
	struct ibv_mw *mw;
	uint32_t old;

	mr = ibv_reg_mr(self->r.v.pd, self->mem, MR_LEN,
			IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			IBV_ACCESS_MW_BIND);
	ASSERT_NE(NULL, mr);
	mw = ibv_alloc_mw(self->r.v.pd, IBV_MW_TYPE_1);
	ASSERT_NE(NULL, mw) TH_LOG("ibv_alloc_mw: %s", strerror(errno));
	mw_bind(_metadata, self, mw, mr);
	fill(self->r.buf, PAGE, 71);
	ASSERT_EQ(IBV_WC_SUCCESS, rdma_write(&self->r, 0, PAGE,
					     (uintptr_t)self->mem, mw->rkey));
	EXPECT_EQ(0, memcmp(self->mem, self->r.buf, PAGE));

	bind.bind_info = (struct ibv_mw_bind_info){ .length = PAGE };
	EXPECT_EQ(EINVAL, ibv_bind_mw(self->r.qp[1], mw, &bind));
	wr.bind_mw.mw = mw;
	wr.bind_mw.rkey = ibv_inc_rkey(mw->rkey);
	wr.bind_mw.bind_info = (struct ibv_mw_bind_info){ .length = PAGE };
	EXPECT_EQ(EINVAL, post_refused(_metadata, self, &wr));
	wr.bind_mw.bind_info =
		(struct ibv_mw_bind_info){ .addr = (uintptr_t)self->mem };
	EXPECT_EQ(EINVAL, post_refused(_metadata, self, &wr));

	/* unbound by ibv_post_send(), which leaves the rkey to its caller */
	old = mw->rkey;
	wr.bind_mw.bind_info = (struct ibv_mw_bind_info){};
	ASSERT_EQ(0, ibv_post_send(self->r.qp[1], &wr, &bad));
	ASSERT_EQ(0, wait_wc(&self->r.v, &wc));
	ASSERT_EQ(IBV_WC_SUCCESS, wc.status);
	mw->rkey = wr.bind_mw.rkey;
	mw_write_refused(_metadata, self, old);
	mw_write_refused(_metadata, self, mw->rkey);

	/* bound again, then unbound by ibv_bind_mw() */
	mw_bind(_metadata, self, mw, mr);
	fill(self->r.buf, PAGE, 72);
	ASSERT_EQ(IBV_WC_SUCCESS, rdma_write(&self->r, 0, PAGE,
					     (uintptr_t)self->mem, mw->rkey));
	EXPECT_EQ(0, memcmp(self->mem, self->r.buf, PAGE));
	old = mw->rkey;
	mw_bind(_metadata, self, mw, NULL);
	EXPECT_NE(old, mw->rkey);
	mw_write_refused(_metadata, self, old);
	mw_write_refused(_metadata, self, mw->rkey);
	EXPECT_EQ(0, ibv_dealloc_mw(mw));
	EXPECT_EQ(0, ibv_dereg_mr(mr));
}

/*
 * ibv_wr_bind_mw() binds type 2 windows: without an MR, an address or a
 * length is refused by ibv_wr_complete() with EINVAL (librxe read the
 * lkey of the NULL MR, and crashed); with one, the bind completes.
 */
TEST_F(dv, wr_bind_mw_without_mr_refused)
{
	const struct ibv_mw_bind_info refused[] = {
		{ .addr = (uintptr_t)self->mem, .length = PAGE },
		{ .addr = (uintptr_t)self->mem },
		{ .length = PAGE },
	};
	struct ibv_mw_bind_info info;
	struct ibv_qp_ex *qpx;
	struct ibv_wc wc;
	struct ibv_mr *mr;
	struct ibv_mw *mw;
	size_t i;

	mr = ibv_reg_mr(self->r.v.pd, self->mem, MR_LEN,
			IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			IBV_ACCESS_MW_BIND);
	ASSERT_NE(NULL, mr);
	mw = ibv_alloc_mw(self->r.v.pd, IBV_MW_TYPE_2);
	ASSERT_NE(NULL, mw) TH_LOG("ibv_alloc_mw: %s", strerror(errno));
	qpx = rdma_qp_ex(&self->r, IBV_QP_EX_WITH_BIND_MW);
	ASSERT_NE(NULL, qpx) TH_LOG("rdma_qp_ex: %s", strerror(errno));

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		info = refused[i];
		info.mw_access_flags = IBV_ACCESS_REMOTE_WRITE;
		ibv_wr_start(qpx);
		qpx->wr_flags = IBV_SEND_SIGNALED;
		ibv_wr_bind_mw(qpx, mw, ibv_inc_rkey(mw->rkey), &info);
		EXPECT_EQ(EINVAL, wr_complete_refused(_metadata, self, qpx))
			TH_LOG("address %s, length %s",
			       info.addr ? "set" : "0",
			       info.length ? "set" : "0");
	}
	info = (struct ibv_mw_bind_info){
		.mr = mr, .addr = (uintptr_t)self->mem, .length = PAGE,
		.mw_access_flags = IBV_ACCESS_REMOTE_WRITE,
	};
	ibv_wr_start(qpx);
	qpx->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_bind_mw(qpx, mw, ibv_inc_rkey(mw->rkey), &info);
	ASSERT_EQ(0, ibv_wr_complete(qpx));
	ASSERT_EQ(0, wait_wc(&self->r.v, &wc));
	EXPECT_EQ(IBV_WC_SUCCESS, wc.status)
		TH_LOG("bind: %s", ibv_wc_status_str(wc.status));
	/* the window first: a bound type 2 window holds its QP */
	EXPECT_EQ(0, ibv_dealloc_mw(mw));
	EXPECT_EQ(0, ibv_destroy_qp(&qpx->qp_base));
	EXPECT_EQ(0, ibv_dereg_mr(mr));
}

/*
 * librxe offers no parent domains: refused with EOPNOTSUPP, rather than
 * taken with allocators it would never call.
 */
TEST_F(dv, no_parent_domains)
{
	struct ibv_parent_domain_init_attr attr = { .pd = self->r.v.pd };

	errno = 0;
	EXPECT_EQ(NULL, ibv_alloc_parent_domain(self->r.v.ctx, &attr));
	EXPECT_EQ(EOPNOTSUPP, errno);
}

/* The capabilities of device @name in @list; -ENODEV if absent. */
static int64_t caps_of_name(struct ibv_device **list, int n, const char *name)
{
	struct ibv_context *ctx;
	int64_t caps;
	int i;

	for (i = 0; i < n; i++) {
		if (strcmp(ibv_get_device_name(list[i]), name))
			continue;
		ctx = ibv_open_device(list[i]);
		if (!ctx)
			return -errno;
		caps = caps_of(ctx);
		ibv_close_device(ctx);
		return caps;
	}
	return -ENODEV;
}

/*
 * librxe binds every rxe_hmm device whatever its name, and rdma_rxe's;
 * only rxe_hmm's announce their capabilities.
 */
TEST(binding)
{
	char *ours = getenv("RXE_HMM_BIND_DEVS"), *name, *save;
	const char *rxe = getenv("RXE_HMM_RXE_DEV");
	struct ibv_device **list;
	int n;

	ASSERT_TRUE(ours && rxe) TH_LOG("no RXE_HMM_BIND_DEVS or RXE_HMM_RXE_DEV");
	list = ibv_get_device_list(&n);
	ASSERT_NE(NULL, list);
	ours = strdup(ours);
	for (name = strtok_r(ours, " ", &save); name;
	     name = strtok_r(NULL, " ", &save)) {
		TH_LOG("%s", name);
		EXPECT_EQ(ALL_CAPS, caps_of_name(list, n, name));
	}
	free(ours);
	EXPECT_EQ(0, caps_of_name(list, n, rxe));
	ibv_free_device_list(list);
}

TEST_HARNESS_MAIN
