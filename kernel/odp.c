// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * On-demand paging for rxe_hmm, built directly on hmm_range_fault() and
 * the two-pass mmu_interval_notifier.
 *
 * An ODP MR owns an interval notifier over its user range and a sparse
 * page table (odp_table.h). The data path looks entries up without a
 * sleeping lock and copies; a missing or read-only entry sends it to
 * rxe_odp_fault(), which fills the table from hmm_range_fault() under the
 * notifier sequence. Invalidation clears entries in pass 1
 * (invalidate_start) and, when an access may still be using a cleared
 * page, waits for it in pass 2 (invalidate_finish). MMU_NOTIFY_RELEASE
 * fences the MR for good: every later access fails, so a remote access
 * completes with a remote access error.
 */

#include <linux/delay.h>
#include <linux/hmm.h>
#include <linux/libnvdimm.h>
#include <linux/memcontrol.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <kunit/visibility.h>
#include <rdma/restrack.h>
#include <rdma/rxe_hmm-abi.h>
#include <rdma/uverbs_ioctl.h>

#include "rxe.h"
#include "devmem.h"

/* Hard cap of one fault: bounds the pfn array and the time in the walk. */
#define RXE_ODP_MAX_FAULT_PAGES	(2 * RXE_ODP_CHUNK_PAGES)

static unsigned int odp_readahead = 16;
module_param(odp_readahead, uint, 0644);
MODULE_PARM_DESC(odp_readahead,
		 "Pages faulted beyond an access, within its VMA and MR (default 16, at most 512)");

static bool implicit_odp = true;
module_param(implicit_odp, bool, 0644);
MODULE_PARM_DESC(implicit_odp,
		 "Offer implicit ODP on devices created from now on (default Y)");

static unsigned int odp_access_delay_ms;
module_param(odp_access_delay_ms, uint, 0644);
MODULE_PARM_DESC(odp_access_delay_ms,
		 "Debug: sleep this long inside every ODP access, after its pages were looked up (default 0)");

static bool invalidate_one_pass;
module_param(invalidate_one_pass, bool, 0644);
MODULE_PARM_DESC(invalidate_one_pass,
		 "Debug: wait for an MR's accesses in pass 1 of an invalidation, as a one-pass notifier does (default N)");

#ifdef RXE_HMM_HAVE_MIGRATE_ON_FAULT
static bool migrate_two_step;
module_param(migrate_two_step, bool, 0644);
MODULE_PARM_DESC(migrate_two_step,
		 "Migrate with hmm_range_fault() then migrate_vma_setup(), not in the fault's own walk (default N)");
#else
/* read-only: this kernel has no migrate-on-fault walk */
static bool migrate_two_step = true;
module_param(migrate_two_step, bool, 0444);
MODULE_PARM_DESC(migrate_two_step,
		 "Always Y: the kernel lacks hmm_range_fault() migrate on fault");
#endif

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

static inline struct rxe_odp *to_odp(struct rxe_mr *mr)
{
	return mr->odp;
}

static void rxe_odp_count(struct rxe_odp *odp, enum rxe_hmm_counters idx,
			  s64 n)
{
	struct rxe_dev *rxe = to_rdev(odp->mr->ibmr.device);

	BUILD_BUG_ON(ARRAY_SIZE(odp->counters) != RXE_HMM_NUM_MR_COUNTERS);
	atomic64_add(n, &odp->counters[rxe_hmm_odp_index(idx)]);
	atomic64_add(n, &rxe->hmm.counters[idx]);
}

static unsigned long rxe_odp_iova_to_va(struct rxe_odp *odp, u64 iova)
{
	return iova + odp->va_offset;
}

/*
 * Where a fault whose needed pages end at @end stops once readahead is
 * added: at most @ra pages further, within the VMA that holds the last
 * needed page and within the MR; a write fault only over writable memory.
 * Called under the mmap lock, so that the walk sees the same VMA.
 */
static unsigned long rxe_odp_readahead_end(struct rxe_odp *odp,
					   struct mm_struct *mm,
					   unsigned long end,
					   unsigned long ra,
					   unsigned int flags)
{
	struct vm_area_struct *vma;
	unsigned long ra_end;

	/* a CPU fault would bring device pages of the readahead back too */
	if (flags & (RXE_ODP_FAULT_EXACT | RXE_ODP_FAULT_SNAPSHOT |
		     RXE_ODP_FAULT_CPU))
		return end;
	vma = vma_lookup(mm, end - 1);
	if (!vma || ((flags & RXE_ODP_FAULT_WRITE) &&
		     !(vma->vm_flags & VM_WRITE)))
		return end;
	ra_end = min3(end + (ra << PAGE_SHIFT), vma->vm_end, odp->end);
	return max(end, ra_end);
}

/*
 * The request of each page of @range: a fault, a write fault for a
 * write, for the pages the access needs, [@need_start, @need_end); none
 * for readahead, which takes what is present as it is. Faulting it could
 * fail the access for a page it never needed (past EOF, a guard page,
 * page_mkwrite() failing) or break COW on pages nobody writes.
 */
static void rxe_odp_fault_request(struct hmm_range *range,
				  unsigned long need_start,
				  unsigned long need_end, unsigned long req)
{
	unsigned long va, i = 0;

	for (va = range->start; va < range->end; va += PAGE_SIZE, i++)
		range->hmm_pfns[i] = va >= need_start && va < need_end ?
				     req : 0;
}

/*
 * hmm_range_fault() for a walk that collects nothing (a plain fault, or
 * the first step of a two-step migration). hmm faults every page from the
 * first one that needs it to the end of its walk with the same flags,
 * whatever the others asked, so the pages up to @need_end, whose requests
 * say which are needed, get a walk of their own, and the readahead after
 * them a second one that only takes what is present, under the same
 * notifier sequence.
 */
static int rxe_odp_hmm_fault(struct hmm_range *range, unsigned long need_end)
{
	struct hmm_range ra = *range;
	int err;

	range->end = need_end;
	err = hmm_range_fault(range);
	range->end = ra.end;
	if (err || need_end >= ra.end)
		return err;
	ra.start = need_end;
	ra.hmm_pfns += (need_end - range->start) >> PAGE_SHIFT;
	ra.default_flags = 0;
	ra.pfn_flags_mask = 0;
	err = hmm_range_fault(&ra);
	if (err && err != -EBUSY) {
		/* readahead is best effort: store none of it */
		memset(ra.hmm_pfns, 0, ((ra.end - ra.start) >> PAGE_SHIFT) *
		       sizeof(*ra.hmm_pfns));
		err = 0;
	}
	return err;
}

/* Whether every one of @npages entries of @pfns is valid. */
static bool rxe_odp_pfns_valid(const unsigned long *pfns, unsigned long npages)
{
	unsigned long i;

	for (i = 0; i < npages; i++)
		if (!(pfns[i] & HMM_PFN_VALID))
			return false;
	return true;
}

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
/* Never called: migrate_two_step is always set without the series. */
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
static int rxe_odp_migrate(struct rxe_odp *odp, struct hmm_range *range,
			   struct vm_area_struct *vma,
			   struct rxe_odp_migration *m)
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

/*
 * Fills the table for [@va, @va + @len) from hmm_range_fault(), plus
 * readahead unless RXE_ODP_FAULT_EXACT or _SNAPSHOT; with
 * RXE_ODP_FAULT_MIGRATE the pages move into device memory on the way.
 */
static int rxe_odp_fault(struct rxe_odp *odp, unsigned long va, u64 len,
			 unsigned int flags)
{
	struct rxe_dev *rxe = to_rdev(odp->mr->ibmr.device);
	struct mm_struct *mm = odp->notifier.mm;
	unsigned long start = ALIGN_DOWN(va, PAGE_SIZE);
	unsigned long end, timeout, npages, added = 0, need_start = start;
	unsigned long req = 0;
	struct rxe_odp_migration m = {
		.resv.pages = LIST_HEAD_INIT(m.resv.pages),
		.resv.thp = LIST_HEAD_INIT(m.resv.thp),
		.unified = !READ_ONCE(migrate_two_step),
	};
	unsigned long pmd_start = ALIGN_DOWN(va, PMD_SIZE);
	struct hmm_range range = {
		.notifier = &odp->notifier,
		.start = start,
		.pfn_flags_mask = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE,
		.dev_private_owner = odp->mr->ibmr.device,
	};
	bool migrate = flags & RXE_ODP_FAULT_MIGRATE;
	bool collect;
	u64 t0 = ktime_get_ns();
	struct vm_area_struct *vma;
	unsigned long ra, want, max_pages;
	unsigned long *pfns;
	struct mem_cgroup *old_memcg;
	bool thp_ok;
	int err;

	/* page by page: an unaligned @va must not make it one page more */
	end = min(PAGE_ALIGN(va + len),
		  start + (RXE_ODP_MAX_FAULT_PAGES << PAGE_SHIFT));
	if (start < odp->start || end > odp->end || start >= end)
		return -EFAULT;

	if (flags & RXE_ODP_FAULT_CPU) {
		range.dev_private_owner = NULL;
		migrate = false;
	}
	if (!(flags & RXE_ODP_FAULT_SNAPSHOT)) {
		req = HMM_PFN_REQ_FAULT;
		if (flags & RXE_ODP_FAULT_WRITE)
			req |= HMM_PFN_REQ_WRITE;
	} else {
		migrate = false;
	}

	/*
	 * Room for what the fault can walk: the needed pages and their
	 * readahead, or a whole PMD-sized range for a device THP. One array
	 * for the walk, two more for a migration.
	 */
	thp_ok = migrate && pmd_start >= odp->start &&
		 end <= pmd_start + PMD_SIZE && pmd_start + PMD_SIZE <= odp->end;
	ra = min(READ_ONCE(odp_readahead), RXE_ODP_CHUNK_PAGES);
	want = min(((end - start) >> PAGE_SHIFT) + ra, RXE_ODP_MAX_FAULT_PAGES);
	max_pages = thp_ok ? max(want, RXE_DEVMEM_THP_PAGES) : want;
	pfns = kvmalloc_array(max_pages, (migrate ? 3 : 1) * sizeof(*pfns),
			      GFP_KERNEL);
	if (!pfns)
		return -ENOMEM;
	range.hmm_pfns = pfns;
	if (migrate) {
		m.args.src = pfns + max_pages;
		m.args.dst = pfns + 2 * max_pages;
	}

	if (!mmget_not_zero(mm)) {
		err = -EFAULT;
		goto out_free;
	}

	if (migrate) {
		down_write(&odp->migrate_sem);
		m.dm = rxe_devmem_get(rxe);
		/* no device memory: a plain fault */
		if (IS_ERR(m.dm)) {
			m.dm = NULL;
			migrate = false;
			downgrade_write(&odp->migrate_sem);
		}
	} else {
		down_read(&odp->migrate_sem);
	}

	collect = migrate;
	timeout = jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
again:
	/* from the needed pages again: a THP try moved start to the PMD's */
	start = need_start;
	range.start = start;
	/*
	 * Before the sequence: eviction invalidates, maybe this MR too. A
	 * block for a device THP when the access lies in a PMD-sized range
	 * of the MR; whether its VMA wants THPs is known only later.
	 */
	if (collect)
		rxe_devmem_reserve(m.dm, &m.resv, want, thp_ok);
	range.notifier_seq = mmu_interval_read_begin(&odp->notifier);
	mmap_read_lock(mm);
	m.thp = false;
	range.end = min(rxe_odp_readahead_end(odp, mm, end, ra, flags),
			start + (max_pages << PAGE_SHIFT));
	vma = collect ? vma_lookup(mm, start) : NULL;
	if (!vma || !vma_is_anonymous(vma)) {
		vma = NULL;
	} else if (m.resv.has_thp && (vma->vm_flags & VM_HUGEPAGE) &&
		   pmd_start >= vma->vm_start &&
		   pmd_start + PMD_SIZE <= vma->vm_end) {
		/* the whole PMD-sized range, as one device THP */
		m.thp = true;
		start = pmd_start;
		range.start = start;
		range.end = start + PMD_SIZE;
	} else {
		range.end = min(range.end, vma->vm_end);
	}
	/* the walk overwrote the requests of the last try */
	rxe_odp_fault_request(&range, need_start, end, req);
	m.need_end = min(end, range.end);
	old_memcg = set_active_memcg(odp->memcg);
	err = rxe_odp_table_reserve(&odp->table, start, range.end);
	set_active_memcg(old_memcg);
	if (!err && vma)
		err = rxe_odp_migrate(odp, &range, vma, &m);
	else if (!err)
		err = rxe_odp_hmm_fault(&range, end);
	mmap_read_unlock(mm);
	if (err == -EBUSY) {
		if (time_after(jiffies, timeout))
			goto out_unlock;
		goto again;
	}
	if (err)
		goto out_unlock;
	npages = (range.end - start) >> PAGE_SHIFT;

	spin_lock(&odp->table.lock);
	if (mmu_interval_read_retry(&odp->notifier, range.notifier_seq)) {
		spin_unlock(&odp->table.lock);
		if (time_after(jiffies, timeout)) {
			err = -EBUSY;
			goto out_unlock;
		}
		goto again;
	}
	if (odp->table.dead) {
		spin_unlock(&odp->table.lock);
		err = -EFAULT;
		goto out_unlock;
	}
	added += rxe_odp_table_store(&odp->table, start, npages, pfns);
	spin_unlock(&odp->table.lock);

	/*
	 * Device memory ran short: the unified walk collects holes without
	 * faulting them, so one left without a device page is a hole still.
	 * Fault the needed pages again, into system memory, in a walk that
	 * migrates nothing; pages that moved come back as they are.
	 */
	if (vma && m.need_end > need_start &&
	    !rxe_odp_pfns_valid(pfns + ((need_start - start) >> PAGE_SHIFT),
				(m.need_end - need_start) >> PAGE_SHIFT)) {
		collect = false;
		goto again;
	}

	rxe_odp_count(odp, RXE_HMM_CNT_ODP_FAULTS, 1);
	rxe_odp_count(odp, RXE_HMM_CNT_ODP_FAULTED_PAGES, added);
	rxe_odp_count(odp, RXE_HMM_CNT_ODP_MAPPED_PAGES, added);
	rxe_odp_count(odp, RXE_HMM_CNT_ODP_FAULT_NS, ktime_get_ns() - t0);

out_unlock:
	if (migrate) {
		rxe_devmem_unreserve(m.dm, &m.resv);
		rxe_devmem_put(rxe);
		up_write(&odp->migrate_sem);
	} else {
		up_read(&odp->migrate_sem);
	}
	/* a failed fault, or a walk that found nothing, left a chunk empty */
	if (rxe_odp_table_has_empty(&odp->table))
		schedule_work(&odp->shrink_work);
	mmput(mm);
out_free:
	kvfree(pfns);
	return err;
}

/*
 * Walks [@va, @va + @len) page by page inside an access, calling @fn with
 * each page's kernel mapping. A page that is missing, or read-only for a
 * write, ends the access, is faulted in and the walk resumes there: @fn
 * is therefore called once for every byte, in order.
 */
typedef void (*rxe_odp_page_fn)(void *kaddr, unsigned int len, void *arg);

/* Whether @entry is present and one of this device's own pages. */
static bool rxe_odp_entry_on_device(unsigned long entry)
{
	return (entry & HMM_PFN_VALID) &&
	       is_device_private_page(hmm_pfn_to_page(entry));
}

static int rxe_odp_walk(struct rxe_odp *odp, unsigned long va, u64 len,
			bool write, rxe_odp_page_fn fn, void *arg)
{
	unsigned long fault_va = ULONG_MAX;
	struct rxe_odp_access access;
	unsigned int offset, bytes;
	unsigned int delay_ms;
	unsigned long entry;
	struct folio *folio;
	struct page *page;
	bool devpriv, to_cpu = false, resched = false;
	int tries = 0;
	void *kaddr;
	int err;

	while (len) {
		err = rxe_odp_access_begin(&odp->table, &access);
		if (err)
			return err;
		while (len) {
			entry = rxe_odp_table_entry(&odp->table, va);
			if (!rxe_odp_entry_allows(entry, write)) {
				/*
				 * A write to our own page, read-only since a
				 * fork() or change_protection(): hmm returns it
				 * as it is, so only a CPU fault makes it
				 * writable.
				 */
				to_cpu = rxe_odp_entry_on_device(entry);
				break;
			}
			/*
			 * Debug knob: hold a looked-up page across a sleep, so
			 * a test can invalidate it meanwhile and see pass 2
			 * wait for this access.
			 */
			delay_ms = READ_ONCE(odp_access_delay_ms);
			if (unlikely(delay_ms))
				msleep(delay_ms);
			offset = offset_in_page(va);
			bytes = min_t(u64, len, PAGE_SIZE - offset);
			page = hmm_pfn_to_page(entry);
			/* only this device's pages are ever stored */
			devpriv = is_device_private_page(page);
			if (devpriv)
				page = rxe_devmem_backing(page);
			kaddr = kmap_local_page(page);
			fn(kaddr + offset, bytes, arg);
			kunmap_local(kaddr);
			/*
			 * As a CPU store through the PTE would: hmm leaves the
			 * PTE clean when it was writable already, and reclaim
			 * discards a clean MADV_FREE page or drops a clean one
			 * from the swap cache. The page is still mapped, as an
			 * invalidation waits for this access, so its mapping is
			 * stable, as for zap_pte_range(). A device page holds
			 * anonymous memory only, and migrates back into a new
			 * swap-backed folio, which reclaim always writes out.
			 */
			if (write && !devpriv) {
				folio = page_folio(page);
				if (!folio_test_dirty(folio))
					folio_mark_dirty(folio);
			}
			va += bytes;
			len -= bytes;
			if (len && need_resched()) {
				resched = true;
				break;
			}
		}
		rxe_odp_access_end(&odp->table, &access);
		if (!len)
			break;
		if (resched) {
			/* a long access lets the CPU, and invalidations, in */
			resched = false;
			cond_resched();
			continue;
		}
		/*
		 * An invalidation that beats every fault to the same page
		 * must not keep us here forever.
		 */
		if (va != fault_va)
			tries = 0;
		else if (++tries > 16)
			return -EBUSY;
		fault_va = va;
		if (to_cpu) {
			/* that page only: the next ones may be writable */
			err = rxe_odp_fault(odp, va,
					    min_t(u64, len,
						  PAGE_SIZE - offset_in_page(va)),
					    RXE_ODP_FAULT_WRITE |
					    RXE_ODP_FAULT_CPU);
		} else {
			err = rxe_odp_fault(odp, va, len,
					    (write ? RXE_ODP_FAULT_WRITE : 0) |
					    (READ_ONCE(odp->policy) ==
					     RXE_HMM_MIGRATE_ON_FAULT ?
					     RXE_ODP_FAULT_MIGRATE : 0));
		}
		if (err)
			return err;
	}
	return 0;
}

struct rxe_odp_copy {
	u8			*addr;
	enum rxe_mr_copy_dir	dir;
};

static void rxe_odp_copy_page(void *kaddr, unsigned int len, void *arg)
{
	struct rxe_odp_copy *c = arg;

	if (c->dir == RXE_TO_MR_OBJ)
		memcpy(kaddr, c->addr, len);
	else
		memcpy(c->addr, kaddr, len);
	c->addr += len;
}

int rxe_odp_mr_copy(struct rxe_mr *mr, u64 iova, void *addr, int length,
		    enum rxe_mr_copy_dir dir)
{
	struct rxe_odp *odp = to_odp(mr);
	struct rxe_odp_copy c = { .addr = addr, .dir = dir };

	if (length <= 0)
		return length ? -EINVAL : 0;
	if (dir != RXE_TO_MR_OBJ && dir != RXE_FROM_MR_OBJ)
		return -EINVAL;

	return rxe_odp_walk(odp, rxe_odp_iova_to_va(odp, iova), length,
			    dir == RXE_TO_MR_OBJ, rxe_odp_copy_page, &c);
}

struct rxe_odp_atomic {
	int		opcode;
	u64		compare;
	u64		swap_add;
	u64		orig;
};

static void rxe_odp_atomic_page(void *kaddr, unsigned int len, void *arg)
{
	struct rxe_odp_atomic *a = arg;
	u64 *va = kaddr;

	/* the same lock as rxe's pinned atomics: one atomicity domain */
	spin_lock_bh(&atomic_ops_lock);
	a->orig = *va;
	if (a->opcode == IB_OPCODE_RC_COMPARE_SWAP) {
		if (a->orig == a->compare)
			*va = a->swap_add;
	} else {
		*va = a->orig + a->swap_add;
	}
	spin_unlock_bh(&atomic_ops_lock);
}

/* One aligned 64-bit word at @iova, for the atomics: @fn does the rest. */
static enum resp_states rxe_odp_word(struct rxe_mr *mr, u64 iova,
				     rxe_odp_page_fn fn, void *arg)
{
	struct rxe_odp *odp = to_odp(mr);
	unsigned long va = rxe_odp_iova_to_va(odp, iova);

	/* See IBA oA19-28 */
	if (mr_check_range(mr, iova, sizeof(u64)))
		return RESPST_ERR_RKEY_VIOLATION;
	/* See IBA A19.4.2; aligned, the word never straddles two pages */
	if (unlikely(va & 7))
		return RESPST_ERR_MISALIGNED_ATOMIC;
	if (rxe_odp_walk(odp, va, sizeof(u64), true, fn, arg))
		return RESPST_ERR_RKEY_VIOLATION;
	return RESPST_NONE;
}

enum resp_states rxe_odp_atomic_op(struct rxe_mr *mr, u64 iova, int opcode,
				   u64 compare, u64 swap_add, u64 *orig_val)
{
	struct rxe_odp_atomic a = {
		.opcode = opcode,
		.compare = compare,
		.swap_add = swap_add,
	};
	enum resp_states ret;

	if (unlikely(mr->state != RXE_MR_STATE_VALID))
		return RESPST_ERR_RKEY_VIOLATION;
	ret = rxe_odp_word(mr, iova, rxe_odp_atomic_page, &a);
	if (ret == RESPST_NONE)
		*orig_val = a.orig;
	return ret;
}

static void rxe_odp_atomic_write_page(void *kaddr, unsigned int len,
				      void *arg)
{
	/* after all prior operations, as rxe does for pinned MRs */
	smp_store_release((u64 *)kaddr, *(u64 *)arg);
}

enum resp_states rxe_odp_do_atomic_write(struct rxe_mr *mr, u64 iova,
					 u64 value)
{
	return rxe_odp_word(mr, iova, rxe_odp_atomic_write_page, &value);
}

static void rxe_odp_flush_page(void *kaddr, unsigned int len, void *arg)
{
	arch_wb_cache_pmem(kaddr, len);
}

int rxe_odp_flush_pmem_iova(struct rxe_mr *mr, u64 iova, unsigned int length)
{
	struct rxe_odp *odp = to_odp(mr);

	/* a flush never modifies memory; read access suffices */
	return rxe_odp_walk(odp, rxe_odp_iova_to_va(odp, iova), length, false,
			    rxe_odp_flush_page, NULL);
}

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
static bool rxe_odp_invalidate_clear(struct rxe_odp *odp,
				     const struct mmu_notifier_range *range,
				     unsigned long cur_seq, bool own,
				     struct mmu_interval_notifier_finish **f)
{
	struct mmu_interval_notifier *mni = &odp->notifier;
	unsigned long start = max(range->start, odp->start);
	unsigned long end = min(range->end, odp->end);
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
	if (READ_ONCE(invalidate_one_pass)) {
		rxe_odp_table_wait(&odp->table, clears);
		return true;
	}

	if (!test_and_set_bit_lock(0, &odp->finish_busy)) {
		finish = &odp->finish;
	} else {
		finish = kmalloc_obj(*finish, GFP_NOWAIT);
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
	struct rxe_odp *odp = container_of(mni, struct rxe_odp, notifier);
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
	ret = rxe_odp_invalidate_clear(odp, range, cur_seq, own, f);
	/* the time of the invalidations counted, as ODP_INVALIDATIONS */
	if (!own)
		rxe_odp_count(odp, RXE_HMM_CNT_ODP_INVALIDATE_NS,
			      ktime_get_ns() - t0);
	return ret;
}

VISIBLE_IF_KUNIT const struct mmu_interval_notifier_ops rxe_odp_mn_ops = {
	.invalidate_start = rxe_odp_invalidate_start,
	.invalidate_finish = rxe_odp_invalidate_finish,
};
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_mn_ops);

/*
 * Frees the chunks of the table that hold no entry: takes them out while
 * no fault of the MR is between reserving chunks and storing into them,
 * then waits for the accesses without holding the faults up.
 */
static void rxe_odp_shrink(struct work_struct *work)
{
	struct rxe_odp *odp = container_of(work, struct rxe_odp, shrink_work);
	LIST_HEAD(list);

	down_write(&odp->migrate_sem);
	rxe_odp_table_detach_empty(&odp->table, &list);
	up_write(&odp->migrate_sem);
	rxe_odp_table_free_chunks(&odp->table, &list);
}

/* The locks, the table and the work of a new MR's state. */
VISIBLE_IF_KUNIT void rxe_odp_init_state(struct rxe_odp *odp)
{
	init_rwsem(&odp->migrate_sem);
	INIT_WORK(&odp->shrink_work, rxe_odp_shrink);
	rxe_odp_table_init(&odp->table);
}
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_init_state);

static const enum rxe_hmm_migrate_policy rxe_odp_uapi_policy[] = {
	[RXE_HMM_POLICY_OFF] = RXE_HMM_MIGRATE_OFF,
	[RXE_HMM_POLICY_ON_FAULT] = RXE_HMM_MIGRATE_ON_FAULT,
	[RXE_HMM_POLICY_PREFETCH_ONLY] = RXE_HMM_MIGRATE_PREFETCH_ONLY,
};

/*
 * The migration policy an MR asks for in the driver data of its
 * registration (struct rxe_hmm_reg_mr), or the device's. Only ODP MRs
 * migrate, so only they may ask.
 */
int rxe_odp_reg_mr_policy(struct rxe_dev *rxe, int access_flags,
			  struct ib_udata *udata,
			  enum rxe_hmm_migrate_policy *policy)
{
	struct rxe_hmm_reg_mr cmd = {};
	int err;

	*policy = READ_ONCE(rxe->hmm.policy);
	if (!udata || !udata->inlen)
		return 0;
	if (udata->inlen > sizeof(cmd) &&
	    !ib_is_udata_cleared(udata, sizeof(cmd),
				 udata->inlen - sizeof(cmd)))
		return -EINVAL;
	err = ib_copy_from_udata(&cmd, udata, min(sizeof(cmd), udata->inlen));
	if (err)
		return err;
	if (cmd.comp_mask & ~RXE_HMM_REG_MR_MIGRATE_POLICY)
		return -EINVAL;
	if (!(cmd.comp_mask & RXE_HMM_REG_MR_MIGRATE_POLICY) ||
	    cmd.migrate_policy == RXE_HMM_POLICY_DEVICE_DEFAULT)
		return 0;
	if (!(access_flags & IB_ACCESS_ON_DEMAND) ||
	    cmd.migrate_policy >= ARRAY_SIZE(rxe_odp_uapi_policy))
		return -EINVAL;
	*policy = rxe_odp_uapi_policy[cmd.migrate_policy];
	return 0;
}

int rxe_odp_mr_init_user(struct rxe_dev *rxe, u64 start, u64 length,
			 u64 iova, int access_flags,
			 enum rxe_hmm_migrate_policy policy, struct rxe_mr *mr)
{
	bool implicit = !start && length == U64_MAX;
	struct rxe_odp *odp;
	u64 end;
	int err;

	rxe_mr_init(access_flags, mr);

	if (!length)
		return -EINVAL;
	if (implicit) {
		if (!(rxe->attr.odp_caps.general_caps &
		      IB_ODP_SUPPORT_IMPLICIT))
			return -EOPNOTSUPP;
		/* the MR maps iova to the same virtual address */
		if (iova)
			return -EINVAL;
		end = TASK_SIZE;
	} else {
		if (check_add_overflow(start, length, &end))
			return -EOVERFLOW;
		if (end > TASK_SIZE)
			return -EFAULT;
	}

	odp = kzalloc_obj(*odp);
	if (!odp)
		return -ENOMEM;
	odp->mr = mr;
	odp->writable = ib_access_writable(access_flags);
	odp->policy = policy;
	rxe_odp_init_state(odp);
	odp->start = ALIGN_DOWN(start, PAGE_SIZE);
	odp->end = PAGE_ALIGN(end);
	odp->va_offset = start - iova;

	err = mmu_interval_notifier_insert(&odp->notifier, current->mm,
					   odp->start, odp->end - odp->start,
					   &rxe_odp_mn_ops);
	if (err) {
		kfree(odp);
		return err;
	}
	/* faults run in rxe's workers: charge the table to the process */
	odp->memcg = get_mem_cgroup_from_mm(current->mm);

	mr->odp = odp;
	mr->ibmr.length = length;
	mr->ibmr.iova = iova;
	mr->ibmr.type = IB_MR_TYPE_USER;
	mr->state = RXE_MR_STATE_VALID;
	return 0;
}

/* The last reference to @mr is gone: no access can be in flight. */
void rxe_odp_mr_cleanup(struct rxe_mr *mr)
{
	struct rxe_odp *odp = to_odp(mr);

	/* waits for an invalidation in progress, both passes */
	mmu_interval_notifier_remove(&odp->notifier);
	/* nothing queues it any more: no fault, no invalidation */
	cancel_work_sync(&odp->shrink_work);
	rxe_odp_count(odp, RXE_HMM_CNT_ODP_MAPPED_PAGES,
		      -(s64)odp->table.mapped);
	rxe_odp_table_destroy(&odp->table);
	mem_cgroup_put(odp->memcg);
	mr->odp = NULL;
	kfree(odp);
}

/*
 * The pages an ODP MR may write were decided at registration, and it
 * stays ODP unless it is registered anew (IB_MR_REREG_TRANS).
 */
int rxe_odp_check_rereg(struct rxe_mr *mr, int flags, int access)
{
	if ((flags & IB_MR_REREG_ACCESS) && !(access & IB_ACCESS_ON_DEMAND))
		return -EINVAL;
	if ((flags & IB_MR_REREG_ACCESS) && ib_access_writable(access) &&
	    !to_odp(mr)->writable)
		return -EACCES;
	return 0;
}

struct rxe_odp_prefetch_work {
	struct work_struct	work;
	unsigned int		flags;
	u32			num_sge;
	struct {
		struct rxe_mr	*mr;
		u64		iova;
		u32		length;
	} frags[];
};

static int rxe_odp_prefetch(struct rxe_mr *mr, u64 iova, u32 length,
			    unsigned int flags)
{
	struct rxe_odp *odp = to_odp(mr);
	unsigned long va = rxe_odp_iova_to_va(odp, iova);
	unsigned long end = va + length;
	unsigned long chunk;
	int err = 0;

	rxe_odp_count(odp, RXE_HMM_CNT_ODP_PREFETCHES, 1);
	/* a prefetch moves pages under either policy that migrates */
	if (READ_ONCE(odp->policy) != RXE_HMM_MIGRATE_OFF)
		flags |= RXE_ODP_FAULT_MIGRATE;
	while (va < end && !err) {
		/* a synchronous prefetch of a whole MR must stay killable */
		if (fatal_signal_pending(current))
			return -EINTR;
		chunk = min(end - va, (RXE_ODP_MAX_FAULT_PAGES << PAGE_SHIFT) -
				      offset_in_page(va));
		err = rxe_odp_fault(odp, va, chunk, flags);
		va += chunk;
		cond_resched();
	}
	return err;
}

static void rxe_odp_prefetch_work_fn(struct work_struct *w)
{
	struct rxe_odp_prefetch_work *work =
		container_of(w, struct rxe_odp_prefetch_work, work);
	u32 i;

	/* best effort: an asynchronous prefetch has nobody to report to */
	for (i = 0; i < work->num_sge; i++) {
		rxe_odp_prefetch(work->frags[i].mr, work->frags[i].iova,
				 work->frags[i].length, work->flags);
		rxe_put(work->frags[i].mr);
	}
	kvfree(work);
}

/* Looks up and checks one SGE; returns the MR with a reference held. */
static struct rxe_mr *rxe_odp_prefetch_mr(struct rxe_pd *pd,
					  enum ib_uverbs_advise_mr_advice advice,
					  struct ib_sge *sge, int *err)
{
	struct rxe_mr *mr;

	mr = lookup_mr(pd, 0, sge->lkey, RXE_LOOKUP_LOCAL);
	if (!mr) {
		*err = -EINVAL;
		return NULL;
	}
	if (!is_odp_mr(mr)) {
		*err = -EINVAL;
		goto err_put;
	}
	/* ibv_advise_mr(3): EFAULT for a range outside the MR */
	if (mr_check_range(mr, sge->addr, sge->length)) {
		*err = -EFAULT;
		goto err_put;
	}
	if (advice == IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_WRITE &&
	    !to_odp(mr)->writable) {
		*err = -EPERM;
		goto err_put;
	}
	return mr;

err_put:
	rxe_put(mr);
	return NULL;
}

int rxe_ib_advise_mr(struct ib_pd *ibpd, enum ib_uverbs_advise_mr_advice advice,
		     u32 flags, struct ib_sge *sg_list, u32 num_sge,
		     struct uverbs_attr_bundle *attrs)
{
	struct rxe_pd *pd = to_rpd(ibpd);
	struct rxe_odp_prefetch_work *work;
	unsigned int pf_flags = RXE_ODP_FAULT_EXACT;
	u32 hints = 0;
	struct rxe_mr *mr;
	int err = 0;
	u32 i;

	if (attrs) {
		err = uverbs_get_flags32(&hints, attrs,
					 RXE_HMM_ATTR_ADVISE_MR_FLAGS,
					 RXE_HMM_ADVISE_MR_MIGRATE);
		if (err)
			return err;
	}

	switch (advice) {
	case IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH:
		break;
	case IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_WRITE:
		pf_flags |= RXE_ODP_FAULT_WRITE;
		break;
	case IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT:
		pf_flags |= RXE_ODP_FAULT_SNAPSHOT;
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (flags & ~IB_UVERBS_ADVISE_MR_FLAG_FLUSH)
		return -EOPNOTSUPP;
	if (hints & RXE_HMM_ADVISE_MR_MIGRATE) {
		/* a snapshot faults nothing in, so it has nothing to move */
		if (pf_flags & RXE_ODP_FAULT_SNAPSHOT)
			return -EINVAL;
		pf_flags |= RXE_ODP_FAULT_MIGRATE;
	}

	if (flags & IB_UVERBS_ADVISE_MR_FLAG_FLUSH) {
		for (i = 0; i < num_sge; i++) {
			mr = rxe_odp_prefetch_mr(pd, advice, &sg_list[i], &err);
			if (!mr)
				return err;
			err = rxe_odp_prefetch(mr, sg_list[i].addr,
					       sg_list[i].length, pf_flags);
			rxe_put(mr);
			if (err)
				return err;
		}
		return 0;
	}

	/* Asynchronous: check everything now, fault later. */
	work = kvzalloc_flex(*work, frags, num_sge);
	if (!work)
		return -ENOMEM;
	INIT_WORK(&work->work, rxe_odp_prefetch_work_fn);
	work->flags = pf_flags;
	for (i = 0; i < num_sge; i++) {
		mr = rxe_odp_prefetch_mr(pd, advice, &sg_list[i], &err);
		if (!mr)
			goto err_put;
		work->frags[i].mr = mr;
		work->frags[i].iova = sg_list[i].addr;
		work->frags[i].length = sg_list[i].length;
		work->num_sge++;
	}
	queue_work(rxe_wq, &work->work);
	return 0;

err_put:
	for (i = 0; i < work->num_sge; i++)
		rxe_put(work->frags[i].mr);
	kvfree(work);
	return err;
}

static int rxe_odp_fill_stat_mr_entry(struct sk_buff *msg, struct ib_mr *ibmr)
{
	struct rxe_odp *odp = to_odp(to_rmr(ibmr));
	struct nlattr *table;
	u64 value;
	int i;

	if (!odp)
		return 0;
	table = nla_nest_start(msg, RDMA_NLDEV_ATTR_STAT_HWCOUNTERS);
	if (!table)
		return -EMSGSIZE;
	for (i = 0; i < RXE_HMM_NUM_COUNTERS; i++) {
		if (rxe_hmm_is_devmem_counter(i))
			continue;
		value = atomic64_read(&odp->counters[rxe_hmm_odp_index(i)]);
		if (rdma_nl_stat_hwcounter_entry(msg, rxe_hmm_counter_name(i),
						 value))
			goto err;
	}
	/* a level, not an event count: the memory of the MR's table now */
	if (rdma_nl_stat_hwcounter_entry(msg, "odp_table_bytes",
					 rxe_odp_table_bytes(&odp->table)))
		goto err;
	nla_nest_end(msg, table);
	return 0;

err:
	nla_nest_cancel(msg, table);
	return -EMSGSIZE;
}

static const struct ib_device_ops rxe_odp_dev_ops = {
	.advise_mr = rxe_ib_advise_mr,
	.fill_stat_mr_entry = rxe_odp_fill_stat_mr_entry,
};

void rxe_odp_init_device(struct rxe_dev *rxe)
{
	struct ib_odp_caps *caps = &rxe->attr.odp_caps;

	rxe->attr.kernel_cap_flags |= IBK_ON_DEMAND_PAGING;
	caps->general_caps = IB_ODP_SUPPORT;
	if (READ_ONCE(implicit_odp))
		caps->general_caps |= IB_ODP_SUPPORT_IMPLICIT;
	caps->per_transport_caps.ud_odp_caps = IB_ODP_SUPPORT_SEND |
					       IB_ODP_SUPPORT_RECV |
					       IB_ODP_SUPPORT_SRQ_RECV;
	caps->per_transport_caps.rc_odp_caps = IB_ODP_SUPPORT_SEND |
					       IB_ODP_SUPPORT_RECV |
					       IB_ODP_SUPPORT_WRITE |
					       IB_ODP_SUPPORT_READ |
					       IB_ODP_SUPPORT_ATOMIC |
					       IB_ODP_SUPPORT_SRQ_RECV |
					       IB_ODP_SUPPORT_FLUSH |
					       IB_ODP_SUPPORT_ATOMIC_WRITE;
	ib_set_device_ops(&rxe->ib_dev, &rxe_odp_dev_ops);
	rxe->ib_dev.driver_def = rxe_hmm_uapi_defs;
}
