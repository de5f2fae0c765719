#!/usr/bin/env python3
"""End-to-end checks of every toxic through real sockets, following the observations made
on a real Toxiproxy 2.12 (transcript section P), with timing margins wide enough for a
loaded 2-core machine."""

import argparse
import hashlib
import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Checker, EchoServer, Proxy, connect, free_port,  # noqa: E402
                     read_outcome, recv_exact)
from test_proxy import metric  # noqa: E402


def ms_since(t0):
    return (time.monotonic() - t0) * 1000


def rtt(s, payload=b"ping"):
    t0 = time.monotonic()
    s.sendall(payload)
    got = recv_exact(s, len(payload))
    return ms_since(t0), got


class Env:
    def __init__(self, binary, backend):
        self.echo = EchoServer()
        self.proxy = Proxy(binary, backend, free_port(), ["-proxy-metrics", "-seed", "42"])
        status, body = self.proxy.json("POST", "/proxies", {
            "name": "dp", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{self.echo.port}"})
        assert status == 201, body
        self.port = int(body["listen"].rsplit(":", 1)[1])

    def add(self, body, proxy="dp"):
        status, out = self.proxy.json("POST", f"/proxies/{proxy}/toxics", body)
        assert status == 200, (status, out)
        return out

    def remove(self, name, proxy="dp"):
        t0 = time.monotonic()
        status, _, _ = self.proxy.request("DELETE", f"/proxies/{proxy}/toxics/{name}")
        assert status == 204, status
        return ms_since(t0)

    def close(self):
        code = self.proxy.stop()
        self.echo.close()
        return code


def test_latency(env, check):
    env.add({"name": "lat", "type": "latency", "attributes": {"latency": 100, "jitter": 0}})
    s = connect(env.port)
    times = [rtt(s)[0] for _ in range(3)]
    check.check(all(95 <= t <= 300 for t in times), f"latency 100 ms per round trip {times}")
    # A burst 10 ms apart arrives 100 ms later, still about 10 ms apart (no accumulation).
    t0 = time.monotonic()
    for _ in range(5):
        s.sendall(b"burst")
        time.sleep(0.01)
    arrivals = []
    got = b""
    s.settimeout(5)
    while len(got) < 25:
        chunk = s.recv(100)
        if not chunk:
            break
        got += chunk
        arrivals.append(ms_since(t0))
    check.equal(got, b"burst" * 5, "burst bytes")
    check.check(95 <= arrivals[0] <= 300 and arrivals[-1] - arrivals[0] < 150,
                f"latency does not accumulate {arrivals}")
    # Removing the toxic with data in flight delivers it at once.
    s.sendall(b"inflight")
    time.sleep(0.02)
    took = env.remove("lat")
    t0 = time.monotonic()
    got = recv_exact(s, 8)
    check.equal(got, b"inflight", "held data delivered after removal")
    check.check(took < 100 and ms_since(t0) < 60, f"removal is immediate ({took:.0f} ms)")
    s.close()


def test_latency_stack_and_live_add(env, check):
    s = connect(env.port)
    check.check(rtt(s)[0] < 50, "no toxic: fast")
    env.add({"name": "a", "type": "latency", "stream": "upstream", "attributes": {"latency": 50}})
    env.add({"name": "b", "type": "latency", "stream": "upstream", "attributes": {"latency": 70}})
    t, got = rtt(s)
    check.check(115 <= t <= 350 and got == b"ping", f"latencies add up on an open connection ({t:.0f} ms)")
    env.remove("a")
    env.remove("b")
    s.close()


def test_timeout(env, check):
    env.add({"name": "to", "type": "timeout", "stream": "upstream", "attributes": {"timeout": 0}})
    s = connect(env.port)
    s.sendall(b"dropped")
    check.equal(read_outcome(s, 1.0), "TIMEOUT", "timeout 0: data dropped, connection kept")
    env.remove("to")
    check.equal(read_outcome(s), "EOF", "removing a timeout toxic closes its connections")
    s.close()
    env.add({"name": "to2", "type": "timeout", "attributes": {"timeout": 300}})
    s = connect(env.port)
    t0 = time.monotonic()
    res = read_outcome(s, 5)
    took = ms_since(t0)
    check.check(res == "EOF" and 280 <= took <= 1500, f"timeout 300 closes an idle link ({res}, {took:.0f} ms)")
    s.close()
    env.remove("to2")


def test_reset_peer(env, check):
    env.add({"name": "rp", "type": "reset_peer", "stream": "upstream", "attributes": {"timeout": 0}})
    s = connect(env.port)
    check.equal(read_outcome(s, 0.8), "TIMEOUT", "reset_peer: idle connection untouched")
    s.sendall(b"x")
    check.equal(read_outcome(s), "RST", "reset_peer present at connect: RST after data")
    s.close()
    env.proxy.json("PATCH", "/proxies/dp/toxics/rp", {"attributes": {"timeout": 200}})
    s = connect(env.port)
    t0 = time.monotonic()
    s.sendall(b"x")
    res = read_outcome(s)
    took = ms_since(t0)
    check.check(res == "RST" and 180 <= took <= 1500, f"reset_peer 200 ms ({res}, {took:.0f} ms)")
    s.close()
    env.remove("rp")
    s = connect(env.port)
    check.equal(rtt(s)[1], b"ping", "connection without reset_peer")
    env.add({"name": "rp2", "type": "reset_peer", "stream": "upstream", "attributes": {"timeout": 0}})
    s.sendall(b"x")
    check.equal(read_outcome(s), "EOF", "reset_peer added after connect: FIN")
    s.close()
    env.remove("rp2")


def one_shot_upstream(env, name, serve):
    """A proxy `name` in front of a server that handles one connection with serve(conn)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)

    def run():
        conn, _ = srv.accept()
        serve(conn)
        conn.close()

    threading.Thread(target=run, daemon=True).start()
    _, body = env.proxy.json("POST", "/proxies", {
        "name": name, "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{srv.getsockname()[1]}"})
    return int(body["listen"].rsplit(":", 1)[1]), srv


def test_limit_data(env, check):
    def serve(conn):
        conn.sendall(b"0123456789abcdefghij")
        time.sleep(1)

    port, srv = one_shot_upstream(env, "ld", serve)
    env.add({"type": "limit_data", "attributes": {"bytes": 10}}, proxy="ld")
    s = connect(port)
    got = recv_exact(s, 100, timeout=5)
    check.equal(got, b"0123456789", "limit_data: exactly 10 bytes, then EOF")
    s.close()
    srv.close()


def test_slow_close(env, check):
    port, srv = one_shot_upstream(env, "sc", lambda conn: None)
    env.add({"type": "slow_close", "attributes": {"delay": 300}}, proxy="sc")
    s = connect(port)
    t0 = time.monotonic()
    res = read_outcome(s, 5)
    took = ms_since(t0)
    check.check(res == "EOF" and 280 <= took <= 1500, f"slow_close 300 ms ({res}, {took:.0f} ms)")
    s.close()
    srv.close()


def test_bandwidth(env, check):
    env.add({"name": "bw", "type": "bandwidth", "attributes": {"rate": 10}})
    s = connect(env.port)
    t0 = time.monotonic()
    s.sendall(b"x" * 5000)
    got = recv_exact(s, 5000)
    took = ms_since(t0)
    check.check(len(got) == 5000 and 450 <= took <= 1500, f"bandwidth 10 KB/s: 5000 bytes in {took:.0f} ms")
    # rate 0 stalls until removal, then the held data is flushed.
    env.proxy.json("PATCH", "/proxies/dp/toxics/bw", {"attributes": {"rate": 0}})
    s.sendall(b"hello")
    check.equal(read_outcome(s, 0.8), "TIMEOUT", "bandwidth 0 stalls")
    env.remove("bw")
    check.equal(recv_exact(s, 5), b"hello", "held data flushed on removal")
    s.close()


def test_slicer(env, check):
    env.add({"name": "sl", "type": "slicer",
             "attributes": {"average_size": 10, "size_variation": 0, "delay": 20000}})
    s = connect(env.port)
    t0 = time.monotonic()
    s.sendall(b"y" * 50)
    sizes = []
    s.settimeout(5)
    got = 0
    while got < 50:
        chunk = s.recv(1000)
        if not chunk:
            break
        sizes.append(len(chunk))
        got += len(chunk)
    took = ms_since(t0)
    check.equal(got, 50, "slicer delivers every byte")
    check.check(len(sizes) >= 5 and max(sizes) <= 20, f"slicer pieces {sizes}")
    check.check(100 <= took <= 1500, f"slicer pieces 20 ms apart ({took:.0f} ms)")
    env.remove("sl")
    s.close()


def test_integrity_through_chain(env, check):
    env.add({"name": "l0", "type": "latency", "attributes": {"latency": 0}})
    env.add({"name": "sl0", "type": "slicer", "stream": "upstream",
             "attributes": {"average_size": 700, "size_variation": 300, "delay": 0}})
    data = random.Random(3).randbytes(8 << 20)
    s = connect(env.port)

    def sender():
        for i in range(0, len(data), 1 << 16):
            s.sendall(data[i:i + (1 << 16)])

    t = threading.Thread(target=sender)
    t.start()
    h = hashlib.sha256()
    n = 0
    s.settimeout(30)
    while n < len(data):
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        h.update(chunk)
        n += len(chunk)
        if n > len(data) // 2 and env.proxy.json("GET", "/proxies/dp/toxics")[1]:
            # Remove the toxics mid-stream: no byte may be lost, duplicated or reordered.
            env.remove("l0")
            env.remove("sl0")
    t.join()
    check.equal(h.hexdigest(), hashlib.sha256(data).hexdigest(),
                "sha256 through latency+slicer chain, toxics removed mid-stream")
    s.close()


def test_toxicity(env, check):
    env.add({"name": "half", "type": "latency", "toxicity": 0.5, "attributes": {"latency": 100}})
    counter = r'faultline_proxy_toxic_connections_total\{proxy="dp",type="latency"\}'
    before = metric(env.proxy, counter) or 0
    check.equal(metric(env.proxy, r'faultline_proxy_toxics\{proxy="dp",stream="downstream",type="latency"\}'),
                1.0, "toxics gauge while the toxic is present")
    delayed = 0
    for _ in range(40):
        s = connect(env.port)
        t, _ = rtt(s)
        delayed += t >= 80
        s.close()
    check.check(8 <= delayed <= 32, f"toxicity 0.5: {delayed} of 40 connections delayed")
    activations = (metric(env.proxy, counter) or 0) - before
    check.check(abs(activations - delayed) <= 4,
                f"activations metric {activations} matches {delayed} delayed connections")
    env.remove("half")
    check.equal(metric(env.proxy, r'faultline_proxy_toxics\{proxy="dp",stream="downstream",type="latency"\}'),
                0.0, "toxics gauge after removal")


def delay_pattern(binary, backend, seed, echo_port):
    proxy = Proxy(binary, backend, free_port(), ["-seed", str(seed)])
    try:
        _, body = proxy.json("POST", "/proxies", {"name": "seeded", "listen": "127.0.0.1:0",
                                                  "upstream": f"127.0.0.1:{echo_port}"})
        port = int(body["listen"].rsplit(":", 1)[1])
        proxy.json("POST", "/proxies/seeded/toxics",
                   {"type": "latency", "toxicity": 0.5, "attributes": {"latency": 60}})
        pattern = []
        for _ in range(16):
            s = connect(port)
            pattern.append(rtt(s)[0] >= 45)
            s.close()
        return pattern
    finally:
        proxy.stop()


def test_seed(env, check):
    """-seed makes toxicity draws reproducible for the same sequence of connections."""
    binary, backend = env.proxy.binary, env.proxy.backend
    a = delay_pattern(binary, backend, 7, env.echo.port)
    b = delay_pattern(binary, backend, 7, env.echo.port)
    c = delay_pattern(binary, backend, 8, env.echo.port)
    check.equal(a, b, "same -seed, same toxicity draws")
    check.check(a != c, "another -seed, other draws")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def test_memory_bounded(env, check):
    """A 10 s latency on a saturating stream: the proxy stops reading once a few MiB are
    held, so its memory stays flat while the client's writes block."""
    env.add({"name": "slow", "type": "latency", "stream": "upstream", "attributes": {"latency": 10000}})
    before = rss_mb(env.proxy.proc.pid)
    s = connect(env.port)
    s.setblocking(False)
    sent = 0
    block = b"z" * 65536
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            sent += s.send(block)
        except BlockingIOError:
            time.sleep(0.01)
    after = rss_mb(env.proxy.proc.pid)
    check.check(sent < 64 << 20, f"client pushback: only {sent >> 20} MiB accepted in 3 s")
    check.check(after - before < 40, f"proxy RSS grew {after - before:.1f} MB under a 10 s latency")
    s.close()
    took = env.remove("slow")
    check.check(took < 1000, f"removing the toxic stays fast ({took:.0f} ms)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--backend", default="auto")
    args = ap.parse_args()
    check = Checker(f"toxics-{args.backend}")
    env = Env(args.binary, args.backend)
    try:
        for test in (test_latency, test_latency_stack_and_live_add, test_timeout, test_reset_peer,
                     test_limit_data, test_slow_close, test_bandwidth, test_slicer,
                     test_integrity_through_chain, test_toxicity, test_memory_bounded,
                     test_seed):
            test(env, check)
        check.check(env.proxy.alive(), "server alive at the end")
    finally:
        code = env.close()
    check.equal(code, 0, "clean exit")
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
