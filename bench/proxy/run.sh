#!/usr/bin/env bash
# faultline-proxy's benchmarks on loopback, side by side in one run:
#   1. the comparison table (bench/proxy/compare.py): the direct path, faultline-proxy on
#      both backends, HAProxy in plain TCP mode with one thread, and Toxiproxy 2.12 when
#      TOXIPROXY_BIN names its server (../shared/reference/build-toxiproxy.sh builds it):
#      bulk throughput and CPU per GB (fast and staged paths), keep-alive requests/s and CPU
#      per request, added p50 latency, new connections/s; medians of alternating rounds;
#   2. the accuracy of the latency and bandwidth toxics;
#   3. the admin API's latency while 1000 streaming connections see toxics change.
#   bench/proxy/run.sh [seconds-per-measurement] [rounds]     (default 5 s, 3 rounds)
# Needs iperf3, wrk, ab, nginx and haproxy (scripts/install-deps.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-5}
rounds=${2:-3}
bin=build/proxy/faultline-proxy
[ -x "$bin" ] || ./scripts/build.sh release >/dev/null

python3 bench/proxy/compare.py "$secs" "$rounds"
echo
echo "toxic accuracy:"
python3 bench/proxy/toxic_accuracy.py "$bin" 1000 | sed 's/^/  /'
echo
echo "admin API under toxic churn (1000 streaming connections, 100 changes/s):"
python3 tests/e2e/test_churn.py --binary "$bin" --backend "${BACKEND:-auto}" --connections 1000 \
  --seconds "$secs" --report 2>/dev/null | sed -n 1p | sed 's/^/  /'
