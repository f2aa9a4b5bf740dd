/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * rxe_hmm per-device state. The upstream rxe_dev carries one of these as
 * its last member (kernel/patches/rxe/), so the engine's counters and the
 * module's device list live beside rxe's own state.
 */

#ifndef RXE_HMM_H
#define RXE_HMM_H

#include <linux/atomic.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/rwsem.h>

/*
 * In the order of struct rxe_hmm_dev_counters (rdma/rxe_hmm-abi.h): the
 * ODP counters of the first version, the device memory's, then the ODP
 * counters added since. The ODP ones are also kept per MR, in the order
 * of struct rxe_hmm_odp_counters (rxe_hmm_odp_index()).
 */
enum rxe_hmm_counters {
	RXE_HMM_CNT_ODP_FAULTS,
	RXE_HMM_CNT_ODP_FAULTED_PAGES,
	RXE_HMM_CNT_ODP_INVALIDATIONS,
	RXE_HMM_CNT_ODP_INVALIDATED_PAGES,
	RXE_HMM_CNT_ODP_PREFETCHES,
	/* a level, not an event count: pages mapped by all ODP MRs now */
	RXE_HMM_CNT_ODP_MAPPED_PAGES,
	/* pages a fault or a prefetch moved into device memory */
	RXE_HMM_CNT_ODP_MIGRATED_PAGES,
	/* ... of which moved as one PMD-sized unit, counted per unit */
	RXE_HMM_CNT_ODP_MIGRATED_THPS,
	/* device pages moved back to system memory: a CPU touched them */
	RXE_HMM_CNT_DEVMEM_CPU_FAULT_PAGES,
	/* ... device memory was full */
	RXE_HMM_CNT_DEVMEM_EVICTED_PAGES,
	/* ... device memory was resized or removed */
	RXE_HMM_CNT_DEVMEM_TEARDOWN_PAGES,
	/* a level: device pages holding data now */
	RXE_HMM_CNT_DEVMEM_USED_PAGES,
	/* nanoseconds spent in the faults counted by ODP_FAULTS */
	RXE_HMM_CNT_ODP_FAULT_NS,
	/* faults that moved pages, and the nanoseconds they spent moving */
	RXE_HMM_CNT_ODP_MIGRATIONS,
	RXE_HMM_CNT_ODP_MIGRATE_NS,
	/* nanoseconds spent in both passes of invalidations */
	RXE_HMM_CNT_ODP_INVALIDATE_NS,
	RXE_HMM_NUM_COUNTERS
};

#define RXE_HMM_NUM_DEVMEM_COUNTERS					\
	(RXE_HMM_CNT_DEVMEM_USED_PAGES - RXE_HMM_CNT_DEVMEM_CPU_FAULT_PAGES + 1)
#define RXE_HMM_NUM_MR_COUNTERS						\
	(RXE_HMM_NUM_COUNTERS - RXE_HMM_NUM_DEVMEM_COUNTERS)

static inline bool rxe_hmm_is_devmem_counter(enum rxe_hmm_counters idx)
{
	return idx >= RXE_HMM_CNT_DEVMEM_CPU_FAULT_PAGES &&
	       idx <= RXE_HMM_CNT_DEVMEM_USED_PAGES;
}

/* Where an ODP counter sits in an MR's counters */
static inline unsigned int rxe_hmm_odp_index(enum rxe_hmm_counters idx)
{
	return idx < RXE_HMM_CNT_DEVMEM_CPU_FAULT_PAGES ? idx :
	       idx - RXE_HMM_NUM_DEVMEM_COUNTERS;
}

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
		"odp_mapped_pages",					\
	[RXE_NUM_OF_COUNTERS + RXE_HMM_CNT_ODP_MIGRATED_PAGES].name =	\
		"odp_migrated_pages",					\
	[RXE_NUM_OF_COUNTERS + RXE_HMM_CNT_ODP_MIGRATED_THPS].name =	\
		"odp_migrated_thps",					\
	[RXE_NUM_OF_COUNTERS + RXE_HMM_CNT_DEVMEM_CPU_FAULT_PAGES].name = \
		"devmem_cpu_fault_pages",				\
	[RXE_NUM_OF_COUNTERS + RXE_HMM_CNT_DEVMEM_EVICTED_PAGES].name = \
		"devmem_evicted_pages",					\
	[RXE_NUM_OF_COUNTERS + RXE_HMM_CNT_DEVMEM_TEARDOWN_PAGES].name = \
		"devmem_teardown_pages",				\
	[RXE_NUM_OF_COUNTERS + RXE_HMM_CNT_DEVMEM_USED_PAGES].name =	\
		"devmem_used_pages",					\
	[RXE_NUM_OF_COUNTERS + RXE_HMM_CNT_ODP_FAULT_NS].name =		\
		"odp_fault_ns",						\
	[RXE_NUM_OF_COUNTERS + RXE_HMM_CNT_ODP_MIGRATIONS].name =	\
		"odp_migrations",					\
	[RXE_NUM_OF_COUNTERS + RXE_HMM_CNT_ODP_MIGRATE_NS].name =	\
		"odp_migrate_ns",					\
	[RXE_NUM_OF_COUNTERS + RXE_HMM_CNT_ODP_INVALIDATE_NS].name =	\
		"odp_invalidate_ns",

const char *rxe_hmm_counter_name(enum rxe_hmm_counters idx);

/* Which ODP accesses move pages into the device's memory. */
enum rxe_hmm_migrate_policy {
	RXE_HMM_MIGRATE_OFF,
	/* every ODP fault of the engine, and prefetches */
	RXE_HMM_MIGRATE_ON_FAULT,
	/* only ibv_advise_mr() prefetches */
	RXE_HMM_MIGRATE_PREFETCH_ONLY,
};

struct rxe_hmm_devmem;

/*
 * The device's counters, one set per CPU, summed when read
 * (rxe_hmm_counter_read()): every fault, invalidation and device page
 * counts here, and one shared cache line for all of them would bounce
 * between the CPUs that serve different MRs. A level (mapped pages, used
 * device pages) is the sum of what each CPU added and took away.
 */
struct rxe_hmm_pcpu_counters {
	s64			v[RXE_HMM_NUM_COUNTERS];
};

struct rxe_hmm_dev {
	struct rxe_hmm_pcpu_counters __percpu *counters;
	/* the default of the MRs registered from now on */
	enum rxe_hmm_migrate_policy policy;
	/*
	 * Emulated device memory, created by the first migration. Migrations
	 * hold @devmem_sem for read; resizing and removal for write.
	 */
	struct rw_semaphore	devmem_sem;
	struct rxe_hmm_devmem	*devmem;
	/* bytes, for the next time @devmem is created */
	u64			devmem_size;
	/* on the module's list of its devices, see rxe_hmm_exit() */
	struct list_head	node;
	/*
	 * The netns whose RoCE sockets the device holds references on, until
	 * rxe_net_del(); under rxe_hmm_sock_lock.
	 */
	struct net		*sock_net;
};

struct rxe_dev;

int rxe_hmm_init(void);
void rxe_hmm_exit(void);
int rxe_hmm_dev_add(struct rxe_dev *rxe);
void rxe_hmm_dev_del(struct rxe_dev *rxe);

static inline void rxe_hmm_count(struct rxe_hmm_dev *hmm,
				 enum rxe_hmm_counters idx, s64 n)
{
	this_cpu_add(hmm->counters->v[idx], n);
}

s64 rxe_hmm_counter_read(struct rxe_hmm_dev *hmm, enum rxe_hmm_counters idx);

struct net;
extern struct mutex rxe_hmm_sock_lock;
void rxe_hmm_forget_net(struct net *net);

/* sysfs attributes of the device, listed in rxe's own device group */
extern struct device_attribute dev_attr_migrate_policy;
extern struct device_attribute dev_attr_devmem_size_mb;

#endif /* RXE_HMM_H */
