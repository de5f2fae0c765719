#!/usr/bin/env bash
# Starts or stops the stand-in for the service the k6 suite tests: Debian's nginx serving the
# HTTP API's routes (stand-in/nginx.conf.in) and Debian's websocketd echoing every WebSocket
# message back (JSON-RPC requests come back with their id, so round trips can be timed).
#
#   tests/load/stand-in.sh start DIR [HTTP_PORT] [WS_PORT]   # defaults 9200 and 9100
#   tests/load/stand-in.sh stop DIR
#
# Then: CCA_HTTP_URL=http://127.0.0.1:HTTP_PORT CCA_WS_URL=ws://127.0.0.1:WS_PORT
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cmd="${1:-}"
dir="${2:-}"
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop DIR [HTTP_PORT] [WS_PORT]" >&2
  exit 2
fi
case "$cmd" in
  start)
    http_port="${3:-9200}"
    ws_port="${4:-9100}"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    user=""
    [ "$(id -u)" = 0 ] && user="user root;"
    sed -e "s|@DIR@|$dir|g" -e "s|@HTTP_PORT@|$http_port|g" -e "s|@USER@|$user|" \
        -e "s|@API_KEY@|${CCA_API_KEY:-test-api-key}|" "$here/stand-in/nginx.conf.in" >"$dir/nginx.conf"
    nginx -c "$dir/nginx.conf" -p "$dir"
    websocketd --address=127.0.0.1 --port="$ws_port" --loglevel=error cat >"$dir/websocketd.log" 2>&1 &
    echo $! >"$dir/websocketd.pid"
    for _ in $(seq 100); do
      if curl -sf "http://127.0.0.1:$http_port/health" >/dev/null &&
         (exec 3<>"/dev/tcp/127.0.0.1/$ws_port") 2>/dev/null; then
        echo "stand-in: http://127.0.0.1:$http_port ws://127.0.0.1:$ws_port"
        exit 0
      fi
      sleep 0.1
    done
    echo "stand-in: did not start (see $dir)" >&2
    exit 1
    ;;
  stop)
    for pidfile in "$dir/nginx.pid" "$dir/websocketd.pid"; do
      if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
    done
    rm -f "$dir/nginx.pid" "$dir/websocketd.pid"
    ;;
  *)
    echo "usage: $0 start|stop DIR [HTTP_PORT] [WS_PORT]" >&2
    exit 2
    ;;
esac
