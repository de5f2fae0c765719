#!/usr/bin/env bash
# Side-by-side benchmark of faultline-proxy on loopback: every figure is measured directly
# against the target and through the proxy in the same run, and printed with its ratio.
#   bench/proxy/run.sh [seconds-per-measurement]     (default 5)
# Needs iperf3, wrk and nginx (scripts/install-deps.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/lib.sh
secs=${1:-5}
backend=${BACKEND:-auto}
bin=build/proxy/faultline-proxy
[ -x "$bin" ] || ./scripts/build.sh release >/dev/null

work=$(mktemp -d)
cleanup_on_exit

api=18574 iperf_port=15201 iperf_proxy=15202 http_port=18580 http_proxy=18581
LOG_LEVEL=error "$bin" -host 127.0.0.1 -port $api -backend "$backend" >"$work/proxy.log" 2>&1 &
proxy_pid=$!
pids+=("$proxy_pid")
wait_port $api
sleep 0.5
rss_idle_kb=$(awk '/VmRSS/ {print $2}' /proc/$proxy_pid/status)

curl -s -X POST "http://127.0.0.1:$api/proxies" \
  -d "{\"name\":\"iperf\",\"listen\":\"127.0.0.1:$iperf_proxy\",\"upstream\":\"127.0.0.1:$iperf_port\"}" >/dev/null
curl -s -X POST "http://127.0.0.1:$api/proxies" \
  -d "{\"name\":\"http\",\"listen\":\"127.0.0.1:$http_proxy\",\"upstream\":\"127.0.0.1:$http_port\"}" >/dev/null

cpu_ticks() { awk '{print $14 + $15}' "/proc/$proxy_pid/stat"; }
hz=$(getconf CLK_TCK)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }

echo "faultline-proxy benchmark ($(nproc) cores, backend $backend, ${secs}s per measurement)"
echo

# iperf_run PORT: one iperf3 stream to the server behind PORT; prints bits/s, bytes received
# and the proxy's CPU ticks spent meanwhile.
iperf_run() {
  iperf3 -s -1 -p $iperf_port -B 127.0.0.1 >/dev/null 2>&1 &
  sleep 0.3
  local t0 t1 out
  t0=$(cpu_ticks)
  out=$(iperf3 -c 127.0.0.1 -p "$1" -t "$secs" -J | python3 -c \
    'import json,sys; e=json.load(sys.stdin)["end"]["sum_received"]; print(e["bits_per_second"], e["bytes"])')
  t1=$(cpu_ticks)
  echo "$out $((t1 - t0))"
}
gbit() { awk -v x="$1" 'BEGIN{print x/1e9}'; }
cpu_per_gb() { awk -v t="$1" -v hz="$hz" -v b="$2" 'BEGIN { printf "%.3f", (t / hz) / (b / 1e9) }'; }

# 1. Bulk throughput (iperf3, one stream, client -> server): direct, fast path, staged path.
read -r direct_bps _ _ < <(iperf_run $iperf_port)
read -r proxied_bps proxied_bytes proxied_ticks < <(iperf_run $iperf_proxy)
printf '%-34s %12s %12s %8s\n' "measurement" "direct" "proxied" "ratio"
printf '%-34s %12.2f %12.2f %8s\n' "throughput, Gbit/s (iperf3)" \
  "$(gbit "$direct_bps")" "$(gbit "$proxied_bps")" "$(ratio "$proxied_bps" "$direct_bps")"
printf '%-34s %12s %12s\n' "proxy CPU seconds per GB" "-" "$(cpu_per_gb "$proxied_ticks" "$proxied_bytes")"

# The staged path: a latency=0 toxic on both directions of the same proxy.
for stream in upstream downstream; do
  curl -s -X POST "http://127.0.0.1:$api/proxies/iperf/toxics" \
    -d "{\"name\":\"zero_$stream\",\"type\":\"latency\",\"stream\":\"$stream\",\"attributes\":{\"latency\":0}}" >/dev/null
done
read -r staged_bps staged_bytes staged_ticks < <(iperf_run $iperf_proxy)
printf '%-34s %12.2f %12.2f %8s\n' "staged path (latency=0), Gbit/s" \
  "$(gbit "$direct_bps")" "$(gbit "$staged_bps")" "$(ratio "$staged_bps" "$direct_bps")"
printf '%-34s %12s %12s\n' "staged path CPU seconds per GB" "-" "$(cpu_per_gb "$staged_ticks" "$staged_bytes")"

# 2. HTTP through nginx: keep-alive requests/s, new connections/s, single-connection latency.
mkdir -p "$work/www"
head -c 512 /dev/urandom | base64 >"$work/www/index.html"
pids+=("$(start_nginx $http_port "$work/www" "$work/nginx")")

wrk_rps() { wrk "$@" 2>/dev/null | awk '/Requests\/sec/ {print $2}'; }
wrk_pct() {  # wrk_pct PERCENTILE args...: latency in microseconds at that percentile
  local p=$1
  shift
  wrk --latency "$@" 2>/dev/null | awk -v p="$p%" '$1 == p {
    v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
    if (u == "ms") v *= 1000; else if (u == "s") v *= 1000000; printf "%.1f", v }'
}
url_d="http://127.0.0.1:$http_port/index.html"
url_p="http://127.0.0.1:$http_proxy/index.html"
ka_d=$(wrk_rps -t2 -c50 -d"${secs}s" "$url_d")
ka_p=$(wrk_rps -t2 -c50 -d"${secs}s" "$url_p")
printf '%-34s %12s %12s %8s\n' "keep-alive requests/s (wrk, 50c)" "$ka_d" "$ka_p" "$(ratio "$ka_p" "$ka_d")"
nc_d=$(wrk_rps -t2 -c20 -d"${secs}s" -H "Connection: close" "$url_d")
nc_p=$(wrk_rps -t2 -c20 -d"${secs}s" -H "Connection: close" "$url_p")
printf '%-34s %12s %12s %8s\n' "new connections/s (Connection: close)" "$nc_d" "$nc_p" "$(ratio "$nc_p" "$nc_d")"
p50_d=$(wrk_pct 50 -t1 -c1 -d"${secs}s" "$url_d")
p50_p=$(wrk_pct 50 -t1 -c1 -d"${secs}s" "$url_p")
p99_d=$(wrk_pct 99 -t1 -c1 -d"${secs}s" "$url_d")
p99_p=$(wrk_pct 99 -t1 -c1 -d"${secs}s" "$url_p")
printf '%-34s %12s %12s %8s\n' "p50 latency, µs (1 connection)" "$p50_d" "$p50_p" \
  "+$(awk -v a="$p50_p" -v b="$p50_d" 'BEGIN{printf "%.1f", a-b}')"
printf '%-34s %12s %12s %8s\n' "p99 latency, µs (1 connection)" "$p99_d" "$p99_p" \
  "+$(awk -v a="$p99_p" -v b="$p99_d" 'BEGIN{printf "%.1f", a-b}')"
printf '%-34s %12s %12s\n' "proxy RSS idle, MB" "-" "$(awk -v k="$rss_idle_kb" 'BEGIN{printf "%.1f", k/1024}')"
printf '%-34s %12s %12s\n' "proxy RSS after the runs, MB" "-" \
  "$(awk '/VmRSS/ {printf "%.1f", $2/1024}' /proc/$proxy_pid/status)"
echo
echo "toxic accuracy:"
python3 bench/proxy/toxic_accuracy.py "$bin" 1000 | sed 's/^/  /'
echo
echo "admin API under toxic churn (1000 streaming connections, 100 changes/s):"
python3 tests/e2e/test_churn.py --binary "$bin" --backend "$backend" --connections 1000 \
  --seconds "$secs" --report 2>/dev/null | sed -n 1p | sed 's/^/  /'
