#!/usr/bin/env python3
"""End-to-end checks of faultline-proxy's extensions beyond Toxiproxy, through real sockets:
toxics declared in the -config file (and in /populate), the connection toxics (refuse,
accept_delay, upstream_refuse, max_connections), latency distributions and stall. Timing
margins are wide enough for a loaded 2-core machine."""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Checker, EchoServer, Proxy, connect, free_port,  # noqa: E402
                     read_outcome, recv_exact)
from test_proxy import metric  # noqa: E402


def ms_since(t0):
    return (time.monotonic() - t0) * 1000


def round_trip(port, payload=b"ping"):
    s = connect(port)
    t0 = time.monotonic()
    s.sendall(payload)
    got = recv_exact(s, len(payload))
    took = ms_since(t0)
    s.close()
    return took, got


def listen_port(proxy_body):
    return int(proxy_body["listen"].rsplit(":", 1)[1])


class CountingEcho(EchoServer):
    """An echo server that records when it accepts."""

    def __init__(self):
        self.lock = threading.Lock()
        self.accepted = []  # monotonic times
        super().__init__()

    def on_accept(self):
        with self.lock:
            self.accepted.append(time.monotonic())

    def count(self):
        with self.lock:
            return len(self.accepted)


class ConnEnv:
    """A proxy with -proxy-metrics in front of a counting echo server."""

    def __init__(self, binary, backend):
        self.upstream = CountingEcho()
        self.proxy = Proxy(binary, backend, free_port(), ["-proxy-metrics", "-seed", "7"])
        status, body = self.proxy.json("POST", "/proxies", {
            "name": "conn", "listen": "127.0.0.1:0",
            "upstream": f"127.0.0.1:{self.upstream.port}"})
        assert status == 201, body
        self.port = listen_port(body)

    def add(self, body):
        return self.proxy.json("POST", "/proxies/conn/toxics", body)

    def update(self, name, body):
        return self.proxy.json("PATCH", f"/proxies/conn/toxics/{name}", body)

    def remove(self, name):
        status, _, _ = self.proxy.request("DELETE", f"/proxies/conn/toxics/{name}")
        assert status == 204, status

    def toxic_count(self, type_name):
        return metric(self.proxy, rf'faultline_proxy_toxic_connections_total\{{.*type="{type_name}"') or 0

    def close(self):
        code = self.proxy.stop()
        self.upstream.close()
        return code


class HoldServer(EchoServer):
    """A server that echoes one message, holds the connection `hold` seconds and closes it
    itself, counting its open connections: it decides when a connection ends, so its count
    has no delay in noticing a close."""

    def __init__(self, hold=0.03):
        self.hold = hold
        self.lock = threading.Lock()
        self.open = 0
        self.peak = 0
        super().__init__()

    def on_accept(self):
        with self.lock:
            self.open += 1
            self.peak = max(self.peak, self.open)

    def _serve(self, conn):
        try:
            conn.settimeout(10)
            conn.sendall(conn.recv(100))
            time.sleep(self.hold)
        except OSError:
            pass
        with self.lock:
            self.open -= 1
        conn.close()


def echoes(port, payload=b"ping", timeout=5):
    """True when a new connection through the proxy echoes the payload."""
    try:
        s = connect(port, timeout=timeout)
        s.sendall(payload)
        ok = recv_exact(s, len(payload), timeout=timeout) == payload
        s.close()
        return ok
    except OSError:
        return False


def attempt(port, payload=b"x", timeout=3.0):
    """What a new connection that sends `payload` sees: read_outcome's answer, where a
    reset may already come at connect or send (the proxy is quicker than the client)."""
    try:
        s = connect(port)
        try:
            s.sendall(payload)
            return read_outcome(s, timeout)
        finally:
            s.close()
    except (ConnectionResetError, BrokenPipeError):
        return "RST"


def test_refuse(env, check):
    status, body = env.add({"type": "refuse"})
    check.equal(status, 200, "refuse accepted")
    check.equal((body["name"], body["stream"], body["attributes"]), ("refuse_upstream", "upstream", {}),
                "a connection toxic defaults to the upstream stream")
    before = env.upstream.count()
    outcomes = [attempt(env.port) for _ in range(5)]
    check.equal(outcomes, ["RST"] * 5, "refuse: every connection reset before any byte")
    check.equal(env.upstream.count(), before, "refuse: the upstream never dialled")
    check.equal(env.toxic_count("refuse"), 5, "refused connections counted")
    env.remove("refuse_upstream")
    check.check(echoes(env.port), "after removal connections pass again")

    # toxicity: about that share of the connections, the others untouched.
    env.add({"name": "half", "type": "refuse", "toxicity": 0.5})
    results = [attempt(env.port, b"abc", 5) for _ in range(200)]
    refused = results.count("RST")
    passed = results.count("DATA:abc")
    check.check(60 <= refused <= 140 and refused + passed == 200,
                f"toxicity 0.5: {refused} of 200 refused, {passed} echoed")
    env.remove("half")

    status, body = env.add({"type": "refuse", "stream": "downstream"})
    check.equal((status, body), (400, {"error": "stream was invalid, refuse acts on new connections: "
                                                "its stream is upstream", "status": 400}),
                "a connection toxic refuses the downstream stream")


def test_accept_delay(env, check):
    env.add({"name": "slow", "type": "accept_delay", "attributes": {"delay": 300}})
    before = env.upstream.count()
    t0 = time.monotonic()
    s = connect(env.port)
    s.sendall(b"first")
    got = recv_exact(s, 5)
    first = ms_since(t0)
    with env.upstream.lock:
        dialled = (env.upstream.accepted[-1] - t0) * 1000 if len(env.upstream.accepted) > before else -1
    check.check(got == b"first" and 290 <= first <= 1500,
                f"accept_delay 300: the first reply after the delay ({first:.0f} ms)")
    check.check(290 <= dialled <= 1500, f"the upstream dialled only after the delay ({dialled:.0f} ms)")
    t0 = time.monotonic()
    s.sendall(b"again")
    recv_exact(s, 5)
    check.check(ms_since(t0) < 100, f"an established connection is not delayed ({ms_since(t0):.0f} ms)")
    s.close()

    # A changed delay counts from the accept; a removed toxic lets held connections go.
    env.update("slow", {"attributes": {"delay": 5000}})
    held = []
    for _ in range(3):
        c = connect(env.port)
        c.sendall(b"held")
        held.append(c)
    time.sleep(0.2)
    t0 = time.monotonic()
    env.update("slow", {"attributes": {"delay": 400}})
    got = recv_exact(held[0], 4, timeout=5)
    check.check(got == b"held" and 100 <= ms_since(t0) <= 1500,
                f"a shorter delay applies to held connections ({ms_since(t0):.0f} ms after the update)")
    env.update("slow", {"attributes": {"delay": 60000}})
    c = connect(env.port)
    c.sendall(b"late")
    time.sleep(0.2)
    check.equal(read_outcome(c, 0.3), "TIMEOUT", "held by a 60 s delay")
    t0 = time.monotonic()
    env.remove("slow")
    got = recv_exact(c, 4, timeout=5)
    check.check(got == b"late" and ms_since(t0) < 500, f"removal releases held connections ({ms_since(t0):.0f} ms)")
    for c2 in held[1:] + [held[0], c]:
        c2.close()


def test_upstream_refuse(env, check):
    status, body = env.add({"type": "upstream_refuse"})
    check.equal(status, 200, "upstream_refuse accepted")
    before = env.upstream.count()
    s = connect(env.port)
    s.sendall(b"x")
    check.equal(read_outcome(s), "EOF", "upstream_refuse: closed with no data, as a refused dial")
    s.close()
    check.equal(env.upstream.count(), before, "upstream_refuse: the upstream never dialled")
    check.equal(env.toxic_count("upstream_refuse"), 1, "counted")
    env.remove("upstream_refuse_upstream")
    check.check(echoes(env.port), "after removal connections pass again")


def test_max_connections(env, check):
    env.add({"name": "cap", "type": "max_connections", "attributes": {"connections": 2}})
    first = [connect(env.port) for _ in range(2)]
    for i, c in enumerate(first):
        c.sendall(b"in%d" % i)
        check.equal(recv_exact(c, 3), b"in%d" % i, f"connection {i + 1} of 2 passes")
    check.equal(attempt(env.port), "RST", "a third connection is reset")
    first[0].close()
    deadline = time.monotonic() + 5
    ok = False
    while not ok and time.monotonic() < deadline:
        ok = echoes(env.port)  # passes once the proxy has seen the close
        time.sleep(0.02)
    check.check(ok, "a place freed by a close is taken by a new connection")

    # queue 1: further connections wait for a place instead.
    second = connect(env.port)
    second.sendall(b"h2")
    check.equal(recv_exact(second, 2), b"h2", "two places taken again")
    env.update("cap", {"attributes": {"connections": 2, "queue": 1}})
    waiting = []
    for i in range(3):
        c = connect(env.port)
        c.sendall(b"q%d" % i)
        waiting.append(c)
    time.sleep(0.3)
    check.equal([read_outcome(c, 0.1) for c in waiting], ["TIMEOUT"] * 3,
                "queued connections wait (2 places taken)")
    t0 = time.monotonic()
    first[1].close()
    through = []
    while not through and time.monotonic() - t0 < 5:
        through = [i for i, c in enumerate(waiting) if read_outcome(c, 0.05) == f"DATA:q{i}"]
    time.sleep(0.2)
    through += [i for i, c in enumerate(waiting) if i not in through and read_outcome(c, 0.05) != "TIMEOUT"]
    check.equal(len(through), 1, f"one close lets exactly one queued connection through ({through})")
    env.update("cap", {"attributes": {"connections": 4, "queue": 1}})
    released = [recv_exact(c, 2, timeout=5) for i, c in enumerate(waiting) if i not in through]
    check.equal(sorted(released), sorted(b"q%d" % i for i in range(3) if i not in through),
                "a higher limit lets the rest of the queue through")
    env.update("cap", {"attributes": {"connections": 0, "queue": 1}})
    late = connect(env.port)
    late.sendall(b"zz")
    check.equal(read_outcome(late, 0.3), "TIMEOUT", "limit 0 with queue: a new connection waits")
    env.remove("cap")
    check.equal(recv_exact(late, 2, timeout=5), b"zz", "removing the toxic lets queued connections go")
    for c in waiting + [late, second]:
        c.close()
    check.check(env.toxic_count("max_connections") >= 5, "limited connections counted")

    # A burst from many clients at once, spread over the workers: never more than the
    # limit upstream, and every queued client served in the end.
    server = HoldServer()
    status, body = env.proxy.json("POST", "/proxies", {
        "name": "burst", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{server.port}"})
    port = listen_port(body)
    status, _ = env.proxy.json("POST", "/proxies/burst/toxics", {
        "type": "max_connections", "attributes": {"connections": 3, "queue": 1}})
    results = []

    def client(i):
        try:
            c = connect(port, timeout=20)
            c.sendall(b"b%02d" % i)
            results.append(recv_exact(c, 100, timeout=20) == b"b%02d" % i)  # to the close
            c.close()
        except OSError:
            results.append(False)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    check.equal((len(results), all(results)), (40, True), "40 clients through a limit of 3, all served")
    check.check(2 <= server.peak <= 3, f"never more than 3 upstream at once ({server.peak})")
    env.proxy.request("DELETE", "/proxies/burst")
    server.close()


def test_connection_toxics(binary, backend, echo, work, check):
    env = ConnEnv(binary, backend)
    try:
        for test in (test_refuse, test_accept_delay, test_upstream_refuse, test_max_connections):
            test(env, check)
        check.check(env.proxy.alive(), "server alive after the connection toxics")
        check.check(echoes(env.port), "the proxy passes data once they are gone")
    finally:
        check.equal(env.close(), 0, "clean exit")


def test_config_toxics(binary, backend, echo, work, check):
    """Toxics in the config file act on the very first connection."""
    lat_port, cut_port, plain_port = free_port(), free_port(), free_port()
    config = [
        {"name": "slow", "listen": f"127.0.0.1:{lat_port}", "upstream": f"127.0.0.1:{echo.port}",
         "toxics": [{"type": "latency", "attributes": {"latency": 150}},
                    {"name": "up", "type": "latency", "stream": "upstream",
                     "attributes": {"latency": 50}}]},
        {"name": "cut", "listen": f"127.0.0.1:{cut_port}", "upstream": f"127.0.0.1:{echo.port}",
         "toxics": [{"type": "limit_data", "attributes": {"bytes": 10}}]},
        # A Toxiproxy config entry: no toxics key, or toxiproxy-go's null.
        {"name": "plain", "listen": f"127.0.0.1:{plain_port}",
         "upstream": f"127.0.0.1:{echo.port}", "toxics": None},
    ]
    path = os.path.join(work, "config.json")
    with open(path, "w") as f:
        json.dump(config, f)
    proxy = Proxy(binary, backend, free_port(), ["-config", path])
    try:
        took, got = round_trip(lat_port)
        check.check(got == b"ping" and 190 <= took <= 700,
                     f"first connection through a config latency toxic: 150+50 ms ({took:.0f} ms)")
        s = connect(cut_port)
        s.sendall(b"0123456789abcdef")
        got = recv_exact(s, 100, timeout=5)
        check.equal(got, b"0123456789", "config limit_data: exactly 10 bytes, then closed")
        s.close()
        took, got = round_trip(plain_port)
        check.check(got == b"ping" and took < 100, f"entry without toxics: untouched ({took:.0f} ms)")

        status, listed = proxy.json("GET", "/proxies")
        check.equal(status, 200, "GET /proxies")
        check.equal([t["name"] for t in listed["slow"]["toxics"]], ["up", "latency_downstream"],
                    "config toxics listed like API ones")
        check.equal(listed["slow"]["toxics"][1],
                    {"attributes": {"latency": 150, "jitter": 0}, "name": "latency_downstream",
                     "type": "latency", "stream": "downstream", "toxicity": 1},
                    "a config toxic in the API's shape")
        check.equal(set(listed["plain"]), {"name", "listen", "upstream", "enabled", "Logger",
                                           "toxics"}, "proxy shape unchanged")

        # GET /proxies output posted back to /populate: the same state, connections kept.
        s = connect(lat_port)
        status, body = proxy.json("POST", "/populate", list(listed.values()))
        check.equal(status, 201, "GET output accepted by /populate")
        check.equal(proxy.json("GET", "/proxies")[1], listed, "populate with the same toxics: same state")
        t0 = time.monotonic()
        s.sendall(b"kept")
        check.equal(recv_exact(s, 4), b"kept", "an open connection survives the populate")
        check.check(ms_since(t0) >= 190, "and still sees the toxics")
        s.close()

        # A populate that lists fewer toxics removes the others, on open connections too.
        s = connect(lat_port)
        status, _ = proxy.json("POST", "/populate", [
            {"name": "slow", "listen": f"127.0.0.1:{lat_port}", "upstream": f"127.0.0.1:{echo.port}",
             "toxics": []}])
        check.equal(status, 201, "populate with toxics: []")
        t0 = time.monotonic()
        s.sendall(b"fast")
        check.equal(recv_exact(s, 4), b"fast", "data passes after the toxics are gone")
        check.check(ms_since(t0) < 100, f"toxics removed from an open connection ({ms_since(t0):.0f} ms)")
        s.close()
        check.check(proxy.alive(), "server alive")
    finally:
        check.equal(proxy.stop(), 0, "clean exit")


def test_config_toxic_errors(binary, backend, echo, work, check):
    """A wrong toxic in the config file stops the start with the API's error text."""
    cases = [
        ({"type": "latencyy"}, "invalid toxic type at proxy 1 toxic 2"),
        ({"type": "latency", "attributes": {"latency": "1s"}},
         "bad request body: json: cannot unmarshal string into Go struct field "
         "LatencyToxic.attributes.latency of type int64 at proxy 1 toxic 2"),
        ({"type": "timeout"}, "toxic already exists at proxy 1 toxic 2"),
    ]
    for bad, message in cases:
        port = free_port()
        path = os.path.join(work, "bad.json")
        with open(path, "w") as f:
            json.dump([{"name": "p", "listen": f"127.0.0.1:{port}",
                        "upstream": f"127.0.0.1:{echo.port}",
                        "toxics": [{"name": "timeout_downstream" if bad["type"] == "timeout"
                                    else "first", "type": "timeout"}, bad]}], f)
        api = free_port()
        try:
            p = subprocess.run([binary, "-host", "127.0.0.1", "-port", str(api), "-backend", backend,
                                "-config", path], capture_output=True, text=True, timeout=20)
        except subprocess.TimeoutExpired:
            check.check(False, f"a wrong config toxic stops the start ({message})")
            continue
        lines = [json.loads(line) for line in p.stderr.splitlines() + p.stdout.splitlines()
                 if line.startswith("{")]
        errors = [e for e in lines if e.get("level") == "error"]
        check.equal(p.returncode, 1, f"exit 1 for a wrong config toxic ({message})")
        check.check(any(e.get("error") == message and e.get("config") == path for e in errors),
                    f"the error names the toxic: {message!r} in {errors}")
        check.check(not any(e.get("message") == "Started proxy" for e in lines),
                    "no proxy started")
        with socket.socket() as s:
            check.check(s.connect_ex(("127.0.0.1", port)) != 0, "nothing listens afterwards")


def sample_round_trips(port, connections, per_connection):
    """Round-trip times (ms) of one-chunk messages on parallel connections: with a latency
    toxic downstream, each one is one draw."""
    out = []
    lock = threading.Lock()

    def worker():
        s = connect(port)
        mine = []
        for i in range(per_connection):
            t0 = time.monotonic()
            s.sendall(b"s%03d" % i)
            if recv_exact(s, 4) != b"s%03d" % i:
                mine.append(-1.0)
                break
            mine.append(ms_since(t0))
        s.close()
        with lock:
            out.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def pct(values, q):
    v = sorted(values)
    return v[int(q * (len(v) - 1))]


def test_distributions(binary, backend, echo, work, check):
    """2,000 round trips per shape; the proxy's draws plus the machine's own few ms."""
    proxy = Proxy(binary, backend, free_port(), ["-seed", "3"])
    try:
        _, body = proxy.json("POST", "/proxies", {"name": "dist", "listen": "127.0.0.1:0",
                                                  "upstream": f"127.0.0.1:{echo.port}"})
        port = listen_port(body)
        status, tox = proxy.json("POST", "/proxies/dist/toxics", {
            "name": "lat", "type": "latency",
            "attributes": {"latency": 40, "jitter": 10, "distribution": "normal"}})
        check.equal((status, tox["attributes"]),
                    (200, {"latency": 40, "jitter": 10, "distribution": "normal"}), "normal latency")
        d = sample_round_trips(port, 20, 100)
        mean = sum(d) / len(d)
        sd = (sum((x - mean) ** 2 for x in d) / len(d)) ** 0.5
        check.check(len(d) == 2000 and min(d) >= 0, f"2,000 samples ({len(d)})")
        print(f"  normal 40±10 ms: mean {mean:.1f}, sd {sd:.1f}, p16 {pct(d, 0.1587):.1f}, "
              f"p50 {pct(d, 0.5):.1f}, p84 {pct(d, 0.8413):.1f} ms", flush=True)
        check.check(39 <= mean <= 47, f"normal: mean 40 ms (+ overhead): {mean:.1f}")
        check.check(8.5 <= sd <= 13, f"normal: standard deviation 10 ms: {sd:.1f}")
        check.check(28 <= pct(d, 0.1587) <= 36 and 49 <= pct(d, 0.8413) <= 57,
                    f"normal: p16 and p84 at 30 and 50 ms: {pct(d, 0.1587):.1f}, {pct(d, 0.8413):.1f}")

        proxy.json("PATCH", "/proxies/dist/toxics/lat", {"attributes": {"distribution": "pareto"}})
        d = sample_round_trips(port, 20, 100)
        mean = sum(d) / len(d)
        print(f"  pareto 40±10 ms: mean {mean:.1f}, min {min(d):.1f}, p50 {pct(d, 0.5):.1f}, "
              f"p90 {pct(d, 0.9):.1f}, p99 {pct(d, 0.99):.1f} ms", flush=True)
        # z = (u^(-1/3) - 1.5) * 4/3: never below -2/3; median -0.32, p90 +0.87, p99 +4.19.
        check.check(min(d) >= 40 - 10 * 2 / 3 - 0.5, f"pareto: nothing under 33.3 ms ({min(d):.1f})")
        check.check(39 <= mean <= 47, f"pareto: mean 40 ms (+ overhead): {mean:.1f}")
        check.check(36.3 <= pct(d, 0.5) <= 42, f"pareto: median 36.8 ms: {pct(d, 0.5):.1f}")
        check.check(48 <= pct(d, 0.9) <= 55, f"pareto: p90 48.7 ms: {pct(d, 0.9):.1f}")
        check.check(70 <= pct(d, 0.99) <= 110, f"pareto: p99 81.9 ms: {pct(d, 0.99):.1f}")
    finally:
        check.equal(proxy.stop(), 0, "clean exit")


def pareto_delays(binary, backend, seed, echo_port):
    proxy = Proxy(binary, backend, free_port(), ["-seed", str(seed)])
    try:
        _, body = proxy.json("POST", "/proxies", {"name": "seeded", "listen": "127.0.0.1:0",
                                                  "upstream": f"127.0.0.1:{echo_port}"})
        proxy.json("POST", "/proxies/seeded/toxics", {
            "type": "latency", "attributes": {"latency": 10, "jitter": 30, "distribution": "pareto"}})
        return sample_round_trips(listen_port(body), 1, 40)
    finally:
        proxy.stop()


def test_distribution_seed(binary, backend, echo, work, check):
    """-seed makes the drawn delays reproducible."""
    a = pareto_delays(binary, backend, 11, echo.port)
    b = pareto_delays(binary, backend, 11, echo.port)
    c = pareto_delays(binary, backend, 12, echo.port)
    close = sum(abs(x - y) < 6 for x, y in zip(a, b))
    check.check(len(a) == len(b) == 40 and close >= 36,
                f"same -seed, same delays ({close} of 40 within 6 ms)")
    check.check(max(abs(x - y) for x, y in zip(a, c)) > 15, "another -seed, other delays")


def test_stall(binary, backend, echo, work, check):
    """stall every 1000 ms for 300 ms: messages sent every 20 ms for 2.6 s are held only in
    the stalls, two connections together, bytes in order."""
    proxy = Proxy(binary, backend, free_port())
    try:
        _, body = proxy.json("POST", "/proxies", {"name": "st", "listen": "127.0.0.1:0",
                                                  "upstream": f"127.0.0.1:{echo.port}"})
        port = listen_port(body)
        a = connect(port)
        t0 = time.monotonic()
        status, tox = proxy.json("POST", "/proxies/st/toxics", {
            "type": "stall", "attributes": {"every": 1000, "duration": 300}})
        check.equal((status, tox["attributes"], tox["stream"]),
                    (200, {"every": 1000, "duration": 300}, "downstream"), "stall created")
        b = None
        sent = {}
        arrivals = {"a": [], "b": []}

        def reader(name, sock, count):
            got = b""
            while len(got) < count * 5:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                now = ms_since(t0)
                got += chunk
                arrivals[name].append((now, len(got)))
            arrivals[name + "-bytes"] = got

        ra = threading.Thread(target=reader, args=("a", a, 130))
        ra.start()
        for i in range(130):
            if i == 25:  # a second connection joins 500 ms in
                b = connect(port)
                rb = threading.Thread(target=reader, args=("b", b, 105))
                rb.start()
            sent[i] = ms_since(t0)
            a.sendall(b"m%03d " % i)
            if b is not None:
                b.sendall(b"m%03d " % i)
            time.sleep(0.02)
        ra.join(10)
        rb.join(10)
        expected_a = b"".join(b"m%03d " % i for i in range(130))
        expected_b = b"".join(b"m%03d " % i for i in range(25, 130))
        check.equal(arrivals.get("a-bytes"), expected_a, "stall: every byte, in order (a)")
        check.equal(arrivals.get("b-bytes"), expected_b, "stall: every byte, in order (b)")

        # Gaps of more than 150 ms between arrivals are the stalls: they end near 300,
        # 1300 and 2300 ms after the toxic was created, on both connections.
        def stall_ends(name, start):
            ends, last = [], start
            for when, _ in arrivals[name]:
                if when - last > 150:
                    ends.append(when)
                last = when
            return ends

        ends_a, ends_b = stall_ends("a", 0.0), stall_ends("b", sent[25])
        check.check(len(ends_a) == 3 and all(abs(e - x) <= 120 for e, x in zip(ends_a, (300, 1300, 2300))),
                    f"three stalls of 300 ms every 1000 ms on a: ends at {[round(e) for e in ends_a]}")
        check.check(len(ends_b) == 2 and all(abs(e - x) <= 40 for e, x in zip(ends_b, ends_a[1:])),
                    f"a later connection stalls at the same moments: {[round(e) for e in ends_b]}")
        a.close()
        b.close()
    finally:
        check.equal(proxy.stop(), 0, "clean exit")


class PieceServer(EchoServer):
    """Reads 12-byte requests, notes when each byte arrives, answers "ok" to each."""

    def __init__(self):
        self.requests = []  # per request: arrival times (s) of its 12 bytes
        super().__init__()

    def _serve(self, conn):
        times = []
        try:
            while True:
                data = conn.recv(64)
                if not data:
                    break
                now = time.monotonic()
                times += [now] * len(data)
                while len(times) >= 12:
                    self.requests.append(times[:12])
                    times = times[12:]
                    conn.sendall(b"ok")
        except OSError:
            pass
        conn.close()


def piece_gaps(port, server, exchanges):
    """Sends `exchanges` requests as three 4-byte pieces 25 ms apart; returns the gaps (ms)
    between the pieces' arrivals at the server."""
    server.requests.clear()
    s = connect(port)
    for _ in range(exchanges):
        for piece in range(3):
            s.sendall(b"abcd")
            if piece < 2:
                time.sleep(0.025)
        recv_exact(s, 2)
    s.close()
    gaps = []
    for r in server.requests:
        gaps += [(r[4] - r[0]) * 1000, (r[8] - r[4]) * 1000]
    return gaps


def test_round_trip(binary, backend, echo, work, check):
    """latency round_trip: one draw per exchange, so a request's pieces keep their spacing."""
    server = PieceServer()
    proxy = Proxy(binary, backend, free_port(), ["-seed", "5"])
    try:
        _, body = proxy.json("POST", "/proxies", {"name": "rt", "listen": "127.0.0.1:0",
                                                  "upstream": f"127.0.0.1:{server.port}"})
        port = listen_port(body)
        status, tox = proxy.json("POST", "/proxies/rt/toxics", {
            "name": "rtt", "type": "latency", "stream": "upstream",
            "attributes": {"latency": 60, "jitter": 40, "round_trip": 1}})
        check.equal((status, tox["attributes"]), (200, {"latency": 60, "jitter": 40, "round_trip": 1}),
                    "round_trip shown when set")
        gaps = piece_gaps(port, server, 25)
        kept = sum(17 <= g <= 40 for g in gaps)
        print(f"  round_trip: {kept} of {len(gaps)} piece gaps kept 25 ms", flush=True)
        check.check(len(gaps) == 50 and kept >= 45,
                    f"round_trip: pieces arrive 25 ms apart as sent ({kept} of {len(gaps)})")
        proxy.json("PATCH", "/proxies/rt/toxics/rtt", {"attributes": {"round_trip": 0}})
        gaps = piece_gaps(port, server, 25)
        kept = sum(17 <= g <= 40 for g in gaps)
        print(f"  per chunk: {kept} of {len(gaps)} piece gaps kept 25 ms", flush=True)
        check.check(len(gaps) == 50 and kept <= 35,
                    f"per-chunk draws move the pieces apart ({kept} of {len(gaps)} kept their spacing)")
    finally:
        check.equal(proxy.stop(), 0, "clean exit")
        server.close()


def test_events(binary, backend, echo, work, check):
    """GET /events: the changes of a session, timestamped with the wall clock, in order."""
    path = os.path.join(work, "events-config.json")
    with open(path, "w") as f:
        json.dump([{"name": "ev", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{echo.port}",
                    "toxics": [{"type": "latency", "attributes": {"latency": 5}}]}], f)
    proxy = Proxy(binary, backend, free_port(), ["-config", path])
    try:
        status, body = proxy.json("GET", "/events")
        check.equal(status, 200, "GET /events")
        check.equal([(e["type"], e["source"]) for e in body["events"]],
                    [("proxy_created", "config"), ("toxic_added", "config")], "the config file's events")
        last = body["last_id"]
        before = time.time() * 1000
        proxy.json("POST", "/proxies/ev/toxics", {"name": "cut", "type": "reset_peer"})
        time.sleep(0.2)
        proxy.request("DELETE", "/proxies/ev/toxics/cut")
        proxy.json("POST", "/proxies/ev", {"enabled": False})
        after = time.time() * 1000
        status, body = proxy.json("GET", f"/events?since={last}")
        events = body["events"]
        check.equal([e["type"] for e in events], ["toxic_added", "toxic_removed", "proxy_disabled"],
                    "events after since")
        check.check(all(before - 5 <= e["unix_ms"] <= after + 5 for e in events),
                    "events carry the wall-clock time of the change")
        check.check(180 <= events[1]["unix_ms"] - events[0]["unix_ms"] <= 1500,
                    "the time between two changes is kept")
        check.equal(events[0]["toxic"]["name"], "cut", "a toxic event carries the toxic")
        check.equal(body["last_id"], last + 3, "last_id")
    finally:
        check.equal(proxy.stop(), 0, "clean exit")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--backend", default="auto")
    args = ap.parse_args()
    check = Checker(f"extensions-{args.backend}")
    echo = EchoServer()
    try:
        with tempfile.TemporaryDirectory() as work:
            for test in (test_config_toxics, test_config_toxic_errors, test_connection_toxics,
                         test_distributions, test_distribution_seed, test_stall, test_round_trip,
                         test_events):
                test(args.binary, args.backend, echo, work, check)
    finally:
        echo.close()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
