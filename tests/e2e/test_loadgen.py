#!/usr/bin/env python3
"""End-to-end checks of loadgen against a real nginx: constant VUs for a duration, shared
iterations, thresholds and k6's exit codes, SIGINT, a dead server, and a latency toxic
injected by faultline-proxy showing up in the percentiles."""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Checker, Proxy, free_port  # noqa: E402


class Nginx:
    def __init__(self, locations="", single_process=False):
        self.dir = tempfile.mkdtemp(prefix="loadgen-nginx-")
        self.port = free_port()
        os.makedirs(f"{self.dir}/www")
        with open(f"{self.dir}/www/index.html", "w") as f:
            f.write("hello from nginx\n" * 20)
        # As root, nginx's workers would otherwise drop to a user that cannot read the
        # private temporary directory.
        user = "user root;" if os.geteuid() == 0 else ""
        conf = f"""
{user}
worker_processes 1;
{"master_process off;" if single_process else ""}
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
daemon off;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path {self.dir}/body;
  proxy_temp_path {self.dir}/proxy;
  fastcgi_temp_path {self.dir}/fastcgi;
  uwsgi_temp_path {self.dir}/uwsgi;
  scgi_temp_path {self.dir}/scgi;
  server {{ listen 127.0.0.1:{self.port}; root {self.dir}/www; {locations} }}
}}
"""
        with open(f"{self.dir}/nginx.conf", "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen(["nginx", "-c", f"{self.dir}/nginx.conf", "-p", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import socket
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def run(binary, args, timeout=120):
    export = tempfile.mktemp(suffix=".json")
    proc = subprocess.run([binary, "--quiet", "--summary-export", export, *args],
                          capture_output=True, text=True, timeout=timeout)
    summary = None
    if os.path.exists(export):
        with open(export) as f:
            summary = json.load(f)
        os.unlink(export)
    return proc.returncode, proc.stdout, proc.stderr, summary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--backend", default="auto")
    args = ap.parse_args()
    check = Checker(f"loadgen-{args.backend}")
    nginx = Nginx()
    url = f"http://127.0.0.1:{nginx.port}/index.html"
    b = ["--backend", args.backend]
    try:
        # constant VUs for a duration
        code, out, err, s = run(args.binary, [*b, "--vus", "5", "--duration", "2s", url])
        check.equal(code, 0, "constant-vus run exits 0")
        m = s["metrics"]
        check.check(m["http_reqs"]["count"] > 100, f"requests made: {m['http_reqs']['count']}")
        check.equal(m["iterations"]["count"], m["http_reqs"]["count"], "one request per iteration")
        check.equal(m["vus"]["max"], 5, "vus gauge")
        check.equal(m["http_req_failed"]["value"], 0, "no failed request")
        check.check(1.8 <= m["http_reqs"]["count"] / m["http_reqs"]["rate"] <= 4,
                    "rate computed over the run's duration")
        check.check("\u2588 TOTAL RESULTS" in out and "http_req_duration" in out,
                    "k6-style summary on stdout")
        size = len("hello from nginx\n" * 20)
        check.check(m["data_received"]["count"] >= m["http_reqs"]["count"] * size,
                    "data_received covers every body")

        # shared iterations: exactly that many requests
        code, out, err, s = run(args.binary, [*b, "--vus", "4", "--iterations", "250", url])
        check.equal(code, 0, "shared-iterations exits 0")
        check.equal(s["metrics"]["http_reqs"]["count"], 250, "exactly 250 requests")

        # thresholds: pass, fail (99), invalid (104)
        code, out, err, s = run(args.binary, [*b, "-u", "2", "-i", "50", url,
                                              "--threshold", "http_req_duration: p(95)<2000",
                                              "--threshold", "http_req_failed: rate<0.01"])
        check.equal(code, 0, "passing thresholds exit 0")
        check.equal(s["metrics"]["http_req_duration"]["thresholds"], {"p(95)<2000": False},
                    "summary export marks thresholds (false = passed)")
        code, out, err, s = run(args.binary, [*b, "-u", "2", "-i", "50", url,
                                              "--threshold", "http_req_duration: max<0.000001"])
        check.equal(code, 99, "failing threshold exits 99")
        check.check("thresholds on metrics 'http_req_duration' have been crossed" in err,
                    "crossed thresholds reported")
        check.check("\u2717 'max<0.000001'" in out, "failed threshold marked in the summary")
        code, out, err, s = run(args.binary, [*b, url, "--threshold", "http_req_duraton: p(95)<1"])
        check.equal(code, 104, "unknown metric exits 104")
        check.check('no metric name \\"http_req_duraton\\" found' in err, "unknown metric message")
        code, *_ = run(args.binary, [*b, url, "--threshold", "http_req_duration: count<10"])
        check.equal(code, 104, "aggregation not allowed exits 104")

        # 404s count as failed requests
        code, out, err, s = run(args.binary, [*b, "-u", "2", "-i", "20",
                                              f"http://127.0.0.1:{nginx.port}/missing",
                                              "--threshold", "http_req_failed: rate<0.01"])
        check.equal(code, 99, "404s break rate<0.01")
        check.equal(s["metrics"]["http_req_failed"]["passes"], 20, "every 404 counted as failed")

        # a server that refuses connections
        dead = free_port()
        code, out, err, s = run(args.binary, [*b, "-u", "2", "-i", "10", f"http://127.0.0.1:{dead}/"])
        check.equal(code, 0, "errors inside iterations do not change the exit code")
        check.equal(s["metrics"]["http_req_failed"]["value"], 1, "refused connections are failures")

        # a server that accepts but never answers: requests time out and fail
        import socket
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        t0 = time.time()
        code, out, err, s = run(args.binary, [*b, "-u", "1", "-i", "2", "--request-timeout", "500ms",
                                              f"http://127.0.0.1:{silent.getsockname()[1]}/"])
        took = time.time() - t0
        check.equal(s["metrics"]["http_req_failed"]["passes"], 2, "timed-out requests fail")
        check.check(0.9 <= took <= 10, f"request timeout enforced ({took:.1f} s for 2 requests)")
        silent.close()

        # SIGINT: the summary is still printed and exported, exit 105
        export = tempfile.mktemp(suffix=".json")
        p = subprocess.Popen([args.binary, "--quiet", *b, "--summary-export", export, "-u", "3",
                              "-d", "60s", url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        time.sleep(1.5)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
        check.equal(p.returncode, 105, "SIGINT exits 105")
        check.check("TOTAL RESULTS" in out and os.path.exists(export), "summary after SIGINT")
        if os.path.exists(export):
            os.unlink(export)

        # a latency toxic behind faultline-proxy raises p95 by the injected amount
        proxy = Proxy(args.proxy, args.backend, free_port())
        try:
            _, body = proxy.json("POST", "/proxies", {"name": "web", "listen": "127.0.0.1:0",
                                                      "upstream": f"127.0.0.1:{nginx.port}"})
            purl = f"http://{body['listen']}/index.html"
            _, _, _, base = run(args.binary, [*b, "-u", "2", "-d", "1s", purl])
            proxy.json("POST", "/proxies/web/toxics",
                       {"type": "latency", "attributes": {"latency": 50}})
            _, _, _, slow = run(args.binary, [*b, "-u", "2", "-d", "2s", purl])
            before = base["metrics"]["http_req_duration"]["p(95)"]
            after = slow["metrics"]["http_req_duration"]["p(95)"]
            check.check(48 <= after - before <= 150,
                        f"p95 rose by the injected 50 ms ({before:.2f} -> {after:.2f} ms)")
        finally:
            proxy.stop()
    finally:
        nginx.stop()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
