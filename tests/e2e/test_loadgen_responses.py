#!/usr/bin/env python3
"""loadgen against responses of every shape and a hostile server: chunked bodies, HEAD,
204, Connection: close, a 4 MiB body, a body cut short, garbage instead of HTTP, a server
that accepts and says nothing, one that resets. Each request must be measured (or failed
with k6's error code) and the process must neither crash nor hang."""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(__file__))
from harness import Checker  # noqa: E402

BIG = 4 * 1024 * 1024


def read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    length = 0
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return method, path


def respond(conn, method, path):
    """Returns False to close the connection."""
    if path == "/chunked":
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    elif path == "/head":
        # A HEAD response announces a length but carries no body.
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        if method != "HEAD":
            conn.sendall(b"x" * 1000)
    elif path == "/nocontent":
        conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
    elif path == "/close":
        conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
        return False
    elif path == "/eof-body":
        # No length: the body ends when the server closes.
        conn.sendall(b"HTTP/1.1 200 OK\r\n\r\nuntil the end")
        return False
    elif path == "/big":
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % BIG + b"b" * BIG)
    elif path == "/cut":
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
        return False
    elif path == "/garbage":
        conn.sendall(b"\x00\x01this is not HTTP at all\r\n\r\n")
        return False
    elif path == "/reset":
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        return False
    elif path == "/silent":
        threading.Event().wait(30)
        return False
    else:
        conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    return True


class Server:
    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    @staticmethod
    def serve(conn):
        try:
            while True:
                req = read_request(conn)
                if req is None or not respond(conn, *req):
                    break
        except OSError:
            pass
        finally:
            conn.close()


def run(binary, backend, flow, iterations=4, timeout="2s"):
    script = {"options": {"scenarios": {"s": {"executor": "shared-iterations", "vus": 2,
                                              "iterations": iterations}}},
              "flows": {"default": flow}}
    fd, path = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(script, f)
    export = tempfile.mktemp(suffix=".json")
    proc = subprocess.run([binary, "run", "--quiet", "--backend", backend, "--request-timeout",
                           timeout, "--summary-export", export, path],
                          capture_output=True, text=True, timeout=120)
    os.unlink(path)
    with open(export) as f:
        summary = json.load(f)
    os.unlink(export)
    return proc.returncode, summary, proc.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--backend", default="auto")
    args = ap.parse_args()
    check = Checker(f"loadgen-responses-{args.backend}")
    srv = Server()
    base = f"http://127.0.0.1:{srv.port}"

    def url(path, **extra):
        return {"url": base + path, "name": path, **extra}

    # Well-formed shapes: all succeed, bodies are read in full.
    code, s, err = run(args.binary, args.backend, [
        url("/chunked", checks=[{"name": "chunked body", "body_contains": "hello world"}]),
        url("/head", method="HEAD"),
        url("/nocontent"),
        url("/close"),
        url("/eof-body", checks=[{"name": "eof body", "body_contains": "until the end"}]),
        url("/big")])
    m = s["metrics"]
    check.equal(code, 0, "well-formed responses: exit 0")
    check.equal(m["http_reqs"]["count"], 24, "every request completed")
    check.equal(m["http_req_failed"]["passes"], 0, f"none failed: {err[-300:]}")
    check.equal(s["root_group"]["checks"]["chunked body"]["passes"], 4, "chunked body decoded")
    check.equal(s["root_group"]["checks"]["eof body"]["passes"], 4, "body delimited by close")
    check.check(m["data_received"]["count"] >= 4 * BIG, "the 4 MiB bodies were all read")
    check.check(m["http_req_duration"]["max"] < 1500, "HEAD did not wait for a body")

    # Broken responses fail with an error code, the run goes on and ends by itself.
    for path, what in (("/cut", "body cut short"), ("/garbage", "garbage instead of HTTP"),
                       ("/reset", "connection reset"), ("/silent", "no answer (timeout)")):
        code, s, err = run(args.binary, args.backend, [url(path), url("/chunked")],
                           iterations=2, timeout="1s")
        m = s["metrics"]
        check.equal(code, 0, f"{what}: exit 0")
        check.equal(m["http_reqs"]["count"], 4, f"{what}: every request counted")
        check.equal(m["http_req_failed"]["passes"], 2, f"{what}: the broken ones failed")
    srv.sock.close()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
