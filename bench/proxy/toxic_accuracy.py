#!/usr/bin/env python3
"""Accuracy of faultline-proxy's latency and bandwidth toxics on loopback: requested vs
measured delay over many round trips, and the time to move 2 MB through a bandwidth limit.
Usage: toxic_accuracy.py BINARY [round-trips]"""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../tests/e2e"))
from harness import EchoServer, Proxy, free_port  # noqa: E402


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def round_trips(port, count):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    out = []
    for _ in range(count):
        t0 = time.perf_counter()
        s.sendall(b"x" * 32)
        got = 0
        while got < 32:
            got += len(s.recv(64))
        out.append((time.perf_counter() - t0) * 1000)
    s.close()
    return out


def main():
    binary = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    echo = EchoServer()
    proxy = Proxy(binary, os.environ.get("BACKEND", "auto"), free_port())
    try:
        _, body = proxy.json("POST", "/proxies", {"name": "acc", "listen": "127.0.0.1:0",
                                                  "upstream": f"127.0.0.1:{echo.port}"})
        port = int(body["listen"].rsplit(":", 1)[1])
        base = round_trips(port, count)
        requested = 10
        proxy.json("POST", "/proxies/acc/toxics",
                   {"name": "lat", "type": "latency", "attributes": {"latency": requested}})
        delayed = round_trips(port, count)
        for p in (50, 99):
            added = percentile(delayed, p) - percentile(base, p)
            print(f"latency {requested} ms, p{p}: measured +{added:.3f} ms "
                  f"(error {added - requested:+.3f} ms) over {count} round trips")
        proxy.request("DELETE", "/proxies/acc/toxics/lat")

        # Bandwidth: the server side sends 2 MB through rate=1000 KB/s; expected 2.0 s.
        size, rate = 2_000_000, 1000
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        _, body = proxy.json("POST", "/proxies", {"name": "bw", "listen": "127.0.0.1:0",
                                                  "upstream": f"127.0.0.1:{srv.getsockname()[1]}"})
        bw_port = int(body["listen"].rsplit(":", 1)[1])
        proxy.json("POST", "/proxies/bw/toxics",
                   {"type": "bandwidth", "attributes": {"rate": rate}})
        c = socket.create_connection(("127.0.0.1", bw_port))
        conn, _ = srv.accept()
        t0 = time.perf_counter()
        conn.sendall(b"b" * size)
        got = 0
        while got < size:
            got += len(c.recv(1 << 20))
        took = time.perf_counter() - t0
        expected = size / (rate * 1000)
        print(f"bandwidth {rate} KB/s, {size} bytes: {took:.3f} s (expected {expected:.3f} s, "
              f"error {100 * (took - expected) / expected:+.2f}%)")
        c.close()
        conn.close()
        srv.close()
    finally:
        proxy.stop()
        echo.close()


if __name__ == "__main__":
    main()
