#!/usr/bin/env bash
# The soak test's long form: builds the release tree and runs tests/soak/soak.py against
# faultline-proxy for an hour (or SECONDS) on each backend given (default: both, one
# after the other), writing a JSON report per backend to build/soak-<backend>.json.
#
#   scripts/soak.sh                 # an hour on io_uring, then an hour on epoll
#   scripts/soak.sh 3600 epoll      # one backend
#   scripts/soak.sh 120             # two minutes per backend
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-3600}
shift || true
backends=("$@")
[ ${#backends[@]} -eq 0 ] && backends=(io_uring epoll)
./scripts/install-deps.sh
./scripts/build.sh release >/dev/null
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
status=0
for b in "${backends[@]}"; do
  python3 tests/soak/soak.py --proxy build/proxy/faultline-proxy --echo build/tests/echo_server \
    --backend "$b" \
    --seconds "$seconds" --json "build/soak-$b.json" || status=1
done
exit $status
