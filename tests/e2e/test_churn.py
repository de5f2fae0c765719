#!/usr/bin/env python3
"""The admin API stays responsive while toxics change under traffic: many connections
stream through the proxy while toxics are added, updated and removed about 100 times a
second. Every API call must answer quickly, no connection may lose or reorder a byte.
With --report it prints the API latency percentiles (used by bench/)."""

import argparse
import asyncio
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Checker, Proxy, free_port  # noqa: E402

ECHO = """
import asyncio, sys
async def handle(r, w):
    try:
        while True:
            data = await r.read(65536)
            if not data:
                break
            w.write(data)
            await w.drain()
    except Exception:
        pass
    w.close()
async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]), backlog=4096)
    async with srv:
        await srv.serve_forever()
asyncio.run(main())
"""


async def stream(port, stop, stats, index):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    counter = 0
    while not stop.is_set():
        payload = f"{index:05d}:{counter:08d};".encode() * 16
        w.write(payload)
        await w.drain()
        got = await asyncio.wait_for(r.readexactly(len(payload)), 30)
        if got != payload:
            stats["corrupt"] += 1
            break
        counter += 1
        stats["roundtrips"] += 1
    w.close()


def churn(proxy, stop, latencies, errors, rate):
    specs = [
        ("POST", "/proxies/dp/toxics", {"name": "l", "type": "latency", "attributes": {"latency": 1}}),
        ("PATCH", "/proxies/dp/toxics/l", {"attributes": {"latency": 2, "jitter": 1}}),
        ("POST", "/proxies/dp/toxics", {"name": "s", "type": "slicer", "stream": "upstream",
                                        "attributes": {"average_size": 64, "size_variation": 16}}),
        ("POST", "/proxies/dp/toxics", {"name": "b", "type": "bandwidth", "attributes": {"rate": 100000}}),
        ("DELETE", "/proxies/dp/toxics/l", None),
        ("DELETE", "/proxies/dp/toxics/s", None),
        ("DELETE", "/proxies/dp/toxics/b", None),
    ]
    i = 0
    interval = 1.0 / rate
    next_at = time.monotonic()
    while not stop.is_set():
        method, path, body = specs[i % len(specs)]
        t0 = time.monotonic()
        status, _, _ = proxy.request(method, path, body)
        latencies.append((time.monotonic() - t0) * 1000)
        if status not in (200, 204):
            errors.append((method, path, status))
        i += 1
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--connections", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rate", type=float, default=100)
    ap.add_argument("--report", action="store_true")
    args = ap.parse_args()
    check = Checker(f"churn-{args.backend}")
    echo_port = free_port()
    echo = subprocess.Popen([sys.executable, "-c", ECHO, str(echo_port)])
    proxy = Proxy(args.binary, args.backend, free_port())
    try:
        time.sleep(0.5)
        status, body = proxy.json("POST", "/proxies", {
            "name": "dp", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{echo_port}"})
        port = int(body["listen"].rsplit(":", 1)[1])
        stats = {"roundtrips": 0, "corrupt": 0}
        latencies, errors = [], []
        thread_stop = threading.Event()

        async def run():
            stop = asyncio.Event()
            tasks = [asyncio.create_task(stream(port, stop, stats, i)) for i in range(args.connections)]
            churner = threading.Thread(target=churn, args=(proxy, thread_stop, latencies, errors, args.rate))
            churner.start()
            await asyncio.sleep(args.seconds)
            thread_stop.set()
            churner.join()
            # Clear what the churn left behind so every stream can finish promptly.
            proxy.request("POST", "/reset")
            stop.set()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            return [r for r in results if isinstance(r, Exception)]

        failures = asyncio.run(run())
        latencies.sort()
        p50 = latencies[len(latencies) // 2]
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        if args.report:
            print(f"api calls {len(latencies)}, p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
                  f"max {latencies[-1]:.2f} ms, round trips {stats['roundtrips']}")
        check.equal(errors, [], "every toxic change succeeded")
        check.check(len(latencies) >= args.seconds * args.rate * 0.3, f"{len(latencies)} API calls made")
        check.check(latencies[-1] < 2000, f"slowest API call {latencies[-1]:.0f} ms (p99 {p99:.1f} ms)")
        check.equal(stats["corrupt"], 0, "no stream saw a lost, duplicated or reordered byte")
        check.equal(failures, [], "every stream finished cleanly")
        check.check(stats["roundtrips"] > args.connections, f"{stats['roundtrips']} round trips")
        check.check(proxy.alive(), "server alive")
    finally:
        proxy.stop()
        echo.kill()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
