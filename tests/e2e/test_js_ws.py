#!/usr/bin/env python3
"""k6/ws in loadgen (k6-js-api §6.1, k6-compat §11) against real servers: Debian's
websocketd echoing with `cat`, and a small WebSocket server of our own that misbehaves on
purpose (close codes, garbage and oversized frames, a close inside a fragmented message,
silence, abrupt ends, refused and broken handshakes). Every check looks at what a user sees:
handler calls in the console, the response object, ws_* metrics and their tags, exit codes
and how long a run takes."""

import argparse
import base64
import hashlib
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Checker, free_port  # noqa: E402
from test_js import Loadgen  # noqa: E402

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(op, payload=b"", fin=True, rsv=0, length=None):
    """A server frame (unmasked)."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | op])
    if n < 126:
        head += bytes([n])
    elif n <= 0xFFFF:
        head += bytes([126]) + struct.pack(">H", n)
    else:
        head += bytes([127]) + struct.pack(">Q", n)
    return head + payload


def read_frame(conn):
    """One client frame: (opcode, payload); None at EOF."""
    def exact(n):
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data
    head = exact(2)
    if head is None:
        return None
    op, n = head[0] & 0x0F, head[1] & 0x7F
    if n == 126:
        n = struct.unpack(">H", exact(2))[0]
    elif n == 127:
        n = struct.unpack(">Q", exact(8))[0]
    mask = exact(4) if head[1] & 0x80 else b"\0\0\0\0"
    data = exact(n) or b""
    return op, bytes(b ^ mask[i % 4] for i, b in enumerate(data))


class WsServer:
    """Answers the handshake, then behaves as the request path says."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.received = {}  # path -> client frames [(op, payload)]
        self.handshakes = {}  # path -> request text
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _note(self, path, item):
        with self.lock:
            self.received.setdefault(path, []).append(item)

    def _serve(self, conn):
        try:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                request += chunk
            text = request.decode(errors="replace")
            path = text.split(" ")[1]
            with self.lock:
                self.handshakes[path] = text
            key = ""
            for line in text.split("\r\n"):
                if line.lower().startswith("sec-websocket-key:"):
                    key = line.split(":", 1)[1].strip()
            accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
            if path == "/silent-handshake":
                time.sleep(30)
                return
            if path == "/403":
                body = b"no entry"
                conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                return
            if path == "/bad-accept":
                conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             b"Connection: Upgrade\r\nSec-WebSocket-Accept: wrong\r\n\r\n")
                time.sleep(1)
                return
            extra = "Sec-WebSocket-Protocol: chat\r\n" if path == "/subproto" else ""
            conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n{extra}\r\n").encode())
            self._behave(conn, path)
        except OSError:
            pass
        finally:
            conn.close()

    def _behave(self, conn, path):
        if path == "/close1011":
            conn.sendall(frame(0x8, struct.pack(">H", 1011) + b"boom"))
            self._note(path, read_frame(conn))
        elif path == "/close1000":
            conn.sendall(frame(0x8, struct.pack(">H", 1000)))
            self._note(path, read_frame(conn))
        elif path == "/garbage":
            conn.sendall(frame(0x1, "fine") + frame(0x1, "x", rsv=3))
            self._note(path, read_frame(conn))
        elif path == "/oversized":
            conn.sendall(frame(0x2, b"", length=1 << 40))
            self._note(path, read_frame(conn))
        elif path == "/frag-close":
            conn.sendall(frame(0x1, "part one ", fin=False) + frame(0x8, struct.pack(">H", 1000)))
            self._note(path, read_frame(conn))
        elif path == "/frag":
            conn.sendall(frame(0x1, "one ", fin=False) + frame(0x9, "srv") +
                         frame(0x0, "two ", fin=False) + frame(0x0, "three") +
                         frame(0x2, bytes([0, 1, 2, 255])))
            while True:
                f = read_frame(conn)
                if f is None:
                    return
                self._note(path, f)
        elif path == "/eof":
            conn.sendall(frame(0x1, "bye"))
            conn.shutdown(socket.SHUT_RDWR)
        elif path == "/silent":
            time.sleep(30)
        else:  # record what the client sends until it closes
            while True:
                f = read_frame(conn)
                if f is None:
                    return
                self._note(path, f)
                if f[0] == 0x8:
                    return

    def url(self, path):
        return f"ws://127.0.0.1:{self.port}{path}"

    def close(self):
        self.closed = True
        self.sock.close()


class Websocketd:
    """Debian's websocketd running `cat`: every text line comes back as a message."""

    def __init__(self):
        self.port = free_port()
        self.proc = subprocess.Popen(["websocketd", f"--port={self.port}", "--address=127.0.0.1",
                                      "--loglevel=error", "cat"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("websocketd did not start")

    def url(self):
        return f"ws://127.0.0.1:{self.port}/"

    def close(self):
        self.proc.terminate()
        self.proc.wait()


def samples(r, metric):
    return [p for p in r.points if p.get("type") == "Point" and p.get("metric") == metric]


def count(r, metric):
    m = r.metric(metric)
    return m and m.get("count")


def test_echo_session(lg, echo, check):
    r = lg.run(f"""
import ws from 'k6/ws';
import {{ check }} from 'k6';
export const options = {{ vus: 2, iterations: 6 }};
export default function () {{
  let received = 0;
  const res = ws.connect('{echo.url()}', {{ tags: {{ team: 'ws' }} }}, function (socket) {{
    socket.on('open', () => {{
      socket.send('one');
      socket.send('two');
      socket.ping();
    }});
    socket.on('message', (m) => {{
      received += 1;
      if (m !== 'one' && m !== 'two') console.log('unexpected ' + m);
      if (received === 2) socket.setTimeout(() => socket.close(), 50);
    }});
    socket.on('pong', () => console.log('pong seen'));
    socket.on('close', (code) => console.log('close ' + code));
    socket.setTimeout(() => {{ console.log('timed out'); socket.close(); }}, 5000);
  }});
  check(res, {{ 'upgraded': (r) => r.status === 101 && r.error === '' && r.url === '{echo.url()}' }});
  console.log('received ' + received);
}}
""", json_out=True)
    check.equal(r.code, 0, "an echo session runs clean")
    lines = r.console()
    check.equal(lines.count("received 2"), 6, "every iteration gets both echoes")
    check.equal(lines.count("close 1001"), 6, "socket.close() runs the close handlers with 1001")
    check.equal(lines.count("pong seen"), 6, "each ping is answered with a pong")
    check.check(not any(l.startswith("unexpected") or l == "timed out" for l in lines),
                "messages arrive intact, before the safety timeout")
    check.equal(r.metric("checks") and r.metric("checks").get("passes"), 6,
                "the response is {status: 101, error: '', url}")
    check.equal(count(r, "ws_sessions"), 6, "ws_sessions counts one per connect")
    check.equal(count(r, "ws_msgs_sent"), 12, "ws_msgs_sent counts send() calls")
    check.equal(count(r, "ws_msgs_received"), 12, "ws_msgs_received counts echoes")
    for name in ("ws_connecting", "ws_session_duration", "ws_ping"):
        m = r.metric(name) or {}
        n = len(samples(r, name))
        check.check(n == 6 and 0 < m.get("avg", 0) < 5000,
                    f"{name} has one sane sample per session ({n}, avg {m.get('avg')})")
    session = r.metric("ws_session_duration") or {}
    check.check(session.get("min", 0) >= 50, "ws_session_duration spans the session (50 ms timer)")
    pts = samples(r, "ws_connecting")
    tags = pts[0]["data"]["tags"] if pts else {}
    check.equal({k: tags.get(k) for k in ("url", "status", "subproto", "team")},
                {"url": echo.url(), "status": "101", "subproto": "", "team": "ws"},
                "ws_* samples carry url, status, subproto and the connect tags")
    data_sent = (r.metric("data_sent") or {}).get("count", 0)
    check.check(data_sent > 6 * 150, f"data_sent includes handshakes and frames ({data_sent} B)")


def test_frames_and_handshake(lg, srv, check):
    r = lg.run(f"""
import ws from 'k6/ws';
export default function () {{
  ws.connect('{srv.url("/frag")}', function (socket) {{
    socket.on('message', (m) => console.log('text ' + m));
    socket.on('binaryMessage', (b) => console.log('binary ' + Array.from(new Uint8Array(b)).join(',')));
    socket.on('ping', () => console.log('ping seen'));
    socket.on('open', () => {{
      socket.sendBinary(new Uint8Array([9, 8, 7]).buffer);
      try {{ socket.sendBinary(new Uint8Array([1])); }} catch (e) {{ console.log('typed ' + e.message); }}
      try {{ socket.sendBinary(); }} catch (e) {{ console.log('none ' + e.message); }}
      socket.setTimeout(() => socket.close(1000), 300);
    }});
  }});
  const sub = ws.connect('{srv.url("/subproto")}', {{ headers: {{ 'x-api-key': 'k1', 'Sec-WebSocket-Protocol': 'chat' }} }},
    (socket) => {{ socket.on('open', () => socket.close()); }});
  console.log('subproto ' + sub.status);
}}
""", "--user-agent", "ua-test/1.0", json_out=True)
    lines = r.console()
    check.equal(r.code, 0, "a session with fragments, pings and binary frames runs clean")
    check.check("text one two three" in lines, "fragments make one message, a ping between them")
    check.check("ping seen" in lines, "a server ping reaches the ping handlers")
    check.check("binary 0,1,2,255" in lines, "binary frames arrive as ArrayBuffers")
    check.check("typed expected ArrayBuffer as argument, received: Uint8Array" in lines,
                "sendBinary rejects typed arrays with k6's error")
    check.check("none missing argument, expected ArrayBuffer" in lines,
                "sendBinary needs an argument")
    got = srv.received.get("/frag", [])
    check.check((0xA, b"srv") in got, "the server's ping is answered with its payload")
    check.check((0x2, bytes([9, 8, 7])) in got, "sendBinary sends one binary frame")
    check.check((0x8, struct.pack(">H", 1000)) in got, "close(1000) sends that code")
    hs = srv.handshakes.get("/subproto", "")
    check.check("X-Api-Key: k1" in hs, "handshake headers are sent with canonical names")
    check.check("User-Agent: ua-test/1.0" in hs, "the User-Agent option reaches the handshake")
    check.check("Sec-WebSocket-Version: 13" in hs, "RFC 6455 version 13")
    check.check("subproto 101" in lines, "the sub-protocol session opens")
    tags = [p["data"]["tags"] for p in samples(r, "ws_connecting")]
    check.check(any(t.get("subproto") == "chat" for t in tags), "subproto is the server's choice")


def test_server_faults(lg, srv, check):
    cases = ["/close1011", "/close1000", "/garbage", "/oversized", "/frag-close", "/eof"]
    script = "import ws from 'k6/ws';\nexport default function () {\n"
    for path in cases:
        script += f"""
  ws.connect('{srv.url(path)}', function (socket) {{
    socket.on('message', (m) => console.log('{path} message ' + m));
    socket.on('error', (e) => console.log('{path} error ' + e.error()));
    socket.on('close', (c) => console.log('{path} close ' + c));
    socket.setTimeout(() => {{ console.log('{path} hung'); socket.close(); }}, 5000);
  }});
"""
    script += "}\n"
    t0 = time.time()
    r = lg.run(script)
    elapsed = time.time() - t0
    lines = r.console()
    check.equal(r.code, 0, "misbehaving servers end sessions, not the run")
    check.check(elapsed < 15, f"no session waits for its safety timeout ({elapsed:.1f} s)")
    check.check(not any(l.endswith(" hung") for l in lines), "each fault ends its session")
    expect = {
        "/close1011": ["/close1011 error websocket: close 1011 (internal server error): boom",
                       "/close1011 close 1011"],
        "/close1000": ["/close1000 close 1000"],
        "/garbage": ["/garbage message fine", "/garbage error websocket: unexpected reserved bits 0x3",
                     "/garbage close 1006"],
        "/oversized": ["/oversized error websocket: read limit exceeded", "/oversized close 1006"],
        "/frag-close": ["/frag-close error websocket: close 1000 in the middle of a fragmented message",
                        "/frag-close close 1000"],
        "/eof": ["/eof message bye", "/eof error websocket: close 1006 (abnormal closure): unexpected EOF",
                 "/eof close 1006"],
    }
    for path, want in expect.items():
        got = [l for l in lines if l.startswith(path + " ")]
        check.equal(got, want, f"{path}: handlers see k6's events in order")
    check.equal((srv.received.get("/close1011") or [None])[0], (0x8, struct.pack(">H", 1011)),
                "a server's close code is echoed back (closing handshake)")
    check.equal((srv.received.get("/garbage") or [None])[0], (0x8, struct.pack(">H", 1002)),
                "a protocol error is answered with close 1002")


def test_failed_connects(lg, srv, check):
    dead = free_port()
    r = lg.run(f"""
import ws from 'k6/ws';
export default function () {{
  const refused = ws.connect('ws://127.0.0.1:{dead}/', () => console.log('callback ran'));
  console.log('refused ' + JSON.stringify([refused.status, refused.error, refused.url]));
  const forbidden = ws.connect('{srv.url("/403")}', () => console.log('callback ran'));
  console.log('forbidden ' + JSON.stringify([forbidden.status, forbidden.error, forbidden.body,
                                             forbidden.headers['Content-Type']]));
  const bad = ws.connect('{srv.url("/bad-accept")}', () => console.log('callback ran'));
  console.log('badaccept ' + bad.status);
  const scheme = ws.connect('http://127.0.0.1:{dead}/', () => console.log('callback ran'));
  console.log('scheme ' + scheme.error);
  for (const args of [[], ['{srv.url("/")}'], ['{srv.url("/")}', {{}}, () => {{}}, 1]]) {{
    try {{ ws.connect(...args); }} catch (e) {{ console.log('arity ' + e.message); }}
  }}
  try {{ ws.connect('{srv.url("/")}', {{}}, 5); }} catch (e) {{ console.log('last ' + e.message); }}
  try {{ ws.connect('{srv.url("/")}', {{ tags: {{ a: {{}} }} }}, () => {{}}); }} catch (e) {{ console.log('tags ' + e.message); }}
  for (const compression of ['gzip', 'deflate']) {{
    try {{ ws.connect('{srv.url("/")}', {{ compression }}, () => {{}}); }} catch (e) {{ console.log('compression ' + e.message); }}
  }}
}}
""", json_out=True)
    lines = r.console()
    check.equal(r.code, 0, "failed connects return a response, as k6 does without throw")
    check.check("callback ran" not in lines, "the callback never runs when the upgrade fails")
    check.equal([l for l in lines if l.startswith("refused")],
                [f'refused [0,"dial tcp 127.0.0.1:{dead}: connect: connection refused",""]'],
                "a refused dial: status 0 and Go's dial error")
    check.equal([l for l in lines if l.startswith("forbidden")],
                ['forbidden [403,"","no entry","text/plain"]'],
                "a refused upgrade: its status, headers and body, no error text")
    check.check("badaccept 101" in lines, "a wrong accept key does not open the session")
    check.check("scheme GoError: malformed ws or wss URL" in lines or "scheme malformed ws or wss URL" in lines,
                "only ws and wss URLs dial")
    check.equal([l for l in lines if l.startswith("arity")],
                ["arity invalid number of arguments to ws.connect"] * 3,
                "ws.connect checks its arity")
    check.check("last last argument to ws.connect must be a function" in lines,
                "the last argument must be a function")
    check.check(any(l.startswith("tags invalid ws.connect() metric tags") for l in lines),
                "invalid tags are rejected")
    check.check("compression unsupported compression algorithm 'gzip', supported algorithm is 'deflate'" in lines,
                "an unknown compression gets k6's error")
    check.check(any(l.startswith("compression permessage-deflate") for l in lines),
                "deflate, which loadgen lacks, is refused clearly instead of ignored")
    check.check("WebSocket connection failed" in r.stderr or "connection refused" in r.stderr,
                "a failed dial is logged")
    statuses = sorted(p["data"]["tags"].get("status", "-") for p in samples(r, "ws_connecting"))
    check.equal(statuses, ["-", "-", "101", "403"],
                "failed attempts are sampled too; status only when a response came back")
    r = lg.run(f"""
import ws from 'k6/ws';
export default function () {{
  try {{ ws.connect('ws://127.0.0.1:{dead}/', () => {{}}); }} catch (e) {{ console.log('thrown ' + e.message); }}
}}
""", "--throw")
    check.check(f"thrown dial tcp 127.0.0.1:{dead}: connect: connection refused" in r.console(),
                "with --throw a failed dial is an exception")
    r = lg.run(f"""
import http from 'k6/http';
import ws from 'k6/ws';
export const options = {{ throw: true }};
export default function () {{
  try {{ http.get('http://127.0.0.1:{dead}/'); }} catch (e) {{ console.log('http thrown ' + e.message); }}
  const res = http.get('http://127.0.0.1:{dead}/', {{ timeout: '1s' }}).status;
}}
""")
    check.check(any(l.startswith("http thrown ") and "connection refused" in l for l in r.console()),
                "options.throw makes a failed request an exception")
    check.check("GoError" in r.stderr and r.code == 0,
                "an uncaught one ends the iteration as a script exception, not the run")
    r = lg.run(f"""
import ws from 'k6/ws';
export default function () {{
  try {{ ws.connect('ws://127.0.0.1:{dead}/', () => {{}}); }} catch (e) {{ console.log('env thrown'); }}
}}
""", env={"K6_THROW": "true"})
    check.check("env thrown" in r.console(), "K6_THROW=true turns it on too")
    r = lg.run(f"""
import ws from 'k6/ws';
ws.connect('{srv.url("/")}', () => {{}});
export default function () {{}}
""")
    check.equal(r.code, 107, "ws.connect in the init context is a script error")
    check.check("using websockets in the init context is not supported" in r.stderr,
                "with k6's message")


def test_exceptions_and_interrupts(lg, srv, check):
    r = lg.run(f"""
import ws from 'k6/ws';
export default function () {{
  try {{
    ws.connect('{srv.url("/thrower")}', function (socket) {{
      socket.on('open', () => {{ throw new Error('handler failed'); }});
    }});
  }} catch (e) {{ console.log('caught ' + e.message); }}
  ws.connect('{srv.url("/interval")}', function (socket) {{
    let n = 0;
    socket.setInterval(() => {{ n += 1; socket.send('tick ' + n); if (n === 3) socket.close(); }}, 20);
  }});
  try {{ ws.connect('{srv.url("/")}', (s) => s.setTimeout(() => {{}}, 0)); }} catch (e) {{ console.log('zero ' + e.message); }}
}}
""")
    lines = r.console()
    check.check("caught handler failed" in lines, "a handler's exception propagates out of ws.connect")
    thrower = srv.received.get("/thrower", [])
    check.equal(thrower[-1:], [(0x8, struct.pack(">H", 1001))], "and the socket is closed with 1001")
    ticks = [f[1] for f in srv.received.get("/interval", []) if f[0] == 0x1]
    check.equal(ticks, [b"tick 1", b"tick 2", b"tick 3"], "setInterval repeats until the socket closes")
    check.check("zero setTimeout requires a >0 timeout parameter, received 0.00" in lines,
                "socket timers need a positive delay")

    # Sessions nobody closes: the silent server and a handshake that never answers. The run
    # ends at duration + gracefulStop, the iterations count as interrupted, nothing hangs.
    for path in ("/silent", "/silent-handshake"):
        t0 = time.time()
        r = lg.run(f"""
import ws from 'k6/ws';
export const options = {{ scenarios: {{ s: {{ executor: 'constant-vus', vus: 2, duration: '1s', gracefulStop: '1s' }} }} }};
export default function () {{
  ws.connect('{srv.url(path)}', (socket) => {{ socket.on('close', () => console.log('closed')); }});
}}
""")
        elapsed = time.time() - t0
        check.equal(r.code, 0, f"{path}: a session that never ends is interrupted, not an error")
        check.check(elapsed < 8, f"{path}: the run ends at duration + gracefulStop ({elapsed:.1f} s)")
        check.check(count(r, "iterations") in (None, 0), f"{path}: interrupted iterations are not counted")


def scenario_file(url, send, extra_step="", options='"vus": 2, "iterations": 6'):
    return json.dumps({
        "options": {**json.loads("{" + options + "}"),
                    "thresholds": {"ws_message_latency": ["p(95)<2000"]}},
        "metrics": {"ws_message_latency": "trend", "ws_ok": "rate"},
        "flows": {"default": [dict({
            "ws": url, "name": "acp", "headers": {"X-Api-Key": "k1"}, "send": send,
            "checks": [{"status": 101}, {"body_contains": "agent.status"}],
            "record": {"ws_message_latency": "message_latency", "ws_ok": "ok"},
        }, **json.loads("{" + extra_step + "}"))]},
    })


def test_scenario_steps(lg, servers, check):
    """WebSocket steps of scenario files: the non-JS path (issue: connect, send, expect
    messages, close, a custom ws_message_latency trend)."""
    echo, srv = servers
    r = lg.run(scenario_file(echo.url(), ["hello", {"jsonrpc": "2.0", "method": "agent.status", "id": 1}]),
               name="ws.json", json_out=True)
    check.equal(r.code, 0, "a scenario file with a WebSocket step runs clean")
    check.equal(count(r, "ws_sessions"), 6, "one session per iteration")
    check.equal((count(r, "ws_msgs_sent"), count(r, "ws_msgs_received")), (12, 12),
                "every message sent is answered")
    check.equal(len(samples(r, "ws_message_latency")), 12, "message_latency records one round trip per message")
    lat = r.metric("ws_message_latency") or {}
    check.check(0 < lat.get("avg", 0) < 1000, f"round trips are sane ({lat.get('avg')} ms)")
    check.equal((r.metric("ws_ok") or {}).get("value"), 1, "ok: opened and every message answered")
    check.equal((r.metric("checks") or {}).get("passes"), 12, "checks see status 101 and the last reply")
    tags = samples(r, "ws_connecting")[0]["data"]["tags"] if samples(r, "ws_connecting") else {}
    check.equal({k: tags.get(k) for k in ("name", "url", "status")}, {"name": "acp", "url": "acp", "status": "101"},
                "ws_* samples carry the step's name and the handshake status")
    for name in ("ws_connecting", "ws_session_duration"):
        check.equal(len(samples(r, name)), 6, f"{name}: one sample per session")

    # A silent server: each message waits `timeout` for its reply, then the session fails.
    t0 = time.time()
    r = lg.run(scenario_file(srv.url("/silent"), ["a", "b"], '"timeout": "300ms"', '"vus": 1, "iterations": 2'),
               name="ws.json")
    check.equal(r.code, 0, "unanswered messages fail the session, not the run")
    check.check(time.time() - t0 < 10, "a reply timeout ends the session")
    check.equal((r.metric("ws_ok") or {}).get("value"), 0, "ok is 0 when a reply never came")
    check.equal(count(r, "ws_msgs_received"), None, "nothing received")
    # Server faults and refused upgrades.
    for path, status in (("/close1011", 101), ("/403", 403), ("/oversized", 101)):
        r = lg.run(scenario_file(srv.url(path), ["a"], "", '"vus": 1, "iterations": 1'), name="ws.json",
                   json_out=True)
        check.equal((r.code, (r.metric("ws_ok") or {}).get("value")), (0, 0), f"{path}: the session fails")
        got = [p["data"]["tags"].get("status") for p in samples(r, "ws_sessions")]
        check.equal(got, [str(status)], f"{path}: sampled with status {status}")
    # Messages the server sends unasked: `expect` waits for them (and no round trips).
    r = lg.run(scenario_file(srv.url("/frag"), [], '"expect": 2, "checks": []', '"vus": 1, "iterations": 2'),
               name="ws.json", json_out=True)
    check.equal((r.code, (r.metric("ws_ok") or {}).get("value"), count(r, "ws_msgs_received")), (0, 1, 4),
                "expect: the server's own messages are awaited and counted")
    check.equal(len(samples(r, "ws_message_latency")), 0, "unasked messages have no round trip")
    r = lg.run(scenario_file(srv.url("/frag"), [], '"expect": 3, "timeout": "300ms", "checks": []',
                             '"vus": 1, "iterations": 1'), name="ws.json")
    check.equal((r.metric("ws_ok") or {}).get("value"), 0, "expect: a message that never comes fails the session")
    dead = free_port()
    r = lg.run(scenario_file(f"ws://127.0.0.1:{dead}/", ["a"], "", '"vus": 1, "iterations": 1'), name="ws.json",
               json_out=True)
    check.equal((r.code, count(r, "ws_sessions")), (0, 1), "a refused dial is one failed session")
    # Never answered, long timeout: the iteration is interrupted at gracefulStop.
    t0 = time.time()
    r = lg.run(scenario_file(srv.url("/silent"), ["a"], '"timeout": "60s"',
                             '"scenarios": {"s": {"executor": "constant-vus", "vus": 2, "duration": "1s", '
                             '"gracefulStop": "1s"}}'), name="ws.json")
    check.check(r.code == 0 and time.time() - t0 < 8, f"a session waiting past gracefulStop is interrupted "
                f"({time.time() - t0:.1f} s)")
    # Configuration errors.
    for doc, text in (
        ({"flows": {"default": [{"url": "http://127.0.0.1:1/", "send": ["a"]}]}},
         'step: \\"send\\" and \\"expect\\" need a \\"ws\\" step'),
        ({"flows": {"default": [{"ws": "http://127.0.0.1:1/"}]}}, "invalid WebSocket URL (ws:// or wss://)"),
        ({"metrics": {"rtt": "trend"}, "flows": {"default": [{"url": "http://127.0.0.1:1/", "record": {"rtt": "message_latency"}}]}},
         'message_latency needs a \\"ws\\" step'),
    ):
        r = lg.run(json.dumps(doc), name="ws.json")
        check.check(r.code == 104 and text in r.stderr, f"a bad WebSocket step exits 104: {text}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--backend", default="epoll")
    args = ap.parse_args()
    check = Checker(f"js-ws-{args.backend}")
    if shutil.which("websocketd") is None:
        print("websocketd is missing (scripts/install-deps.sh installs it)")
        return 1
    lg = Loadgen(args.binary, args.backend)
    srv = WsServer()
    echo = Websocketd()
    try:
        for test, target in ((test_echo_session, echo), (test_frames_and_handshake, srv),
                             (test_server_faults, srv), (test_failed_connects, srv),
                             (test_exceptions_and_interrupts, srv), (test_scenario_steps, (echo, srv))):
            started = time.time()
            test(lg, target, check)
            print(f"{test.__name__}: {time.time() - started:.1f} s", flush=True)
    finally:
        echo.close()
        srv.close()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
