# SPDX-License-Identifier: (GPL-2.0 OR Linux-OpenIB)

#cython: language_level=3

from pyverbs.mr cimport MR


cdef class RxeHmmMR(MR):
    pass
