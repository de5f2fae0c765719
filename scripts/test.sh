#!/usr/bin/env bash
# Installs dependencies, builds (release and ASan+UBSan) and runs every test, the container
# images' short test and the fuzz smoke.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
# The concurrency tests open thousands of sockets.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# The compatibility suite drives the server with the real toxiproxy-node-client from npm, feeds
# loadgen's reports to k6 report tools from npm, measures loadgen's modules against @types/k6
# (read with typescript) and validates docker/k8s against Kubernetes' schemas
# (kubernetes-models, yaml).
if [ ! -d tests/compat/node_modules/toxiproxy-node-client ] ||
  [ ! -d tests/compat/node_modules/kubernetes-models ] ||
  [ ! -d tests/compat/node_modules/yaml ] ||
  [ ! -d tests/compat/node_modules/k6-to-junit ] ||
  [ ! -d tests/compat/node_modules/pg ] ||
  [ ! -d tests/compat/node_modules/k6-html-reporter ] ||
  [ ! -d tests/compat/node_modules/@types/k6 ] ||
  [ ! -d tests/compat/node_modules/typescript ]; then
  (cd tests/compat && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi

# The container test's base image is made from Debian's mirror (debootstrap, mostly
# waiting on the network) while the release build runs.
base_log=$(mktemp)
python3 tests/container/test_images.py --base-only >"$base_log" 2>&1 &
base_pid=$!

echo "== release build"
./scripts/build.sh release >/dev/null
(cd build && ctest --output-on-failure --timeout 600)
# How much of k6's JavaScript API (as @types/k6 declares it) loadgen provides.
grep -ho "loadgen provides [0-9]* of [0-9]* names ([0-9.]*%)" build/Testing/Temporary/LastTest.log |
  head -1 | sed 's/^/== k6 API coverage: /' || true

# The images users build from docker/Dockerfile, built and run with podman; the short form
# builds the proxy's image only (scripts/test-containers.sh without --short adds loadgen's).
echo "== container images (podman, short form)"
if ! wait "$base_pid"; then
  cat "$base_log" >&2
  echo "making the container test's base image failed" >&2
  exit 1
fi
cat "$base_log"
rm -f "$base_log"
python3 tests/container/test_images.py --short

echo "== sanitizer build (ASan + UBSan)"
./scripts/build.sh asan >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp"
(cd build-asan && ctest --output-on-failure --timeout 900)

# Coverage-guided fuzzing (libFuzzer, clang): a short smoke run of every target; the long
# run is `scripts/fuzz.sh --runs 10000000` (see tests/fuzz/).
echo "== fuzz smoke (libFuzzer, 30 s per target, two at a time)"
./scripts/fuzz.sh --jobs 2 30
