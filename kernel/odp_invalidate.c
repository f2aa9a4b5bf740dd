// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Invalidation of ODP MRs through their mmu_interval_notifiers, in two
 * passes: invalidate_start clears the range, so that no new access uses
 * it, and hands the wait for accesses already in flight to
 * invalidate_finish, so that the mm waits for all its notifiers at once.
 * MMU_NOTIFY_RELEASE fences the MR for good: every later access fails,
 * so a remote access completes with a remote access error. An implicit
 * MR has a notifier per region it maps (struct rxe_odp_interval), which
 * shrinking removes once the region maps nothing; one that maps nothing
 * sees no release, and its flush checks the mm's users instead.
 */

#include <linux/mmu_notifier.h>
#include <linux/slab.h>
#include <kunit/static_stub.h>
#include <kunit/visibility.h>

#include "odp_internal.h"

/* debugfs rxe_hmm/invalidate_one_pass, see rxe_odp_debugfs_init() */
bool rxe_odp_invalidate_one_pass;

/*
 * A pass 2 for an invalidation while another one holds the MR's own.
 * Pass 1 runs in reclaim too (try_to_unmap()), so it may not reclaim to
 * allocate; on failure it waits itself, as one pass. A KUnit stub hands
 * out one that the test allocated, or fails.
 */
VISIBLE_IF_KUNIT struct rxe_odp_finish *rxe_odp_alloc_finish(void)
{
	KUNIT_STATIC_STUB_REDIRECT(rxe_odp_alloc_finish);
	return kmalloc_obj(struct rxe_odp_finish, GFP_NOWAIT);
}
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_alloc_finish);

/* Pass 2: wait for the accesses that may use a page pass 1 cleared. */
static void rxe_odp_invalidate_finish(struct mmu_interval_notifier_finish *f)
{
	struct rxe_odp_finish *finish =
		container_of(f, struct rxe_odp_finish, base);
	struct rxe_odp *odp = finish->odp;
	u64 t0 = ktime_get_ns();

	rxe_odp_table_wait(&odp->table, finish->clears);
	rxe_odp_count(odp, RXE_HMM_CNT_ODP_INVALIDATE_NS, ktime_get_ns() - t0);
	if (finish == &odp->finish)
		clear_bit_unlock(0, &odp->finish_busy);
	else
		kfree(finish);
}

/*
 * Pass 1: clear the range so that no new access uses it; hand the wait
 * for accesses already in flight to pass 2, so that the mm waits for all
 * its notifiers at once rather than for each in turn.
 */
static bool rxe_odp_invalidate_clear(struct rxe_odp_interval *iv,
				     const struct mmu_notifier_range *range,
				     unsigned long cur_seq, bool own,
				     struct mmu_interval_notifier_finish **f)
{
	struct mmu_interval_notifier *mni = &iv->notifier;
	unsigned long start = max(range->start, iv->start);
	unsigned long end = min(range->end, iv->end);
	struct rxe_odp *odp = iv->odp;
	struct rxe_odp_finish *finish;
	unsigned long cleared;
	u64 clears;
	bool wait;

	spin_lock(&odp->table.lock);
	if (!own)
		mmu_interval_set_seq(mni, cur_seq);
	/* the mm is going away: fence the MR for good (seeds/004) */
	if (range->event == MMU_NOTIFY_RELEASE)
		WRITE_ONCE(odp->table.dead, true);
	cleared = rxe_odp_table_clear(&odp->table, start, end);
	/*
	 * Not only when this pass cleared something: the core frees the
	 * range's pages once we return, and an access may still use one
	 * whose entry an earlier invalidation cleared.
	 */
	wait = rxe_odp_table_must_wait(&odp->table, &clears);
	spin_unlock(&odp->table.lock);
	if (cleared && rxe_odp_table_has_empty(&odp->table))
		schedule_work(&odp->shrink_work);

	if (!own) {
		rxe_odp_count(odp, RXE_HMM_CNT_ODP_INVALIDATIONS, 1);
		rxe_odp_count(odp, RXE_HMM_CNT_ODP_INVALIDATED_PAGES, cleared);
	}
	rxe_odp_count(odp, RXE_HMM_CNT_ODP_MAPPED_PAGES, -(s64)cleared);

	if (!wait)
		return true;
	/* Cannot wait here, and pass 2 runs in this same context. */
	if (!mmu_notifier_range_blockable(range))
		return false;
	/* the debug knob: what every notifier did before the two passes */
	if (READ_ONCE(rxe_odp_invalidate_one_pass)) {
		rxe_odp_table_wait(&odp->table, clears);
		return true;
	}

	if (!test_and_set_bit_lock(0, &odp->finish_busy)) {
		finish = &odp->finish;
	} else {
		finish = rxe_odp_alloc_finish();
		if (!finish) {
			/* behave as a one-pass notifier */
			rxe_odp_table_wait(&odp->table, clears);
			return true;
		}
	}
	finish->odp = odp;
	finish->clears = clears;
	*f = &finish->base;
	return true;
}

static bool rxe_odp_invalidate_start(struct mmu_interval_notifier *mni,
				     const struct mmu_notifier_range *range,
				     unsigned long cur_seq,
				     struct mmu_interval_notifier_finish **f)
{
	struct rxe_odp_interval *iv =
		container_of(mni, struct rxe_odp_interval, notifier);
	struct rxe_odp *odp = iv->odp;
	u64 t0 = ktime_get_ns();
	bool ret, own;

	/*
	 * Our own migration, from the task migrating for this MR: its pages
	 * must still leave the table and accesses to them end first, but
	 * the fault stores their device pages itself. Its sequence stays:
	 * no other fault of this MR runs meanwhile (migrate_sem). Another
	 * MR's migration, a CPU fault or an eviction is foreign.
	 */
	own = range->event == MMU_NOTIFY_MIGRATE &&
	      range->owner == odp->mr->ibmr.device &&
	      READ_ONCE(odp->migrator) == current;
	ret = rxe_odp_invalidate_clear(iv, range, cur_seq, own, f);
	/* the time of the invalidations counted, as ODP_INVALIDATIONS */
	if (!own)
		rxe_odp_count(odp, RXE_HMM_CNT_ODP_INVALIDATE_NS,
			      ktime_get_ns() - t0);
	return ret;
}

const struct mmu_interval_notifier_ops rxe_odp_mn_ops = {
	.invalidate_start = rxe_odp_invalidate_start,
	.invalidate_finish = rxe_odp_invalidate_finish,
};
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_mn_ops);

/*
 * Takes the intervals of an implicit MR out of its xarray onto @list:
 * all of them, or those whose region holds no chunk. Under migrate_sem
 * for write, so that no fault holds one.
 */
void rxe_odp_detach_intervals(struct rxe_odp *odp, bool all,
			      struct list_head *list)
{
	struct rxe_odp_interval *iv;
	unsigned long index;

	xa_for_each(&odp->intervals, index, iv) {
		if (!all && rxe_odp_table_has_chunk(&odp->table, iv->start,
						    iv->end))
			continue;
		xa_erase(&odp->intervals, index);
		list_add(&iv->free, list);
	}
}

/* Removes the notifiers of the intervals on @list, and frees them. */
void rxe_odp_free_intervals(struct rxe_odp *odp, struct list_head *list)
{
	struct rxe_odp_interval *iv, *next;

	list_for_each_entry_safe(iv, next, list, free) {
		/* waits for an invalidation in progress, both passes */
		mmu_interval_notifier_remove(&iv->notifier);
		atomic_dec(&odp->nr_intervals);
		kfree(iv);
	}
}

/*
 * Frees the chunks of the table that hold no entry, and the notifiers of
 * an implicit MR's regions that then hold no chunk: takes them out while
 * no fault of the MR is between reserving chunks and storing into them,
 * then waits for the accesses, and removes the notifiers, without
 * holding the faults up. A fault meanwhile inserts a notifier anew.
 */
void rxe_odp_shrink(struct work_struct *work)
{
	struct rxe_odp *odp = container_of(work, struct rxe_odp, shrink_work);
	LIST_HEAD(intervals);
	LIST_HEAD(list);

	down_write(&odp->migrate_sem);
	rxe_odp_table_detach_empty(&odp->table, &list);
	if (odp->implicit)
		rxe_odp_detach_intervals(odp, false, &intervals);
	up_write(&odp->migrate_sem);
	rxe_odp_table_free_chunks(&odp->table, &list);
	rxe_odp_free_intervals(odp, &intervals);
}
