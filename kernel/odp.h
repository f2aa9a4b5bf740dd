/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * The HMM-based ODP engine of rxe_hmm: what the rxe protocol engine calls
 * for ODP MRs. It replaces upstream rxe_odp.c and does not use
 * ib_umem_odp.
 */

#ifndef RXE_ODP_H
#define RXE_ODP_H

#include <linux/mmu_notifier.h>
#include <linux/rwsem.h>
#include <linux/workqueue.h>
#include <rdma/uverbs_ioctl.h>

#include "odp_table.h"

struct dentry;
struct rxe_odp;

/* The state of one invalidation between its two passes. */
struct rxe_odp_finish {
	struct mmu_interval_notifier_finish	base;
	struct rxe_odp				*odp;
	/* the table's clears that pass 2 waits out */
	u64					clears;
};

/*
 * One interval notifier of an MR: the whole of an explicit MR, or one
 * RXE_ODP_REGION_SHIFT-aligned region of an implicit MR, inserted by the
 * first fault there and removed once the region maps nothing, as mlx5
 * does with its implicit children. A notifier over the whole address
 * space would see every munmap() of the process, and each would make
 * every fault in flight walk again.
 */
struct rxe_odp_interval {
	struct mmu_interval_notifier	notifier;
	struct rxe_odp			*odp;
	/* the user virtual range it covers, [start, end) */
	unsigned long			start;
	unsigned long			end;
	/* on a list of intervals to remove, once out of the MR's xarray */
	struct list_head		free;
};

/* a PMD lies within one: PMD_SIZE is at most 512 MiB (arm64, 64K pages) */
#define RXE_ODP_REGION_SHIFT	30
#define RXE_ODP_REGION_SIZE	BIT(RXE_ODP_REGION_SHIFT)

struct rxe_odp {
	/* the notifier of an explicit MR */
	struct rxe_odp_interval		whole;
	/*
	 * An implicit MR's: va >> RXE_ODP_REGION_SHIFT -> interval; changed
	 * under migrate_sem (a fault inserts under it, for read; removal
	 * takes it for write), so a fault's interval stays while it runs.
	 */
	struct xarray			intervals;
	/* serialises insertion: one of a region's first faults inserts */
	struct mutex			intervals_lock;
	atomic_t			nr_intervals;
	/* the registering process's; grabbed for as long as the MR lives */
	struct mm_struct		*mm;
	/* walks a fault had to begin again: an invalidation overlapped it */
	atomic64_t			fault_retries;
	struct rxe_odp_table		table;
	struct rxe_mr			*mr;
	/* user virtual range [start, end) the MR covers, page aligned */
	unsigned long			start;
	unsigned long			end;
	/* va = iova + va_offset */
	u64				va_offset;
	bool				writable;
	/* registered over the whole address space (start 0, U64_MAX) */
	bool				implicit;
	/*
	 * An implicit MR that allows persistent flushes: its FLUSH sees only
	 * what it maps, so writes are written back as they are placed.
	 */
	bool				write_back;
	enum rxe_hmm_migrate_policy	policy;
	/*
	 * A fault that migrates holds it for write, any other fault for
	 * read: no fault of this MR can hold pfns of pages that its own
	 * migration moves, which therefore need not bump the notifier
	 * sequence (see rxe_odp_invalidate_start()).
	 */
	struct rw_semaphore		migrate_sem;
	/* the task migrating for this MR, under migrate_sem held for write */
	struct task_struct		*migrator;
	/*
	 * Pass-2 state of one invalidation without allocating; a second
	 * concurrent invalidation of this MR allocates its own.
	 */
	struct rxe_odp_finish		finish;
	unsigned long			finish_busy;
	atomic64_t			counters[RXE_HMM_NUM_MR_COUNTERS];
	/* the registering process's, charged for the table */
	struct mem_cgroup		*memcg;
	/*
	 * frees the table's empty chunks, and an implicit MR's notifiers of
	 * regions that map nothing, see rxe_odp_shrink()
	 */
	struct work_struct		shrink_work;
};

void rxe_odp_init_device(struct rxe_dev *rxe);
void rxe_odp_debugfs_init(struct dentry *dir);
int rxe_odp_reg_mr_policy(struct rxe_dev *rxe, int access_flags,
			  struct ib_udata *udata,
			  enum rxe_hmm_migrate_policy *policy);
int rxe_odp_mr_init_user(struct rxe_dev *rxe, u64 start, u64 length,
			 u64 iova, int access_flags,
			 enum rxe_hmm_migrate_policy policy, struct rxe_mr *mr);
void rxe_odp_mr_cleanup(struct rxe_mr *mr);
int rxe_odp_check_rereg(struct rxe_mr *mr, int flags, int access);
int rxe_odp_mr_copy(struct rxe_mr *mr, u64 iova, void *addr, int length,
		    enum rxe_mr_copy_dir dir);
enum resp_states rxe_odp_atomic_op(struct rxe_mr *mr, u64 iova, int opcode,
				   u64 compare, u64 swap_add, u64 *orig_val);
int rxe_odp_flush_pmem_iova(struct rxe_mr *mr, u64 iova, u64 length);
enum resp_states rxe_odp_do_atomic_write(struct rxe_mr *mr, u64 iova,
					 u64 value);
int rxe_ib_advise_mr(struct ib_pd *pd, enum ib_uverbs_advise_mr_advice advice,
		     u32 flags, struct ib_sge *sg_list, u32 num_sge,
		     struct uverbs_attr_bundle *attrs);

/* kernel/uapi.c: the capabilities of a context, the ioctl methods */
int rxe_hmm_alloc_ucontext(struct ib_udata *udata);
extern const struct uapi_definition rxe_hmm_uapi_defs[];

#endif /* RXE_ODP_H */
