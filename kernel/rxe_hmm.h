/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * rxe_hmm per-device state. The upstream rxe_dev carries one of these as
 * its last member (kernel/patches/rxe/), so the engine's counters and the
 * module's device list live beside rxe's own state.
 */

#ifndef RXE_HMM_H
#define RXE_HMM_H

#include <linux/atomic.h>
#include <linux/list.h>

enum rxe_hmm_counters {
	RXE_HMM_CNT_ODP_FAULTS,
	RXE_HMM_CNT_ODP_FAULTED_PAGES,
	RXE_HMM_CNT_ODP_INVALIDATIONS,
	RXE_HMM_CNT_ODP_INVALIDATED_PAGES,
	RXE_HMM_CNT_ODP_PREFETCHES,
	/* a level, not an event count: pages mapped by all ODP MRs now */
	RXE_HMM_CNT_ODP_MAPPED_PAGES,
	RXE_HMM_NUM_COUNTERS
};

/*
 * Their descriptors, appended to rxe's own in rxe_hw_counters.c; per MR
 * ("rdma statistic show mr") the same names, from rxe_hmm_counter_name().
 */
#define RXE_HMM_COUNTER_DESCS						\
	[RXE_NUM_OF_COUNTERS + RXE_HMM_CNT_ODP_FAULTS].name =		\
		"odp_faults",						\
	[RXE_NUM_OF_COUNTERS + RXE_HMM_CNT_ODP_FAULTED_PAGES].name =	\
		"odp_faulted_pages",					\
	[RXE_NUM_OF_COUNTERS + RXE_HMM_CNT_ODP_INVALIDATIONS].name =	\
		"odp_invalidations",					\
	[RXE_NUM_OF_COUNTERS + RXE_HMM_CNT_ODP_INVALIDATED_PAGES].name = \
		"odp_invalidated_pages",				\
	[RXE_NUM_OF_COUNTERS + RXE_HMM_CNT_ODP_PREFETCHES].name =	\
		"odp_prefetches",					\
	[RXE_NUM_OF_COUNTERS + RXE_HMM_CNT_ODP_MAPPED_PAGES].name =	\
		"odp_mapped_pages",

const char *rxe_hmm_counter_name(enum rxe_hmm_counters idx);

struct rxe_hmm_dev {
	atomic64_t		counters[RXE_HMM_NUM_COUNTERS];
	/* on the module's device list from rxe_add() to rxe_dealloc() */
	struct list_head	list;
};

struct rxe_dev;

void rxe_hmm_dev_add(struct rxe_dev *rxe);
void rxe_hmm_dev_del(struct rxe_dev *rxe);
void rxe_hmm_unregister_all(void);

#endif /* RXE_HMM_H */
