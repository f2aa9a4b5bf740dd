#!/bin/bash
# tests/vm/selftest: a test that exits 0 after a real kernel WARNING
# (lkdtm); the runner must fail it, and only it.
echo WARNING >/sys/kernel/debug/provoke-crash/DIRECT
exit 0
