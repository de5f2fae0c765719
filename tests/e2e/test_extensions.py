#!/usr/bin/env python3
"""End-to-end checks of faultline-proxy's extensions beyond Toxiproxy, through real sockets:
toxics declared in the -config file (and in /populate). Timing margins are wide enough for
a loaded 2-core machine."""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (Checker, EchoServer, Proxy, connect, free_port,  # noqa: E402
                     recv_exact)


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--backend", default="auto")
    args = ap.parse_args()
    check = Checker(f"extensions-{args.backend}")
    echo = EchoServer()
    try:
        with tempfile.TemporaryDirectory() as work:
            for test in (test_config_toxics, test_config_toxic_errors):
                test(args.binary, args.backend, echo, work, check)
    finally:
        echo.close()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
