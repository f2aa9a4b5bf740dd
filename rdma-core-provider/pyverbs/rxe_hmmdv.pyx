# SPDX-License-Identifier: (GPL-2.0 OR Linux-OpenIB)

#cython: language_level=3

"""pyverbs bindings of the rxe_hmm provider's direct verbs (rxe_hmmdv(7))."""

from libc.stdint cimport uint32_t, uintptr_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset

from pyverbs.base import PyverbsRDMAErrno
from pyverbs.device cimport Context
from pyverbs.mr cimport MR
from pyverbs.pd cimport PD
from pyverbs.pyverbs_error import PyverbsRDMAError, PyverbsUserError
from pyverbs.wr cimport SGE
cimport pyverbs.libibverbs as v
cimport pyverbs.providers.rxe_hmm.librxe_hmm as dv

MIGRATE_DEVICE_DEFAULT = dv.RXE_HMMDV_MIGRATE_DEVICE_DEFAULT
MIGRATE_OFF = dv.RXE_HMMDV_MIGRATE_OFF
MIGRATE_ON_FAULT = dv.RXE_HMMDV_MIGRATE_ON_FAULT
MIGRATE_PREFETCH_ONLY = dv.RXE_HMMDV_MIGRATE_PREFETCH_ONLY
ADVISE_MR_MIGRATE = dv.RXE_HMMDV_ADVISE_MR_MIGRATE

ODP_COUNTERS = ('faults', 'faulted_pages', 'invalidations',
                'invalidated_pages', 'prefetches', 'mapped_pages',
                'migrated_pages', 'migrated_thps', 'fault_ns', 'migrations',
                'migrate_ns', 'invalidate_ns')
DEVMEM_COUNTERS = ('devmem_cpu_fault_pages', 'devmem_evicted_pages',
                   'devmem_teardown_pages', 'devmem_used_pages')


def is_supported(Context ctx not None):
    """Whether the rxe_hmm provider bound the device of ctx."""
    return dv.rxe_hmmdv_is_supported(ctx.context.device)


cdef _odp_dict(dv.rxe_hmmdv_odp_counters *c):
    return dict(zip(ODP_COUNTERS, (c.faults, c.faulted_pages, c.invalidations,
                                   c.invalidated_pages, c.prefetches,
                                   c.mapped_pages, c.migrated_pages,
                                   c.migrated_thps, c.fault_ns,
                                   c.migrations, c.migrate_ns,
                                   c.invalidate_ns)))


def query_dev_counters(Context ctx not None):
    """The device's ODP and device-memory counters, as a dict."""
    cdef dv.rxe_hmmdv_dev_counters c
    rc = dv.rxe_hmmdv_query_dev_counters(ctx.context, &c, sizeof(c))
    if rc:
        raise PyverbsRDMAError('Failed to query rxe_hmm device counters', rc)
    # the ODP counters under the MR's names, then the device memory's
    return dict(zip(ODP_COUNTERS + DEVMEM_COUNTERS,
                    (c.odp_faults, c.odp_faulted_pages, c.odp_invalidations,
                     c.odp_invalidated_pages, c.odp_prefetches,
                     c.odp_mapped_pages, c.odp_migrated_pages,
                     c.odp_migrated_thps, c.odp_fault_ns, c.odp_migrations,
                     c.odp_migrate_ns, c.odp_invalidate_ns,
                     c.devmem_cpu_fault_pages, c.devmem_evicted_pages,
                     c.devmem_teardown_pages, c.devmem_used_pages)))


def advise_mr(PD pd not None, advice, uint32_t flags, sg_list not None,
              uint32_t hints):
    """rxe_hmmdv_advise_mr(): ibv_advise_mr() with rxe_hmm hints."""
    cdef v.ibv_sge *sges
    cdef int i
    num_sge = len(sg_list)
    sges = <v.ibv_sge *>malloc(max(num_sge, 1) * sizeof(v.ibv_sge))
    if sges == NULL:
        raise MemoryError()
    for i in range(num_sge):
        sges[i] = (<SGE>sg_list[i]).sge[0]
    rc = dv.rxe_hmmdv_advise_mr(pd.pd, advice, flags, sges, num_sge, hints)
    free(sges)
    if rc:
        raise PyverbsRDMAError('Failed to advise rxe_hmm MR', rc)


cdef class RxeHmmMR(MR):
    """An MR registered with rxe_hmmdv_reg_mr(): a migration policy of its
    own, and ODP counters of its own."""

    def __init__(self, PD pd not None, length, access, policy=None):
        cdef dv.rxe_hmmdv_reg_mr_attr attr
        cdef int mmap_len = 0
        memset(&attr, 0, sizeof(attr))
        if policy is not None:
            attr.comp_mask = dv.RXE_HMMDV_REG_MR_ATTR_MIGRATE_POLICY
            attr.migrate_policy = policy
        self.is_huge = False
        self.is_user_addr = False
        self._allocate_buffer(<size_t>length, False, &mmap_len)
        if self.buf == NULL:
            raise PyverbsUserError(f'Failed to allocate {length} bytes')
        self.mmap_length = mmap_len
        self.mr = dv.rxe_hmmdv_reg_mr(pd.pd, self.buf, length,
                                      <uintptr_t>self.buf, access, &attr)
        if self.mr == NULL:
            self._free_buffer(False, mmap_len)
            self.buf = NULL
            raise PyverbsRDMAErrno('Failed to register an rxe_hmm MR')
        self.pd = pd
        pd.add_ref(self)
        # MR's own __init__ sees the registration done and only sets up
        # its bookkeeping.
        super().__init__(pd, length, access)

    def query_counters(self):
        """The MR's ODP counters, as a dict."""
        cdef dv.rxe_hmmdv_odp_counters c
        rc = dv.rxe_hmmdv_query_mr_counters(self.mr, &c, sizeof(c))
        if rc:
            raise PyverbsRDMAError('Failed to query rxe_hmm MR counters', rc)
        return _odp_dict(&c)
