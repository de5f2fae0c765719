#!/usr/bin/env bash
# Runs the k6 load suite, one script after another, and prints one results table.
#
#   QUICK_MODE=true ./tests/load/run-all.sh        # a short run of every script (seconds each)
#   TESTS="baseline websocket-throughput" ./tests/load/run-all.sh
#
# Environment: CCA_HTTP_URL, CCA_WS_URL, CCA_API_KEY (the target, see config.js), QUICK_MODE,
# TESTS (space-separated script names), RESULTS_DIR (default results/<date-time>), K6 (the
# command, default `k6`: loadgen answers as k6 through a symlink, see the README).
# Each script's summary goes to RESULTS_DIR as <name>-summary.json and .txt, its output to
# <name>.log. Exits non-zero when any script failed its thresholds or could not run.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
K6="${K6:-k6}"
export QUICK_MODE="${QUICK_MODE:-false}"
TESTS="${TESTS:-baseline agent-spawning task-submission websocket-throughput postgres-queries redis-pubsub full-system}"
RESULTS_DIR="${RESULTS_DIR:-$here/results/$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$RESULTS_DIR"
RESULTS_DIR="$(cd "$RESULTS_DIR" && pwd)"
export RESULTS_DIR

if ! command -v "$K6" >/dev/null 2>&1; then
  echo "run-all: '$K6' not found (link loadgen as k6, or set K6)" >&2
  exit 2
fi
echo "k6 suite: $("$K6" version) | quick=$QUICK_MODE | results in $RESULTS_DIR"

# A trend's p(95) in ms from a summary file, or "-".
p95() { jq -r --arg m "$2" '.metrics[$m].values["p(95)"] // empty | . * 100 | round / 100' "$1" 2>/dev/null || true; }

rows=()
failed=0
for t in $TESTS; do
  script="$here/$t.js"
  if [ ! -f "$script" ]; then
    rows+=("$t|missing|-|-|-|-|-")
    failed=1
    continue
  fi
  started=$(date +%s)
  (cd "$here" && "$K6" run --quiet "$script") >"$RESULTS_DIR/$t.log" 2>&1
  code=$?
  took=$(( $(date +%s) - started ))
  case $code in
    0) result="passed" ;;
    99) result="THRESHOLDS"; failed=1 ;;
    *) result="ERROR($code)"; failed=1 ;;
  esac
  summary="$RESULTS_DIR/$t-summary.json"
  if [ -f "$summary" ]; then
    reqs=$(jq -r '.metrics.http_reqs.values.count // 0' "$summary")
    http95=$(p95 "$summary" http_req_duration)
    ws95=$(p95 "$summary" ws_message_latency)
    checks=$(jq -r '.metrics.checks.values | if . then "\(.passes)/\(.passes + .fails)" else "-" end' "$summary")
    broken=$(jq -r '[.metrics | to_entries[] | select(.value.thresholds) | .key as $k
                     | .value.thresholds | to_entries[] | select(.value.ok == false) | "\($k):\(.key)"]
                    | join(",")' "$summary")
  else
    reqs="-"; http95=""; ws95=""; checks="-"; broken="no summary (see $t.log)"
  fi
  rows+=("$t|$result|${took}s|$reqs|${http95:--}|${ws95:--}|$checks|${broken:--}")
done

printf '\n%-22s %-11s %6s %9s %11s %11s %13s  %s\n' test result time requests "http p95ms" "ws p95ms" checks "failed thresholds"
for row in "${rows[@]}"; do
  IFS='|' read -r name result took reqs http95 ws95 checks broken <<<"$row"
  printf '%-22s %-11s %6s %9s %11s %11s %13s  %s\n' "$name" "$result" "$took" "$reqs" "$http95" "$ws95" "$checks" "$broken"
done
if [ "$failed" -ne 0 ]; then
  echo "run-all: some scripts failed (logs and summaries in $RESULTS_DIR)"
  exit 1
fi
echo "run-all: every script passed its thresholds"
