#!/usr/bin/env python3
"""Differential testing of faultline-cli against Toxiproxy 2.12's toxiproxy-cli.

Runs one sequence of invocations (every command and alias, flag spellings, usage errors,
server errors, odd names and hosts, a few on a terminal) four times, each time from a
fresh server: the real CLI against the real toxiproxy-server (the oracle), faultline-cli
against faultline-proxy, and the two crossed. Compares stdout, stderr and the exit code
of every invocation with the oracle's, and can write the oracle's outputs as the fixtures
of tests/e2e/test_cli.py (tests/e2e/cli_fixtures.py), so our tests need neither Go nor
Toxiproxy.

faultline-cli is run through a symlink named toxiproxy-cli: under that name it calls
itself toxiproxy-cli, as the real one does.

Ports are placeholders in the cases ({API} the admin API, {P1}.. listen ports, {UP} an
upstream nobody listens on, {DEAD} a port with no server) and are put back as
placeholders in the outputs.

  tests/differential/cli_diff.py --toxiproxy-server /work/toxiproxy/bin/toxiproxy-server \\
      --toxiproxy-cli /work/toxiproxy/bin/toxiproxy-cli --faultline-proxy build/proxy/faultline-proxy \\
      --faultline-cli build/cli/faultline-cli --base-port 19500 --write-fixtures tests/e2e/cli_fixtures.py
"""

import argparse
import os
import pprint
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from harness import run_on_tty  # noqa: E402

# Each case: the arguments after the global "-h http://127.0.0.1:{API}" ("raw": the whole
# command line, no -h added), an optional environment, and "tty" to run on a terminal.
CASES = [
    # Help and usage errors: no request is made.
    {"args": [], "raw": True},
    {"args": ["--help"]},
    {"args": ["help"]},
    {"args": ["h"]},
    {"args": ["help", "create"]},
    {"args": ["help", "list"]},
    {"args": ["help", "toxic"]},
    {"args": ["help", "help"]},
    {"args": ["help", "nosuch"]},
    {"args": ["nosuch"]},
    {"args": ["toxic"]},
    {"args": ["t", "--help"]},
    {"args": ["toxic", "help"]},
    {"args": ["toxic", "h", "add"]},
    {"args": ["toxic", "help", "remove"]},
    {"args": ["toxic", "nosuch"]},
    {"args": ["toxic", "-h"]},
    {"args": ["toxic", "-x"]},
    {"args": ["create", "--help"]},
    {"args": ["list", "--help"]},
    {"args": ["toggle", "--help"]},
    {"args": ["toxic", "add", "--help"]},
    {"args": ["toxic", "update", "--help"]},
    {"args": ["toxic", "remove", "--help"]},
    {"args": ["help", "--help"]},
    {"args": ["toxic", "help", "help"]},
    {"args": ["toxic", "add", "-n", "x", "-a", "k=v", "-a", "j=", "--help"]},
    {"args": ["--", "list"]},
    {"args": ["-h", "1", "list"], "raw": True},
    {"args": ["list", "-x"]},
    {"args": ["list", "-h", "x"]},
    {"args": ["-x"]},
    {"args": ["-h"], "raw": True},
    {"args": ["create", "-l"]},
    {"args": ["create", "-l", "a", "--listen", "b", "p"]},
    {"args": ["toxic", "add", "-a", "x=1", "--attribute", "y=2", "p"]},
    {"args": ["toxic", "add", "-u=maybe", "p"]},
    {"args": ["toxic", "add", "-a", "latency=100", "-a", "", "-a", "q=\"x\"", "p"]},
    {"args": ["create", "---x"]},
    {"args": ["create", "-=x"]},
    {"args": ["--host", "http://127.0.0.1:{API}", "-h", "http://127.0.0.1:{API}", "list"],
     "raw": True},
    {"args": ["inspect"]},
    {"args": ["i", ""]},
    {"args": ["toggle"]},
    {"args": ["delete"]},
    {"args": ["create"]},
    {"args": ["create", "-l", "x", "-u", "y"]},
    {"args": ["create", "cli_q"]},
    {"args": ["create", "-l", "127.0.0.1:{P1}", "cli_q"]},
    {"args": ["create", "cli_q", "-l", "127.0.0.1:{P1}", "-u", "127.0.0.1:{UP}"]},
    {"args": ["toxic", "add", "p"]},
    {"args": ["toxic", "add", "p", "-t", "latency"]},
    {"args": ["toxic", "add"]},
    {"args": ["toxic", "update"]},
    {"args": ["toxic", "remove"]},
    {"args": ["toxic", "add", "-t", "latency", "-u", "-d", "p"]},
    {"args": ["toxic", "add", "-t", "latency", "--tox", "2", "p"]},
    {"args": ["toxic", "add", "-t", "latency", "--tox", "abc", "p"]},
    {"args": ["toxic", "add", "-t", "latency", "--toxicity", "1e39", "p"]},
    {"args": ["toxic", "update", "-n", "x", "--tox", "-1", "p"]},
    {"args": ["toxic", "update", "-n", "x", "--tox", "-0.0001", "p"]},
    # Against the server.
    {"args": ["list"]},
    {"args": ["list"], "tty": True},
    {"args": ["create", "-l", "127.0.0.1:{P1}", "-u", "127.0.0.1:{UP}", "cli_p"]},
    {"args": ["create", "-l", "127.0.0.1:{P1}", "-u", "127.0.0.1:{UP}", "cli_p"]},
    {"args": ["c", "--listen", "127.0.0.1:{P2}", "--upstream=127.0.0.1:{UP}", "cli_r"]},
    {"args": ["new", "-listen", "127.0.0.1:{P3}", "-upstream", "localhost:{UP}", "cli_s"]},
    {"args": ["create", "-l", "127.0.0.1:99999", "-u", "127.0.0.1:{UP}", "badport"]},
    {"args": ["create", "-l", "127.0.0.1:{P1}", "-u", "127.0.0.1:{UP}", "dup_listen"]},
    {"args": ["create", "-l", "127.0.0.1:{P4}", "-u", "127.0.0.1:{UP}", "cli_r"]},
    {"args": ["list"]},
    {"args": ["l"]},
    {"args": ["li"]},
    {"args": ["ls", "extra", "args"]},
    {"args": ["list"], "tty": True},
    {"args": ["inspect", "cli_p"]},
    {"args": ["inspect", "cli_p"], "tty": True},
    {"args": ["i", "cli_p"]},
    {"args": ["ins", "nope"]},
    {"args": ["toxic", "add", "-t", "latency", "-a", "latency=100", "-a", "jitter=5", "cli_p"]},
    {"args": ["t", "a", "-t", "bandwidth", "-u", "-n", "bw", "--tox", "0.5", "-a", "rate=50",
              "cli_p"]},
    {"args": ["toxic", "add", "-t", "nosuch", "cli_p"]},
    {"args": ["toxic", "add", "-t", "latency", "cli_p"]},
    {"args": ["toxic", "add", "-t", "latency", "-n", "big", "-a", "latency=1000000",
              "-a", "jitter=1_000", "--toxicity=0.125", "cli_p"]},
    {"args": ["toxic", "add", "-t", "latency", "-n", "big2", "-a", "latency=123456",
              "-a", "jitter=0x10p0", "--toxicity", ".333", "cli_p"]},
    {"args": ["toxic", "add", "-t", "latency", "-n", "strattr", "-a", "latency=abc", "cli_p"]},
    {"args": ["toxic", "add", "-t", "slicer", "-n", "sl", "-a", "average_size=1e1",
              "-a", "size_variation=2", "-a", "delay=1.5", "-a", "noeq", "cli_p"]},
    {"args": ["toxic", "add", "-t", "slicer", "-n", "sl", "-a", "average_size=1e1",
              "-a", "size_variation=2", "-a", "noeq", "-a", "delay=", "cli_p"]},
    {"args": ["toxic", "add", "-t", "slicer", "-n", "sl", "-a", "average_size=1e1",
              "-a", "size_variation=2", "-a", "noeq", "-a", "unknown=yes", "cli_p"]},
    {"args": ["toxic", "add", "-t", "latency", "-n", "nan", "-a", "latency=NaN", "cli_p"]},
    {"args": ["toxic", "add", "-t", "latency", "-n", "inf", "-a", "latency=-Inf", "cli_p"]},
    {"args": ["toxic", "add", "-t", "latency", "-n", "range", "-a", "latency=1e400", "cli_p"]},
    {"args": ["toxic", "add", "-t", "timeout", "-n", "to", "--tox", "NaN", "cli_p"]},
    {"args": ["toxic", "add", "-t", "latency", "nope"]},
    {"args": ["toxic", "add", "-t", "limit_data", "-n", "ld", "-d", "-a", "bytes=99999999999",
              "cli_p"]},
    {"args": ["toxic", "add", "-t", "noop", "-n", "tiny", "--tox", "0.005", "-u=false",
              "-d=true", "cli_p"]},
    {"args": ["inspect", "cli_p"]},
    {"args": ["inspect", "cli_p"], "tty": True},
    {"args": ["list"]},
    {"args": ["toxic", "update", "-n", "bw", "-a", "rate=75", "cli_p"]},
    {"args": ["t", "u", "-n", "bw", "--tox", "0.25", "cli_p"]},
    {"args": ["toxic", "update", "-n", "nosuch", "cli_p"]},
    {"args": ["toxic", "update", "-n", "bw", "-a", "rate=x", "cli_p"]},
    {"args": ["toxic", "update", "-n", "bw", "nope"]},
    {"args": ["toxic", "update", "cli_p"]},
    {"args": ["toxic", "update", "-n", "big", "-a", "latency=NaN", "cli_p"]},
    {"args": ["inspect", "cli_p"]},
    {"args": ["toxic", "remove", "-n", "bw", "cli_p"]},
    {"args": ["t", "r", "-n", "ld", "cli_p"]},
    {"args": ["t", "delete", "-n", "big", "cli_p"]},
    {"args": ["t", "d", "-n", "big2", "cli_p"]},
    {"args": ["toxic", "remove", "-n", "bw", "cli_p"]},
    {"args": ["toxic", "remove", "cli_p"]},
    {"args": ["toxic", "remove", "-n", "x", "nope"]},
    {"args": ["toggle", "cli_p"]},
    {"args": ["list"]},
    {"args": ["tog", "cli_p"]},
    {"args": ["toggle", "cli_p"], "tty": True},
    {"args": ["toggle", "cli_p"], "tty": True},
    {"args": ["toggle", "nope"]},
    {"args": ["inspect", "c%6ci_p"]},
    {"args": ["inspect", "a b"]},
    {"args": ["inspect", "%zz"]},
    {"args": ["inspect", "a?b"]},
    {"args": ["inspect", "cli_p#frag"]},
    {"args": ["inspect", "--", "-weird"]},
    {"args": ["delete", "cli_r"]},
    {"args": ["d", "cli_s"]},
    {"args": ["delete", "cli_r"]},
    # Hosts.
    {"args": ["-h", "127.0.0.1:{API}", "list"], "raw": True},
    {"args": ["--host=http://127.0.0.1:{API}", "inspect", "cli_p"], "raw": True},
    {"args": ["list"], "raw": True, "env": {"TOXIPROXY_URL": "http://127.0.0.1:{API}"}},
    {"args": ["--help"], "raw": True, "env": {"TOXIPROXY_URL": "http://127.0.0.1:{API}"}},
    {"args": ["-h", "http://127.0.0.1:{API}", "list"], "raw": True,
     "env": {"TOXIPROXY_URL": "http://127.0.0.1:{DEAD}"}},
    {"args": ["list"], "raw": True, "env": {"TOXIPROXY_URL": ""}},
    {"args": ["-h", "http://127.0.0.1:{DEAD}", "list"], "raw": True},
    {"args": ["-h", "http://127.0.0.1:{DEAD}", "inspect", "x"], "raw": True},
    {"args": ["-h", "http://127.0.0.1:{DEAD}", "create", "-l", "a", "-u", "b", "x"], "raw": True},
    {"args": ["-h", "http://127.0.0.1:{DEAD}", "toxic", "add", "-t", "latency", "x"], "raw": True},
    {"args": ["-h", "http://127.0.0.1:abc", "list"], "raw": True},
    {"args": ["-h", "http://127.0.0.1:{DEAD}", "inspect", "\u00fc"], "raw": True},
    {"args": ["-h", "http://127.0.0.1:{DEAD}", "inspect", "a\"b c"], "raw": True},
    {"args": ["-h", "http://127.0.0.1:{DEAD}", "inspect", "a?"], "raw": True},
    {"args": ["-h", "http://127.0.0.1:{DEAD}", "toggle", "a?b#c d"], "raw": True},
    {"args": ["-h", "http://127.0.0.1:{DEAD}", "delete", "%41!*"], "raw": True},
    {"args": ["-h", "http://127.0.0.1:{API}/", "list"], "raw": True},
    {"args": ["-h", "http://127.0.0.1:{API}/", "inspect", "cli_p"], "raw": True},
    {"args": ["-h", "http://127.0.0.1:{API}/", "create", "-l", "127.0.0.1:{P2}", "-u",
              "127.0.0.1:{UP}", "via_slash"], "raw": True},
    {"args": ["list"]},
    {"args": ["delete", "cli_p"]},
    {"args": ["list"], "tty": True},
    {"args": ["-h", "http://127.0.0.1:{API}", "--version"], "raw": True, "version": True},
]

VERSION = re.compile(r"(\nVERSION:\n   )\S+")

PORTS = {"API": 0, "DEAD": 1, "UP": 2, "P1": 10, "P2": 11, "P3": 12, "P4": 13}


def substitute(text, ports):
    for name, port in ports.items():
        text = text.replace("{" + name + "}", str(port))
    return text


def placeholders(text, ports):
    for name, port in sorted(ports.items(), key=lambda kv: -len(str(kv[1]))):
        text = re.sub(r"(?<!\d)" + str(port) + r"(?!\d)", "{" + name + "}", text)
    return text


def run_case(cli, case, ports):
    argv = [cli]
    if not case.get("raw"):
        argv += ["-h", f"http://127.0.0.1:{ports['API']}"]
    argv += [substitute(a, ports) for a in case["args"]]
    env = {k: v for k, v in os.environ.items() if k != "TOXIPROXY_URL"}
    for k, v in (case.get("env") or {}).items():
        env[k] = substitute(v, ports)
    if case.get("tty"):
        out, err, code = run_on_tty(argv, env)
    else:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, env=env,
                           timeout=60)
        out, err, code = p.stdout, p.stderr, p.returncode
    return {"out": placeholders(out.decode(errors="replace"), ports),
            "err": placeholders(err.decode(errors="replace"), ports),
            "code": code}


class Server:
    def __init__(self, argv, port):
        self.port = port
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/version", timeout=1).read()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"server {argv[0]} did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def run_sequence(cli, server_argv, ports):
    server = Server(server_argv, ports["API"])
    try:
        return [run_case(cli, case, ports) for case in CASES]
    finally:
        server.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--toxiproxy-server", required=True)
    ap.add_argument("--toxiproxy-cli", required=True)
    ap.add_argument("--faultline-proxy", required=True)
    ap.add_argument("--faultline-cli", required=True)
    ap.add_argument("--backend", default="epoll")
    ap.add_argument("--base-port", type=int, default=19500)
    ap.add_argument("--write-fixtures")
    args = ap.parse_args()

    ports = {name: args.base_port + offset for name, offset in PORTS.items()}
    tmp = tempfile.mkdtemp()
    ours = os.path.join(tmp, "toxiproxy-cli")
    os.symlink(os.path.abspath(args.faultline_cli), ours)
    api = ["-host", "127.0.0.1", "-port", str(ports["API"])]
    real_server = [args.toxiproxy_server] + api
    our_server = [args.faultline_proxy] + api + ["-backend", args.backend]

    runs = {
        "oracle (toxiproxy-cli, toxiproxy-server)": run_sequence(args.toxiproxy_cli, real_server, ports),
        "faultline-cli, faultline-proxy": run_sequence(ours, our_server, ports),
        "faultline-cli, toxiproxy-server": run_sequence(ours, real_server, ports),
        "toxiproxy-cli, faultline-proxy": run_sequence(args.toxiproxy_cli, our_server, ports),
    }
    names = list(runs)
    oracle = runs[names[0]]
    differences = 0
    for name in names[1:]:
        for case, want, got in zip(CASES, oracle, runs[name]):
            if case.get("version"):
                continue
            # The help's VERSION section is each program's own version.
            want = {k: (VERSION.sub(r"\1*", v) if isinstance(v, str) else v) for k, v in want.items()}
            got = {k: (VERSION.sub(r"\1*", v) if isinstance(v, str) else v) for k, v in got.items()}
            if want != got:
                differences += 1
                print(f"--- {name}: {case['args']}" + (" (tty)" if case.get("tty") else ""))
                for key in ("code", "out", "err"):
                    if want[key] != got[key]:
                        print(f"  {key}: oracle {want[key]!r}\n  {' ' * len(key)}  ours   {got[key]!r}")
    print(f"{len(CASES)} invocations x {len(names) - 1} pairings, {differences} differences")

    if args.write_fixtures:
        fixtures = []
        for case, result in zip(CASES, oracle):
            entry = dict(case)
            entry.update(result)
            fixtures.append(entry)
        with open(args.write_fixtures, "w") as f:
            f.write('"""What Toxiproxy 2.12\'s toxiproxy-cli printed for each invocation of\n'
                    'tests/differential/cli_diff.py (generated by it; do not edit by hand).\n'
                    'Ports are placeholders: {API} the admin API, {P1}.. listen ports, {UP} an\n'
                    'upstream, {DEAD} a port nobody listens on."""\n\n')
            f.write("CASES = ")
            f.write(pprint.pformat(fixtures, width=100, sort_dicts=False))
            f.write("\n")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
