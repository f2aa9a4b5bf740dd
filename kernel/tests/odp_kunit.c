// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * KUnit tests of the two-pass invalidation of an ODP MR
 * (kernel/odp_invalidate.c): the notifier callbacks driven directly, on
 * an MR without a process.
 */

#include <kunit/static_stub.h>
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/kthread.h>
#include <linux/mm.h>

#include "odp_internal.h"
#include "odp_kunit_wait.h"

#define MR_START	0x100000UL
#define MR_END		0x200000UL

struct inval_kunit {
	struct rxe_dev *rxe;
	struct rxe_odp *odp;
	struct page *page;
	/* set just before the test ends the access that holds @page */
	bool access_ended;
	/* what spare_finish() hands out as an allocated pass 2 */
	struct rxe_odp_finish *spare;
	/* calls of no_memory() */
	unsigned int failed_allocs;
};

static void no_shrink(struct work_struct *work)
{
}

static int inval_kunit_init(struct kunit *test)
{
	struct inval_kunit *k = kunit_kzalloc(test, sizeof(*k), GFP_KERNEL);
	struct rxe_mr *mr = kunit_kzalloc(test, sizeof(*mr), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, k);
	KUNIT_ASSERT_NOT_NULL(test, mr);
	k->rxe = kunit_kzalloc(test, sizeof(*k->rxe), GFP_KERNEL);
	k->odp = kunit_kzalloc(test, sizeof(*k->odp), GFP_KERNEL);
	k->page = alloc_page(GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, k->rxe);
	KUNIT_ASSERT_NOT_NULL(test, k->odp);
	KUNIT_ASSERT_NOT_NULL(test, k->page);
	k->rxe->hmm.counters = alloc_percpu(struct rxe_hmm_pcpu_counters);
	KUNIT_ASSERT_FALSE(test, !k->rxe->hmm.counters);
	mr->ibmr.device = &k->rxe->ib_dev;
	mr->odp = k->odp;
	k->odp->mr = mr;
	k->odp->start = MR_START;
	k->odp->end = MR_END;
	rxe_odp_init_state(k->odp);
	k->odp->whole.start = MR_START;
	k->odp->whole.end = MR_END;
	/*
	 * No shrinking: its own wait for the accesses would move the epoch
	 * that odp_kunit_in_wait() watches, and hold up the invalidation's.
	 */
	INIT_WORK(&k->odp->shrink_work, no_shrink);
	test->priv = k;
	return 0;
}

static void inval_kunit_exit(struct kunit *test)
{
	struct inval_kunit *k = test->priv;

	cancel_work_sync(&k->odp->shrink_work);
	rxe_odp_table_destroy(&k->odp->table);
	kfree(k->spare);
	__free_page(k->page);
	free_percpu(k->rxe->hmm.counters);
}

/* Makes the MR's first page present, as a fault would. */
static void map_first_page(struct kunit *test)
{
	struct inval_kunit *k = test->priv;
	unsigned long pfn = page_to_pfn(k->page) | HMM_PFN_VALID |
			    HMM_PFN_WRITE;
	struct rxe_odp_table *t = &k->odp->table;

	/* as a fault, kept apart from the MR's shrink work */
	down_read(&k->odp->migrate_sem);
	KUNIT_EXPECT_EQ(test, 0, rxe_odp_table_reserve(t, MR_START,
						       MR_START + PAGE_SIZE));
	spin_lock(&t->lock);
	rxe_odp_table_store(t, MR_START, 1, &pfn);
	spin_unlock(&t->lock);
	up_read(&k->odp->migrate_sem);
}

/* Pass 1 over the whole MR; returns its verdict, *finish its pass 2. */
static bool start(struct inval_kunit *k, bool blockable,
		  enum mmu_notifier_event event,
		  struct mmu_interval_notifier_finish **finish)
{
	struct mmu_notifier_range range = {
		.start = 0,
		.end = ULONG_MAX,
		.event = event,
		.flags = blockable ? MMU_NOTIFIER_RANGE_BLOCKABLE : 0,
	};

	*finish = NULL;
	return rxe_odp_mn_ops.invalidate_start(&k->odp->whole.notifier, &range,
					       1, finish);
}

static s64 dev_counter(struct inval_kunit *k, enum rxe_hmm_counters idx)
{
	return rxe_hmm_counter_read(&k->rxe->hmm, idx);
}

/* Nothing in flight: one pass does it all. */
static void inval_idle(struct kunit *test)
{
	struct inval_kunit *k = test->priv;
	struct mmu_interval_notifier_finish *finish;

	map_first_page(test);
	KUNIT_EXPECT_TRUE(test, start(k, true, MMU_NOTIFY_UNMAP, &finish));
	KUNIT_EXPECT_NULL(test, finish);
	KUNIT_EXPECT_EQ(test, 0UL, rxe_odp_table_entry(&k->odp->table,
						       MR_START));
	KUNIT_EXPECT_EQ(test, 1, dev_counter(k, RXE_HMM_CNT_ODP_INVALIDATIONS));
	KUNIT_EXPECT_EQ(test, 1,
			dev_counter(k, RXE_HMM_CNT_ODP_INVALIDATED_PAGES));
	KUNIT_EXPECT_EQ(test, 1UL, k->odp->whole.notifier.invalidate_seq);
}

/* Nothing present and nothing in flight: nothing to wait for. */
static void inval_nothing_present(struct kunit *test)
{
	struct inval_kunit *k = test->priv;
	struct mmu_interval_notifier_finish *finish;

	KUNIT_EXPECT_TRUE(test, start(k, false, MMU_NOTIFY_UNMAP, &finish));
	KUNIT_EXPECT_NULL(test, finish);
}

/*
 * Begins an access and looks the first page up, as the data path does.
 * No assertion: the caller may have a thread to stop when it fails.
 */
static bool begin_holding_first_page(struct kunit *test,
				     struct rxe_odp_access *a)
{
	struct inval_kunit *k = test->priv;

	if (rxe_odp_access_begin(&k->odp->table, a)) {
		KUNIT_FAIL(test, "the access did not begin");
		return false;
	}
	/* no assertion inside an access: it would never end */
	KUNIT_EXPECT_PTR_EQ(test, k->page,
			    hmm_pfn_to_page(rxe_odp_table_entry(&k->odp->table,
								MR_START)));
	return true;
}

static void end_access(struct kunit *test, struct rxe_odp_access *a)
{
	struct inval_kunit *k = test->priv;

	WRITE_ONCE(k->access_ended, true);
	rxe_odp_access_end(&k->odp->table, a);
}

struct invalidator {
	struct inval_kunit *k;
	struct task_struct *task;
	bool ret;
	/* whether the access had ended when the core could free the page */
	bool saw_ended;
	struct completion done;
};

/* Both passes of one blockable invalidation, as the mm runs them. */
static int invalidate_thread(void *arg)
{
	struct invalidator *inv = arg;
	struct mmu_interval_notifier_finish *finish;

	inv->ret = start(inv->k, true, MMU_NOTIFY_UNMAP, &finish);
	if (finish)
		rxe_odp_mn_ops.invalidate_finish(finish);
	/* from here on the core zaps the range and may free its pages */
	inv->saw_ended = READ_ONCE(inv->k->access_ended);
	complete(&inv->done);
	return 0;
}

/*
 * Creates the thread of one invalidation. Before the access begins: an
 * access must not allocate, as reclaim may invalidate and wait for it.
 */
static void prepare_invalidator(struct kunit *test, struct invalidator *inv)
{
	inv->k = test->priv;
	init_completion(&inv->done);
	inv->task = kthread_create(invalidate_thread, inv, "odp_kunit_inval");
	KUNIT_ASSERT_FALSE(test, IS_ERR(inv->task));
}

/*
 * Runs @inv, a blockable invalidation of the first page, and checks that
 * it returns only after the access @a, which holds the page, has ended.
 */
static void expect_invalidation_waits(struct kunit *test,
				      struct invalidator *inv,
				      struct rxe_odp_access *a)
{
	struct inval_kunit *k = test->priv;
	unsigned int epoch = READ_ONCE(k->odp->table.epoch);
	bool waiting, early;

	wake_up_process(inv->task);
	/* inside its wait: one that did not wait is done long before this */
	waiting = odp_kunit_in_wait(&k->odp->table, epoch, &inv->done);
	early = waiting && !odp_kunit_still_waiting(&inv->done, 300);
	end_access(test, a);
	wait_for_completion(&inv->done);
	KUNIT_EXPECT_TRUE_MSG(test, waiting,
			      "the invalidation did not wait for the access");
	KUNIT_EXPECT_FALSE_MSG(test, early,
			       "the invalidation returned with an access in flight");
	KUNIT_EXPECT_TRUE(test, inv->ret);
	KUNIT_EXPECT_TRUE(test, inv->saw_ended);
}

/*
 * A first invalidation clears the page that an access in flight looked
 * up, and waits in pass 2 (@first_blockable) or refuses to wait. A second
 * one finds nothing present, yet the core zaps and frees the page as soon
 * as it returns, so it must wait for the access too (issue 16, defect 1).
 */
static void overlap_then_wait(struct kunit *test, bool first_blockable)
{
	struct inval_kunit *k = test->priv;
	struct mmu_interval_notifier_finish *first;
	struct invalidator inv;
	struct rxe_odp_access a;

	prepare_invalidator(test, &inv);
	map_first_page(test);
	if (!begin_holding_first_page(test, &a)) {
		kthread_stop(inv.task);
		return;
	}
	KUNIT_EXPECT_EQ(test, first_blockable,
			start(k, first_blockable, MMU_NOTIFY_UNMAP, &first));
	/* pass 2 when it waits; none when it refused */
	KUNIT_EXPECT_EQ(test, first_blockable, !!first);
	expect_invalidation_waits(test, &inv, &a);
	if (first)
		rxe_odp_mn_ops.invalidate_finish(first);
}

static void inval_overlap_waits(struct kunit *test)
{
	overlap_then_wait(test, true);
}

/* The same, when the second one may not sleep: it must refuse. */
static void inval_overlap_nonblockable(struct kunit *test)
{
	struct inval_kunit *k = test->priv;
	struct mmu_interval_notifier_finish *first, *finish;
	struct rxe_odp_access a;

	map_first_page(test);
	if (!begin_holding_first_page(test, &a))
		return;
	KUNIT_EXPECT_TRUE(test, start(k, true, MMU_NOTIFY_UNMAP, &first));
	KUNIT_EXPECT_FALSE(test, start(k, false, MMU_NOTIFY_UNMAP, &finish));
	end_access(test, &a);
	KUNIT_EXPECT_NULL(test, finish);
	KUNIT_ASSERT_NOT_NULL(test, first);
	rxe_odp_mn_ops.invalidate_finish(first);

	/*
	 * Once that wait is over, an access that began after it cannot hold
	 * the page: an invalidation that finds nothing need not wait for it.
	 */
	KUNIT_ASSERT_EQ(test, 0, rxe_odp_access_begin(&k->odp->table, &a));
	KUNIT_EXPECT_TRUE(test, start(k, false, MMU_NOTIFY_UNMAP, &finish));
	KUNIT_EXPECT_NULL(test, finish);
	rxe_odp_access_end(&k->odp->table, &a);
}

/* A refusal leaves the page to the next invalidation in the same way. */
static void inval_after_refusal_waits(struct kunit *test)
{
	overlap_then_wait(test, false);
}

/* Not allowed to sleep, and an access may use a cleared page: refuse. */
static void inval_nonblockable_busy(struct kunit *test)
{
	struct inval_kunit *k = test->priv;
	struct mmu_interval_notifier_finish *finish;
	struct rxe_odp_access a;

	map_first_page(test);
	KUNIT_ASSERT_EQ(test, 0, rxe_odp_access_begin(&k->odp->table, &a));
	KUNIT_EXPECT_FALSE(test, start(k, false, MMU_NOTIFY_UNMAP, &finish));
	KUNIT_EXPECT_NULL(test, finish);
	/* the page is cleared all the same: a new access faults */
	KUNIT_EXPECT_EQ(test, 0UL, rxe_odp_table_entry(&k->odp->table,
						       MR_START));
	rxe_odp_access_end(&k->odp->table, &a);
}

struct finisher {
	struct mmu_interval_notifier_finish *finish;
	struct task_struct *task;
	struct completion done;
};

static int finish_thread(void *arg)
{
	struct finisher *f = arg;

	rxe_odp_mn_ops.invalidate_finish(f->finish);
	complete(&f->done);
	return 0;
}

/* Creates the thread of a pass 2 before the access, as prepare_invalidator() */
static bool prepare_finisher(struct kunit *test, struct finisher *f)
{
	init_completion(&f->done);
	f->task = kthread_create(finish_thread, f, "odp_kunit_finish");
	KUNIT_EXPECT_FALSE(test, IS_ERR(f->task));
	return !IS_ERR(f->task);
}

/* Waits for pass 2 @f to return; it uses @f and the MR until then. */
static void expect_finisher_returns(struct kunit *test, struct finisher *f)
{
	unsigned long done = wait_for_completion_timeout(&f->done, 10 * HZ);

	KUNIT_EXPECT_NE(test, 0UL, done);
	if (!done)
		wait_for_completion(&f->done);
}

/*
 * Runs pass 2 @f in its thread: whether it got inside its wait and was
 * still there 300 ms later, as one that waits for an access in flight.
 */
static bool finisher_waits(struct kunit *test, struct finisher *f)
{
	struct inval_kunit *k = test->priv;
	unsigned int epoch = READ_ONCE(k->odp->table.epoch);

	wake_up_process(f->task);
	return odp_kunit_in_wait(&k->odp->table, epoch, &f->done) &&
	       odp_kunit_still_waiting(&f->done, 300);
}

/*
 * rxe_odp_alloc_finish() for a test that needs its allocation to succeed:
 * a GFP_NOWAIT failure would make pass 1 wait, in the test's thread, for
 * the test's own access.
 */
static struct rxe_odp_finish *spare_finish(void)
{
	struct inval_kunit *k = kunit_get_current_test()->priv;

	return xchg(&k->spare, NULL);
}

/* rxe_odp_alloc_finish() when GFP_NOWAIT finds no memory */
static struct rxe_odp_finish *no_memory(void)
{
	struct inval_kunit *k = kunit_get_current_test()->priv;

	k->failed_allocs++;
	return NULL;
}

/*
 * Accesses in flight: pass 1 hands over pass 2, embedded in the MR for the
 * first invalidation and allocated for a concurrent second one. Each pass
 * 2 returns only once the accesses that began before it have ended.
 */
static void inval_two_pass(struct kunit *test)
{
	struct inval_kunit *k = test->priv;
	struct rxe_odp_table *t = &k->odp->table;
	struct finisher first, second;
	struct rxe_odp_access a, b;
	bool waited;
	int err;

	k->spare = kmalloc_obj(*k->spare, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, k->spare);
	kunit_activate_static_stub(test, rxe_odp_alloc_finish, spare_finish);
	if (!prepare_finisher(test, &first))
		return;
	if (!prepare_finisher(test, &second)) {
		kthread_stop(first.task);
		return;
	}
	map_first_page(test);
	if (rxe_odp_access_begin(t, &a)) {
		kthread_stop(first.task);
		kthread_stop(second.task);
		KUNIT_FAIL(test, "the access did not begin");
		return;
	}
	KUNIT_EXPECT_TRUE(test, start(k, true, MMU_NOTIFY_UNMAP, &first.finish));
	KUNIT_EXPECT_PTR_EQ(test, &k->odp->finish.base, first.finish);
	map_first_page(test);
	KUNIT_EXPECT_TRUE(test, start(k, true, MMU_NOTIFY_UNMAP,
				      &second.finish));
	KUNIT_EXPECT_PTR_NE(test, &k->odp->finish.base, second.finish);
	if (!first.finish || !second.finish) {
		rxe_odp_access_end(t, &a);
		kthread_stop(first.task);
		kthread_stop(second.task);
		/* what was handed over runs, and frees what it allocated */
		if (first.finish)
			rxe_odp_mn_ops.invalidate_finish(first.finish);
		if (second.finish)
			rxe_odp_mn_ops.invalidate_finish(second.finish);
		KUNIT_FAIL(test, "no pass 2 with an access in flight");
		return;
	}

	/* the allocated one waits for @a, and not for @b, begun meanwhile */
	waited = finisher_waits(test, &second);
	err = rxe_odp_access_begin(t, &b);
	KUNIT_EXPECT_EQ(test, 0, err);
	rxe_odp_access_end(t, &a);
	KUNIT_EXPECT_TRUE_MSG(test, waited,
			      "the allocated pass 2 returned with an access in flight");
	expect_finisher_returns(test, &second);
	/* the embedded one waits for @b, which began before it */
	waited = finisher_waits(test, &first);
	if (!err)
		rxe_odp_access_end(t, &b);
	KUNIT_EXPECT_TRUE_MSG(test, !err && waited,
			      "the embedded pass 2 returned with an access in flight");
	expect_finisher_returns(test, &first);

	/* the embedded one is free for the next invalidation */
	map_first_page(test);
	KUNIT_ASSERT_EQ(test, 0, rxe_odp_access_begin(t, &a));
	KUNIT_EXPECT_TRUE(test, start(k, true, MMU_NOTIFY_UNMAP, &first.finish));
	KUNIT_EXPECT_PTR_EQ(test, &k->odp->finish.base, first.finish);
	rxe_odp_access_end(t, &a);
	if (first.finish)
		rxe_odp_mn_ops.invalidate_finish(first.finish);
}

struct holder {
	struct inval_kunit *k;
	struct task_struct *task;
	struct rxe_odp_access a;
	int err;
	/* the table's epoch before the invalidation that must wait */
	unsigned int epoch;
	struct completion begun, go, returned, done;
	/* whether the invalidation got inside its wait, and stayed there */
	bool waiting, early;
};

/*
 * Holds the first page in an access, in a thread of its own, until the
 * invalidation that the test runs in its thread has been seen waiting.
 */
static int holder_thread(void *arg)
{
	struct holder *h = arg;
	struct rxe_odp_table *t = &h->k->odp->table;

	h->err = rxe_odp_access_begin(t, &h->a);
	/* the test, @h and this module may be gone once it knows */
	if (h->err)
		kthread_complete_and_exit(&h->begun, 0);
	complete(&h->begun);
	wait_for_completion(&h->go);
	h->waiting = odp_kunit_in_wait(t, h->epoch, &h->returned);
	h->early = h->waiting && !odp_kunit_still_waiting(&h->returned, 300);
	WRITE_ONCE(h->k->access_ended, true);
	rxe_odp_access_end(t, &h->a);
	kthread_complete_and_exit(&h->done, 0);
}

/*
 * The MR's own pass 2 is taken and there is no memory for another: the
 * second invalidation waits for the access in pass 1, as a one-pass
 * notifier, rather than return with the page in use.
 */
static void inval_second_without_memory(struct kunit *test)
{
	struct inval_kunit *k = test->priv;
	struct mmu_interval_notifier_finish *first, *second;
	struct holder h = { .k = k };
	bool ret, ended;

	init_completion(&h.begun);
	init_completion(&h.go);
	init_completion(&h.returned);
	init_completion(&h.done);
	/* before the access, which must not wait for an allocation */
	h.task = kthread_create(holder_thread, &h, "odp_kunit_hold");
	KUNIT_ASSERT_FALSE(test, IS_ERR(h.task));
	map_first_page(test);
	wake_up_process(h.task);
	wait_for_completion(&h.begun);
	KUNIT_ASSERT_EQ_MSG(test, 0, h.err, "the access did not begin");

	KUNIT_EXPECT_TRUE(test, start(k, true, MMU_NOTIFY_UNMAP, &first));
	KUNIT_EXPECT_PTR_EQ(test, &k->odp->finish.base, first);
	kunit_activate_static_stub(test, rxe_odp_alloc_finish, no_memory);
	map_first_page(test);
	h.epoch = READ_ONCE(k->odp->table.epoch);
	complete(&h.go);
	ret = start(k, true, MMU_NOTIFY_UNMAP, &second);
	/* from here on the core zaps the range and may free its pages */
	ended = READ_ONCE(k->access_ended);
	complete(&h.returned);
	wait_for_completion(&h.done);
	KUNIT_EXPECT_TRUE(test, ret);
	KUNIT_EXPECT_EQ(test, 1U, k->failed_allocs);
	KUNIT_EXPECT_NULL(test, second);
	if (second)
		rxe_odp_mn_ops.invalidate_finish(second);
	KUNIT_EXPECT_TRUE_MSG(test, ended,
			      "the invalidation returned with an access in flight");
	KUNIT_EXPECT_TRUE_MSG(test, h.waiting,
			      "the invalidation did not wait for the access");
	KUNIT_EXPECT_FALSE(test, h.early);
	if (first)
		rxe_odp_mn_ops.invalidate_finish(first);
}

/* MMU_NOTIFY_RELEASE fences the MR: no access begins afterwards. */
static void inval_release_fences(struct kunit *test)
{
	struct inval_kunit *k = test->priv;
	struct mmu_interval_notifier_finish *finish;
	struct rxe_odp_access a;

	map_first_page(test);
	KUNIT_EXPECT_TRUE(test, start(k, true, MMU_NOTIFY_RELEASE, &finish));
	KUNIT_EXPECT_NULL(test, finish);
	KUNIT_EXPECT_EQ(test, -EFAULT,
			rxe_odp_access_begin(&k->odp->table, &a));
	KUNIT_EXPECT_EQ(test, 0UL, k->odp->table.mapped);
}

static struct kunit_case inval_cases[] = {
	KUNIT_CASE(inval_idle),
	KUNIT_CASE(inval_nothing_present),
	KUNIT_CASE(inval_overlap_waits),
	KUNIT_CASE(inval_overlap_nonblockable),
	KUNIT_CASE(inval_after_refusal_waits),
	KUNIT_CASE(inval_nonblockable_busy),
	KUNIT_CASE(inval_two_pass),
	KUNIT_CASE(inval_second_without_memory),
	KUNIT_CASE(inval_release_fences),
	{}
};

static struct kunit_suite inval_suite = {
	.name = "rxe_hmm_odp_invalidate",
	.init = inval_kunit_init,
	.exit = inval_kunit_exit,
	.test_cases = inval_cases,
};

kunit_test_suite(inval_suite);
