#!/usr/bin/env python3
"""End-to-end checks of faultline-cli against faultline-proxy.

1. Every invocation of tests/differential/cli_diff.py (every command and alias, flag
   spellings, usage errors, server errors, odd names and hosts, terminal output) is run
   against a fresh faultline-proxy, and stdout, stderr and the exit code are compared with
   what Toxiproxy 2.12's toxiproxy-cli printed (tests/e2e/cli_fixtures.py). The sequence
   runs twice: through a symlink named toxiproxy-cli (the outputs must be identical) and
   as faultline-cli (the same outputs with the program's name changed).
2. The HTTP requests themselves, seen by a small recording server: methods, paths, bodies
   (attribute values as JSON numbers or strings, update always sending toxicity, toggle
   sending the whole proxy), User-Agent and Content-Type.

Run with --cli pointing at the real toxiproxy-cli, part 2 checks the expectations against
the original (part 1 then only checks the fixtures are current)."""

import argparse
import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(__file__))
from cli_fixtures import CASES  # noqa: E402
from harness import Checker, Proxy, free_port, run_on_tty  # noqa: E402


def substitute(text, ports):
    for name, port in ports.items():
        text = text.replace("{" + name + "}", str(port))
    return text


def run(cli, argv, env=None, tty=False):
    full_env = {k: v for k, v in os.environ.items() if k != "TOXIPROXY_URL"}
    full_env.update(env or {})
    if tty:
        out, err, code = run_on_tty([cli] + argv, full_env)
    else:
        p = subprocess.run([cli] + argv, stdin=subprocess.DEVNULL, capture_output=True,
                           env=full_env, timeout=60)
        out, err, code = p.stdout, p.stderr, p.returncode
    return out.decode(errors="replace"), err.decode(errors="replace"), code


def delete_all(proxy):
    _, body = proxy.json("GET", "/proxies")
    for name in body or {}:
        proxy.request("DELETE", "/proxies/" + name)


# FAULTLINE_TEST_PORT_BASE=N: take ports N..N+7 instead of ports the kernel picks.
PORT_BASE = int(os.environ.get("FAULTLINE_TEST_PORT_BASE", "0"))


def pick_port(taken):
    if PORT_BASE:
        port = PORT_BASE + len(taken)
    else:
        port = free_port()
        while port in taken:
            port = free_port()
    taken.append(port)
    return port


def run_fixtures(cli, name, proxy, check, taken):
    """The whole sequence once, `cli` being called `name`."""
    ports = {"API": proxy.port}
    for p in ("DEAD", "UP", "P1", "P2", "P3", "P4"):
        ports[p] = pick_port(taken)
    tmp = tempfile.mkdtemp()
    link = os.path.join(tmp, name)
    os.symlink(os.path.abspath(cli), link)
    # The help's VERSION section shows the program's own version.
    version = run(link, ["--version"])[0].split()[-1]
    for case in CASES:
        argv = [] if case.get("raw") else ["-h", f"http://127.0.0.1:{ports['API']}"]
        argv += [substitute(a, ports) for a in case["args"]]
        env = {k: substitute(v, ports) for k, v in (case.get("env") or {}).items()}
        out, err, code = run(link, argv, env, case.get("tty", False))
        what = f"{name} {' '.join(case['args'])}" + (" (tty)" if case.get("tty") else "")
        if case.get("version"):
            check.check(re.fullmatch(re.escape(name) + r" version \d+\.\d+\.\d+\S*\n", out)
                        is not None, f"{what}: version line, got {out!r}")
            check.equal(code, 0, f"{what}: exit code")
            continue
        want_out = substitute(case["out"], ports).replace("toxiproxy-cli", name)
        want_out = re.sub(r"(\nVERSION:\n   )\S+", lambda m: m.group(1) + version, want_out)
        want_err = substitute(case["err"], ports).replace("toxiproxy-cli", name)
        check.equal(out, want_out, f"{what}: stdout")
        check.equal(err, want_err, f"{what}: stderr")
        check.equal(code, case["code"], f"{what}: exit code")
    os.unlink(link)
    os.rmdir(tmp)


class Recorder:
    """An admin API stand-in that records requests and answers from a script."""

    def __init__(self, port=0):
        self.requests = []
        self.replies = {}  # (method, path) -> (status, body)
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorder.requests.append({
                    "method": self.command, "path": self.path, "body": body.decode(),
                    "user_agent": self.headers.get("User-Agent"),
                    "content_type": self.headers.get("Content-Type"),
                })
                status, reply = recorder.replies.get((self.command, self.path),
                                                     (404, {"error": "proxy not found",
                                                            "status": 404}))
                data = json.dumps(reply).encode() if reply is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = handle_any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


PROXY = {"name": "p", "listen": "127.0.0.1:1", "upstream": "127.0.0.1:2", "enabled": True,
         "toxics": [{"attributes": {"latency": 7, "jitter": 0}, "name": "t", "type": "latency",
                     "stream": "downstream", "toxicity": 0.5}]}
TOXIC = {"attributes": {"latency": 100}, "name": "t", "type": "latency", "stream": "downstream",
         "toxicity": 1}


def check_requests(cli, check, oracle):
    rec = Recorder(pick_port([]) if PORT_BASE else 0)
    host = ["-h", f"127.0.0.1:{rec.port}"]
    disabled = dict(PROXY, enabled=False)
    rec.replies = {
        ("GET", "/proxies"): (200, {"p": PROXY}),
        ("GET", "/proxies/p"): (200, PROXY),
        ("POST", "/proxies"): (201, PROXY),
        ("POST", "/proxies/p"): (200, disabled),
        ("DELETE", "/proxies/p"): (204, None),
        ("POST", "/proxies/p/toxics"): (200, TOXIC),
        ("PATCH", "/proxies/p/toxics/t"): (200, TOXIC),
        ("DELETE", "/proxies/p/toxics/t"): (204, None),
    }
    steps = [
        (["list"], [("GET", "/proxies", "")]),
        (["inspect", "p"], [("GET", "/proxies/p", "")]),
        (["create", "-l", "127.0.0.1:1", "-u", "127.0.0.1:2", "p"],
         [("POST", "/proxies", '{"name":"p","listen":"127.0.0.1:1","upstream":"127.0.0.1:2",'
                               '"enabled":true,"toxics":null}')]),
        (["toggle", "p"],
         [("GET", "/proxies/p", ""),
          ("POST", "/proxies/p", '{"name":"p","listen":"127.0.0.1:1","upstream":"127.0.0.1:2",'
                                 '"enabled":false,"toxics":[{"name":"t","type":"latency",'
                                 '"stream":"downstream","toxicity":0.5,'
                                 '"attributes":{"jitter":0,"latency":7}}]}')]),
        (["delete", "p"], [("GET", "/proxies/p", ""), ("DELETE", "/proxies/p", "")]),
        (["toxic", "add", "-t", "latency", "-a", "latency=100", "-a", "name=<x&y>", "-a",
          "jitter=1.5e3", "-a", "tiny=0.0000001", "-a", "huge=1e21", "-a", "neg=-0", "p"],
         [("GET", "/proxies/p", ""),
          ("POST", "/proxies/p/toxics",
           '{"name":"","type":"latency","stream":"downstream","toxicity":1,"attributes":'
           '{"huge":1e+21,"jitter":1500,"latency":100,"name":"\\u003cx\\u0026y\\u003e",'
           '"neg":-0,"tiny":1e-7}}')]),
        (["toxic", "add", "-t", "latency", "-n", "t", "-u", "--tox", "0.3", "p"],
         [("GET", "/proxies/p", ""),
          ("POST", "/proxies/p/toxics",
           '{"name":"t","type":"latency","stream":"upstream","toxicity":0.3,"attributes":{}}')]),
        (["toxic", "update", "-n", "t", "-a", "latency=100", "p"],
         [("GET", "/proxies/p", ""),
          ("PATCH", "/proxies/p/toxics/t", '{"attributes":{"latency":100},"toxicity":1}')]),
        (["toxic", "update", "-n", "t", "--tox", "0.1", "p"],
         [("GET", "/proxies/p", ""),
          ("PATCH", "/proxies/p/toxics/t", '{"attributes":{},"toxicity":0.1}')]),
        (["toxic", "remove", "-n", "t", "p"],
         [("GET", "/proxies/p", ""), ("DELETE", "/proxies/p/toxics/t", "")]),
    ]
    agent = r"toxiproxy-cli/\S+ \(linux/\w+\)" if oracle else r"faultline-cli/\S+ \(linux/\w+\)"
    try:
        for argv, expected in steps:
            rec.requests.clear()
            out, err, code = run(cli, host + argv)
            what = " ".join(argv)
            check.equal(code, 0, f"{what}: exit code (stderr {err!r})")
            got = [(r["method"], r["path"], r["body"]) for r in rec.requests]
            check.equal(got, expected, f"{what}: requests")
            for r in rec.requests:
                check.check(re.fullmatch(agent, r["user_agent"] or "") is not None,
                            f"{what}: User-Agent {r['user_agent']!r}")
                check.equal(r["content_type"], "application/json", f"{what}: Content-Type")
    finally:
        rec.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--binary", required=True, help="faultline-proxy")
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--oracle", action="store_true", help="--cli is the real toxiproxy-cli")
    args = ap.parse_args()
    check = Checker(f"cli-{args.backend}")
    check_requests(args.cli, check, args.oracle)
    names = ["toxiproxy-cli"] if args.oracle else ["toxiproxy-cli", "faultline-cli"]
    for name in names:
        taken = []
        proxy = Proxy(args.binary, args.backend, pick_port(taken))
        try:
            run_fixtures(args.cli, name, proxy, check, taken)
            delete_all(proxy)
            check.check(proxy.alive(), f"{name}: server alive at the end")
        finally:
            code = proxy.stop()
        check.equal(code, 0, f"{name}: clean exit on SIGTERM")
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
