#!/usr/bin/env python3
"""End-to-end checks of loadgen's scenario files against a real nginx: every executor's VU
and iteration counts, ramps, several scenarios with start offsets and tags, checks, custom
metrics, sub-metric thresholds, abortOnFail, setup, ${ENV} substitution, --rps, progress
output, configuration errors, and a server that dies mid-run."""

import argparse
import csv
import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(__file__))
from harness import Checker, Proxy, free_port  # noqa: E402
from test_loadgen import Nginx  # noqa: E402


class Loadgen:
    def __init__(self, binary, backend):
        self.binary = binary
        self.backend = backend

    def run(self, script, *args, quiet=True, timeout=120, env=None):
        """Runs a scenario dict (or a file path); returns (code, stdout, stderr, export)."""
        if isinstance(script, dict):
            fd, path = tempfile.mkstemp(suffix=".json")
            with os.fdopen(fd, "w") as f:
                json.dump(script, f)
        else:
            path = script
        export = tempfile.mktemp(suffix=".json")
        cmd = [self.binary, "run", "--backend", self.backend, "--summary-export", export]
        if quiet:
            cmd.append("--quiet")
        cmd += [*args, path]
        full_env = dict(os.environ)
        full_env.update(env or {})
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env)
        summary = None
        if os.path.exists(export):
            with open(export) as f:
                summary = json.load(f)
            os.unlink(export)
        if isinstance(script, dict):
            os.unlink(path)
        return proc.returncode, proc.stdout, proc.stderr, summary


def scenario_file(scenarios, flow, **extra):
    return {"options": {"scenarios": scenarios, **extra.pop("options", {})},
            "flows": {"default": flow, **extra.pop("flows", {})}, **extra}


def prometheus_check(check, lg, base):
    import urllib.parse
    import urllib.request
    metrics_port = free_port()
    prom_port = free_port()
    work = tempfile.mkdtemp(prefix="loadgen-prom-")
    with open(f"{work}/prometheus.yml", "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
scrape_configs:
  - job_name: loadgen
    static_configs:
      - targets: ['127.0.0.1:{metrics_port}']
""")
    prom = subprocess.Popen(["prometheus", f"--config.file={work}/prometheus.yml",
                             f"--storage.tsdb.path={work}/data",
                             f"--web.listen-address=127.0.0.1:{prom_port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(150):  # Prometheus must be up before the short run starts
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/-/ready", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        script = {"options": {"scenarios": {"c": {"executor": "constant-vus", "vus": 2,
                                                  "duration": "30s", "tags": {"team": "qa"}}}},
                  "metrics": {"page_time": "trend"},
                  "flows": {"default": [{"url": base + "/index.html", "name": "page",
                                         "record": {"page_time": "duration"},
                                         "sleep": "20ms"}]}}
        fd, path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(script, f)
        p = subprocess.Popen([lg.binary, "run", "--quiet", "--backend", lg.backend, "--out",
                              f"prometheus=127.0.0.1:{metrics_port}", path],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2.5)
        import urllib.request as ur
        text = ur.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
        check.check(re.search(r'k6_http_reqs_total\{[^}]*name="page"[^}]*scenario="c"[^}]*'
                              r'status="200"[^}]*team="qa"[^}]*\} [1-9]', text) is not None,
                    "k6_http_reqs_total with k6's labels while running")
        check.check(re.search(r'k6_http_req_duration_p99\{[^}]*\} 0\.0', text) is not None,
                    "k6_http_req_duration_p99 in seconds")
        check.check(re.search(r'k6_vus\{\} 2|k6_vus 2', text) is not None, "k6_vus gauge")
        check.check("k6_page_time_p99{" in text, "custom trend exported")
        check.check(re.search(r'k6_http_req_failed_rate\{[^}]*\} 0', text) is not None,
                    "k6_http_req_failed_rate")

        def query(q):
            url = f"http://127.0.0.1:{prom_port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
            return json.loads(urllib.request.urlopen(url, timeout=5).read())["data"]["result"]
        # Prometheus applies new targets every 5 s; wait (bounded) for its first scrapes.
        result = []
        deadline = time.time() + 25
        while time.time() < deadline:
            try:
                result = query('k6_http_reqs_total{scenario="c"}')
            except OSError:
                result = []
            if result and float(result[0]["value"][1]) > 10:
                break
            time.sleep(0.2)
        check.check(len(result) == 1 and float(result[0]["value"][1]) > 10,
                    f"Prometheus scraped loadgen: {result}")
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        check.equal(p.returncode, 105, "interrupted run with the prometheus output exits 105")
        os.unlink(path)
    finally:
        prom.terminate()
        prom.wait(10)
        import shutil
        shutil.rmtree(work, ignore_errors=True)


def read_maybe_gzip(path):
    """A file's text; a .gz file decompressed as far as it goes (one still being written has
    no trailer yet, which gzip.open would refuse)."""
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".gz"):
        data = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)
    return data.decode()


def csv_checks(check, lg, base):
    """--out csv in k6's column layout, and .gz files for csv and json: one run writes both,
    and the CSV rows carry the same samples as the JSON points."""
    work = tempfile.mkdtemp(prefix="loadgen-csv-")
    scenario = {"options": {"scenarios": {"c": {"executor": "shared-iterations", "vus": 2,
                                                "iterations": 12}}},
                "flows": {"default": [{"url": base + "/index.html", "name": "page",
                                       "checks": [{"status": 200, "name": "is, \"ok\""}]}]}}
    t0 = time.time()
    code, out, err, s = lg.run(scenario, "--tag", "team=a,b", "--out", f"csv={work}/r.csv",
                               "--out", f"json={work}/r.json.gz")
    t1 = time.time()
    check.equal(code, 0, "csv and gzip json outputs in one run: " + err[-300:])
    with open(f"{work}/r.csv", newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0] if rows else []
    check.equal(header, ["metric_name", "timestamp", "metric_value", "check", "error",
                         "error_code", "expected_response", "group", "method", "name", "proto",
                         "scenario", "service", "status", "subproto", "tls_version", "url",
                         "extra_tags", "metadata"], "k6's CSV header")
    col = {name: i for i, name in enumerate(header)}
    body = rows[1:]
    check.check(all(len(r) == len(header) for r in body), "every row has every column")
    by_metric = {}
    for r in body:
        by_metric.setdefault(r[0], []).append(r)
    check.equal(len(by_metric.get("http_reqs", [])), 12, "one http_reqs row per request")
    check.equal(len(by_metric.get("iterations", [])), 12, "one iterations row per iteration")
    checks = by_metric.get("checks", [])
    check.check(len(checks) == 12 and all(r[col["check"]] == 'is, "ok"' for r in checks),
                f"check rows carry the check's name, quoted as CSV quotes: {checks[:1]}")
    req = by_metric["http_req_duration"][0] if by_metric.get("http_req_duration") else []
    check.check(req and req[col["name"]] == "page" and req[col["status"]] == "200" and
                req[col["method"]] == "GET" and req[col["scenario"]] == "c" and
                req[col["url"]] == "page" and req[col["proto"]] == "HTTP/1.1" and
                req[col["expected_response"]] == "true" and req[col["group"]] == "" and
                req[col["extra_tags"]] == "team=a,b" and req[col["metadata"]] == "",
                f"a request's row: system tags in their columns, the run tag in extra_tags: {req}")
    check.check(all(re.fullmatch(r"-?\d+\.\d{6}", r[2]) for r in body),
                "values are written with six decimals (Go's %f)")
    check.check(all(int(t0) - 1 <= int(r[1]) <= int(t1) + 1 for r in body),
                "timestamps are Unix seconds of the run")
    # The gzip JSON file of the same run holds the same samples.
    points = {}
    for line in read_maybe_gzip(f"{work}/r.json.gz").splitlines():
        d = json.loads(line)
        if d["type"] == "Point":
            points.setdefault(d["metric"], []).append(d["data"]["value"])
    check.equal({m: len(v) for m, v in points.items()},
                {m: len(v) for m, v in by_metric.items()},
                "the gzip JSON output has as many points per metric as the CSV has rows")
    same = all(abs(sum(points.get(m, [])) - sum(float(r[2]) for r in rs)) <= 1e-5 * len(rs)
               for m, rs in by_metric.items())
    check.check(same, "and the same values (sums per metric agree to the CSV's six decimals)")

    # Options by argument and environment; .gz files readable while the run goes on.
    path = f"{work}/live.csv.gz"
    jpath = f"{work}/live.json.gz"
    proc = subprocess.Popen(
        [lg.binary, "run", "--quiet", "--backend", lg.backend, "-u", "2", "-d", "4s", "-o",
         f"csv=fileName={path},saveInterval=200ms,timeFormat=rfc3339_nano", "-o",
         f"json={jpath}", base + "/index.html"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(2.5)
    during = read_maybe_gzip(path).splitlines() if os.path.exists(path) else []
    json_during = read_maybe_gzip(jpath).splitlines() if os.path.exists(jpath) else []
    check.check(sum('"type":"Point"' in line for line in json_during) > 10,
                f"the gzip JSON output is flushed during the run "
                f"({len(json_during)} lines after 2.5 s of 4 s)")
    _, err = proc.communicate(timeout=60)
    after = read_maybe_gzip(path).splitlines()
    check.check(len(during) > 10, f"rows are saved every saveInterval, readable mid-run "
                                  f"({len(during)} lines after 2.5 s of 4 s)")
    check.check(proc.returncode == 0 and len(after) > len(during) and
                gzip.decompress(open(path, "rb").read()).decode().splitlines() == after,
                "at the end the gzip file is complete (its trailer written)")
    stamps = [line.split(",")[1] for line in after[1:]]
    check.check(stamps and all(re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)", t) for t in stamps),
        f"timeFormat=rfc3339_nano: {stamps[:2]}")
    code, out, err, s = lg.run(scenario, "--out", "csv", env={"K6_CSV_FILENAME": f"{work}/e.csv",
                                                             "K6_CSV_TIME_FORMAT": "unix_milli"})
    with open(f"{work}/e.csv", newline="") as f:
        rows = list(csv.reader(f))[1:]
    check.check(code == 0 and rows and all(abs(int(r[1]) / 1000 - time.time()) < 120 for r in rows),
                "K6_CSV_FILENAME and K6_CSV_TIME_FORMAT=unix_milli apply")
    for arg, message in (("csv=fileName=x.csv,color=red",
                          'unknown key \\"color\\" as argument for csv output'),
                         ("csv=timeFormat=iso", "iso does not belong to TimeFormat values"),
                         (f"csv={work}/no/such/dir/x.csv", "could not create the 'csv' output")):
        code, out, err, s = lg.run(scenario, "--out", arg)
        check.check(code == 255 and message in err,
                    f"--out {arg}: refused before the run ({code}): {err[-300:]}")
    shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--backend", default="auto")
    args = ap.parse_args()
    check = Checker(f"loadgen-scenarios-{args.backend}")
    lg = Loadgen(args.binary, args.backend)
    nginx = Nginx()
    base = f"http://127.0.0.1:{nginx.port}"
    get = [{"url": base + "/index.html"}]
    try:
        # per-vu-iterations: every VU runs exactly its iterations
        code, out, err, s = lg.run(scenario_file(
            {"pv": {"executor": "per-vu-iterations", "vus": 3, "iterations": 4}}, get))
        check.equal(code, 0, "per-vu-iterations exits 0")
        check.equal(s["metrics"]["iterations"]["count"], 12, "3 VUs x 4 iterations")
        check.equal(s["metrics"]["http_reqs"]["count"], 12, "one request per iteration")

        # shared-iterations through a file, two requests per iteration
        code, out, err, s = lg.run(scenario_file(
            {"sh": {"executor": "shared-iterations", "vus": 4, "iterations": 30}},
            get + [{"method": "GET", "url": base + "/missing", "name": "missing"}]))
        check.equal(s["metrics"]["iterations"]["count"], 30, "30 shared iterations")
        check.equal(s["metrics"]["http_reqs"]["count"], 60, "two requests each")
        check.equal(s["metrics"]["http_req_failed"]["passes"], 30, "the 404s count as failed")

        # constant-vus: the vus gauge shows the configured count
        code, out, err, s = lg.run(scenario_file(
            {"c": {"executor": "constant-vus", "vus": 4, "duration": "2s"}}, get))
        check.equal(code, 0, "constant-vus exits 0")
        check.equal(s["metrics"]["vus"]["max"], 4, "4 VUs active")
        check.equal(s["metrics"]["vus_max"]["value"], 4, "vus_max 4")

        # ramping-vus: 0 -> 4 over 2 s, hold 1 s, down to 0 over 1 s; the progress lines
        # (non-TTY, one block per second) show the ramp
        code, out, err, s = lg.run(scenario_file(
            {"ramp": {"executor": "ramping-vus", "startVUs": 0, "gracefulRampDown": "0s",
                      "stages": [{"duration": "2s", "target": 4}, {"duration": "1s", "target": 4},
                                 {"duration": "1s", "target": 0}]}},
            [{"url": base + "/index.html", "sleep": "50ms"}]), quiet=False)
        check.equal(code, 0, "ramping-vus exits 0")
        check.equal(s["metrics"]["vus"]["max"], 4, "the ramp reaches 4 VUs")
        counts = [int(m) for m in re.findall(r"running \([^)]*\), (\d+)/4 VUs", out)]
        check.check(len(counts) >= 3 and counts[0] <= 2 and max(counts) == 4,
                    f"progress shows the ramp: {counts}")
        check.check("Up to 4 looping VUs for 4s over 3 stages" in out, "header describes the ramp")
        check.check(re.search(r"ramp +[ ↓✓] \[ *\d+% \] \d/4 VUs", out) is not None,
                    "scenario progress line")

        # constant-arrival-rate: 50/s for 2 s starts 100 iterations, none dropped
        code, out, err, s = lg.run(scenario_file(
            {"car": {"executor": "constant-arrival-rate", "rate": 50, "timeUnit": "1s",
                     "duration": "2s", "preAllocatedVUs": 2}}, get), "--threads", "4")
        check.equal(code, 0, "constant-arrival-rate exits 0")
        check.check(98 <= s["metrics"]["iterations"]["count"] <= 100,
                    f"about 100 iterations: {s['metrics']['iterations']['count']}")
        check.check("dropped_iterations" not in s["metrics"], "nothing dropped")

        # SIGINT while an arrival-rate scenario waits for its next start: stops at once
        fd, path = tempfile.mkstemp(suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(scenario_file({"slow": {"executor": "constant-arrival-rate", "rate": 1,
                                              "timeUnit": "10s", "duration": "60s",
                                              "preAllocatedVUs": 1}}, get), f)
        p = subprocess.Popen([args.binary, "run", "--quiet", "--backend", args.backend, path],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        t0 = time.time()
        p.send_signal(signal.SIGINT)
        p.wait(30)
        took = time.time() - t0
        os.unlink(path)
        check.equal(p.returncode, 105, "SIGINT during an arrival-rate wait exits 105")
        check.check(took < 3, f"...at once ({took:.2f} s)")

        # ramping-arrival-rate: 0 -> 20/s over 2 s is an area of 20 iterations
        code, out, err, s = lg.run(scenario_file(
            {"rar": {"executor": "ramping-arrival-rate", "startRate": 0, "preAllocatedVUs": 2,
                     "stages": [{"duration": "2s", "target": 20}]}}, get))
        check.check(19 <= s["metrics"]["iterations"]["count"] <= 20,
                    f"ramping arrival count: {s['metrics']['iterations']['count']}")

        # arrival rate with a slow server and too few VUs: late starts are dropped
        proxy = Proxy(args.proxy, args.backend, free_port())
        try:
            _, body = proxy.json("POST", "/proxies", {"name": "web", "listen": "127.0.0.1:0",
                                                      "upstream": f"127.0.0.1:{nginx.port}"})
            proxy.json("POST", "/proxies/web/toxics",
                       {"type": "latency", "attributes": {"latency": 300}})
            code, out, err, s = lg.run(scenario_file(
                {"slow": {"executor": "constant-arrival-rate", "rate": 20, "duration": "2s",
                          "preAllocatedVUs": 1, "maxVUs": 2}},
                [{"url": f"http://{body['listen']}/index.html"}]))
            m = s["metrics"]
            started = m["iterations"]["count"]
            dropped = m["dropped_iterations"]["count"]
            check.check(dropped >= 20, f"late iterations dropped: {dropped}")
            check.check(38 <= started + dropped <= 41,
                        f"every due iteration started or dropped ({started}+{dropped})")
            check.check("Insufficient VUs, reached 2 active VUs" in err, "insufficient VUs warning")
        finally:
            proxy.stop()

        # several scenarios with start offsets and tags; sub-metric thresholds by scenario/tag
        code, out, err, s = lg.run({
            "options": {
                "scenarios": {
                    "first": {"executor": "constant-vus", "vus": 1, "duration": "1s",
                              "tags": {"phase": "warm"}},
                    "second": {"executor": "per-vu-iterations", "vus": 2, "iterations": 5,
                               "startTime": "1s", "exec": "other"}},
                "thresholds": {"http_reqs{scenario:second}": ["count==10"],
                               "http_req_duration{phase:warm}": ["p(95)<5000"],
                               "iterations{scenario:first}": ["count>0"]}},
            "flows": {"default": get, "other": [{"url": base + "/index.html",
                                                 "checks": [{"name": "second ok",
                                                             "status": 200}]}]}},
            "--summary-mode", "full", quiet=False)
        check.equal(code, 0, "multi-scenario run passes its thresholds")
        second = out[out.find("\u2588 SCENARIO: second"):]
        check.check("\u2588 SCENARIO: first" in out and out.find("SCENARIO: first") <
                    out.find("SCENARIO: second"), "full summary: a section per scenario")
        check.check(re.search(r"http_reqs\.+: 10 ", second) is not None and
                    "\u2713 second ok" in second and "vus_max" not in second,
                    "the second scenario's section counts only its own samples")
        check.check("http_req_waiting" in out, "full summary lists the phase trends")
        m = s["metrics"]
        check.equal(m["http_reqs{scenario:second}"]["count"], 10, "second scenario: 10 requests")
        check.equal(m["http_reqs{scenario:second}"]["thresholds"], {"count==10": False},
                    "sub-metric threshold passed")
        check.check("2 scenarios, 3 max VUs" in out, "header counts scenarios and max VUs")
        check.check("second: 5 iterations for each of 2 VUs (maxDuration: 10m0s, exec: other, "
                    "startTime: 1s, gracefulStop: 30s)" in out, "scenario description")

        # checks and custom metrics fed from requests
        code, out, err, s = lg.run({
            "options": {"scenarios": {"c": {"executor": "shared-iterations", "vus": 2,
                                            "iterations": 20}},
                        "thresholds": {"checks{check:body says hello}": ["rate==1"],
                                       "page_time": ["p(95)<5000"], "errors": ["rate<0.6"]}},
            "metrics": {"page_time": "trend", "errors": "rate", "slow": "counter"},
            "flows": {"default": [
                {"url": base + "/index.html", "name": "page",
                 "checks": [{"name": "status is 200", "status": 200},
                            {"name": "body says hello", "body_contains": "hello from nginx"},
                            {"header": "Content-Type", "contains": "text/html"}],
                 "record": {"page_time": "duration", "errors": "failed", "slow": "duration>-1"}},
                {"url": base + "/missing", "checks": [{"status": 200}],
                 "record": {"errors": "failed"}}]}})
        check.equal(code, 0, "checks run passes its thresholds")
        m = s["metrics"]
        checks = s["root_group"]["checks"]
        check.equal(checks["status is 200"]["passes"], 20, "status check passes on the page...")
        check.equal(checks["status is 200"]["fails"], 20, "...and fails on the 404")
        check.equal(checks["body says hello"]["passes"], 20, "body check")
        check.equal(checks["header Content-Type contains text/html"]["passes"], 20,
                    "header check with a generated name")
        check.equal(m["checks"]["passes"], 60, "checks rate counts passes")
        check.equal(m["errors"]["value"], 0.5, "custom rate fed from failed requests")
        check.equal(m["slow"]["count"], 20, "custom counter from a comparison")
        check.check(0 < m["page_time"]["avg"] < 5000, "custom trend in milliseconds")

        # abortOnFail stops the run within a few seconds with exit 99
        t0 = time.time()
        code, out, err, s = lg.run({
            "options": {"scenarios": {"c": {"executor": "constant-vus", "vus": 2,
                                            "duration": "30s"}},
                        "thresholds": {"http_req_failed": [
                            {"threshold": "rate<0.01", "abortOnFail": True}]}},
            "flows": {"default": [{"url": base + "/missing", "sleep": "10ms"}]}})
        took = time.time() - t0
        check.equal(code, 99, "abortOnFail exits 99")
        check.check(took < 10, f"aborted early ({took:.1f} s)")
        check.check("at least one has abortOnFail enabled, stopping test prematurely" in err,
                    "abort message")
        check.check(s is not None and s["metrics"]["http_req_failed"]["thresholds"]["rate<0.01"],
                    "export written after the abort")

        # setup: a failing check aborts before any scenario (exit 107)
        code, out, err, s = lg.run({
            "options": {"scenarios": {"c": {"executor": "constant-vus", "vus": 1,
                                            "duration": "5s"}}},
            "setup": [{"url": base + "/missing", "checks": [{"name": "healthy", "status": 200}]}],
            "flows": {"default": get}})
        check.equal(code, 107, "failed setup exits 107")
        check.check("setup failed: check 'healthy' failed" in err, "setup failure message")

        # ${ENV} substitution: -e wins over the default, the process environment is used
        script = {"options": {"iterations": 3},
                  "flows": {"default": [{"url": "${TARGET:-http://127.0.0.1:1}/index.html",
                                         "headers": {"X-Api-Key": "${KEY}"}}]}}
        code, out, err, s = lg.run(script, "-e", f"TARGET={base}", env={"KEY": "k"})
        check.equal(s["metrics"]["http_req_failed"]["value"], 0, "-e TARGET used")
        code, out, err, s = lg.run(script)
        check.equal(s["metrics"]["http_req_failed"]["value"], 1, "default used without -e")

        # --rps caps the request rate for the whole process
        code, out, err, s = lg.run(scenario_file(
            {"c": {"executor": "constant-vus", "vus": 4, "duration": "2s"}}, get), "--rps", "20")
        n = s["metrics"]["http_reqs"]["count"]
        check.check(35 <= n <= 45, f"--rps 20 for 2 s: {n} requests")

        # the command line's --duration replaces the file's scenarios, thresholds stay
        code, out, err, s = lg.run({
            "options": {"scenarios": {"x": {"executor": "per-vu-iterations", "vus": 1}},
                        "thresholds": {"http_reqs": ["count<0"]}},
            "flows": {"default": get}}, "--vus", "2", "--duration", "1s")
        check.equal(code, 99, "file thresholds still apply with --duration")
        check.check(s["metrics"]["http_reqs"]["count"] > 1, "constant VUs ran instead")

        # configuration errors: exit 104 with k6's messages
        code, out, err, s = lg.run({"options": {"scenarios": {"x": {"executor": "constant-vus",
                                                                    "vus": 1, "duratoin": "1s"}}},
                                    "flows": {"default": get}})
        check.equal(code, 104, "unknown scenario key exits 104")
        check.check('unknown field \\"duratoin\\"' in err or 'unknown field "duratoin"' in err,
                    f"unknown key named: {err.strip()[:200]}")
        code, out, err, s = lg.run({"options": {"scenarios": {
            "x": {"executor": "constant-vus", "vus": 0},
            "y": {"executor": "shared-iterations", "vus": 5, "iterations": 2}}},
            "flows": {"default": get}})
        check.equal(code, 104, "invalid scenarios exit 104")
        check.check("There were problems with the specified script configuration:" in err and
                    "scenario x has configuration errors: the number of VUs must be more than 0, "
                    "the duration is unspecified" in err, "k6's validation layout")
        code, out, err, s = lg.run({"options": {"iterations": 1,
                                                "thresholds": {"htp_reqs": ["count>0"]}},
                                    "flows": {"default": get}})
        check.equal(code, 104, "threshold on an unknown metric exits 104")
        code, out, err, s = lg.run({"options": {"iterations": 1}, "flows": {}})
        check.equal(code, 104, "missing flow exits 104")
        check.check("function 'default' not found in exports" in err, "missing flow message")

        # the users' baseline file (examples/baseline.json) against a stand-in service, the way
        # their chaos script runs it: --vus/--duration replace the scenarios, the file's
        # thresholds, setup, checks and custom metrics stay
        service = Nginx(locations="location / { default_type application/json; return 200 'ok'; }")
        example = os.path.join(os.path.dirname(__file__), "../../examples/baseline.json")
        env = dict(os.environ, CCA_HTTP_URL=f"http://127.0.0.1:{service.port}")
        # A full run takes 5m30s: read its header and first progress block, then interrupt.
        p = subprocess.Popen([args.binary, "run", "--backend", args.backend, example],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        head = ""
        deadline = time.time() + 20
        while "running (" not in head and time.time() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            head += line
        p.send_signal(signal.SIGINT)
        rest, err = p.communicate(timeout=30)
        check.check("4 scenarios, 15 max VUs, 5m30s max duration (incl. graceful stop):" in head,
                    "the baseline's plan: 15 max VUs, 5m30s")
        check.check("* light_load: 10 looping VUs for 2m0s (startTime: 2m30s, gracefulStop: 30s)"
                    in head, "scenario lines")
        check.check(re.search(r"cool_down  • \[   0% \] waiting", head + rest) is not None,
                    "waiting scenarios shown")
        check.equal(p.returncode, 105, "interrupted run exits 105")
        try:
            code, out, err, s = lg.run(example, "--vus", "2", "--duration", "2s",
                                       env={"CCA_HTTP_URL": f"http://127.0.0.1:{service.port}"})
            check.equal(code, 0, f"baseline file passes against a healthy service: {err[-300:]}")
            m = s["metrics"]
            check.check(m["http_reqs"]["count"] >= 6, "requests made")
            check.equal(m["errors"]["value"], 0, "no errors")
            check.equal(s["root_group"]["checks"]["task accepted"]["fails"], 0, "POST accepted")
            check.check("health_check_duration" in m and "thresholds" in m["health_check_duration"],
                        "custom trend with its threshold")
            check.check("checks{check:health is 200}" in m, "check sub-metric")
        finally:
            service.stop()

        # --out json: k6's JSON lines, a Metric line before each metric's first Point
        jpath = tempfile.mktemp(suffix=".jsonl")
        code, out, err, s = lg.run({
            "options": {"scenarios": {"j": {"executor": "shared-iterations", "vus": 2,
                                            "iterations": 10}},
                        "thresholds": {"http_req_duration": ["p(95)<5000", {
                            "threshold": "max<60000", "abortOnFail": True,
                            "delayAbortEval": "10s"}]}},
            "flows": {"default": [{"url": base + "/index.html", "name": "page",
                                   "checks": [{"status": 200}]}]}}, "--out", f"json={jpath}")
        with open(jpath) as f:
            lines = [json.loads(line) for line in f]
        os.unlink(jpath)
        seen, ordered = set(), True
        points = {}
        for line in lines:
            if line["type"] == "Metric":
                seen.add(line["metric"])
            else:
                ordered = ordered and line["metric"] in seen
                points.setdefault(line["metric"], []).append(line["data"])
        check.check(ordered, "every Point comes after its metric's Metric line")
        check.equal(len(points.get("http_reqs", [])), 10, "one http_reqs point per request")
        check.equal(len(points.get("iterations", [])), 10, "one iterations point per iteration")
        check.equal(len(points.get("checks", [])), 10, "one checks point per check")
        tags = points["http_req_duration"][0]["tags"]
        check.check(tags.get("name") == "page" and tags.get("status") == "200" and
                    tags.get("scenario") == "j" and tags.get("method") == "GET",
                    f"request tags: {tags}")
        meta = [x for x in lines if x["type"] == "Metric" and x["metric"] == "http_req_duration"][0]
        check.equal(meta["data"]["thresholds"], ["p(95)<5000", {
            "threshold": "max<60000", "abortOnFail": True, "delayAbortEval": "10s"}],
            "thresholds in the Metric line")
        check.check(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$",
                             points["http_reqs"][0]["time"]) is not None, "RFC 3339 times")

        csv_checks(check, lg, base)

        # --out prometheus: k6-named series served while the run goes on, scraped by a real
        # Prometheus
        prometheus_check(check, lg, base)

        # a server that dies mid-run: failed requests, exit 0, a summary
        victim = Nginx(single_process=True)  # SIGKILL must leave no worker behind
        try:
            p = subprocess.Popen([args.binary, "--quiet", "--backend", args.backend, "-u", "4",
                                  "-d", "3s", f"http://127.0.0.1:{victim.port}/index.html",
                                  "--summary-export", "/dev/stdout"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(1.0)
            victim.proc.kill()
            out, err = p.communicate(timeout=60)
            check.equal(p.returncode, 0, "server death does not change the exit code")
            check.check("http_req_failed" in out and "TOTAL RESULTS" in out,
                        "summary printed after the server died")
        finally:
            try:
                victim.stop()
            except Exception:
                pass
    finally:
        nginx.stop()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
