#!/usr/bin/env bash
# Named fault experiments against a Toxiproxy-compatible admin API (faultline-proxy or
# Toxiproxy itself), for a service that talks to Redis and PostgreSQL through it.
#
#   scripts/run-chaos.sh EXPERIMENT [SECONDS]
#
#   redis-latency      latency toxic on `redis` (200 ms, jitter 100 ms: 100-300 ms a chunk)
#   redis-timeout      timeout toxic on `redis` (data stops; the connection closes after 5 s)
#   redis-down         `redis` disabled: new connections refused, open ones cut
#   postgres-latency   latency toxic on `postgres` (300 ms, jitter 150 ms)
#   postgres-timeout   timeout toxic on `postgres` (closes after 10 s)
#   postgres-down      `postgres` disabled
#   network-jitter     latency toxic on every proxy (50 ms, jitter 100 ms)
#   all                each experiment above in turn (SECONDS each, default 30)
#   clear              remove every toxic of every proxy and enable every proxy
#   list               the proxies and their toxics
#   status             the server's version and whether any fault is active
#
# An experiment holds its fault for SECONDS (default 60), printing the time left, then
# removes exactly what it added: the toxics it created and the proxies it disabled. It does
# the same on Ctrl-C, on SIGTERM and when the API refuses a call, so no fault outlives it.
#
# Environment:
#   TOXIPROXY_URL      the admin API (default http://localhost:8474; TOXIPROXY_API is read
#                      too, the name older scripts use)
#   REDIS_LISTEN, REDIS_UPSTREAM, POSTGRES_LISTEN, POSTGRES_UPSTREAM
#                      where `redis` and `postgres` listen and connect when an experiment has
#                      to create them (default 0.0.0.0:16381 -> redis-test:6379 and
#                      0.0.0.0:15434 -> postgres-test:5432)
#   REDIS_LATENCY_MS, REDIS_JITTER_MS, REDIS_TIMEOUT_MS, POSTGRES_LATENCY_MS,
#   POSTGRES_JITTER_MS, POSTGRES_TIMEOUT_MS, NETWORK_LATENCY_MS, NETWORK_JITTER_MS
#                      the faults' sizes (defaults above)
#
# Exit status: 0 when the experiment ran and was cleaned up; 1 when the API refused a call
# or a cleanup step failed; 2 for usage errors and an unreachable API; 130 on Ctrl-C and
# 143 on SIGTERM (after cleaning up).
set -euo pipefail

api_url="${TOXIPROXY_URL:-${TOXIPROXY_API:-http://localhost:8474}}"
api_url="${api_url%/}"
redis_listen="${REDIS_LISTEN:-0.0.0.0:16381}"
redis_upstream="${REDIS_UPSTREAM:-redis-test:6379}"
postgres_listen="${POSTGRES_LISTEN:-0.0.0.0:15434}"
postgres_upstream="${POSTGRES_UPSTREAM:-postgres-test:5432}"

experiments=(redis-latency redis-timeout redis-down postgres-latency postgres-timeout postgres-down
  network-jitter)

usage() {
  sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0" >&2
  exit 2
}

say() { printf '%s\n' "$*"; }
# A name as one path segment of a URL.
seg() { jq -rn --arg s "$1" '$s | @uri'; }
warn() { printf 'run-chaos: %s\n' "$*" >&2; }

for tool in curl jq; do
  command -v "$tool" >/dev/null 2>&1 || {
    warn "$tool is required (apt-get install $tool)"
    exit 2
  }
done

# What this run added, so that cleanup removes exactly that: "proxy/toxic" pairs and the
# names of proxies it disabled.
added_toxics=()
disabled_proxies=()
# A toxic being created: a signal can land after the API made it and before the script
# wrote it down, so cleanup removes it too (unless the API refused it: then it is not ours).
pending_toxic=""
cleaning=0
http_status=0
body_file=$(mktemp)

# Bash lets a foreground command swallow a SIGINT sent to the script alone (kill -INT, a CI
# runner): the trap runs only if the command died of it too. So every command that takes
# time runs in the background and is waited for: a trapped signal ends `wait` at once.
run_waited() {
  "$@" &
  wait $!
}

# call METHOD PATH [BODY]: one API call; the status is left in $http_status and the body in
# $body_file. An unreachable API exits with 2 (returns 1 during cleanup).
call() {
  local method=$1 path=$2
  local args=(-sS -o "$body_file" -w '%{http_code}' --max-time 15 -X "$method")
  if [ $# -ge 3 ]; then
    args+=(-H 'Content-Type: application/json' --data-binary "$3")
  fi
  if ! run_waited curl "${args[@]}" "$api_url$path" >"$body_file.code" 2>"$body_file.err"; then
    warn "cannot reach the API at $api_url: $(sed 's/^curl: ([0-9]*) //' "$body_file.err")"
    [ "$cleaning" = 1 ] && return 1
    exit 2
  fi
  http_status=$(cat "$body_file.code")
}

# api METHOD PATH [BODY]: a call that must succeed; a refused one (status 400 and up)
# prints the API's error and exits with 1, except during cleanup, where it returns 1 so the
# other steps still run.
api() {
  call "$@" || return 1
  if [ "$http_status" -ge 400 ]; then
    local message
    message=$(jq -r '.error // empty' "$body_file" 2>/dev/null || true)
    warn "$1 $2: HTTP $http_status: ${message:-$(head -c 200 "$body_file")}"
    [ "$cleaning" = 1 ] && return 1
    pending_toxic=""
    exit 1
  fi
}

# Removes what this run added, most recent experiment included, and forgets it. Every step
# is tried; a toxic already gone counts as removed. What could not be undone stays on the
# lists and the function returns 1.
remove_added() {
  local entry proxy toxic kept_toxics=() kept_proxies=() was_cleaning=$cleaning
  cleaning=1
  if [ -n "$pending_toxic" ]; then
    added_toxics+=("$pending_toxic")
    pending_toxic=""
  fi
  for entry in "${added_toxics[@]+"${added_toxics[@]}"}"; do
    proxy=${entry%%/*}
    toxic=${entry#*/}
    if api DELETE "/proxies/$(seg "$proxy")/toxics/$(seg "$toxic")"; then
      say "$proxy: removed toxic $toxic"
    elif grep -q 'toxic not found' "$body_file" 2>/dev/null; then
      say "$proxy: toxic $toxic was already gone"
    else
      kept_toxics+=("$entry")
    fi
  done
  for proxy in "${disabled_proxies[@]+"${disabled_proxies[@]}"}"; do
    if api POST "/proxies/$(seg "$proxy")" '{"enabled": true}'; then
      say "$proxy: enabled again"
    else
      kept_proxies+=("$proxy")
    fi
  done
  added_toxics=("${kept_toxics[@]+"${kept_toxics[@]}"}")
  disabled_proxies=("${kept_proxies[@]+"${kept_proxies[@]}"}")
  cleaning=$was_cleaning
  [ ${#added_toxics[@]} -eq 0 ] && [ ${#disabled_proxies[@]} -eq 0 ]
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  cleaning=1
  # A call interrupted by a signal is still running: let it finish first.
  wait
  if ! remove_added; then
    warn "cleanup failed: check the proxies with '$0 list'"
    [ "$status" = 0 ] && status=1
  fi
  rm -f "$body_file" "$body_file.err" "$body_file.code"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Makes sure proxy $1 exists (listening on $2, forwarding to $3).
ensure_proxy() {
  local name=$1 listen=$2 upstream=$3
  call GET "/proxies/$(seg "$name")"
  if [ "$http_status" = 404 ]; then
    api POST /proxies "$(jq -cn --arg n "$name" --arg l "$listen" --arg u "$upstream" \
      '{name: $n, listen: $l, upstream: $u, enabled: true}')"
    say "$name: created proxy $listen -> $upstream"
  fi
}

ensure_named_proxy() {
  case $1 in
    redis) ensure_proxy redis "$redis_listen" "$redis_upstream" ;;
    postgres) ensure_proxy postgres "$postgres_listen" "$postgres_upstream" ;;
  esac
}

# Sets `names` to the proxies' names, one a line.
proxy_names() {
  api GET /proxies
  names=$(jq -r 'keys[]' "$body_file")
}

# add_toxic PROXY NAME TYPE ATTRIBUTES_JSON DESCRIPTION
add_toxic() {
  local proxy=$1 name=$2 type=$3 attributes=$4 body
  body=$(jq -cn --arg n "$name" --arg t "$type" --argjson a "$attributes" \
    '{name: $n, type: $t, stream: "downstream", toxicity: 1, attributes: $a}')
  pending_toxic="$proxy/$name"
  api POST "/proxies/$(seg "$proxy")/toxics" "$body"
  added_toxics+=("$proxy/$name")
  pending_toxic=""
  say "$proxy: added toxic $name ($5)"
}

disable_proxy() {
  local proxy=$1
  api GET "/proxies/$(seg "$proxy")"
  if [ "$(jq -r '.enabled' "$body_file")" != true ]; then
    say "$proxy: already disabled; left as it is"
    return
  fi
  disabled_proxies+=("$proxy")
  api POST "/proxies/$(seg "$proxy")" '{"enabled": false}'
  say "$proxy: disabled (new connections refused, open ones closed)"
}

# Holds the fault for $1 seconds, showing the time left: every second on a terminal, every
# ten seconds otherwise.
hold() {
  local total=$1 left=$1
  while [ "$left" -gt 0 ]; do
    if [ -t 1 ]; then
      printf '\r  %ss left ' "$left"
    elif [ "$left" = "$total" ] || [ $((left % 10)) = 0 ]; then
      say "  ${left}s left"
    fi
    run_waited sleep 1
    left=$((left - 1))
  done
  [ -t 1 ] && printf '\r  done        \n'
  return 0
}

# Ends the current experiment before the next one of `all` starts.
undo() {
  remove_added || exit 1
}

run_experiment() {
  local experiment=$1 seconds=$2 proxy latency jitter timeout names
  say "== $experiment for ${seconds}s ($(date -u +%H:%M:%S) UTC)"
  case $experiment in
    redis-latency | postgres-latency)
      proxy=${experiment%-latency}
      ensure_named_proxy "$proxy"
      if [ "$proxy" = redis ]; then
        latency=${REDIS_LATENCY_MS:-200} jitter=${REDIS_JITTER_MS:-100}
      else
        latency=${POSTGRES_LATENCY_MS:-300} jitter=${POSTGRES_JITTER_MS:-150}
      fi
      add_toxic "$proxy" latency latency "{\"latency\":$latency,\"jitter\":$jitter}" \
        "${latency} ms +/- ${jitter} ms on every chunk the server sends"
      ;;
    redis-timeout | postgres-timeout)
      proxy=${experiment%-timeout}
      ensure_named_proxy "$proxy"
      if [ "$proxy" = redis ]; then
        timeout=${REDIS_TIMEOUT_MS:-5000}
      else
        timeout=${POSTGRES_TIMEOUT_MS:-10000}
      fi
      add_toxic "$proxy" timeout timeout "{\"timeout\":$timeout}" \
        "no data passes; connections close after ${timeout} ms"
      ;;
    redis-down | postgres-down)
      proxy=${experiment%-down}
      ensure_named_proxy "$proxy"
      disable_proxy "$proxy"
      ;;
    network-jitter)
      ensure_named_proxy redis
      ensure_named_proxy postgres
      latency=${NETWORK_LATENCY_MS:-50} jitter=${NETWORK_JITTER_MS:-100}
      proxy_names
      while read -r proxy; do
        add_toxic "$proxy" jitter latency "{\"latency\":$latency,\"jitter\":$jitter}" \
          "${latency} ms +/- ${jitter} ms"
      done <<<"$names"
      ;;
  esac
  hold "$seconds"
  undo
}

clear_all() {
  local proxy toxic toxics names
  proxy_names
  while read -r proxy; do
    [ -n "$proxy" ] || continue
    api GET "/proxies/$(seg "$proxy")/toxics"
    toxics=$(jq -r '.[].name' "$body_file")
    while read -r toxic; do
      [ -n "$toxic" ] || continue
      api DELETE "/proxies/$(seg "$proxy")/toxics/$(seg "$toxic")"
      say "$proxy: removed toxic $toxic"
    done <<<"$toxics"
    api GET "/proxies/$(seg "$proxy")"
    if [ "$(jq -r '.enabled' "$body_file")" != true ]; then
      api POST "/proxies/$(seg "$proxy")" '{"enabled": true}'
      say "$proxy: enabled"
    fi
  done <<<"$names"
  say "no toxic left, every proxy enabled"
}

list_proxies() {
  api GET /proxies
  if [ "$(jq 'length' "$body_file")" = 0 ]; then
    say "no proxies"
    return
  fi
  jq -r 'to_entries | sort_by(.key)[] | .value |
    "\(.name)\t\(.listen) -> \(.upstream)\t\(if .enabled then "enabled" else "DISABLED" end)\t" +
    (if (.toxics | length) == 0 then "no toxics" else
      (.toxics | map("\(.name) (\(.type), \(.stream), \(.attributes | to_entries |
        map("\(.key)=\(.value)") | join(" ")))") | join(", ")) end)' "$body_file"
}

show_status() {
  api GET /version
  say "API $api_url: $(jq -r '.version // empty' "$body_file" 2>/dev/null || cat "$body_file")"
  api GET /proxies
  local faults
  faults=$(jq '[.[] | (.toxics | length) + (if .enabled then 0 else 1 end)] | add // 0' "$body_file")
  list_proxies
  if [ "$faults" = 0 ]; then
    say "no fault active"
  else
    say "$faults fault(s) active ('$0 clear' removes them)"
  fi
}

[ $# -ge 1 ] || usage
experiment=$1
seconds=${2:-}
if [ -n "$seconds" ] && ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  warn "SECONDS must be a positive whole number, not '$seconds'"
  exit 2
fi

case $experiment in
  -h | --help | help) usage ;;
esac

# Every command starts by checking that the API answers.
api GET /version

case $experiment in
  all)
    for e in "${experiments[@]}"; do
      run_experiment "$e" "${seconds:-30}"
    done
    say "== all experiments done"
    ;;
  clear) clear_all ;;
  list) list_proxies ;;
  status) show_status ;;
  *)
    for e in "${experiments[@]}"; do
      if [ "$e" = "$experiment" ]; then
        run_experiment "$experiment" "${seconds:-60}"
        exit 0
      fi
    done
    warn "unknown experiment '$experiment'"
    usage
    ;;
esac
