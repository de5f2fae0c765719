#!/usr/bin/env python3
"""faultline-proxy next to the direct path, HAProxy (Debian, plain TCP mode, one thread) and
Toxiproxy 2.12 (when TOXIPROXY_BIN names its server), in one run on loopback.

Every server gets the same two routes: to an iperf3 server (bulk throughput) and to nginx
(one worker, a 512-byte file). Per server and measurement it records the client's figure
and the proxy's CPU time (utime + stime of its process, from /proc), over `rounds`
alternating rounds, and prints the median with the range (min-max) of the rounds:

  bulk throughput (iperf3, one stream, client to server) and the proxy's CPU per GB;
  the staged path (a latency=0 toxic on both directions: every chunk goes through the
    toxic chain) for faultline and Toxiproxy;
  keep-alive requests/s (wrk -t1 -c50) and the proxy's CPU per request;
  added p50 latency on one connection (wrk -t1 -c1, proxied minus direct);
  new connections/s (ab -c8: HTTP/1.0, one connection per request).

Usage: bench/proxy/compare.py [seconds] [rounds]"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
sys.path.insert(0, os.path.join(ROOT, "bench/loadgen"))
from run import raise_fd_limit, start_nginx, wait_port  # noqa: E402
FAULTLINE = os.path.join(ROOT, "build/proxy/faultline-proxy")
HZ = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ  # utime, stime


def api(port, path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()


class Server:
    """One way to the targets: `ports` maps a route (iperf, http, staged) to the port."""

    def __init__(self, name, pid=None, ports=None, proc=None):
        self.name, self.pid, self.ports, self.proc = name, pid, ports or {}, proc

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)


class Ports:
    def __init__(self, start):
        self.next = start

    def take(self):
        self.next += 1
        return self.next


def toxiproxy_like(name, cmd, api_port, ports, targets, staged, work):
    """faultline-proxy or Toxiproxy: both take the same API calls."""
    log = open(f"{work}/{name.replace(' ', '_')}.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, env=dict(os.environ, LOG_LEVEL="error"))
    wait_port(api_port)
    routes = {}
    for route, target in targets.items():
        if route == "staged" and not staged:
            continue
        routes[route] = ports.take()
        api(api_port, "/proxies", {"name": route, "listen": f"127.0.0.1:{routes[route]}",
                                   "upstream": f"127.0.0.1:{target}"})
        if route == "staged":
            for stream in ("upstream", "downstream"):
                api(api_port, "/proxies/staged/toxics",
                    {"name": f"zero_{stream}", "type": "latency", "stream": stream,
                     "attributes": {"latency": 0}})
    for port in routes.values():
        wait_port(port)
    return Server(name, proc.pid, routes, proc)


def haproxy(ports, targets, work):
    routes = {route: ports.take() for route in ("iperf", "http")}
    conf = ["global", "  nbthread 1", "  maxconn 8000", "defaults", "  mode tcp",
            "  timeout connect 5s", "  timeout client 60s", "  timeout server 60s"]
    for route, port in routes.items():
        conf += [f"listen {route}", f"  bind 127.0.0.1:{port}",
                 f"  server target 127.0.0.1:{targets[route]}"]
    with open(f"{work}/haproxy.cfg", "w") as f:
        f.write("\n".join(conf) + "\n")
    proc = subprocess.Popen(["haproxy", "-db", "-f", f"{work}/haproxy.cfg"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for port in routes.values():
        wait_port(port)
    return Server("HAProxy 1 thread", proc.pid, routes, proc)


def iperf(port, secs, iperf_port):
    server = subprocess.Popen(["iperf3", "-s", "-1", "-p", str(iperf_port), "-B", "127.0.0.1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    out = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(secs), "-J"],
                         capture_output=True, text=True).stdout
    server.wait(30)
    end = json.loads(out)["end"]["sum_received"]
    return end["bits_per_second"], end["bytes"]


def wrk(url, secs, conns, latency=False):
    args = ["wrk", "-t1", f"-c{conns}", f"-d{secs}s", url] + (["--latency"] if latency else [])
    out = subprocess.run(args, capture_output=True, text=True).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))
    p50 = None
    m = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)$", out, re.M)
    if m:
        p50 = float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]
    return total, p50


def ab(url, secs):
    out = subprocess.run(["ab", "-q", "-c", "8", "-t", str(secs), "-n", "10000000", url],
                         capture_output=True, text=True).stdout
    m = re.search(r"Requests per second:\s+([\d.]+)", out)
    return float(m.group(1)) if m else 0.0


def measure(server, direct, secs, iperf_port, http_port, results):
    """One round of every measurement through `server` (None ports: the direct path)."""
    def port(route):
        return server.ports.get(route) if server.ports else direct[route]

    def record(row, value):
        results.setdefault((row, server.name), []).append(value)

    def with_cpu(fn):
        c0 = cpu_seconds(server.pid)
        value = fn()
        return value, cpu_seconds(server.pid) - c0

    (bps, nbytes), cpu = with_cpu(lambda: iperf(port("iperf"), secs, iperf_port))
    record("bulk throughput, Gbit/s", bps / 1e9)
    if server.pid:
        record("proxy CPU seconds per GB", cpu / (nbytes / 1e9))
    if "staged" in server.ports:
        (bps, nbytes), cpu = with_cpu(lambda: iperf(port("staged"), secs, iperf_port))
        record("staged path, Gbit/s", bps / 1e9)
        record("staged path, CPU seconds per GB", cpu / (nbytes / 1e9))
    url = f"http://127.0.0.1:{port('http')}/index.html"
    (total, _), cpu = with_cpu(lambda: wrk(url, secs, 50))
    record("keep-alive requests/s (wrk -c50)", total / secs)
    if server.pid:
        record("proxy CPU µs per request", cpu / total * 1e6)
    _, p50 = wrk(url, secs, 1, latency=True)
    record("p50 latency, one connection, µs", p50)
    record("new connections/s (ab -c8)", ab(url, secs))


def main():
    secs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    raise_fd_limit()
    work = tempfile.mkdtemp(prefix="bench-proxy-")
    ports = Ports(18600)
    iperf_port, http_port = ports.take(), ports.take()
    targets = {"iperf": iperf_port, "http": http_port, "staged": iperf_port}
    nginx = start_nginx(http_port, work)
    servers = [Server("direct")]
    direct = targets
    try:
        for backend in ("io_uring", "epoll"):
            api_port = ports.take()
            servers.append(toxiproxy_like(
                f"faultline {backend}",
                [FAULTLINE, "-host", "127.0.0.1", "-port", str(api_port), "-backend", backend],
                api_port, ports, targets, True, work))
        if shutil.which("haproxy"):
            servers.append(haproxy(ports, targets, work))
        toxiproxy = os.environ.get("TOXIPROXY_BIN")
        if toxiproxy:
            api_port = ports.take()
            servers.append(toxiproxy_like("Toxiproxy 2.12", [toxiproxy, "-host", "127.0.0.1",
                                                              "-port", str(api_port)],
                                          api_port, ports, targets, True, work))
        print(f"faultline-proxy next to the direct path and other proxies ({os.cpu_count()} cores, "
              f"{secs}s per measurement, median and range of {rounds} alternating rounds)")
        results = {}
        for _ in range(rounds):
            for server in servers:
                measure(server, direct, secs, iperf_port, http_port, results)
        rows = ["bulk throughput, Gbit/s", "proxy CPU seconds per GB", "staged path, Gbit/s",
                "staged path, CPU seconds per GB", "keep-alive requests/s (wrk -c50)",
                "proxy CPU µs per request", "added p50 latency, one connection, µs",
                "new connections/s (ab -c8)"]
        width = 28
        print(f"{'':40}" + "".join(f"{s.name:>{width}}" for s in servers))

        def cell(row, name):
            if row == "added p50 latency, one connection, µs":
                base = sorted(results[("p50 latency, one connection, µs", "direct")])
                vals = results.get(("p50 latency, one connection, µs", name))
                if name == "direct" or not vals:
                    return "-"
                med = sorted(vals)[len(vals) // 2] - base[len(base) // 2]
                return f"+{med:.0f} ({min(vals) - max(base):+.0f}…{max(vals) - min(base):+.0f})"
            vals = results.get((row, name))
            if not vals:
                return "-"
            vals = sorted(vals)
            med = vals[len(vals) // 2]
            fmt = "{:.0f}" if med >= 100 else "{:.2f}"
            text = fmt.format(med)
            if len(vals) > 1:
                text += f" ({fmt.format(vals[0])}–{fmt.format(vals[-1])})"
            direct_vals = results.get((row, "direct"))
            if direct_vals and name != "direct" and "CPU" not in row:
                d = sorted(direct_vals)[len(direct_vals) // 2]
                text += f" {med / d:.2f}×"
            return text
        for row in rows:
            print(f"{row:40}" + "".join(f"{cell(row, s.name):>{width}}" for s in servers))
        rss = []
        for s in servers:
            kib = 0
            if s.pid:
                with open(f"/proc/{s.pid}/status") as f:
                    kib = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            rss.append(f"{kib / 1024:.1f}" if kib else "-")
        print(f"{'proxy RSS after the runs, MB':40}" + "".join(f"{r:>{width}}" for r in rss))
    finally:
        for s in servers:
            s.stop()
        nginx.terminate()
        nginx.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
