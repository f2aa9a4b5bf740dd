#!/bin/bash
# tests/host/run: benchmarks/selftest (the benchmarks' data checks, order
# designs, percentiles and report, on the host) as one case.
# usage: tests/host/benchmarks-selftest.sh CASES_FILE
top=$(cd "$(dirname "$0")/../.." && pwd)
start=$(date +%s)
status=pass message=
if ! out=$("$top/benchmarks/selftest" ${RXE_HMM_RDMA_CORE:+"$RXE_HMM_RDMA_CORE"} 2>&1); then
	status=fail
	message=$(grep -viE '^ok' <<<"$out" | tail -n 3 | tr '\n' ' ')
fi
echo "$out"
python3 -c 'import json, sys
r = {"test": "host", "name": "host/benchmarks-selftest", "status": sys.argv[1],
     "seconds": int(sys.argv[2])}
if sys.argv[3]:
    r["message"] = sys.argv[3]
print(json.dumps(r))' "$status" "$(($(date +%s) - start))" "$message" >>"$1"
[ $status = pass ]
