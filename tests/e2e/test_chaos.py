#!/usr/bin/env python3
"""End to end: scripts/run-chaos.sh drives faultline-proxy in front of a real redis-server
and a real PostgreSQL, and the real clients (redis-benchmark, redis-cli, pgbench, psql)
show each experiment's effect and its recovery:

- latency raises the per-operation latency by about the injected amount, and only on the
  proxy it targets; network-jitter spreads it on both;
- timeout stalls a request, then the connection closes after the toxic's timeout;
- down refuses new connections and breaks open ones;
- after every experiment, after `all`, after Ctrl-C (SIGINT) and SIGTERM in the middle of
  one and after an API error, GET /proxies shows no toxic the script added and every proxy
  enabled, and the clients work at full speed again.

Also: proxies created when missing, `clear`, `list`, `status`, an unreachable API, an
unknown experiment, TOXIPROXY_API, and the curl + jq calls our users' own chaos script
makes. Margins are wide: the checks separate "no fault" (a few ms) from "fault" (hundreds
of ms, or a failure), so a loaded machine does not make them flake."""

import argparse
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from datastores import PostgresServer, RedisServer  # noqa: E402
from harness import Checker, Proxy, free_port  # noqa: E402

HOST = "127.0.0.1"


class Chaos:
    def __init__(self, script, proxy, redis, pg):
        self.script = script
        self.proxy = proxy
        self.redis_port = free_port()
        self.pg_port = free_port()
        self.env = dict(os.environ)
        self.env.pop("TOXIPROXY_API", None)
        self.env.update({
            "TOXIPROXY_URL": f"http://{HOST}:{proxy.port}",
            "REDIS_LISTEN": f"{HOST}:{self.redis_port}",
            "REDIS_UPSTREAM": f"{HOST}:{redis.port}",
            "POSTGRES_LISTEN": f"{HOST}:{self.pg_port}",
            "POSTGRES_UPSTREAM": f"{HOST}:{pg.port}",
            # Short timeouts keep the test quick; the sizes are the script's variables.
            "REDIS_TIMEOUT_MS": "1500",
            "POSTGRES_TIMEOUT_MS": "1500",
        })

    def run(self, *args, env=None, timeout=120):
        return subprocess.run([self.script, *args], env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=timeout)

    def start(self, *args, env=None, session=False):
        return subprocess.Popen([self.script, *args], env={**self.env, **(env or {})},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=session)

    def proxies(self):
        status, body = self.proxy.json("GET", "/proxies")
        assert status == 200, status
        return body

    def wait_for(self, cond, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if cond(self.proxies()):
                return True
            time.sleep(0.05)
        return False


def toxics_of(proxies, name):
    return sorted(t["name"] for t in proxies.get(name, {}).get("toxics", []))


def clean(check, chaos, what):
    """No toxic anywhere and every proxy enabled."""
    proxies = chaos.proxies()
    left = {n: toxics_of(proxies, n) for n in proxies if toxics_of(proxies, n)}
    disabled = sorted(n for n, p in proxies.items() if not p["enabled"])
    check.check(not left and not disabled,
                f"{what}: nothing left behind (toxics {left}, disabled {disabled})")


# ---- the clients ----------------------------------------------------------------------

def redis_bench(port, n):
    """redis-benchmark, one connection, n PINGs: (latency dict in ms, None) or (None, error)."""
    r = subprocess.run(["redis-benchmark", "-h", HOST, "-p", str(port), "-c", "1", "-n", str(n),
                        "--csv", "ping"], capture_output=True, text=True, timeout=120)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith('"ping"')]
    if r.returncode != 0 or not lines:
        return None, (r.stdout + r.stderr).strip()
    fields = [float(x.strip('"')) for x in lines[-1].split(",")[1:]]
    return dict(zip(["rps", "avg", "min", "p50", "p95", "p99", "max"], fields)), None


def redis_ping(port, timeout=30):
    t = time.time()
    r = subprocess.run(["redis-cli", "-h", HOST, "-p", str(port), "ping"], capture_output=True,
                       text=True, timeout=timeout)
    return r.stdout.strip() == "PONG", time.time() - t, (r.stdout + r.stderr).strip()


def pg_bench(port, n, workdir):
    """pgbench, one connection, n transactions of SELECT 1: (average ms, None) or (None, error)."""
    script = os.path.join(workdir, "select1.sql")
    with open(script, "w") as f:
        f.write("SELECT 1;\n")
    r = subprocess.run(["pgbench", "-h", HOST, "-p", str(port), "-U", "postgres", "-n", "-c", "1",
                        "-t", str(n), "-f", script, "postgres"], capture_output=True, text=True,
                       timeout=120)
    for line in r.stdout.splitlines():
        if line.startswith("latency average = ") and r.returncode == 0:
            return float(line.split("=")[1].split()[0]), None
    return None, (r.stdout + r.stderr).strip()


def psql(port, sql="SELECT 41 + 1", timeout=30):
    t = time.time()
    r = subprocess.run(["psql", "-X", "-At", "-h", HOST, "-p", str(port), "-U", "postgres", "-c",
                        sql], capture_output=True, text=True, timeout=timeout)
    return r.stdout.strip() == "42", time.time() - t, (r.stdout + r.stderr).strip()


def healthy(check, chaos, workdir, what):
    """Both datastores answer quickly through their proxies."""
    lat, err = redis_bench(chaos.redis_port, 10)
    check.check(lat is not None and lat["p50"] < 60, f"{what}: redis p50 fast ({lat or err})")
    avg, err = pg_bench(chaos.pg_port, 10, workdir)
    check.check(avg is not None and avg < 60, f"{what}: postgres latency fast ({avg or err})")
    return lat, avg


def finish(check, proc, what, timeout=60, code=0):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        print(f"{what}: still running after {timeout} s; its output: {out[-600:]!r}", flush=True)
    check.equal(proc.returncode, code, f"{what}: exit status (stderr: {err.strip()[-300:]})")
    return out, err


# ---- the experiments ------------------------------------------------------------------

def test_creation_and_baseline(check, chaos, workdir):
    r = chaos.run("list")
    check.equal((r.returncode, r.stdout.strip()), (0, "no proxies"), "list with no proxies")
    r = chaos.run("network-jitter", "1")
    check.equal(r.returncode, 0, f"network-jitter 1 s: exit (stderr {r.stderr!r})")
    check.check(f"redis: created proxy {chaos.env['REDIS_LISTEN']} -> "
                f"{chaos.env['REDIS_UPSTREAM']}" in r.stdout, "redis proxy created from env")
    check.check("postgres: created proxy" in r.stdout, "postgres proxy created")
    proxies = chaos.proxies()
    check.equal(sorted(proxies), ["postgres", "redis"], "both proxies exist")
    check.equal(proxies["postgres"]["upstream"], chaos.env["POSTGRES_UPSTREAM"], "postgres upstream")
    clean(check, chaos, "network-jitter 1 s")
    lat, avg = healthy(check, chaos, workdir, "baseline")
    print(f"baseline through the proxies: redis p50 {lat and lat['p50']} ms, postgres average "
          f"{avg} ms", flush=True)


def test_latency(check, chaos, workdir, target):
    proc = chaos.start(f"{target}-latency", "8")
    check.check(chaos.wait_for(lambda p: toxics_of(p, target) == ["latency"]),
                f"{target}-latency: toxic present")
    toxic = chaos.proxies()[target]["toxics"][0]
    expected = (200, 100) if target == "redis" else (300, 150)
    check.equal((toxic["type"], toxic["stream"], toxic["attributes"]["latency"],
                 toxic["attributes"]["jitter"]), ("latency", "downstream", *expected),
                f"{target}-latency: the toxic")
    lat, err = redis_bench(chaos.redis_port, 6)
    avg, perr = pg_bench(chaos.pg_port, 6, workdir)
    print(f"{target}-latency: redis p50 {lat and lat['p50']} ms, postgres average {avg} ms",
          flush=True)
    if target == "redis":
        # 200 ms +/- 100 ms a reply.
        check.check(lat is not None and 90 <= lat["p50"] <= 450,
                    f"redis-latency: redis p50 within 100-300 ms and a margin ({lat or err})")
        check.check(avg is not None and avg < 60, f"redis-latency: postgres untouched ({avg or perr})")
    else:
        check.check(avg is not None and 140 <= avg <= 700,
                    f"postgres-latency: postgres average within 150-450 ms and a margin "
                    f"({avg or perr})")
        check.check(lat is not None and lat["p50"] < 60,
                    f"postgres-latency: redis untouched ({lat or err})")
    out, _ = finish(check, proc, f"{target}-latency")
    check.check("left" in out and f"{target}: removed toxic latency" in out,
                f"{target}-latency: prints the time left and the removal ({out!r})")
    clean(check, chaos, f"{target}-latency")
    healthy(check, chaos, workdir, f"after {target}-latency")


def test_timeout(check, chaos, workdir, target):
    proc = chaos.start(f"{target}-timeout", "6")
    check.check(chaos.wait_for(lambda p: toxics_of(p, target) == ["timeout"]),
                f"{target}-timeout: toxic present")
    if target == "redis":
        ok, elapsed, out = redis_ping(chaos.redis_port)
    else:
        ok, elapsed, out = psql(chaos.pg_port)
    print(f"{target}-timeout: request failed after {elapsed:.2f} s: {out.splitlines()[-1:]}",
          flush=True)
    check.check(not ok and 1.2 <= elapsed <= 5.0,
                f"{target}-timeout: the request stalls, then the connection closes after "
                f"about 1.5 s (ok={ok}, {elapsed:.2f} s, {out!r})")
    finish(check, proc, f"{target}-timeout")
    clean(check, chaos, f"{target}-timeout")
    healthy(check, chaos, workdir, f"after {target}-timeout")


def test_down(check, chaos, workdir, target):
    # An open connection first: redis-cli repeating PING, or an interactive psql session.
    if target == "redis":
        held = subprocess.Popen(["redis-cli", "-h", HOST, "-p", str(chaos.redis_port), "-r", "60",
                                 "-i", "0.2", "ping"], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        first = held.stdout.readline().strip()
    else:
        held = subprocess.Popen(["psql", "-X", "-At", "-h", HOST, "-p", str(chaos.pg_port), "-U",
                                 "postgres", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        held.stdin.write("SELECT 41 + 1;\n")
        held.stdin.flush()
        first = held.stdout.readline().strip()
    check.equal(first, "PONG" if target == "redis" else "42", f"{target}-down: open connection works")
    proc = chaos.start(f"{target}-down", "5")
    check.check(chaos.wait_for(lambda p: not p[target]["enabled"]), f"{target}-down: disabled")
    if target == "redis":
        ok, _, out = redis_ping(chaos.redis_port)
    else:
        ok, _, out = psql(chaos.pg_port)
    check.check(not ok and "refused" in out.lower(),
                f"{target}-down: a new connection is refused ({out!r})")
    if target == "postgres":
        try:
            held.stdin.write("SELECT 41 + 1;\n")
            held.stdin.flush()
        except BrokenPipeError:
            pass
        try:
            held.stdin.close()
        except BrokenPipeError:
            pass
        held.stdin = None
    try:
        rest, _ = held.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        held.kill()
        rest, _ = held.communicate()
    check.check(held.returncode != 0 and ("closed" in rest or "lost" in rest),
                f"{target}-down: the open connection fails (exit {held.returncode}, {rest[-200:]!r})")
    out, _ = finish(check, proc, f"{target}-down")
    check.check(f"{target}: enabled again" in out, f"{target}-down: re-enabled ({out!r})")
    clean(check, chaos, f"{target}-down")
    healthy(check, chaos, workdir, f"after {target}-down")


def test_network_jitter(check, chaos, workdir):
    proc = chaos.start("network-jitter", "8")
    check.check(chaos.wait_for(lambda p: toxics_of(p, "redis") == ["jitter"] and
                               toxics_of(p, "postgres") == ["jitter"]),
                "network-jitter: a toxic on every proxy")
    lat, err = redis_bench(chaos.redis_port, 30)
    print(f"network-jitter: redis min/p50/max {lat and (lat['min'], lat['p50'], lat['max'])} ms",
          flush=True)
    # 50 ms +/- 100 ms: replies take anything from 0 to 150 ms.
    check.check(lat is not None and lat["max"] - lat["min"] >= 40 and lat["max"] >= 60,
                f"network-jitter: redis latency spread ({lat or err})")
    avg, perr = pg_bench(chaos.pg_port, 10, workdir)
    check.check(avg is not None and avg >= 15, f"network-jitter: postgres slowed ({avg or perr})")
    finish(check, proc, "network-jitter")
    clean(check, chaos, "network-jitter")


def test_all(check, chaos, workdir):
    proc = chaos.start("all", "2")
    seen = set()
    deadline = time.time() + 90
    while proc.poll() is None and time.time() < deadline:
        for name, p in chaos.proxies().items():
            seen.update(f"{name}:{t['name']}" for t in p["toxics"])
            if not p["enabled"]:
                seen.add(f"{name}:down")
        time.sleep(0.1)
    finish(check, proc, "all")
    check.equal(sorted(seen), ["postgres:down", "postgres:jitter", "postgres:latency",
                               "postgres:timeout", "redis:down", "redis:jitter", "redis:latency",
                               "redis:timeout"], "all: every fault was injected in turn")
    clean(check, chaos, "all")
    healthy(check, chaos, workdir, "after all")


def test_signals(check, chaos):
    """SIGINT and SIGTERM to the script alone (kill, a CI runner cancelling a job) at
    several moments — at once, and in the middle of the countdown — and SIGINT to its whole
    process group, as Ctrl-C on a terminal sends it."""
    both_jitter = lambda p: toxics_of(p, "postgres") == ["jitter"] and \
        toxics_of(p, "redis") == ["jitter"]  # noqa: E731
    for sig, code, experiment, present, delay, group in [
            (signal.SIGINT, 130, "redis-latency", lambda p: toxics_of(p, "redis") == ["latency"],
             0, False),
            (signal.SIGINT, 130, "redis-latency", lambda p: toxics_of(p, "redis") == ["latency"],
             1.5, False),
            (signal.SIGTERM, 143, "postgres-down", lambda p: not p["postgres"]["enabled"], 0, False),
            (signal.SIGTERM, 143, "postgres-down", lambda p: not p["postgres"]["enabled"], 1.5,
             False),
            (signal.SIGINT, 130, "network-jitter", both_jitter, 0, False),
            (signal.SIGINT, 130, "network-jitter", both_jitter, 2.5, False),
            (signal.SIGINT, 130, "postgres-latency",
             lambda p: toxics_of(p, "postgres") == ["latency"], 1.2, True)]:
        what = f"{experiment} + {sig.name}{' to the group' if group else ''} after {delay} s"
        proc = chaos.start(experiment, "60", session=group)
        check.check(chaos.wait_for(present), f"{what}: fault present first")
        time.sleep(delay)
        t = time.time()
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        finish(check, proc, what, timeout=30, code=code)
        check.check(time.time() - t < 10, f"{what}: stops promptly ({time.time() - t:.1f} s)")
        clean(check, chaos, what)


def test_api_error(check, chaos):
    # A toxic named like the one network-jitter adds already exists on redis: the script
    # adds its toxic to postgres first (names in order), then the API refuses redis's.
    status, _ = chaos.proxy.json("POST", "/proxies/redis/toxics", {
        "name": "jitter", "type": "latency", "attributes": {"latency": 1}})
    check.equal(status, 200, "a toxic of someone else's on redis")
    r = chaos.run("network-jitter", "30")
    check.equal(r.returncode, 1, f"network-jitter against a taken name: exit ({r.stdout!r})")
    check.check("HTTP 409" in r.stderr and "already exists" in r.stderr,
                f"network-jitter: the API's refusal is shown ({r.stderr!r})")
    proxies = chaos.proxies()
    check.equal((toxics_of(proxies, "postgres"), toxics_of(proxies, "redis")), ([], ["jitter"]),
                "the API error removed what the script added and left the other toxic alone")
    r = chaos.run("status")
    check.check(r.returncode == 0 and "1 fault(s) active" in r.stdout, f"status shows it ({r.stdout!r})")
    # clear removes every toxic and enables every proxy, whoever added them.
    chaos.proxy.json("POST", "/proxies/postgres", {"enabled": False})
    chaos.proxy.json("POST", "/proxies/postgres/toxics", {"type": "timeout", "attributes": {}})
    r = chaos.run("clear")
    check.check(r.returncode == 0 and "redis: removed toxic jitter" in r.stdout and
                "postgres: enabled" in r.stdout, f"clear ({r.stdout!r}, {r.stderr!r})")
    clean(check, chaos, "clear")
    r = chaos.run("status")
    check.check(r.returncode == 0 and "no fault active" in r.stdout and
                r.stdout.startswith("API "), f"status when clean ({r.stdout!r})")


class RefusingApi:
    """An API in front of faultline-proxy's that passes every call through, except that it
    answers the next `failures` DELETEs of a toxic with a 500 (a server that cannot undo)."""

    def __init__(self, upstream_port):
        import http.client
        import http.server
        import threading
        outer = self
        self.failures = 0
        self.deletes = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if self.command == "DELETE" and "/toxics/" in self.path:
                    outer.deletes += 1
                    if outer.failures > 0:
                        outer.failures -= 1
                        payload = b'{"error":"simulated storage failure","status":500}\n'
                        self.send_response(500)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", str(len(payload)))
                        self.end_headers()
                        self.wfile.write(payload)
                        return
                conn = http.client.HTTPConnection(HOST, upstream_port, timeout=30)
                conn.request(self.command, self.path, body=body,
                             headers={"Content-Type": "application/json"} if body else {})
                resp = conn.getresponse()
                payload = resp.read()
                conn.close()
                self.send_response(resp.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = do_PATCH = forward

        self.server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_refused_removal(check, chaos):
    """The API refuses to remove the toxic at the end of the experiment: the script says so,
    tries again from its exit cleanup and exits 1; what it could not remove is named."""
    api = RefusingApi(chaos.proxy.port)
    try:
        env = {"TOXIPROXY_URL": f"http://{HOST}:{api.port}"}
        # Refused once: the exit cleanup's second try removes the toxic.
        api.failures, api.deletes = 1, 0
        r = chaos.run("redis-latency", "1", env=env)
        check.equal(r.returncode, 1, f"a refused removal fails the run ({r.stdout!r})")
        check.check("HTTP 500: simulated storage failure" in r.stderr,
                    f"the API's refusal is shown ({r.stderr!r})")
        check.check("redis: removed toxic latency" in r.stdout and api.deletes == 2,
                    f"the exit cleanup tried again and removed it ({api.deletes} deletes)")
        check.equal(toxics_of(chaos.proxies(), "redis"), [], "nothing left behind")
        # Refused every time: the run says what is left and how to look.
        api.failures, api.deletes = 100, 0
        r = chaos.run("redis-latency", "1", env=env)
        check.equal(r.returncode, 1, "a removal refused for good fails the run")
        check.check("cleanup failed: check the proxies with" in r.stderr and api.deletes == 2,
                    f"the cleanup failure is reported after a second try ({r.stderr!r})")
        check.equal(toxics_of(chaos.proxies(), "redis"), ["latency"],
                    "the toxic the API kept is still there")
        api.failures = 0
        r = chaos.run("clear", env=env)
        check.equal(r.returncode, 0, "clear removes it once the API accepts")
        clean(check, chaos, "after the refused removals")
    finally:
        api.close()


def test_usage(check, chaos):
    dead = f"http://{HOST}:{free_port()}"
    r = chaos.run("status", env={"TOXIPROXY_URL": dead})
    check.check(r.returncode == 2 and "cannot reach the API at " + dead in r.stderr,
                f"unreachable API: exit 2 and a clear message ({r.returncode}, {r.stderr!r})")
    r = chaos.run("redis-latency", "5", env={"TOXIPROXY_URL": dead})
    check.equal(r.returncode, 2, "an experiment against an unreachable API")
    r = chaos.run("no-such-thing")
    check.check(r.returncode == 2 and "unknown experiment 'no-such-thing'" in r.stderr and
                "redis-latency" in r.stderr, f"unknown experiment ({r.stderr[:200]!r})")
    r = chaos.run("redis-latency", "soon")
    check.equal(r.returncode, 2, "a SECONDS that is not a number")
    env = {k: v for k, v in chaos.env.items() if k != "TOXIPROXY_URL"}
    env["TOXIPROXY_API"] = chaos.env["TOXIPROXY_URL"]
    r = subprocess.run([chaos.script, "list"], env=env, capture_output=True, text=True, timeout=60)
    check.check(r.returncode == 0 and r.stdout.startswith("postgres\t") and "\nredis\t" in r.stdout,
                f"TOXIPROXY_API is read as well ({r.stdout!r}, {r.stderr!r})")
    clean(check, chaos, "usage errors")


# The calls our users' own chaos script makes (curl -s and jq against TOXIPROXY_API):
# version check, proxy names, a toxic on the default stream, listing toxic names to remove
# them, and down as a partial update of `enabled`.
USERS_CALLS = r'''
set -eu
api=$TOXIPROXY_API
curl -s "$api/version" >/dev/null
names=$(curl -s "$api/proxies" | jq -r 'keys[]' | tr '\n' ' ')
echo "proxies: $names"
curl -s -X POST "$api/proxies/redis/toxics" -H 'Content-Type: application/json' \
  -d '{"name":"latency","type":"latency","attributes":{"latency":200,"jitter":100}}' |
  jq -r '"added \(.name) \(.stream) \(.attributes.latency)"'
curl -s -X POST "$api/proxies/redis" -d '{"enabled": false}' | jq -r '"enabled=\(.enabled)"'
for p in redis postgres; do
  for t in $(curl -s "$api/proxies/$p/toxics" | jq -r '.[].name'); do
    curl -s -X DELETE "$api/proxies/$p/toxics/$t" -o /dev/null -w "removed $p/$t %{http_code}\n"
  done
done
curl -s -X POST "$api/proxies/redis" -d '{"enabled": true}' | jq -r '"enabled=\(.enabled)"'
'''


def test_users_calls(check, chaos):
    r = subprocess.run(["bash", "-c", USERS_CALLS], capture_output=True, text=True, timeout=60,
                       env={**chaos.env, "TOXIPROXY_API": chaos.env["TOXIPROXY_URL"]})
    check.equal((r.returncode, r.stdout),
                (0, "proxies: postgres redis \nadded latency downstream 200\nenabled=false\n"
                    "removed redis/latency 204\nenabled=true\n"),
                f"our users' curl + jq calls ({r.stderr!r})")
    clean(check, chaos, "users' calls")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True, help="faultline-proxy")
    ap.add_argument("--script", required=True, help="scripts/run-chaos.sh")
    ap.add_argument("--backend", default="auto")
    args = ap.parse_args()
    check = Checker(f"chaos-{args.backend}")
    redis = RedisServer()
    pg = PostgresServer()
    proxy = None
    try:
        proxy = Proxy(args.binary, args.backend, free_port())
        chaos = Chaos(os.path.abspath(args.script), proxy, redis, pg)
        test_creation_and_baseline(check, chaos, pg.dir)
        for target in ("redis", "postgres"):
            test_latency(check, chaos, pg.dir, target)
            test_timeout(check, chaos, pg.dir, target)
            test_down(check, chaos, pg.dir, target)
        test_network_jitter(check, chaos, pg.dir)
        test_all(check, chaos, pg.dir)
        test_signals(check, chaos)
        test_api_error(check, chaos)
        test_refused_removal(check, chaos)
        test_usage(check, chaos)
        test_users_calls(check, chaos)
        check.check(proxy.alive(), "faultline-proxy alive at the end")
    finally:
        if proxy:
            check.equal(proxy.stop(), 0, "faultline-proxy: clean exit on SIGTERM")
        redis.stop()
        pg.stop()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
