#!/usr/bin/env python3
"""Builds docker/Dockerfile's two images with podman and runs them as users do: the proxy
image as a drop-in for ghcr.io/shopify/toxiproxy (published API port, proxies created through
the API and from a -config file, toxics, /toxiproxy-cli, the health check, LOG_LEVEL, SIGTERM,
io_uring blocked by the engine's seccomp profile), and loadgen's image answering as k6 against
a target behind the proxy container.

Usage: test_images.py [--short] [--keep-images] [--base-only]
  --short         the proxy image only (CI's form); the full form adds loadgen's image
  --base-only     only make sure the base image exists

No registry is reachable here, so the base image the Dockerfile names (debian:bookworm-slim)
is made locally with debootstrap from Debian's mirror and imported under that name, unless the
engine already has it. Podman's settings for this machine (runc, ulimits the sandbox allows)
live in a containers.conf of the run's own. Every container runs on a network of the test's
own; upstream servers listen on that network's gateway address, so traffic never leaves the
machine."""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
from harness import Checker, EchoServer, free_port  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BASE_IMAGE = "docker.io/library/debian:bookworm-slim"
PROXY_IMAGE = "localhost/faultline-proxy:test"
LOADGEN_IMAGE = "localhost/faultline-loadgen:test"
TAG = f"fltest{os.getpid()}"

check = Checker("container images")


def podman(*args, timeout=120, check_rc=True, stdin=None):
    proc = subprocess.run(["podman", *args], input=stdin, capture_output=True, timeout=timeout)
    if check_rc and proc.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)} exited {proc.returncode}:\n"
                           + proc.stderr.decode(errors="replace")[-3000:])
    return proc


def write_containers_conf(directory):
    """runc (crun is not installed) and ulimits this sandbox lets runc set: podman's default
    asks for more processes than the hard limit allows."""
    nofile = subprocess.run(["sh", "-c", "ulimit -Hn"], capture_output=True, text=True).stdout
    nofile = nofile.strip()
    nofile = "65536" if nofile in ("", "unlimited") else nofile
    path = os.path.join(directory, "containers.conf")
    with open(path, "w") as f:
        f.write("[containers]\n"
                f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc=4096:4096"]\n'
                "[engine]\n"
                'runtime = "runc"\n')
    os.environ["CONTAINERS_CONF"] = path


def ensure_base_image(workdir):
    if podman("image", "exists", BASE_IMAGE, check_rc=False).returncode == 0:
        print(f"base image {BASE_IMAGE}: already present", flush=True)
        return
    mirror = os.environ.get("FAULTLINE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
    rootfs = os.path.join(workdir, "rootfs")
    started = time.time()
    subprocess.run(["debootstrap", "--variant=minbase", "bookworm", rootfs, mirror],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
    # What the slim image leaves out: documentation, manuals, translations, package caches.
    for sub in ("usr/share/doc", "usr/share/man", "usr/share/locale", "var/cache/apt/archives",
                "var/lib/apt/lists"):
        path = os.path.join(rootfs, sub)
        for entry in os.listdir(path):
            target = os.path.join(path, entry)
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target)
            else:
                os.remove(target)
    tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
    subprocess.run(["podman", "import", "-q", "-", BASE_IMAGE], stdin=tar.stdout, check=True,
                   stdout=subprocess.DEVNULL, timeout=300)
    tar.wait()
    shutil.rmtree(rootfs)
    print(f"base image {BASE_IMAGE}: debootstrap + import in {time.time() - started:.0f} s",
          flush=True)


def build(image, target):
    started = time.time()
    args = ["build", "--format", "docker", "--pull=never", "-f", "docker/Dockerfile", "-t", image]
    if target:
        args += ["--target", target]
    proc = subprocess.run(["podman", *args, "."], cwd=ROOT, capture_output=True, timeout=3600)
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout.decode(errors="replace")[-6000:])
        sys.stdout.write(proc.stderr.decode(errors="replace")[-3000:])
        raise RuntimeError(f"building {image} failed")
    size = int(podman("image", "inspect", "--format", "{{.Size}}", image).stdout)
    print(f"image {image}: built in {time.time() - started:.0f} s, {size / 1e6:.1f} MB",
          flush=True)
    return proc.stdout.decode(errors="replace")


def check_context_cache():
    """.dockerignore keeps build trees, tests, docs and logs out of the build context: new
    files there leave the sources' COPY (and the compile after it) cached."""
    probes = [os.path.join(ROOT, d, f"context-probe-{os.getpid()}")
              for d in ("build", "build-asan", "tests", "docs", "scripts")]
    probes.append(os.path.join(ROOT, f"context-probe-{os.getpid()}.log"))
    made = []
    try:
        for probe in probes:
            if os.path.isdir(os.path.dirname(probe)):
                with open(probe, "w") as f:
                    f.write(str(time.time()))
                made.append(probe)
        out = build(PROXY_IMAGE, "proxy")
    finally:
        for probe in made:
            os.remove(probe)
    after_copy = out.split("COPY . .", 1)[-1].split("STEP", 1)[0]
    check.check("Using cache" in after_copy,
                f"files in {len(made)} ignored places leave the build cached:\n{out[-1500:]}")


def http(method, port, path, body=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def wait_api(port, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            return http("GET", port, "/version", timeout=2)
        except (OSError, urllib.error.URLError):
            time.sleep(0.2)
    return None, ""


class HttpServer:
    """A tiny HTTP target (GET / answers "ok") on the gateway address, for loadgen."""

    def __init__(self, address):
        import http.server

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = http.server.ThreadingHTTPServer((address, 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def echo_round_trip(port, payload=b"faultline", timeout=10):
    """Seconds for one echo through 127.0.0.1:port, or None if the bytes did not come back."""
    started = time.time()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        got = b""
        while len(got) < len(payload):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    return time.time() - started if got == payload else None


def echo_round_trip_retry(port, seconds=10):
    """The first echo through a freshly published port: podman's port forwarding may take a
    moment to appear."""
    deadline = time.time() + seconds
    while True:
        try:
            return echo_round_trip(port)
        except OSError:
            if time.time() > deadline:
                return None
            time.sleep(0.2)


def run_proxy(name, network, ports, args=(), env=None, extra=()):
    cmd = ["run", "-d", "--name", name, "--network", network]
    for host_port, container_port in ports:
        cmd += ["-p", f"127.0.0.1:{host_port}:{container_port}"]
    for key, value in (env or {}).items():
        cmd += ["-e", f"{key}={value}"]
    cmd += [*extra, PROXY_IMAGE, *args]
    podman(*cmd)


def logs(name):
    proc = podman("logs", name, check_rc=False)
    return (proc.stdout + proc.stderr).decode(errors="replace")


def remove(name):
    podman("rm", "-f", "-t", "2", name, check_rc=False, timeout=60)


def proxy_checks(network, gateway, workdir):
    echo = EchoServer(host=gateway)
    fallback_line = "io_uring unavailable, using epoll"

    # 1. Default start, as `docker run -p 8474:8474 ghcr.io/shopify/toxiproxy` does; podman's
    # default seccomp profile, like Docker's, does not allow io_uring.
    name = f"{TAG}-default"
    api, listen = free_port(), free_port()
    run_proxy(name, network, [(api, 8474), (listen, 26379)])
    try:
        status, body = wait_api(api)
        check.equal(status, 200, "GET /version of the default container")
        check.check(json.loads(body or "{}").get("version", "").startswith("2."),
                    f"/version names a toxiproxy 2.x version: {body!r}")
        time.sleep(0.5)
        text = logs(name)
        check.equal(text.count(fallback_line), 1, "the epoll fallback is logged once")
        check.check("Starting Toxiproxy HTTP server" in text, "info lines at the default LOG_LEVEL")

        status, body = http("POST", api, "/proxies", {
            "name": "redis", "listen": "0.0.0.0:26379", "upstream": f"{gateway}:{echo.port}"})
        check.equal(status, 201, f"POST /proxies through the published port ({body})")
        plain = echo_round_trip_retry(listen)
        check.check(plain is not None, "bytes pass through the proxy in the container")
        status, body = http("POST", api, "/proxies/redis/toxics",
                            {"type": "latency", "stream": "downstream",
                             "attributes": {"latency": 400}})
        check.equal(status, 200, f"adding a latency toxic ({body})")
        slow = echo_round_trip(listen)
        check.check(slow is not None and slow >= 0.4,
                    f"the 400 ms latency toxic delays the echo (took {slow}, without: {plain})")

        proc = podman("exec", name, "/toxiproxy-cli", "list", check_rc=False)
        out = proc.stdout.decode()
        # As Toxiproxy (Go) reports a listener on 0.0.0.0: "[::]:26379".
        check.check(proc.returncode == 0 and "redis" in out and "[::]:26379" in out,
                    f"/toxiproxy-cli list inside the container: {out!r}")
        proc = podman("exec", name, "/toxiproxy-cli", "inspect", "redis", check_rc=False)
        check.check("latency" in proc.stdout.decode(), "/toxiproxy-cli inspect shows the toxic")

        # The image's health check, and the same command failing when no API answers.
        proc = podman("healthcheck", "run", name, check_rc=False)
        check.equal(proc.returncode, 0, "podman healthcheck run on a healthy container")
        proc = podman("exec", "-e", "TOXIPROXY_URL=http://127.0.0.1:1", name,
                      "/toxiproxy-cli", "list", check_rc=False)
        check.equal(proc.returncode, 1, "the health check command fails when no API answers")
        inspect = json.loads(podman("image", "inspect", PROXY_IMAGE).stdout)[0]
        config = inspect.get("Config", {})
        check.equal(config.get("Entrypoint"), ["/toxiproxy"], "ENTRYPOINT")
        check.equal(config.get("Cmd"), ["-host=0.0.0.0"], "CMD")
        check.check("LOG_LEVEL=info" in config.get("Env", []), "LOG_LEVEL=info in the image")
        check.check("8474/tcp" in config.get("ExposedPorts", {}), "port 8474 exposed")

        # SIGTERM (docker stop) ends the server at once and cleanly.
        started = time.time()
        podman("stop", "-t", "10", name)
        took = time.time() - started
        state = json.loads(podman("inspect", name).stdout)[0]["State"]
        check.check(took < 5, f"docker stop returns within 5 s (took {took:.1f} s)")
        check.check(state.get("ExitCode") in (0, 143),
                    f"exit status after SIGTERM: {state.get('ExitCode')}")
    finally:
        remove(name)

    # 2. Testcontainers' form: the command replaced by -host and -config, the file copied into
    # the container before it starts.
    config_path = os.path.join(workdir, "tc-toxiproxy.json")
    with open(config_path, "w") as f:
        json.dump([{"name": "postgres", "listen": "0.0.0.0:25432",
                    "upstream": f"{gateway}:{echo.port}", "enabled": True},
                   {"name": "idle", "listen": "0.0.0.0:25433",
                    "upstream": f"{gateway}:{echo.port}", "enabled": False}], f)
    name = f"{TAG}-tc"
    api, listen = free_port(), free_port()
    podman("create", "--name", name, "--network", network, "-p", f"127.0.0.1:{api}:8474",
           "-p", f"127.0.0.1:{listen}:25432", PROXY_IMAGE, "-host=0.0.0.0",
           "-config=/tmp/tc-toxiproxy.json")
    try:
        podman("cp", config_path, f"{name}:/tmp/tc-toxiproxy.json")
        podman("start", name)
        status, _ = wait_api(api)
        status, body = http("GET", api, "/proxies")
        proxies = json.loads(body) if status == 200 else {}
        check.equal(sorted(proxies), ["idle", "postgres"], "proxies from the copied -config file")
        check.equal(proxies.get("idle", {}).get("enabled"), False, "enabled:false kept")
        check.check(echo_round_trip_retry(listen) is not None, "traffic through a config proxy")
    finally:
        remove(name)

    # 3. A config file mounted into the container, LOG_LEVEL, and io_uring where the engine's
    # seccomp profile allows it.
    name = f"{TAG}-mount"
    api, listen = free_port(), free_port()
    os.chmod(config_path, 0o644)
    run_proxy(name, network, [(api, 8474), (listen, 25432)],
              args=["-host=0.0.0.0", "-config=/config/toxiproxy.json"],
              env={"LOG_LEVEL": "warn"},
              extra=["-v", f"{config_path}:/config/toxiproxy.json:ro",
                     "--security-opt", "seccomp=unconfined"])
    try:
        status, body = wait_api(api)
        status, body = http("GET", api, "/proxies/postgres")
        check.equal(status, 200, "a proxy from the mounted -config file")
        check.check(echo_round_trip_retry(listen) is not None,
                    "traffic through the mounted config's proxy")
        text = logs(name)
        check.check(fallback_line not in text, "io_uring used when seccomp allows it")
        check.check("Starting Toxiproxy" not in text,
                    f"LOG_LEVEL=warn leaves out the info lines: {text!r}")
    finally:
        remove(name)
    echo.close()


def loadgen_checks(network, gateway):
    target = HttpServer(gateway)
    name = f"{TAG}-for-loadgen"
    run_proxy(name, network, [])
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            proc = podman("exec", name, "/toxiproxy-cli", "create", "-l", "0.0.0.0:8080",
                          "-u", f"{gateway}:{target.port}", "web", check_rc=False)
            if proc.returncode == 0 and b"Created" in proc.stdout:
                break
            time.sleep(0.3)
        check.check(proc.returncode == 0, "a proxy for loadgen created with /toxiproxy-cli")

        proc = podman("run", "--rm", LOADGEN_IMAGE, "version", check_rc=False)
        check.check(proc.returncode == 0 and proc.stdout.decode().startswith("k6 v"),
                    f"the loadgen image answers as k6: {proc.stdout.decode()!r}")

        script = (
            "import http from 'k6/http';\n"
            "import { check } from 'k6';\n"
            "export const options = { vus: 2, iterations: 20,\n"
            "  thresholds: { checks: ['rate==1'] } };\n"
            f"export default function () {{\n"
            f"  const r = http.get('http://{name}:8080/');\n"
            "  check(r, { 'status 200': (x) => x.status === 200, 'body ok': (x) => x.body === 'ok' });\n"
            "}\n")
        proc = podman("run", "--rm", "-i", "--network", network, LOADGEN_IMAGE, "run",
                      "--no-color", "-", stdin=script.encode(), check_rc=False, timeout=180)
        out = proc.stdout.decode(errors="replace")
        check.equal(proc.returncode, 0, "k6 run - (script on stdin) against the proxy container "
                    + proc.stderr.decode(errors="replace")[-800:])
        check.check("checks" in out and "100.00%" in out, f"every check passed:\n{out[-1500:]}")
        check.check(re.search(r"^\s*iterations\.*: 20\s", out, re.M) is not None,
                    "20 iterations in the summary")
        whoami = podman("run", "--rm", "--entrypoint", "/usr/bin/loadgen", LOADGEN_IMAGE,
                        "version", check_rc=False)
        check.check(whoami.stdout.decode().startswith("loadgen"),
                    "the same binary answers as loadgen under its own name")
        inspect = json.loads(podman("image", "inspect", LOADGEN_IMAGE).stdout)[0]["Config"]
        check.equal(inspect.get("Entrypoint"), ["k6"], "loadgen image ENTRYPOINT")
        check.equal(inspect.get("User"), "k6", "loadgen image USER")
        check.equal(inspect.get("WorkingDir"), "/home/k6", "loadgen image WORKDIR")
    finally:
        remove(name)
        target.server.shutdown()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--short", action="store_true")
    parser.add_argument("--keep-images", action="store_true")
    parser.add_argument("--base-only", action="store_true",
                        help="only make the base image (scripts/test.sh does it early, while "
                             "it builds)")
    opts = parser.parse_args()
    for tool in ("podman", "runc", "debootstrap"):
        if not shutil.which(tool):
            print(f"{tool} is missing (scripts/install-deps.sh installs it)")
            return 1
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="faultline-containers-") as workdir:
        write_containers_conf(workdir)
        ensure_base_image(workdir)
        if opts.base_only:
            return 0
        build(PROXY_IMAGE, "proxy")
        network = TAG
        podman("network", "create", network)
        try:
            net = json.loads(podman("network", "inspect", network).stdout)[0]
            gateway = net["subnets"][0]["gateway"]
            # The network's bridge (and its gateway address, where the test's servers listen)
            # exists only while a container is attached: one idles there throughout.
            run_proxy(f"{TAG}-anchor", network, [])
            deadline = time.time() + 30
            while gateway not in subprocess.run(["ip", "-o", "addr"], capture_output=True,
                                                text=True).stdout:
                if time.time() > deadline:
                    raise RuntimeError(f"the bridge address {gateway} did not appear")
                time.sleep(0.2)
            proxy_checks(network, gateway, workdir)
            check_context_cache()
            if not opts.short:
                build(LOADGEN_IMAGE, "loadgen")
                loadgen_checks(network, gateway)
        finally:
            for cid in podman("ps", "-aq", "--filter", f"name={TAG}").stdout.split():
                remove(cid.decode())
            podman("network", "rm", "-f", network, check_rc=False)
            if not opts.keep_images:
                for image in (PROXY_IMAGE, LOADGEN_IMAGE):
                    podman("rmi", "-f", image, check_rc=False)
    print(f"container test ({'short' if opts.short else 'full'}) took "
          f"{time.time() - started:.0f} s", flush=True)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
