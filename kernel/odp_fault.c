// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * The fault path: fills an MR's table from hmm_range_fault(), under the
 * notifier sequence, for an access that found a page missing or
 * read-only, or for a prefetch. A fault takes the pages the access needs
 * and a readahead of what is present after them; with
 * RXE_ODP_FAULT_MIGRATE the pages move into device memory on the way
 * (odp_migrate.c).
 */

#include <linux/hmm.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "odp_internal.h"

static unsigned int odp_readahead = 16;
module_param(odp_readahead, uint, 0644);
MODULE_PARM_DESC(odp_readahead,
		 "Pages faulted beyond an access, within its VMA and MR (default 16, at most 512)");

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
int rxe_odp_hmm_fault(struct hmm_range *range, unsigned long need_end)
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

/* One fault, from rxe_odp_fault_prepare() to its end. */
struct rxe_odp_fault_state {
	struct hmm_range		range;
	/* the notifier whose sequence the fault is under */
	struct rxe_odp_interval		*iv;
	struct rxe_odp_migration	m;
	unsigned int			flags;
	/* the pages the access needs, [need_start, end) */
	unsigned long			need_start;
	unsigned long			end;
	/* what the fault asks of each needed page: HMM_PFN_REQ_* */
	unsigned long			req;
	/* readahead, and the room of the pfn arrays, in pages */
	unsigned long			ra;
	unsigned long			want;
	unsigned long			max_pages;
	/* the PMD-sized range of the access, which may become a device THP */
	unsigned long			pmd_start;
	bool				thp_ok;
	/* holds migrate_sem for write and a reference to device memory */
	bool				migrate;
	/* the next try collects pages for migration */
	bool				collect;
	/* the last try migrated within a VMA */
	bool				migrating;
};

/*
 * The range policy of a fault: the pages it needs, what it asks of them,
 * whether it migrates, and room for what it can walk: the needed pages
 * and their readahead, or a whole PMD-sized range for a device THP. One
 * array for the walk, two more for a migration. Returns -EFAULT for a
 * range outside the MR, or -ENOMEM.
 */
static int rxe_odp_fault_prepare(struct rxe_odp *odp, unsigned long va,
				 u64 len, struct rxe_odp_fault_state *f)
{
	unsigned long start = ALIGN_DOWN(va, PAGE_SIZE);
	unsigned long *pfns;

	/* page by page: an unaligned @va must not make it one page more */
	f->end = min(PAGE_ALIGN(va + len),
		     start + (RXE_ODP_MAX_FAULT_PAGES << PAGE_SHIFT));
	if (start < odp->start || f->end > odp->end || start >= f->end)
		return -EFAULT;
	f->need_start = start;
	f->range.pfn_flags_mask = HMM_PFN_REQ_FAULT | HMM_PFN_REQ_WRITE;
	f->range.dev_private_owner = odp->mr->ibmr.device;
	f->migrate = f->flags & RXE_ODP_FAULT_MIGRATE;
	if (f->flags & RXE_ODP_FAULT_CPU) {
		f->range.dev_private_owner = NULL;
		f->migrate = false;
	}
	if (!(f->flags & RXE_ODP_FAULT_SNAPSHOT)) {
		f->req = HMM_PFN_REQ_FAULT;
		if (f->flags & RXE_ODP_FAULT_WRITE)
			f->req |= HMM_PFN_REQ_WRITE;
	} else {
		f->migrate = false;
	}

	f->pmd_start = ALIGN_DOWN(va, PMD_SIZE);
	f->thp_ok = f->migrate && f->pmd_start >= odp->start &&
		    f->end <= f->pmd_start + PMD_SIZE &&
		    f->pmd_start + PMD_SIZE <= odp->end;
	f->ra = min(READ_ONCE(odp_readahead), RXE_ODP_CHUNK_PAGES);
	f->want = min(((f->end - start) >> PAGE_SHIFT) + f->ra,
		      RXE_ODP_MAX_FAULT_PAGES);
	f->max_pages = f->thp_ok ? max(f->want, RXE_DEVMEM_THP_PAGES) :
				   f->want;
	pfns = kvmalloc_array(f->max_pages,
			      (f->migrate ? 3 : 1) * sizeof(*pfns),
			      GFP_KERNEL);
	if (!pfns)
		return -ENOMEM;
	f->range.hmm_pfns = pfns;
	if (f->migrate) {
		f->m.args.src = pfns + f->max_pages;
		f->m.args.dst = pfns + 2 * f->max_pages;
	}
	return 0;
}

/*
 * The notifier a fault at @va is under: an explicit MR's own, or that of
 * the region of an implicit MR, inserted on its first fault. Under
 * migrate_sem, which keeps shrinking from removing it; intervals_lock
 * makes one of the region's first faults insert it, the others find it.
 */
static struct rxe_odp_interval *rxe_odp_interval(struct rxe_odp *odp,
						 unsigned long va)
{
	unsigned long index = va >> RXE_ODP_REGION_SHIFT;
	struct rxe_odp_interval *iv;
	struct mem_cgroup *old_memcg;
	int err = -ENOMEM;

	if (!odp->implicit)
		return &odp->whole;
	iv = xa_load(&odp->intervals, index);
	if (iv)
		return iv;

	mutex_lock(&odp->intervals_lock);
	iv = xa_load(&odp->intervals, index);
	if (iv)
		goto out_unlock;
	old_memcg = set_active_memcg(odp->memcg);
	iv = kzalloc_obj(*iv, GFP_KERNEL_ACCOUNT);
	/* the slot first, so that storing after the insert cannot fail */
	if (iv)
		err = xa_reserve(&odp->intervals, index, GFP_KERNEL_ACCOUNT);
	set_active_memcg(old_memcg);
	if (err)
		goto err_free;
	iv->odp = odp;
	iv->start = max(index << RXE_ODP_REGION_SHIFT, odp->start);
	/* u64: on 32-bit, the shift of the last region's index overflows */
	iv->end = min_t(u64, (u64)(index + 1) << RXE_ODP_REGION_SHIFT,
			odp->end);
	err = mmu_interval_notifier_insert(&iv->notifier, odp->mm, iv->start,
					   iv->end - iv->start,
					   &rxe_odp_mn_ops);
	if (err)
		goto err_release;
	atomic_inc(&odp->nr_intervals);
	xa_store(&odp->intervals, index, iv, GFP_KERNEL);
	goto out_unlock;

err_release:
	xa_release(&odp->intervals, index);
err_free:
	kfree(iv);
	iv = ERR_PTR(err);
out_unlock:
	mutex_unlock(&odp->intervals_lock);
	return iv;
}

/*
 * A migrating fault holds migrate_sem for write and the device memory.
 * Without device memory it becomes a plain fault, which holds the sem
 * for read, as every other fault does.
 */
static void rxe_odp_fault_lock(struct rxe_odp *odp,
			       struct rxe_odp_fault_state *f)
{
	if (!f->migrate) {
		down_read(&odp->migrate_sem);
		return;
	}
	down_write(&odp->migrate_sem);
	f->m.dm = rxe_devmem_get(to_rdev(odp->mr->ibmr.device));
	if (IS_ERR(f->m.dm)) {
		f->m.dm = NULL;
		f->migrate = false;
		downgrade_write(&odp->migrate_sem);
	}
}

static void rxe_odp_fault_unlock(struct rxe_odp *odp,
				 struct rxe_odp_fault_state *f)
{
	if (f->migrate) {
		rxe_devmem_unreserve(f->m.dm, &f->m.resv);
		rxe_devmem_put(to_rdev(odp->mr->ibmr.device));
		up_write(&odp->migrate_sem);
	} else {
		up_read(&odp->migrate_sem);
	}
}

/*
 * The range of one try, under the mmap lock: the needed pages and their
 * readahead. A try that collects stays within one anonymous VMA, and
 * takes the whole PMD-sized range as one device THP when the VMA wants
 * THPs and the reservation holds one. Returns the VMA to migrate in, or
 * NULL for a plain fault.
 */
static struct vm_area_struct *
rxe_odp_fault_range(struct rxe_odp *odp, struct mm_struct *mm,
		    struct rxe_odp_fault_state *f)
{
	struct hmm_range *range = &f->range;
	struct vm_area_struct *vma;

	/* from the needed pages again: a THP try moved start to the PMD's */
	range->start = f->need_start;
	range->end = min3(rxe_odp_readahead_end(odp, mm, f->end, f->ra,
						f->flags),
			  range->start + (f->max_pages << PAGE_SHIFT),
			  f->iv->end);
	f->m.thp = false;
	if (!f->collect)
		return NULL;
	vma = vma_lookup(mm, range->start);
	if (!vma || !vma_is_anonymous(vma))
		return NULL;
	if (f->m.resv.has_thp && (vma->vm_flags & VM_HUGEPAGE) &&
	    f->pmd_start >= vma->vm_start &&
	    f->pmd_start + PMD_SIZE <= vma->vm_end) {
		/* the whole PMD-sized range, as one device THP */
		f->m.thp = true;
		range->start = f->pmd_start;
		range->end = range->start + PMD_SIZE;
	} else {
		range->end = min(range->end, vma->vm_end);
	}
	return vma;
}

/*
 * One try: walks (and migrates) the range of the try under a new
 * notifier sequence and the mmap lock. Returns the walk's errno, -EBUSY
 * to try again.
 */
static int rxe_odp_fault_walk(struct rxe_odp *odp,
			      struct rxe_odp_fault_state *f)
{
	struct hmm_range *range = &f->range;
	struct mm_struct *mm = odp->mm;
	struct vm_area_struct *vma;
	struct mem_cgroup *old_memcg;
	int err;

	/*
	 * Before the sequence: eviction invalidates, maybe this MR too. A
	 * block for a device THP when the access lies in a PMD-sized range
	 * of the MR; whether its VMA wants THPs is known only later.
	 */
	if (f->collect)
		rxe_devmem_reserve(f->m.dm, &f->m.resv, f->want, f->thp_ok);
	range->notifier_seq = mmu_interval_read_begin(&f->iv->notifier);
	mmap_read_lock(mm);
	vma = rxe_odp_fault_range(odp, mm, f);
	f->migrating = !!vma;
	/* the walk overwrote the requests of the last try */
	rxe_odp_fault_request(range, f->need_start, f->end, f->req);
	f->m.need_end = min(f->end, range->end);
	old_memcg = set_active_memcg(odp->memcg);
	err = rxe_odp_table_reserve(&odp->table, range->start, range->end);
	set_active_memcg(old_memcg);
	if (!err && vma)
		err = rxe_odp_migrate(odp, range, vma, &f->m);
	else if (!err)
		err = rxe_odp_hmm_fault(range, f->end);
	mmap_read_unlock(mm);
	return err;
}

/*
 * Stores what the try found, unless an invalidation ran since its walk
 * began (-EBUSY: try again) or the mm is gone (-EFAULT). Adds the
 * entries that became present to *@added.
 */
static int rxe_odp_fault_store(struct rxe_odp *odp,
			       struct rxe_odp_fault_state *f,
			       unsigned long *added)
{
	struct hmm_range *range = &f->range;
	int err = 0;

	spin_lock(&odp->table.lock);
	if (mmu_interval_read_retry(&f->iv->notifier, range->notifier_seq))
		err = -EBUSY;
	else if (odp->table.dead)
		err = -EFAULT;
	else
		*added += rxe_odp_table_store(&odp->table, range->start,
					      (range->end - range->start) >>
					      PAGE_SHIFT, range->hmm_pfns);
	spin_unlock(&odp->table.lock);
	return err;
}

/*
 * Device memory ran short: the unified walk collects holes without
 * faulting them, so a needed page left without a device page is a hole
 * still.
 */
static bool rxe_odp_fault_left_holes(struct rxe_odp_fault_state *f)
{
	unsigned long first = (f->need_start - f->range.start) >> PAGE_SHIFT;

	if (!f->migrating || f->m.need_end <= f->need_start)
		return false;
	return !rxe_odp_pfns_valid(f->range.hmm_pfns + first,
				   (f->m.need_end - f->need_start) >>
				   PAGE_SHIFT);
}

/**
 * rxe_odp_fault() - fill the table for [@va, @va + @len)
 * @odp: the MR's ODP state
 * @va: user virtual address of the access
 * @len: its length
 * @flags: RXE_ODP_FAULT_*
 *
 * Faults the pages from hmm_range_fault(), plus readahead unless
 * RXE_ODP_FAULT_EXACT or _SNAPSHOT; with RXE_ODP_FAULT_MIGRATE the pages
 * move into device memory on the way. Tries again while invalidations
 * race it, for HMM_RANGE_DEFAULT_TIMEOUT. It stops at the end of the
 * notifier @va is under, the 1 GiB region of an implicit MR: a caller
 * whose access goes on past it faults there anew.
 *
 * Return: 0, -EFAULT outside the MR or once the mm is gone, -EBUSY when
 * invalidations won every try, or the walk's errno.
 */
int rxe_odp_fault(struct rxe_odp *odp, unsigned long va, u64 len,
		  unsigned int flags)
{
	struct rxe_odp_fault_state f = {
		.m.resv.pages = LIST_HEAD_INIT(f.m.resv.pages),
		.m.resv.thp = LIST_HEAD_INIT(f.m.resv.thp),
		.m.unified = rxe_odp_migrate_unified(),
		.flags = flags,
	};
	unsigned long timeout, added = 0;
	struct mm_struct *mm = odp->mm;
	u64 t0 = ktime_get_ns();
	int err;

	err = rxe_odp_fault_prepare(odp, va, len, &f);
	if (err)
		return err;
	if (!mmget_not_zero(mm)) {
		err = -EFAULT;
		goto out_free;
	}
	rxe_odp_fault_lock(odp, &f);
	f.iv = rxe_odp_interval(odp, va);
	if (IS_ERR(f.iv)) {
		err = PTR_ERR(f.iv);
		goto out_unlock;
	}
	/* one fault, one notifier: the rest of the access faults anew */
	f.end = min(f.end, f.iv->end);
	f.range.notifier = &f.iv->notifier;
	f.collect = f.migrate;
	timeout = jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	for (;;) {
		err = rxe_odp_fault_walk(odp, &f);
		if (!err)
			err = rxe_odp_fault_store(odp, &f, &added);
		if (err == -EBUSY && !time_after(jiffies, timeout)) {
			atomic64_inc(&odp->fault_retries);
			continue;
		}
		if (err || !rxe_odp_fault_left_holes(&f))
			break;
		/*
		 * Fault the needed pages again, into system memory, in a walk
		 * that migrates nothing; pages that moved come back as they
		 * are.
		 */
		f.collect = false;
	}
	if (!err) {
		rxe_odp_count(odp, RXE_HMM_CNT_ODP_FAULTS, 1);
		rxe_odp_count(odp, RXE_HMM_CNT_ODP_FAULTED_PAGES, added);
		rxe_odp_count(odp, RXE_HMM_CNT_ODP_MAPPED_PAGES, added);
		rxe_odp_count(odp, RXE_HMM_CNT_ODP_FAULT_NS,
			      ktime_get_ns() - t0);
	}
out_unlock:
	rxe_odp_fault_unlock(odp, &f);
	/*
	 * A failed fault, or a walk that found nothing, left a chunk empty;
	 * a failed fault of an implicit MR may have left a notifier over a
	 * region that holds no chunk.
	 */
	if (rxe_odp_table_has_empty(&odp->table) || (err && odp->implicit))
		schedule_work(&odp->shrink_work);
	mmput(mm);
out_free:
	kvfree(f.range.hmm_pfns);
	return err;
}
