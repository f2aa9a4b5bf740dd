// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Fault-and-migrate: the pages of a fault move into the device's emulated
 * device-private memory (devmem.c). With the mm series of
 * kernel/patches/mm/ the fault's own hmm_range_fault() walk collects
 * them; without it, or with the two-step knob set, migrate_vma_setup()
 * collects them in a second walk after the fault.
 */

#include <linux/hmm.h>
#include <linux/migrate.h>
#include <linux/mm.h>

#include "odp_internal.h"

/*
 * debugfs rxe_hmm/migrate_two_step, see rxe_odp_debugfs_init(): always
 * set, and read-only, on a kernel without the migrate-on-fault walk.
 */
bool rxe_odp_migrate_two_step = !RXE_ODP_HAVE_UNIFIED_WALK;

/* Whether faults migrate in their own walk. */
bool rxe_odp_migrate_unified(void)
{
	return !READ_ONCE(rxe_odp_migrate_two_step);
}

/* Gives back the device pages of dst[@i, @i + @n) the copy took. */
static void rxe_odp_migrate_drop(struct migrate_vma *args, unsigned long i,
				 unsigned long n)
{
	struct folio *folio;

	for (; n; n--, i++) {
		folio = page_folio(migrate_pfn_to_page(args->dst[i]));
		args->dst[i] = 0;
		/* its last reference frees it to the device memory */
		folio_unlock(folio);
		folio_put(folio);
	}
}

/*
 * Device pages for the pages the walk collected: a copy of each, or
 * zeroes for an empty one. A page left without one stays where it is.
 */
static void rxe_odp_migrate_copy(struct rxe_odp_migration *m)
{
	struct migrate_vma *args = &m->args;
	unsigned long i, j, nr;
	struct page *spage, *dpage, *backing;

	memset(args->dst, 0, args->npages * sizeof(*args->dst));
	for (i = 0; i < args->npages; i += nr) {
		nr = 1;
		if (!(args->src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		spage = migrate_pfn_to_page(args->src[i]);
		dpage = NULL;
		if (args->src[i] & MIGRATE_PFN_COMPOUND) {
			/* a THP, or an empty PMD range, collected whole */
			nr = RXE_DEVMEM_THP_PAGES;
			dpage = rxe_devmem_alloc_thp(m->dm, &m->resv);
		}
		if (dpage) {
			backing = dpage->zone_device_data;
			for (j = 0; j < nr; j++) {
				if (spage)
					copy_highpage(backing + j, spage + j);
				else
					clear_highpage(backing + j);
			}
			args->dst[i] = migrate_pfn(page_to_pfn(dpage)) |
				       MIGRATE_PFN_COMPOUND;
			continue;
		}
		/* page by page; migrate_vma_pages() splits a collected THP */
		for (j = 0; j < nr; j++) {
			dpage = rxe_devmem_alloc(m->dm, &m->resv);
			if (!dpage)
				break;
			if (spage)
				copy_highpage(dpage->zone_device_data, spage + j);
			else
				clear_highpage(dpage->zone_device_data);
			args->dst[i + j] = migrate_pfn(page_to_pfn(dpage));
		}
		/*
		 * An empty range collected whole is inserted whole: there is
		 * no THP to split, and migrate_vma_pages() would insert
		 * every page, a missing one as NULL. All or nothing.
		 */
		if (j < nr && !spage)
			rxe_odp_migrate_drop(args, i, j);
	}
}

/*
 * Turns the walk's output into what the table stores: a moved page is
 * its device page, writable as its CPU mapping is now; one that stayed
 * is what the walk found (an empty one is not valid: it stays absent).
 * Counts the pages and device THPs moved: they moved, whether or not
 * the fault gets to store them.
 */
static void rxe_odp_migrate_result(struct rxe_odp *odp,
				   struct rxe_odp_migration *m,
				   unsigned long *hmm_pfns)
{
	struct migrate_vma *args = &m->args;
	unsigned long i, j, nr, pfn, moved = 0, thps = 0;
	bool write;

	/* the table keeps only VALID, WRITE and the pfn of the others */
	for (i = 0; i < args->npages; i += nr) {
		nr = 1;
		if (!(args->src[i] & MIGRATE_PFN_MIGRATE) || !args->dst[i])
			continue;
		if (args->dst[i] & MIGRATE_PFN_COMPOUND) {
			nr = RXE_DEVMEM_THP_PAGES;
			thps++;
		}
		/* an empty page is mapped writable in a writable VMA */
		write = (args->src[i] & MIGRATE_PFN_WRITE) ||
			(!migrate_pfn_to_page(args->src[i]) &&
			 (args->vma->vm_flags & VM_WRITE));
		pfn = args->dst[i] >> MIGRATE_PFN_SHIFT;
		for (j = 0; j < nr; j++)
			hmm_pfns[i + j] = HMM_PFN_VALID | (pfn + j) |
					  (write ? HMM_PFN_WRITE : 0);
		moved += nr;
	}
	rxe_odp_count(odp, RXE_HMM_CNT_ODP_MIGRATED_PAGES, moved);
	rxe_odp_count(odp, RXE_HMM_CNT_ODP_MIGRATED_THPS, thps);
}

#ifdef RXE_HMM_HAVE_MIGRATE_ON_FAULT
/* One walk faults and collects (kernel/patches/mm/). */
static int rxe_odp_collect_unified(struct hmm_range *range,
				   struct migrate_vma *args)
{
	int err;

	range->default_flags |= HMM_PFN_REQ_MIGRATE;
	range->migrate = args;
	err = hmm_range_fault(range);
	if (!err)
		migrate_hmm_range_setup(range);
	range->default_flags &= ~HMM_PFN_REQ_MIGRATE;
	range->migrate = NULL;
	return err;
}
#else
/* Never called: two steps are the only way without the series. */
static int rxe_odp_collect_unified(struct hmm_range *range,
				   struct migrate_vma *args)
{
	return -EOPNOTSUPP;
}
#endif

/*
 * Fills @range like hmm_range_fault() and moves its pages into device
 * memory: in the same walk when the kernel has the mm series and the
 * two-step knob is off, else with migrate_vma_setup() after the fault.
 * Called under the mmap lock, for a range of one anonymous VMA. Returns
 * the walk's errno.
 */
int rxe_odp_migrate(struct rxe_odp *odp, struct hmm_range *range,
		    struct vm_area_struct *vma, struct rxe_odp_migration *m)
{
	struct migrate_vma *args = &m->args;
	u64 t0 = ktime_get_ns();
	int err;

	args->vma = vma;
	args->start = range->start;
	args->end = range->end;
	args->pgmap_owner = range->dev_private_owner;
	args->flags = MIGRATE_VMA_SELECT_SYSTEM;
	if (m->thp)
		args->flags |= MIGRATE_VMA_SELECT_COMPOUND;

	/* our own migration's notifier calls come from this task */
	WRITE_ONCE(odp->migrator, current);
	if (m->unified) {
		err = rxe_odp_collect_unified(range, args);
		if (err)
			goto out;
	} else {
		/* readahead faults nothing here either: it is only collected */
		err = rxe_odp_hmm_fault(range, m->need_end);
		if (err)
			goto out;
		/* a VMA it refuses is only not migrated */
		if (migrate_vma_setup(args))
			goto out;
	}
	if (args->cpages) {
		rxe_odp_migrate_copy(m);
		migrate_vma_pages(args);
		rxe_odp_migrate_result(odp, m, range->hmm_pfns);
		migrate_vma_finalize(args);
		rxe_odp_count(odp, RXE_HMM_CNT_ODP_MIGRATIONS, 1);
		rxe_odp_count(odp, RXE_HMM_CNT_ODP_MIGRATE_NS,
			      ktime_get_ns() - t0);
	}
out:
	WRITE_ONCE(odp->migrator, NULL);
	return err;
}
