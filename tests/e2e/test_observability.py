#!/usr/bin/env python3
"""Prometheus and Grafana end to end, with Debian's Prometheus: loadgen's
`--out experimental-prometheus-rw` arrives through the remote-write receiver under k6's names
and units; the compose setup's docker/prometheus/prometheus.yml (its targets pointed at this
machine's processes) scrapes faultline-proxy and loadgen; and every PromQL expression of the
Grafana dashboards in docker/grafana/dashboards parses and returns series while a JavaScript
load test (HTTP and WebSocket) runs through the proxy with a toxic in place. Also: the
datasource and dashboard provisioning files, a refused remote-write endpoint (logged, the
run goes on) and settings loadgen refuses."""

import argparse
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import yaml

sys.path.insert(0, os.path.dirname(__file__))
from harness import Checker, HttpTestServer, Proxy, free_port, stop_process  # noqa: E402
from test_js_ws import Websocketd  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOCKER = os.path.join(ROOT, "docker")


class Prometheus:
    def __init__(self, work, config):
        self.port = free_port()
        os.makedirs(work, exist_ok=True)
        path = os.path.join(work, "prometheus.yml")
        with open(path, "w") as f:
            yaml.safe_dump(config, f)
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={path}", f"--storage.tsdb.path={work}/data",
             f"--web.listen-address=127.0.0.1:{self.port}", "--web.enable-remote-write-receiver"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "prometheus.log"), "wb"))
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        stop_process(self.proc)
        raise RuntimeError("prometheus did not start")

    def write_url(self):
        return f"http://127.0.0.1:{self.port}/api/v1/write"

    def query(self, expr):
        """(status, result list or error text) of an instant query."""
        url = (f"http://127.0.0.1:{self.port}/api/v1/query?"
               + urllib.parse.urlencode({"query": expr}))
        try:
            body = json.loads(urllib.request.urlopen(url, timeout=5).read())
        except urllib.error.HTTPError as e:
            body = json.loads(e.read() or b"{}")
        if body.get("status") != "success":
            return "error", body.get("error", "?")
        return "success", body["data"]["result"]

    def stop(self):
        stop_process(self.proc)


def dashboard_queries():
    """(dashboard title, panel title, expr) of every query in the committed dashboards."""
    out = []
    for path in sorted(glob.glob(os.path.join(DOCKER, "grafana", "dashboards", "*.json"))):
        with open(path) as f:
            board = json.load(f)
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                out.append((board["title"], panel["title"], target["expr"]))
    return out


def check_provisioning(check):
    with open(os.path.join(DOCKER, "grafana", "provisioning", "datasources", "prometheus.yml")) as f:
        ds = yaml.safe_load(f)["datasources"][0]
    check.equal((ds["type"], ds["uid"], ds["url"]), ("prometheus", "prometheus",
                                                      "http://prometheus:9090"),
                "the provisioned datasource")
    with open(os.path.join(DOCKER, "grafana", "provisioning", "dashboards", "faultline.yml")) as f:
        provider = yaml.safe_load(f)["providers"][0]
    check.equal(provider["options"]["path"], "/var/lib/grafana/dashboards",
                "dashboards provider path")
    with open(os.path.join(DOCKER, "docker-compose.test.yml")) as f:
        compose = yaml.safe_load(f)
    proc = subprocess.run(["docker-compose", "-f", os.path.join(DOCKER, "docker-compose.test.yml"),
                           "config", "-q"], capture_output=True, text=True, timeout=60)
    check.equal((proc.returncode, proc.stderr), (0, ""), "docker-compose config -q")
    services = compose["services"]
    check.equal(sorted(services), sorted(["redis-test", "postgres-test", "toxiproxy",
                                          "redis-exporter", "postgres-exporter", "prometheus",
                                          "grafana", "loadgen"]), "compose services")
    published = {name: [p.split(":")[0] for p in svc.get("ports", [])]
                 for name, svc in services.items()}
    check.equal(published["toxiproxy"], ["8474", "16381", "15434"], "proxy ports")
    for name, port in [("redis-test", "16380"), ("postgres-test", "15433"),
                       ("prometheus", "9090"), ("grafana", "3000"), ("redis-exporter", "9121"),
                       ("postgres-exporter", "9187")]:
        check.equal(published[name], [port], f"{name} port")
    check.equal(services["loadgen"].get("profiles"), ["load"], "loadgen is optional")
    check.check("--web.enable-remote-write-receiver" in services["prometheus"]["command"],
                "Prometheus receives remote write")
    with open(os.path.join(DOCKER, "toxiproxy.json")) as f:
        proxies = {p["name"]: p for p in json.load(f)}
    check.equal({n: (p["listen"], p["upstream"]) for n, p in proxies.items()},
                {"redis": ("0.0.0.0:16381", "redis-test:6379"),
                 "postgres": ("0.0.0.0:15434", "postgres-test:5432")}, "the proxies' config file")
    mounts = compose["services"]["grafana"]["volumes"]
    check.check(any(m.startswith("./grafana/dashboards:/var/lib/grafana/dashboards") for m in mounts),
                "compose mounts the dashboards where the provider reads them")
    titles = []
    for path in sorted(glob.glob(os.path.join(DOCKER, "grafana", "dashboards", "*.json"))):
        with open(path) as f:
            board = json.load(f)
        titles.append(board["title"])
        for panel in board["panels"]:
            check.equal(panel["datasource"]["uid"], "prometheus",
                        f"{board['title']} / {panel['title']} uses the provisioned datasource")
    check.equal(titles, ["Faultline proxy", "k6 Load Testing"], "the two dashboards")
    proc = subprocess.run(["promtool", "check", "config",
                           os.path.join(DOCKER, "prometheus", "prometheus.yml")],
                          capture_output=True, text=True, timeout=60)
    check.equal(proc.returncode, 0, f"promtool check config: {proc.stdout}{proc.stderr}")


def local_config(api_port, loadgen_port):
    """docker/prometheus/prometheus.yml with its faultline and loadgen targets pointed here,
    the exporters' jobs dropped (no Redis/PostgreSQL exporters run here) and a 1 s interval."""
    with open(os.path.join(DOCKER, "prometheus", "prometheus.yml")) as f:
        config = yaml.safe_load(f)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    jobs["faultline"]["static_configs"] = [{"targets": [f"127.0.0.1:{api_port}"]}]
    jobs["loadgen"]["static_configs"] = [{"targets": [f"127.0.0.1:{loadgen_port}"]}]
    config["scrape_configs"] = [jobs["faultline"], jobs["loadgen"]]
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    return config


SCRIPT = """
import http from 'k6/http';
import ws from 'k6/ws';
import { check, sleep } from 'k6';
import { Trend } from 'k6/metrics';

const page = new Trend('page_time', true);

export const options = {
  scenarios: {
    web: { executor: 'constant-vus', vus: 3, duration: '60s', tags: { team: 'qa' } },
    sockets: { executor: 'constant-vus', vus: 1, duration: '60s', exec: 'sockets' },
  },
};

export default function () {
  const r = http.get(`${__ENV.BASE}/bytes/200`);
  check(r, { 'status is 200': (x) => x.status === 200 });
  page.add(r.timings.duration);
  http.get(`${__ENV.BASE}/status/503`);
  sleep(0.05);
}

export function sockets() {
  ws.connect(__ENV.WS, {}, (socket) => {
    socket.on('open', () => { socket.send('hello'); });
    socket.on('message', () => { socket.close(); });
    socket.setTimeout(() => socket.close(), 2000);
  });
  sleep(0.2);
}
"""


def test_remote_write_and_dashboards(check, args, work):
    target = HttpTestServer()
    wsd = proxy = prom = lg = None
    try:
        wsd = Websocketd()
        api_port = free_port()
        proxy = Proxy(args.proxy, "epoll", api_port, args=["-proxy-metrics"])
        lg_metrics = free_port()
        prom = Prometheus(os.path.join(work, "prom"), local_config(api_port, lg_metrics))
        listen = free_port()
        status, _ = proxy.json("POST", "/proxies", {"name": "web", "listen": f"127.0.0.1:{listen}",
                                                    "upstream": f"127.0.0.1:{target.port}"})
        check.equal(status, 201, "proxy web created")
        status, _ = proxy.json("POST", "/proxies/web/toxics",
                               {"type": "latency", "attributes": {"latency": 30}})
        check.equal(status, 200, "latency toxic added")
        refused = free_port()
        proxy.json("POST", "/proxies", {"name": "down", "listen": f"127.0.0.1:{refused}",
                                        "upstream": f"127.0.0.1:{free_port()}"})

        script = os.path.join(work, "observed.js")
        with open(script, "w") as f:
            f.write(SCRIPT)
        env = dict(os.environ,
                   BASE=f"http://127.0.0.1:{listen}", WS=wsd.url(),
                   K6_PROMETHEUS_RW_SERVER_URL=prom.write_url(),
                   K6_PROMETHEUS_RW_PUSH_INTERVAL="1s",
                   K6_PROMETHEUS_RW_TREND_STATS="p(95),p(99),avg,max")
        lg = subprocess.Popen([args.loadgen, "run", "--quiet", "--no-color", "--backend", "epoll",
                               "--out", "experimental-prometheus-rw",
                               "--out", f"prometheus=127.0.0.1:{lg_metrics}", script],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # A client the proxy cannot connect upstream for: the failures series.
        import socket
        for _ in range(3):
            try:
                with socket.create_connection(("127.0.0.1", refused), timeout=2) as s:
                    s.recv(1)
            except OSError:
                pass

        # Every dashboard query must return series; [1m] rates need two samples, so wait.
        queries = dashboard_queries()
        check.check(len(queries) >= 15, f"{len(queries)} dashboard queries")
        pending = {q[2]: q for q in queries}
        errors = {}
        deadline = time.time() + 45
        while pending and time.time() < deadline:
            for expr in list(pending):
                status, result = prom.query(expr)
                if status == "error":
                    errors[expr] = result
                    del pending[expr]
                elif result:
                    del pending[expr]
            time.sleep(0.5)
        for expr, error in errors.items():
            check.check(False, f"dashboard query does not parse: {expr}: {error}")
        for board, panel, expr in pending.values():
            check.check(False, f"no series for {board} / {panel}: {expr}")
        check.check(not pending and not errors,
                    f"all {len(queries)} dashboard queries return series")

        # Remote-written series: k6's names, labels and units (the scrape job is excluded by
        # asking for series without a job label).
        _, reqs = prom.query('k6_http_reqs_total{job="", scenario="web", status="200"}')
        check.check(len(reqs) == 1, f"one remote-written k6_http_reqs_total series: {reqs}")
        if reqs:
            labels = reqs[0]["metric"]
            for name in ("method", "name", "url", "proto", "expected_response", "team"):
                check.check(name in labels, f"label {name} on k6_http_reqs_total: {labels}")
            check.equal(labels.get("method"), "GET", "method label")
            check.check(float(reqs[0]["value"][1]) > 5, "requests counted")
        _, p95 = prom.query('k6_http_req_duration_p95{job="", scenario="web", status="200"}')
        value = float(p95[0]["value"][1]) if p95 else -1
        check.check(0.03 <= value < 5, f"p95 in seconds, at least the 30 ms toxic: {value}")
        _, failed = prom.query('k6_http_req_failed_rate{job="", scenario="web"}')
        rates = sorted(float(s["value"][1]) for s in failed)
        check.check(rates and rates[-1] > 0, f"k6_http_req_failed_rate sees the 503s: {rates}")
        _, vus = prom.query('k6_vus{job=""}')
        check.check(vus and float(vus[0]["value"][1]) == 4, f"k6_vus is 4: {vus}")
        _, custom = prom.query('k6_page_time_p99{job=""}')
        check.check(len(custom) >= 1, f"custom time trend k6_page_time_p99: {custom}")
        _, checks = prom.query('k6_checks_rate{job="", check="status is 200"}')
        check.check(checks and float(checks[0]["value"][1]) == 1, f"k6_checks_rate: {checks}")
        _, msgs = prom.query('k6_ws_msgs_received_total{job=""}')
        check.check(msgs and float(msgs[0]["value"][1]) >= 1, f"ws messages: {msgs}")
        _, scraped = prom.query('k6_http_reqs_total{job="loadgen", scenario="web", status="200"}')
        check.check(len(scraped) == 1, f"the loadgen scrape job has the same series: {scraped}")
        _, proxy_bytes = prom.query('toxiproxy_proxy_sent_bytes_total{job="faultline", proxy="web"}')
        check.check(len(proxy_bytes) == 2, f"faultline scraped, both directions: {proxy_bytes}")

        lg.send_signal(signal.SIGINT)
        out, err = lg.communicate(timeout=60)
        check.equal(lg.returncode, 105, "the interrupted run exits 105")
        check.check("Failed to send" not in err, f"no failed push: {err[-1500:]}")
        lg = None
    finally:
        if lg is not None:
            lg.kill()
            lg.wait()
        for part in (prom, proxy):
            if part is not None:
                part.stop()
        if wsd is not None:
            wsd.close()
        target.close()


def test_refused_endpoint(check, args, work):
    target = HttpTestServer()
    try:
        env = dict(os.environ, K6_PROMETHEUS_RW_SERVER_URL=f"http://127.0.0.1:{free_port()}/w",
                   K6_PROMETHEUS_RW_PUSH_INTERVAL="500ms")
        p = subprocess.run([args.loadgen, "run", "--quiet", "--vus", "1", "--duration", "2s",
                            "--out", "experimental-prometheus-rw", target.url + "/bytes/10"],
                           env=env, capture_output=True, text=True, timeout=60)
        check.equal(p.returncode, 0, "a refused endpoint does not fail the run")
        check.check('msg="Failed to send the time series data to the endpoint"' in p.stderr
                    and "connection refused" in p.stderr,
                    f"the failed push is logged: {p.stderr[-800:]}")
        check.check("http_reqs" in p.stdout, "the summary is still printed")

        # Settings loadgen cannot use are refused before the run.
        for name, value, text in [
                ("K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM", "true", "native histograms"),
                ("K6_PROMETHEUS_RW_PUSH_INTERVAL", "soon", "not a positive duration"),
                ("K6_PROMETHEUS_RW_TREND_STATS", "p(95),median", "'median'"),
                ("K6_PROMETHEUS_RW_SERVER_URL", "https://127.0.0.1:1/w", "http:// URL")]:
            p = subprocess.run([args.loadgen, "run", "--quiet", "--vus", "1", "--iterations", "1",
                                "--out", "experimental-prometheus-rw", target.url + "/bytes/10"],
                               env=dict(os.environ, **{name: value}), capture_output=True,
                               text=True, timeout=60)
            check.check(p.returncode != 0 and text in p.stderr,
                        f"{name}={value} refused ({p.returncode}): {p.stderr[-400:]}")
    finally:
        target.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--loadgen", required=True)
    parser.add_argument("--proxy", required=True)
    args = parser.parse_args()
    check = Checker("observability")
    if shutil.which("prometheus") is None or shutil.which("websocketd") is None:
        print("prometheus and websocketd are needed (scripts/install-deps.sh)")
        return 1
    work = tempfile.mkdtemp(prefix="faultline-observability-")
    try:
        check_provisioning(check)
        test_remote_write_and_dashboards(check, args, work)
        test_refused_endpoint(check, args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
