#!/usr/bin/env python3
"""End-to-end checks of faultline-proxy's data path and lifecycle with real sockets:
byte integrity, thousands of concurrent connections, Toxiproxy's close semantics,
enable/disable/update/delete/reset, live metrics, and hostile input on the admin API."""

import argparse
import asyncio
import hashlib
import os
import random
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Checker, EchoServer, Proxy, connect, free_port,  # noqa: E402
                     read_outcome, recv_exact)


def echo_roundtrip(port, payload=b"ping"):
    s = connect(port)
    s.sendall(payload)
    got = recv_exact(s, len(payload), timeout=5)
    s.close()
    return got


def create(proxy, name, upstream, listen="127.0.0.1:0", enabled=True):
    status, body = proxy.json("POST", "/proxies",
                              {"name": name, "listen": listen, "upstream": upstream,
                               "enabled": enabled})
    assert status == 201, (status, body)
    return int(body["listen"].rsplit(":", 1)[1])


def metric(proxy, pattern):
    status, _, payload = proxy.request("GET", "/metrics")
    total = 0.0
    found = False
    for line in payload.decode().splitlines():
        if line.startswith("#"):
            continue
        if re.search(pattern, line):
            total += float(line.rsplit(" ", 1)[1])
            found = True
    return total if found else None


def test_basic_and_refused(proxy, echo, check):
    port = create(proxy, "basic", f"127.0.0.1:{echo.port}")
    check.equal(echo_roundtrip(port, b"hello"), b"hello", "echo through proxy")

    dead = free_port()
    port2 = create(proxy, "refused", f"127.0.0.1:{dead}")
    s = connect(port2)
    t0 = time.time()
    outcome = read_outcome(s)
    check.equal(outcome, "EOF", "upstream refusing: client gets an orderly close")
    check.check(time.time() - t0 < 2, "upstream refusing: client closed promptly")
    s.close()
    check.check(metric(proxy, r'faultline_proxy_upstream_connect_failures_total\{proxy="refused"\}')
                == 1, "upstream connect failure counted")

    # An unresolvable upstream behaves the same way.
    port3 = create(proxy, "unresolvable", "no-such-host.invalid:80")
    s = connect(port3)
    check.equal(read_outcome(s, 10), "EOF", "unresolvable upstream: client closed")
    s.close()


def test_metrics_gzip(proxy, check):
    import gzip
    status, headers, payload = proxy.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"})
    h = {k.lower(): v for k, v in headers}
    check.equal((status, h.get("content-encoding")), (200, "gzip"), "metrics gzip when asked")
    text = gzip.decompress(payload).decode()
    check.check("faultline_proxy_connections_accepted_total" in text, "gzip body decodes")
    status, headers, payload = proxy.request("GET", "/metrics")
    check.check(b"process_open_fds" in payload and
                "content-encoding" not in {k.lower() for k, _ in headers}, "plain metrics otherwise")
    zipped = proxy.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"})[2]
    check.check(len(zipped) < len(payload) / 2,
                f"gzip compresses ({len(zipped)} bytes for {len(payload)})")
    # Toxiproxy (Go's client) writes an empty HELP line for its two byte counters.
    for name in ("toxiproxy_proxy_received_bytes_total", "toxiproxy_proxy_sent_bytes_total"):
        check.check(f"# HELP {name} \n# TYPE {name} counter\n".encode() in payload,
                    f"empty HELP line for {name}, as Toxiproxy writes it")


def echo_through(port, data, progress=None):
    """Sends `data` through `port` to the echo server while reading it back; returns the
    byte count and sha256 of what came back. `progress(received)` runs after each read."""
    s = connect(port, timeout=60)

    def sender():
        view = memoryview(data)
        for i in range(0, len(view), 1 << 20):
            s.sendall(view[i:i + (1 << 20)])

    t = threading.Thread(target=sender)
    t.start()
    h = hashlib.sha256()
    received = 0
    while received < len(data):
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        h.update(chunk)
        received += len(chunk)
        if progress:
            progress(received)
    t.join()
    s.close()
    return received, h.hexdigest()


def test_integrity(proxy, echo, check, size):
    port = create(proxy, "integrity", f"127.0.0.1:{echo.port}")
    data = random.Random(7).randbytes(size)
    sent_hash = hashlib.sha256(data).hexdigest()
    received, digest = echo_through(port, data)
    check.equal(received, size, f"{size} bytes came back")
    check.equal(digest, sent_hash, "sha256 of bytes both ways")
    # Counters are live: after the echo they cover every byte both ways.
    up = metric(proxy, r'toxiproxy_proxy_sent_bytes_total\{direction="upstream".*proxy="integrity"')
    down = metric(proxy,
                  r'toxiproxy_proxy_sent_bytes_total\{direction="downstream".*proxy="integrity"')
    check.equal(up, float(size), "upstream sent bytes metric")
    check.equal(down, float(size), "downstream sent bytes metric")


def test_bulk_handover(proxy, echo, check, size):
    """A bulk stream moves inside the kernel (splice) while no toxic is set; toxics added
    and removed mid-stream hand it to the toxic chain and back without a byte lost,
    reordered or counted twice."""
    port = create(proxy, "handover", f"127.0.0.1:{echo.port}")
    data = random.Random(11).randbytes(size)
    step, toggles = size // 8, [0]

    def toggle(received):
        n = toggles[0]
        if received >= (n + 1) * step and n < 6:
            toggles[0] = n = n + 1
            stream = "upstream" if n % 4 < 2 else "downstream"
            if n % 2:
                proxy.json("POST", "/proxies/handover/toxics",
                           {"name": "slow", "type": "latency", "stream": stream,
                            "attributes": {"latency": 1}})
            else:
                proxy.request("DELETE", "/proxies/handover/toxics/slow")
    received, digest = echo_through(port, data, toggle)
    check.equal((received, toggles[0]), (size, 6), "every byte back, across six toxic changes")
    check.equal(digest, hashlib.sha256(data).hexdigest(), "in order, unchanged")
    for direction in ("upstream", "downstream"):
        sent = metric(proxy, r'toxiproxy_proxy_sent_bytes_total\{direction="' + direction +
                      r'".*proxy="handover"')
        check.equal(sent, float(size), f"{direction} sent bytes metric")


def test_receiver_vanishing_mid_bulk(proxy, echo, check):
    """The upstream closes while a bulk stream is being spliced into it: the proxy loses
    that connection, not its life (splice(2) has no MSG_NOSIGNAL, so SIGPIPE must be
    ignored), and serves the next client."""
    sink = socket.socket()
    sink.bind(("127.0.0.1", 0))
    sink.listen(8)
    port = create(proxy, "vanishing", f"127.0.0.1:{sink.getsockname()[1]}")

    def swallow_then_close():
        for _ in range(3):
            conn, _ = sink.accept()
            taken = 0
            while taken < (4 << 20):
                chunk = conn.recv(1 << 20)
                if not chunk:
                    break
                taken += len(chunk)
            conn.close()  # with bytes unread: an RST, then EPIPE for the next splice

    t = threading.Thread(target=swallow_then_close)
    t.start()
    block = b"z" * (1 << 20)
    for _ in range(3):
        s = connect(port, timeout=10)
        try:
            for _ in range(64):
                s.sendall(block)
        except OSError:
            pass  # the proxy closed this client's connection: expected
        s.close()
    t.join(10)
    sink.close()
    check.check(proxy.alive(), "proxy alive after upstreams vanished mid-stream")
    echo_port = create(proxy, "after-vanishing", f"127.0.0.1:{echo.port}")
    check.equal(echo_through(echo_port, b"still here" * 1000)[0], 10000,
                "the next connection is served")


def test_live_metrics(proxy, echo, check):
    port = create(proxy, "live", f"127.0.0.1:{echo.port}")
    s = connect(port)
    s.sendall(b"x" * 1000)
    got = 0
    while got < 1000:
        got += len(s.recv(65536))
    recv = metric(proxy, r'toxiproxy_proxy_received_bytes_total\{direction="upstream".*proxy="live"')
    check.equal(recv, 1000.0, "received bytes visible while the connection is open")
    check.equal(metric(proxy, r'faultline_proxy_connections_open\{proxy="live"\}'), 1.0,
                "open connections gauge")
    s.close()


async def many_connections(port, count):
    conns = []
    for i in range(count):
        r, w = await asyncio.open_connection("127.0.0.1", port)
        conns.append((r, w))
    for i, (r, w) in enumerate(conns):
        w.write(f"message-{i:05d}".encode())
    ok = 0
    for i, (r, w) in enumerate(conns):
        want = f"message-{i:05d}".encode()
        got = await asyncio.wait_for(r.readexactly(len(want)), 30)
        ok += got == want
    return conns, ok


def test_concurrency(proxy, echo_port, check, count):
    port = create(proxy, "many", f"127.0.0.1:{echo_port}")

    async def run():
        conns, ok = await many_connections(port, count)
        check.equal(ok, count, f"{count} concurrent connections echo their own bytes")
        opened = metric(proxy, r'faultline_proxy_connections_open\{proxy="many"\}')
        check.equal(opened, float(count), "open connections gauge at peak")
        for _, w in conns:
            w.close()
        for _, w in conns:
            await w.wait_closed()

    asyncio.run(run())
    deadline = time.time() + 10
    while time.time() < deadline:
        if metric(proxy, r'faultline_proxy_connections_open\{proxy="many"\}') == 0:
            break
        time.sleep(0.1)
    check.equal(metric(proxy, r'faultline_proxy_connections_open\{proxy="many"\}'), 0.0,
                "every connection released after the clients closed")


def test_lifecycle(proxy, echo, check):
    port = create(proxy, "life", f"127.0.0.1:{echo.port}")

    # Re-sending the current values keeps open connections.
    s = connect(port)
    check.equal(echo_roundtrip(port), b"ping", "life works")
    status, body = proxy.json("PATCH", "/proxies/life",
                              {"listen": f"127.0.0.1:{port}", "upstream": f"127.0.0.1:{echo.port}"})
    check.equal(status, 200, "no-op update")
    s.sendall(b"a")
    check.equal(read_outcome(s), "DATA:a", "no-op update keeps connections")

    # /reset does not close connections.
    check.equal(proxy.request("POST", "/reset")[0], 204, "reset")
    s.sendall(b"b")
    check.equal(read_outcome(s), "DATA:b", "reset keeps connections")

    # Disabling closes open connections and refuses new ones.
    status, body = proxy.json("POST", "/proxies/life", {"enabled": False})
    check.equal((status, body["enabled"]), (200, False), "disable")
    check.equal(read_outcome(s), "EOF", "disable closes open connection")
    s.close()
    try:
        connect(port, timeout=2).close()
        check.check(False, "connect to disabled proxy refused")
    except ConnectionRefusedError:
        check.check(True, "connect to disabled proxy refused")

    # Re-enabling binds the same address again.
    status, body = proxy.json("POST", "/proxies/life", {"enabled": True})
    check.equal((status, body["listen"]), (200, f"127.0.0.1:{port}"), "enable keeps the port")
    check.equal(echo_roundtrip(port), b"ping", "works after re-enable")

    # Changing the upstream closes open connections, even on the same port.
    echo2 = EchoServer()
    s = connect(port)
    s.sendall(b"c")
    check.equal(read_outcome(s), "DATA:c", "before upstream change")
    status, body = proxy.json("PATCH", "/proxies/life", {"upstream": f"127.0.0.1:{echo2.port}"})
    check.equal(status, 200, "upstream change")
    check.equal(read_outcome(s), "EOF", "upstream change closes connections")
    s.close()
    check.equal(echo_roundtrip(port), b"ping", "works after upstream change")

    # A bind failure on restart leaves the proxy disabled with the new address saved.
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    busy = blocker.getsockname()[1]
    status, body = proxy.json("PATCH", "/proxies/life", {"listen": f"127.0.0.1:{busy}"})
    check.equal(status, 500, "bind failure on restart")
    check.check("address already in use" in body["error"], "bind failure message")
    status, body = proxy.json("GET", "/proxies/life")
    check.equal((body["enabled"], body["listen"]), (False, f"127.0.0.1:{busy}"),
                "proxy left disabled with the new listen")
    blocker.close()

    # Deleting closes connections.
    status, body = proxy.json("PATCH", "/proxies/life", {"listen": "127.0.0.1:0", "enabled": True})
    port = int(body["listen"].rsplit(":", 1)[1])
    s = connect(port)
    s.sendall(b"d")
    check.equal(read_outcome(s), "DATA:d", "before delete")
    check.equal(proxy.request("DELETE", "/proxies/life")[0], 204, "delete")
    check.equal(read_outcome(s), "EOF", "delete closes connections")
    s.close()
    echo2.close()


def test_populate_duplicate_names(proxy, echo, check):
    """Two entries of one name in one /populate body: Toxiproxy 2.12 answers 201 listing
    both (the first as the second left it: stopped) and serves the second."""
    first, second = free_port(), free_port()
    upstream = f"127.0.0.1:{echo.port}"
    status, body = proxy.json("POST", "/populate", [
        {"name": "dup", "listen": f"127.0.0.1:{first}", "upstream": upstream},
        {"name": "dup", "listen": f"127.0.0.1:{second}", "upstream": upstream}])
    check.equal(status, 201, "populate with a duplicate name")
    check.equal([(p["listen"], p["enabled"]) for p in body["proxies"]],
                [(f"127.0.0.1:{first}", False), (f"127.0.0.1:{second}", True)],
                "both entries listed, the first stopped")
    check.check(proxy.alive(), "server alive after duplicate populate")
    check.equal(echo_roundtrip(second), b"ping", "the second entry serves")
    try:
        connect(first, timeout=2).close()
        check.check(False, "the first entry's address is closed")
    except ConnectionRefusedError:
        check.check(True, "the first entry's address is closed")
    # The same body again: the first entry differs from the live proxy and replaces it,
    # then the second replaces that one.
    status, body = proxy.json("POST", "/populate", [
        {"name": "dup", "listen": f"127.0.0.1:{first}", "upstream": upstream},
        {"name": "dup", "listen": f"127.0.0.1:{second}", "upstream": upstream}])
    check.equal(status, 201, "duplicate populate repeated")
    check.equal(echo_roundtrip(second), b"ping", "still serving after the repeat")
    check.equal(proxy.request("DELETE", "/proxies/dup")[0], 204, "delete the duplicate")


def test_half_close(proxy, check):
    """A client FIN ends the connection: a reply sent after it is lost (Toxiproxy)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    up_port = srv.getsockname()[1]

    def serve():
        conn, _ = srv.accept()
        data = b""
        while True:
            chunk = conn.recv(1024)
            if not chunk:
                break
            data += chunk
        try:
            conn.sendall(b"reply-to-" + data)
        except OSError:
            pass
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    port = create(proxy, "halfclose", f"127.0.0.1:{up_port}")
    s = connect(port)
    s.sendall(b"req")
    s.shutdown(socket.SHUT_WR)
    outcome = read_outcome(s)
    check.check(outcome in ("EOF", "RST"), f"half-close not preserved (got {outcome})")
    s.close()
    srv.close()


def test_client_vanishing(proxy, echo, check):
    port = create(proxy, "vanish", f"127.0.0.1:{echo.port}")
    for _ in range(50):
        s = connect(port)
        s.sendall(b"x" * 10000)
        # RST instead of FIN.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    check.equal(echo_roundtrip(port), b"ping", "proxy fine after clients vanish with RST")


def raw_http(port, data, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
    except OSError:
        pass
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return out


def test_hostile_api(proxy, check):
    port = proxy.port
    resp = raw_http(port, b"GARBAGE\r\n\r\n")
    check.check(resp.startswith(b"HTTP/1.1 400"), f"malformed request line -> 400 ({resp[:40]!r})")
    resp = raw_http(port, b"GET /version HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
    check.check(resp.startswith(b"HTTP/1.1 400"), "bad Content-Length -> 400")
    big = b"x" * (17 << 20)
    resp = raw_http(port, b"POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                    % len(big) + big, timeout=20)
    check.check(resp.startswith(b"HTTP/1.1 413"), f"huge body -> 413 ({resp[:40]!r})")
    resp = raw_http(port, b"GET /version HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (2 << 20)
                    + b"\r\n\r\n", timeout=20)
    check.check(resp.startswith(b"HTTP/1.1 431"), f"huge header -> 431 ({resp[:40]!r})")
    # Pipelined requests are answered in order on one connection.
    resp = raw_http(port, b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n"
                    b"GET /proxies/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    check.check(resp.count(b"HTTP/1.1 ") == 2 and resp.index(b"200 OK") < resp.index(b"404"),
                "pipelined requests answered in order")
    # Random JSON-ish bodies never crash the server.
    rng = random.Random(11)
    alphabet = '{}[]":,0123456789.eE+-truefalsnl \\u"abc'
    statuses = set()
    for i in range(300):
        body = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        path = rng.choice(["/proxies", "/populate", "/proxies/fz/toxics", "/proxies/fz",
                           "/proxies/fz/toxics/t"])
        method = rng.choice(["POST", "PATCH"])
        status, _, _ = proxy.request(method, path, body)
        statuses.add(status)
    check.check(proxy.alive(), "server alive after fuzzed bodies")
    check.check(statuses <= {200, 201, 400, 404, 405, 409, 500}, f"fuzz statuses {statuses}")
    # Truncated request then disconnect.
    raw_http(port, b"POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"na", 1)
    check.equal(proxy.request("GET", "/version")[0], 200, "server answers after hostile input")


def test_slow_request(proxy, check):
    """A request that does not arrive within 15 s of its first byte is dropped."""
    s = socket.create_connection(("127.0.0.1", proxy.port), timeout=30)
    s.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n")  # never finished
    t0 = time.time()
    outcome = read_outcome(s, timeout=25)
    took = time.time() - t0
    check.check(outcome in ("EOF", "RST") and 14 <= took <= 22,
                f"slow request closed after {took:.1f} s ({outcome})")
    s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--bytes", type=int, default=64 << 20)
    ap.add_argument("--connections", type=int, default=2000)
    args = ap.parse_args()
    check = Checker(f"proxy-{args.backend}")
    echo = EchoServer()
    proxy = Proxy(args.binary, args.backend, free_port(), ["-proxy-metrics", "-runtime-metrics"])
    try:
        test_basic_and_refused(proxy, echo, check)
        test_live_metrics(proxy, echo, check)
        test_metrics_gzip(proxy, check)
        test_integrity(proxy, echo, check, args.bytes)
        test_bulk_handover(proxy, echo, check, args.bytes)
        test_receiver_vanishing_mid_bulk(proxy, echo, check)
        test_concurrency(proxy, echo.port, check, args.connections)
        test_lifecycle(proxy, echo, check)
        test_populate_duplicate_names(proxy, echo, check)
        test_half_close(proxy, check)
        test_client_vanishing(proxy, echo, check)
        test_hostile_api(proxy, check)
        if args.backend != "epoll":
            test_slow_request(proxy, check)  # backend-independent; once is enough
        check.check(proxy.alive(), "server alive at the end")
    finally:
        code = proxy.stop()
        echo.close()
    check.equal(code, 0, "clean exit on SIGTERM")
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
