#!/usr/bin/env python3
"""Our k6 suite (tests/load) as users run it: `QUICK_MODE=true tests/load/run-all.sh` with
loadgen answering as `k6` through a symlink, against the stand-in target (Debian's nginx
with the service's routes, websocketd echoing WebSocket messages). Then the suite's own
failure path (thresholds broken: non-zero exit, the table says which), and a latency toxic
of faultline-proxy between loadgen and the echo server, which must raise
ws_message_latency by about its amount."""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Checker, Proxy, free_port  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LOAD = os.path.join(ROOT, "tests", "load")
SCRIPTS = ["baseline", "agent-spawning", "task-submission", "websocket-throughput",
           "postgres-queries", "redis-pubsub", "full-system"]
WS_METRICS = ["ws_connecting", "ws_sessions", "ws_session_duration", "ws_msgs_sent",
              "ws_msgs_received", "ws_ping", "ws_message_latency"]


class StandIn:
    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "stand-in")
        self.http_port, self.ws_port = free_port(), free_port()
        subprocess.run([os.path.join(LOAD, "stand-in.sh"), "start", self.dir, str(self.http_port),
                        str(self.ws_port)], check=True, stdout=subprocess.DEVNULL)

    def env(self):
        return {"CCA_HTTP_URL": f"http://127.0.0.1:{self.http_port}",
                "CCA_WS_URL": f"ws://127.0.0.1:{self.ws_port}"}

    def stop(self):
        subprocess.run([os.path.join(LOAD, "stand-in.sh"), "stop", self.dir], check=False)


def run_all(bindir, env, results, tests=None, timeout=600):
    full = dict(os.environ)
    full["PATH"] = bindir + os.pathsep + full["PATH"]
    full.update(env)
    full["QUICK_MODE"] = "true"
    full["RESULTS_DIR"] = results
    if tests:
        full["TESTS"] = tests
    t0 = time.time()
    p = subprocess.run([os.path.join(LOAD, "run-all.sh")], capture_output=True, text=True,
                       env=full, timeout=timeout)
    return p, time.time() - t0


def table_rows(out):
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] in SCRIPTS:
            rows[parts[0]] = parts
    return rows


def summary(results, name):
    path = os.path.join(results, f"{name}-summary.json")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def test_suite(bindir, stand_in, work, check):
    results = os.path.join(work, "results")
    p, elapsed = run_all(bindir, stand_in.env(), results)
    print(p.stdout)
    check.equal(p.returncode, 0, "QUICK_MODE=true run-all.sh passes against the stand-in")
    check.check("k6 suite: k6 v" in p.stdout, "run-all.sh ran loadgen through the k6 command")
    rows = table_rows(p.stdout)
    check.equal(sorted(rows), sorted(SCRIPTS), "one table row per script")
    check.check(all(r[1] == "passed" for r in rows.values()), "every script passed its thresholds")
    check.check(elapsed < 240, f"the quick suite stays quick ({elapsed:.0f} s)")
    for name in SCRIPTS:
        check.check(os.path.exists(os.path.join(results, f"{name}-summary.txt")) and summary(results, name),
                    f"{name}: handleSummary wrote its JSON and text files")
    data = summary(results, "websocket-throughput")
    metrics = data.get("metrics", {})
    for m in WS_METRICS:
        values = metrics.get(m, {}).get("values", {})
        if metrics.get(m, {}).get("type") == "counter":
            ok = values.get("count", 0) > 0
        else:
            ok = 0 <= values.get("min", -1) <= values.get("avg", -1) < 5000 and values.get("max", 0) > 0 \
                if m not in ("ws_message_latency",) else 0 <= values.get("avg", -1) < 500
        check.check(ok, f"{m} is in the summary with sane values ({values})")
    sent = metrics.get("ws_msgs_sent", {}).get("values", {}).get("count")
    got = metrics.get("ws_msgs_received", {}).get("values", {}).get("count")
    check.check(sent and got == sent, f"every JSON-RPC request was answered ({got} of {sent})")
    success = metrics.get("ws_message_success", {}).get("values", {}).get("rate")
    check.equal(success, 1, "ws_message_success counts every answer")
    full = summary(results, "full-system").get("metrics", {})
    check.check("http_req_duration{part:api}" in full and "ws_message_latency" in full,
                "full-system mixes HTTP and WebSocket scenarios with a tagged threshold")
    groups = [g.get("name") for g in summary(results, "baseline").get("root_group", {}).get("groups", [])]
    check.check("health" in groups and "api" in groups, f"baseline's groups are in the summary data ({groups})")


def test_failing_thresholds(bindir, stand_in, work, check):
    results = os.path.join(work, "results-fail")
    env = stand_in.env()
    env["CCA_API_KEY"] = "wrong-key"  # every API call gets 401
    p, _ = run_all(bindir, env, results, tests="baseline")
    check.check(p.returncode != 0, "a broken threshold makes run-all.sh exit non-zero")
    rows = table_rows(p.stdout)
    row = rows.get("baseline", [])
    check.equal(row[1:2], ["THRESHOLDS"], "the table says the thresholds failed")
    check.check("http_req_failed:rate<0.01" in p.stdout and "errors:rate<0.05" in p.stdout,
                "and which ones")


def test_latency_toxic(bindir, stand_in, work, proxy_binary, check):
    """ws_message_latency direct and through a 100 ms latency toxic, in one run each."""
    api = free_port()
    listen = free_port()
    proxy = Proxy(proxy_binary, "epoll", api)
    try:
        status, _, _ = proxy.request("POST", "/proxies", {
            "name": "acp", "listen": f"127.0.0.1:{listen}", "upstream": f"127.0.0.1:{stand_in.ws_port}"})
        check.equal(status, 201, "the proxy in front of the echo server is created")

        def latency(url, tag):
            results = os.path.join(work, f"results-{tag}")
            env = stand_in.env()
            env.update({"CCA_WS_URL": url, "WS_MESSAGES": "2"})
            p, _ = run_all(bindir, env, results, tests="websocket-throughput")
            values = summary(results, "websocket-throughput").get("metrics", {}) \
                .get("ws_message_latency", {}).get("values", {})
            return p.returncode, values.get("avg"), values.get("med")

        code, direct_avg, direct_med = latency(f"ws://127.0.0.1:{listen}", "direct")
        check.equal(code, 0, "through the proxy without toxics the script passes")
        status, _, _ = proxy.request("POST", "/proxies/acp/toxics", {
            "name": "slow", "type": "latency", "stream": "downstream", "attributes": {"latency": 100}})
        check.equal(status, 200, "a 100 ms latency toxic is added")
        code, slow_avg, slow_med = latency(f"ws://127.0.0.1:{listen}", "toxic")
        check.equal(code, 0, "100 ms stays within the 500 ms threshold")
        print(f"ws_message_latency median: {direct_med} ms without, {slow_med} ms with a 100 ms toxic")
        rise = (slow_med or 0) - (direct_med or 0)
        check.check(70 <= rise <= 250, f"the toxic raises ws_message_latency by about 100 ms ({rise:.1f} ms)")
    finally:
        proxy.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--proxy", required=True)
    args = ap.parse_args()
    check = Checker("load-suite")
    for tool in ("nginx", "websocketd", "jq"):
        if shutil.which(tool) is None:
            print(f"{tool} is missing (scripts/install-deps.sh installs it)")
            return 1
    work = tempfile.mkdtemp(prefix="load-suite-")
    bindir = os.path.join(work, "bin")
    os.makedirs(bindir)
    os.symlink(os.path.abspath(args.loadgen), os.path.join(bindir, "k6"))
    stand_in = StandIn(work)
    try:
        for test in (test_suite, test_failing_thresholds):
            started = time.time()
            test(bindir, stand_in, work, check)
            print(f"{test.__name__}: {time.time() - started:.1f} s", flush=True)
        started = time.time()
        test_latency_toxic(bindir, stand_in, work, args.proxy, check)
        print(f"test_latency_toxic: {time.time() - started:.1f} s", flush=True)
    finally:
        stand_in.stop()
        shutil.rmtree(work, ignore_errors=True)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
