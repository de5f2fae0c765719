#!/usr/bin/env python3
"""End-to-end checks of the protocol toxics (`redis`, `postgres`) in front of Debian's
redis-server and PostgreSQL, seen by real clients: redis-cli, redis-benchmark, psql,
pgbench, and the client libraries Debian packages (python3-redis, python3-psycopg2, run
with Debian's own interpreter). The client must see the error class a real server gives,
the session must stay usable, and traffic the toxic does not match must be untouched."""

import argparse
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from datastores import PostgresServer, RedisServer  # noqa: E402
from harness import Checker, Proxy, free_port  # noqa: E402
from test_proxy import metric  # noqa: E402

# The client libraries are Debian packages: they live in Debian's interpreter.
DEBIAN_PYTHON = "/usr/bin/python3"


def library(code, *args, timeout=120):
    """Runs `code` with Debian's python3 (argv[1:] = args); its stdout is JSON."""
    r = subprocess.run([DEBIAN_PYTHON, "-c", code, *map(str, args)], capture_output=True,
                       text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"client script failed: {r.stderr}")
    return json.loads(r.stdout)


def add_toxic(proxy, name, body):
    status, reply = proxy.json("POST", f"/proxies/{name}/toxics", body)
    if status != 200:
        raise RuntimeError(f"adding {body} failed: {status} {reply}")
    return reply


def redis_cli(port, *args):
    r = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
                       capture_output=True, text=True, timeout=30)
    return r.stdout.strip()


def command_calls(port, command):
    """How many times the server ran `command` (INFO commandstats), asked directly."""
    m = re.search(rf"cmdstat_{command}:calls=(\d+)", redis_cli(port, "info", "commandstats"))
    return int(m.group(1)) if m else 0


REDIS_PIPELINE = r"""
import json, sys, redis
r = redis.Redis(port=int(sys.argv[1]))
out = {}
try:
    r.set("user:1", "x")
    out["single"] = "no error"
except redis.exceptions.ReadOnlyError as e:
    out["single"] = "ReadOnlyError: " + str(e)
# 3000 pipelined pairs: every third SET is answered by the toxic; each reply must be the
# one of its own command, in order.
p = r.pipeline(transaction=False)
for i in range(3000):
    p.set(f"user:{i}" if i % 3 == 0 else f"k{i}", f"v{i}")
    p.get(f"k{i}")
res = p.execute(raise_on_error=False)
wrong = 0
for i in range(3000):
    s, g = res[2 * i], res[2 * i + 1]
    if i % 3 == 0:
        wrong += not isinstance(s, redis.exceptions.ReadOnlyError) or g is not None
    else:
        wrong += s is not True or g != f"v{i}".encode()
out["wrong"] = wrong
big = bytes(range(256)) * 4096  # 1 MiB, every byte value
r.set("big", big)
out["big_ok"] = r.get("big") == big
print(json.dumps(out))
"""

REDIS_LIVE = r"""
import json, sys, time, urllib.request, redis
r = redis.Redis(port=int(sys.argv[1]))
out = {"before": r.set("a", "1")}
req = urllib.request.Request(sys.argv[2], data=sys.argv[3].encode(), method="POST")
urllib.request.urlopen(req).read()
try:
    r.set("a", "2")
    out["after"] = "no error"
except redis.exceptions.BusyLoadingError as e:
    out["after"] = "BusyLoadingError: " + str(e)
out["get"] = r.get("a").decode()
print(json.dumps(out))
"""

REDIS_TIMES = r"""
import json, sys, time, redis
r = redis.Redis(port=int(sys.argv[1]))
r.set("a", "1")
times = {"get": [], "set": []}
for _ in range(10):
    for name, call in (("get", lambda: r.get("a")), ("set", lambda: r.set("a", "1"))):
        t0 = time.monotonic()
        call()
        times[name].append((time.monotonic() - t0) * 1000)
print(json.dumps(times))
"""


def check_redis(c, binary, backend):
    server = RedisServer()
    proxy = Proxy(binary, backend, free_port(), ["-proxy-metrics"])
    try:
        port = free_port()
        proxy.json("POST", "/proxies", {"name": "redis", "listen": f"127.0.0.1:{port}",
                                         "upstream": f"127.0.0.1:{server.port}"})
        add_toxic(proxy, "redis", {"name": "readonly", "type": "redis", "attributes": {
            "commands": "SET,DEL", "keys": "user:*",
            "error": "READONLY You can't write against a read only replica."}})

        # redis-cli: the error as a replica gives it; other commands untouched.
        c.equal(redis_cli(port, "set", "user:7", "x"),
                "READONLY You can't write against a read only replica.", "redis-cli SET user:7")
        c.equal(redis_cli(port, "set", "session:7", "x"), "OK", "redis-cli SET session:7")
        c.equal(redis_cli(port, "get", "session:7"), "x", "redis-cli GET session:7")
        c.equal(redis_cli(port, "get", "user:7"), "", "the answered SET never ran")

        # python3-redis: the exception class, 3000 pipelined pairs in order, 1 MiB intact.
        sets_before = command_calls(server.port, "set")
        got = library(REDIS_PIPELINE, port)
        c.equal(got["single"], "ReadOnlyError: You can't write against a read only replica.",
                "python3-redis raises ReadOnlyError")
        c.equal(got["wrong"], 0, "pipelined replies each belong to their own command")
        c.check(got["big_ok"], "a 1 MiB value with every byte value passes unchanged")
        # The server ran exactly the SETs the toxic did not answer (2000 + big).
        c.equal(command_calls(server.port, "set") - sets_before, 2001,
                "the server ran only the commands that did not match")

        # redis-benchmark, pipelined, through the toxic: every GET answered.
        r = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "get", "-n", "20000",
                            "-P", "16", "-q"], capture_output=True, text=True, timeout=60)
        c.check(r.returncode == 0 and "GET:" in r.stdout, "redis-benchmark GET -P 16 runs through")

        # Toxicity per command: about half of 400 SETs.
        proxy.request("DELETE", "/proxies/redis/toxics/readonly")
        add_toxic(proxy, "redis", {"name": "half", "type": "redis", "toxicity": 0.5,
                                    "attributes": {"commands": "set", "error": "ERR half"}})
        sets_before = command_calls(server.port, "set")
        script = ("\n".join(f"SET k{i} v" for i in range(400)) + "\n").encode()
        out = subprocess.run(["redis-cli", "-p", str(port)], input=script, capture_output=True,
                             timeout=30).stdout.decode()
        answered = out.count("ERR half")
        ran = command_calls(server.port, "set") - sets_before
        c.check(120 <= answered <= 280, f"toxicity 0.5 answers about half of 400 ({answered})")
        c.equal(ran + answered, 400, "every SET was either run or answered")
        # The proxy counted exactly those (3000 / 3 + 1 + 1 answered before, by readonly).
        failed = metric(proxy, r'faultline_proxy_toxic_requests_total\{action="failed",'
                               r'proxy="redis",type="redis"\}')
        c.equal(failed, float(answered + 1002), "faultline_proxy_toxic_requests_total counts them")

        # A toxic added while a connection is open acts on its next command.
        proxy.request("DELETE", "/proxies/redis/toxics/half")
        got = library(REDIS_LIVE, port, f"http://127.0.0.1:{proxy.port}/proxies/redis/toxics",
                      json.dumps({"name": "loading", "type": "redis", "attributes": {
                          "commands": "set",
                          "error": "LOADING Redis is loading the dataset in memory"}}))
        c.equal(got["before"], True, "SET before the toxic")
        c.equal(got["after"], "BusyLoadingError: Redis is loading the dataset in memory",
                "the same connection gets LOADING once the toxic is there")
        c.equal(got["get"], "1", "the answered SET never ran")

        # A delay slows the matching commands only.
        proxy.request("DELETE", "/proxies/redis/toxics/loading")
        add_toxic(proxy, "redis", {"name": "slow", "type": "redis",
                                    "attributes": {"commands": "GET", "delay": 80}})
        times = library(REDIS_TIMES, port)
        c.check(min(times["get"]) >= 78, f"every GET is delayed 80 ms (min {min(times['get']):.1f})")
        c.check(sorted(times["set"])[5] < 40,
                f"SETs are not delayed (median {sorted(times['set'])[5]:.1f} ms)")
    finally:
        proxy.stop()
        server.stop()


PG_ERRORS = r"""
import json, sys, psycopg2, psycopg2.errors
port = int(sys.argv[1])
out = {}
c = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
cur = c.cursor()
try:
    cur.execute("UPDATE accounts SET balance = balance - %s WHERE id = 1", (10,))
    out["update"] = "no error"
except psycopg2.Error as e:
    out["update"] = [type(e).__name__, e.pgcode, e.pgerror.splitlines()[0]]
c.rollback()
cur.execute("SELECT balance FROM accounts WHERE id = 1")
out["after"] = cur.fetchone()[0]
c.close()
print(json.dumps(out))
"""

PG_CONNECT = r"""
import json, sys, psycopg2
try:
    psycopg2.connect(host="127.0.0.1", port=int(sys.argv[1]), user="postgres", dbname="postgres")
    print(json.dumps("connected"))
except psycopg2.OperationalError as e:
    print(json.dumps(str(e).strip()))
"""

PG_TERMINATE = r"""
import json, sys, psycopg2
c = psycopg2.connect(host="127.0.0.1", port=int(sys.argv[1]), user="postgres", dbname="postgres")
cur = c.cursor()
try:
    cur.execute("SELECT 42")
    print(json.dumps("no error"))
except psycopg2.Error as e:
    print(json.dumps([type(e).__name__, str(e), c.closed != 0]))
"""


NODE_PG = r"""
const { Client } = require("pg");
(async () => {
  const c = new Client({ host: "127.0.0.1", port: Number(process.argv[1]), user: "postgres",
                         database: "postgres" });
  await c.connect();
  const out = {};
  await c.query("BEGIN");
  try {
    await c.query("UPDATE accounts SET balance = balance - $1 WHERE id = $2", [10, 1]);
    out.update = "no error";
  } catch (e) { out.update = [e.code, e.message]; }
  try { await c.query("SELECT $1::int AS n", [5]); out.inTx = "no error"; }
  catch (e) { out.inTx = [e.code, e.message]; }
  await c.query("ROLLBACK");
  out.after = (await c.query("SELECT balance FROM accounts WHERE id = $1", [1])).rows[0].balance;
  const named = { name: "upd", text: "UPDATE accounts SET balance = $1 WHERE id = 1",
                  values: [3] };
  for (let i = 0; i < 3; i++) {
    try { await c.query(named); out["named" + i] = "no error"; }
    catch (e) { out["named" + i] = e.code; }
  }
  out.last = (await c.query("SELECT 1 AS one")).rows[0].one;
  await c.end();
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
"""

NODE_MODULES = os.path.join(os.path.dirname(__file__), "..", "compat", "node_modules")


def node_pg(port):
    """Runs NODE_PG with npm's pg (installed in tests/compat by scripts/test.sh)."""
    if not os.path.isdir(os.path.join(NODE_MODULES, "pg")):
        raise RuntimeError("npm's pg is missing: run (cd tests/compat && npm install)")
    r = subprocess.run(["node", "-e", NODE_PG, str(port)], capture_output=True, text=True,
                       env=dict(os.environ, NODE_PATH=os.path.abspath(NODE_MODULES)), timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"node pg script failed: {r.stderr}")
    return json.loads(r.stdout)


def psql(port, sql, *extra):
    env = dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(port), PGUSER="postgres",
               PGDATABASE="postgres")
    return subprocess.run(["psql", "-X", "-q", "-At", *extra], input=sql, capture_output=True,
                          text=True, env=env, timeout=60)


def pgbench(port, *args):
    env = dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(port), PGUSER="postgres",
               PGDATABASE="postgres")
    return subprocess.run(["pgbench", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def check_postgres(c, binary, backend):
    server = PostgresServer()
    proxy = Proxy(binary, backend, free_port())
    try:
        port = free_port()
        proxy.json("POST", "/proxies", {"name": "pg", "listen": f"127.0.0.1:{port}",
                                         "upstream": f"127.0.0.1:{server.port}"})
        setup = psql(server.port, "CREATE TABLE accounts (id int PRIMARY KEY, balance int);"
                                  "INSERT INTO accounts VALUES (1, 100);")
        c.equal(setup.returncode, 0, "table created")
        add_toxic(proxy, "pg", {"name": "serialize", "type": "postgres", "attributes": {
            "query": "*update accounts*", "code": "40001"}})

        # psql: the server's own error; the transaction is aborted as a real one would be,
        # and the session goes on after ROLLBACK.
        r = psql(port, "BEGIN;\nUPDATE accounts SET balance = 1 WHERE id = 1;\nSELECT 1;\n"
                       "ROLLBACK;\nSELECT balance FROM accounts;\n")
        c.check("ERROR:  could not serialize access due to concurrent update" in r.stderr,
                "psql shows the serialization failure")
        c.check("current transaction is aborted" in r.stderr,
                "the transaction block is aborted, as after a real error")
        c.equal(r.stdout.strip(), "100", "after ROLLBACK the session answers; nothing changed")

        # psycopg2: the exception class of SQLSTATE 40001, then 40P01.
        got = library(PG_ERRORS, port)
        c.equal(got["update"], ["SerializationFailure", "40001",
                                "ERROR:  could not serialize access due to concurrent update"],
                "psycopg2 raises SerializationFailure")
        c.equal(got["after"], 100, "the connection is usable after the error")
        proxy.json("PATCH", "/proxies/pg/toxics/serialize", {"attributes": {"code": "40P01"}})
        got = library(PG_ERRORS, port)
        c.equal(got["update"][:2], ["DeadlockDetected", "40P01"], "psycopg2 raises DeadlockDetected")

        # node-postgres (npm pg), whose parameterised queries use the extended protocol.
        proxy.json("PATCH", "/proxies/pg/toxics/serialize", {"attributes": {"code": "40001"}})
        got = node_pg(port)
        c.equal(got["update"], ["40001", "could not serialize access due to concurrent update"],
                "pg (extended protocol) gets 40001")
        c.equal(got["inTx"][0], "25P02", "its transaction is aborted, as after a real error")
        c.equal(got["after"], 100, "after ROLLBACK the connection answers; nothing changed")
        c.equal([got["named0"], got["named1"], got["named2"]], ["40001"] * 3,
                "a named prepared statement fails each time it runs")
        c.equal(got["last"], 1, "the connection is usable afterwards")

        # pgbench retries serialization failures (and only those): with the toxic on a
        # third of its branch updates, every transaction still ends, some after retries.
        proxy.request("DELETE", "/proxies/pg/toxics/serialize")
        init = pgbench(server.port, "-i", "-q", "-s", "1")
        c.equal(init.returncode, 0, "pgbench -i")
        add_toxic(proxy, "pg", {"name": "branches", "type": "postgres", "toxicity": 0.3,
                                 "attributes": {"query": "UPDATE pgbench_branches*",
                                                "code": "40001"}})
        for mode in ("simple", "prepared"):
            r = pgbench(port, "-n", "-M", mode, "-c", "2", "-t", "100", "--max-tries", "50")
            if r.returncode != 0:
                print(r.stdout, r.stderr)
            m = re.search(r"number of transactions retried: (\d+)", r.stdout)
            c.check(r.returncode == 0 and "number of failed transactions: 0 " in r.stdout,
                    f"pgbench -M {mode} finishes every transaction")
            c.check(m is not None and int(m.group(1)) >= 20,
                    f"pgbench -M {mode} retried serialization failures "
                    f"({m.group(1) if m else None} of 200)")

        # Delays: the matching query in simple, extended and prepared mode; others not.
        proxy.request("DELETE", "/proxies/pg/toxics/branches")
        add_toxic(proxy, "pg", {"name": "slow", "type": "postgres",
                                 "attributes": {"query": "*pgbench_branches*", "delay": 40}})
        for mode in ("simple", "extended", "prepared"):
            r = pgbench(port, "-n", "-M", mode, "-c", "1", "-t", "20")
            m = re.search(r"latency average = ([\d.]+) ms", r.stdout)
            lat = float(m.group(1)) if m else 0
            c.check(r.returncode == 0 and lat >= 39, f"pgbench -M {mode}: 40 ms added ({lat} ms)")
        r = pgbench(port, "-n", "-M", "prepared", "-c", "1", "-t", "50", "-S")
        m = re.search(r"latency average = ([\d.]+) ms", r.stdout)
        lat = float(m.group(1)) if m else 99
        c.check(r.returncode == 0 and lat < 20, f"select-only transactions not delayed ({lat} ms)")

        # A connection-time code: the startup message is answered with FATAL.
        proxy.request("DELETE", "/proxies/pg/toxics/slow")
        add_toxic(proxy, "pg", {"name": "full", "type": "postgres", "attributes": {"code": "53300"}})
        got = library(PG_CONNECT, port)
        c.check(got.endswith("failed: FATAL:  sorry, too many clients already"),
                f"psycopg2 connects: too many clients ({got})")
        r = psql(port, "SELECT 1;")
        c.check(r.returncode == 2 and "sorry, too many clients already" in r.stderr,
                "psql connects: too many clients, exit 2")

        # 57P01: the backend is terminated as by an administrator.
        proxy.request("DELETE", "/proxies/pg/toxics/full")
        add_toxic(proxy, "pg", {"name": "kill", "type": "postgres",
                                 "attributes": {"query": "SELECT 42", "code": "57P01"}})
        got = library(PG_TERMINATE, port)
        # psycopg2 reports an administrator's termination as an OperationalError, with the
        # server's FATAL text or libpq's "server closed the connection unexpectedly" (the
        # same race as against the server directly); the server's log names the cause.
        c.check(got[0] == "OperationalError" and got[2] and (
            "terminating connection due to administrator command" in got[1] or
            "server closed the connection unexpectedly" in got[1]),
            f"psycopg2 sees the connection ended ({got})")
        with open(os.path.join(server.dir, "server.log"), errors="replace") as f:
            c.check("FATAL:  terminating connection due to administrator command" in f.read(),
                    "the server terminated the backend (its log says so)")

        # No toxic: pgbench in every mode runs without a failure.
        proxy.request("DELETE", "/proxies/pg/toxics/kill")
        add_toxic(proxy, "pg", {"name": "other", "type": "postgres",
                                 "attributes": {"query": "*no such table*", "code": "40001"}})
        for mode in ("simple", "extended", "prepared"):
            r = pgbench(port, "-n", "-M", mode, "-c", "2", "-t", "100")
            c.check(r.returncode == 0 and "number of failed transactions: 0 " in r.stdout,
                    f"pgbench -M {mode} untouched by a toxic that does not match")
    finally:
        proxy.stop()
        server.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--backend", default="io_uring")
    args = ap.parse_args()
    c = Checker("protocol toxics")
    check_redis(c, args.binary, args.backend)
    check_postgres(c, args.binary, args.backend)
    c.finish()


if __name__ == "__main__":
    main()
