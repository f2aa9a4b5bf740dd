/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * What the parts of rxe_hmm's ODP engine share. Each part has a file:
 *   odp_fault.c       the fault path: hmm_range_fault() into the table;
 *   odp_migrate.c     the migration into device memory on a fault, in
 *                     the fault's own walk or in a second step;
 *   odp_invalidate.c  the two-pass mmu_interval_notifier invalidation;
 *   odp_datapath.c    the data path: copies, atomics and flushes through
 *                     the table;
 *   odp.c             ODP MRs and their verbs: registration, prefetch,
 *                     statistics.
 * The table itself, and the protocol between accesses and invalidation,
 * are odp_table.c's.
 */

#ifndef RXE_ODP_INTERNAL_H
#define RXE_ODP_INTERNAL_H

#include <linux/hmm.h>
#include <linux/migrate.h>

#include "rxe.h"
#include "devmem.h"

/* Hard cap of one fault: bounds the pfn array and the time in the walk. */
#define RXE_ODP_MAX_FAULT_PAGES	(2 * RXE_ODP_CHUNK_PAGES)

enum rxe_odp_fault_flags {
	RXE_ODP_FAULT_WRITE	= BIT(0),
	/* only record pages already present, as ADVICE_PREFETCH_NO_FAULT */
	RXE_ODP_FAULT_SNAPSHOT	= BIT(1),
	/* no readahead: prefetch asks for exactly its range */
	RXE_ODP_FAULT_EXACT	= BIT(2),
	/* move the pages into device memory */
	RXE_ODP_FAULT_MIGRATE	= BIT(3),
	/*
	 * fault this device's own pages too, as the CPU would: a write then
	 * brings one back to system memory and breaks COW on it
	 */
	RXE_ODP_FAULT_CPU	= BIT(4),
};

/* What one migrating fault carries from reserving to storing. */
struct rxe_odp_migration {
	struct rxe_hmm_devmem		*dm;
	struct rxe_hmm_reservation	resv;
	struct migrate_vma		args;
	bool				unified;
	/* the range is one PMD-sized block: collect a THP whole */
	bool				thp;
	/* the end of the pages the access needs */
	unsigned long			need_end;
};

static inline struct rxe_odp *to_odp(struct rxe_mr *mr)
{
	return mr->odp;
}

static inline void rxe_odp_count(struct rxe_odp *odp,
				 enum rxe_hmm_counters idx, s64 n)
{
	struct rxe_dev *rxe = to_rdev(odp->mr->ibmr.device);

	BUILD_BUG_ON(ARRAY_SIZE(odp->counters) != RXE_HMM_NUM_MR_COUNTERS);
	atomic64_add(n, &odp->counters[rxe_hmm_odp_index(idx)]);
	rxe_hmm_count(&rxe->hmm, idx, n);
}

static inline unsigned long rxe_odp_iova_to_va(struct rxe_odp *odp, u64 iova)
{
	return iova + odp->va_offset;
}

/*
 * Debug knobs, in debugfs under rxe_hmm/ by their names without the
 * prefix (rxe_odp_debugfs_init()): a sleep inside every access, after
 * its pages were looked up, so that a test can invalidate meanwhile; a
 * pass 1 that waits for the accesses, as a one-pass notifier would; and
 * migration in two walks even on a kernel with the mm series.
 */
extern u32 rxe_odp_access_delay_ms;
extern bool rxe_odp_invalidate_one_pass;
extern bool rxe_odp_migrate_two_step;

/* Kbuild found the mm series' migrate_hmm_range_setup() */
#ifdef RXE_HMM_HAVE_MIGRATE_ON_FAULT
#define RXE_ODP_HAVE_UNIFIED_WALK	true
#else
#define RXE_ODP_HAVE_UNIFIED_WALK	false
#endif

/* odp_fault.c */
int rxe_odp_fault(struct rxe_odp *odp, unsigned long va, u64 len,
		  unsigned int flags);
int rxe_odp_hmm_fault(struct hmm_range *range, unsigned long need_end);

/* odp_migrate.c */
bool rxe_odp_migrate_unified(void);
int rxe_odp_migrate(struct rxe_odp *odp, struct hmm_range *range,
		    struct vm_area_struct *vma, struct rxe_odp_migration *m);

/* odp_invalidate.c */
extern const struct mmu_interval_notifier_ops rxe_odp_mn_ops;
void rxe_odp_detach_intervals(struct rxe_odp *odp, bool all,
			      struct list_head *list);
void rxe_odp_free_intervals(struct rxe_odp *odp, struct list_head *list);
void rxe_odp_shrink(struct work_struct *work);

#if IS_ENABLED(CONFIG_KUNIT)
/* for kernel/tests/odp_kunit.c, which drives the notifier directly */
void rxe_odp_init_state(struct rxe_odp *odp);
struct rxe_odp_finish *rxe_odp_alloc_finish(void);
#endif

#endif /* RXE_ODP_INTERNAL_H */
