#!/usr/bin/env python3
"""loadgen over TLS (https:// and wss://) against Debian's nginx, with a certificate
authority made by `openssl` at test time: a valid server (by name and by IP), an expired
certificate, one for another host, a self-signed one, a server that wants a client
certificate, a TLS 1.2-only server and a plain-HTTP port. Every check looks at what a user
sees: response fields (status, error, error_code, tls_version, timings), checks and metrics
in the summary export, the samples' tags, exit codes, and nginx's own log of resumed
sessions."""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import Checker, free_port, wait_port  # noqa: E402
from test_js import Loadgen  # noqa: E402


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(d):
    """A test CA and the certificates the servers and the client use."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
            "ca.pem", "-days", "30", "-subj", "/CN=Faultline Test CA", cwd=d)

    def leaf(name, cn, san):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
                f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)
        with open(f"{d}/{name}.ext", "w") as f:
            f.write(f"subjectAltName={san}\nextendedKeyUsage=serverAuth,clientAuth\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "30", "-extfile",
                f"{name}.ext", cwd=d)

    leaf("valid", "localhost", "DNS:localhost,IP:127.0.0.1")
    leaf("wronghost", "other.example", "DNS:other.example")
    leaf("client", "loadgen client", "DNS:client")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "self.key", "-out",
            "self.pem", "-days", "30", "-subj", "/CN=localhost", "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1", cwd=d)
    # Dates in the past need `openssl ca` (x509 -req only counts days from now).
    os.makedirs(f"{d}/ca")
    open(f"{d}/ca/index.txt", "w").close()
    with open(f"{d}/ca/serial", "w") as f:
        f.write("01\n")
    with open(f"{d}/ca.cnf", "w") as f:
        f.write("[ca]\ndefault_ca = test\n[test]\ndir = ca\ndatabase = ca/index.txt\n"
                "serial = ca/serial\nnew_certs_dir = ca\ndefault_md = sha256\npolicy = any\n"
                "copy_extensions = copy\n[any]\ncommonName = supplied\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "expired.key", "-out",
            "expired.csr", "-subj", "/CN=localhost", "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1", cwd=d)
    openssl("ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key",
            "-startdate", "20200101000000Z", "-enddate", "20200201000000Z", "-in",
            "expired.csr", "-out", "expired.pem", "-notext", cwd=d)


class Servers:
    """nginx with one TLS server per case, and websocketd echoing behind it (wss)."""

    NAMES = ["valid", "expired", "wronghost", "self", "mtls", "tls12", "plain"]

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="loadgen-tls-")
        d = self.dir
        make_pki(d)
        os.makedirs(f"{d}/www")
        with open(f"{d}/www/index.html", "w") as f:
            f.write("hello over tls\n")
        self.port = {name: free_port() for name in self.NAMES}
        self.ws_port = free_port()
        self.ws = subprocess.Popen(["websocketd", f"--port={self.ws_port}", "--address=127.0.0.1",
                                    "cat"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def tls(name, cert, extra=""):
            return (f"server {{ listen 127.0.0.1:{self.port[name]} ssl; "
                    f"ssl_certificate {d}/{cert}.pem; ssl_certificate_key {d}/{cert}.key; "
                    f"{extra} }}")
        user = "user root;" if os.geteuid() == 0 else ""
        valid_extra = (
            'location /close { keepalive_timeout 0; return 200 "closing\\n"; } '
            f"location /ws {{ proxy_pass http://127.0.0.1:{self.ws_port}; proxy_http_version 1.1; "
            "proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection upgrade; }")
        self_extra = f"location /ws {{ proxy_pass http://127.0.0.1:{self.ws_port}; }}"
        mtls_extra = (f"ssl_verify_client on; ssl_client_certificate {d}/ca.pem; "
                      'location / { return 200 "client $ssl_client_s_dn"; }')
        conf = f"""
{user}
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
  log_format tls '$uri $ssl_protocol $ssl_session_reused';
  access_log {d}/access.log tls;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  root {d}/www;
  ssl_protocols TLSv1.2 TLSv1.3;
  {tls("valid", "valid", valid_extra)}
  {tls("expired", "expired")}
  {tls("wronghost", "wronghost")}
  {tls("self", "self", self_extra)}
  {tls("mtls", "valid", mtls_extra)}
  {tls("tls12", "valid", "ssl_protocols TLSv1.2;")}
  server {{ listen 127.0.0.1:{self.port["plain"]}; }}
}}
"""
        with open(f"{d}/nginx.conf", "w") as f:
            f.write(conf)
        self.nginx = subprocess.Popen(["nginx", "-c", f"{d}/nginx.conf", "-p", d],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for port in [*self.port.values(), self.ws_port]:
            wait_port(port)

    def url(self, name, path="/", scheme="https", host="localhost"):
        return f"{scheme}://{host}:{self.port[name]}{path}"

    def access_log(self):
        with open(f"{self.dir}/access.log") as f:
            return [line.split() for line in f if line.strip()]

    def stop(self):
        for p in (self.nginx, self.ws):
            p.terminate()
            p.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def checks_of(r):
    """{check name: [passes, fails]} from the summary export."""
    out = {}

    def walk(group):
        for c in group.get("checks", {}).values():
            out[c["name"]] = [c["passes"], c["fails"]]
        for g in group.get("groups", {}).values():
            walk(g)
    if r.export:
        walk(r.export["root_group"])
    return out


def all_passed(check, r, what, expected):
    """Every check passed, and there are as many as the script declares."""
    got = checks_of(r)
    failed = sorted(name for name, (_, fails) in got.items() if fails)
    ok = check.check(r.code == 0 and not failed and len(got) == expected,
                     f"{what}: exit {r.code}, {len(got)}/{expected} checks, failed: {failed}\n"
                     f"stderr:\n{r.stderr[-3000:]}")
    return ok


def test_https_and_errors(lg, srv, check, env):
    """Requests to each server from a script: what the Response says, k6's error codes."""
    r = lg.run(f"""
import http from 'k6/http';
import ws from 'k6/ws';
import {{ check }} from 'k6';
export const options = {{ iterations: 1 }};
export default function () {{
  const first = http.get('{srv.url("valid")}');
  const again = http.get('{srv.url("valid")}');
  check(first, {{
    'valid: 200': (r) => r.status === 200 && r.body === 'hello over tls\\n',
    'valid: tls1.3': (r) => r.tls_version === 'tls1.3',
    'valid: a TLS 1.3 suite': (r) => /^TLS_(AES|CHACHA20)_/.test(r.tls_cipher_suite),
    'valid: handshake timed': (r) => r.timings.tls_handshaking > 0 &&
        r.timings.blocked >= r.timings.tls_handshaking + r.timings.connecting - 0.001,
    'valid: proto': (r) => r.proto === 'HTTP/1.1',
  }});
  check(again, {{
    'reused connection: no handshake': (r) => r.status === 200 && r.timings.tls_handshaking === 0
        && r.timings.connecting === 0 && r.tls_version === 'tls1.3',
  }});
  check(http.get('{srv.url("valid", host="127.0.0.1")}'), {{
    'IP address in the certificate': (r) => r.status === 200,
  }});
  check(http.get('{srv.url("expired")}'), {{
    'expired: 1000': (r) => r.status === 0 && r.error_code === 1000,
    'expired: Go text': (r) => r.error.startsWith(
        'x509: certificate has expired or is not yet valid: current time ') &&
        r.error.endsWith(' is after 2020-02-01T00:00:00Z'),
  }});
  check(http.get('{srv.url("wronghost")}'), {{
    'wrong host: 1311': (r) => r.error_code === 1311 &&
        r.error === "x509: certificate doesn't match hostname",
  }});
  check(http.get('{srv.url("self")}'), {{
    'self-signed: 1310': (r) => r.error_code === 1310 && r.error === 'x509: unknown authority',
  }});
  check(http.get('{srv.url("plain")}'), {{
    'plain HTTP port: 1301': (r) => r.error_code === 1301 &&
        r.error === 'tls: first record does not look like a TLS handshake',
  }});
  check(http.get('{srv.url("tls12")}'), {{
    'TLS 1.2 server': (r) => r.status === 200 && r.tls_version === 'tls1.2' &&
        r.tls_cipher_suite.startsWith('TLS_ECDHE_'),
  }});
  check(http.get('{srv.url("mtls")}'), {{
    'client certificate missing: 400': (r) => r.status === 400 && r.error_code === 1400,
  }});
  check(http.get('{srv.url("valid", scheme="http")}'), {{
    'http:// to a TLS port: 400 from nginx': (r) => r.status === 400 && r.tls_version === '',
  }});
  const messages = [];
  const res = ws.connect('{srv.url("valid", "/ws", scheme="wss")}', {{}}, (socket) => {{
    socket.on('open', () => socket.send('hello wss'));
    socket.on('message', (m) => {{ messages.push(m); socket.close(); }});
  }});
  check(res, {{ 'wss: 101 and echo': (r) => r.status === 101 && messages[0] === 'hello wss' }});
  const bad = ws.connect('{srv.url("self", "/ws", scheme="wss")}', {{}}, () => {{}});
  check(bad, {{ 'wss self-signed: refused': (r) => r.status === 0 &&
      r.error === 'x509: unknown authority' }});
}}
""", json_out=True, env=env)
    all_passed(check, r, "https responses and errors", 17)
    # The samples: tls_version tags on TLS responses, none on failures; handshake trend.
    hs = [p for p in r.points if p.get("type") == "Point" and
          p["metric"] == "http_req_tls_handshaking"]
    check.equal(len(hs), 10, "http_req_tls_handshaking samples (one per request)")
    versions = sorted({p["data"]["tags"].get("tls_version", "") for p in hs})
    check.equal(versions, ["", "tls1.2", "tls1.3"], "tls_version tag values")
    failed = [p["data"]["tags"] for p in hs if p["data"]["tags"].get("status") == "0"]
    check.equal(sorted(t["error_code"] for t in failed), ["1000", "1301", "1310", "1311"],
                "error_code tags of the failed handshakes")
    check.check(all("tls_version" not in t for t in failed), "no tls_version on failures")
    trend = (r.export or {}).get("metrics", {}).get("http_req_tls_handshaking", {})
    check.check(trend.get("max", 0) > 0, f"handshake trend in the export: {trend}")
    ws_sessions = (r.export or {}).get("metrics", {}).get("ws_sessions", {}).get("count")
    check.equal(ws_sessions, 2, "ws_sessions")


def test_verification_switches(lg, srv, check, env):
    """insecureSkipTLSVerify (option, flag, environment) and the system store."""
    script = f"""
import http from 'k6/http';
import {{ check }} from 'k6';
export const options = {{ iterations: 1 OPTIONS }};
export default function () {{
  for (const name of ['expired', 'wronghost', 'self']) {{
    const url = {{ expired: '{srv.url("expired")}', wronghost: '{srv.url("wronghost")}',
                  self: '{srv.url("self")}' }}[name];
    check(http.get(url), {{ [name + ': accepted']: (r) => r.status === 200 }});
  }}
}}
"""
    r = lg.run(script.replace("OPTIONS", ", insecureSkipTLSVerify: true"), env=env)
    all_passed(check, r, "insecureSkipTLSVerify option", 3)
    r = lg.run(script.replace("OPTIONS", ""), "--insecure-skip-tls-verify", env=env)
    all_passed(check, r, "--insecure-skip-tls-verify", 3)
    r = lg.run(script.replace("OPTIONS", ""), env={**env, "K6_INSECURE_SKIP_TLS_VERIFY": "true"})
    all_passed(check, r, "K6_INSECURE_SKIP_TLS_VERIFY", 3)
    # Without SSL_CERT_FILE the system's store decides: it does not know the test CA.
    r = lg.run(f"""
import http from 'k6/http';
import {{ check }} from 'k6';
export const options = {{ iterations: 1 }};
export default function () {{
  check(http.get('{srv.url("valid")}'), {{ 'system store: unknown CA': (r) =>
      r.error_code === 1310 }});
}}
""", env={"SSL_CERT_FILE": ""} if "SSL_CERT_FILE" in os.environ else None)
    all_passed(check, r, "the system store", 1)


def test_client_certificates_and_versions(lg, srv, check, env):
    """tlsAuth with open()'d PEM files, tlsVersion, tlsCipherSuites, and bad values."""
    d = srv.dir
    r = lg.run(f"""
import http from 'k6/http';
import {{ check }} from 'k6';
export const options = {{
  iterations: 1,
  tlsAuth: [{{ domains: ['localhost'], cert: open('{d}/client.pem'), key: open('{d}/client.key') }}],
}};
export default function () {{
  check(http.get('{srv.url("mtls")}'), {{
    'client certificate sent': (r) => r.status === 200 && r.body === 'client CN=loadgen client',
  }});
}}
""", env=env)
    all_passed(check, r, "tlsAuth", 1)
    r = lg.run(f"""
import http from 'k6/http';
import {{ check }} from 'k6';
export const options = {{ iterations: 1, tlsVersion: 'tls1.2',
  tlsCipherSuites: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'] }};
export default function () {{
  check(http.get('{srv.url("valid")}'), {{
    'pinned to tls1.2 and one suite': (r) => r.tls_version === 'tls1.2' &&
        r.tls_cipher_suite === 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  }});
}}
""", env=env)
    all_passed(check, r, "tlsVersion and tlsCipherSuites", 1)
    r = lg.run(f"""
import http from 'k6/http';
import {{ check }} from 'k6';
export const options = {{ iterations: 1, tlsVersion: {{ min: 'tls1.3', max: 'tls1.3' }} }};
export default function () {{
  check(http.get('{srv.url("tls12")}'), {{
    'server without 1.3: remote error': (r) => r.error_code === 1010 &&
        r.error === 'remote error: tls: protocol version not supported',
  }});
}}
""", env=env)
    all_passed(check, r, "tlsVersion min", 1)
    bad = {
        "tlsVersion: 'tls9'": "unknown TLS version 'tls9'",
        "tlsCipherSuites: ['TLS_NOPE']": "unknown cipher suite: TLS_NOPE",
        "tlsAuth: [{ domains: ['x'], cert: 'not pem', key: 'not pem' }]":
            "tls: failed to find any PEM data in certificate input",
        f"tlsAuth: [{{ domains: ['x'], cert: open('{d}/client.pem'), "
        f"key: open('{d}/valid.key') }}]": "tls: private key does not match public key",
    }
    for option, message in bad.items():
        r = lg.run(f"export const options = {{ {option} }};\nexport default function () {{}}\n",
                   env=env)
        check.check(r.code == 104 and message in r.stderr,
                    f"{option}: exit {r.code}, stderr {r.stderr[-500:]!r}")


def test_session_reuse(lg, srv, check, env):
    """A VU's reconnects resume its TLS session (nginx logs 'r'), and the handshake is
    measured on each new connection."""
    url = srv.url("valid", "/close")
    before = len(srv.access_log())
    r = lg.run(f"""
import http from 'k6/http';
import {{ check }} from 'k6';
export const options = {{ vus: 1, iterations: 6 }};
export default function () {{
  check(http.get('{url}'), {{ 'new connection, handshake measured': (r) =>
      r.status === 200 && r.timings.tls_handshaking > 0 }});
}}
""", env=env)
    all_passed(check, r, "reconnects", 1)
    lines = [line for line in srv.access_log()[before:] if line[0] == "/close"]
    reused = [line[2] for line in lines]
    check.equal(reused, [".", "r", "r", "r", "r", "r"], "nginx's $ssl_session_reused per request")


def test_wire_bytes(lg, srv, check, env):
    """data_sent and data_received count the bytes on the wire, as k6 does: over TLS the
    handshake (the server's certificate) and the records' overhead are in them."""
    def one(url):
        r = lg.run(f"""
import http from 'k6/http';
export const options = {{ iterations: 1 }};
export default function () {{ http.get('{url}'); }}
""", env=env)
        m = (r.export or {}).get("metrics", {})
        return m.get("data_sent", {}).get("count", 0), m.get("data_received", {}).get("count", 0)
    plain = one(srv.url("plain", scheme="http"))
    tls = one(srv.url("valid"))
    check.check(plain[0] > 50 and plain[1] > 100, f"plain bytes {plain}")
    # A full handshake: the client hello (~250 bytes) and a 2048-bit certificate (~1 KB).
    check.check(tls[0] > plain[0] + 200 and tls[1] > plain[1] + 800,
                f"TLS bytes {tls} against plain {plain}")


def test_scenario_file(lg, srv, check, env):
    """A scenario file's https and wss steps, and a short keep-alive load."""
    scenario = {
        "options": {"scenarios": {"tls": {"executor": "constant-vus", "vus": 4,
                                          "duration": "2s"}},
                    "thresholds": {"http_req_failed": ["rate==0"],
                                   "checks": ["rate==1"]}},
        "flows": {"default": [
            {"method": "GET", "url": srv.url("valid"), "checks": [{"status": 200},
                                                                    {"body_contains": "tls"}]},
            {"ws": srv.url("valid", "/ws", scheme="wss"), "send": ["ping over wss"],
             "checks": [{"status": 101}, {"body_contains": "ping over wss"}]},
        ]},
    }
    r = lg.run(json.dumps(scenario), name="tls.json", env=env)
    m = (r.export or {}).get("metrics", {})
    reqs = m.get("http_reqs", {}).get("count", 0)
    check.check(r.code == 0 and reqs >= 20, f"scenario file over TLS: exit {r.code}, {reqs} "
                                            f"requests\n{r.stderr[-2000:]}")
    check.check(m.get("ws_sessions", {}).get("count", 0) >= 20, "wss sessions in the scenario")
    # 4 VUs: one handshake each on the kept-alive https connection, the rest reused.
    hs = m.get("http_req_tls_handshaking", {})
    check.check(hs.get("max", 0) > 0 and hs.get("med", 1) == 0,
                f"handshakes only on new connections: {hs}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--backend", default="auto")
    args = ap.parse_args()
    check = Checker(f"tls-{args.backend}")
    srv = Servers()
    lg = Loadgen(args.binary, args.backend)
    env = {"SSL_CERT_FILE": f"{srv.dir}/ca.pem"}
    try:
        test_https_and_errors(lg, srv, check, env)
        test_verification_switches(lg, srv, check, env)
        test_client_certificates_and_versions(lg, srv, check, env)
        test_session_reuse(lg, srv, check, env)
        test_wire_bytes(lg, srv, check, env)
        test_scenario_file(lg, srv, check, env)
    finally:
        srv.stop()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
