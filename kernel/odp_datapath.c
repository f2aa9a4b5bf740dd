// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * The data path of ODP MRs: what rxe's requester and responder call to
 * copy, do atomics and flush through an MR's table. Entries are looked
 * up inside an access (odp_table.h) without a sleeping lock; a missing or
 * read-only entry ends the access, sends it to rxe_odp_fault() and the
 * walk resumes where it stopped.
 */

#include <linux/delay.h>
#include <linux/hmm.h>
#include <linux/highmem.h>
#include <linux/libnvdimm.h>
#include <linux/memremap.h>

#include "odp_internal.h"

/* debugfs rxe_hmm/odp_access_delay_ms, see rxe_odp_debugfs_init() */
u32 rxe_odp_access_delay_ms;

/*
 * Walks [@va, @va + @len) page by page inside an access, calling @fn with
 * each page's kernel mapping. A page that is missing, or read-only for a
 * write, ends the access, is faulted in and the walk resumes there: @fn
 * is therefore called once for every byte, in order.
 */
typedef void (*rxe_odp_page_fn)(void *kaddr, unsigned int len, void *arg);

/* Whether @entry is present and one of this device's own pages. */
static bool rxe_odp_entry_on_device(unsigned long entry)
{
	return (entry & HMM_PFN_VALID) &&
	       is_device_private_page(hmm_pfn_to_page(entry));
}

static int rxe_odp_walk(struct rxe_odp *odp, unsigned long va, u64 len,
			bool write, rxe_odp_page_fn fn, void *arg)
{
	unsigned long fault_va = ULONG_MAX;
	struct rxe_odp_access access;
	unsigned int offset, bytes;
	unsigned int delay_ms;
	unsigned long entry;
	struct folio *folio;
	struct page *page;
	bool devpriv, to_cpu = false, resched = false;
	int tries = 0;
	void *kaddr;
	int err;

	while (len) {
		err = rxe_odp_access_begin(&odp->table, &access);
		if (err)
			return err;
		while (len) {
			entry = rxe_odp_table_entry(&odp->table, va);
			if (!rxe_odp_entry_allows(entry, write)) {
				/*
				 * A write to our own page, read-only since a
				 * fork() or change_protection(): hmm returns it
				 * as it is, so only a CPU fault makes it
				 * writable.
				 */
				to_cpu = rxe_odp_entry_on_device(entry);
				break;
			}
			/*
			 * Debug knob: hold a looked-up page across a sleep, so
			 * a test can invalidate it meanwhile and see pass 2
			 * wait for this access.
			 */
			delay_ms = READ_ONCE(rxe_odp_access_delay_ms);
			if (unlikely(delay_ms))
				msleep(delay_ms);
			offset = offset_in_page(va);
			bytes = min_t(u64, len, PAGE_SIZE - offset);
			page = hmm_pfn_to_page(entry);
			/* only this device's pages are ever stored */
			devpriv = is_device_private_page(page);
			if (devpriv)
				page = rxe_devmem_backing(page);
			kaddr = kmap_local_page(page);
			fn(kaddr + offset, bytes, arg);
			/*
			 * A page may leave the table before a FLUSH comes,
			 * which then cannot see it: see rxe_odp_flush_pmem_iova().
			 */
			if (write && odp->write_back)
				arch_wb_cache_pmem(kaddr + offset, bytes);
			kunmap_local(kaddr);
			/*
			 * As a CPU store through the PTE would: hmm leaves the
			 * PTE clean when it was writable already, and reclaim
			 * discards a clean MADV_FREE page or drops a clean one
			 * from the swap cache. The page is still mapped, as an
			 * invalidation waits for this access, so its mapping is
			 * stable, as for zap_pte_range(). A device page holds
			 * anonymous memory only, and migrates back into a new
			 * swap-backed folio, which reclaim always writes out.
			 */
			if (write && !devpriv) {
				folio = page_folio(page);
				if (!folio_test_dirty(folio))
					folio_mark_dirty(folio);
			}
			va += bytes;
			len -= bytes;
			if (len && need_resched()) {
				resched = true;
				break;
			}
		}
		rxe_odp_access_end(&odp->table, &access);
		if (!len)
			break;
		if (resched) {
			/* a long access lets the CPU, and invalidations, in */
			resched = false;
			cond_resched();
			continue;
		}
		/*
		 * An invalidation that beats every fault to the same page
		 * must not keep us here forever.
		 */
		if (va != fault_va)
			tries = 0;
		else if (++tries > 16)
			return -EBUSY;
		fault_va = va;
		if (to_cpu) {
			/* that page only: the next ones may be writable */
			err = rxe_odp_fault(odp, va,
					    min_t(u64, len,
						  PAGE_SIZE - offset_in_page(va)),
					    RXE_ODP_FAULT_WRITE |
					    RXE_ODP_FAULT_CPU);
		} else {
			err = rxe_odp_fault(odp, va, len,
					    (write ? RXE_ODP_FAULT_WRITE : 0) |
					    (READ_ONCE(odp->policy) ==
					     RXE_HMM_MIGRATE_ON_FAULT ?
					     RXE_ODP_FAULT_MIGRATE : 0));
		}
		if (err)
			return err;
	}
	return 0;
}

struct rxe_odp_copy {
	u8			*addr;
	enum rxe_mr_copy_dir	dir;
};

static void rxe_odp_copy_page(void *kaddr, unsigned int len, void *arg)
{
	struct rxe_odp_copy *c = arg;

	if (c->dir == RXE_TO_MR_OBJ)
		memcpy(kaddr, c->addr, len);
	else
		memcpy(c->addr, kaddr, len);
	c->addr += len;
}

int rxe_odp_mr_copy(struct rxe_mr *mr, u64 iova, void *addr, int length,
		    enum rxe_mr_copy_dir dir)
{
	struct rxe_odp *odp = to_odp(mr);
	struct rxe_odp_copy c = { .addr = addr, .dir = dir };

	if (length <= 0)
		return length ? -EINVAL : 0;
	if (dir != RXE_TO_MR_OBJ && dir != RXE_FROM_MR_OBJ)
		return -EINVAL;

	return rxe_odp_walk(odp, rxe_odp_iova_to_va(odp, iova), length,
			    dir == RXE_TO_MR_OBJ, rxe_odp_copy_page, &c);
}

struct rxe_odp_atomic {
	int		opcode;
	u64		compare;
	u64		swap_add;
	u64		orig;
};

static void rxe_odp_atomic_page(void *kaddr, unsigned int len, void *arg)
{
	struct rxe_odp_atomic *a = arg;
	u64 *va = kaddr;

	/* the same lock as rxe's pinned atomics: one atomicity domain */
	spin_lock_bh(&atomic_ops_lock);
	a->orig = *va;
	if (a->opcode == IB_OPCODE_RC_COMPARE_SWAP) {
		if (a->orig == a->compare)
			*va = a->swap_add;
	} else {
		*va = a->orig + a->swap_add;
	}
	spin_unlock_bh(&atomic_ops_lock);
}

/* One aligned 64-bit word at @iova, for the atomics: @fn does the rest. */
static enum resp_states rxe_odp_word(struct rxe_mr *mr, u64 iova,
				     rxe_odp_page_fn fn, void *arg)
{
	struct rxe_odp *odp = to_odp(mr);
	unsigned long va = rxe_odp_iova_to_va(odp, iova);

	/* See IBA oA19-28 */
	if (mr_check_range(mr, iova, sizeof(u64)))
		return RESPST_ERR_RKEY_VIOLATION;
	/* See IBA A19.4.2; aligned, the word never straddles two pages */
	if (unlikely(va & 7))
		return RESPST_ERR_MISALIGNED_ATOMIC;
	if (rxe_odp_walk(odp, va, sizeof(u64), true, fn, arg))
		return RESPST_ERR_RKEY_VIOLATION;
	return RESPST_NONE;
}

enum resp_states rxe_odp_atomic_op(struct rxe_mr *mr, u64 iova, int opcode,
				   u64 compare, u64 swap_add, u64 *orig_val)
{
	struct rxe_odp_atomic a = {
		.opcode = opcode,
		.compare = compare,
		.swap_add = swap_add,
	};
	enum resp_states ret;

	if (unlikely(mr->state != RXE_MR_STATE_VALID))
		return RESPST_ERR_RKEY_VIOLATION;
	ret = rxe_odp_word(mr, iova, rxe_odp_atomic_page, &a);
	if (ret == RESPST_NONE)
		*orig_val = a.orig;
	return ret;
}

static void rxe_odp_atomic_write_page(void *kaddr, unsigned int len,
				      void *arg)
{
	/* after all prior operations, as rxe does for pinned MRs */
	smp_store_release((u64 *)kaddr, *(u64 *)arg);
}

enum resp_states rxe_odp_do_atomic_write(struct rxe_mr *mr, u64 iova,
					 u64 value)
{
	return rxe_odp_word(mr, iova, rxe_odp_atomic_write_page, &value);
}

static void rxe_odp_flush_page(void *kaddr, unsigned int len, void *arg)
{
	arch_wb_cache_pmem(kaddr, len);
}

/*
 * The entries of [@va, @end) that are present, written back without a
 * fault: what an implicit MR holds of a range it covers. One chunk of the
 * table per access, which bounds the time an invalidation may wait.
 */
static int rxe_odp_flush_present(struct rxe_odp *odp, unsigned long va,
				 unsigned long end)
{
	unsigned long index = va >> RXE_ODP_CHUNK_SHIFT;
	unsigned long last = (end - 1) >> RXE_ODP_CHUNK_SHIFT;
	struct rxe_odp_access access;
	struct rxe_odp_chunk *chunk;
	unsigned long entry, from, to;
	struct page *page;
	void *kaddr;
	int err;

	while (index <= last) {
		err = rxe_odp_access_begin(&odp->table, &access);
		if (err)
			return err;
		/* a chunk stays allocated while an access may read it */
		chunk = xa_find(&odp->table.chunks, &index, last, XA_PRESENT);
		if (!chunk) {
			rxe_odp_access_end(&odp->table, &access);
			break;
		}
		from = max(va, index << RXE_ODP_CHUNK_SHIFT);
		to = min(end - 1, (index << RXE_ODP_CHUNK_SHIFT) |
				  (BIT(RXE_ODP_CHUNK_SHIFT) - 1)) + 1;
		for (; from < to; from = (from | ~PAGE_MASK) + 1) {
			entry = rxe_odp_chunk_entry(chunk, from);
			if (!(entry & HMM_PFN_VALID))
				continue;
			page = hmm_pfn_to_page(entry);
			if (is_device_private_page(page))
				page = rxe_devmem_backing(page);
			kaddr = kmap_local_page(page);
			arch_wb_cache_pmem(kaddr + offset_in_page(from),
					   min(to - from,
					       PAGE_SIZE - offset_in_page(from)));
			kunmap_local(kaddr);
		}
		rxe_odp_access_end(&odp->table, &access);
		if (index == last)
			break;
		index++;
		cond_resched();
	}
	return 0;
}

int rxe_odp_flush_pmem_iova(struct rxe_mr *mr, u64 iova, u64 length)
{
	struct rxe_odp *odp = to_odp(mr);
	unsigned long va = rxe_odp_iova_to_va(odp, iova);

	/*
	 * An implicit MR covers the address space, most of it unmapped,
	 * and a FLUSH of the whole MR names all of it: flush what the MR
	 * maps. A page written through the MR and gone from the table
	 * since was written back when the write placed its data
	 * (odp->write_back: a persistent FLUSH needs an MR that allows it).
	 */
	if (odp->implicit) {
		/*
		 * With no region mapped, no notifier of the MR sees the
		 * mm's release, which fences the table: fail here once the
		 * mm is gone, as every fault does.
		 */
		if (!atomic_read(&odp->mm->mm_users))
			return -EFAULT;
		return rxe_odp_flush_present(odp, max(va, odp->start),
					     min_t(u64, va + length - 1,
						   odp->end - 1) + 1);
	}
	/* a flush never modifies memory; read access suffices */
	return rxe_odp_walk(odp, va, length, false, rxe_odp_flush_page, NULL);
}
