// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * ODP page table and access/invalidation protocol; see odp_table.h.
 */

#include <linux/slab.h>
#include <linux/wait_bit.h>
#include <kunit/static_stub.h>
#include <kunit/visibility.h>

#include "odp_table.h"

/*
 * Chunks are a little over a page: their own cache packs them closer than
 * kmalloc-8k would, and charges them to the memcg (SLAB_ACCOUNT).
 */
static struct kmem_cache *rxe_odp_chunk_cache;

int rxe_odp_table_cache_init(void)
{
	rxe_odp_chunk_cache = KMEM_CACHE(rxe_odp_chunk, SLAB_ACCOUNT);
	return rxe_odp_chunk_cache ? 0 : -ENOMEM;
}

void rxe_odp_table_cache_exit(void)
{
	kmem_cache_destroy(rxe_odp_chunk_cache);
}

void rxe_odp_table_init(struct rxe_odp_table *t)
{
	xa_init(&t->chunks);
	spin_lock_init(&t->lock);
	atomic_set(&t->active[0], 0);
	atomic_set(&t->active[1], 0);
	t->epoch = 0;
	mutex_init(&t->wait_lock);
	t->dead = false;
	t->mapped = 0;
	atomic_long_set(&t->nr_chunks, 0);
	t->clears = 0;
	t->settled = 0;
}
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_table_init);

/* Only once no access can be in flight and no invalidation can come. */
void rxe_odp_table_destroy(struct rxe_odp_table *t)
{
	struct rxe_odp_chunk *chunk;
	unsigned long index;

	WARN_ON(rxe_odp_table_active(t));
	xa_for_each(&t->chunks, index, chunk)
		kmem_cache_free(rxe_odp_chunk_cache, chunk);
	xa_destroy(&t->chunks);
	mutex_destroy(&t->wait_lock);
}
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_table_destroy);

/*
 * Waits for every access of @t that began before the call: moves the
 * epoch on, so that accesses that begin from now on count in the other
 * slot, and waits for the slot it left to drain. A busy MR therefore
 * cannot starve the wait, and accesses to other MRs never delay it.
 * Waits of one table are serialised: a wait behind another may also
 * wait for accesses that began after its call, before the other's
 * wait moved the epoch. May sleep.
 */
static void rxe_odp_table_sync(struct rxe_odp_table *t)
{
	unsigned int slot;

	mutex_lock(&t->wait_lock);
	slot = t->epoch & 1;
	/*
	 * The caller's clears and detaches before the new epoch, which
	 * rxe_odp_access_begin() reads with acquire: an access that sees
	 * the new epoch sees them too.
	 */
	smp_store_release(&t->epoch, t->epoch + 1);
	/*
	 * The new epoch before the read of the slot; pairs with the barrier
	 * in rxe_odp_access_begin(): either this wait sees an access in the
	 * old slot, or that access sees the new epoch and begins again.
	 */
	smp_mb();
	/* acquire: what the caller does next comes after the accesses */
	wait_var_event(&t->active[slot],
		       !atomic_read_acquire(&t->active[slot]));
	mutex_unlock(&t->wait_lock);
}

/*
 * Allocates the chunks that cover [@start, @end), so that
 * rxe_odp_table_store() under the spinlock never allocates, charged to
 * the active memcg. A new chunk is empty until the store: if the fault
 * fails, rxe_odp_table_detach_empty() takes it out. May sleep.
 */
int rxe_odp_table_reserve(struct rxe_odp_table *t, unsigned long start,
			  unsigned long end)
{
	unsigned long index = start >> RXE_ODP_CHUNK_SHIFT;
	unsigned long last = (end - 1) >> RXE_ODP_CHUNK_SHIFT;
	struct rxe_odp_chunk *chunk;
	int err;

	for (; index <= last; index++) {
		if (xa_load(&t->chunks, index))
			continue;
		chunk = kmem_cache_zalloc(rxe_odp_chunk_cache,
					  GFP_KERNEL_ACCOUNT);
		if (!chunk)
			return -ENOMEM;
		err = xa_insert(&t->chunks, index, chunk, GFP_KERNEL_ACCOUNT);
		if (err) {
			kmem_cache_free(rxe_odp_chunk_cache, chunk);
			/* a concurrent fault reserved it first */
			if (err != -EBUSY)
				return err;
			continue;
		}
		atomic_long_inc(&t->nr_chunks);
		/* a stale mark costs a look; shrink checks @present */
		xa_set_mark(&t->chunks, index, RXE_ODP_CHUNK_EMPTY);
	}
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_table_reserve);

/*
 * Stores the present entries of @hmm_pfns for @npages pages from @start.
 * Entries that hmm did not return as valid (a snapshot that did not
 * fault) leave the table as it was. Caller holds @t->lock and has
 * reserved the range. Returns the number of entries that became present.
 */
unsigned long rxe_odp_table_store(struct rxe_odp_table *t,
				  unsigned long start, unsigned long npages,
				  const unsigned long *hmm_pfns)
{
	unsigned long va = start, added = 0, i;
	struct rxe_odp_chunk *chunk = NULL;
	unsigned long *slot;

	lockdep_assert_held(&t->lock);

	for (i = 0; i < npages; i++, va += PAGE_SIZE) {
		if (!chunk || !(va & ((1UL << RXE_ODP_CHUNK_SHIFT) - 1)))
			chunk = xa_load(&t->chunks, va >> RXE_ODP_CHUNK_SHIFT);
		if (WARN_ON_ONCE(!chunk))
			break;
		if (!(hmm_pfns[i] & HMM_PFN_VALID))
			continue;
		slot = &chunk->pfns[(va >> PAGE_SHIFT) &
				    (RXE_ODP_CHUNK_PAGES - 1)];
		if (!(*slot & HMM_PFN_VALID)) {
			added++;
			if (!chunk->present++)
				xa_clear_mark(&t->chunks,
					      va >> RXE_ODP_CHUNK_SHIFT,
					      RXE_ODP_CHUNK_EMPTY);
		}
		WRITE_ONCE(*slot, hmm_pfns[i] &
			   (HMM_PFN_VALID | HMM_PFN_WRITE | ~HMM_PFN_FLAGS));
	}
	t->mapped += added;
	return added;
}
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_table_store);

/*
 * Clears the entries of [@start, @end). Caller holds @t->lock. Returns
 * how many were present, for the counters: whether the invalidation must
 * wait is rxe_odp_table_must_wait()'s to say, under the same lock.
 */
unsigned long rxe_odp_table_clear(struct rxe_odp_table *t,
				  unsigned long start, unsigned long end)
{
	unsigned long first = start >> RXE_ODP_CHUNK_SHIFT;
	unsigned long last = (end - 1) >> RXE_ODP_CHUNK_SHIFT;
	unsigned long index, va, from, to, cleared = 0, n;
	struct rxe_odp_chunk *chunk;
	unsigned long *slot;

	lockdep_assert_held(&t->lock);

	if (start >= end)
		return 0;

	/* Visits only chunks that exist: cheap for a sparse implicit MR. */
	xa_for_each_range(&t->chunks, index, chunk, first, last) {
		from = max(start, index << RXE_ODP_CHUNK_SHIFT);
		to = min(end, (index + 1) << RXE_ODP_CHUNK_SHIFT);
		if (!chunk->present)
			continue;
		n = 0;
		for (va = from; va < to; va += PAGE_SIZE) {
			slot = &chunk->pfns[(va >> PAGE_SHIFT) &
					    (RXE_ODP_CHUNK_PAGES - 1)];
			if (*slot & HMM_PFN_VALID)
				n++;
			WRITE_ONCE(*slot, 0);
		}
		chunk->present -= n;
		cleared += n;
		if (n && !chunk->present)
			xa_set_mark(&t->chunks, index, RXE_ODP_CHUNK_EMPTY);
	}
	t->mapped -= cleared;
	if (cleared)
		t->clears++;
	return cleared;
}
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_table_clear);

/* Memory the chunks of the table take now (the MR's odp_table_bytes). */
size_t rxe_odp_table_bytes(struct rxe_odp_table *t)
{
	return atomic_long_read(&t->nr_chunks) * sizeof(struct rxe_odp_chunk);
}
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_table_bytes);

/* Whether a chunk may hold no entry, so that shrinking may free it. */
bool rxe_odp_table_has_empty(struct rxe_odp_table *t)
{
	return xa_marked(&t->chunks, RXE_ODP_CHUNK_EMPTY);
}
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_table_has_empty);

/* Whether a chunk of [@start, @end) is in the table, empty or not. */
bool rxe_odp_table_has_chunk(struct rxe_odp_table *t, unsigned long start,
			     unsigned long end)
{
	unsigned long index = start >> RXE_ODP_CHUNK_SHIFT;

	return xa_find(&t->chunks, &index, (end - 1) >> RXE_ODP_CHUNK_SHIFT,
		       XA_PRESENT);
}

/**
 * rxe_odp_table_detach_empty() - take the chunks that hold no entry out
 * @t: the table
 * @list: where they go, for rxe_odp_table_free_chunks()
 *
 * The caller keeps faults out from reserving to storing, whose chunks
 * must stay; a fault after this call allocates a chunk anew.
 *
 * Return: the number of chunks taken out.
 */
unsigned long rxe_odp_table_detach_empty(struct rxe_odp_table *t,
					 struct list_head *list)
{
	struct rxe_odp_chunk *chunk;
	unsigned long index, n = 0;

	spin_lock(&t->lock);
	xa_for_each_marked(&t->chunks, index, chunk, RXE_ODP_CHUNK_EMPTY) {
		if (chunk->present) {
			xa_clear_mark(&t->chunks, index, RXE_ODP_CHUNK_EMPTY);
			continue;
		}
		xa_erase(&t->chunks, index);
		list_add(&chunk->free, list);
		n++;
	}
	spin_unlock(&t->lock);
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_table_detach_empty);

/*
 * Frees chunks rxe_odp_table_detach_empty() took out, once the accesses
 * that may have looked them up before are done. May sleep.
 */
void rxe_odp_table_free_chunks(struct rxe_odp_table *t, struct list_head *list)
{
	struct rxe_odp_chunk *chunk, *tmp;

	if (list_empty(list))
		return;
	rxe_odp_table_sync(t);
	list_for_each_entry_safe(chunk, tmp, list, free) {
		kmem_cache_free(rxe_odp_chunk_cache, chunk);
		atomic_long_dec(&t->nr_chunks);
	}
	INIT_LIST_HEAD(list);
}
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_table_free_chunks);

/*
 * Between an access's read of the epoch and its count: a KUnit stub runs
 * a wait there, as an invalidation on another CPU may, which the access
 * must notice. Nothing otherwise.
 */
VISIBLE_IF_KUNIT void rxe_odp_access_begin_window(struct rxe_odp_table *t)
{
	KUNIT_STATIC_STUB_REDIRECT(rxe_odp_access_begin_window, t);
}
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_access_begin_window);

/**
 * rxe_odp_access_begin() - start using entries of @t
 * @t: the table
 * @a: per-access state, passed to rxe_odp_access_end()
 *
 * Return: 0, or -EFAULT when the mm is gone (the access has then ended).
 */
int rxe_odp_access_begin(struct rxe_odp_table *t, struct rxe_odp_access *a)
{
	unsigned int epoch;

	for (;;) {
		epoch = READ_ONCE(t->epoch);
		a->slot = epoch & 1;
		rxe_odp_access_begin_window(t);
		atomic_inc(&t->active[a->slot]);
		/*
		 * Pairs with the barriers in rxe_odp_table_must_wait() and
		 * rxe_odp_table_sync(): either the invalidation sees this
		 * access, or this access sees its clear and its new epoch.
		 */
		smp_mb__after_atomic();
		/*
		 * Counted in the slot of an epoch that is still current: a
		 * wait that moved it on meanwhile may have read the slot
		 * before the increment, and may not wait for this access.
		 */
		if (likely(smp_load_acquire(&t->epoch) == epoch))
			break;
		rxe_odp_access_end(t, a);
	}
	if (unlikely(READ_ONCE(t->dead))) {
		rxe_odp_access_end(t, a);
		return -EFAULT;
	}
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_access_begin);

void rxe_odp_access_end(struct rxe_odp_table *t, struct rxe_odp_access *a)
{
	/*
	 * The access's loads and stores to its pages before the decrement,
	 * which is fully ordered: an invalidation that sees the slot drain
	 * (with acquire, rxe_odp_table_sync()) lets the core free them.
	 */
	atomic_dec_and_wake_up(&t->active[a->slot]);
}
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_access_end);

/*
 * Right after an invalidation cleared its range, under @t->lock: whether
 * an access may still use a page whose entry is gone, by whichever clear,
 * so that the invalidation must wait for it. *@clears is what the wait
 * then covers. With no access in flight, every clear so far is settled.
 */
bool rxe_odp_table_must_wait(struct rxe_odp_table *t, u64 *clears)
{
	lockdep_assert_held(&t->lock);

	*clears = t->clears;
	if (t->settled == t->clears)
		return false;
	/*
	 * Orders the clearing of entries before the read of @active; pairs
	 * with smp_mb__after_atomic() in rxe_odp_access_begin(): either we
	 * see the access, or it sees every clear so far. Accesses that
	 * ended did so after their last use of a page (rxe_odp_access_end()).
	 */
	smp_mb();
	if (rxe_odp_table_active(t))
		return true;
	t->settled = t->clears;
	return false;
}
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_table_must_wait);

/*
 * Waits for every access of @t that began before the call, and so for
 * every access that may use a page of the first @clears clears. May
 * sleep.
 */
void rxe_odp_table_wait(struct rxe_odp_table *t, u64 clears)
{
	rxe_odp_table_sync(t);
	spin_lock(&t->lock);
	if (clears > t->settled)
		t->settled = clears;
	spin_unlock(&t->lock);
}
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_table_wait);
