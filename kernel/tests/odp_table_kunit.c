// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * KUnit tests of the ODP page table and of the access/invalidation
 * protocol (kernel/odp_table.c), without a process or a device.
 */

#include <kunit/static_stub.h>
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/mm.h>

#include "odp_kunit_wait.h"
#include "odp_table.h"

MODULE_IMPORT_NS("EXPORTED_FOR_KUNIT_TESTING");

struct odp_kunit {
	struct rxe_odp_table table;
	struct page *pages[4];
	/* calls of rxe_odp_access_begin_window(), see move_epoch_once() */
	unsigned int window_calls;
};

static int odp_kunit_init(struct kunit *test)
{
	struct odp_kunit *k = kunit_kzalloc(test, sizeof(*k), GFP_KERNEL);
	int i;

	KUNIT_ASSERT_NOT_NULL(test, k);
	for (i = 0; i < ARRAY_SIZE(k->pages); i++) {
		k->pages[i] = alloc_page(GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, k->pages[i]);
	}
	rxe_odp_table_init(&k->table);
	test->priv = k;
	return 0;
}

static void odp_kunit_exit(struct kunit *test)
{
	struct odp_kunit *k = test->priv;
	int i;

	rxe_odp_table_destroy(&k->table);
	for (i = 0; i < ARRAY_SIZE(k->pages); i++)
		__free_page(k->pages[i]);
}

static unsigned long hmm_pfn(struct page *page, bool write)
{
	return page_to_pfn(page) | HMM_PFN_VALID | (write ? HMM_PFN_WRITE : 0);
}

/* Stores what hmm returned, under the lock, as the fault path does. */
static unsigned long store(struct rxe_odp_table *t, unsigned long va,
			   unsigned long npages, const unsigned long *pfns)
{
	unsigned long added;

	if (rxe_odp_table_reserve(t, va, va + npages * PAGE_SIZE))
		return ULONG_MAX;
	spin_lock(&t->lock);
	added = rxe_odp_table_store(t, va, npages, pfns);
	spin_unlock(&t->lock);
	return added;
}

static unsigned long clear(struct rxe_odp_table *t, unsigned long start,
			   unsigned long end)
{
	unsigned long n;

	spin_lock(&t->lock);
	n = rxe_odp_table_clear(t, start, end);
	spin_unlock(&t->lock);
	return n;
}

static void odp_table_store_lookup(struct kunit *test)
{
	struct odp_kunit *k = test->priv;
	unsigned long va = 0x7f0000001000UL;
	unsigned long pfns[2] = {
		hmm_pfn(k->pages[0], true), hmm_pfn(k->pages[1], false),
	};
	unsigned long e;

	KUNIT_EXPECT_EQ(test, 0UL, rxe_odp_table_entry(&k->table, va));
	KUNIT_EXPECT_EQ(test, 2UL, store(&k->table, va, 2, pfns));
	e = rxe_odp_table_entry(&k->table, va + 123);
	KUNIT_EXPECT_PTR_EQ(test, k->pages[0], hmm_pfn_to_page(e));
	KUNIT_EXPECT_TRUE(test, rxe_odp_entry_allows(e, false));
	KUNIT_EXPECT_TRUE(test, rxe_odp_entry_allows(e, true));
	e = rxe_odp_table_entry(&k->table, va + PAGE_SIZE);
	KUNIT_EXPECT_PTR_EQ(test, k->pages[1], hmm_pfn_to_page(e));
	/* a read-only page serves reads; a write has to fault */
	KUNIT_EXPECT_TRUE(test, rxe_odp_entry_allows(e, false));
	KUNIT_EXPECT_FALSE(test, rxe_odp_entry_allows(e, true));
	KUNIT_EXPECT_EQ(test, 0UL, rxe_odp_table_entry(&k->table,
						       va + 2 * PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, 2UL, k->table.mapped);
	/* storing a present page again does not count it twice */
	KUNIT_EXPECT_EQ(test, 0UL, store(&k->table, va, 1, pfns));
	KUNIT_EXPECT_EQ(test, 2UL, k->table.mapped);
}

/* A snapshot's absent pages leave the table's entries alone. */
static void odp_table_snapshot_keeps(struct kunit *test)
{
	struct odp_kunit *k = test->priv;
	unsigned long pfns[2] = { hmm_pfn(k->pages[0], true), 0 };
	unsigned long snap[2] = { 0, hmm_pfn(k->pages[1], true) };

	KUNIT_EXPECT_EQ(test, 1UL, store(&k->table, 0, 2, pfns));
	KUNIT_EXPECT_EQ(test, 1UL, store(&k->table, 0, 2, snap));
	KUNIT_EXPECT_PTR_EQ(test, k->pages[0],
			    hmm_pfn_to_page(rxe_odp_table_entry(&k->table, 0)));
	KUNIT_EXPECT_PTR_EQ(test, k->pages[1],
			    hmm_pfn_to_page(rxe_odp_table_entry(&k->table,
								PAGE_SIZE)));
}

static void odp_table_clear_counts(struct kunit *test)
{
	struct odp_kunit *k = test->priv;
	unsigned long base = 5UL << RXE_ODP_CHUNK_SHIFT;
	/* the last page of one chunk and the first of the next */
	unsigned long va = base - PAGE_SIZE;
	unsigned long pfns[2] = {
		hmm_pfn(k->pages[0], true), hmm_pfn(k->pages[1], true),
	};

	KUNIT_EXPECT_EQ(test, 2UL, store(&k->table, va, 2, pfns));
	/* a range with nothing present clears nothing: no wait needed */
	KUNIT_EXPECT_EQ(test, 0UL, clear(&k->table, 0, va));
	KUNIT_EXPECT_EQ(test, 1UL, clear(&k->table, base, base + PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, 0UL, rxe_odp_table_entry(&k->table, base));
	KUNIT_EXPECT_NE(test, 0UL, rxe_odp_table_entry(&k->table, va));
	KUNIT_EXPECT_EQ(test, 1UL, k->table.mapped);
	KUNIT_EXPECT_EQ(test, 1UL, clear(&k->table, 0, ULONG_MAX));
	KUNIT_EXPECT_EQ(test, 0UL, k->table.mapped);
	KUNIT_EXPECT_EQ(test, 0UL, clear(&k->table, 0, ULONG_MAX));
}

/* An implicit MR: memory follows the pages touched, not the range. */
static void odp_table_sparse(struct kunit *test)
{
	struct odp_kunit *k = test->priv;
	unsigned long pfn = hmm_pfn(k->pages[0], true);

	KUNIT_EXPECT_EQ(test, 0UL, rxe_odp_table_bytes(&k->table));
	KUNIT_EXPECT_EQ(test, 1UL, store(&k->table, 0x1000, 1, &pfn));
	KUNIT_EXPECT_EQ(test, 1UL, store(&k->table, 0x7ffff0000000UL, 1, &pfn));
	KUNIT_EXPECT_EQ(test, 1UL, store(&k->table, 0x2000, 1, &pfn));
	KUNIT_EXPECT_EQ(test, 2 * sizeof(struct rxe_odp_chunk),
			rxe_odp_table_bytes(&k->table));
	/* clearing the whole address space visits two chunks only */
	KUNIT_EXPECT_EQ(test, 3UL, clear(&k->table, 0, TASK_SIZE));
}

/* What the MR's shrink work does; the number of chunks freed. */
static unsigned long shrink(struct rxe_odp_table *t)
{
	unsigned long n;
	LIST_HEAD(list);

	n = rxe_odp_table_detach_empty(t, &list);
	rxe_odp_table_free_chunks(t, &list);
	return n;
}

/*
 * Chunks that hold no entry go: one whose entries were all cleared, and
 * one reserved for a fault that failed before storing. One that still
 * holds an entry stays.
 */
static void odp_table_shrink_frees_empty(struct kunit *test)
{
	struct odp_kunit *k = test->priv;
	unsigned long pfn = hmm_pfn(k->pages[0], true);
	const size_t chunk = sizeof(struct rxe_odp_chunk);
	const unsigned long two_mb = 1UL << RXE_ODP_CHUNK_SHIFT;

	KUNIT_EXPECT_EQ(test, 1UL, store(&k->table, 0x1000, 1, &pfn));
	KUNIT_EXPECT_EQ(test, 1UL, store(&k->table, 8 * two_mb, 1, &pfn));
	KUNIT_EXPECT_FALSE(test, rxe_odp_table_has_empty(&k->table));
	KUNIT_EXPECT_EQ(test, 0UL, shrink(&k->table));
	/* a failed fault: reserved, never stored */
	KUNIT_ASSERT_EQ(test, 0, rxe_odp_table_reserve(&k->table, 20 * two_mb,
						       21 * two_mb));
	KUNIT_EXPECT_EQ(test, 3 * chunk, rxe_odp_table_bytes(&k->table));
	KUNIT_EXPECT_TRUE(test, rxe_odp_table_has_empty(&k->table));
	/* an invalidation empties the first */
	KUNIT_EXPECT_EQ(test, 1UL, clear(&k->table, 0, two_mb));
	KUNIT_EXPECT_EQ(test, 2UL, shrink(&k->table));
	KUNIT_EXPECT_EQ(test, chunk, rxe_odp_table_bytes(&k->table));
	KUNIT_EXPECT_FALSE(test, rxe_odp_table_has_empty(&k->table));
	KUNIT_EXPECT_EQ(test, 0UL, rxe_odp_table_entry(&k->table, 0x1000));
	KUNIT_EXPECT_NE(test, 0UL, rxe_odp_table_entry(&k->table, 8 * two_mb));
	/* a freed chunk comes back on the next fault */
	KUNIT_EXPECT_EQ(test, 1UL, store(&k->table, 0x1000, 1, &pfn));
	KUNIT_EXPECT_EQ(test, 2 * chunk, rxe_odp_table_bytes(&k->table));
	KUNIT_EXPECT_EQ(test, 2UL, k->table.mapped);
}

/* Whether an invalidation that just cleared [@start, @end) must wait. */
static bool clear_must_wait(struct rxe_odp_table *t, unsigned long start,
			    unsigned long end)
{
	bool wait;
	u64 clears;

	spin_lock(&t->lock);
	rxe_odp_table_clear(t, start, end);
	wait = rxe_odp_table_must_wait(t, &clears);
	spin_unlock(&t->lock);
	return wait;
}

/*
 * An invalidation waits while an access is in flight and a clear of a
 * present entry has not been waited out, whoever did that clear. No
 * assertion inside an access: one that aborts the case would leave the
 * access in flight for good.
 */
static void odp_must_wait(struct kunit *test)
{
	struct odp_kunit *k = test->priv;
	unsigned long va = 0x7f0000000000UL;
	unsigned long pfn = hmm_pfn(k->pages[0], true);
	struct rxe_odp_table *t = &k->table;
	struct rxe_odp_access a, b;

	/* nothing in flight: nothing to wait for, and that clear settles */
	KUNIT_ASSERT_EQ(test, 1UL, store(t, va, 1, &pfn));
	KUNIT_EXPECT_FALSE(test, clear_must_wait(t, va, va + PAGE_SIZE));

	KUNIT_ASSERT_EQ(test, 1UL, store(t, va, 1, &pfn));
	KUNIT_ASSERT_EQ(test, 0, rxe_odp_access_begin(t, &a));
	if (rxe_odp_access_begin(t, &b)) {
		rxe_odp_access_end(t, &a);
		KUNIT_FAIL(test, "the second access did not begin");
		return;
	}
	KUNIT_EXPECT_TRUE(test, clear_must_wait(t, va, va + PAGE_SIZE));
	/* that clear was never waited out: a clear of nothing waits too */
	KUNIT_EXPECT_TRUE(test, clear_must_wait(t, va, va + PAGE_SIZE));
	rxe_odp_access_end(t, &a);
	KUNIT_EXPECT_TRUE(test, clear_must_wait(t, va, va + PAGE_SIZE));
	rxe_odp_access_end(t, &b);
	/* idle: every clear so far settles, later accesses do not count */
	KUNIT_EXPECT_FALSE(test, clear_must_wait(t, va, va + PAGE_SIZE));
	KUNIT_ASSERT_EQ(test, 0, rxe_odp_access_begin(t, &a));
	KUNIT_EXPECT_FALSE(test, clear_must_wait(t, va, va + PAGE_SIZE));
	rxe_odp_access_end(t, &a);

	/* a wait settles the clears before it */
	KUNIT_ASSERT_EQ(test, 1UL, store(t, va, 1, &pfn));
	KUNIT_ASSERT_EQ(test, 0, rxe_odp_access_begin(t, &a));
	KUNIT_EXPECT_TRUE(test, clear_must_wait(t, va, va + PAGE_SIZE));
	rxe_odp_access_end(t, &a);
	rxe_odp_table_wait(t, t->clears);
	KUNIT_ASSERT_EQ(test, 0, rxe_odp_access_begin(t, &a));
	KUNIT_EXPECT_FALSE(test, clear_must_wait(t, va, va + PAGE_SIZE));
	rxe_odp_access_end(t, &a);
}

/* After MMU_NOTIFY_RELEASE no access begins. */
static void odp_access_dead(struct kunit *test)
{
	struct odp_kunit *k = test->priv;
	struct rxe_odp_access a;

	WRITE_ONCE(k->table.dead, true);
	KUNIT_EXPECT_EQ(test, -EFAULT, rxe_odp_access_begin(&k->table, &a));
	/* and the one that failed is not in flight */
	KUNIT_EXPECT_FALSE(test, rxe_odp_table_active(&k->table));
}

struct waiter {
	struct rxe_odp_table *table;
	struct task_struct *task;
	struct completion done;
};

static int wait_thread(void *arg)
{
	struct waiter *w = arg;

	rxe_odp_table_wait(w->table, 0);
	complete(&w->done);
	return 0;
}

/*
 * Creates the thread of a wait on @w->table. Before the access begins:
 * an access must not allocate, as reclaim may invalidate and wait for it.
 */
static void prepare_waiter(struct kunit *test, struct waiter *w)
{
	init_completion(&w->done);
	w->task = kthread_create(wait_thread, w, "odp_kunit_wait");
	KUNIT_ASSERT_FALSE(test, IS_ERR(w->task));
}

/*
 * Begins an access once the waiter exists; on failure stops the waiter,
 * which never ran, so that no thread outlives the case.
 */
static bool begin_access(struct kunit *test, struct rxe_odp_table *t,
			 struct rxe_odp_access *a, struct waiter *w)
{
	if (!rxe_odp_access_begin(t, a))
		return true;
	kthread_stop(w->task);
	KUNIT_FAIL(test, "the access did not begin");
	return false;
}

/* Starts the waiter; whether it got inside its wait. */
static bool start_waiter(struct waiter *w)
{
	unsigned int epoch = READ_ONCE(w->table->epoch);

	wake_up_process(w->task);
	return odp_kunit_in_wait(w->table, epoch, &w->done);
}

/*
 * Starts the waiter @w and checks that it waits until the access @a,
 * which it ends, has ended.
 */
static void expect_wait_for_access(struct kunit *test, struct waiter *w,
				   struct rxe_odp_access *a)
{
	bool waiting, returned;
	unsigned long done;

	waiting = start_waiter(w);
	returned = waiting && !odp_kunit_still_waiting(&w->done, 300);
	rxe_odp_access_end(w->table, a);
	KUNIT_EXPECT_TRUE_MSG(test, waiting, "the waiter did not wait");
	KUNIT_EXPECT_FALSE_MSG(test, returned,
			       "the wait returned during the access");
	done = wait_for_completion_timeout(&w->done, 10 * HZ);
	KUNIT_EXPECT_NE(test, 0UL, done);
	/* the waiter uses the table and @w: it must be gone first */
	if (!done)
		wait_for_completion(&w->done);
}

/*
 * Pass 2 returns only once the access that began before it has ended.
 * The waiter is known to be inside its wait before the first check.
 */
static void odp_wait_for_access(struct kunit *test)
{
	struct odp_kunit *k = test->priv;
	struct waiter w = { .table = &k->table };
	struct rxe_odp_access a;

	prepare_waiter(test, &w);
	if (!begin_access(test, &k->table, &a, &w))
		return;
	expect_wait_for_access(test, &w, &a);
}

/*
 * An access that begins after the wait began does not hold it up, even
 * while the wait still waits for an earlier one.
 */
static void odp_wait_ignores_later_access(struct kunit *test)
{
	struct odp_kunit *k = test->priv;
	struct waiter w = { .table = &k->table };
	struct rxe_odp_access early, late;
	unsigned long done;
	bool waiting;
	int err;

	prepare_waiter(test, &w);
	if (!begin_access(test, &k->table, &early, &w))
		return;
	waiting = start_waiter(&w);
	err = rxe_odp_access_begin(&k->table, &late);
	rxe_odp_access_end(&k->table, &early);
	KUNIT_EXPECT_TRUE(test, waiting);
	KUNIT_EXPECT_EQ(test, 0, err);
	done = wait_for_completion_timeout(&w.done, 10 * HZ);
	KUNIT_EXPECT_NE(test, 0UL, done);
	if (!err)
		rxe_odp_access_end(&k->table, &late);
	if (!done)
		wait_for_completion(&w.done);
}

/*
 * rxe_odp_access_begin_window() for odp_begin_sees_moved_epoch: the first
 * time, a wait runs between the access's read of the epoch and its
 * count. It finds no access to wait for, and moves the epoch on.
 */
static void move_epoch_once(struct rxe_odp_table *t)
{
	struct odp_kunit *k = kunit_get_current_test()->priv;

	if (!k->window_calls++)
		rxe_odp_table_wait(t, 0);
}

/*
 * An access that counted itself in the slot of an epoch a wait has left
 * meanwhile begins again: the next wait, which waits for the other slot,
 * would not see it, and might let the core free a page it uses.
 */
static void odp_begin_sees_moved_epoch(struct kunit *test)
{
	struct odp_kunit *k = test->priv;
	struct waiter w = { .table = &k->table };
	struct rxe_odp_access a;

	prepare_waiter(test, &w);
	kunit_activate_static_stub(test, rxe_odp_access_begin_window,
				   move_epoch_once);
	if (!begin_access(test, &k->table, &a, &w))
		return;
	kunit_deactivate_static_stub(test, rxe_odp_access_begin_window);
	/* once in the old epoch, once again in the new one */
	KUNIT_EXPECT_EQ(test, 2U, k->window_calls);
	expect_wait_for_access(test, &w, &a);
}

/* An access to another MR's table never holds a wait up. */
static void odp_wait_other_table(struct kunit *test)
{
	struct odp_kunit *k = test->priv;
	struct rxe_odp_table *other;
	struct waiter w = { .table = &k->table };
	struct rxe_odp_access a;
	unsigned long done;

	other = kunit_kzalloc(test, sizeof(*other), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, other);
	rxe_odp_table_init(other);
	prepare_waiter(test, &w);
	if (!begin_access(test, other, &a, &w)) {
		rxe_odp_table_destroy(other);
		return;
	}
	wake_up_process(w.task);
	done = wait_for_completion_timeout(&w.done, 10 * HZ);
	KUNIT_EXPECT_NE(test, 0UL, done);
	rxe_odp_access_end(other, &a);
	if (!done)
		wait_for_completion(&w.done);
	rxe_odp_table_destroy(other);
}

static struct kunit_case odp_table_cases[] = {
	KUNIT_CASE(odp_table_store_lookup),
	KUNIT_CASE(odp_table_snapshot_keeps),
	KUNIT_CASE(odp_table_clear_counts),
	KUNIT_CASE(odp_table_sparse),
	KUNIT_CASE(odp_table_shrink_frees_empty),
	KUNIT_CASE(odp_must_wait),
	KUNIT_CASE(odp_access_dead),
	KUNIT_CASE(odp_wait_for_access),
	KUNIT_CASE(odp_wait_ignores_later_access),
	KUNIT_CASE(odp_wait_other_table),
	KUNIT_CASE(odp_begin_sees_moved_epoch),
	{}
};

static struct kunit_suite odp_table_suite = {
	.name = "rxe_hmm_odp_table",
	.init = odp_kunit_init,
	.exit = odp_kunit_exit,
	.test_cases = odp_table_cases,
};

kunit_test_suite(odp_table_suite);

MODULE_DESCRIPTION("KUnit tests of rxe_hmm's ODP page table and invalidation");
MODULE_LICENSE("Dual BSD/GPL");
