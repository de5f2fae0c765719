#!/usr/bin/env python3
"""loadgen next to wrk against the same nginx, in one run: requests/s, CPU microseconds
per request spent in the load generator (from the child's rusage), and memory per VU.
Usage: bench/loadgen/run.py [seconds]"""

import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
LOADGEN = os.path.join(ROOT, "build/loadgen/loadgen")


def raise_fd_limit():
    """Room for thousands of connections (the benchmarks' VUs and servers)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 40000 if hard == resource.RLIM_INFINITY else min(40000, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    except (ValueError, OSError):
        pass


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def start_nginx(port, workdir, http_extra="", server_extra=""):
    """nginx (one worker) serving a 512-byte index.html on `port`; the extras go into its
    http and server blocks (another listen, TLS settings, locations)."""
    os.makedirs(f"{workdir}/www", exist_ok=True)
    with open(f"{workdir}/www/index.html", "w") as f:
        f.write("x" * 512)
    user = "user root;" if os.geteuid() == 0 else ""
    with open(f"{workdir}/nginx.conf", "w") as f:
        f.write(f"""{user}
worker_processes 1;
worker_rlimit_nofile 40000;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log crit;
daemon off;
events {{ worker_connections 30000; }}
http {{ access_log off; keepalive_requests 10000000;
  client_body_temp_path {workdir}/b; proxy_temp_path {workdir}/p; fastcgi_temp_path {workdir}/f;
  uwsgi_temp_path {workdir}/u; scgi_temp_path {workdir}/s; {http_extra}
  server {{ listen 127.0.0.1:{port} backlog=16384; root {workdir}/www; {server_extra} }} }}
""")
    proc = subprocess.Popen(["nginx", "-c", f"{workdir}/nginx.conf", "-p", workdir])
    wait_port(port)
    return proc


def timed(cmd, sample_rss=False, env=None):
    """Runs cmd; returns (stdout, cpu seconds of the child, peak RSS in KiB sampled)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env)
    peak = 0
    if sample_rss:
        while proc.poll() is None:
            try:
                with open(f"/proc/{proc.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            peak = max(peak, int(line.split()[1]))
            except OSError:
                pass
            time.sleep(0.05)
    out, _ = proc.communicate()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out, cpu, peak


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def loadgen_requests(export):
    import json
    with open(export) as f:
        m = json.load(f)["metrics"]
    return m["http_reqs"]["count"], m["http_reqs"]["rate"]


def main():
    secs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    raise_fd_limit()
    work = tempfile.mkdtemp()
    port = 18690
    nginx = start_nginx(port, work)
    url = f"http://127.0.0.1:{port}/index.html"
    export = f"{work}/summary.json"
    try:
        rounds = 5
        print(f"loadgen vs wrk ({os.cpu_count()} cores, {secs}s each, 1 thread, 50 connections/VUs,"
              f" median of {rounds} alternating rounds)")
        results = {"wrk": [], "loadgen epoll": [], "loadgen io_uring": []}
        for _ in range(rounds):
            out, cpu, _ = timed(["wrk", "-t1", "-c50", f"-d{secs}s", url])
            total = int(re.search(r"(\d+) requests in", out).group(1))
            results["wrk"].append((total / secs, cpu / total * 1e6))
            for backend in ("epoll", "io_uring"):
                _, cpu, _ = timed([LOADGEN, "--quiet", "--threads", "1", "--backend", backend,
                                   "-u", "50", "-d", f"{secs}s", "--summary-export", export, url])
                total, rate = loadgen_requests(export)
                results[f"loadgen {backend}"].append((rate, cpu / total * 1e6))

        wrk_us = median([u for _, u in results["wrk"]])
        print(f"  {'':20} {'requests/s':>12} {'CPU µs/request':>16} {'CPU vs wrk':>11}")
        for name, values in results.items():
            rps = median([r for r, _ in values])
            us = median([u for _, u in values])
            print(f"  {name:20} {rps:12.0f} {us:16.2f} {us / wrk_us:11.2f}")
        print("memory per VU (loadgen, keep-alive VUs against nginx, 3 s):")
        base = None
        for vus in (1, 1000, 10000):
            _, _, peak = timed([LOADGEN, "--quiet", "-u", str(vus), "-d", "3s", url], sample_rss=True)
            if base is None:
                base = peak
                print(f"  {vus:>6} VUs: RSS {peak / 1024:.1f} MB")
            else:
                print(f"  {vus:>6} VUs: RSS {peak / 1024:.1f} MB, {(peak - base) / (vus - 1):.1f} KiB per VU")
    finally:
        nginx.terminate()
        nginx.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
