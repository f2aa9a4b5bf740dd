/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * Emulated device memory of an rxe_hmm device: a MEMORY_DEVICE_PRIVATE
 * pagemap whose pages the CPU cannot address. Each allocated device page
 * is backed by a system page owned by the module (zone_device_data); the
 * engine reads and writes that page in its place. The CPU touching a
 * device page migrates it back (migrate_to_ram); a full device evicts its
 * least recently used pages; resizing or removing the device migrates
 * every page back first.
 */

#ifndef RXE_HMM_DEVMEM_H
#define RXE_HMM_DEVMEM_H

#include <linux/list.h>
#include <linux/memremap.h>
#include <linux/pgtable.h>
#include <linux/spinlock.h>

/* A device THP: PMD_ORDER pages, PMD aligned in the device memory. */
#define RXE_DEVMEM_THP_PAGES	BIT(PMD_ORDER)

struct dentry;
struct rxe_dev;

/* The module's state of one device page, beside its struct page. */
struct rxe_hmm_dpage {
	/* on the free list, a reservation or the LRU, under the lock */
	struct list_head	node;
	/* bit 0: the engine used the page since eviction last looked */
	unsigned long		referenced;
};

struct rxe_hmm_devmem {
	struct dev_pagemap	pagemap;
	struct resource		*res;
	struct rxe_dev		*rxe;
	unsigned long		pfn_first;
	unsigned long		npages;
	struct rxe_hmm_dpage	*dpages;
	/* the lists below, @block_free, and every dpage's node */
	spinlock_t		lock;
	struct list_head	free;
	/*
	 * Allocated pages, least recently allocated or used first; every
	 * page of a device THP is on it, so that each may go its own way
	 * once the THP is split.
	 */
	struct list_head	lru;
	/* free pages per PMD-sized block: a THP needs a whole free block */
	unsigned short		*block_free;
	/* pages allocated and not freed yet */
	unsigned long		used;
};

/* Free device pages set aside by one migration before it collects. */
struct rxe_hmm_reservation {
	struct list_head	pages;
	unsigned long		npages;
	/* the pages of one whole free block, in order, for a device THP */
	struct list_head	thp;
	bool			has_thp;
};

struct rxe_hmm_devmem *rxe_devmem_get(struct rxe_dev *rxe);
void rxe_devmem_put(struct rxe_dev *rxe);
void rxe_devmem_reserve(struct rxe_hmm_devmem *dm,
			struct rxe_hmm_reservation *r, unsigned long npages,
			bool thp);
void rxe_devmem_unreserve(struct rxe_hmm_devmem *dm,
			  struct rxe_hmm_reservation *r);
struct page *rxe_devmem_alloc(struct rxe_hmm_devmem *dm,
			      struct rxe_hmm_reservation *r);
struct page *rxe_devmem_alloc_thp(struct rxe_hmm_devmem *dm,
				  struct rxe_hmm_reservation *r);
int rxe_devmem_resize(struct rxe_dev *rxe, u64 size);
void rxe_devmem_remove(struct rxe_dev *rxe);
void rxe_devmem_debugfs_init(struct dentry *dir);

/**
 * rxe_devmem_backing() - the system page that holds a device page's data
 * @page: a device-private page of an rxe_hmm device
 *
 * Marks the page used for the LRU. Stable while the caller may access the
 * page: freeing or splitting it needs an invalidation, which waits for
 * the access. A folio's backing pages are contiguous, the first in the
 * folio's zone_device_data.
 */
static inline struct page *rxe_devmem_backing(struct page *page)
{
	struct rxe_hmm_devmem *dm = container_of(page_pgmap(page),
						 struct rxe_hmm_devmem,
						 pagemap);
	struct rxe_hmm_dpage *d = &dm->dpages[page_to_pfn(page) -
					       dm->pfn_first];
	struct folio *folio = page_folio(page);

	if (!test_bit(0, &d->referenced))
		set_bit(0, &d->referenced);
	return (struct page *)folio_zone_device_data(folio) +
	       folio_page_idx(folio, page);
}

#endif /* RXE_HMM_DEVMEM_H */
