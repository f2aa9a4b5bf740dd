#!/bin/bash
# tests/vm/selftest: a test that passes and leaves the kernel log alone.
exit 0
