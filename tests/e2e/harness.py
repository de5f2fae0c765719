"""Shared helpers for the end-to-end tests: start the real faultline-proxy binary, talk
HTTP to its admin API, and run small TCP servers on 127.0.0.1."""

import http.client
import json
import os
import select
import socket
import subprocess
import threading
import time


class Proxy:
    """A running faultline-proxy process."""

    def __init__(self, binary, backend, port, args=(), env=None, log_path=None):
        self.port = port
        self.binary = binary
        self.backend = backend
        full_env = dict(os.environ)
        full_env.setdefault("LOG_LEVEL", "warn")
        if env:
            full_env.update(env)
        log_path = log_path or os.environ.get("FAULTLINE_TEST_LOG")
        self.log = open(log_path or os.devnull, "ab")
        cmd = [binary, "-host", "127.0.0.1", "-port", str(port), "-backend", backend, *args]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=full_env)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"faultline-proxy exited early with {self.proc.returncode}")
            try:
                status, _, _ = self.request("GET", "/version")
                if status == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("faultline-proxy did not start")

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        hdrs = {"User-Agent": "curl/7.88.1"}
        if headers:
            hdrs.update(headers)
        hdrs = {k: v for k, v in hdrs.items() if v is not None}
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        conn.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        data = body.encode() if isinstance(body, str) else body
        if data is not None:
            conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data)
        resp = conn.getresponse()
        payload = resp.read()
        headers_out = resp.getheaders()
        conn.close()
        return resp.status, headers_out, payload

    def json(self, method, path, body=None):
        status, _, payload = self.request(method, path, body)
        return status, (json.loads(payload) if payload.strip() else None)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                if os.environ.get("FAULTLINE_TEST_GDB"):
                    os.system(f"gdb -p {self.proc.pid} -batch -ex 'thread apply all bt 12' "
                              f"2>/dev/null | grep -E '^#|^Thread' >&2")
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


class EchoServer:
    """A TCP echo server on `host` (127.0.0.1 unless told; port 0 picks a free one).
    Subclasses change what a connection gets by overriding `_serve(conn)` (one thread per
    connection) and see each accept through `on_accept()`."""

    def __init__(self, port=0, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(4096)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.on_accept()
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def on_accept(self):
        pass

    @staticmethod
    def _serve(conn):
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                conn.sendall(data)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stopped = True
        self.sock.close()


def connect(port, timeout=10):
    """A client socket to 127.0.0.1:port with Nagle off."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(sock, n, timeout=10):
    """Up to n bytes: fewer only if the peer closed first."""
    sock.settimeout(timeout)
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def read_outcome(sock, timeout=3.0):
    """What one read sees: 'EOF', 'RST', 'TIMEOUT' or 'DATA:<text>'."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(65536)
    except socket.timeout:
        return "TIMEOUT"
    except ConnectionResetError:
        return "RST"
    return "EOF" if not data else "DATA:" + data.decode(errors="replace")


def run_on_tty(argv, env, timeout=60):
    """Runs argv with stdout on a pseudo-terminal (stderr on a pipe), as a user's terminal
    would; returns (stdout bytes, stderr bytes, exit code)."""
    master, slave = os.openpty()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=subprocess.PIPE, env=env)
    os.close(slave)
    out = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    err = proc.stderr.read()
    proc.wait(timeout)
    return out, err, proc.returncode


def stop_process(proc, timeout=10):
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def wait_port(port, timeout=10):
    """Waits until something accepts connections on 127.0.0.1:port."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Checker:
    """Counts checks and failures; prints a closing 'N passed, N failed' line."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL [{self.name}] {what}", flush=True)
        return ok

    def equal(self, actual, expected, what):
        return self.check(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")

    def finish(self):
        print(f"{self.name}: {self.passed} passed, {self.failed} failed", flush=True)
        return 0 if self.failed == 0 and self.passed > 0 else 1


class HttpTestServer:
    """A small HTTP/1.1 server on 127.0.0.1 for protocol behaviour nginx cannot show:
    /echo (the request as JSON), /status/N, /redirect/N (N hops to /redirect/0),
    /delay/MS, /bytes/N, /utf8 (a UTF-8 body), /notutf8 (one byte that is not UTF-8), /json,
    /headers (repeated response headers),
    /cookies (the Cookie header it got, as JSON), /cookies/set?NAME=VALUE&... (sets each
    with Path=/), /cookies/raw?h=LINE&h=... (each LINE sent as a Set-Cookie header as it is),
    /cookies/redirect?NAME=VALUE&...&to=PATH (a 302 to PATH, default /cookies, that sets
    cookies), /capture/KEY (keeps the request in `captured[KEY]` and answers its body)."""

    def __init__(self):
        import http.server
        import json as _json
        import urllib.parse

        outer = self
        self.captured = {}  # KEY -> {"method", "headers" [[name, value], ...], "body" bytes}

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts[0] == "echo":
                    payload = {"method": self.command, "path": self.path,
                               "headers": {k: v for k, v in self.headers.items()},
                               "body": body.decode(errors="replace")}
                    self.reply(200, _json.dumps(payload).encode(),
                               [("Content-Type", "application/json")])
                elif parts[0] == "status":
                    self.reply(int(parts[1]), b"status " + parts[1].encode())
                elif parts[0] == "redirect":
                    n = int(parts[1])
                    if n <= 0:
                        self.reply(200, b"arrived")
                    else:
                        self.reply(302, b"", [("Location", f"/redirect/{n - 1}")])
                elif parts[0] == "delay":
                    time.sleep(int(parts[1]) / 1000)
                    self.reply(200, b"late")
                elif parts[0] == "bytes":
                    self.reply(200, b"x" * int(parts[1]))
                elif parts[0] == "utf8":
                    self.reply(200, "ascii first, then héllo €😀".encode(),
                               [("Content-Type", "text/plain; charset=utf-8")])
                elif parts[0] == "notutf8":
                    self.reply(200, b"abcdefghij\xffxyz")
                elif parts[0] == "json":
                    self.reply(200, b'{"ok":true,"count":2,"items":[{"id":1,"name":"a"},'
                                    b'{"id":2,"name":"b"}],"nested":{"deep":{"value":42}}}',
                               [("Content-Type", "application/json")])
                elif parts[0] == "headers":
                    self.reply(200, b"h", [("X-Multi", "one"), ("X-Multi", "two"),
                                           ("x-lower-case", "yes")])
                elif parts[0] == "cookies":
                    self.cookies(parts[1] if len(parts) > 1 else "")
                elif parts[0] == "capture":
                    outer.captured[parts[1] if len(parts) > 1 else ""] = {
                        "method": self.command, "headers": list(self.headers.items()),
                        "body": body}
                    self.reply(200, body, [("Content-Type", "application/octet-stream")])
                else:
                    self.reply(404, b"not found")

            def cookies(self, action):
                query = urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query,
                                               keep_blank_values=True)
                lines = self.headers.get_all("Cookie") or []
                pairs = []
                for line in lines:
                    for item in line.split(";"):
                        item = item.strip()
                        if item:
                            name, _, value = item.partition("=")
                            pairs.append([name, value])
                got = _json.dumps({"cookies": pairs, "header": "; ".join(lines) if lines else None})
                json_type = ("Content-Type", "application/json")
                if action == "":
                    self.reply(200, got.encode(), [json_type])
                elif action == "set":
                    sets = [("Set-Cookie", f"{k}={v}; Path=/") for k, v in query]
                    self.reply(200, got.encode(), sets + [json_type])
                elif action == "raw":
                    sets = [("Set-Cookie", v) for k, v in query if k == "h"]
                    self.reply(200, got.encode(), sets + [json_type])
                elif action == "redirect":
                    to = next((v for k, v in query if k == "to"), "/cookies")
                    sets = [("Set-Cookie", f"{k}={v}; Path=/") for k, v in query if k != "to"]
                    self.reply(302, b"", sets + [("Location", to)])
                else:
                    self.reply(404, b"not found")

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = handle_any

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 1024

            def handle_error(self, request, client_address):
                pass  # clients that time out and leave are part of the tests

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
