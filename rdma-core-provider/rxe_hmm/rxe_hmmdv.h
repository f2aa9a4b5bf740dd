/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * Direct verbs of rxe_hmm: what standard verbs cannot say about HMM-based
 * on-demand paging. Link with -lrxe_hmm; see rxe_hmmdv(7).
 */

#ifndef __RXE_HMMDV_H__
#define __RXE_HMMDV_H__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Is @device an rxe_hmm device, bound by this provider? */
bool rxe_hmmdv_is_supported(struct ibv_device *device);

/* Which ODP accesses of an MR move its pages into device memory. */
enum rxe_hmmdv_migrate_policy {
	/* the device's migrate_policy at registration */
	RXE_HMMDV_MIGRATE_DEVICE_DEFAULT,
	RXE_HMMDV_MIGRATE_OFF,
	/* every fault of the device on the MR, and prefetches */
	RXE_HMMDV_MIGRATE_ON_FAULT,
	/* only prefetches */
	RXE_HMMDV_MIGRATE_PREFETCH_ONLY,
};

enum rxe_hmmdv_reg_mr_attr_mask {
	RXE_HMMDV_REG_MR_ATTR_MIGRATE_POLICY = 1 << 0,
};

struct rxe_hmmdv_reg_mr_attr {
	uint64_t comp_mask;
	enum rxe_hmmdv_migrate_policy migrate_policy;
};

struct ibv_mr *rxe_hmmdv_reg_mr(struct ibv_pd *pd, void *addr, size_t length,
				uint64_t iova, unsigned int access,
				const struct rxe_hmmdv_reg_mr_attr *attr);

enum rxe_hmmdv_advise_mr_hints {
	/* fault the range in and move it to device memory */
	RXE_HMMDV_ADVISE_MR_MIGRATE = 1 << 0,
};

int rxe_hmmdv_advise_mr(struct ibv_pd *pd, enum ibv_advise_mr_advice advice,
			uint32_t flags, struct ibv_sge *sg_list,
			uint32_t num_sge, uint32_t hints);

struct rxe_hmmdv_odp_counters {
	uint64_t faults;
	uint64_t faulted_pages;
	uint64_t invalidations;
	uint64_t invalidated_pages;
	uint64_t prefetches;
	uint64_t mapped_pages;
	uint64_t migrated_pages;
	uint64_t migrated_thps;
	uint64_t fault_ns;
	uint64_t migrations;
	uint64_t migrate_ns;
	uint64_t invalidate_ns;
};

/* the ODP counters summed over the device's MRs, then its memory */
struct rxe_hmmdv_dev_counters {
	uint64_t odp_faults;
	uint64_t odp_faulted_pages;
	uint64_t odp_invalidations;
	uint64_t odp_invalidated_pages;
	uint64_t odp_prefetches;
	uint64_t odp_mapped_pages;
	uint64_t odp_migrated_pages;
	uint64_t odp_migrated_thps;
	uint64_t devmem_cpu_fault_pages;
	uint64_t devmem_evicted_pages;
	uint64_t devmem_teardown_pages;
	uint64_t devmem_used_pages;
	uint64_t odp_fault_ns;
	uint64_t odp_migrations;
	uint64_t odp_migrate_ns;
	uint64_t odp_invalidate_ns;
};

int rxe_hmmdv_query_mr_counters(struct ibv_mr *mr,
				struct rxe_hmmdv_odp_counters *counters,
				size_t counters_len);
int rxe_hmmdv_query_dev_counters(struct ibv_context *context,
				 struct rxe_hmmdv_dev_counters *counters,
				 size_t counters_len);

#ifdef __cplusplus
}
#endif

#endif /* __RXE_HMMDV_H__ */
