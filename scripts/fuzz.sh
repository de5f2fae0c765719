#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan, build-fuzz/) and runs each one.
#
#   scripts/fuzz.sh 30            # every target for 30 s (the smoke run scripts/test.sh does)
#   scripts/fuzz.sh --runs 10000000  # the long run: ten million inputs per target
#   scripts/fuzz.sh 600 fuzz_api  # one target for ten minutes
#   scripts/fuzz.sh --jobs 2 30   # two targets at a time (one per core)
#
# Each target starts from its seed corpus (tests/fuzz/corpus/<target>) and keeps what it
# learns in build-fuzz/corpus/<target>, so later runs go on from there. A crash stops the
# run with a non-zero exit; the input is saved as build-fuzz/crash-<target>-* and can be
# replayed with `build-fuzz/tests/fuzz/<target> FILE`.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=(-max_total_time=30)
jobs=1
if [ "${1:-}" = "--jobs" ]; then
  jobs="${2:?--jobs needs a count}"
  shift 2
fi
if [ "${1:-}" = "--runs" ]; then
  limit=(-runs="${2:?--runs needs a count}")
  shift 2
elif [ -n "${1:-}" ]; then
  limit=(-max_total_time="$1")
  shift
fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(fuzz_api fuzz_http_request fuzz_scenario fuzz_ws_reader fuzz_http_response fuzz_proxy_args
  fuzz_loadgen_text fuzz_protocol_toxics)

dir=build-fuzz
log="$dir/build.log"
mkdir -p "$dir"
if ! { CC=clang CXX=clang++ cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
         -DFAULTLINE_FUZZ=ON -DFAULTLINE_TESTS=OFF &&
       cmake --build "$dir" -j"$(nproc 2>/dev/null || echo 2)" --target fuzzers; } >"$log" 2>&1; then
  grep -E 'error|Error' -A5 "$log" | head -60 >&2
  echo "fuzz: build failed; full log in $log" >&2
  exit 1
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Runs one target and prints one line about it; non-zero on a crash.
fuzz_one() {
  local t=$1 corpus="$dir/corpus/$1" out="$dir/fuzz-$1.log" runs secs
  mkdir -p "$corpus"
  if "$dir/tests/fuzz/$t" "${limit[@]}" -print_final_stats=1 -artifact_prefix="$dir/crash-$t-" \
       "$corpus" "tests/fuzz/corpus/$t" >"$out" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$out" | grep -o '[0-9]*$' || echo "?")
    secs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$out" | grep -o 'in [0-9]*' | grep -o '[0-9]*' || echo "?")
    echo "fuzz: $t: $runs inputs in ${secs} s, no crash (corpus: $(find "$corpus" -type f | wc -l) files)"
  else
    echo "fuzz: $t: CRASH (log: $out)" >&2
    grep -E 'ERROR|SUMMARY|Test unit written' "$out" | head -5 >&2
    return 1
  fi
}

status=0
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
  fuzz_one "$t" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done
exit $status
