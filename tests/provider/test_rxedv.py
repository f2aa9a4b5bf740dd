"""librxe's direct verbs on rxe_hmm through pyverbs
(pyverbs.providers.rxe.rxedv), on rdma-core's own test base
classes: RC traffic between two ODP MRs registered with a migration policy
each, data checked by rdma-core's traffic helpers, migration read from the
MRs' own counters. The device's migrate_policy is "off"."""

import errno

from pyverbs.libibverbs_enums import ibv_access_flags, ibv_qp_type, ibv_wr_opcode, \
    _IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE, _IBV_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT, \
    _IBV_ADVISE_MR_FLAG_FLUSH
from pyverbs.pyverbs_error import PyverbsRDMAError
from pyverbs.qp import QPAttr, QPInitAttr
from pyverbs.wr import SGE
from tests.base import RCResources, RDMATestCase
import tests.utils as u

try:
    import pyverbs.providers.rxe.rxedv as dv
except ImportError:
    dv = None

PAGE = 4096
ALL_CAPS = dv.CAP_REG_MR_MIGRATE_POLICY | dv.CAP_ADVISE_MR_MIGRATE | \
    dv.CAP_QUERY_COUNTERS if dv else None
ODP_RW = ibv_access_flags.IBV_ACCESS_LOCAL_WRITE | ibv_access_flags.IBV_ACCESS_ON_DEMAND | \
    ibv_access_flags.IBV_ACCESS_REMOTE_READ | ibv_access_flags.IBV_ACCESS_REMOTE_WRITE


class PolicyRC(RCResources):
    """RC resources whose MR is an rxe_hmm ODP MR with a migration policy."""

    def __init__(self, dev_name, ib_port, gid_index, policy=None, msg_size=4 * PAGE):
        self.policy = policy
        super().__init__(dev_name=dev_name, ib_port=ib_port, gid_index=gid_index,
                         msg_size=msg_size)

    def create_context(self):
        super().create_context()
        # provider-tests.py runs these on an rxe_hmm device only: one that
        # announces less is a failure, not a skip.
        if dv is None or dv.query_device(self.ctx) != ALL_CAPS:
            raise RuntimeError(f"{self.dev_name}: not an rxe_hmm device"
                               " or no rxedv binding")

    def create_mr(self):
        self.mr = dv.RxeMR(self.pd, self.msg_size, ODP_RW, policy=self.policy)

    def create_qp_init_attr(self):
        return QPInitAttr(qp_type=ibv_qp_type.IBV_QPT_RC, scq=self.cq, rcq=self.cq,
                          cap=self.create_qp_cap())

    def create_qp_attr(self):
        attr = QPAttr(port_num=self.ib_port)
        attr.qp_access_flags = ODP_RW
        return attr


class RxeDvTest(RDMATestCase):
    def setUp(self):
        super().setUp()
        self.iters = 4

    def test_on_fault_policy_migrates_rc_traffic(self):
        self.create_players(PolicyRC, policy=dv.MIGRATE_ON_FAULT)
        before = dv.query_dev_counters(self.server.ctx)
        u.traffic(**self.traffic_args)
        c = self.server.mr.query_counters()
        self.assertGreaterEqual(c["faults"], 1)
        # the device wrote the server's receive buffer: it moved there
        self.assertGreaterEqual(c["migrated_pages"], 1)
        after = dv.query_dev_counters(self.server.ctx)
        self.assertGreaterEqual(after["migrated_pages"] - before["migrated_pages"],
                                c["migrated_pages"])

    def test_off_policy_only_maps_rc_traffic(self):
        self.create_players(PolicyRC, policy=dv.MIGRATE_OFF)
        u.traffic(**self.traffic_args)
        for side in (self.client, self.server):
            c = side.mr.query_counters()
            self.assertGreaterEqual(c["faults"], 1)
            self.assertEqual(c["migrated_pages"], 0)

    def test_advise_migrate_rdma_write(self):
        self.create_players(PolicyRC, policy=dv.MIGRATE_OFF)
        mr = self.server.mr
        sge = SGE(mr.buf, self.server.msg_size, mr.lkey)
        dv.advise_mr(self.server.pd, _IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
                     _IBV_ADVISE_MR_FLAG_FLUSH, [sge], dv.ADVISE_MR_MIGRATE)
        c = mr.query_counters()
        self.assertEqual(c["prefetches"], 1)
        self.assertEqual(c["migrated_pages"], self.server.msg_size // PAGE)
        # RDMA writes land in device memory and read back byte for byte
        u.rdma_traffic(**self.traffic_args,
                       send_op=ibv_wr_opcode.IBV_WR_RDMA_WRITE)

    def test_bad_arguments(self):
        self.create_players(PolicyRC, policy=dv.MIGRATE_OFF)
        with self.assertRaises(PyverbsRDMAError) as e:
            dv.RxeMR(self.server.pd, PAGE, ODP_RW, policy=42)
        self.assertEqual(e.exception.error_code, errno.EINVAL)
        with self.assertRaises(PyverbsRDMAError) as e:
            dv.RxeMR(self.server.pd, PAGE, ibv_access_flags.IBV_ACCESS_LOCAL_WRITE,
                        policy=dv.MIGRATE_ON_FAULT)
        self.assertEqual(e.exception.error_code, errno.EINVAL)
        mr = self.server.mr
        sge = SGE(mr.buf, PAGE, mr.lkey)
        with self.assertRaises(PyverbsRDMAError) as e:
            dv.advise_mr(self.server.pd, _IBV_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT,
                         _IBV_ADVISE_MR_FLAG_FLUSH, [sge], dv.ADVISE_MR_MIGRATE)
        self.assertEqual(e.exception.error_code, errno.EINVAL)
        with self.assertRaises(PyverbsRDMAError) as e:
            dv.advise_mr(self.server.pd, _IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
                         _IBV_ADVISE_MR_FLAG_FLUSH, [sge], 1 << 30)
        self.assertEqual(e.exception.error_code, errno.EINVAL)
        self.assertEqual(mr.query_counters()["migrated_pages"], 0)
