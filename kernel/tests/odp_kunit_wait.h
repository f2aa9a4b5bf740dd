/* SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB */
/*
 * A handshake for the KUnit tests that check that a wait for accesses
 * waits: they must know that the waiting thread got as far as its wait
 * before they check that it has not returned, or a thread that was never
 * scheduled would pass for one that waits.
 */

#ifndef RXE_ODP_KUNIT_WAIT_H
#define RXE_ODP_KUNIT_WAIT_H

#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/jiffies.h>

#include "odp_table.h"

/*
 * Whether a thread that waits on @t, started after the caller read
 * @epoch, is inside its wait (which moves the epoch on first), rather
 * than done (@done completed: it returned without waiting) or not there
 * after 10 s.
 */
static inline bool odp_kunit_in_wait(struct rxe_odp_table *t,
				     unsigned int epoch,
				     struct completion *done)
{
	unsigned long timeout = jiffies + 10 * HZ;

	while (READ_ONCE(t->epoch) == epoch) {
		if (completion_done(done) || time_after(jiffies, timeout))
			return false;
		usleep_range(100, 200);
	}
	return true;
}

/*
 * Whether @done is still not complete @ms after its thread got inside
 * its wait: a wait that does not wait for anything is done within
 * microseconds. Leaves @done as it is, for the caller's wait.
 */
static inline bool odp_kunit_still_waiting(struct completion *done,
					   unsigned int ms)
{
	msleep(ms);
	return !completion_done(done);
}

#endif /* RXE_ODP_KUNIT_WAIT_H */
