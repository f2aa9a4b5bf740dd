// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * rxe_hmm's user ABI beyond rxe's: the capabilities a context is told
 * of, and the ioctl methods, in the driver namespace of uverbs, that the
 * direct verbs of librxe (infiniband/rxedv.h) call. Their structures are
 * in rdma/rxe_hmm-abi.h.
 */

#define UVERBS_MODULE_NAME rxe_hmm

#include <rdma/rxe_hmm-abi.h>
#include <rdma/uverbs_ioctl.h>
#include <rdma/uverbs_named_ioctl.h>

#include "rxe.h"

/*
 * From rxe_alloc_ucontext(): tells the provider what this device offers
 * beyond rxe's ABI, in as much of the response's driver data as it has
 * room for; a provider that has none (librxe without rxedv) gets nothing.
 */
int rxe_hmm_alloc_ucontext(struct ib_udata *udata)
{
	struct rxe_hmm_alloc_context_resp resp = {
		.comp_mask = RXE_HMM_ALLOC_CONTEXT_RESP_CAPS,
		.caps = RXE_HMM_CAP_REG_MR_MIGRATE_POLICY |
			RXE_HMM_CAP_ADVISE_MR_MIGRATE |
			RXE_HMM_CAP_QUERY_COUNTERS,
	};

	/* no request is defined: what a newer provider asks, we cannot give */
	if (udata->inlen && !ib_is_udata_cleared(udata, 0, udata->inlen))
		return -EINVAL;
	if (!udata->outlen)
		return 0;
	/* say only what fits */
	if (udata->outlen < offsetofend(typeof(resp), caps))
		resp.comp_mask &= ~RXE_HMM_ALLOC_CONTEXT_RESP_CAPS;
	return ib_copy_to_udata(udata, &resp, min(sizeof(resp), udata->outlen));
}

static void rxe_hmm_read_counters(const atomic64_t *from, __u64 *to,
				  unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		to[i] = atomic64_read(&from[i]);
}

static void rxe_hmm_read_dev_counters(struct rxe_hmm_dev *hmm, __u64 *to)
{
	unsigned int i;

	for (i = 0; i < RXE_HMM_NUM_COUNTERS; i++)
		to[i] = rxe_hmm_counter_read(hmm, i);
}

static int
UVERBS_HANDLER(RXE_HMM_METHOD_QUERY_COUNTERS)(struct uverbs_attr_bundle *attrs)
{
	struct ib_ucontext *uctx = ib_uverbs_get_ucontext(attrs);
	struct rxe_hmm_dev_counters resp = {};
	struct rxe_dev *rxe;

	/* the counters are read one by one, in the uAPI's order */
	BUILD_BUG_ON(sizeof(resp) != RXE_HMM_NUM_COUNTERS * sizeof(__u64));
	if (IS_ERR(uctx))
		return PTR_ERR(uctx);
	rxe = to_rdev(uctx->device);
	rxe_hmm_read_dev_counters(&rxe->hmm, (__u64 *)&resp);
	return uverbs_copy_to_struct_or_zero(attrs,
					     RXE_HMM_ATTR_QUERY_COUNTERS_RESP,
					     &resp, sizeof(resp));
}

static int
UVERBS_HANDLER(RXE_HMM_METHOD_MR_QUERY_COUNTERS)(struct uverbs_attr_bundle *attrs)
{
	struct rxe_hmm_odp_counters resp = {};
	struct rxe_mr *mr;

	mr = to_rmr(uverbs_attr_get_obj(attrs,
					RXE_HMM_ATTR_MR_QUERY_COUNTERS_HANDLE));

	BUILD_BUG_ON(sizeof(resp) != RXE_HMM_NUM_MR_COUNTERS * sizeof(__u64));
	/* only ODP MRs count */
	if (!is_odp_mr(mr))
		return -EINVAL;
	rxe_hmm_read_counters(mr->odp->counters, (__u64 *)&resp,
			      RXE_HMM_NUM_MR_COUNTERS);
	return uverbs_copy_to_struct_or_zero(attrs,
					     RXE_HMM_ATTR_MR_QUERY_COUNTERS_RESP,
					     &resp, sizeof(resp));
}

DECLARE_UVERBS_NAMED_METHOD(RXE_HMM_METHOD_QUERY_COUNTERS,
			    UVERBS_ATTR_PTR_OUT(RXE_HMM_ATTR_QUERY_COUNTERS_RESP,
						UVERBS_ATTR_STRUCT(struct rxe_hmm_dev_counters,
								   devmem_used_pages),
						UA_MANDATORY));

ADD_UVERBS_METHODS(rxe_hmm_device,
		   UVERBS_OBJECT_DEVICE,
		   &UVERBS_METHOD(RXE_HMM_METHOD_QUERY_COUNTERS));

DECLARE_UVERBS_NAMED_METHOD(RXE_HMM_METHOD_MR_QUERY_COUNTERS,
			    UVERBS_ATTR_IDR(RXE_HMM_ATTR_MR_QUERY_COUNTERS_HANDLE,
					    UVERBS_OBJECT_MR,
					    UVERBS_ACCESS_READ,
					    UA_MANDATORY),
			    UVERBS_ATTR_PTR_OUT(RXE_HMM_ATTR_MR_QUERY_COUNTERS_RESP,
						UVERBS_ATTR_STRUCT(struct rxe_hmm_odp_counters,
								   migrated_thps),
						UA_MANDATORY));

ADD_UVERBS_METHODS(rxe_hmm_mr,
		   UVERBS_OBJECT_MR,
		   &UVERBS_METHOD(RXE_HMM_METHOD_MR_QUERY_COUNTERS));

/* rxe_ib_advise_mr() reads it */
ADD_UVERBS_ATTRIBUTES_SIMPLE(rxe_hmm_advise_mr,
			     UVERBS_OBJECT_MR,
			     UVERBS_METHOD_ADVISE_MR,
			     UVERBS_ATTR_FLAGS_IN(RXE_HMM_ATTR_ADVISE_MR_FLAGS,
						  enum rxe_hmm_advise_mr_flags,
						  UA_OPTIONAL));

const struct uapi_definition rxe_hmm_uapi_defs[] = {
	UAPI_DEF_CHAIN_OBJ_TREE(UVERBS_OBJECT_DEVICE, &rxe_hmm_device),
	UAPI_DEF_CHAIN_OBJ_TREE(UVERBS_OBJECT_MR, &rxe_hmm_mr),
	UAPI_DEF_CHAIN_OBJ_TREE(UVERBS_OBJECT_MR, &rxe_hmm_advise_mr),
	{},
};
