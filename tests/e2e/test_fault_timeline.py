#!/usr/bin/env python3
"""End to end: loadgen --fault-timeline against faultline-proxy in front of a real nginx.
One 7-second run; at 2 s a 150 ms latency toxic is added, at 4 s the proxy goes down, at
5 s the toxic is removed and the proxy comes back. The run's requests must come out split into
those four windows, every request counted once, each window with the results its fault
explains; an unreachable timeline is a clear error at the start."""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Checker, Proxy, free_port  # noqa: E402
from test_loadgen import Nginx  # noqa: E402


def schedule(proxy, t0, check):
    """The faults, at fixed times from t0."""
    def at(secs):
        time.sleep(max(0.0, t0 + secs - time.monotonic()))

    at(2.0)
    status, _ = proxy.json("POST", "/proxies/web/toxics", {
        "name": "slow", "type": "latency", "attributes": {"latency": 150}})
    check.equal(status, 200, "latency added at 2 s")
    at(4.0)
    status, _ = proxy.json("POST", "/proxies/web", {"enabled": False})
    check.equal(status, 200, "proxy down at 4 s")
    at(5.0)
    status, _, _ = proxy.request("DELETE", "/proxies/web/toxics/slow")
    check.equal(status, 204, "latency removed at 5 s (while down)")
    status, _ = proxy.json("POST", "/proxies/web", {"enabled": True})
    check.equal(status, 200, "proxy up at 5 s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--proxy", required=True)
    args = ap.parse_args()
    check = Checker("fault-timeline")
    nginx = Nginx()
    proxy = Proxy(args.proxy, "auto", free_port())
    work = tempfile.mkdtemp(prefix="fault-timeline-")
    try:
        web = free_port()
        status, _ = proxy.json("POST", "/proxies", {
            "name": "web", "listen": f"127.0.0.1:{web}", "upstream": f"127.0.0.1:{nginx.port}"})
        check.equal(status, 201, "proxy created")
        api = f"http://127.0.0.1:{proxy.port}"
        data = os.path.join(work, "data.json")
        export = os.path.join(work, "export.json")
        t0 = time.monotonic()
        faults = threading.Thread(target=schedule, args=(proxy, t0, check))
        faults.start()
        p = subprocess.run([args.binary, "run", "-u", "4", "-d", "7s", "--fault-timeline", api,
                            "--summary-data", data, "--summary-export", export,
                            f"http://127.0.0.1:{web}/index.html"],
                           capture_output=True, text=True, timeout=120)
        faults.join(30)
        check.equal(p.returncode, 0, f"the run ends normally ({p.stderr[-400:]})")
        check.check(f"fault timeline ({api})" in p.stdout, "the header names the timeline")

        # The table after the summary.
        table = p.stdout[p.stdout.find("fault windows ("):]
        rows = [line for line in table.splitlines()[2:] if re.match(r"\s+\d+\.\ds\s", line)]
        print("\n".join(table.splitlines()[:8]), flush=True)
        check.equal([r.split("  ")[-1].strip() for r in rows],
                    ["healthy", "web: slow (latency) latency=150 jitter=0", "web: down", "healthy"],
                    "the table: one row per fault window, in order")

        with open(data) as f:
            windows = json.load(f)["faultline_fault_windows"]["windows"]
        with open(export) as f:
            total = json.load(f)["metrics"]["http_reqs"]["count"]
        check.equal([w["faults"] for w in windows],
                    [[], ["web: slow (latency) latency=150 jitter=0"], ["web: down"], []],
                    "--summary-data: the same windows")
        check.equal(sum(w["http_reqs"] for w in windows), total,
                    "every request in exactly one window")
        if len(windows) == 4:
            healthy, slow, down, back = windows
            for w, start in zip(windows[1:], (2.0, 4.0, 5.0)):
                check.check(abs(w["start_s"] - start) <= 0.5,
                            f"a window starts when its change was made ({w['start_s']} vs {start})")
            p95 = [w["http_req_duration"]["p(95)"] for w in windows]
            rate = [w["http_req_failed"]["rate"] for w in windows]
            check.check(p95[0] < 50 and p95[3] < 50, f"healthy windows are fast: p95 {p95}")
            check.check(150 <= p95[1] <= 400, f"the latency window's p95 shows 150 ms: {p95[1]}")
            check.check(rate[0] == 0 and rate[1] < 0.05 and rate[3] < 0.05,
                        f"no errors outside the down window: {rate}")
            check.check(down["http_reqs"] > 0 and rate[2] > 0.9,
                        f"the down window's requests failed: {down['http_reqs']} at {rate[2]}")
            check.check(healthy["healthy"] and not slow["healthy"] and back["healthy"],
                        "windows say whether they were healthy")

        # An unreachable API stops the run before it starts, saying why.
        p = subprocess.run([args.binary, "run", "-u", "1", "-d", "1s", "--fault-timeline",
                            f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{web}/"],
                           capture_output=True, text=True, timeout=60)
        check.check(p.returncode != 0 and "could not read the fault timeline" in p.stderr
                    and "connection refused" in p.stderr,
                    f"an unreachable timeline is an error at the start: {p.returncode} {p.stderr[-300:]}")
        check.check(proxy.alive(), "proxy alive")
    finally:
        proxy.stop()
        nginx.stop()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
