# SPDX-License-Identifier: (GPL-2.0 OR Linux-OpenIB)

#cython: language_level=3

from libc.stdint cimport uint32_t, uint64_t
from libcpp cimport bool
cimport pyverbs.libibverbs as v


cdef extern from 'infiniband/rxe_hmmdv.h':

    cdef enum rxe_hmmdv_migrate_policy:
        RXE_HMMDV_MIGRATE_DEVICE_DEFAULT
        RXE_HMMDV_MIGRATE_OFF
        RXE_HMMDV_MIGRATE_ON_FAULT
        RXE_HMMDV_MIGRATE_PREFETCH_ONLY

    cdef enum rxe_hmmdv_reg_mr_attr_mask:
        RXE_HMMDV_REG_MR_ATTR_MIGRATE_POLICY

    cdef enum rxe_hmmdv_advise_mr_hints:
        RXE_HMMDV_ADVISE_MR_MIGRATE

    cdef struct rxe_hmmdv_reg_mr_attr:
        uint64_t comp_mask
        rxe_hmmdv_migrate_policy migrate_policy

    cdef struct rxe_hmmdv_odp_counters:
        uint64_t faults
        uint64_t faulted_pages
        uint64_t invalidations
        uint64_t invalidated_pages
        uint64_t prefetches
        uint64_t mapped_pages
        uint64_t migrated_pages
        uint64_t migrated_thps
        uint64_t fault_ns
        uint64_t migrations
        uint64_t migrate_ns
        uint64_t invalidate_ns

    cdef struct rxe_hmmdv_dev_counters:
        uint64_t odp_faults
        uint64_t odp_faulted_pages
        uint64_t odp_invalidations
        uint64_t odp_invalidated_pages
        uint64_t odp_prefetches
        uint64_t odp_mapped_pages
        uint64_t odp_migrated_pages
        uint64_t odp_migrated_thps
        uint64_t devmem_cpu_fault_pages
        uint64_t devmem_evicted_pages
        uint64_t devmem_teardown_pages
        uint64_t devmem_used_pages
        uint64_t odp_fault_ns
        uint64_t odp_migrations
        uint64_t odp_migrate_ns
        uint64_t odp_invalidate_ns

    bool rxe_hmmdv_is_supported(v.ibv_device *device)
    v.ibv_mr *rxe_hmmdv_reg_mr(v.ibv_pd *pd, void *addr, size_t length,
                               uint64_t iova, unsigned int access,
                               const rxe_hmmdv_reg_mr_attr *attr)
    int rxe_hmmdv_advise_mr(v.ibv_pd *pd, uint32_t advice,
                            uint32_t flags, v.ibv_sge *sg_list,
                            uint32_t num_sge, uint32_t hints)
    int rxe_hmmdv_query_mr_counters(v.ibv_mr *mr,
                                    rxe_hmmdv_odp_counters *counters,
                                    size_t counters_len)
    int rxe_hmmdv_query_dev_counters(v.ibv_context *context,
                                     rxe_hmmdv_dev_counters *counters,
                                     size_t counters_len)
