#!/usr/bin/env bash
# Installs every Debian package that building and testing Faultline needs.
# Idempotent: runs apt-get only when something is missing, and stays quiet otherwise.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config clang-format clang libclang-rt-14-dev
  libasio-dev node-llhttp libsimdjson-dev prometheus-cpp-dev liburing-dev libcli11-dev catch2
  libmozjs-102-dev zlib1g-dev libssl-dev openssl websocketd
  nodejs python3 python3-yaml python3-redis python3-psycopg2 curl jq procps iproute2 strace shellcheck
  redis-server redis-tools nginx-light postgresql postgresql-client prometheus iperf3 wrk
  haproxy apache2-utils
  podman runc netavark aardvark-dns iptables debootstrap docker-compose
  libprotobuf-dev protobuf-compiler libsnappy-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# npm comes with nodejs on some machines (NodeSource builds); only ask for the
# Debian package when the command is absent.
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]} (run as root or install them)" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packages that ship services must not start them during install (tests start their own).
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod +x "$policy"
  created_policy=1
fi
trap '[ "$created_policy" = 1 ] && rm -f "$policy"' EXIT
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
