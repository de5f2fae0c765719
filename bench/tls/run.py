#!/usr/bin/env python3
"""loadgen over HTTPS next to plain HTTP and next to wrk, in one run, against one nginx
(one worker) serving the same 512-byte file on a plain and a TLS port (TLS 1.3, a test CA
made here with openssl; loadgen verifies the certificate, wrk does not verify at all).

Two shapes: keep-alive (50 connections, one request after another on each) and a new
connection per request (the server answers `Connection: close`; loadgen resumes each VU's
TLS session, so this is a short handshake per request). Prints requests/s and the load
generator's CPU microseconds per request (from the child's rusage), median of alternating
rounds, and the ratios HTTPS/HTTP and loadgen/wrk.

Usage: bench/tls/run.py [seconds] [rounds]"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../loadgen"))
from run import LOADGEN, median, raise_fd_limit, start_nginx, timed  # noqa: E402


def make_cert(d):
    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=bench CA")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=localhost")
    with open(f"{d}/server.ext", "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext")


def main():
    secs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    raise_fd_limit()
    d = tempfile.mkdtemp(prefix="bench-tls-")
    make_cert(d)
    http_port, https_port = 18791, 18792
    nginx = start_nginx(
        http_port, d,
        http_extra="ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:tls:10m;",
        server_extra=(f"listen 127.0.0.1:{https_port} ssl backlog=16384; "
                      f"ssl_certificate {d}/server.pem; ssl_certificate_key {d}/server.key; "
                      "location /close { keepalive_timeout 0; try_files /index.html =404; }"))
    env = dict(os.environ, SSL_CERT_FILE=f"{d}/ca.pem")
    export = f"{d}/summary.json"
    shapes = {"keep-alive": "/index.html", "new connection": "/close"}
    results = {}
    try:
        print(f"HTTPS vs HTTP, loadgen vs wrk ({os.cpu_count()} cores, {secs}s each, 1 thread, "
              f"50 connections/VUs, median of {rounds} alternating rounds)")
        for _ in range(rounds):
            for shape, path in shapes.items():
                for scheme, port in (("http", http_port), ("https", https_port)):
                    url = f"{scheme}://localhost:{port}{path}"
                    out, cpu, _ = timed(["wrk", "-t1", "-c50", f"-d{secs}s", url])
                    total = int(re.search(r"(\d+) requests in", out).group(1))
                    results.setdefault(("wrk", shape, scheme), []).append(
                        (total / secs, cpu / max(total, 1) * 1e6))
                    _, cpu, _ = timed([LOADGEN, "--quiet", "--threads", "1", "-u", "50", "-d",
                                    f"{secs}s", "--summary-export", export, url], env=env)
                    with open(export) as f:
                        m = json.load(f)["metrics"]
                    total = m["http_reqs"]["count"]
                    failed = m.get("http_req_failed", {}).get("passes", 0)
                    if failed:
                        print(f"  (loadgen {shape} {scheme}: {failed} failed requests)")
                    results.setdefault(("loadgen", shape, scheme), []).append(
                        (m["http_reqs"]["rate"], cpu / max(total, 1) * 1e6))
        print(f"  {'':34} {'requests/s':>11} {'CPU µs/req':>11} {'CPU HTTPS/HTTP':>15} "
              f"{'CPU vs wrk':>11}")
        for shape in shapes:
            for tool in ("wrk", "loadgen"):
                for scheme in ("http", "https"):
                    rps = median([r for r, _ in results[(tool, shape, scheme)]])
                    us = median([u for _, u in results[(tool, shape, scheme)]])
                    plain = median([u for _, u in results[(tool, shape, "http")]])
                    wrk = median([u for _, u in results[("wrk", shape, scheme)]])
                    label = f"{tool} {shape} {scheme}"
                    print(f"  {label:34} {rps:11.0f} {us:11.2f} {us / plain:15.2f} "
                          f"{us / wrk:11.2f}")
    finally:
        nginx.terminate()
        nginx.wait()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
