/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR Linux-OpenIB) */
/*
 * The user ABI of rxe_hmm beyond rxe's own (rdma/rdma_user_rxe.h, whose
 * queues, work requests and completions rxe_hmm keeps unchanged).
 *
 * rxe_hmm devices report rxe's driver id and uverbs ABI version, so that
 * librxe binds them as it binds rdma_rxe's. What rxe_hmm offers beyond rxe
 * is announced in the driver data of the alloc_ucontext response: a
 * provider that asks for none, as librxe before rxedv did, gets rxe's
 * behaviour and nothing else.
 */

#ifndef RXE_HMM_ABI_USER_H
#define RXE_HMM_ABI_USER_H

#include <linux/types.h>
#include <rdma/ib_user_ioctl_cmds.h>

enum rxe_hmm_alloc_context_resp_mask {
	/* @caps is valid */
	RXE_HMM_ALLOC_CONTEXT_RESP_CAPS = 1 << 0,
};

/* What a context may ask of the device beyond rxe's ABI. */
enum rxe_hmm_context_caps {
	/* struct rxe_hmm_reg_mr in the driver data of REG_MR and REREG_MR */
	RXE_HMM_CAP_REG_MR_MIGRATE_POLICY = 1 << 0,
	/* RXE_HMM_ATTR_ADVISE_MR_FLAGS of UVERBS_METHOD_ADVISE_MR */
	RXE_HMM_CAP_ADVISE_MR_MIGRATE = 1 << 1,
	/* RXE_HMM_METHOD_QUERY_COUNTERS and RXE_HMM_METHOD_MR_QUERY_COUNTERS */
	RXE_HMM_CAP_QUERY_COUNTERS = 1 << 2,
};

/*
 * Driver data of the IB_USER_VERBS_CMD_GET_CONTEXT response. The kernel
 * fills as much of it as the provider has room for; it fails a request
 * that carries driver data other than zeros.
 */
struct rxe_hmm_alloc_context_resp {
	/* enum rxe_hmm_alloc_context_resp_mask: the fields filled */
	__u32 comp_mask;
	/* enum rxe_hmm_context_caps */
	__u32 caps;
};

/* Which ODP accesses of an MR move its pages into device memory. */
enum rxe_hmm_migrate_policy_uapi {
	/* the device's migrate_policy when the MR is registered */
	RXE_HMM_POLICY_DEVICE_DEFAULT,
	RXE_HMM_POLICY_OFF,
	/* every fault of the device on the MR, and prefetches */
	RXE_HMM_POLICY_ON_FAULT,
	/* only prefetches (ibv_advise_mr()) */
	RXE_HMM_POLICY_PREFETCH_ONLY,
};

enum rxe_hmm_reg_mr_comp_mask {
	RXE_HMM_REG_MR_MIGRATE_POLICY = 1 << 0,
};

/*
 * Driver data of IB_USER_VERBS_CMD_REG_MR and REREG_MR. A kernel that
 * does not know a bit of @comp_mask fails the command with EINVAL.
 */
struct rxe_hmm_reg_mr {
	__u32 comp_mask;
	/* enum rxe_hmm_migrate_policy_uapi; only for ODP MRs */
	__u32 migrate_policy;
};

/* ODP counters of one MR */
struct rxe_hmm_odp_counters {
	__aligned_u64 faults;
	__aligned_u64 faulted_pages;
	__aligned_u64 invalidations;
	__aligned_u64 invalidated_pages;
	__aligned_u64 prefetches;
	/* a level, not an event count: pages mapped now */
	__aligned_u64 mapped_pages;
	/* pages a fault or a prefetch moved into device memory */
	__aligned_u64 migrated_pages;
	/* ... of which moved as one PMD-sized unit, counted per unit */
	__aligned_u64 migrated_thps;
	/* nanoseconds spent in the faults counted by @faults */
	__aligned_u64 fault_ns;
	/* faults that moved pages, and the nanoseconds they spent moving */
	__aligned_u64 migrations;
	__aligned_u64 migrate_ns;
	/* nanoseconds spent in both passes of invalidations */
	__aligned_u64 invalidate_ns;
};

/*
 * Those of a device: the same ODP counters summed over its MRs, then its
 * device memory. Flat, not nesting the MR's: each structure grows at its
 * own end.
 */
struct rxe_hmm_dev_counters {
	__aligned_u64 odp_faults;
	__aligned_u64 odp_faulted_pages;
	__aligned_u64 odp_invalidations;
	__aligned_u64 odp_invalidated_pages;
	__aligned_u64 odp_prefetches;
	__aligned_u64 odp_mapped_pages;
	__aligned_u64 odp_migrated_pages;
	__aligned_u64 odp_migrated_thps;
	/* device pages moved back to system memory: a CPU touched them */
	__aligned_u64 devmem_cpu_fault_pages;
	/* ... device memory was full */
	__aligned_u64 devmem_evicted_pages;
	/* ... device memory was resized or removed */
	__aligned_u64 devmem_teardown_pages;
	/* a level: device pages holding data now */
	__aligned_u64 devmem_used_pages;
	/* the ODP counters added since, as in struct rxe_hmm_odp_counters */
	__aligned_u64 odp_fault_ns;
	__aligned_u64 odp_migrations;
	__aligned_u64 odp_migrate_ns;
	__aligned_u64 odp_invalidate_ns;
};

/*
 * ioctl methods and attributes in the driver namespace. New members are
 * only ever appended to the structures above; the kernel zero-fills what
 * a provider asks beyond what it knows, and copies no more than asked.
 */
enum rxe_hmm_device_methods {
	RXE_HMM_METHOD_QUERY_COUNTERS = (1U << UVERBS_ID_NS_SHIFT),
};

enum rxe_hmm_query_counters_attrs {
	/* struct rxe_hmm_dev_counters */
	RXE_HMM_ATTR_QUERY_COUNTERS_RESP = (1U << UVERBS_ID_NS_SHIFT),
};

enum rxe_hmm_mr_methods {
	RXE_HMM_METHOD_MR_QUERY_COUNTERS = (1U << UVERBS_ID_NS_SHIFT),
};

enum rxe_hmm_mr_query_counters_attrs {
	RXE_HMM_ATTR_MR_QUERY_COUNTERS_HANDLE = (1U << UVERBS_ID_NS_SHIFT),
	/* struct rxe_hmm_odp_counters */
	RXE_HMM_ATTR_MR_QUERY_COUNTERS_RESP,
};

/* A driver attribute of UVERBS_METHOD_ADVISE_MR. */
enum rxe_hmm_advise_mr_attrs {
	/* enum rxe_hmm_advise_mr_flags */
	RXE_HMM_ATTR_ADVISE_MR_FLAGS = (1U << UVERBS_ID_NS_SHIFT),
};

enum rxe_hmm_advise_mr_flags {
	/* move the range into device memory whatever the MR's policy */
	RXE_HMM_ADVISE_MR_MIGRATE = 1 << 0,
};

#endif /* RXE_HMM_ABI_USER_H */
