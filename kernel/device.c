// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * The rxe_hmm settings of a device: its migration policy and the size of
 * its emulated device memory, as module parameters (defaults for new
 * devices) and sysfs attributes (per device). And the module's own
 * state: the list of its devices and its debugfs directory.
 */

#include <kunit/visibility.h>
#include <linux/debugfs.h>
#include <linux/mutex.h>
#include <linux/sizes.h>

#include "rxe.h"
#include "devmem.h"
#include "odp_table.h"

static const char * const rxe_hmm_policy_names[] = {
	[RXE_HMM_MIGRATE_OFF] = "off",
	[RXE_HMM_MIGRATE_ON_FAULT] = "on-fault",
	[RXE_HMM_MIGRATE_PREFETCH_ONLY] = "prefetch-only",
};

static int rxe_hmm_policy_parse(const char *buf)
{
	return sysfs_match_string(rxe_hmm_policy_names, buf);
}

static enum rxe_hmm_migrate_policy migrate_policy = RXE_HMM_MIGRATE_OFF;

static int migrate_policy_set(const char *val, const struct kernel_param *kp)
{
	int policy = rxe_hmm_policy_parse(val);

	if (policy < 0)
		return policy;
	WRITE_ONCE(migrate_policy, policy);
	return 0;
}

static int migrate_policy_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n",
			  rxe_hmm_policy_names[READ_ONCE(migrate_policy)]);
}

static const struct kernel_param_ops migrate_policy_ops = {
	.set = migrate_policy_set,
	.get = migrate_policy_get,
};
module_param_cb(migrate_policy, &migrate_policy_ops, NULL, 0644);
MODULE_PARM_DESC(migrate_policy,
		 "Migration policy of devices created from now on: off, on-fault or prefetch-only (default off)");

/* rxe's descriptors are not ours to reach: the same list, at the same place */
static const struct rdma_stat_desc
rxe_hmm_counter_descs[RXE_NUM_OF_COUNTERS + RXE_HMM_NUM_COUNTERS] = {
	RXE_HMM_COUNTER_DESCS
};

/* The name both the device's and an MR's statistics give counter @idx. */
const char *rxe_hmm_counter_name(enum rxe_hmm_counters idx)
{
	return rxe_hmm_counter_descs[RXE_NUM_OF_COUNTERS + idx].name;
}

static unsigned int devmem_size_mb = 256;
module_param(devmem_size_mb, uint, 0644);
MODULE_PARM_DESC(devmem_size_mb,
		 "Emulated device memory of devices created from now on, MiB (default 256)");

static ssize_t migrate_policy_show(struct device *device,
				   struct device_attribute *attr, char *buf)
{
	struct rxe_dev *rxe =
		rdma_device_to_drv_device(device, struct rxe_dev, ib_dev);

	return sysfs_emit(buf, "%s\n",
			  rxe_hmm_policy_names[READ_ONCE(rxe->hmm.policy)]);
}

static ssize_t migrate_policy_store(struct device *device,
				    struct device_attribute *attr,
				    const char *buf, size_t count)
{
	struct rxe_dev *rxe =
		rdma_device_to_drv_device(device, struct rxe_dev, ib_dev);
	int policy = rxe_hmm_policy_parse(buf);

	if (policy < 0)
		return policy;
	WRITE_ONCE(rxe->hmm.policy, policy);
	return count;
}

struct device_attribute dev_attr_migrate_policy = __ATTR_RW(migrate_policy);

static ssize_t devmem_size_mb_show(struct device *device,
				   struct device_attribute *attr, char *buf)
{
	struct rxe_dev *rxe =
		rdma_device_to_drv_device(device, struct rxe_dev, ib_dev);

	return sysfs_emit(buf, "%llu\n",
			  READ_ONCE(rxe->hmm.devmem_size) / SZ_1M);
}

/* Moves every device page back to system memory first. */
static ssize_t devmem_size_mb_store(struct device *device,
				    struct device_attribute *attr,
				    const char *buf, size_t count)
{
	struct rxe_dev *rxe =
		rdma_device_to_drv_device(device, struct rxe_dev, ib_dev);
	unsigned int mb;
	int err;

	err = kstrtouint(buf, 0, &mb);
	if (err)
		return err;
	err = rxe_devmem_resize(rxe, (u64)mb * SZ_1M);
	return err ?: count;
}

struct device_attribute dev_attr_devmem_size_mb = __ATTR_RW(devmem_size_mb);

/*
 * Our devices: rdma_rxe may be loaded beside us, and the driver id alone
 * does not tell whose a device is, so module exit unregisters these
 * rather than every device of a driver id.
 */
static LIST_HEAD(rxe_hmm_devs);
static DEFINE_MUTEX(rxe_hmm_devs_lock);
static struct dentry *rxe_hmm_debugfs;

/*
 * From rxe_add(), before rxe_register_device(). Should rxe_dealloc()
 * ever run for a device whose add failed, rxe_hmm_dev_del() finds what it
 * touches set up: the list node and the lock before the allocation.
 */
int rxe_hmm_dev_add(struct rxe_dev *rxe)
{
	rxe->hmm.policy = READ_ONCE(migrate_policy);
	rxe->hmm.devmem_size = (u64)READ_ONCE(devmem_size_mb) * SZ_1M;
	init_rwsem(&rxe->hmm.devmem_sem);
	INIT_LIST_HEAD(&rxe->hmm.node);
	rxe->hmm.counters = alloc_percpu(struct rxe_hmm_pcpu_counters);
	if (!rxe->hmm.counters)
		return -ENOMEM;
	mutex_lock(&rxe_hmm_devs_lock);
	list_add_tail(&rxe->hmm.node, &rxe_hmm_devs);
	mutex_unlock(&rxe_hmm_devs_lock);
	return 0;
}

/*
 * From rxe_dealloc(): once unregistered, or when registration failed.
 * Off the list last, so that module exit, which finds the device there,
 * waits for all of this (see rxe_hmm_exit()).
 */
void rxe_hmm_dev_del(struct rxe_dev *rxe)
{
	rxe_devmem_remove(rxe);
	mutex_lock(&rxe_hmm_devs_lock);
	list_del_init(&rxe->hmm.node);
	mutex_unlock(&rxe_hmm_devs_lock);
	free_percpu(rxe->hmm.counters);
	rxe->hmm.counters = NULL;
}

/*
 * The sum over the CPUs: exact once nothing counts any more. While a level
 * moves, a sum may see a page go on one CPU and not its coming on another:
 * never below zero, then. (Statistics only: on 32-bit a CPU's value may be
 * read half old, half new; nothing decides on these sums.)
 */
s64 rxe_hmm_counter_read(struct rxe_hmm_dev *hmm, enum rxe_hmm_counters idx)
{
	s64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu_ptr(hmm->counters, cpu)->v[idx]);
	return max_t(s64, sum, 0);
}
EXPORT_SYMBOL_IF_KUNIT(rxe_hmm_counter_read);

/* Serialises the release of a netns's RoCE sockets, see rxe_net_del() */
DEFINE_MUTEX(rxe_hmm_sock_lock);

/*
 * From rxe_ns_exit(), under rxe_hmm_sock_lock: @net is going away, and its
 * sockets with it. Its devices are unregistered by now, as the netdevs
 * they sit on are, but one that another module's ib_unregister_driver()
 * took down may not have reached rxe_dealloc() yet: it must not touch the
 * sockets of @net then.
 */
void rxe_hmm_forget_net(struct net *net)
{
	struct rxe_dev *rxe;

	lockdep_assert_held(&rxe_hmm_sock_lock);
	mutex_lock(&rxe_hmm_devs_lock);
	list_for_each_entry(rxe, &rxe_hmm_devs, hmm.node) {
		if (rxe->hmm.sock_net == net)
			rxe->hmm.sock_net = NULL;
	}
	mutex_unlock(&rxe_hmm_devs_lock);
}

/* Module init, before anything of rxe's: rxe_hmm_exit() undoes it. */
int rxe_hmm_init(void)
{
	int err;

	err = rxe_odp_table_cache_init();
	if (err)
		return err;
	rxe_hmm_debugfs = debugfs_create_dir("rxe_hmm", NULL);
	rxe_devmem_debugfs_init(rxe_hmm_debugfs);
	rxe_odp_debugfs_init(rxe_hmm_debugfs);
	return 0;
}

/*
 * Module exit, once no new device can be added (and on a failed init,
 * with none): unregisters each of our devices as ib_unregister_driver()
 * would, then removes what rxe_hmm_init() made. A device that "rdma link
 * delete" or a netdev event is unregistering meanwhile is still on the
 * list until its rxe_dealloc() is done; ib_unregister_device() then
 * waits for that on the device's unregistration lock, which the other
 * unregistration holds until dealloc returns.
 */
void rxe_hmm_exit(void)
{
	struct rxe_dev *rxe;

	for (;;) {
		mutex_lock(&rxe_hmm_devs_lock);
		rxe = list_first_entry_or_null(&rxe_hmm_devs, struct rxe_dev,
					       hmm.node);
		if (rxe) {
			list_del_init(&rxe->hmm.node);
			get_device(&rxe->ib_dev.dev);
		}
		mutex_unlock(&rxe_hmm_devs_lock);
		if (!rxe)
			break;
		/*
		 * Off the list, rxe_hmm_forget_net() no longer sees it: drop
		 * its socket references first, as "rdma link delete" does.
		 */
		rxe_net_del(&rxe->ib_dev);
		ib_unregister_device(&rxe->ib_dev);
		put_device(&rxe->ib_dev.dev);
	}
	debugfs_remove_recursive(rxe_hmm_debugfs);
	rxe_odp_table_cache_exit();
}
