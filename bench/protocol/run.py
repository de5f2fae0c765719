#!/usr/bin/env python3
"""What the protocol toxics cost, measured side by side in one run against Debian's
redis-server and PostgreSQL on loopback:

- redis-benchmark (SET and GET, 50 clients; pipelined 16 deep, then one command at a time)
  directly, through faultline-proxy with no toxic, with a `redis` toxic whose command list
  matches none of them (every byte parsed, none changed), and with one whose command list
  matches every one and whose key pattern then rules it out (a glob per command);
  redis-benchmark stops at the first error reply, so failing commands are not measured;
- pgbench select-only (prepared statements, 4 clients) directly, through the proxy, and
  with a `postgres` toxic that matches nothing.

Each row: requests (or transactions) per second, its ratio to direct, and the proxy's CPU
microseconds per request. Medians of alternating rounds.

Usage: bench/protocol/run.py [seconds] [rounds]     (defaults 5 and 3; seconds per pgbench
run, redis-benchmark runs a fixed count)"""

import json
import os
import re
import subprocess
import sys
import urllib.request

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from datastores import PostgresServer, RedisServer  # noqa: E402
from harness import Proxy, free_port  # noqa: E402

PROXY = os.path.join(ROOT, "build", "proxy", "faultline-proxy")


def api(proxy, method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{proxy.port}{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(req) as r:
        return r.read()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def median(values):
    v = sorted(values)
    return v[len(v) // 2]


def redis_bench(port, pipeline, secs):
    """Requests/s of SET+GET over about `secs` seconds, and the request count."""
    n = 400000 if pipeline > 1 else 100000
    r = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set,get", "-n", str(n),
                        "-c", "50", "-P", str(pipeline), "-q"],
                       capture_output=True, text=True, timeout=secs * 20)
    rates = [float(x) for x in re.findall(r"([\d.]+) requests per second", r.stdout)]
    if len(rates) != 2:
        raise RuntimeError(f"redis-benchmark: {r.stdout} {r.stderr}")
    # Two tests of n requests each, one after the other.
    seconds = n / rates[0] + n / rates[1]
    return 2 * n / seconds, 2 * n


def pg_bench(port, secs):
    env = dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(port), PGUSER="postgres",
               PGDATABASE="postgres")
    r = subprocess.run(["pgbench", "-n", "-S", "-M", "prepared", "-c", "4", "-j", "2", "-T",
                        str(secs)], capture_output=True, text=True, env=env,
                       timeout=secs * 10)
    m = re.search(r"tps = ([\d.]+)", r.stdout)
    done = re.search(r"number of transactions actually processed: (\d+)", r.stdout)
    if not m or not done:
        raise RuntimeError(f"pgbench: {r.stdout} {r.stderr}")
    return float(m.group(1)), int(done.group(1))


def measure(run, proxy_pid):
    before = cpu_seconds(proxy_pid)
    rate, count = run()
    spent = cpu_seconds(proxy_pid) - before
    return rate, spent / count * 1e6


def main():
    secs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    if not os.path.exists(PROXY):
        subprocess.run([os.path.join(ROOT, "scripts", "build.sh"), "release"], check=True,
                       stdout=subprocess.DEVNULL)
    redis = RedisServer()
    pg = PostgresServer()
    proxy = Proxy(PROXY, "auto", free_port())
    try:
        rport, pport = free_port(), free_port()
        api(proxy, "POST", "/proxies", {"name": "redis", "listen": f"127.0.0.1:{rport}",
                                        "upstream": f"127.0.0.1:{redis.port}"})
        api(proxy, "POST", "/proxies", {"name": "pg", "listen": f"127.0.0.1:{pport}",
                                        "upstream": f"127.0.0.1:{pg.port}"})
        env = dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(pg.port), PGUSER="postgres")
        subprocess.run(["pgbench", "-i", "-q", "-s", "4", "postgres"], env=env, check=True,
                       capture_output=True)
        pid = proxy.proc.pid

        def redis_toxic(body):
            api(proxy, "POST", "/proxies/redis/toxics", body)

        def clear(name):
            api(proxy, "POST", "/reset")
            if name == "redis-none":
                redis_toxic({"name": "t", "type": "redis",
                             "attributes": {"commands": "FLUSHALL", "error": "ERR x"}})
            if name == "redis-keys":
                redis_toxic({"name": "t", "type": "redis",
                             "attributes": {"commands": "SET,GET", "keys": "nomatch:*",
                                            "error": "ERR x"}})
            if name == "pg-none":
                api(proxy, "POST", "/proxies/pg/toxics",
                    {"name": "t", "type": "postgres",
                     "attributes": {"query": "*no such table*", "code": "40001"}})

        rows = []

        def compare(load, cases, bench):
            """Alternating rounds of every case; one row per case, medians."""
            results = {name: ([], []) for name, _, _ in cases}
            for _ in range(rounds):
                for name, port, setup in cases:
                    if setup:
                        clear(setup)
                    rate, us = measure(lambda: bench(port), pid)
                    results[name][0].append(rate)
                    results[name][1].append(us)
            base = median(results["direct"][0])
            for name, _, setup in cases:
                rate = median(results[name][0])
                us = median(results[name][1]) if setup else None
                rows.append((load, name, rate, rate / base, us))

        for pipeline in (16, 1):
            compare(f"redis SET+GET -c 50 -P {pipeline}",
                    [("direct", redis.port, None), ("proxied", rport, "plain"),
                     ("redis toxic, no match", rport, "redis-none"),
                     ("redis toxic, key glob per command", rport, "redis-keys")],
                    lambda port, p=pipeline: redis_bench(port, p, secs))
        compare("pgbench -S -M prepared -c 4",
                [("direct", pg.port, None), ("proxied", pport, "plain"),
                 ("postgres toxic, no match", pport, "pg-none")],
                lambda port: pg_bench(port, secs))

        print(f"protocol toxics ({os.cpu_count()} cores, {secs} s per measurement, median of "
              f"{rounds} rounds)\n")
        print(f"{'load':32} {'path':32} {'per second':>12} {'× direct':>9} {'proxy µs/req':>13}")
        for load, name, rate, ratio, us in rows:
            cpu = f"{us:.1f}" if us is not None else "-"
            print(f"{load:32} {name:32} {rate:12.0f} {ratio:9.2f} {cpu:>13}")
    finally:
        proxy.stop()
        pg.stop()
        redis.stop()


if __name__ == "__main__":
    main()
