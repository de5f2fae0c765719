#!/usr/bin/env python3
"""Soak test of faultline-proxy: long-lived streams, short connections, toxic churn,
toggles and re-populates, vanishing clients — for minutes or an hour — then a check that
nothing was lost and nothing leaked.

  tests/soak/soak.py --proxy build/proxy/faultline-proxy --backend io_uring --seconds 3600

Four processes share the work so no Python event loop skews another's timing: echo
upstreams (tests/helpers/echo_server.c, given with --echo), the traffic driver, the
API churn (this process) and the proxy under test.

- Streams: --connections long-lived connections (1,000) through two "stream" proxies echo
  random chunks (64 B-16 KiB, about one a second each) and compare every byte. Only toxics
  that keep bytes intact (latency with jitter, bandwidth, slicer, slow_close) are churned
  on these proxies, and they are never disabled or replaced, so any error on them fails.
  About five clients a second vanish mid-chunk (RST) and are replaced.
- Short connections: --short-rate (200) a second through two "short" proxies and a "flap"
  proxy, carrying 100 B-4 KiB each. Their proxies get every toxic type (timeout,
  reset_peer and limit_data too), so they may be cut, but what arrives must be a prefix
  of what was sent. One in ten clients vanishes right after sending.
- API: toxics are added, updated and removed --toxic-rate (50) times a second across all
  proxies; "flap" is toggled every second and re-populated with another upstream every five
  (the re-populate lists every proxy, so unchanged ones must be left alone); "short2" is
  disabled for half a second every ten. Every call's latency counts toward the p99.
- Leaks: the proxy's RSS and open descriptors are read before traffic, every five seconds
  during it and again once every client has gone; descriptors must return exactly to
  their starting count and RSS close to its starting level.

Prints a report (and --json FILE writes it) and exits non-zero if a check failed."""

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import resource
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from harness import Checker, Proxy  # noqa: E402

STREAM_PROXIES = ["stream1", "stream2"]
SHORT_PROXIES = ["short1", "short2", "flap"]
SAFE_TOXICS = ["latency", "bandwidth", "slicer", "slow_close"]
ALL_TOXICS = SAFE_TOXICS + ["timeout", "reset_peer", "limit_data", "noop"]


# ---------------------------------------------------------------------------------------
# Traffic driver (its own process)

def in_order_pieces(payload, got):
    """True when `got` is pieces of `payload` in their order: a prefix, or with gaps where
    a toxic dropped data (a timeout toxic discards what it receives; when an update's new
    toxicity draw turns it off, later data passes again, as in Toxiproxy). Nothing may be
    reordered, repeated or foreign."""
    i = j = 0
    while j < len(got):
        if i < len(payload) and payload[i] == got[j]:
            i += 1
            j += 1
            continue
        k = payload.find(got[j:j + 8], i)  # the data after a gap (random bytes: no false hit)
        if k < 0:
            return False
        i = k
    return True


def rst_close(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class Traffic:
    def __init__(self, args, ports, stop):
        self.args = args
        self.ports = ports  # proxy name -> listen port
        self.stop = stop  # multiprocessing.Event
        self.rng = random.Random(args.seed)
        self.s = {k: 0 for k in (
            "stream_roundtrips", "stream_bytes", "stream_connections", "stream_vanished",
            "stream_errors", "stream_corrupt", "short_started", "short_complete", "short_cut",
            "short_reset", "short_refused", "short_timeout", "short_vanished",
            "short_corrupt", "short_gapped", "short_skipped", "short_bytes")}
        self.errors = []  # first few stream failures, for the report

    async def stream_slot(self, slot):
        rng = random.Random(self.args.seed * 7919 + slot)
        port = self.ports[STREAM_PROXIES[slot % len(STREAM_PROXIES)]]
        await asyncio.sleep(rng.random() * 3)  # spread the opening over three seconds
        generation = 0
        while not self.stop.is_set():
            lifetime = rng.expovariate(1.0 / self.args.stream_lifetime)
            await self.one_stream(port, rng, slot, generation, time.monotonic() + lifetime)
            generation += 1

    async def one_stream(self, port, rng, slot, generation, vanish_at):
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
        except (OSError, asyncio.TimeoutError) as e:
            self.fail(f"stream {slot} could not connect: {e!r}")
            await asyncio.sleep(1)
            return
        self.s["stream_connections"] += 1
        chunk = 0
        try:
            while not self.stop.is_set():
                size = rng.randint(64, 16384)
                payload = random.Random((slot << 40) ^ (generation << 20) ^ chunk).randbytes(size)
                if time.monotonic() >= vanish_at:
                    writer.write(payload[: size // 2])  # half a chunk, then gone
                    rst_close(writer)
                    self.s["stream_vanished"] += 1
                    return
                writer.write(payload)
                await writer.drain()
                got = await asyncio.wait_for(reader.readexactly(size), 60)
                if got != payload:
                    self.s["stream_corrupt"] += 1
                    self.fail(f"stream {slot} chunk {chunk}: bytes differ")
                    rst_close(writer)
                    return
                self.s["stream_roundtrips"] += 1
                self.s["stream_bytes"] += size
                chunk += 1
                await asyncio.sleep(rng.expovariate(1.0 / self.args.stream_interval))
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError) as e:
            self.s["stream_errors"] += 1
            self.fail(f"stream {slot} chunk {chunk}: {e!r}")
            rst_close(writer)
            return
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 10)
        except (OSError, asyncio.TimeoutError):
            pass

    def corrupt(self, name, payload, got, how):
        """Counts a short connection whose bytes are not a prefix of what it sent: pieces of
        it in order with gaps (data a toxic dropped) or corrupt (reordered, repeated or
        foreign bytes, noted with where they differ)."""
        if in_order_pieces(payload, got):
            self.s["short_gapped"] += 1
            return
        self.s["short_corrupt"] += 1
        at = next((i for i in range(min(len(got), len(payload))) if got[i] != payload[i]),
                  min(len(got), len(payload)))
        tail = got[at:at + 16]
        where = payload.find(tail) if tail else -1
        self.fail(f"short via {name} ({how}): sent {len(payload)}, got {len(got)}, differ at {at}; "
                  f"the bytes there are {'from offset %d of its own payload' % where if where >= 0 else 'not from its payload'}")

    def fail(self, what):
        if len(self.errors) < 20:
            self.errors.append(what)

    async def short(self, name, seq):
        rng = random.Random(self.args.seed * 104729 + seq)
        size = rng.randint(100, 4096)
        payload = rng.randbytes(size)
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.ports[name]), 5)
        except ConnectionRefusedError:
            self.s["short_refused"] += 1  # a disabled proxy, or mid-replacement
            return
        except (OSError, asyncio.TimeoutError):
            self.s["short_timeout"] += 1
            return
        got = b""
        try:
            writer.write(payload)
            if rng.random() < 0.1:
                await asyncio.sleep(rng.random() * 0.01)
                rst_close(writer)
                self.s["short_vanished"] += 1
                return
            deadline = time.monotonic() + 3
            while len(got) < size:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise asyncio.TimeoutError()
                data = await asyncio.wait_for(reader.read(65536), left)
                if not data:
                    break
                got += data
            if not payload.startswith(got):
                self.corrupt(name, payload, got, "ended")
            elif len(got) == size:
                self.s["short_complete"] += 1
            else:
                self.s["short_cut"] += 1  # closed early (limit_data, a disable, a replacement)
            self.s["short_bytes"] += len(got)
            writer.close()
        except asyncio.TimeoutError:
            # A timeout toxic holds the data: give up like an impatient client.
            if not payload.startswith(got):
                self.corrupt(name, payload, got, "timed out")
            self.s["short_timeout"] += 1
            rst_close(writer)
        except OSError:
            if not payload.startswith(got):
                self.corrupt(name, payload, got, "reset")
            self.s["short_reset"] += 1
            writer.transport.abort()

    async def shorts(self):
        interval = 1.0 / self.args.short_rate
        tasks = set()
        seq = 0
        next_at = time.monotonic()
        while not self.stop.is_set():
            if len(tasks) > 4000:
                self.s["short_skipped"] += 1  # the proxy is not keeping up: do not pile up
            else:
                t = asyncio.create_task(self.short(SHORT_PROXIES[seq % len(SHORT_PROXIES)], seq))
                tasks.add(t)
                t.add_done_callback(tasks.discard)
                self.s["short_started"] += 1
            seq += 1
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -1:
                next_at = time.monotonic()  # fell behind by a second: do not burst
        if tasks:
            await asyncio.wait(tasks, timeout=15)

    async def run(self):
        slots = [asyncio.create_task(self.stream_slot(i)) for i in range(self.args.connections)]
        shorts = asyncio.create_task(self.shorts())
        while not self.stop.is_set():
            await asyncio.sleep(0.2)
        await asyncio.wait(slots + [shorts], timeout=90)


def traffic_main(args, ports, stop, results):
    resource.setrlimit(resource.RLIMIT_NOFILE, resource.getrlimit(resource.RLIMIT_NOFILE))
    t = Traffic(args, ports, stop)
    asyncio.run(t.run())
    results.put({"stats": t.s, "errors": t.errors})


# ---------------------------------------------------------------------------------------
# API churn (this process)

class Churn:
    def __init__(self, args, proxy, proxies_body):
        self.args = args
        self.proxy = proxy
        self.rng = random.Random(args.seed + 1)
        self.body = proxies_body  # the populate list; flap's upstream alternates
        self.toxics = {p["name"]: [] for p in proxies_body}
        self.latencies = []
        self.by_kind = {}  # "POST toxics" etc. -> latencies
        self.unexpected = []
        self.count = 0
        self.populates = 0
        self.toggles = 0

    def call(self, method, path, body, ok):
        t0 = time.monotonic()
        status, _, payload = self.proxy.request(method, path, body)
        ms = (time.monotonic() - t0) * 1000
        self.latencies.append(ms)
        kind = method + " " + ("toxics" if "/toxics" in path else path.split("/")[1])
        self.by_kind.setdefault(kind, []).append(ms)
        if status not in ok and len(self.unexpected) < 20:
            self.unexpected.append(f"{method} {path} -> {status} {payload[:200]!r}")
        return status

    def attributes(self, kind, safe):
        r = self.rng
        if kind == "latency":
            return {"latency": r.randint(0, 20), "jitter": r.randint(0, 10)}
        if kind == "bandwidth":
            return {"rate": r.randint(200, 20000)}
        if kind == "slicer":
            return {"average_size": r.randint(16, 2048), "size_variation": r.randint(0, 16),
                    "delay": r.randint(0, 200)}
        if kind == "slow_close":
            return {"delay": r.randint(0, 50)}
        if kind == "timeout":
            return {"timeout": r.choice([0, 10, 100, 500])}
        if kind == "reset_peer":
            return {"timeout": r.choice([0, 10, 100])}
        if kind == "limit_data":
            return {"bytes": r.randint(1, 4096)}
        return {}

    def toxic_op(self):
        r = self.rng
        name = r.choice(list(self.toxics))
        safe = name in STREAM_PROXIES
        existing = self.toxics[name]
        if len(existing) < 3 and (not existing or r.random() < 0.5):
            kind = r.choice(SAFE_TOXICS if safe else ALL_TOXICS)
            toxic = f"{kind}_{self.count}"
            body = {"name": toxic, "type": kind, "stream": r.choice(["upstream", "downstream"]),
                    "toxicity": round(r.random(), 2), "attributes": self.attributes(kind, safe)}
            if self.call("POST", f"/proxies/{name}/toxics", body, (200,)) == 200:
                existing.append((toxic, kind))
        elif r.random() < 0.5:
            toxic, kind = r.choice(existing)
            self.call("PATCH", f"/proxies/{name}/toxics/{toxic}",
                      {"attributes": self.attributes(kind, safe),
                       "toxicity": round(r.random(), 2)}, (200,))
        else:
            toxic, kind = existing.pop(r.randrange(len(existing)))
            self.call("DELETE", f"/proxies/{name}/toxics/{toxic}", None, (204,))
        self.count += 1

    def populate(self, flip):
        flap = next(p for p in self.body if p["name"] == "flap")
        flap["upstream"] = flap["upstreams"][1 if flip else 0]
        body = [{k: v for k, v in p.items() if k != "upstreams"} for p in self.body]
        self.call("POST", "/populate", body, (201,))
        self.toxics["flap"] = []  # a replaced proxy starts without toxics
        self.populates += 1

    def toggle(self, name, enabled):
        self.call("POST", f"/proxies/{name}", {"enabled": enabled}, (200,))
        self.toggles += 1

    def run(self, stop):
        interval = 1.0 / self.args.toxic_rate
        next_at = time.monotonic()
        start = next_at
        flap_on = True
        flipped = False
        last_toggle = last_populate = last_short2 = start
        short2_off_since = None
        while not stop.is_set():
            now = time.monotonic()
            if now - last_toggle >= 1:
                flap_on = not flap_on
                self.toggle("flap", flap_on)
                last_toggle = now
            if now - last_populate >= 5:
                flipped = not flipped
                self.populate(flipped)
                flap_on = True  # populate lists flap as enabled
                last_populate = now
            if short2_off_since is None and now - last_short2 >= 10:
                self.toggle("short2", False)
                short2_off_since = now
            elif short2_off_since is not None and now - short2_off_since >= 0.5:
                self.toggle("short2", True)
                short2_off_since = None
                last_short2 = now
            if self.count % 100 == 99:
                self.call("GET", "/proxies", None, (200,))
            self.toxic_op()
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -1:
                next_at = time.monotonic()
        # Leave the starting state: every proxy enabled, flap on its first upstream.
        if short2_off_since is not None:
            self.toggle("short2", True)
        self.populate(False)


# ---------------------------------------------------------------------------------------
# The proxy process's resources

def distinct_ports(n):
    """n free ports, all different (free_port() alone may hand out the same port twice)."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def proc_sample(pid):
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return {"rss_kib": rss, "fds": fds, "cpu_s": cpu}


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--proxy", required=True, help="the faultline-proxy binary")
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--seconds", type=float, default=3600)
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--short-rate", type=float, default=200)
    ap.add_argument("--toxic-rate", type=float, default=50)
    ap.add_argument("--stream-interval", type=float, default=1.0,
                    help="mean seconds between a stream's chunks")
    ap.add_argument("--stream-lifetime", type=float, default=200.0,
                    help="mean seconds before a stream's client vanishes")
    ap.add_argument("--api-p99-ms", type=float, default=10.0)
    ap.add_argument("--rss-slack-mib", type=float, default=32.0,
                    help="how far above its starting level RSS may end")
    ap.add_argument("--echo", required=True,
                    help="the echo upstream binary (tests/helpers/echo_server.c)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="write the report here")
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    check = Checker(f"soak-{args.backend}")
    ctx = mp.get_context("fork")
    ports_needed = distinct_ports(3 + len(STREAM_PROXIES) + len(SHORT_PROXIES))
    echo_ports = ports_needed[:2]
    echo = subprocess.Popen([args.echo, *map(str, echo_ports)], stdout=subprocess.PIPE)
    if echo.stdout.readline().strip() != b"ready":
        print("the echo server did not start", file=sys.stderr)
        echo.kill()
        return 1
    proxy = Proxy(args.proxy, args.backend, ports_needed[2])
    traffic = None
    report = {"backend": args.backend, "seconds": args.seconds}
    try:
        up = [f"127.0.0.1:{p}" for p in echo_ports]
        body = [{"name": n, "listen": f"127.0.0.1:{port}", "upstream": up[0], "enabled": True}
                for n, port in zip(STREAM_PROXIES + SHORT_PROXIES, ports_needed[3:])]
        body[-1]["upstreams"] = up
        status, created = proxy.json("POST", "/populate",
                                     [{k: v for k, v in p.items() if k != "upstreams"} for p in body])
        if not check.equal(status, 201, "populate the soak proxies"):
            return check.finish()
        ports = {p["name"]: int(p["listen"].rsplit(":", 1)[1]) for p in created["proxies"]}
        time.sleep(0.5)
        before = proc_sample(proxy.proc.pid)
        samples = []

        stop_traffic = ctx.Event()
        results = ctx.Queue()
        traffic = ctx.Process(target=traffic_main, args=(args, ports, stop_traffic, results))
        traffic.start()
        churn = Churn(args, proxy, body)
        stop_churn = threading.Event()
        churner = threading.Thread(target=churn.run, args=(stop_churn,))
        churner.start()
        started = time.monotonic()
        next_report = started + 60
        while time.monotonic() - started < args.seconds:
            time.sleep(min(5, max(0.1, args.seconds - (time.monotonic() - started))))
            if not proxy.alive():
                break
            s = proc_sample(proxy.proc.pid)
            s["t"] = round(time.monotonic() - started, 1)
            samples.append(s)
            if time.monotonic() >= next_report:
                lat = sorted(churn.latencies)
                print(f"soak {s['t']:.0f} s: rss {s['rss_kib'] / 1024:.1f} MiB, fds {s['fds']}, "
                      f"cpu {s['cpu_s'] - before['cpu_s']:.0f} s, api calls {len(lat)} "
                      f"p99 {percentile(lat, 0.99):.2f} ms", flush=True)
                next_report += 60
        elapsed = time.monotonic() - started
        stop_churn.set()
        churner.join()
        stop_traffic.set()
        got = results.get(timeout=180)
        traffic.join(30)
        proxy.request("POST", "/reset")
        # Every client is gone: the descriptors must come back (slow_close may hold some).
        # The proxy hands freed buffers back within a few seconds of the drop.
        deadline = time.monotonic() + 30
        after = proc_sample(proxy.proc.pid)
        while time.monotonic() < deadline and (
                after["fds"] != before["fds"] or
                after["rss_kib"] > before["rss_kib"] + args.rss_slack_mib * 1024):
            time.sleep(0.5)
            after = proc_sample(proxy.proc.pid)

        st = got["stats"]
        lat = sorted(churn.latencies)
        peak = max([before] + samples, key=lambda x: x["rss_kib"])
        report.update({
            "streams": {k[7:]: v for k, v in st.items() if k.startswith("stream_")},
            "short": {k[6:]: v for k, v in st.items() if k.startswith("short_")},
            "api": {"calls": len(lat), "toxic_ops": churn.count, "populates": churn.populates,
                    "toggles": churn.toggles, "p50_ms": round(percentile(lat, 0.5), 3),
                    "p99_ms": round(percentile(lat, 0.99), 3),
                    "max_ms": round(lat[-1], 3) if lat else None,
                    "by_kind": {k: {"calls": len(v), "p50_ms": round(percentile(sorted(v), 0.5), 3),
                                    "p99_ms": round(percentile(sorted(v), 0.99), 3)}
                                for k, v in sorted(churn.by_kind.items())}},
            "rss_mib": {"before": round(before["rss_kib"] / 1024, 1),
                        "peak": round(peak["rss_kib"] / 1024, 1),
                        "after": round(after["rss_kib"] / 1024, 1)},
            "fds": {"before": before["fds"], "peak": max(s["fds"] for s in [before] + samples),
                    "after": after["fds"]},
            "proxy_cpu_s": round(after["cpu_s"] - before["cpu_s"], 1),
            "errors": got["errors"], "unexpected_api": churn.unexpected,
        })
        print(f"soak ({args.backend}, {elapsed:.0f} s): streams {st['stream_connections']} "
              f"opened, {st['stream_roundtrips']} round trips, "
              f"{st['stream_bytes'] / 2**20:.0f} MiB checked byte for byte, "
              f"{st['stream_vanished']} clients vanished, {st['stream_errors']} errors, "
              f"{st['stream_corrupt']} corrupt")
        print(f"  short connections {st['short_started']} ({st['short_started'] / elapsed:.0f}/s): "
              f"{st['short_complete']} complete, {st['short_cut']} cut, {st['short_reset']} reset, "
              f"{st['short_refused']} refused, {st['short_timeout']} timed out, "
              f"{st['short_vanished']} vanished, {st['short_gapped']} with data a timeout toxic "
              f"dropped, {st['short_corrupt']} corrupt, "
              f"{st['short_skipped']} skipped")
        a = report["api"]
        print(f"  api: {a['calls']} calls ({a['calls'] / elapsed:.0f}/s; {a['toxic_ops']} toxic "
              f"changes, {a['toggles']} toggles, {a['populates']} populates), p50 {a['p50_ms']} ms, "
              f"p99 {a['p99_ms']} ms, max {a['max_ms']} ms")
        print("       " + "; ".join(f"{k} {v['calls']}: p50 {v['p50_ms']} p99 {v['p99_ms']}"
                                    for k, v in a["by_kind"].items()))
        print(f"  proxy: rss {report['rss_mib']['before']} -> peak {report['rss_mib']['peak']} -> "
              f"{report['rss_mib']['after']} MiB, fds {before['fds']} -> peak "
              f"{report['fds']['peak']} -> {after['fds']}, cpu {report['proxy_cpu_s']} s")
        for e in got["errors"][:5] + churn.unexpected[:5]:
            print(f"  {e}")

        check.check(proxy.alive(), "the proxy stayed up")
        check.equal(st["stream_corrupt"], 0, "stream bytes arrived intact")
        check.equal(st["stream_errors"], 0, "no stream through the byte-keeping toxics failed")
        check.check(st["stream_roundtrips"] >= args.connections,
                    f"{st['stream_roundtrips']} stream round trips for {args.connections} streams")
        check.equal(st["short_corrupt"], 0, "short connections got what they sent in order, "
                    "short only where a toxic dropped or cut data")
        check.check(st["short_started"] >= 0.5 * args.short_rate * elapsed,
                    f"{st['short_started']} short connections in {elapsed:.0f} s")
        check.check(st["short_complete"] > 0.2 * st["short_started"],
                    f"{st['short_complete']} of {st['short_started']} short connections complete")
        check.equal(churn.unexpected, [], "every API call answered as expected")
        check.check(churn.count >= 0.5 * args.toxic_rate * elapsed,
                    f"{churn.count} toxic changes in {elapsed:.0f} s")
        check.check(a["p99_ms"] < args.api_p99_ms,
                    f"API p99 {a['p99_ms']} ms under {args.api_p99_ms} ms")
        check.equal(after["fds"], before["fds"], "open descriptors back to their starting count")
        check.check(after["rss_kib"] <= before["rss_kib"] + args.rss_slack_mib * 1024,
                    f"RSS back near its start ({before['rss_kib'] / 1024:.1f} -> "
                    f"{after['rss_kib'] / 1024:.1f} MiB, slack {args.rss_slack_mib} MiB)")
    finally:
        if traffic is not None and traffic.is_alive():
            traffic.kill()
        report["exit"] = proxy.stop()
        echo.kill()
        echo.wait()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
