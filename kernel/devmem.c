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
 */

#include <linux/delay.h>
#include <linux/highmem.h>
#include <linux/ioport.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "rxe.h"
#include "devmem.h"

/* Pages moved back to system memory per migrate_device_*() call. */
#define RXE_DEVMEM_BATCH	64UL

static void rxe_devmem_count(struct rxe_hmm_devmem *dm,
			     enum rxe_hmm_counters idx, s64 n)
{
	atomic64_add(n, &dm->rxe->hmm.counters[idx]);
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

static void rxe_devmem_folio_free(struct folio *folio)
{
	struct page *page = &folio->page;
	struct rxe_hmm_devmem *dm = page_to_devmem(page);

	if (page->zone_device_data)
		__free_page(page->zone_device_data);
	page->zone_device_data = NULL;

	spin_lock(&dm->lock);
	list_move_tail(&page_to_dpage(dm, page)->node, &dm->free);
	spin_unlock(&dm->lock);
	rxe_devmem_count(dm, RXE_HMM_CNT_DEVMEM_USED_PAGES, -1);
}

/*
 * Device pages to system pages, for migrate_device_pages(): @src as
 * migrate_device_range() or _pfns() left it. Memory for the copies cannot
 * be refused, or data would be lost.
 */
static unsigned long rxe_devmem_copy_back(unsigned long *src,
					  unsigned long *dst,
					  unsigned long npages)
{
	struct page *spage, *dpage;
	unsigned long i, n = 0;

	for (i = 0; i < npages; i++) {
		dst[i] = 0;
		spage = migrate_pfn_to_page(src[i]);
		if (!spage || !(src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		dpage = alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOFAIL);
		lock_page(dpage);
		copy_highpage(dpage, spage->zone_device_data);
		dst[i] = migrate_pfn(page_to_pfn(dpage));
		n++;
	}
	return n;
}

static unsigned long rxe_devmem_migrated(const unsigned long *src,
					 unsigned long npages)
{
	unsigned long i, n = 0;

	for (i = 0; i < npages; i++)
		if (src[i] & MIGRATE_PFN_MIGRATE)
			n++;
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
	unsigned long src[RXE_DEVMEM_BATCH], dst[RXE_DEVMEM_BATCH];
	unsigned long scan = 2 * dm->npages, n = 0, moved;
	struct rxe_hmm_dpage *d;

	want = min(want, RXE_DEVMEM_BATCH);
	spin_lock(&dm->lock);
	while (n < want && scan-- && !list_empty(&dm->lru)) {
		d = list_first_entry(&dm->lru, struct rxe_hmm_dpage, node);
		/* to the tail either way: a page that fails to move waits */
		list_move_tail(&d->node, &dm->lru);
		if (test_and_clear_bit(0, &d->referenced))
			continue;
		src[n++] = dpage_to_pfn(dm, d);
	}
	spin_unlock(&dm->lock);
	if (!n)
		return 0;

	/* locks only pages it can trylock: never waits on a migration */
	migrate_device_pfns(src, n);
	rxe_devmem_copy_back(src, dst, n);
	migrate_device_pages(src, dst, n);
	moved = rxe_devmem_migrated(src, n);
	migrate_device_finalize(src, dst, n);
	rxe_devmem_count(dm, RXE_HMM_CNT_DEVMEM_EVICTED_PAGES, moved);
	return moved;
}

/**
 * rxe_devmem_reserve() - set free device pages aside for one migration
 * @dm: the device memory
 * @r: the reservation, empty or partly filled
 * @npages: how many pages @r should hold
 *
 * Evicts when too few are free. May leave @r short (eviction found only
 * pages in use): the migration then moves fewer pages.
 */
void rxe_devmem_reserve(struct rxe_hmm_devmem *dm,
			struct rxe_hmm_reservation *r, unsigned long npages)
{
	struct rxe_hmm_dpage *d;
	int tries = 4;

	npages = min(npages, dm->npages);
	for (;;) {
		spin_lock(&dm->lock);
		while (r->npages < npages && !list_empty(&dm->free)) {
			d = list_first_entry(&dm->free, struct rxe_hmm_dpage,
					     node);
			list_move_tail(&d->node, &r->pages);
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
	spin_lock(&dm->lock);
	list_splice_tail_init(&r->pages, &dm->free);
	r->npages = 0;
	spin_unlock(&dm->lock);
}

/**
 * rxe_devmem_alloc() - a device page for one migrating page
 * @dm: the device memory
 * @r: the reservation to take it from
 *
 * Returns the page locked, with a backing page the caller fills, or NULL
 * when @r is empty or no backing page could be allocated.
 */
struct page *rxe_devmem_alloc(struct rxe_hmm_devmem *dm,
			      struct rxe_hmm_reservation *r)
{
	struct rxe_hmm_dpage *d;
	struct page *backing, *page;

	if (!r->npages)
		return NULL;
	backing = alloc_page(GFP_HIGHUSER);
	if (!backing)
		return NULL;

	spin_lock(&dm->lock);
	d = list_first_entry(&r->pages, struct rxe_hmm_dpage, node);
	list_move_tail(&d->node, &dm->lru);
	r->npages--;
	spin_unlock(&dm->lock);
	clear_bit(0, &d->referenced);

	page = pfn_to_page(dpage_to_pfn(dm, d));
	zone_device_page_init(page, &dm->pagemap, 0);
	page->zone_device_data = backing;
	rxe_devmem_count(dm, RXE_HMM_CNT_DEVMEM_USED_PAGES, 1);
	return page;
}

/* The CPU touched a device page: copy it back to system memory. */
static vm_fault_t rxe_devmem_migrate_to_ram(struct vm_fault *vmf)
{
	struct rxe_hmm_devmem *dm = page_to_devmem(vmf->page);
	unsigned long src = 0, dst = 0;
	struct migrate_vma args = {
		.vma = vmf->vma,
		.start = ALIGN_DOWN(vmf->address, PAGE_SIZE),
		.end = ALIGN_DOWN(vmf->address, PAGE_SIZE) + PAGE_SIZE,
		.src = &src,
		.dst = &dst,
		.pgmap_owner = dm->pagemap.owner,
		.flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
		.fault_page = vmf->page,
	};
	struct page *spage, *dpage;

	if (migrate_vma_setup(&args))
		return VM_FAULT_SIGBUS;
	spage = migrate_pfn_to_page(src);
	if (spage && (src & MIGRATE_PFN_MIGRATE)) {
		dpage = alloc_page_vma(GFP_HIGHUSER_MOVABLE, vmf->vma,
				       vmf->address);
		if (!dpage) {
			migrate_vma_finalize(&args);
			return VM_FAULT_OOM;
		}
		lock_page(dpage);
		copy_highpage(dpage, spage->zone_device_data);
		dst = migrate_pfn(page_to_pfn(dpage));
	}
	migrate_vma_pages(&args);
	if (src & MIGRATE_PFN_MIGRATE)
		rxe_devmem_count(dm, RXE_HMM_CNT_DEVMEM_CPU_FAULT_PAGES, 1);
	migrate_vma_finalize(&args);
	return 0;
}

static const struct dev_pagemap_ops rxe_devmem_ops = {
	.folio_free	= rxe_devmem_folio_free,
	.migrate_to_ram	= rxe_devmem_migrate_to_ram,
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
	if (!dm->dpages)
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
	return dm;

err_release:
	release_mem_region(dm->res->start, resource_size(dm->res));
err_free:
	kvfree(dm->dpages);
	kfree(dm);
	return ERR_PTR(err);
}

/*
 * Migrates every allocated page back to system memory, then gives the
 * pagemap up. Nothing can allocate meanwhile: the caller holds
 * devmem_sem for write.
 */
static void rxe_devmem_destroy(struct rxe_hmm_devmem *dm)
{
	unsigned long src[RXE_DEVMEM_BATCH], dst[RXE_DEVMEM_BATCH];
	atomic64_t *used = &dm->rxe->hmm.counters[RXE_HMM_CNT_DEVMEM_USED_PAGES];
	unsigned long pfn, n, moved;
	unsigned int rounds = 0;

	while (atomic64_read(used)) {
		for (pfn = dm->pfn_first; pfn < dm->pfn_first + dm->npages;
		     pfn += n) {
			n = min(RXE_DEVMEM_BATCH,
				dm->pfn_first + dm->npages - pfn);
			migrate_device_range(src, pfn, n);
			if (!rxe_devmem_copy_back(src, dst, n)) {
				migrate_device_finalize(src, dst, n);
				continue;
			}
			migrate_device_pages(src, dst, n);
			moved = rxe_devmem_migrated(src, n);
			migrate_device_finalize(src, dst, n);
			rxe_devmem_count(dm, RXE_HMM_CNT_DEVMEM_TEARDOWN_PAGES,
					 moved);
		}
		/* a page a CPU fault or the mm holds locked right now */
		if (atomic64_read(used)) {
			WARN_ONCE(++rounds == 1000,
				  "rxe_hmm: device pages still in use\n");
			usleep_range(1000, 2000);
		}
	}
	memunmap_pages(&dm->pagemap);
	release_mem_region(dm->res->start, resource_size(dm->res));
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

/* Empties the device memory; the next migration creates it at @size. */
int rxe_devmem_resize(struct rxe_dev *rxe, u64 size)
{
	if (size < PMD_SIZE || size > SZ_64G)
		return -EINVAL;
	down_write(&rxe->hmm.devmem_sem);
	if (rxe->hmm.devmem)
		rxe_devmem_destroy(rxe->hmm.devmem);
	rxe->hmm.devmem = NULL;
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
	if (rxe->hmm.devmem)
		rxe_devmem_destroy(rxe->hmm.devmem);
	rxe->hmm.devmem = NULL;
	up_write(&rxe->hmm.devmem_sem);
}
