// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * On-demand paging for rxe_hmm, built directly on hmm_range_fault() and
 * the two-pass mmu_interval_notifier: ODP MRs and their verbs.
 *
 * An ODP MR owns a sparse page table (odp_table.h) and interval
 * notifiers: one over the user range of an explicit MR, one per 1 GiB
 * region an implicit MR maps. The data path (odp_datapath.c) looks entries
 * up without a sleeping lock and copies; a missing or read-only entry
 * sends it to rxe_odp_fault() (odp_fault.c), which fills the table from
 * hmm_range_fault() under the notifier sequence, and may migrate the
 * pages into device memory on the way (odp_migrate.c). Invalidation
 * (odp_invalidate.c) clears entries in pass 1 and, when an access may
 * still be using a cleared page, waits for it in pass 2. This file
 * registers and destroys ODP MRs, prefetches (ibv_advise_mr()) and
 * reports an MR's counters.
 */

#include <linux/debugfs.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <kunit/visibility.h>
#include <rdma/restrack.h>
#include <rdma/rxe_hmm-abi.h>
#include <rdma/uverbs_ioctl.h>

#include "odp_internal.h"

static bool implicit_odp = true;
module_param(implicit_odp, bool, 0644);
MODULE_PARM_DESC(implicit_odp,
		 "Offer implicit ODP on devices created from now on (default Y)");

/* The locks, the table and the work of a new MR's state. */
VISIBLE_IF_KUNIT void rxe_odp_init_state(struct rxe_odp *odp)
{
	odp->whole.odp = odp;
	xa_init(&odp->intervals);
	mutex_init(&odp->intervals_lock);
	init_rwsem(&odp->migrate_sem);
	INIT_WORK(&odp->shrink_work, rxe_odp_shrink);
	rxe_odp_table_init(&odp->table);
}
EXPORT_SYMBOL_IF_KUNIT(rxe_odp_init_state);

static const enum rxe_hmm_migrate_policy rxe_odp_uapi_policy[] = {
	[RXE_HMM_POLICY_OFF] = RXE_HMM_MIGRATE_OFF,
	[RXE_HMM_POLICY_ON_FAULT] = RXE_HMM_MIGRATE_ON_FAULT,
	[RXE_HMM_POLICY_PREFETCH_ONLY] = RXE_HMM_MIGRATE_PREFETCH_ONLY,
};

/*
 * The migration policy an MR asks for in the driver data of its
 * registration (struct rxe_hmm_reg_mr), or the device's. Only ODP MRs
 * migrate, so only they may ask.
 */
int rxe_odp_reg_mr_policy(struct rxe_dev *rxe, int access_flags,
			  struct ib_udata *udata,
			  enum rxe_hmm_migrate_policy *policy)
{
	struct rxe_hmm_reg_mr cmd = {};
	int err;

	*policy = READ_ONCE(rxe->hmm.policy);
	if (!udata || !udata->inlen)
		return 0;
	if (udata->inlen > sizeof(cmd) &&
	    !ib_is_udata_cleared(udata, sizeof(cmd),
				 udata->inlen - sizeof(cmd)))
		return -EINVAL;
	err = ib_copy_from_udata(&cmd, udata, min(sizeof(cmd), udata->inlen));
	if (err)
		return err;
	if (cmd.comp_mask & ~RXE_HMM_REG_MR_MIGRATE_POLICY)
		return -EINVAL;
	if (!(cmd.comp_mask & RXE_HMM_REG_MR_MIGRATE_POLICY) ||
	    cmd.migrate_policy == RXE_HMM_POLICY_DEVICE_DEFAULT)
		return 0;
	if (!(access_flags & IB_ACCESS_ON_DEMAND) ||
	    cmd.migrate_policy >= ARRAY_SIZE(rxe_odp_uapi_policy))
		return -EINVAL;
	*policy = rxe_odp_uapi_policy[cmd.migrate_policy];
	return 0;
}

int rxe_odp_mr_init_user(struct rxe_dev *rxe, u64 start, u64 length,
			 u64 iova, int access_flags,
			 enum rxe_hmm_migrate_policy policy, struct rxe_mr *mr)
{
	bool implicit = !start && length == U64_MAX;
	struct rxe_odp *odp;
	u64 end;
	int err;

	rxe_mr_init(access_flags, mr);

	if (!length)
		return -EINVAL;
	if (implicit) {
		if (!(rxe->attr.odp_caps.general_caps &
		      IB_ODP_SUPPORT_IMPLICIT))
			return -EOPNOTSUPP;
		/* the MR maps iova to the same virtual address */
		if (iova)
			return -EINVAL;
		end = TASK_SIZE;
	} else {
		if (check_add_overflow(start, length, &end))
			return -EOVERFLOW;
		if (end > TASK_SIZE)
			return -EFAULT;
	}

	odp = kzalloc_obj(*odp);
	if (!odp)
		return -ENOMEM;
	odp->mr = mr;
	odp->writable = ib_access_writable(access_flags);
	odp->implicit = implicit;
	odp->write_back = implicit &&
			  (access_flags & IB_ACCESS_FLUSH_PERSISTENT);
	odp->policy = policy;
	rxe_odp_init_state(odp);
	odp->start = ALIGN_DOWN(start, PAGE_SIZE);
	odp->end = PAGE_ALIGN(end);
	odp->va_offset = start - iova;

	if (implicit) {
		/*
		 * Its notifiers come with its faults, one per region: make
		 * sure the mm can take them without mmap_write_lock() there,
		 * as mmu_interval_notifier_insert() would. This takes
		 * mm_take_all_locks() each time (and fails with -EINTR on a
		 * fatal signal); an implicit registration is rare.
		 */
		err = mmu_notifier_register(NULL, current->mm);
	} else {
		odp->whole.start = odp->start;
		odp->whole.end = odp->end;
		err = mmu_interval_notifier_insert(&odp->whole.notifier,
						   current->mm, odp->start,
						   odp->end - odp->start,
						   &rxe_odp_mn_ops);
	}
	if (err) {
		mutex_destroy(&odp->intervals_lock);
		kfree(odp);
		return err;
	}
	odp->mm = current->mm;
	mmgrab(odp->mm);
	/* faults run in rxe's workers: charge the table to the process */
	odp->memcg = get_mem_cgroup_from_mm(current->mm);

	mr->odp = odp;
	mr->ibmr.length = length;
	mr->ibmr.iova = iova;
	mr->ibmr.type = IB_MR_TYPE_USER;
	mr->state = RXE_MR_STATE_VALID;
	return 0;
}

/* The last reference to @mr is gone: no access can be in flight. */
void rxe_odp_mr_cleanup(struct rxe_mr *mr)
{
	struct rxe_odp *odp = to_odp(mr);
	LIST_HEAD(intervals);

	if (odp->implicit) {
		/* as shrinking would, which may run meanwhile */
		down_write(&odp->migrate_sem);
		rxe_odp_detach_intervals(odp, true, &intervals);
		up_write(&odp->migrate_sem);
		rxe_odp_free_intervals(odp, &intervals);
	} else {
		/* waits for an invalidation in progress, both passes */
		mmu_interval_notifier_remove(&odp->whole.notifier);
	}
	/* nothing queues it any more: no fault, no invalidation */
	cancel_work_sync(&odp->shrink_work);
	rxe_odp_count(odp, RXE_HMM_CNT_ODP_MAPPED_PAGES,
		      -(s64)odp->table.mapped);
	rxe_odp_table_destroy(&odp->table);
	xa_destroy(&odp->intervals);
	mem_cgroup_put(odp->memcg);
	mmdrop(odp->mm);
	mutex_destroy(&odp->intervals_lock);
	mr->odp = NULL;
	kfree(odp);
}

/*
 * The pages an ODP MR may write were decided at registration, and it
 * stays ODP unless it is registered anew (IB_MR_REREG_TRANS).
 */
int rxe_odp_check_rereg(struct rxe_mr *mr, int flags, int access)
{
	if ((flags & IB_MR_REREG_ACCESS) && !(access & IB_ACCESS_ON_DEMAND))
		return -EINVAL;
	if ((flags & IB_MR_REREG_ACCESS) && ib_access_writable(access) &&
	    !to_odp(mr)->writable)
		return -EACCES;
	/* nor whether an implicit MR writes back what it places */
	if ((flags & IB_MR_REREG_ACCESS) && to_odp(mr)->implicit &&
	    (access & IB_ACCESS_FLUSH_PERSISTENT) && !to_odp(mr)->write_back)
		return -EACCES;
	return 0;
}

struct rxe_odp_prefetch_work {
	struct work_struct	work;
	unsigned int		flags;
	u32			num_sge;
	struct {
		struct rxe_mr	*mr;
		u64		iova;
		u32		length;
	} frags[];
};

static int rxe_odp_prefetch(struct rxe_mr *mr, u64 iova, u32 length,
			    unsigned int flags)
{
	struct rxe_odp *odp = to_odp(mr);
	unsigned long va = rxe_odp_iova_to_va(odp, iova);
	unsigned long end = va + length;
	unsigned long chunk;
	int err = 0;

	rxe_odp_count(odp, RXE_HMM_CNT_ODP_PREFETCHES, 1);
	/* a prefetch moves pages under either policy that migrates */
	if (READ_ONCE(odp->policy) != RXE_HMM_MIGRATE_OFF)
		flags |= RXE_ODP_FAULT_MIGRATE;
	while (va < end && !err) {
		/* a synchronous prefetch of a whole MR must stay killable */
		if (fatal_signal_pending(current))
			return -EINTR;
		chunk = min(end - va, (RXE_ODP_MAX_FAULT_PAGES << PAGE_SHIFT) -
				      offset_in_page(va));
		/* nor across regions: a fault stays under one notifier */
		if (odp->implicit)
			chunk = min(chunk,
				    round_up(va + 1, RXE_ODP_REGION_SIZE) - va);
		err = rxe_odp_fault(odp, va, chunk, flags);
		va += chunk;
		cond_resched();
	}
	return err;
}

static void rxe_odp_prefetch_work_fn(struct work_struct *w)
{
	struct rxe_odp_prefetch_work *work =
		container_of(w, struct rxe_odp_prefetch_work, work);
	u32 i;

	/* best effort: an asynchronous prefetch has nobody to report to */
	for (i = 0; i < work->num_sge; i++) {
		rxe_odp_prefetch(work->frags[i].mr, work->frags[i].iova,
				 work->frags[i].length, work->flags);
		rxe_put(work->frags[i].mr);
	}
	kvfree(work);
}

/* Looks up and checks one SGE; returns the MR with a reference held. */
static struct rxe_mr *rxe_odp_prefetch_mr(struct rxe_pd *pd,
					  enum ib_uverbs_advise_mr_advice advice,
					  struct ib_sge *sge, int *err)
{
	struct rxe_mr *mr;

	mr = lookup_mr(pd, 0, sge->lkey, RXE_LOOKUP_LOCAL);
	if (!mr) {
		*err = -EINVAL;
		return NULL;
	}
	if (!is_odp_mr(mr)) {
		*err = -EINVAL;
		goto err_put;
	}
	/* ibv_advise_mr(3): EFAULT for a range outside the MR */
	if (mr_check_range(mr, sge->addr, sge->length)) {
		*err = -EFAULT;
		goto err_put;
	}
	if (advice == IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_WRITE &&
	    !to_odp(mr)->writable) {
		*err = -EPERM;
		goto err_put;
	}
	return mr;

err_put:
	rxe_put(mr);
	return NULL;
}

int rxe_ib_advise_mr(struct ib_pd *ibpd, enum ib_uverbs_advise_mr_advice advice,
		     u32 flags, struct ib_sge *sg_list, u32 num_sge,
		     struct uverbs_attr_bundle *attrs)
{
	struct rxe_pd *pd = to_rpd(ibpd);
	struct rxe_odp_prefetch_work *work;
	unsigned int pf_flags = RXE_ODP_FAULT_EXACT;
	u32 hints = 0;
	struct rxe_mr *mr;
	int err = 0;
	u32 i;

	if (attrs) {
		err = uverbs_get_flags32(&hints, attrs,
					 RXE_HMM_ATTR_ADVISE_MR_FLAGS,
					 RXE_HMM_ADVISE_MR_MIGRATE);
		if (err)
			return err;
	}

	switch (advice) {
	case IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH:
		break;
	case IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_WRITE:
		pf_flags |= RXE_ODP_FAULT_WRITE;
		break;
	case IB_UVERBS_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT:
		pf_flags |= RXE_ODP_FAULT_SNAPSHOT;
		break;
	default:
		return -EOPNOTSUPP;
	}
	if (flags & ~IB_UVERBS_ADVISE_MR_FLAG_FLUSH)
		return -EOPNOTSUPP;
	if (hints & RXE_HMM_ADVISE_MR_MIGRATE) {
		/* a snapshot faults nothing in, so it has nothing to move */
		if (pf_flags & RXE_ODP_FAULT_SNAPSHOT)
			return -EINVAL;
		pf_flags |= RXE_ODP_FAULT_MIGRATE;
	}

	if (flags & IB_UVERBS_ADVISE_MR_FLAG_FLUSH) {
		for (i = 0; i < num_sge; i++) {
			mr = rxe_odp_prefetch_mr(pd, advice, &sg_list[i], &err);
			if (!mr)
				return err;
			err = rxe_odp_prefetch(mr, sg_list[i].addr,
					       sg_list[i].length, pf_flags);
			rxe_put(mr);
			if (err)
				return err;
		}
		return 0;
	}

	/* Asynchronous: check everything now, fault later. */
	work = kvzalloc_flex(*work, frags, num_sge);
	if (!work)
		return -ENOMEM;
	INIT_WORK(&work->work, rxe_odp_prefetch_work_fn);
	work->flags = pf_flags;
	for (i = 0; i < num_sge; i++) {
		mr = rxe_odp_prefetch_mr(pd, advice, &sg_list[i], &err);
		if (!mr)
			goto err_put;
		work->frags[i].mr = mr;
		work->frags[i].iova = sg_list[i].addr;
		work->frags[i].length = sg_list[i].length;
		work->num_sge++;
	}
	queue_work(rxe_wq, &work->work);
	return 0;

err_put:
	for (i = 0; i < work->num_sge; i++)
		rxe_put(work->frags[i].mr);
	kvfree(work);
	return err;
}

static int rxe_odp_fill_stat_mr_entry(struct sk_buff *msg, struct ib_mr *ibmr)
{
	struct rxe_odp *odp = to_odp(to_rmr(ibmr));
	struct nlattr *table;
	u64 value;
	int i;

	if (!odp)
		return 0;
	table = nla_nest_start(msg, RDMA_NLDEV_ATTR_STAT_HWCOUNTERS);
	if (!table)
		return -EMSGSIZE;
	for (i = 0; i < RXE_HMM_NUM_COUNTERS; i++) {
		if (rxe_hmm_is_devmem_counter(i))
			continue;
		value = atomic64_read(&odp->counters[rxe_hmm_odp_index(i)]);
		if (rdma_nl_stat_hwcounter_entry(msg, rxe_hmm_counter_name(i),
						 value))
			goto err;
	}
	/* a level, not an event count: the memory of the MR's table now */
	if (rdma_nl_stat_hwcounter_entry(msg, "odp_table_bytes",
					 rxe_odp_table_bytes(&odp->table)))
		goto err;
	/* a level too: the interval notifiers of the MR now */
	if (rdma_nl_stat_hwcounter_entry(msg, "odp_notifiers",
					 odp->implicit ?
					 atomic_read(&odp->nr_intervals) : 1))
		goto err;
	if (rdma_nl_stat_hwcounter_entry(msg, "odp_fault_retries",
					 atomic64_read(&odp->fault_retries)))
		goto err;
	nla_nest_end(msg, table);
	return 0;

err:
	nla_nest_cancel(msg, table);
	return -EMSGSIZE;
}

static const struct ib_device_ops rxe_odp_dev_ops = {
	.advise_mr = rxe_ib_advise_mr,
	.fill_stat_mr_entry = rxe_odp_fill_stat_mr_entry,
};

/* The engine's debug knobs (odp_internal.h), under rxe_hmm/ in debugfs. */
void rxe_odp_debugfs_init(struct dentry *dir)
{
	debugfs_create_u32("odp_access_delay_ms", 0644, dir,
			   &rxe_odp_access_delay_ms);
	debugfs_create_bool("invalidate_one_pass", 0644, dir,
			    &rxe_odp_invalidate_one_pass);
	debugfs_create_bool("migrate_two_step",
			    RXE_ODP_HAVE_UNIFIED_WALK ?
			    0644 : 0444, dir, &rxe_odp_migrate_two_step);
}

void rxe_odp_init_device(struct rxe_dev *rxe)
{
	struct ib_odp_caps *caps = &rxe->attr.odp_caps;

	rxe->attr.kernel_cap_flags |= IBK_ON_DEMAND_PAGING;
	caps->general_caps = IB_ODP_SUPPORT;
	if (READ_ONCE(implicit_odp))
		caps->general_caps |= IB_ODP_SUPPORT_IMPLICIT;
	caps->per_transport_caps.ud_odp_caps = IB_ODP_SUPPORT_SEND |
					       IB_ODP_SUPPORT_RECV |
					       IB_ODP_SUPPORT_SRQ_RECV;
	caps->per_transport_caps.rc_odp_caps = IB_ODP_SUPPORT_SEND |
					       IB_ODP_SUPPORT_RECV |
					       IB_ODP_SUPPORT_WRITE |
					       IB_ODP_SUPPORT_READ |
					       IB_ODP_SUPPORT_ATOMIC |
					       IB_ODP_SUPPORT_SRQ_RECV |
					       IB_ODP_SUPPORT_FLUSH |
					       IB_ODP_SUPPORT_ATOMIC_WRITE;
	ib_set_device_ops(&rxe->ib_dev, &rxe_odp_dev_ops);
	rxe->ib_dev.driver_def = rxe_hmm_uapi_defs;
}

