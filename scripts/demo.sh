#!/usr/bin/env bash
# A short demonstration: nginx as the target, faultline-proxy in front of it, load through
# the proxy (loadgen), then two faults injected through the Toxiproxy API, a latency toxic and
# "down" (the proxy disabled), each with its effect on the same load, then recovery. Last,
# one run with both faults injected while it runs, its results split by fault window
# (loadgen --fault-timeline, which reads the proxy's GET /events).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
echo "== building"
./scripts/build.sh release >/dev/null
source scripts/lib.sh

work=$(mktemp -d)
cleanup_on_exit

api_port=18474 target_port=18080 proxy_port=18081
mkdir -p "$work/www"
head -c 1024 /dev/urandom | base64 >"$work/www/index.html"
pids+=("$(start_nginx $target_port "$work/www" "$work/nginx")")

LOG_LEVEL=warn ./build/proxy/faultline-proxy -host 127.0.0.1 -port $api_port -proxy-metrics \
  >"$work/proxy.log" 2>&1 &
pids+=($!)
wait_port $api_port
api="http://127.0.0.1:$api_port"

echo "== faultline-proxy $(curl -s $api/version | tr -d '\n')"
echo "== creating proxy 'web' 127.0.0.1:$proxy_port -> nginx 127.0.0.1:$target_port"
curl -s -X POST "$api/proxies" \
  -d "{\"name\":\"web\",\"listen\":\"127.0.0.1:$proxy_port\",\"upstream\":\"127.0.0.1:$target_port\"}"
echo

load() {  # load LABEL: 2 s of HTTP load through the proxy with loadgen
  local export="$work/summary.json"
  rm -f "$export"
  ./build/loadgen/loadgen --quiet -u 8 -d 2s --summary-export "$export" \
    "http://127.0.0.1:$proxy_port/index.html" >/dev/null 2>"$work/loadgen.err" || true
  python3 - "$1" "$export" <<'PY'
import json, sys
m = json.load(open(sys.argv[2]))["metrics"]
d = m["http_req_duration"]
print(f"   {sys.argv[1]:<22} {m['http_reqs']['rate']:>9.0f} req/s   p50 {d['med']:8.2f} ms"
      f"   p95 {d['p(95)']:8.2f} ms   failed {100 * m['http_req_failed']['value']:.0f}%")
PY
}

echo "== load through the proxy (loadgen, 8 VUs, 2 s)"
load "healthy"
echo "== fault: 100 ms latency on responses (POST /proxies/web/toxics)"
curl -s -X POST "$api/proxies/web/toxics" \
  -d '{"name":"slow","type":"latency","stream":"downstream","attributes":{"latency":100,"jitter":0}}'
echo
load "latency 100 ms"
curl -s -X DELETE "$api/proxies/web/toxics/slow"
echo "== fault: proxy 'web' down (POST /proxies/web {\"enabled\":false})"
curl -s -X POST "$api/proxies/web" -d '{"enabled":false}'
echo
load "while down"
echo "== recovery (POST /proxies/web {\"enabled\":true})"
curl -s -X POST "$api/proxies/web" -d '{"enabled":true}' >/dev/null
load "after recovery"
echo "== bytes through the proxy (GET /metrics)"
curl -s "$api/metrics" | grep '^toxiproxy_proxy_sent_bytes_total' | sed 's/^/   /'

echo "== one run, faults injected while it runs: results per fault window (--fault-timeline)"
(
  sleep 1.5
  curl -s -X POST "$api/proxies/web/toxics" \
    -d '{"name":"slow","type":"latency","attributes":{"latency":100}}' >/dev/null
  sleep 1.5
  curl -s -X POST "$api/proxies/web" -d '{"enabled":false}' >/dev/null
  sleep 1.5
  curl -s -X DELETE "$api/proxies/web/toxics/slow"
  curl -s -X POST "$api/proxies/web" -d '{"enabled":true}' >/dev/null
) &
faults=$!
./build/loadgen/loadgen --quiet -u 8 -d 6s --fault-timeline "$api" \
  "http://127.0.0.1:$proxy_port/index.html" >"$work/timeline.out" 2>"$work/loadgen.err" || true
wait $faults
sed -n '/fault windows/,$p' "$work/timeline.out" | grep -v '^$'
