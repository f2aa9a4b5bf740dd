// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * rxe_hmmdv: the direct verbs of rxe_hmm. Each one checks that it was
 * handed an rxe_hmm object before it talks to the kernel, and returns an
 * errno (or NULL with errno set), never crashes on bad input.
 */

#include <config.h>

#include <errno.h>
#include <string.h>

#include <ccan/minmax.h>
#include <infiniband/cmd_ioctl.h>
#include <rdma/ib_user_ioctl_cmds.h>
#include <util/compiler.h>
#include <util/util.h>

#include "rxe_hmm.h"

/* The public structures are the uAPI's, field for field. */
static_assert(sizeof(struct rxe_hmmdv_odp_counters) ==
		      sizeof(struct rxe_hmm_odp_counters),
	      "odp counters");
static_assert(offsetof(struct rxe_hmmdv_odp_counters, invalidate_ns) ==
		      offsetof(struct rxe_hmm_odp_counters, invalidate_ns),
	      "odp counters");
/* two enums, one set of values: compared as ints */
static_assert((int)RXE_HMMDV_MIGRATE_DEVICE_DEFAULT ==
			      (int)RXE_HMM_POLICY_DEVICE_DEFAULT &&
		      (int)RXE_HMMDV_MIGRATE_OFF == (int)RXE_HMM_POLICY_OFF &&
		      (int)RXE_HMMDV_MIGRATE_ON_FAULT ==
			      (int)RXE_HMM_POLICY_ON_FAULT &&
		      (int)RXE_HMMDV_MIGRATE_PREFETCH_ONLY ==
			      (int)RXE_HMM_POLICY_PREFETCH_ONLY,
	      "migration policies");
static_assert(sizeof(struct rxe_hmmdv_dev_counters) ==
		      sizeof(struct rxe_hmm_dev_counters),
	      "device counters");
static_assert(offsetof(struct rxe_hmmdv_dev_counters, odp_invalidate_ns) ==
		      offsetof(struct rxe_hmm_dev_counters, odp_invalidate_ns),
	      "device counters");

bool rxe_hmmdv_is_supported(struct ibv_device *device)
{
	return device && is_rxe_hmm_dev(device);
}

static bool rxe_hmmdv_ctx(struct ibv_context *context)
{
	return context && is_rxe_hmm_dev(context->device);
}

struct ibv_mr *rxe_hmmdv_reg_mr(struct ibv_pd *pd, void *addr, size_t length,
				uint64_t iova, unsigned int access,
				const struct rxe_hmmdv_reg_mr_attr *attr)
{
	enum rxe_hmmdv_migrate_policy policy = RXE_HMMDV_MIGRATE_DEVICE_DEFAULT;
	struct ibv_mr *mr;
	bool odp;

	if (!pd || !rxe_hmmdv_ctx(pd->context)) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	if (attr) {
		if (!check_comp_mask(attr->comp_mask,
				     RXE_HMMDV_REG_MR_ATTR_MIGRATE_POLICY)) {
			errno = EINVAL;
			return NULL;
		}
		if (attr->comp_mask & RXE_HMMDV_REG_MR_ATTR_MIGRATE_POLICY)
			policy = attr->migrate_policy;
	}
	/* what ibv_reg_mr() does around the provider's reg_mr */
	odp = access & IBV_ACCESS_ON_DEMAND;
	if (!odp && ibv_dontfork_range(addr, length))
		return NULL;
	mr = rxe_hmm_reg_mr_policy(pd, addr, length, iova, access, policy);
	if (!mr) {
		if (!odp)
			ibv_dofork_range(addr, length);
		return NULL;
	}
	mr->context = pd->context;
	mr->pd = pd;
	mr->addr = addr;
	mr->length = length;
	return mr;
}

int rxe_hmmdv_advise_mr(struct ibv_pd *pd, enum ibv_advise_mr_advice advice,
			uint32_t flags, struct ibv_sge *sg_list,
			uint32_t num_sge, uint32_t hints)
{
	DECLARE_COMMAND_BUFFER(cmd, UVERBS_OBJECT_MR, UVERBS_METHOD_ADVISE_MR,
			       5);

	if (!pd || !rxe_hmmdv_ctx(pd->context))
		return EOPNOTSUPP;
	if (!num_sge || !sg_list || hints & ~RXE_HMMDV_ADVISE_MR_MIGRATE)
		return EINVAL;

	fill_attr_in_obj(cmd, UVERBS_ATTR_ADVISE_MR_PD_HANDLE, pd->handle);
	fill_attr_const_in(cmd, UVERBS_ATTR_ADVISE_MR_ADVICE, advice);
	fill_attr_in_uint32(cmd, UVERBS_ATTR_ADVISE_MR_FLAGS, flags);
	fill_attr_in_ptr_array(cmd, UVERBS_ATTR_ADVISE_MR_SGE_LIST, sg_list,
			       num_sge);
	if (hints & RXE_HMMDV_ADVISE_MR_MIGRATE)
		fill_attr_in_uint32(cmd, RXE_HMM_ATTR_ADVISE_MR_FLAGS,
				    RXE_HMM_ADVISE_MR_MIGRATE);
	return execute_ioctl(pd->context, cmd);
}

/*
 * The first versions of the counter structures: the least a caller built
 * against an older header passes.
 */
#define RXE_HMMDV_ODP_COUNTERS_V1                                              \
	offsetofend(struct rxe_hmmdv_odp_counters, migrated_thps)
#define RXE_HMMDV_DEV_COUNTERS_V1                                              \
	offsetofend(struct rxe_hmmdv_dev_counters, devmem_used_pages)

/*
 * @len is the caller's sizeof: older callers get the fields they know,
 * newer ones have what this library does not know zeroed.
 */
static void rxe_hmmdv_copy_out(void *to, size_t len, const void *from,
			       size_t from_len)
{
	memcpy(to, from, min(len, from_len));
	if (len > from_len)
		memset((char *)to + from_len, 0, len - from_len);
}

int rxe_hmmdv_query_mr_counters(struct ibv_mr *mr,
				struct rxe_hmmdv_odp_counters *counters,
				size_t counters_len)
{
	DECLARE_COMMAND_BUFFER(cmd, UVERBS_OBJECT_MR,
			       RXE_HMM_METHOD_MR_QUERY_COUNTERS, 2);
	struct rxe_hmm_odp_counters resp = {};
	int ret;

	if (!mr || !rxe_hmmdv_ctx(mr->context))
		return EOPNOTSUPP;
	if (!counters || counters_len < RXE_HMMDV_ODP_COUNTERS_V1)
		return EINVAL;
	fill_attr_in_obj(cmd, RXE_HMM_ATTR_MR_QUERY_COUNTERS_HANDLE,
			 mr->handle);
	fill_attr_out_ptr(cmd, RXE_HMM_ATTR_MR_QUERY_COUNTERS_RESP, &resp);
	ret = execute_ioctl(mr->context, cmd);
	if (ret)
		return ret;
	rxe_hmmdv_copy_out(counters, counters_len, &resp, sizeof(resp));
	return 0;
}

int rxe_hmmdv_query_dev_counters(struct ibv_context *context,
				 struct rxe_hmmdv_dev_counters *counters,
				 size_t counters_len)
{
	DECLARE_COMMAND_BUFFER(cmd, UVERBS_OBJECT_DEVICE,
			       RXE_HMM_METHOD_QUERY_COUNTERS, 1);
	struct rxe_hmm_dev_counters resp = {};
	int ret;

	if (!rxe_hmmdv_ctx(context))
		return EOPNOTSUPP;
	if (!counters || counters_len < RXE_HMMDV_DEV_COUNTERS_V1)
		return EINVAL;
	fill_attr_out_ptr(cmd, RXE_HMM_ATTR_QUERY_COUNTERS_RESP, &resp);
	ret = execute_ioctl(context, cmd);
	if (ret)
		return ret;
	rxe_hmmdv_copy_out(counters, counters_len, &resp, sizeof(resp));
	return 0;
}
