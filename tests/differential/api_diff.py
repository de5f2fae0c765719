#!/usr/bin/env python3
"""Differential testing of faultline-proxy's admin API against the real Toxiproxy 2.12.

Starts both servers on 127.0.0.1 and feeds them the same random sequences of API calls —
valid and invalid: names, listen addresses, upstreams, every toxic type and attribute,
wrong JSON types, odd bodies, populate with existing/changed/duplicate entries, reset,
toggles, deletes in every state — then compares status, Content-Type, the body (as JSON
when it is JSON) and, after each sequence, the whole state (GET /proxies). Listen ports are
normalised: each server gets its own port range for the same placeholder (below the
kernel's ephemeral range, so no client socket holds them), and ports the kernel chose are
shown as EPHEMERAL.

Not part of CI (the oracle needs Go): build it with ../shared/reference/build-toxiproxy.sh.

  tests/differential/api_diff.py --toxiproxy /path/toxiproxy-server \\
      --faultline build/proxy/faultline-proxy --sequences 100000 --out /tmp/diff

Writes every difference to OUT/differences.jsonl (the request sequence up to it, both
responses) and prints counts per kind of difference."""

import argparse
import collections
import http.client
import json
import os
import random
import re
import socket
import subprocess
import sys
import time
from urllib.parse import quote

NAMES = ["a", "b", "redis", "pg", "", "x y", "a/b", "ü", "n" * 70, "%41"]
# Names other than localhost would make the oracle ask a DNS server: only loopback traffic.
HOSTS = ["127.0.0.1", "localhost", "", "0.0.0.0", "[::]", "[::1]", "256.1.1.1"]
TOXICS = ["latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer",
          "limit_data", "noop", "nope", ""]
ATTRS = {
    "latency": ["latency", "jitter"],
    "bandwidth": ["rate"],
    "slow_close": ["delay"],
    "timeout": ["timeout"],
    "reset_peer": ["timeout"],
    "slicer": ["average_size", "size_variation", "delay"],
    "limit_data": ["bytes"],
}
VALUES = [0, 1, 100, -1, 1.5, 2 ** 40, "10", None, True, [], {}, 1e300]


class Server:
    def __init__(self, binary, extra, base_listen):
        self.binary, self.extra = binary, extra
        self.base = base_listen  # placeholder port k -> base + k
        self.start()

    def start(self):
        # A free port can be taken by the other server's ephemeral proxy listener before
        # this one binds it: only a server of ours that answers /version counts as started.
        for _ in range(20):
            self.port = free_port()
            cmd = [self.binary, "-host", "127.0.0.1", "-port", str(self.port)] + self.extra
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.time() + 10
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    if self.call("GET", "/version", None)[0] == 200:
                        return
                except OSError:
                    pass
                time.sleep(0.05)
            self.stop()
        raise RuntimeError(f"{self.binary} did not start")

    def restart(self):
        self.stop()
        self.start()

    def call(self, method, path, body):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        data = None if body is None else body.replace("{PORT", "{P").encode()
        if data is not None:
            data = re.sub(rb"\{P(\d+)\}", lambda m: str(self.base + int(m.group(1))).encode(), data)
        headers = {"Content-Type": "application/json"}
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        out = (r.status, r.getheader("Content-Type") or "", r.read())
        conn.close()
        return out

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def listen_value(rng):
    host = rng.choice(HOSTS)
    port = rng.choice(["{P%d}" % rng.randrange(4), "0", "", "x", "70000"])
    return f"{host}:{port}" if rng.random() < 0.9 else rng.choice(["", "nocolon", 5])


def proxy_body(rng, partial=False):
    body = {}
    for key, make in (("name", lambda: rng.choice(NAMES)), ("listen", lambda: listen_value(rng)),
                      ("upstream", lambda: rng.choice(["127.0.0.1:1", "up:9", "", 7])),
                      ("enabled", lambda: rng.choice([True, False, "yes", None]))):
        if rng.random() < (0.5 if partial else 0.85):
            body[key] = make()
    return body


def toxic_body(rng):
    kind = rng.choice(TOXICS)
    body = {}
    if rng.random() < 0.95:
        body["type"] = kind
    if rng.random() < 0.6:
        body["name"] = rng.choice(["t1", "t2", "", "latency_downstream"])
    if rng.random() < 0.5:
        body["stream"] = rng.choice(["upstream", "downstream", "up", ""])
    if rng.random() < 0.4:
        body["toxicity"] = rng.choice([0, 0.5, 1, 2, -1, "1"])
    attrs = {}
    for a in ATTRS.get(kind, ["x"]):
        if rng.random() < 0.7:
            attrs[a] = rng.choice(VALUES)
    if rng.random() < 0.9:
        body["attributes"] = attrs if rng.random() < 0.95 else rng.choice([[], "x", None])
    return body


def encode(rng, body):
    r = rng.random()
    if r < 0.03:
        return "{bad json"
    if r < 0.05:
        return ""
    if r < 0.07:
        return json.dumps(body) + " trailing"
    return json.dumps(body)


def random_call(rng, known):
    name = quote(rng.choice(known + NAMES[:3]) if known else rng.choice(NAMES[:4]), safe="")
    op = rng.random()
    if op < 0.2:
        return "POST", "/proxies", encode(rng, proxy_body(rng))
    if op < 0.3:
        items = [proxy_body(rng) for _ in range(rng.randrange(0, 4))]
        if items and rng.random() < 0.3:
            items.append(dict(items[0]))  # a duplicate entry
        return "POST", "/populate", encode(rng, items if rng.random() < 0.9 else {"proxies": items})
    if op < 0.45:
        return "POST", f"/proxies/{name}/toxics", encode(rng, toxic_body(rng))
    if op < 0.52:
        t = rng.choice(["t1", "t2", "latency_downstream", "x"])
        return "POST", f"/proxies/{name}/toxics/{t}", encode(rng, toxic_body(rng))
    if op < 0.6:
        return "POST", f"/proxies/{name}", encode(rng, proxy_body(rng, partial=True))
    if op < 0.67:
        return "DELETE", f"/proxies/{name}", None
    if op < 0.72:
        t = rng.choice(["t1", "t2", "latency_downstream", "x"])
        return "DELETE", f"/proxies/{name}/toxics/{t}", None
    if op < 0.8:
        return "GET", rng.choice([f"/proxies/{name}", f"/proxies/{name}/toxics", "/proxies",
                                  f"/proxies/{name}/toxics/t1"]), None
    if op < 0.85:
        return "POST", "/reset", None
    if op < 0.9:
        return rng.choice(["PUT", "PATCH", "HEAD", "OPTIONS"]), rng.choice(["/proxies", f"/proxies/{name}"]), None
    return "GET", rng.choice(["/version", "/proxies/", "//proxies", "/nope"]), None


def normalise(server, body, ctype):
    # Error bodies are JSON sent as text/plain (Toxiproxy's http.Error): parse whatever parses.
    try:
        value = json.loads(body)
    except ValueError:
        value = body.decode(errors="replace")

    def fix(v):
        if isinstance(v, dict):
            out = {}
            for k, x in v.items():
                if k == "listen" and isinstance(x, str) and ":" in x:
                    host, _, port = x.rpartition(":")
                    p = int(port) if port.isdigit() else -1
                    if server.base <= p < server.base + 10:
                        port = "{P%d}" % (p - server.base)
                    elif p > 0:
                        port = "EPHEMERAL"
                    x = f"{host}:{port}"
                out[k] = fix(x)
            return out
        if isinstance(v, list):
            return [fix(x) for x in v]
        if isinstance(v, str):
            def port(m):
                p = int(m.group(1))
                return ":" + ("{P%d}" % (p - server.base) if server.base <= p < server.base + 10 else "EPHEMERAL")
            return re.sub(r":(\d{4,5})\b", port, v)
        return v
    return fix(value)


def clear(server):
    """Empties the server's state; a name no route can delete ("a/b") costs a restart, so
    every sequence starts from nothing and replays alone."""
    status, _, body = server.call("GET", "/proxies", None)
    if status == 200:
        for name in json.loads(body):
            server.call("DELETE", "/proxies/" + quote(name, safe=""), None)
    if server.call("GET", "/proxies", None)[2].strip() != b"{}":
        server.restart()


def run_sequence(server, history):
    """The normalised responses of every call and the final state."""
    out = []
    for method, path, body in history:
        r = server.call(method, path, body)
        out.append([r[0], r[1].split(";")[0], normalise(server, r[2], r[1])])
    out.append(normalise(server, server.call("GET", "/proxies", None)[2], ""))
    return out


def same_but_port_wording(a, b):
    """Equal once the one wording kept on purpose (README: the unknown-port error) is set
    aside."""
    def canon(x):
        return re.sub(r"address (tcp/[^:]*): unknown port", r"lookup \1: unknown port",
                      json.dumps(x, sort_keys=True))
    return canon(a) == canon(b)


def order_dependent(args, history, ours, tries):
    """POST /reset walks Toxiproxy's proxies in a Go map's order, which changes from run to
    run: when a reset failed, a difference may only be the order. Replays the sequence on
    fresh oracles and returns the oracle's transcript that matches ours, if any does."""
    replay = Server(args.toxiproxy, [], 26000)
    try:
        for _ in range(tries):
            got = run_sequence(replay, history)
            if same_but_port_wording(got, ours):
                return got
            replay.restart()
    finally:
        replay.stop()
    return None


def classify(method, path, a, b):
    route = re.sub(r"/proxies/[^/]+", "/proxies/{p}", path)
    route = re.sub(r"/toxics/[^/]+", "/toxics/{t}", route)
    kind = "status" if a[0] != b[0] else "body"
    return f"{method} {route} {kind} ({a[0]} vs {b[0]})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--toxiproxy", required=True)
    ap.add_argument("--faultline", required=True)
    ap.add_argument("--sequences", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="/tmp/api-diff")
    ap.add_argument("--only", help="comma-separated sequence numbers to run")
    ap.add_argument("--replays", type=int, default=40,
                    help="oracle replays of a sequence whose failed reset may explain a difference")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    oracle = Server(args.toxiproxy, [], 24000)
    ours = Server(args.faultline, ["-backend", "epoll"], 25000)
    only = {int(x) for x in args.only.split(",")} if args.only else None
    counts = collections.Counter()
    ordered = 0
    wording_only = 0
    calls = 0
    started = time.time()
    with open(os.path.join(args.out, "differences.jsonl"), "w") as out, \
            open(os.path.join(args.out, "order-dependent.jsonl"), "w") as order_out:
        try:
            for seq in sorted(only) if only else range(args.sequences):
                try:
                    rng = random.Random(args.seed * 1_000_003 + seq)
                    for server in (oracle, ours):
                        clear(server)
                    known = []
                    history = []
                    ours_log = []
                    found = []
                    reset_failed = False
                    for _ in range(rng.randrange(3, 15)):
                        method, path, body = random_call(rng, known)
                        a = oracle.call(method, path, body)
                        b = ours.call(method, path, body)
                        calls += 1
                        history.append([method, path, body])
                        na, nb = normalise(oracle, a[2], a[1]), normalise(ours, b[2], b[1])
                        ours_log.append([b[0], b[1].split(";")[0], nb])
                        reset_failed |= path == "/reset" and a[0] == 500
                        if a[0] != b[0] or na != nb or a[1].split(";")[0] != b[1].split(";")[0]:
                            found.append({"sequence": seq, "key": classify(method, path, a, b),
                                          "wording": same_but_port_wording([a[0], na], [b[0], nb]),
                                          "calls": list(history),
                                          "toxiproxy": [a[0], a[1], a[2].decode(errors="replace")],
                                          "faultline": [b[0], b[1], b[2].decode(errors="replace")]})
                        if method == "POST" and path == "/proxies" and a[0] == 201:
                            known.append(json.loads(a[2])["name"])
                    sa = normalise(oracle, oracle.call("GET", "/proxies", None)[2], "")
                    sb = normalise(ours, ours.call("GET", "/proxies", None)[2], "")
                    ours_log.append(sb)
                    if sa != sb:
                        found.append({"sequence": seq, "key": "state", "calls": history,
                                      "toxiproxy": sa, "faultline": sb})
                    match = None
                    if found and reset_failed:
                        match = order_dependent(args, history, ours_log, args.replays)
                    if match is not None:
                        ordered += 1
                        order_out.write(json.dumps({"sequence": seq, "calls": history,
                                                    "toxiproxy_replay": match}) + "\n")
                    for f in found:
                        wording = f.pop("wording", False)
                        if match is not None and not wording:
                            continue
                        counts[f["key"]] += 1
                        wording_only += wording
                        f["port_wording_only"] = wording
                        out.write(json.dumps(f) + "\n")
                except OSError as e:
                    # A server that closes on us mid-call: note it, start both afresh.
                    counts["transport error"] += 1
                    out.write(json.dumps({"sequence": seq, "key": "transport error",
                                          "error": repr(e)}) + "\n")
                    oracle.restart()
                    ours.restart()
                    continue
                if oracle.proc.poll() is not None or ours.proc.poll() is not None:
                    print(f"a server died at sequence {seq}")
                    counts["server died"] += 1
                    break
        finally:
            oracle.stop()
            ours.stop()
    print(f"{len(only) if only else args.sequences} sequences, {calls} calls in "
          f"{time.time() - started:.0f} s; {sum(counts.values())} differences ({len(counts)} kinds, "
          f"{wording_only} of them only the unknown-port wording the README documents); "
          f"{ordered} sequences differed only in the order a failed reset met the proxies "
          f"(an oracle replay matched ours)")
    for key, n in counts.most_common():
        print(f"  {n:6d}  {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
