#!/usr/bin/env python3
"""What loadgen's Prometheus outputs cost, in one run against the same nginx: no output,
`--out prometheus=HOST:PORT` (served, scraped every second by Debian's Prometheus) and
`--out experimental-prometheus-rw` (pushed every second into that Prometheus). Requests/s
and loadgen's CPU microseconds per request, medians of alternating rounds, with the ratio to
the run without outputs.
Usage: bench/loadgen/outputs.py [seconds]"""

import os
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../tests/e2e"))
from harness import free_port  # noqa: E402
from run import LOADGEN, loadgen_requests, median, start_nginx, timed  # noqa: E402


def main():
    secs = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    work = tempfile.mkdtemp()
    port = free_port()
    nginx = start_nginx(port, work)
    metrics_port, prom_port = free_port(), free_port()
    with open(f"{work}/prometheus.yml", "w") as f:
        f.write(f"global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: loadgen\n"
                f"    static_configs:\n      - targets: ['127.0.0.1:{metrics_port}']\n")
    prom = subprocess.Popen(["prometheus", f"--config.file={work}/prometheus.yml",
                             f"--storage.tsdb.path={work}/data",
                             f"--web.listen-address=127.0.0.1:{prom_port}",
                             "--web.enable-remote-write-receiver"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/-/ready", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    os.environ["K6_PROMETHEUS_RW_SERVER_URL"] = f"http://127.0.0.1:{prom_port}/api/v1/write"
    os.environ["K6_PROMETHEUS_RW_PUSH_INTERVAL"] = "1s"
    os.environ["K6_PROMETHEUS_RW_TREND_STATS"] = "p(95),p(99),avg,max"
    url = f"http://127.0.0.1:{port}/index.html"
    export = f"{work}/summary.json"
    variants = {
        "no output": [],
        "--out prometheus": ["--out", f"prometheus=127.0.0.1:{metrics_port}"],
        "--out experimental-prometheus-rw": ["--out", "experimental-prometheus-rw"],
    }
    results = {name: [] for name in variants}
    rounds = 3
    try:
        print(f"loadgen's Prometheus outputs ({os.cpu_count()} cores, 20 VUs, 1 thread, {secs}s "
              f"each, median of {rounds} alternating rounds)")
        for _ in range(rounds):
            for name, extra in variants.items():
                _, cpu, _ = timed([LOADGEN, "--quiet", "--threads", "1", "-u", "20", "-d",
                                   f"{secs}s", "--summary-export", export, *extra, url])
                total, rate = loadgen_requests(export)
                results[name].append((rate, cpu / total * 1e6))
        base = median([u for _, u in results["no output"]])
        print(f"  {'':34} {'requests/s':>12} {'CPU µs/request':>16} {'vs none':>8}")
        for name, values in results.items():
            rps = median([r for r, _ in values])
            us = median([u for _, u in values])
            print(f"  {name:34} {rps:12.0f} {us:16.2f} {us / base:8.2f}")
    finally:
        prom.terminate()
        prom.wait(10)
        nginx.terminate()
        nginx.wait(10)


if __name__ == "__main__":
    main()
