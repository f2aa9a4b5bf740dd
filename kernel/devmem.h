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
#include <linux/spinlock.h>

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
	/* the lists below, and every dpage's node */
	spinlock_t		lock;
	struct list_head	free;
	/* allocated pages, least recently allocated or used first */
	struct list_head	lru;
};

/* Free device pages set aside by one migration before it collects. */
struct rxe_hmm_reservation {
	struct list_head	pages;
	unsigned long		npages;
};

struct rxe_hmm_devmem *rxe_devmem_get(struct rxe_dev *rxe);
void rxe_devmem_put(struct rxe_dev *rxe);
void rxe_devmem_reserve(struct rxe_hmm_devmem *dm,
			struct rxe_hmm_reservation *r, unsigned long npages);
void rxe_devmem_unreserve(struct rxe_hmm_devmem *dm,
			  struct rxe_hmm_reservation *r);
struct page *rxe_devmem_alloc(struct rxe_hmm_devmem *dm,
			      struct rxe_hmm_reservation *r);
int rxe_devmem_resize(struct rxe_dev *rxe, u64 size);
void rxe_devmem_remove(struct rxe_dev *rxe);

/**
 * rxe_devmem_backing() - the system page that holds a device page's data
 * @page: a device-private page of an rxe_hmm device
 *
 * Marks the page used for the LRU. Stable while the caller may access the
 * page: freeing it needs an invalidation, which waits for the access.
 */
static inline struct page *rxe_devmem_backing(struct page *page)
{
	struct rxe_hmm_devmem *dm = container_of(page_pgmap(page),
						 struct rxe_hmm_devmem,
						 pagemap);
	struct rxe_hmm_dpage *d = &dm->dpages[page_to_pfn(page) -
					       dm->pfn_first];

	if (!test_bit(0, &d->referenced))
		set_bit(0, &d->referenced);
	return page->zone_device_data;
}

#endif /* RXE_HMM_DEVMEM_H */
