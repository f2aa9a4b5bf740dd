// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Emulated device-private memory of an rxe_hmm device, as lib/test_hmm.c
 * emulates it for its mirror device: the pagemap gives each device page a
 * struct page the CPU cannot map, and the module backs each allocated one
 * with a system page of its own.
 *
 * Allocation is two-step: a migration reserves free pages before it
 * collects anything (evicting if it must, while it holds no page lock
 * and no mmap lock), then takes pages from its reservation while it
 * copies. A fault therefore never fails for lack of device memory; it
 * migrates what it could reserve and maps the rest in system memory.
 *
 * A device THP is a PMD-sized, PMD-aligned block of device pages, backed
 * by a system folio of PMD_ORDER. Moving the device THP back to system
 * memory without a VMA (eviction, resize, removal) hands that folio over
 * in place of a copy, so it needs no contiguous memory, which may not be
 * had: migrate_device_pages() cannot split a device THP. When the core
 * splits the device THP, each piece holds a reference on the backing
 * folio, which is freed with the last piece.
 */

#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fault-inject.h>
#include <linux/highmem.h>
#include <linux/ioport.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "rxe.h"
#include "devmem.h"

/* Pages moved back to system memory per migrate_device_*() call. */
#define RXE_DEVMEM_BATCH	(2 * RXE_DEVMEM_THP_PAGES)

/*
 * Allocation failures on demand (Documentation/fault-injection/), in
 * debugfs as rxe_hmm/fail_alloc_thp and rxe_hmm/fail_alloc_page: the
 * PMD_ORDER backing pages of a device THP, and the backing page of a
 * single device page.
 */
static DECLARE_FAULT_ATTR(rxe_devmem_fail_thp);
static DECLARE_FAULT_ATTR(rxe_devmem_fail_page);

void rxe_devmem_debugfs_init(struct dentry *dir)
{
	fault_create_debugfs_attr("fail_alloc_thp", dir, &rxe_devmem_fail_thp);
	fault_create_debugfs_attr("fail_alloc_page", dir,
				  &rxe_devmem_fail_page);
}

static void rxe_devmem_count(struct rxe_hmm_devmem *dm,
			     enum rxe_hmm_counters idx, s64 n)
{
	rxe_hmm_count(&dm->rxe->hmm, idx, n);
}

static struct rxe_hmm_devmem *page_to_devmem(struct page *page)
{
	return container_of(page_pgmap(page), struct rxe_hmm_devmem, pagemap);
}

static struct rxe_hmm_dpage *page_to_dpage(struct rxe_hmm_devmem *dm,
					   struct page *page)
{
	return &dm->dpages[page_to_pfn(page) - dm->pfn_first];
}

static unsigned long dpage_to_pfn(struct rxe_hmm_devmem *dm,
				  struct rxe_hmm_dpage *d)
{
	return dm->pfn_first + (d - dm->dpages);
}

static unsigned long dpage_block(struct rxe_hmm_devmem *dm,
				 struct rxe_hmm_dpage *d)
{
	return (d - dm->dpages) >> PMD_ORDER;
}

/* Moves @d onto the free list, or off it onto @list; under the lock. */
static void dpage_put_free(struct rxe_hmm_devmem *dm, struct rxe_hmm_dpage *d)
{
	list_move_tail(&d->node, &dm->free);
	dm->block_free[dpage_block(dm, d)]++;
}

static void dpage_take_free(struct rxe_hmm_devmem *dm, struct rxe_hmm_dpage *d,
			    struct list_head *list)
{
	list_move_tail(&d->node, list);
	dm->block_free[dpage_block(dm, d)]--;
}

static void rxe_devmem_folio_free(struct folio *folio)
{
	struct page *page = &folio->page;
	struct rxe_hmm_devmem *dm = page_to_devmem(page);
	unsigned long i, nr = folio_nr_pages(folio);
	struct page *backing = page->zone_device_data;
	struct rxe_hmm_dpage *d = page_to_dpage(dm, page);

	/* NULL when the backing folio became the folio it migrated to */
	if (backing)
		folio_put(page_folio(backing));
	page->zone_device_data = NULL;

	spin_lock(&dm->lock);
	for (i = 0; i < nr; i++)
		dpage_put_free(dm, d + i);
	dm->used -= nr;
	spin_unlock(&dm->lock);
	rxe_devmem_count(dm, RXE_HMM_CNT_DEVMEM_USED_PAGES, -(s64)nr);
}

/*
 * The core split a device THP: each new folio gets its share of the
 * backing folio's pages, and a reference on it.
 */
static void rxe_devmem_folio_split(struct folio *head, struct folio *tail)
{
	struct page *backing = folio_zone_device_data(head);

	if (!tail)
		return;
	tail->pgmap = head->pgmap;
	tail->page.mapping = head->page.mapping;
	tail->page.zone_device_data = NULL;
	if (backing) {
		folio_get(page_folio(backing));
		tail->page.zone_device_data =
			backing + (folio_pfn(tail) - folio_pfn(head));
	}
}

/*
 * Device pages to system pages, for migrate_device_pages(): @src as
 * migrate_device_range() or _pfns() left it. Memory for the copies of
 * single pages cannot be refused, or data would be lost. A whole device
 * THP needs none: its backing folio, which holds its data, goes in its
 * place, with a reference of its own for migrate_device_finalize() to
 * drop; rxe_devmem_handed_over() settles the device THP's reference.
 */
static void rxe_devmem_copy_back(const unsigned long *src, unsigned long *dst,
				 unsigned long npages)
{
	unsigned long i, nr;
	struct page *spage, *backing;
	struct folio *folio;

	memset(dst, 0, npages * sizeof(*dst));
	for (i = 0; i < npages; i += nr) {
		nr = 1;
		spage = migrate_pfn_to_page(src[i]);
		if (!spage || !(src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		if (src[i] & MIGRATE_PFN_COMPOUND)
			nr = folio_nr_pages(page_folio(spage));
		/*
		 * A device THP handed over by another eviction and not freed
		 * yet has no backing: it holds nothing, and stays for its
		 * free.
		 */
		if (!folio_zone_device_data(page_folio(spage)))
			continue;
		backing = rxe_devmem_backing(spage);
		if (src[i] & MIGRATE_PFN_COMPOUND) {
			folio = page_folio(backing);
			/* only a device THP's own backing folio fits */
			if (WARN_ON_ONCE(folio_nr_pages(folio) != nr))
				continue;
			folio_get(folio);
			folio_lock(folio);
			dst[i] = migrate_pfn(folio_pfn(folio)) |
				 MIGRATE_PFN_COMPOUND;
		} else {
			folio = folio_alloc(GFP_HIGHUSER_MOVABLE | __GFP_NOFAIL,
					    0);
			folio_lock(folio);
			copy_highpage(&folio->page, backing);
			dst[i] = migrate_pfn(folio_pfn(folio));
		}
	}
}

/*
 * After migrate_device_pages(), before _finalize(): a device THP that
 * moved to its own backing folio no longer owns that folio, and drops
 * its reference now (_finalize() holds another until the folio is
 * mapped). One that did not move keeps it: _finalize() drops only the
 * reference rxe_devmem_copy_back() took.
 */
static void rxe_devmem_handed_over(const unsigned long *src,
				   const unsigned long *dst,
				   unsigned long npages)
{
	struct page *spage;
	unsigned long i;

	for (i = 0; i < npages; i++) {
		if (!(dst[i] & MIGRATE_PFN_COMPOUND) ||
		    !(src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		spage = migrate_pfn_to_page(src[i]);
		spage->zone_device_data = NULL;
		folio_put(page_folio(migrate_pfn_to_page(dst[i])));
	}
}

/* Pages whose migration went through, a THP counting all its pages. */
static unsigned long rxe_devmem_migrated(const unsigned long *src,
					 const unsigned long *dst,
					 unsigned long npages)
{
	unsigned long i, n = 0;

	for (i = 0; i < npages; i++) {
		if (!(src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		n += (dst[i] & MIGRATE_PFN_COMPOUND) ? RXE_DEVMEM_THP_PAGES : 1;
	}
	return n;
}

/*
 * Moves up to @want of the least recently used pages back to system
 * memory; a page the engine used since the last look gets a second
 * chance. Returns how many moved.
 */
static unsigned long rxe_devmem_evict(struct rxe_hmm_devmem *dm,
				      unsigned long want)
{
	unsigned long scan, n = 0, moved, pfn, nr, i;
	struct rxe_hmm_dpage *d;
	unsigned long *src, *dst;
	struct page *page;

	src = kvmalloc_array(2 * RXE_DEVMEM_BATCH, sizeof(*src), GFP_KERNEL);
	if (!src)
		return 0;
	dst = src + RXE_DEVMEM_BATCH;
	want = min(want, RXE_DEVMEM_BATCH);
	/*
	 * Under the spinlock: a bounded look, not the whole LRU. Pages it
	 * passes over lose their second chance, so the next look finds them.
	 */
	scan = min(2 * dm->npages, 4 * RXE_DEVMEM_BATCH);
	spin_lock(&dm->lock);
	while (n < want && scan-- && !list_empty(&dm->lru)) {
		d = list_first_entry(&dm->lru, struct rxe_hmm_dpage, node);
		/* to the tail either way: a page that fails to move waits */
		list_move_tail(&d->node, &dm->lru);
		pfn = dpage_to_pfn(dm, d);
		page = pfn_to_page(pfn);
		/* a THP goes as a whole, with its head */
		if (PageTail(page) || test_and_clear_bit(0, &d->referenced))
			continue;
		nr = compound_nr(page);
		if (n + nr > RXE_DEVMEM_BATCH)
			break;
		/*
		 * Every slot a pfn of ours: migrate_device_pfns() reads as
		 * many as the folio has pages, by then maybe not @nr.
		 */
		for (i = 0; i < nr; i++)
			src[n++] = pfn + i;
	}
	spin_unlock(&dm->lock);
	moved = 0;
	if (n) {
		/* locks only pages it can trylock: never waits on a migration */
		migrate_device_pfns(src, n);
		rxe_devmem_copy_back(src, dst, n);
		migrate_device_pages(src, dst, n);
		rxe_devmem_handed_over(src, dst, n);
		moved = rxe_devmem_migrated(src, dst, n);
		migrate_device_finalize(src, dst, n);
		rxe_devmem_count(dm, RXE_HMM_CNT_DEVMEM_EVICTED_PAGES, moved);
	}
	kvfree(src);
	return moved;
}

/* Takes the pages of a whole free block, in order, for a device THP. */
static bool rxe_devmem_reserve_block(struct rxe_hmm_devmem *dm,
				     struct rxe_hmm_reservation *r)
{
	unsigned long b, i, nblocks = dm->npages >> PMD_ORDER;
	struct rxe_hmm_dpage *d;

	for (b = 0; b < nblocks; b++)
		if (dm->block_free[b] == RXE_DEVMEM_THP_PAGES)
			break;
	if (b == nblocks)
		return false;
	d = &dm->dpages[b << PMD_ORDER];
	for (i = 0; i < RXE_DEVMEM_THP_PAGES; i++)
		dpage_take_free(dm, d + i, &r->thp);
	r->has_thp = true;
	return true;
}

/**
 * rxe_devmem_reserve() - set free device pages aside for one migration
 * @dm: the device memory
 * @r: the reservation, empty or partly filled
 * @npages: how many single pages @r should hold
 * @thp: whether to set a whole block aside for a device THP instead
 *
 * Evicts when too few single pages are free (never to make a block
 * free). May leave @r short: the migration then moves fewer pages.
 */
void rxe_devmem_reserve(struct rxe_hmm_devmem *dm,
			struct rxe_hmm_reservation *r, unsigned long npages,
			bool thp)
{
	struct rxe_hmm_dpage *d;
	int tries = 4;

	spin_lock(&dm->lock);
	if (thp && !r->has_thp && list_empty(&r->thp))
		rxe_devmem_reserve_block(dm, r);
	spin_unlock(&dm->lock);
	/* the block's pages serve as single pages too */
	if (r->has_thp)
		return;

	npages = min(npages, dm->npages);
	for (;;) {
		spin_lock(&dm->lock);
		while (r->npages < npages && !list_empty(&dm->free)) {
			d = list_first_entry(&dm->free, struct rxe_hmm_dpage,
					     node);
			dpage_take_free(dm, d, &r->pages);
			r->npages++;
		}
		spin_unlock(&dm->lock);
		if (r->npages == npages || !tries--)
			return;
		if (!rxe_devmem_evict(dm, npages - r->npages))
			return;
	}
}

void rxe_devmem_unreserve(struct rxe_hmm_devmem *dm,
			  struct rxe_hmm_reservation *r)
{
	struct rxe_hmm_dpage *d, *tmp;

	spin_lock(&dm->lock);
	list_for_each_entry_safe(d, tmp, &r->pages, node)
		dpage_put_free(dm, d);
	list_for_each_entry_safe(d, tmp, &r->thp, node)
		dpage_put_free(dm, d);
	r->npages = 0;
	r->has_thp = false;
	spin_unlock(&dm->lock);
}

/**
 * rxe_devmem_alloc() - a device page for one migrating page
 * @dm: the device memory
 * @r: the reservation to take it from
 *
 * Takes from @r's single pages, else from its THP block (which is then
 * no longer whole). Returns the page locked, with a backing page the
 * caller fills, or NULL when @r is empty or no backing page could be
 * allocated.
 */
struct page *rxe_devmem_alloc(struct rxe_hmm_devmem *dm,
			      struct rxe_hmm_reservation *r)
{
	struct rxe_hmm_dpage *d;
	struct page *backing, *page;
	struct list_head *from;

	from = r->npages ? &r->pages : &r->thp;
	if (list_empty(from) || should_fail(&rxe_devmem_fail_page, 1))
		return NULL;
	backing = alloc_page(GFP_HIGHUSER);
	if (!backing)
		return NULL;

	spin_lock(&dm->lock);
	d = list_first_entry(from, struct rxe_hmm_dpage, node);
	list_move_tail(&d->node, &dm->lru);
	if (from == &r->pages)
		r->npages--;
	else
		r->has_thp = false;
	dm->used++;
	spin_unlock(&dm->lock);
	clear_bit(0, &d->referenced);

	page = pfn_to_page(dpage_to_pfn(dm, d));
	zone_device_page_init(page, &dm->pagemap, 0);
	page->zone_device_data = backing;
	rxe_devmem_count(dm, RXE_HMM_CNT_DEVMEM_USED_PAGES, 1);
	return page;
}

/**
 * rxe_devmem_alloc_thp() - a device THP for one migrating PMD range
 * @dm: the device memory
 * @r: the reservation that holds a whole block
 *
 * Returns the THP's head page, locked, with backing pages the caller
 * fills, or NULL when @r holds no whole block or a folio of PMD_ORDER
 * system pages could not be had: the caller then moves single pages.
 */
struct page *rxe_devmem_alloc_thp(struct rxe_hmm_devmem *dm,
				  struct rxe_hmm_reservation *r)
{
	struct rxe_hmm_dpage *d;
	struct page *backing, *page;
	struct folio *folio;
	unsigned long i;

	if (!r->has_thp || should_fail(&rxe_devmem_fail_thp, 1))
		return NULL;
	/*
	 * A folio, as the THP it may end up as (rxe_devmem_copy_back()).
	 * Not movable: nothing can move it while it backs a device page,
	 * and on the LRU later compaction moves it wherever it sits.
	 */
	folio = folio_alloc(GFP_HIGHUSER | __GFP_NOWARN | __GFP_NORETRY,
			    PMD_ORDER);
	if (!folio)
		return NULL;
	backing = &folio->page;

	spin_lock(&dm->lock);
	d = list_first_entry(&r->thp, struct rxe_hmm_dpage, node);
	list_splice_tail_init(&r->thp, &dm->lru);
	r->has_thp = false;
	dm->used += RXE_DEVMEM_THP_PAGES;
	spin_unlock(&dm->lock);
	for (i = 0; i < RXE_DEVMEM_THP_PAGES; i++)
		clear_bit(0, &d[i].referenced);

	page = pfn_to_page(dpage_to_pfn(dm, d));
	zone_device_page_init(page, &dm->pagemap, PMD_ORDER);
	folio_set_large_rmappable(page_folio(page));
	page->zone_device_data = backing;
	rxe_devmem_count(dm, RXE_HMM_CNT_DEVMEM_USED_PAGES,
			 RXE_DEVMEM_THP_PAGES);
	return page;
}

/*
 * System pages for the device pages migrate_vma_setup() collected: a THP
 * for a device THP when one can be had, else single pages.
 */
static vm_fault_t rxe_devmem_copy_to_ram(struct migrate_vma *args)
{
	unsigned long i, j, nr, addr;
	struct page *spage, *backing, *dpage;
	struct folio *folio;

	memset(args->dst, 0, args->npages * sizeof(*args->dst));
	for (i = 0; i < args->npages; i += nr) {
		nr = 1;
		spage = migrate_pfn_to_page(args->src[i]);
		if (!spage || !(args->src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		backing = rxe_devmem_backing(spage);
		addr = args->start + i * PAGE_SIZE;
		if (args->src[i] & MIGRATE_PFN_COMPOUND) {
			nr = folio_nr_pages(page_folio(spage));
			folio = vma_alloc_folio(GFP_HIGHUSER_MOVABLE |
						__GFP_NOWARN,
						folio_order(page_folio(spage)),
						args->vma, addr);
			if (folio) {
				folio_lock(folio);
				for (j = 0; j < nr; j++)
					copy_highpage(folio_page(folio, j),
						      backing + j);
				args->dst[i] = migrate_pfn(folio_pfn(folio)) |
					       MIGRATE_PFN_COMPOUND;
				continue;
			}
		}
		/* migrate_vma_pages() splits a THP copied page by page */
		for (j = 0; j < nr; j++) {
			dpage = alloc_page_vma(GFP_HIGHUSER_MOVABLE, args->vma,
					       addr + j * PAGE_SIZE);
			if (!dpage)
				goto oom;
			lock_page(dpage);
			copy_highpage(dpage, backing + j);
			args->dst[i + j] = migrate_pfn(page_to_pfn(dpage));
		}
	}
	return 0;

oom:
	/* nothing migrates: migrate_vma_finalize() restores every page */
	for (i = 0; i < args->npages; i++) {
		dpage = migrate_pfn_to_page(args->dst[i]);
		if (!dpage)
			continue;
		folio = page_folio(dpage);
		folio_unlock(folio);
		folio_put(folio);
		args->dst[i] = 0;
	}
	return VM_FAULT_OOM;
}

/*
 * The CPU touched a device page: copy it back to system memory, a
 * PMD-mapped device THP as a whole.
 */
static vm_fault_t rxe_devmem_migrate_to_ram(struct vm_fault *vmf)
{
	struct rxe_hmm_devmem *dm = page_to_devmem(vmf->page);
	unsigned int order = vmf->pte ? 0 : folio_order(page_folio(vmf->page));
	unsigned long nr = 1UL << order;
	struct migrate_vma args = {
		.vma = vmf->vma,
		.start = ALIGN_DOWN(vmf->address, PAGE_SIZE << order),
		.end = ALIGN_DOWN(vmf->address, PAGE_SIZE << order) +
		       (PAGE_SIZE << order),
		.pgmap_owner = dm->pagemap.owner,
		.flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE |
			 (order ? MIGRATE_VMA_SELECT_COMPOUND : 0),
		.fault_page = vmf->page,
	};
	vm_fault_t ret;

	args.src = kcalloc(2 * nr, sizeof(*args.src), GFP_KERNEL);
	if (!args.src)
		return VM_FAULT_OOM;
	args.dst = args.src + nr;
	if (migrate_vma_setup(&args)) {
		ret = VM_FAULT_SIGBUS;
		goto out;
	}
	ret = rxe_devmem_copy_to_ram(&args);
	if (!ret) {
		migrate_vma_pages(&args);
		rxe_devmem_count(dm, RXE_HMM_CNT_DEVMEM_CPU_FAULT_PAGES,
				 rxe_devmem_migrated(args.src, args.dst, nr));
	}
	migrate_vma_finalize(&args);
out:
	kfree(args.src);
	return ret;
}

static const struct dev_pagemap_ops rxe_devmem_ops = {
	.folio_free	= rxe_devmem_folio_free,
	.migrate_to_ram	= rxe_devmem_migrate_to_ram,
	.folio_split	= rxe_devmem_folio_split,
};

static struct rxe_hmm_devmem *rxe_devmem_create(struct rxe_dev *rxe)
{
	u64 size = ALIGN(rxe->hmm.devmem_size, PMD_SIZE);
	struct rxe_hmm_devmem *dm;
	unsigned long i;
	void *addr;
	int err = -ENOMEM;

	if (!size)
		return ERR_PTR(-EINVAL);
	dm = kzalloc_obj(*dm);
	if (!dm)
		return ERR_PTR(-ENOMEM);
	dm->rxe = rxe;
	dm->npages = size >> PAGE_SHIFT;
	spin_lock_init(&dm->lock);
	INIT_LIST_HEAD(&dm->free);
	INIT_LIST_HEAD(&dm->lru);
	dm->dpages = kvcalloc(dm->npages, sizeof(*dm->dpages), GFP_KERNEL);
	dm->block_free = kvcalloc(dm->npages >> PMD_ORDER,
				  sizeof(*dm->block_free), GFP_KERNEL);
	if (!dm->dpages || !dm->block_free)
		goto err_free;

	dm->res = request_free_mem_region(&iomem_resource, size, "rxe_hmm");
	if (IS_ERR(dm->res)) {
		err = PTR_ERR(dm->res);
		goto err_free;
	}
	dm->pagemap.type = MEMORY_DEVICE_PRIVATE;
	dm->pagemap.range.start = dm->res->start;
	dm->pagemap.range.end = dm->res->end;
	dm->pagemap.nr_range = 1;
	dm->pagemap.ops = &rxe_devmem_ops;
	/* the owner hmm_range_fault() and migrations are told about */
	dm->pagemap.owner = &rxe->ib_dev;
	addr = memremap_pages(&dm->pagemap, numa_node_id());
	if (IS_ERR(addr)) {
		err = PTR_ERR(addr);
		goto err_release;
	}
	dm->pfn_first = PHYS_PFN(dm->res->start);
	for (i = 0; i < dm->npages; i++)
		list_add_tail(&dm->dpages[i].node, &dm->free);
	for (i = 0; i < dm->npages >> PMD_ORDER; i++)
		dm->block_free[i] = RXE_DEVMEM_THP_PAGES;
	return dm;

err_release:
	release_mem_region(dm->res->start, resource_size(dm->res));
err_free:
	kvfree(dm->block_free);
	kvfree(dm->dpages);
	kfree(dm);
	return ERR_PTR(err);
}

/* Device pages allocated and not freed yet. */
static unsigned long rxe_devmem_used(struct rxe_hmm_devmem *dm)
{
	unsigned long used;

	spin_lock(&dm->lock);
	used = dm->used;
	spin_unlock(&dm->lock);
	return used;
}

/*
 * Migrates every allocated page back to system memory, then gives the
 * pagemap up. Nothing can allocate meanwhile: the caller holds
 * devmem_sem for write.
 */
static void rxe_devmem_destroy(struct rxe_hmm_devmem *dm)
{
	unsigned long pfn, n, moved, *src, *dst;
	unsigned int rounds = 0;

	/* batches are PMD aligned: a device THP never straddles two */
	src = kvmalloc_array(2 * RXE_DEVMEM_BATCH, sizeof(*src),
			     GFP_KERNEL | __GFP_NOFAIL);
	dst = src + RXE_DEVMEM_BATCH;
	while (rxe_devmem_used(dm)) {
		for (pfn = dm->pfn_first; pfn < dm->pfn_first + dm->npages;
		     pfn += n) {
			n = min(RXE_DEVMEM_BATCH,
				dm->pfn_first + dm->npages - pfn);
			migrate_device_range(src, pfn, n);
			rxe_devmem_copy_back(src, dst, n);
			migrate_device_pages(src, dst, n);
			rxe_devmem_handed_over(src, dst, n);
			moved = rxe_devmem_migrated(src, dst, n);
			migrate_device_finalize(src, dst, n);
			rxe_devmem_count(dm, RXE_HMM_CNT_DEVMEM_TEARDOWN_PAGES,
					 moved);
		}
		/* a page a CPU fault or the mm holds locked right now */
		if (rxe_devmem_used(dm)) {
			WARN_ONCE(++rounds == 1000,
				  "rxe_hmm: device pages still in use\n");
			usleep_range(1000, 2000);
		}
	}
	kvfree(src);
	memunmap_pages(&dm->pagemap);
	release_mem_region(dm->res->start, resource_size(dm->res));
	kvfree(dm->block_free);
	kvfree(dm->dpages);
	kfree(dm);
}

/**
 * rxe_devmem_get() - the device memory of @rxe, created on first use
 * @rxe: the device
 *
 * Returns it with devmem_sem held for read (release with
 * rxe_devmem_put()), or an ERR_PTR with nothing held.
 */
struct rxe_hmm_devmem *rxe_devmem_get(struct rxe_dev *rxe)
{
	struct rxe_hmm_devmem *dm;

	down_read(&rxe->hmm.devmem_sem);
	if (rxe->hmm.devmem)
		return rxe->hmm.devmem;
	up_read(&rxe->hmm.devmem_sem);

	down_write(&rxe->hmm.devmem_sem);
	if (!rxe->hmm.devmem) {
		dm = rxe_devmem_create(rxe);
		if (IS_ERR(dm)) {
			up_write(&rxe->hmm.devmem_sem);
			return dm;
		}
		rxe->hmm.devmem = dm;
	}
	downgrade_write(&rxe->hmm.devmem_sem);
	return rxe->hmm.devmem;
}

void rxe_devmem_put(struct rxe_dev *rxe)
{
	up_read(&rxe->hmm.devmem_sem);
}

/* Caller holds devmem_sem for write. */
static void rxe_devmem_empty(struct rxe_dev *rxe)
{
	if (rxe->hmm.devmem)
		rxe_devmem_destroy(rxe->hmm.devmem);
	rxe->hmm.devmem = NULL;
}

/* Empties the device memory; the next migration creates it at @size. */
int rxe_devmem_resize(struct rxe_dev *rxe, u64 size)
{
	if (size < PMD_SIZE || size > SZ_64G)
		return -EINVAL;
	down_write(&rxe->hmm.devmem_sem);
	rxe_devmem_empty(rxe);
	rxe->hmm.devmem_size = size;
	up_write(&rxe->hmm.devmem_sem);
	return 0;
}

/* The device goes away: its pages go back to the processes' memory. */
void rxe_devmem_remove(struct rxe_dev *rxe)
{
	/* also for a device that never got as far as rxe_hmm_dev_add() */
	if (!rxe->hmm.devmem)
		return;
	down_write(&rxe->hmm.devmem_sem);
	rxe_devmem_empty(rxe);
	up_write(&rxe->hmm.devmem_sem);
}
