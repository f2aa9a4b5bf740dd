/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * The ODP page table of one MR, and the protocol between the data path
 * and invalidation. Nothing here knows about mm or rxe, so KUnit can drive
 * every state without a process (kernel/tests/odp_table_kunit.c).
 *
 * Entries are hmm_range_fault() output, indexed by user virtual address:
 *   0                          not present: the next access faults;
 *   HMM_PFN_VALID              present, readable;
 *   HMM_PFN_VALID|HMM_PFN_WRITE present, writable.
 * A device-resident page is an entry like any other: its pfn is the
 * device-private page, which the data path resolves to its backing store.
 *
 * Entries live in chunks of RXE_ODP_CHUNK_PAGES, allocated before the
 * fault that fills them and charged to the memcg the caller sets; a chunk
 * that holds no entry (its fault failed, or invalidations cleared it) is
 * marked, and rxe_odp_table_detach_empty() and _free_chunks() free it. An implicit MR therefore
 * costs memory in proportion to what it maps, not to the address space
 * it covers, nor to the faults a peer made it try.
 *
 * Protocol: the data path brackets every use of entries with
 * rxe_odp_access_begin() / rxe_odp_access_end() and never sleeps on a
 * lock or allocates in between. An invalidation clears entries under
 * @lock, then waits for the accesses of this table that started before
 * the clear, unless no access is in flight, or every clear of a present
 * entry so far has been waited out. Accesses to other MRs never hold it
 * up, nor do accesses that begin once the wait is waiting; the waits of
 * one MR are serialised. Finding nothing present is
 * not enough: an earlier invalidation may have cleared the range and
 * still be waiting, or may have refused to wait, while an access uses a
 * page of it. Accesses that start after a clear see it and fault.
 */

#ifndef RXE_ODP_TABLE_H
#define RXE_ODP_TABLE_H

#include <linux/hmm.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/xarray.h>

#define RXE_ODP_CHUNK_ORDER	9
#define RXE_ODP_CHUNK_PAGES	BIT(RXE_ODP_CHUNK_ORDER)
#define RXE_ODP_CHUNK_SHIFT	(PAGE_SHIFT + RXE_ODP_CHUNK_ORDER)

struct rxe_odp_chunk {
	/* present entries, under the table's lock */
	unsigned int		present;
	/* on rxe_odp_table_detach_empty()'s list, once out of the table */
	struct list_head	free;
	unsigned long		pfns[RXE_ODP_CHUNK_PAGES];
};

/* The xarray mark of a chunk that may hold no entry. */
#define RXE_ODP_CHUNK_EMPTY	XA_MARK_0

struct rxe_odp_table {
	/* va >> RXE_ODP_CHUNK_SHIFT -> struct rxe_odp_chunk */
	struct xarray	chunks;
	/*
	 * Serialises entry updates against invalidation; the caller's
	 * mmu_interval notifier sequence is set and checked under it too.
	 */
	spinlock_t	lock;
	/*
	 * Accesses between rxe_odp_access_begin() and _end(), each counted
	 * in the slot of the @epoch it began in. A wait moves @epoch on and
	 * waits for the slot it left to drain: accesses that begin meanwhile
	 * count in the other slot and do not hold it up.
	 */
	atomic_t	active[2];
	unsigned int	epoch;
	/* serialises the waits, which move @epoch */
	struct mutex	wait_lock;
	/* set by MMU_NOTIFY_RELEASE: the mm is gone, no access may proceed */
	bool		dead;
	/* present entries, under @lock */
	unsigned long	mapped;
	/* chunks allocated, for rxe_odp_table_bytes() */
	atomic_long_t	nr_chunks;
	/*
	 * Clears that found a present entry, and the last of them that a
	 * wait has covered since; both under @lock. While they differ, an
	 * access in flight may use a page whose entry is already gone.
	 */
	u64		clears;
	u64		settled;
};

struct rxe_odp_access {
	/* the slot of rxe_odp_table.active the access counts in */
	unsigned int	slot;
};

void rxe_odp_table_init(struct rxe_odp_table *t);
void rxe_odp_table_destroy(struct rxe_odp_table *t);
int rxe_odp_table_reserve(struct rxe_odp_table *t, unsigned long start,
			  unsigned long end);
unsigned long rxe_odp_table_store(struct rxe_odp_table *t,
				  unsigned long start, unsigned long npages,
				  const unsigned long *hmm_pfns);
unsigned long rxe_odp_table_clear(struct rxe_odp_table *t,
				  unsigned long start, unsigned long end);
size_t rxe_odp_table_bytes(struct rxe_odp_table *t);
bool rxe_odp_table_has_empty(struct rxe_odp_table *t);
bool rxe_odp_table_has_chunk(struct rxe_odp_table *t, unsigned long start,
			     unsigned long end);
unsigned long rxe_odp_table_detach_empty(struct rxe_odp_table *t,
					 struct list_head *list);
void rxe_odp_table_free_chunks(struct rxe_odp_table *t, struct list_head *list);
int rxe_odp_table_cache_init(void);
void rxe_odp_table_cache_exit(void);

int rxe_odp_access_begin(struct rxe_odp_table *t, struct rxe_odp_access *a);
void rxe_odp_access_end(struct rxe_odp_table *t, struct rxe_odp_access *a);
bool rxe_odp_table_must_wait(struct rxe_odp_table *t, u64 *clears);
void rxe_odp_table_wait(struct rxe_odp_table *t, u64 clears);
#if IS_ENABLED(CONFIG_KUNIT)
void rxe_odp_access_begin_window(struct rxe_odp_table *t);
#endif

/*
 * Whether an access of @t is between rxe_odp_access_begin() and _end();
 * acquire, as for a drained slot in rxe_odp_table_sync().
 */
static inline bool rxe_odp_table_active(struct rxe_odp_table *t)
{
	return atomic_read_acquire(&t->active[0]) ||
	       atomic_read_acquire(&t->active[1]);
}

/* The entry of @va in @chunk, the chunk that covers @va; without a lock. */
static inline unsigned long rxe_odp_chunk_entry(struct rxe_odp_chunk *chunk,
						unsigned long va)
{
	return READ_ONCE(chunk->pfns[(va >> PAGE_SHIFT) &
				     (RXE_ODP_CHUNK_PAGES - 1)]);
}

/**
 * rxe_odp_table_entry() - read the entry of @va without a lock
 * @t: the table
 * @va: user virtual address
 *
 * Only meaningful between rxe_odp_access_begin() and _end(); an entry
 * read there stays usable until rxe_odp_access_end(), because an
 * invalidation that clears it waits for this access first.
 */
static inline unsigned long rxe_odp_table_entry(struct rxe_odp_table *t,
						unsigned long va)
{
	struct rxe_odp_chunk *chunk = xa_load(&t->chunks,
					      va >> RXE_ODP_CHUNK_SHIFT);

	return chunk ? rxe_odp_chunk_entry(chunk, va) : 0;
}

/* Whether @entry allows an access, a write when @write. */
static inline bool rxe_odp_entry_allows(unsigned long entry, bool write)
{
	unsigned long need = HMM_PFN_VALID | (write ? HMM_PFN_WRITE : 0);

	return (entry & need) == need;
}

#endif /* RXE_ODP_TABLE_H */
