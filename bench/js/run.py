#!/usr/bin/env python3
"""loadgen's JavaScript runtime measured side by side, in one run, against the same nginx:

1. the same keep-alive GET load as a k6 script (`http.get` in a loop), as a scenario file,
   and as wrk: requests/s and load-generator CPU microseconds per request (child rusage),
   the script once per JIT mode (LOADGEN_JS_JIT=off|baseline|full); also the scenario file
   with one worker thread per VU, which is what a thread per JavaScript VU costs without
   any JavaScript (the floor of the script path's model);
2. RSS per VU at 100 and 1,000 VUs for a script shaped like the users' baseline.js
   (imports, options with scenarios, custom metrics, a config object, a class, template
   literals, groups, six requests and checks per iteration, sleep);
3. the time to initialise 1,000 VUs (a run of 1,000 VUs with one iteration each, minus a
   run of one VU with one iteration);
4. where a request's CPU goes, by VU count: user and system microseconds and voluntary
   context switches per request, the scenario file next to the script (JIT off).

Usage: bench/js/run.py [seconds] [rounds]"""

import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../loadgen"))
from run import LOADGEN, raise_fd_limit, start_nginx, timed  # noqa: E402

LOOP = """
import http from 'k6/http';
export default function () { http.get('URL'); }
"""

# The shape of the users' baseline.js (users-suite.md): what a VU's memory is made of.
BASELINE = """
import http from 'k6/http';
import { check, group, sleep } from 'k6';
import { Rate, Trend, Counter } from 'k6/metrics';

const BASE = __ENV.BASE || 'URL_BASE';
const API_KEY = __ENV.CCA_API_KEY || 'test-api-key';
const errors = new Rate('errors');
const health = new Trend('health_check_duration', true);
const slow = new Counter('latency_violations_20ms');

export const options = {
  scenarios: {
    baseline: { executor: 'constant-vus', vus: VUS, duration: 'DURATION', tags: { phase: 'baseline' } },
  },
  thresholds: { http_req_duration: ['p(95)<2000', 'p(99)<5000'], errors: ['rate<0.05'] },
};

const config = {
  headers: { 'X-API-Key': API_KEY, 'Content-Type': 'application/json' },
  endpoints: ['/index.html', '/index.html?status', '/index.html?agents', '/index.html?tasks',
              '/index.html?acp', '/index.html?redis'],
};

class Client {
  constructor(base, headers) { this.base = base; this.headers = headers; }
  get(path, name) { return http.get(`${this.base}${path}`, { headers: this.headers, tags: { name } }); }
}
const client = new Client(BASE, config.headers);

export default function () {
  group('api', () => {
    for (const [i, path] of config.endpoints.entries()) {
      const res = client.get(path, `endpoint-${i}`);
      const ok = check(res, { 'status is 200': (r) => r.status === 200, 'has body': (r) => r.body.length > 0 });
      errors.add(!ok);
      health.add(res.timings.duration);
      if (res.timings.duration > 20) slow.add(1);
    }
  });
  sleep(1);
}
"""


def median(values):
    values = sorted(values)
    return values[len(values) // 2] if values else 0


def requests_in(export):
    with open(export) as f:
        m = json.load(f)["metrics"]
    return m["http_reqs"]["count"], m["http_reqs"]["rate"]


def main():
    secs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    raise_fd_limit()
    work = tempfile.mkdtemp()
    port = 18691
    nginx = start_nginx(port, work)
    url = f"http://127.0.0.1:{port}/index.html"
    export = f"{work}/summary.json"
    loop = f"{work}/loop.js"
    with open(loop, "w") as f:
        f.write(LOOP.replace("URL", url))
    scenario = f"{work}/loop.json"
    with open(scenario, "w") as f:
        json.dump({"flows": {"default": [{"url": url}]}}, f)
    env = dict(os.environ)
    try:
        print(f"1. the same GET loop ({os.cpu_count()} cores, {secs}s each, 1 worker thread, "
              f"50 VUs/connections, median of {rounds} alternating rounds)")
        results = {}
        for _ in range(rounds):
            out, cpu, _ = timed(["wrk", "-t1", "-c50", f"-d{secs}s", url])
            total = int(re.search(r"(\d+) requests in", out).group(1))
            results.setdefault("wrk", []).append((total / secs, cpu / total * 1e6))
            load = ["--quiet", "-u", "50", "-d", f"{secs}s", "--summary-export", export]
            common = ["--threads", "1", *load]
            _, cpu, _ = timed([LOADGEN, "run", *common, scenario])
            total, rate = requests_in(export)
            results.setdefault("loadgen scenario file", []).append((rate, cpu / total * 1e6))
            # The same file with a worker thread per VU: the wake-up per request that a
            # thread per JavaScript VU costs, with no JavaScript at all.
            _, cpu, _ = timed([LOADGEN, "run", "--threads", "50", *load, scenario])
            total, rate = requests_in(export)
            results.setdefault("file, a thread per VU", []).append((rate, cpu / total * 1e6))
            for jit in ("off", "baseline", "full"):
                os.environ["LOADGEN_JS_JIT"] = jit
                _, cpu, _ = timed([LOADGEN, "run", *common, loop])
                total, rate = requests_in(export)
                results.setdefault(f"loadgen JS (jit {jit})", []).append((rate, cpu / total * 1e6))
            os.environ.pop("LOADGEN_JS_JIT", None)
        file_us = median([u for _, u in results["loadgen scenario file"]])
        wrk_us = median([u for _, u in results["wrk"]])
        print(f"  {'':26} {'requests/s':>11} {'CPU µs/req':>11} {'vs file':>8} {'vs wrk':>7}")
        for name, values in results.items():
            us = median([u for _, u in values])
            print(f"  {name:26} {median([r for r, _ in values]):11.0f} {us:11.2f} "
                  f"{us / file_us:8.2f} {us / wrk_us:7.2f}")

        print("2. RSS per VU, baseline.js shape (6 requests, 12 checks, sleep 1 s per iteration), "
              "peak RSS over a run, one worker thread")
        for jit in ("off", "baseline", "full"):
            os.environ["LOADGEN_JS_JIT"] = jit
            base = None
            line = f"  jit {jit:9}"
            for vus in (1, 100, 1000):
                script = f"{work}/baseline-{vus}.js"
                with open(script, "w") as f:
                    f.write(BASELINE.replace("URL_BASE", f"http://127.0.0.1:{port}")
                            .replace("VUS", str(vus)).replace("DURATION", f"{max(secs, 8)}s"))
                _, _, peak = timed([LOADGEN, "run", "--quiet", "--threads", "1", script],
                                   sample_rss=True)
                if base is None:
                    base = peak
                    line += f" 1 VU {peak / 1024:6.1f} MB;"
                else:
                    line += f" {vus} VUs {peak / 1024:6.1f} MB = {(peak - base) / (vus - 1):5.0f} KiB/VU;"
            print(line.rstrip(";"))
        os.environ.pop("LOADGEN_JS_JIT", None)

        print("3. time to initialise 1,000 VUs: from the first runtime's init code to the "
              "start of setup(), which k6 runs once every planned VU is initialised")
        timed_script = f"{work}/init.js"
        with open(timed_script, "w") as f:
            f.write(BASELINE.replace("URL_BASE", f"http://127.0.0.1:{port}").replace("VUS", "1000")
                    .replace("DURATION", "1s").replace("sleep(1);", "")
                    .replace("export default function", "if (__VU === 0) console.log('init', Date.now());\n"
                             "export function setup() { console.log('setup', Date.now()); }\n"
                             "export default function"))
        for jit in ("off", "baseline", "full"):
            os.environ["LOADGEN_JS_JIT"] = jit
            t0 = time.time()
            p = subprocess.run([LOADGEN, "run", "--quiet", "--summary-mode", "disabled", "-u", "1000", "-i", "1000",
                                timed_script], capture_output=True, text=True, check=False)
            wall = time.time() - t0
            stamps = {}
            for m in re.finditer(r'msg="(init|setup) (\d+)"', p.stderr):
                stamps.setdefault(m.group(1), int(m.group(2)))  # the first of each
            if "init" in stamps and "setup" in stamps:
                print(f"  jit {jit:9} {(stamps['setup'] - stamps['init']) / 1000:.2f} s "
                      f"(whole run of 1,000 iterations, exit included: {wall:.2f} s)")
            else:
                print(f"  jit {jit:9} no timing (exit {p.returncode})")
        os.environ.pop("LOADGEN_JS_JIT", None)
        print("4. CPU per request by VU count (user + system µs, voluntary context switches "
              "per request; one worker thread, JIT off, median of the rounds by total)")
        print(f"  {'':8} {'scenario file':>34} {'JS script':>34} {'JS/file':>8}")
        for vus in (1, 4, 50):
            cells = {}
            for name, target in (("file", scenario), ("js", loop)):
                runs = []
                for _ in range(rounds):
                    before = resource.getrusage(resource.RUSAGE_CHILDREN)
                    subprocess.run([LOADGEN, "run", "--quiet", "--threads", "1", "-u", str(vus),
                                    "-d", f"{secs}s", "--summary-export", export, target],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
                    after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    total, _ = requests_in(export)
                    runs.append(((after.ru_utime - before.ru_utime) / total * 1e6,
                                 (after.ru_stime - before.ru_stime) / total * 1e6,
                                 (after.ru_nvcsw - before.ru_nvcsw) / total))
                runs.sort(key=lambda r: r[0] + r[1])
                cells[name] = runs[len(runs) // 2]
            f, j = cells["file"], cells["js"]
            fmt = "{:6.1f} + {:5.1f} = {:6.1f} µs, {:4.2f} cs"
            print(f"  {vus:4} VUs {fmt.format(f[0], f[1], f[0] + f[1], f[2]):>34} "
                  f"{fmt.format(j[0], j[1], j[0] + j[1], j[2]):>34} "
                  f"{(j[0] + j[1]) / (f[0] + f[1]):8.2f}")
    finally:
        os.environ.clear()
        os.environ.update(env)
        nginx.terminate()
        nginx.wait()
        import shutil
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
