# shellcheck shell=bash
# Shell helpers shared by demo.sh and the benchmarks. Source it; the sourcing script sets
# $work (a temporary folder) before calling cleanup_on_exit.

# Background processes started by a script; cleanup_on_exit kills them and removes $work.
pids=()
cleanup_on_exit() {
  # shellcheck disable=SC2154 # $p is the trap's own loop variable; $work is the caller's
  trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"' EXIT
}

# wait_port PORT [SECONDS]: waits until something listens on 127.0.0.1:PORT.
wait_port() {
  local port=$1 deadline=$((SECONDS + ${2:-10}))
  while ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "nothing listens on port $port" >&2
      return 1
    fi
    sleep 0.05
  done
}

# start_nginx PORT ROOT WORKDIR: serves ROOT on 127.0.0.1:PORT (keep-alive, no access log);
# prints the pid of the master process.
start_nginx() {
  local port=$1 root=$2 dir=$3
  mkdir -p "$dir"
  # As root, nginx's workers would otherwise drop to a user that cannot read private
  # temporary directories.
  local user=""
  [ "$(id -u)" -eq 0 ] && user="user root;"
  cat >"$dir/nginx.conf" <<CONF
$user
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  server {
    listen 127.0.0.1:$port;
    root $root;
  }
}
CONF
  nginx -c "$dir/nginx.conf" -p "$dir" >/dev/null 2>&1 &
  echo $!
  wait_port "$port"
}
