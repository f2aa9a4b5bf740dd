// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * ODP page table and access/invalidation protocol; see odp_table.h.
 */

#include <linux/slab.h>
#include <linux/srcu.h>
#include <kunit/visibility.h>

#include "odp_table.h"

/*
 * One SRCU domain for all tables: a grace period waits only for the
 * accesses in flight when it starts, so a busy MR cannot starve an
 * invalidation, and the read side is a per-CPU increment.
 */
DEFINE_STATIC_SRCU(rxe_odp_srcu);

void rxe_odp_table_init(struct rxe_odp_table *t)
{
	xa_init(&t->chunks);
	spin_lock_init(&t->lock);
	atomic_set(&t->active, 0);
	t->dead = false;
	t->mapped = 0;
	t->clears = 0;
	t->settled = 0;
}
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_table_init);

/* Only once no access can be in flight and no invalidation can come. */
void rxe_odp_table_destroy(struct rxe_odp_table *t)
{
	struct rxe_odp_chunk *chunk;
	unsigned long index;

	WARN_ON(atomic_read(&t->active));
	xa_for_each(&t->chunks, index, chunk)
		kfree(chunk);
	xa_destroy(&t->chunks);
}
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_table_destroy);

/*
 * Allocates the chunks that cover [@start, @end), so that
 * rxe_odp_table_store() under the spinlock never allocates. May sleep.
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
		chunk = kzalloc_obj(*chunk);
		if (!chunk)
			return -ENOMEM;
		err = xa_insert(&t->chunks, index, chunk, GFP_KERNEL);
		if (err) {
			kfree(chunk);
			/* a concurrent fault reserved it first */
			if (err != -EBUSY)
				return err;
		}
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
		if (!(*slot & HMM_PFN_VALID))
			added++;
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
	unsigned long index, va, from, to, cleared = 0;
	struct rxe_odp_chunk *chunk;
	unsigned long *slot;

	lockdep_assert_held(&t->lock);

	if (start >= end)
		return 0;

	/* Visits only chunks that exist: cheap for a sparse implicit MR. */
	xa_for_each_range(&t->chunks, index, chunk, first, last) {
		from = max(start, index << RXE_ODP_CHUNK_SHIFT);
		to = min(end, (index + 1) << RXE_ODP_CHUNK_SHIFT);
		for (va = from; va < to; va += PAGE_SIZE) {
			slot = &chunk->pfns[(va >> PAGE_SHIFT) &
					    (RXE_ODP_CHUNK_PAGES - 1)];
			if (*slot & HMM_PFN_VALID)
				cleared++;
			WRITE_ONCE(*slot, 0);
		}
	}
	t->mapped -= cleared;
	if (cleared)
		t->clears++;
	return cleared;
}
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_table_clear);

/* Memory the table holds now, for the implicit-ODP sparseness test. */
size_t rxe_odp_table_bytes(struct rxe_odp_table *t)
{
	struct rxe_odp_chunk *chunk;
	unsigned long index;
	size_t bytes = 0;

	xa_for_each(&t->chunks, index, chunk)
		bytes += sizeof(*chunk);
	return bytes;
}
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_table_bytes);

/**
 * rxe_odp_access_begin() - start using entries of @t
 * @t: the table
 * @a: per-access state, passed to rxe_odp_access_end()
 *
 * Return: 0, or -EFAULT when the mm is gone (the access has then ended).
 */
int rxe_odp_access_begin(struct rxe_odp_table *t, struct rxe_odp_access *a)
{
	a->srcu_idx = srcu_read_lock(&rxe_odp_srcu);
	atomic_inc(&t->active);
	/*
	 * Pairs with the barrier in rxe_odp_table_must_wait(): either the
	 * invalidation sees this access, or this access sees its clear.
	 */
	smp_mb__after_atomic();
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
	 * The access's loads and stores to its pages before the decrement:
	 * an invalidation that sees @active drop lets the core free them.
	 */
	smp_mb__before_atomic();
	atomic_dec(&t->active);
	srcu_read_unlock(&rxe_odp_srcu, a->srcu_idx);
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
	if (atomic_read(&t->active))
		return true;
	t->settled = t->clears;
	return false;
}
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_table_must_wait);

/*
 * Waits for every access that began before the call, and so for every
 * access that may use a page of the first @clears clears. May sleep.
 */
void rxe_odp_table_wait(struct rxe_odp_table *t, u64 clears)
{
	synchronize_srcu_expedited(&rxe_odp_srcu);
	spin_lock(&t->lock);
	if (clears > t->settled)
		t->settled = clears;
	spin_unlock(&t->lock);
}
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_table_wait);
