// SPDX-License-Identifier: GPL-2.0
/*
 * Fault-and-migrate on rxe_hmm through real verbs: RDMA into an ODP MR
 * moves its pages into the device's emulated memory, the CPU touching
 * them moves them back, and every byte survives either way. Device
 * residency is read from the device's counters (devmem_used_pages and
 * friends), as "rdma statistic" shows them.
 *
 * The runner runs this program once per migration path (the unified
 * walk of our mm series and the two-step fallback, chosen by rxe_hmm's
 * migrate_two_step debug knob).
 *
 * Environment: RXE_HMM_DEV (device), RXE_HMM_GID (its GID index);
 * RXE_HMM_REMOVABLE_DEV, RXE_HMM_REMOVABLE_GID: a device the test that
 * removes one deletes.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "rdma.h"

#define MR_PAGES	64
#define MR_LEN		(MR_PAGES * PAGE)
#define THP_SIZE	(2UL << 20)
/* device memory of the eviction case, and its working set */
#define SMALL_MB	2
#define BIG_LEN		(4 * SMALL_MB * (1UL << 20))

#define ODP_RW	(IBV_ACCESS_ON_DEMAND | IBV_ACCESS_LOCAL_WRITE | \
		 IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)

static int attr_write(const char *dev, const char *attr, const char *value)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/infiniband/%s/%s", dev, attr);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs(value, f);
	return fclose(f) ? -errno : 0;
}

static int dev_attr_write(const char *attr, const char *value)
{
	return attr_write(getenv("RXE_HMM_DEV"), attr, value);
}

/* Pages of the device memory holding data now. */
static long long used(void)
{
	return counter("devmem_used_pages");
}

/* Waits (a little) for the device memory to hold @want pages. */
static long long used_settles(long long want)
{
	return settle(used, want);
}

/*
 * The engine's fault attributes (kernel/devmem.c, with the kernel's
 * CONFIG_FAULT_INJECTION_DEBUG_FS): allocations of device THPs' system
 * pages, and of single device pages' backing pages.
 */
#define FAIL_THP	"fail_alloc_thp"
#define FAIL_PAGE	"fail_alloc_page"

/* @file of @attr, a fault attribute: rxe_hmm's by name, or a path. */
static void fail_path(char *path, size_t size, const char *attr,
		      const char *file)
{
	snprintf(path, size, "%s%s/%s",
		 attr[0] == '/' ? "" : "/sys/kernel/debug/rxe_hmm/", attr,
		 file);
}

static int fail_write(const char *attr, const char *file, long value)
{
	char path[256];
	FILE *f;

	fail_path(path, sizeof(path), attr, file);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "%ld\n", value);
	return fclose(f) ? -errno : 0;
}

/* Fails the allocations of @attr after the first @pass, @times of them. */
static int fail_arm(const char *attr, long pass, long times)
{
	/* verbose 0: no stack dump, which the runner would take for a splat */
	return fail_write(attr, "verbose", 0) ?:
	       fail_write(attr, "space", pass + 1) ?:
	       fail_write(attr, "times", times) ?:
	       fail_write(attr, "probability", 100);
}

static void fail_disarm(const char *attr)
{
	fail_write(attr, "probability", 0);
	fail_write(attr, "space", 0);
	fail_write(attr, "times", 1);
}

/* How many failures @attr has still to inject; -errno. */
static long fail_left(const char *attr)
{
	char path[256];
	long v = -1;
	FILE *f;

	fail_path(path, sizeof(path), attr, "times");
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (fscanf(f, "%ld", &v) != 1)
		v = -EINVAL;
	fclose(f);
	return v;
}

/*
 * The kernel's page allocator (CONFIG_FAIL_PAGE_ALLOC), for the calling
 * thread only: allocations of a THP's order and more fail, sleeping and
 * highmem ones too (GFP_HIGHUSER is both).
 */
#define FAIL_PAGE_ALLOC	"/sys/kernel/debug/fail_page_alloc"
#define THP_ORDER	9

static int fail_thp_allocs(long times)
{
	return fail_write(FAIL_PAGE_ALLOC, "task-filter", 1) ?:
	       fail_write(FAIL_PAGE_ALLOC, "min-order", THP_ORDER) ?:
	       fail_write(FAIL_PAGE_ALLOC, "ignore-gfp-wait", 0) ?:
	       fail_write(FAIL_PAGE_ALLOC, "ignore-gfp-highmem", 0) ?:
	       fail_write("/proc/thread-self", "make-it-fail", 1) ?:
	       fail_arm(FAIL_PAGE_ALLOC, 0, times);
}

static void fail_thp_allocs_stop(void)
{
	fail_write("/proc/thread-self", "make-it-fail", 0);
	fail_disarm(FAIL_PAGE_ALLOC);
}

FIXTURE(migrate)
{
	struct rdma r;
	uint8_t *mem;
	size_t len;
	struct ibv_mr *mr;
};

FIXTURE_SETUP(migrate)
{
	int err = rdma_open(&self->r, "RXE_HMM_DEV", "RXE_HMM_GID", BIG_LEN);

	/* migrate-tests.py always sets up the device: no skip */
	ASSERT_EQ(0, err) TH_LOG("RXE_HMM_DEV/RXE_HMM_GID: %s", strerror(-err));
	ASSERT_EQ(0, dev_attr_write("migrate_policy", "on-fault"));
	/* nothing resident from an earlier case */
	ASSERT_EQ(0, used_settles(0));
	self->len = MR_LEN;
	self->mem = map_anon(MR_LEN, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, self->mem);
	self->mr = ibv_reg_mr(self->r.v.pd, self->mem, MR_LEN, ODP_RW);
	ASSERT_NE(NULL, self->mr) TH_LOG("ibv_reg_mr: %s", strerror(errno));
}

FIXTURE_TEARDOWN(migrate)
{
	if (self->mr)
		ibv_dereg_mr(self->mr);
	dev_attr_write("migrate_policy", "off");
	dev_attr_write("devmem_size_mb", "256");
	fail_disarm(FAIL_THP);
	fail_disarm(FAIL_PAGE);
	fail_thp_allocs_stop();
}

static int write_mem(struct rdma *r, uint8_t *mem, size_t len, uint32_t rkey)
{
	return rdma_write(r, 0, len, (uintptr_t)mem, rkey);
}

static int read_mem(struct rdma *r, uint8_t *mem, size_t len, uint32_t rkey)
{
	memset(r->buf, 0xee, len);
	return rdma_read(r, 0, len, (uintptr_t)mem, rkey);
}

/*
 * A remote write into memory the process never touched: every page moves
 * to the device (the empty ones without being faulted in first on the
 * unified path); the CPU reading them brings each back, bytes intact.
 */
TEST_F(migrate, write_then_cpu_read)
{
	long long moved = counter("odp_migrated_pages");
	long long back = counter("devmem_cpu_fault_pages");

	fill(self->r.buf, MR_LEN, 1);
	ASSERT_EQ(IBV_WC_SUCCESS, write_mem(&self->r, self->mem, MR_LEN,
					    self->mr->rkey));
	EXPECT_EQ(MR_PAGES, counter("odp_migrated_pages") - moved);
	EXPECT_EQ(MR_PAGES, used());
	ASSERT_EQ(0, memcmp(self->mem, self->r.buf, MR_LEN));
	EXPECT_EQ(MR_PAGES, counter("devmem_cpu_fault_pages") - back);
	EXPECT_EQ(0, used_settles(0));
}

/*
 * The reverse: the CPU writes, a remote read moves the pages to the
 * device and returns them; a second read is served in place; a CPU write
 * brings them back and the next remote read sees it.
 */
TEST_F(migrate, cpu_write_then_read)
{
	long long moved = counter("odp_migrated_pages");
	/* the peer's buffer past the MR's length holds what is expected */
	uint8_t *expect = self->r.buf + MR_LEN;
	long long faults;

	fill(self->mem, MR_LEN, 2);
	fill(expect, MR_LEN, 2);
	ASSERT_EQ(IBV_WC_SUCCESS, read_mem(&self->r, self->mem, MR_LEN,
					   self->mr->rkey));
	ASSERT_EQ(0, memcmp(self->r.buf, expect, MR_LEN));
	EXPECT_EQ(MR_PAGES, counter("odp_migrated_pages") - moved);
	EXPECT_EQ(MR_PAGES, used());

	/* resident and mapped: served in place, without a fault */
	faults = counter("odp_faults");
	ASSERT_EQ(IBV_WC_SUCCESS, read_mem(&self->r, self->mem, MR_LEN,
					   self->mr->rkey));
	ASSERT_EQ(0, memcmp(self->r.buf, expect, MR_LEN));
	EXPECT_EQ(faults, counter("odp_faults"));

	fill(self->mem, MR_LEN, 3);
	EXPECT_EQ(0, used_settles(0));
	fill(expect, MR_LEN, 3);
	ASSERT_EQ(IBV_WC_SUCCESS, read_mem(&self->r, self->mem, MR_LEN,
					   self->mr->rkey));
	ASSERT_EQ(0, memcmp(self->r.buf, expect, MR_LEN));
	ASSERT_EQ(0, memcmp(self->mem, expect, MR_LEN));
}

/* Policy off: ODP faults map system memory and nothing moves. */
TEST_F(migrate, policy_off)
{
	long long moved = counter("odp_migrated_pages");
	struct ibv_mr *mr;

	ASSERT_EQ(0, dev_attr_write("migrate_policy", "off"));
	/* the policy is the MR's, taken from the device at registration */
	mr = ibv_reg_mr(self->r.v.pd, self->mem, MR_LEN, ODP_RW);
	ASSERT_NE(NULL, mr);
	fill(self->r.buf, MR_LEN, 4);
	ASSERT_EQ(IBV_WC_SUCCESS, write_mem(&self->r, self->mem, MR_LEN,
					    mr->rkey));
	EXPECT_EQ(0, counter("odp_migrated_pages") - moved);
	EXPECT_EQ(0, used());
	ASSERT_EQ(0, memcmp(self->mem, self->r.buf, MR_LEN));
	ASSERT_EQ(0, ibv_dereg_mr(mr));
}

/* Policy prefetch-only: faults do not move pages, a prefetch does. */
TEST_F(migrate, prefetch_only)
{
	long long moved = counter("odp_migrated_pages");
	struct ibv_sge sge;
	struct ibv_mr *mr;

	ASSERT_EQ(0, dev_attr_write("migrate_policy", "prefetch-only"));
	mr = ibv_reg_mr(self->r.v.pd, self->mem, MR_LEN, ODP_RW);
	ASSERT_NE(NULL, mr);
	fill(self->r.buf, MR_LEN, 5);
	ASSERT_EQ(IBV_WC_SUCCESS, write_mem(&self->r, self->mem, MR_LEN / 2,
					    mr->rkey));
	EXPECT_EQ(0, counter("odp_migrated_pages") - moved);
	EXPECT_EQ(0, used());

	sge.addr = (uintptr_t)self->mem;
	sge.length = MR_LEN;
	sge.lkey = mr->lkey;
	ASSERT_EQ(0, ibv_advise_mr(self->r.v.pd,
				   IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
				   IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1));
	EXPECT_EQ(MR_PAGES, counter("odp_migrated_pages") - moved);
	EXPECT_EQ(MR_PAGES, used());
	ASSERT_EQ(IBV_WC_SUCCESS,
		  rdma_write(&self->r, MR_LEN / 2, MR_LEN / 2,
			     (uintptr_t)self->mem + MR_LEN / 2, mr->rkey));
	ASSERT_EQ(0, memcmp(self->mem, self->r.buf, MR_LEN));
	ASSERT_EQ(0, ibv_dereg_mr(mr));
}

/*
 * A prefetch of more than the device memory holds: the pages that find
 * no room are faulted into system memory, so every page of the range is
 * present afterwards and an RDMA write over it faults nothing. The
 * unified walk collects holes for migration without faulting them; one
 * left without a device page used to stay a hole (issue 16, defect 6).
 */
TEST_F(migrate, prefetch_beyond_device_memory)
{
	size_t len = 4UL << 20;
	long long faults;
	struct ibv_sge sge;
	struct ibv_mr *mr;
	uint8_t *mem;

	/* the smallest device memory: half of what one prefetch fault asks */
	ASSERT_EQ(0, dev_attr_write("devmem_size_mb", "2"));
	mem = map_anon(len, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, mem);
	mr = ibv_reg_mr(self->r.v.pd, mem, len, ODP_RW);
	ASSERT_NE(NULL, mr);
	sge.addr = (uintptr_t)mem;
	sge.length = len;
	sge.lkey = mr->lkey;
	ASSERT_EQ(0, ibv_advise_mr(self->r.v.pd,
				   IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
				   IBV_ADVISE_MR_FLAG_FLUSH, &sge, 1));
	EXPECT_LT(0, used());
	EXPECT_GE(512, used());
	faults = counter("odp_faults");
	fill(self->r.buf, len, 16);
	ASSERT_EQ(IBV_WC_SUCCESS, rdma_write(&self->r, 0, len, (uintptr_t)mem,
					     mr->rkey));
	EXPECT_EQ(0, counter("odp_faults") - faults)
		TH_LOG("the write faulted pages the prefetch left out");
	ASSERT_EQ(0, memcmp(mem, self->r.buf, len));
	ASSERT_EQ(0, ibv_dereg_mr(mr));
	ASSERT_EQ(0, munmap(mem, len));
}

struct cpu_worker {
	uint8_t *mem;
	unsigned int seed;
	atomic_int *stop;
	int bad;
};

#define CONC_PAGES	MR_PAGES

/* Writes and checks the odd pages, while RDMA works on the even ones. */
static void *cpu_pages(void *arg)
{
	struct cpu_worker *w = arg;
	uint8_t expect[PAGE];
	unsigned int round = 0, p;

	while (!atomic_load(w->stop)) {
		for (p = 1; p < CONC_PAGES; p += 2) {
			fill(expect, PAGE, w->seed + round + p);
			memcpy(w->mem + p * PAGE, expect, PAGE);
		}
		for (p = 1; p < CONC_PAGES; p += 2) {
			fill(expect, PAGE, w->seed + round + p);
			if (memcmp(w->mem + p * PAGE, expect, PAGE))
				w->bad++;
		}
		round++;
	}
	return NULL;
}

/*
 * RDMA writes and reads the even pages while a CPU thread writes and
 * checks the odd ones: fault readahead moves the thread's pages to the
 * device under it, and its touches bring them back, over and over.
 */
TEST_F_TIMEOUT(migrate, concurrent_cpu, 300)
{
	long long back = counter("devmem_cpu_fault_pages");
	atomic_int stop = 0;
	struct cpu_worker w = { .mem = self->mem, .seed = 7, .stop = &stop };
	uint8_t *expect = malloc(PAGE);
	unsigned int i, p;
	pthread_t t;

	ASSERT_NE(NULL, expect);
	ASSERT_EQ(0, pthread_create(&t, NULL, cpu_pages, &w));
	for (i = 0; i < 40; i++) {
		for (p = 0; p < CONC_PAGES; p += 2) {
			fill(self->r.buf + p * PAGE, PAGE, 100 + i + p);
			ASSERT_EQ(IBV_WC_SUCCESS,
				  rdma_write(&self->r, p * PAGE, PAGE,
					     (uintptr_t)self->mem + p * PAGE,
					     self->mr->rkey));
		}
		for (p = 0; p < CONC_PAGES; p += 2) {
			memset(self->r.buf + p * PAGE, 0, PAGE);
			ASSERT_EQ(IBV_WC_SUCCESS,
				  rdma_read(&self->r, p * PAGE, PAGE,
					    (uintptr_t)self->mem + p * PAGE,
					    self->mr->rkey));
			fill(expect, PAGE, 100 + i + p);
			ASSERT_EQ(0, memcmp(self->r.buf + p * PAGE, expect,
					    PAGE))
				TH_LOG("round %u page %u", i, p);
		}
	}
	atomic_store(&stop, 1);
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, w.bad);
	/* the thread's pages did move, and came back */
	EXPECT_LT(back, counter("devmem_cpu_fault_pages"));
	for (p = 0; p < CONC_PAGES; p += 2) {
		fill(expect, PAGE, 100 + 39 + p);
		ASSERT_EQ(0, memcmp(self->mem + p * PAGE, expect, PAGE));
	}
	free(expect);
}

/* munmap() of device-resident pages frees their device memory. */
TEST_F(migrate, munmap)
{
	fill(self->r.buf, MR_LEN, 8);
	ASSERT_EQ(IBV_WC_SUCCESS, write_mem(&self->r, self->mem, MR_LEN,
					    self->mr->rkey));
	EXPECT_EQ(MR_PAGES, used());
	ASSERT_EQ(0, munmap(self->mem, MR_LEN));
	EXPECT_EQ(0, used_settles(0));
	/* and the MR over the hole fails the access, without a splat */
	EXPECT_EQ(IBV_WC_REM_ACCESS_ERR, write_mem(&self->r, self->mem, PAGE,
						   self->mr->rkey));
}

/* mprotect() read-only and back, with the pages on the device. */
TEST_F(migrate, mprotect)
{
	fill(self->r.buf, MR_LEN, 9);
	ASSERT_EQ(IBV_WC_SUCCESS, write_mem(&self->r, self->mem, MR_LEN,
					    self->mr->rkey));
	ASSERT_EQ(0, mprotect(self->mem, MR_LEN, PROT_READ));
	EXPECT_EQ(IBV_WC_REM_ACCESS_ERR, write_mem(&self->r, self->mem, PAGE,
						   self->mr->rkey));
	ASSERT_EQ(0, rdma_reconnect(&self->r));
	ASSERT_EQ(IBV_WC_SUCCESS, read_mem(&self->r, self->mem, MR_LEN,
					   self->mr->rkey));
	fill(self->r.buf + MR_LEN, MR_LEN, 9);
	ASSERT_EQ(0, memcmp(self->r.buf, self->r.buf + MR_LEN, MR_LEN));
	ASSERT_EQ(0, memcmp(self->mem, self->r.buf, MR_LEN));
	ASSERT_EQ(0, mprotect(self->mem, MR_LEN, PROT_READ | PROT_WRITE));
	fill(self->r.buf, MR_LEN, 10);
	ASSERT_EQ(IBV_WC_SUCCESS, write_mem(&self->r, self->mem, MR_LEN,
					    self->mr->rkey));
	ASSERT_EQ(0, memcmp(self->mem, self->r.buf, MR_LEN));
	ASSERT_EQ(0, munmap(self->mem, MR_LEN));
	EXPECT_EQ(0, used_settles(0));
}

/*
 * An RDMA write, then an RDMA read that checks it, with no CPU access in
 * between: pages that are on the device stay there, as the CPU is what
 * would move them back.
 */
static void write_and_check(struct __test_metadata *_metadata,
			    FIXTURE_DATA(migrate) *self, int seed)
{
	fill(self->r.buf, MR_LEN, seed);
	ASSERT_EQ(IBV_WC_SUCCESS, write_mem(&self->r, self->mem, MR_LEN,
					    self->mr->rkey));
	memset(self->r.buf + MR_LEN, 0xee, MR_LEN);
	ASSERT_EQ(IBV_WC_SUCCESS, rdma_read(&self->r, MR_LEN, MR_LEN,
					    (uintptr_t)self->mem,
					    self->mr->rkey));
	ASSERT_EQ(0, memcmp(self->r.buf, self->r.buf + MR_LEN, MR_LEN));
}

/*
 * Read-only and back, with no CPU access between: change_protection()
 * leaves the device entries read-only, and the next RDMA write must get
 * them writable again rather than fail (issue 16, defect 3).
 */
TEST_F(migrate, mprotect_back_then_write)
{
	write_and_check(_metadata, self, 53);
	EXPECT_EQ(MR_PAGES, used());
	ASSERT_EQ(0, mprotect(self->mem, MR_LEN, PROT_READ));
	ASSERT_EQ(0, mprotect(self->mem, MR_LEN, PROT_READ | PROT_WRITE));
	write_and_check(_metadata, self, 54);
	ASSERT_EQ(0, memcmp(self->mem, self->r.buf, MR_LEN));
}

/*
 * fork() shares the device pages read-only: the parent's RDMA write must
 * break COW and succeed, and the child, which waits until then, still
 * sees what was there at the fork.
 */
TEST_F(migrate, fork_then_write)
{
	uint8_t *expect = malloc(MR_LEN);
	int status, go[2];
	char c;
	pid_t pid;

	ASSERT_NE(NULL, expect);
	write_and_check(_metadata, self, 55);
	memcpy(expect, self->r.buf, MR_LEN);
	EXPECT_EQ(MR_PAGES, used());
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* else a parent that fails first leaves us waiting forever */
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(memcmp(self->mem, expect, MR_LEN) ? 1 : 0);
	}
	write_and_check(_metadata, self, 56);
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("the child's copy changed");
	ASSERT_EQ(0, memcmp(self->mem, self->r.buf, MR_LEN));
	free(expect);
}

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL	102
#endif

/*
 * A migrating fault's readahead needs none of its pages either: an RDMA
 * write that ends just before a guard page, into memory never touched,
 * succeeds and lands (issue 16, defect 5, on the migrating paths).
 */
TEST_F(migrate, readahead_past_guard)
{
	ASSERT_EQ(0, madvise(self->mem + 2 * PAGE, PAGE, MADV_GUARD_INSTALL))
		TH_LOG("MADV_GUARD_INSTALL: %s", strerror(errno));
	fill(self->r.buf, 100, 57);
	EXPECT_EQ(IBV_WC_SUCCESS, write_mem(&self->r,
					    self->mem + 2 * PAGE - 100, 100,
					    self->mr->rkey));
	EXPECT_EQ(0, memcmp(self->mem + 2 * PAGE - 100, self->r.buf, 100));
	ASSERT_EQ(0, rdma_reconnect(&self->r));
	EXPECT_EQ(IBV_WC_REM_ACCESS_ERR,
		  write_mem(&self->r, self->mem + 2 * PAGE, 8,
			    self->mr->rkey));
}

/*
 * fork() with the pages on the device: the child sees the data, the
 * parent's next RDMA write lands in the parent's copy only.
 */
TEST_F(migrate, fork)
{
	uint8_t *expect = malloc(MR_LEN);
	int status;
	pid_t pid;

	ASSERT_NE(NULL, expect);
	fill(self->r.buf, MR_LEN, 11);
	memcpy(expect, self->r.buf, MR_LEN);
	ASSERT_EQ(IBV_WC_SUCCESS, write_mem(&self->r, self->mem, MR_LEN,
					    self->mr->rkey));
	EXPECT_EQ(MR_PAGES, used());
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(memcmp(self->mem, expect, MR_LEN) ? 1 : 0);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));

	fill(self->r.buf, MR_LEN, 12);
	ASSERT_EQ(IBV_WC_SUCCESS, write_mem(&self->r, self->mem, MR_LEN,
					    self->mr->rkey));
	ASSERT_EQ(0, memcmp(self->mem, self->r.buf, MR_LEN));
	ASSERT_EQ(0, munmap(self->mem, MR_LEN));
	EXPECT_EQ(0, used_settles(0));
	free(expect);
}

/*
 * A process that exits with its pages on the device, its MR and QPs
 * still open: device memory in use returns to zero.
 */
TEST_F(migrate, process_exit)
{
	int status, fds[2];
	long long seen = -1;
	pid_t pid;

	ASSERT_EQ(0, pipe(fds));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct rdma r;
		struct ibv_mr *mr;
		uint8_t *mem;

		if (rdma_open(&r, "RXE_HMM_DEV", "RXE_HMM_GID", MR_LEN))
			_exit(2);
		mem = map_anon(MR_LEN, PROT_READ | PROT_WRITE);
		mr = mem ? ibv_reg_mr(r.v.pd, mem, MR_LEN, ODP_RW) : NULL;
		if (!mr)
			_exit(3);
		fill(r.buf, MR_LEN, 13);
		if (write_mem(&r, mem, MR_LEN, mr->rkey) != IBV_WC_SUCCESS)
			_exit(4);
		seen = used();
		if (write(fds[1], &seen, sizeof(seen)) != sizeof(seen))
			_exit(5);
		_exit(0);
	}
	close(fds[1]);
	ASSERT_EQ(sizeof(seen), read(fds[0], &seen, sizeof(seen)));
	close(fds[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(MR_PAGES, seen);
	EXPECT_EQ(0, used_settles(0));
}

/*
 * A working set four times the device memory: the least recently used
 * pages go back to system memory, every write still lands, and every
 * byte reads back both by RDMA and by the CPU.
 */
TEST_F_TIMEOUT(migrate, evict, 300)
{
	long long evicted = counter("devmem_evicted_pages");
	size_t chunk = 1UL << 20, off;
	struct ibv_mr *mr;
	uint8_t *mem;

	ASSERT_EQ(0, dev_attr_write("devmem_size_mb", "2"));
	mem = map_anon(BIG_LEN, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, mem);
	mr = ibv_reg_mr(self->r.v.pd, mem, BIG_LEN, ODP_RW);
	ASSERT_NE(NULL, mr);
	fill(self->r.buf, BIG_LEN, 14);
	for (off = 0; off < BIG_LEN; off += chunk) {
		ASSERT_EQ(IBV_WC_SUCCESS,
			  rdma_write(&self->r, off, chunk,
				     (uintptr_t)mem + off, mr->rkey));
		EXPECT_GE(SMALL_MB * 256, used());
	}
	EXPECT_LE(BIG_LEN / PAGE - SMALL_MB * 256,
		  counter("devmem_evicted_pages") - evicted);
	for (off = 0; off < BIG_LEN; off += chunk) {
		memset(self->r.buf, 0, chunk);
		ASSERT_EQ(IBV_WC_SUCCESS,
			  rdma_read(&self->r, 0, chunk, (uintptr_t)mem + off,
				    mr->rkey));
		ASSERT_EQ(0, memcmp(self->r.buf, mem + off, chunk))
			TH_LOG("MiB %zu", off / chunk);
	}
	fill(self->r.buf, BIG_LEN, 14);
	ASSERT_EQ(0, memcmp(mem, self->r.buf, BIG_LEN));
	ASSERT_EQ(0, ibv_dereg_mr(mr));
	ASSERT_EQ(0, munmap(mem, BIG_LEN));
}

/*
 * Resizing the device memory moves every resident page back first: no
 * CPU fault is needed afterwards and no byte is lost.
 */
TEST_F(migrate, resize_migrates_back)
{
	long long back = counter("devmem_cpu_fault_pages");
	long long torn = counter("devmem_teardown_pages");

	fill(self->r.buf, MR_LEN, 15);
	ASSERT_EQ(IBV_WC_SUCCESS, write_mem(&self->r, self->mem, MR_LEN,
					    self->mr->rkey));
	EXPECT_EQ(MR_PAGES, used());
	ASSERT_EQ(0, dev_attr_write("devmem_size_mb", "128"));
	EXPECT_EQ(MR_PAGES, counter("devmem_teardown_pages") - torn);
	EXPECT_EQ(0, used());
	ASSERT_EQ(0, memcmp(self->mem, self->r.buf, MR_LEN));
	EXPECT_EQ(back, counter("devmem_cpu_fault_pages"));
	/* and bad sizes are refused */
	EXPECT_EQ(-EINVAL, dev_attr_write("devmem_size_mb", "1"));
	EXPECT_EQ(-EINVAL, dev_attr_write("devmem_size_mb", "lots"));
	EXPECT_EQ(-EINVAL, dev_attr_write("migrate_policy", "sometimes"));
}

/* A PMD-aligned MADV_HUGEPAGE range of THP_SIZE; NULL on failure. */
static uint8_t *map_thp(void **raw)
{
	uint8_t *p;

	*raw = map_anon(2 * THP_SIZE, PROT_READ | PROT_WRITE);
	if (!*raw)
		return NULL;
	p = (uint8_t *)(((uintptr_t)*raw + THP_SIZE - 1) & ~(THP_SIZE - 1));
	return madvise(p, THP_SIZE, MADV_HUGEPAGE) ? NULL : p;
}

/*
 * A THP under a remote read moves as one device THP, and comes back as
 * a whole when the CPU touches it; every byte survives.
 */
TEST_F_TIMEOUT(migrate, thp_whole, 300)
{
	long long moved = counter("odp_migrated_pages");
	long long thps = counter("odp_migrated_thps");
	long long back = counter("devmem_cpu_fault_pages");
	uint8_t *thp, *expect = self->r.buf + THP_SIZE;
	struct ibv_mr *mr;
	void *raw;

	thp = map_thp(&raw);
	ASSERT_NE(NULL, thp);
	fill(thp, THP_SIZE, 16);
	fill(expect, THP_SIZE, 16);
	mr = ibv_reg_mr(self->r.v.pd, thp, THP_SIZE, ODP_RW);
	ASSERT_NE(NULL, mr);
	ASSERT_EQ(IBV_WC_SUCCESS, read_mem(&self->r, thp, THP_SIZE, mr->rkey));
	ASSERT_EQ(0, memcmp(self->r.buf, expect, THP_SIZE));
	EXPECT_EQ(1, counter("odp_migrated_thps") - thps);
	EXPECT_EQ(THP_SIZE / PAGE, counter("odp_migrated_pages") - moved);
	EXPECT_EQ(THP_SIZE / PAGE, used());
	/* one CPU fault brings all of it back */
	ASSERT_EQ(expect[4097], thp[4097]);
	EXPECT_EQ(THP_SIZE / PAGE, counter("devmem_cpu_fault_pages") - back);
	EXPECT_EQ(0, used_settles(0));
	ASSERT_EQ(0, memcmp(thp, expect, THP_SIZE));
	ASSERT_EQ(0, ibv_dereg_mr(mr));
	ASSERT_EQ(0, munmap(raw, 2 * THP_SIZE));
}

/*
 * A remote write into an untouched THP-sized range: one device THP;
 * a munmap() of half of it, and CPU reads of the other half, split it
 * without losing a byte or a device page.
 */
TEST_F_TIMEOUT(migrate, thp_empty_then_split, 300)
{
	long long thps = counter("odp_migrated_thps");
	uint8_t *thp;
	struct ibv_mr *mr;
	void *raw;

	thp = map_thp(&raw);
	ASSERT_NE(NULL, thp);
	mr = ibv_reg_mr(self->r.v.pd, thp, THP_SIZE, ODP_RW);
	ASSERT_NE(NULL, mr);
	fill(self->r.buf, THP_SIZE, 19);
	ASSERT_EQ(IBV_WC_SUCCESS, write_mem(&self->r, thp, THP_SIZE,
					    mr->rkey));
	EXPECT_EQ(1, counter("odp_migrated_thps") - thps);
	EXPECT_EQ(THP_SIZE / PAGE, used());
	/* the device THP is split; the CPU brings the rest back page by page */
	ASSERT_EQ(0, munmap(thp, THP_SIZE / 2));
	ASSERT_EQ(0, memcmp(thp + THP_SIZE / 2, self->r.buf + THP_SIZE / 2,
			    THP_SIZE / 2));
	EXPECT_EQ(0, used_settles(0));
	ASSERT_EQ(0, ibv_dereg_mr(mr));
	ASSERT_EQ(0, munmap(raw, 2 * THP_SIZE));
}

/*
 * An untouched THP-sized range, collected whole, whose device THP cannot
 * be had and whose single device pages run out after three (both
 * injected): none of the block moves at once, the write lands, every
 * byte intact.
 */
TEST_F_TIMEOUT(migrate, thp_empty_without_device_pages, 300)
{
	uint8_t *thp;
	struct ibv_mr *mr;
	void *raw;

	thp = map_thp(&raw);
	ASSERT_NE(NULL, thp);
	mr = ibv_reg_mr(self->r.v.pd, thp, THP_SIZE, ODP_RW);
	ASSERT_NE(NULL, mr);
	if (fail_arm(FAIL_THP, 0, 1) || fail_arm(FAIL_PAGE, 3, 1))
		SKIP(return, "no rxe_hmm fault injection (CONFIG_FAULT_INJECTION_DEBUG_FS)");
	fill(self->r.buf, THP_SIZE, 24);
	ASSERT_EQ(IBV_WC_SUCCESS, write_mem(&self->r, thp, THP_SIZE,
					    mr->rkey));
	/* both failures were injected */
	EXPECT_EQ(0, fail_left(FAIL_THP));
	EXPECT_EQ(0, fail_left(FAIL_PAGE));
	ASSERT_EQ(0, memcmp(thp, self->r.buf, THP_SIZE));
	EXPECT_EQ(0, used_settles(0));
	ASSERT_EQ(0, ibv_dereg_mr(mr));
	ASSERT_EQ(0, munmap(raw, 2 * THP_SIZE));
}

/*
 * Device memory of one THP, two THP-sized ranges written in turn: the
 * second finds no whole free block, moves page by page and evicts the
 * first device THP as a whole; a resize then moves what is left back.
 * Every byte survives.
 */
TEST_F_TIMEOUT(migrate, thp_evict_and_teardown, 300)
{
	long long evicted = counter("devmem_evicted_pages");
	long long torn = counter("devmem_teardown_pages");
	uint8_t *thp[2], *expect = self->r.buf + 2 * THP_SIZE;
	struct ibv_mr *mr[2];
	void *raw[2];
	int i;

	ASSERT_EQ(0, dev_attr_write("devmem_size_mb", "2"));
	for (i = 0; i < 2; i++) {
		thp[i] = map_thp(&raw[i]);
		ASSERT_NE(NULL, thp[i]);
		mr[i] = ibv_reg_mr(self->r.v.pd, thp[i], THP_SIZE, ODP_RW);
		ASSERT_NE(NULL, mr[i]);
		fill(self->r.buf + i * THP_SIZE, THP_SIZE, 20 + i);
		ASSERT_EQ(IBV_WC_SUCCESS,
			  rdma_write(&self->r, i * THP_SIZE, THP_SIZE,
				     (uintptr_t)thp[i], mr[i]->rkey));
		EXPECT_GE(THP_SIZE / PAGE, used());
	}
	EXPECT_LE(THP_SIZE / PAGE, counter("devmem_evicted_pages") - evicted);
	ASSERT_EQ(0, dev_attr_write("devmem_size_mb", "256"));
	EXPECT_LT(torn, counter("devmem_teardown_pages"));
	EXPECT_EQ(0, used());
	for (i = 0; i < 2; i++) {
		fill(expect, THP_SIZE, 20 + i);
		ASSERT_EQ(0, memcmp(thp[i], expect, THP_SIZE)) TH_LOG("THP %d", i);
		ASSERT_EQ(0, ibv_dereg_mr(mr[i]));
		ASSERT_EQ(0, munmap(raw[i], 2 * THP_SIZE));
	}
}

/*
 * A device THP goes back on a resize while no THP can be allocated
 * (fail_page_alloc, for this thread, which writes the size): it moves
 * onto its own backing folio, so the resize tries no allocation of that
 * order, completes, and every byte survives. (It was left in place and
 * the resize retried, warning after 1000 rounds, until the injected
 * failures ran out.)
 */
TEST_F_TIMEOUT(migrate, thp_teardown_without_thp_memory, 300)
{
	const long fails = 5000;
	long long thps = counter("odp_migrated_thps");
	long long torn = counter("devmem_teardown_pages");
	struct ibv_mr *mr;
	uint8_t *thp;
	void *raw;
	long left;
	int err;

	thp = map_thp(&raw);
	ASSERT_NE(NULL, thp);
	mr = ibv_reg_mr(self->r.v.pd, thp, THP_SIZE, ODP_RW);
	ASSERT_NE(NULL, mr);
	fill(self->r.buf, THP_SIZE, 26);
	ASSERT_EQ(IBV_WC_SUCCESS, write_mem(&self->r, thp, THP_SIZE,
					    mr->rkey));
	ASSERT_EQ(1, counter("odp_migrated_thps") - thps);
	ASSERT_EQ(THP_SIZE / PAGE, used());

	if (fail_thp_allocs(fails))
		SKIP(return, "no fail_page_alloc (CONFIG_FAIL_PAGE_ALLOC)");
	err = dev_attr_write("devmem_size_mb", "128");
	left = fail_left(FAIL_PAGE_ALLOC);
	fail_thp_allocs_stop();
	ASSERT_EQ(0, err);
	EXPECT_EQ(fails, left) TH_LOG("THP allocations failed: %ld",
				      fails - left);
	EXPECT_EQ(THP_SIZE / PAGE, counter("devmem_teardown_pages") - torn);
	EXPECT_EQ(0, used());
	ASSERT_EQ(0, memcmp(thp, self->r.buf, THP_SIZE));
	ASSERT_EQ(0, ibv_dereg_mr(mr));
	ASSERT_EQ(0, munmap(raw, 2 * THP_SIZE));
}

/*
 * Pages resident on one rxe_hmm device, accessed through another: the
 * second device's fault moves them back to system memory first (the
 * first device sees a CPU fault), then into its own memory.
 */
TEST(two_devices)
{
	const char *dev = getenv("RXE_HMM_DEV");
	const char *other = getenv("RXE_HMM_REMOVABLE_DEV");
	long long back = counter("devmem_cpu_fault_pages");
	struct ibv_mr *mr, *mr2;
	struct rdma r, r2;
	uint8_t *mem;

	ASSERT_NE(NULL, other) TH_LOG("no second device (RXE_HMM_REMOVABLE_DEV)");
	ASSERT_EQ(0, rdma_open(&r2, "RXE_HMM_REMOVABLE_DEV",
			       "RXE_HMM_REMOVABLE_GID", MR_LEN));
	ASSERT_EQ(0, rdma_open(&r, "RXE_HMM_DEV", "RXE_HMM_GID", MR_LEN));
	ASSERT_EQ(0, attr_write(dev, "migrate_policy", "on-fault"));
	ASSERT_EQ(0, attr_write(other, "migrate_policy", "on-fault"));
	mem = map_anon(MR_LEN, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, mem);
	mr = ibv_reg_mr(r.v.pd, mem, MR_LEN, ODP_RW);
	ASSERT_NE(NULL, mr);
	mr2 = ibv_reg_mr(r2.v.pd, mem, MR_LEN, ODP_RW);
	ASSERT_NE(NULL, mr2);

	fill(r.buf, MR_LEN, 18);
	ASSERT_EQ(IBV_WC_SUCCESS, write_mem(&r, mem, MR_LEN, mr->rkey));
	EXPECT_EQ(MR_PAGES, dev_counter(dev, "devmem_used_pages"));
	ASSERT_EQ(IBV_WC_SUCCESS, read_mem(&r2, mem, MR_LEN, mr2->rkey));
	ASSERT_EQ(0, memcmp(r2.buf, r.buf, MR_LEN));
	EXPECT_EQ(0, dev_counter(dev, "devmem_used_pages"));
	EXPECT_EQ(MR_PAGES, counter("devmem_cpu_fault_pages") - back);
	EXPECT_EQ(MR_PAGES, dev_counter(other, "devmem_used_pages"));

	ASSERT_EQ(0, ibv_dereg_mr(mr2));
	ASSERT_EQ(0, ibv_dereg_mr(mr));
	ASSERT_EQ(0, memcmp(mem, r.buf, MR_LEN));
	ASSERT_EQ(0, munmap(mem, MR_LEN));
	EXPECT_EQ(0, dev_counter(other, "devmem_used_pages"));
	attr_write(dev, "migrate_policy", "off");
}

/*
 * Removing a device whose memory holds an MR's pages: they go back to
 * the process, every byte intact.
 */
TEST(device_removed)
{
	const char *dev = getenv("RXE_HMM_REMOVABLE_DEV");
	struct ibv_mr *mr;
	struct rdma r;
	uint8_t *mem;
	char cmd[128];

	ASSERT_NE(NULL, dev) TH_LOG("no RXE_HMM_REMOVABLE_DEV to remove");
	ASSERT_EQ(0, rdma_open(&r, "RXE_HMM_REMOVABLE_DEV",
			       "RXE_HMM_REMOVABLE_GID", MR_LEN));
	ASSERT_EQ(0, attr_write(dev, "migrate_policy", "on-fault"));
	mem = map_anon(MR_LEN, PROT_READ | PROT_WRITE);
	ASSERT_NE(NULL, mem);
	mr = ibv_reg_mr(r.v.pd, mem, MR_LEN, ODP_RW);
	ASSERT_NE(NULL, mr);
	fill(r.buf, MR_LEN, 17);
	ASSERT_EQ(IBV_WC_SUCCESS, write_mem(&r, mem, MR_LEN, mr->rkey));
	EXPECT_EQ(MR_PAGES, dev_counter(dev, "devmem_used_pages"));

	snprintf(cmd, sizeof(cmd), "rdma link delete %s", dev);
	ASSERT_EQ(0, system(cmd));
	ASSERT_EQ(0, memcmp(mem, r.buf, MR_LEN));
}

TEST_HARNESS_MAIN
