#!/usr/bin/env python3
"""Replays the request/response pairs captured from a real Toxiproxy 2.12 server
(tests/e2e/toxiproxy-transcript.txt, sections A, D and B) against faultline-proxy and
compares status line, content type, the headers Toxiproxy sets, and the exact body.
Ephemeral ports are normalised; timing-dependent data-path sections are not replayed."""

import argparse
import json
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import Checker, EchoServer, Proxy  # noqa: E402

SEPARATOR = "-" * 64
REQUEST_ID = re.compile(r"^[0-9a-v]{20}$")


def parse_section(text, start_marker, end_marker):
    start = text.index(start_marker)
    end = text.index(end_marker, start + 1) if end_marker else len(text)
    chunk = text[start:end]
    exchanges = []
    for block in chunk.split(SEPARATOR + "\n")[1:]:
        lines = block.split("\n")
        if not lines[0].startswith(">>> "):
            continue
        m = re.match(r">>> (\S+) (\S+)\s+\((.*)\)$", lines[0])
        if not m:
            continue
        method, path, meta = m.groups()
        ua = "curl/7.88.1"
        um = re.match(r"User-Agent: (.*?)(, Content-Type:.*|, Origin:.*)?$", meta)
        if um:
            ua = um.group(1)
        if ua == "(header omitted)":
            ua = None
        ua = ua.replace(" (lowercase)", "") if ua else ua
        i = 1
        body = None
        if lines[1].startswith(">>> body: "):
            body = lines[1][len(">>> body: "):]
            i = 2
        status_line = lines[i]
        headers = []
        i += 1
        while lines[i] != "":
            k, v = lines[i].split(": ", 1)
            headers.append((k, v))
            i += 1
        rest = "\n".join(lines[i + 1:])
        end_idx = rest.index("<<< [end of response]")
        resp_body = rest[:end_idx]
        if resp_body.endswith("\n"):
            resp_body = resp_body[:-1]
        exchanges.append(
            {
                "method": method,
                "path": path,
                "ua": ua,
                "body": body,
                "status": int(status_line.split()[1]),
                "headers": headers,
                "resp_body": resp_body,
            }
        )
    return exchanges


def fixed_ports(text):
    """Ports named in requests (and the config file) are fixed; all others are ephemeral."""
    ports = set()
    for line in text.split("\n"):
        if line.startswith(">>> body:") or line.startswith("  {\"name\""):
            ports.update(re.findall(r":(\d{4,5})\b", line))
    return ports


def normalise(body, ports):
    return re.sub(r":(\d{4,5})\b", lambda m: m.group(0) if m.group(1) in ports else ":PORT", body)


def replay(proxy, exchanges, ports, check, label):
    for ex in exchanges:
        what = f"{label} {ex['method']} {ex['path']} {ex['body'] or ''}".strip()
        headers = {"User-Agent": ex["ua"]}
        if ex["body"] is not None:
            headers["Content-Type"] = "application/json"
        status, got_headers, payload = proxy.request(ex["method"], ex["path"], ex["body"], headers)
        got = {k.lower(): v for k, v in got_headers}
        want = {k.lower(): v for k, v in ex["headers"]}
        check.equal(status, ex["status"], f"{what}: status")
        for name in ("content-type", "x-content-type-options", "location"):
            check.equal(got.get(name), want.get(name), f"{what}: header {name}")
        check.equal("x-toxiproxy-request-id" in got, "x-toxiproxy-request-id" in want,
                    f"{what}: request id presence")
        if "x-toxiproxy-request-id" in got:
            check.check(REQUEST_ID.match(got["x-toxiproxy-request-id"]) is not None,
                        f"{what}: request id format {got['x-toxiproxy-request-id']!r}")
        check.check("date" in got, f"{what}: Date header")
        if ex["path"] != "/metrics":
            check.equal("transfer-encoding" in got, "transfer-encoding" in want,
                        f"{what}: chunked vs Content-Length")
        if "content-length" in want and "content-length" in got and want["content-length"] == "0":
            check.equal(got["content-length"], "0", f"{what}: empty body length")
        if ex["path"] == "/metrics":
            continue  # runtime metric names differ from Go's by design
        check.equal(normalise(payload.decode(), ports), normalise(ex["resp_body"], ports),
                    f"{what}: body")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--transcript", required=True)
    args = ap.parse_args()
    text = open(args.transcript, encoding="utf-8").read()
    ports = fixed_ports(text)
    check = Checker(f"transcript-{args.backend}")
    echo = EchoServer(17100)
    try:
        # Section A: the main walk-through (metrics flags on, as captured).
        ex_a = parse_section(text, "######## A1.", "=============================== SECTION M")
        proxy = Proxy(args.binary, args.backend, 18474, ["-proxy-metrics", "-runtime-metrics"])
        try:
            replay(proxy, ex_a, ports, check, "A")
            check.check(proxy.alive(), "server alive after section A")
        finally:
            proxy.stop()

        # Section B: startup with a config file; /metrics absent without metric flags.
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as cfg:
            json.dump(
                [
                    {"name": "cfg_a", "listen": "127.0.0.1:17031", "upstream": "127.0.0.1:17100"},
                    {"name": "cfg_b", "listen": "localhost:17032", "upstream": "127.0.0.1:17100",
                     "enabled": False},
                ],
                cfg,
            )
        ex_b = parse_section(text, "######## B.", "(server log for section B)")
        proxy = Proxy(args.binary, args.backend, 18474, ["-config", cfg.name],
                      env={"LOG_LEVEL": "debug"})
        try:
            replay(proxy, ex_b, ports, check, "B")
        finally:
            proxy.stop()
            os.unlink(cfg.name)

        # Section D: JSON decoding quirks on a fresh server.
        ex_d = parse_section(text, "######## D.", "=============================== SECTION C")
        proxy = Proxy(args.binary, args.backend, 18474)
        try:
            replay(proxy, ex_d, ports, check, "D")
        finally:
            proxy.stop()
    finally:
        echo.close()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
