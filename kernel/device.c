// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * The module's own list of devices. rdma_rxe may be loaded beside
 * rxe_hmm and both report RDMA_DRIVER_RXE, so module exit cannot use
 * ib_unregister_driver(): it would take rdma_rxe's devices down as well.
 */

#include <linux/mutex.h>
#include <linux/wait.h>

#include "rxe.h"

static LIST_HEAD(rxe_hmm_devs);
static DEFINE_MUTEX(rxe_hmm_devs_lock);
static DECLARE_WAIT_QUEUE_HEAD(rxe_hmm_devs_wq);
static atomic_t rxe_hmm_ndevs = ATOMIC_INIT(0);

void rxe_hmm_dev_add(struct rxe_dev *rxe)
{
	mutex_lock(&rxe_hmm_devs_lock);
	list_add_tail(&rxe->hmm.list, &rxe_hmm_devs);
	atomic_inc(&rxe_hmm_ndevs);
	mutex_unlock(&rxe_hmm_devs_lock);
}

void rxe_hmm_dev_del(struct rxe_dev *rxe)
{
	mutex_lock(&rxe_hmm_devs_lock);
	/* rxe_dealloc() also runs for a device that never got this far */
	if (rxe->hmm.list.next && !list_empty(&rxe->hmm.list)) {
		list_del_init(&rxe->hmm.list);
		atomic_dec(&rxe_hmm_ndevs);
	}
	mutex_unlock(&rxe_hmm_devs_lock);
	wake_up_all(&rxe_hmm_devs_wq);
}

/*
 * Unregisters every device of this module. Called after the link ops are
 * gone, so no device can be added meanwhile. A device whose registration
 * reference is already zero is being unregistered by the core (its netdev
 * went away, or "rdma link delete"); wait for that to reach rxe_dealloc()
 * rather than return while it may still call into this module.
 */
void rxe_hmm_unregister_all(void)
{
	struct rxe_dev *rxe, *found;

	for (;;) {
		found = NULL;
		mutex_lock(&rxe_hmm_devs_lock);
		list_for_each_entry(rxe, &rxe_hmm_devs, hmm.list) {
			if (ib_device_try_get(&rxe->ib_dev)) {
				found = rxe;
				break;
			}
		}
		mutex_unlock(&rxe_hmm_devs_lock);
		if (!found)
			break;
		ib_unregister_device_and_put(&found->ib_dev);
	}
	wait_event(rxe_hmm_devs_wq, !atomic_read(&rxe_hmm_ndevs));
}
