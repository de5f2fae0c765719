#!/usr/bin/env python3
"""The I/O backend choice where io_uring is blocked, as under a container's default
seccomp profile (tests/helpers/no_io_uring): `auto` falls back to epoll with one log line
and works; a backend forced by name that cannot start gives one clear error line and a
non-zero exit, for both programs — never a crash."""

import argparse
import os
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import Checker, HttpTestServer, free_port  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--blocker", required=True)
    args = ap.parse_args()
    check = Checker("backends")
    env = dict(os.environ, LOG_LEVEL="info")

    port = free_port()
    p = subprocess.run([args.blocker, args.proxy, "-backend=io_uring", "-port", str(port)],
                       capture_output=True, text=True, timeout=30, env=env)
    lines = [l for l in p.stdout.splitlines() + p.stderr.splitlines() if "io_uring" in l]
    check.check(p.returncode not in (0, 139, -11) and p.returncode > 0,
                f"faultline-proxy -backend=io_uring without io_uring exits non-zero ({p.returncode})")
    check.check(len(lines) == 1 and "cannot start" in lines[0] and "Function not implemented" in lines[0],
                f"with one clear line: {lines}")

    proc = subprocess.Popen([args.blocker, args.proxy, "-backend=auto", "-port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        ok = False
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/version", timeout=2) as r:
                    ok = r.status == 200
                break
            except OSError:
                time.sleep(0.05)
        check.check(ok, "faultline-proxy -backend=auto falls back to epoll and serves the API")
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0]
    check.check("io_uring unavailable, using epoll" in out, "with one log line saying so")

    srv = HttpTestServer()
    try:
        r = subprocess.run([args.blocker, args.loadgen, "--backend", "io_uring", "-q",
                            "--summary-mode", "disabled", "-i", "1", srv.url + "/json"],
                           capture_output=True, text=True, timeout=60)
        errors = [l for l in r.stderr.splitlines() if "level=error" in l]
        check.check(r.returncode > 0 and len(errors) == 1 and "io_uring" in errors[0],
                    f"loadgen --backend io_uring without io_uring: exit {r.returncode}, {errors}")
        r = subprocess.run([args.blocker, args.loadgen, "--backend", "auto", "-q", "-i", "2",
                            "--summary-mode", "disabled", srv.url + "/json"],
                           capture_output=True, text=True, timeout=60)
        check.equal(r.returncode, 0, "loadgen --backend auto runs on epoll there")
    finally:
        srv.close()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
