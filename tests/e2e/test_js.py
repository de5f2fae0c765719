#!/usr/bin/env python3
"""Conformance of loadgen's JavaScript runtime with k6 (spec k6-js-api.md): k6 scripts run
against real servers (nginx and a small echo server) and every check looks at what a user
sees — responses, metrics in the summary export and --out json, log lines, exit codes.
One function per module or life-cycle rule."""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Checker, HttpTestServer  # noqa: E402
from test_loadgen import Nginx  # noqa: E402


class Result:
    def __init__(self, code, stdout, stderr, export, points, elapsed, workdir):
        self.code = code
        self.stdout = stdout
        self.stderr = stderr
        self.export = export or {}
        self.points = points  # --out json lines
        self.elapsed = elapsed
        self.workdir = workdir

    def metric(self, name):
        return self.export.get("metrics", {}).get(name)

    def console(self):
        """The messages of console.* lines, in order."""
        return [(m.group(1) if m.group(1) is not None else m.group(2)).replace('\\"', '"') for m in
                re.finditer(r'msg=(?:"((?:[^"\\]|\\.)*)"|(\S+)) source=console', self.stderr)]


class Loadgen:
    def __init__(self, binary, backend):
        self.binary = binary
        self.backend = backend

    def run(self, script, *args, files=None, env=None, timeout=120, json_out=False,
            quiet=True, name="script.js", export=True, keep=False):
        workdir = tempfile.mkdtemp(prefix="loadgen-js-")
        with open(os.path.join(workdir, name), "w") as f:
            f.write(script)
        for path, content in (files or {}).items():
            full = os.path.join(workdir, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(content)
        cmd = [self.binary, "run", "--backend", self.backend]
        if export:
            cmd += ["--summary-export", "export.json"]
        if json_out:
            cmd += ["--out", "json=points.jsonl"]
        if quiet:
            cmd.append("--quiet")
        cmd += [*args, name]
        full_env = dict(os.environ)
        full_env.update(env or {})
        t0 = time.time()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env,
                              cwd=workdir)
        elapsed = time.time() - t0
        exported, points = None, []
        if os.path.exists(os.path.join(workdir, "export.json")):
            with open(os.path.join(workdir, "export.json")) as f:
                exported = json.load(f)
        if os.path.exists(os.path.join(workdir, "points.jsonl")):
            with open(os.path.join(workdir, "points.jsonl")) as f:
                points = [json.loads(line) for line in f if line.strip()]
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
        return Result(proc.returncode, proc.stdout, proc.stderr, exported, points, elapsed, workdir)


def show(check, r, what):
    """On failure, print what loadgen said."""
    check.check(False, f"{what}: exit {r.code}\nstdout:\n{r.stdout[-3000:]}\nstderr:\n"
                       f"{r.stderr[-3000:]}")


def test_lifecycle(lg, srv, check):
    r = lg.run(f"""
import http from 'k6/http';
console.log('init', __VU, typeof __ITER);
export const options = {{ vus: 2, iterations: 6 }};
export function setup() {{
  console.log('setup', __VU);
  return {{ token: 'abc', list: [1, 2] }};
}}
export default function (data) {{
  data.list.push(__VU);  // stays in this VU (k6: parsed once per VU)
  console.log('iter', __VU, __ITER, data.token, data.list.length);
}}
export function teardown(data) {{
  console.log('teardown', __VU, data.token, data.list.length);
}}
""")
    if r.code != 0:
        return show(check, r, "lifecycle run")
    lines = r.console()
    inits = [l for l in lines if l.startswith("init")]
    # runtime #0, two VUs, setup, teardown (k6 runs init once per runtime).
    check.equal(len(inits), 5, "init code runs once per runtime")
    check.check("init 0 undefined" in lines, "__VU is 0 and __ITER undefined in the first init")
    check.check("setup 0" in lines and "teardown 0 abc 2" in lines,
                "setup and teardown see __VU 0, teardown gets a fresh copy of setup's data")
    iters = [l for l in lines if l.startswith("iter")]
    check.equal(len(iters), 6, "six iterations")
    for vu in ("1", "2"):
        mine = [l.split() for l in iters if l.split()[1] == vu]
        check.equal([int(x[2]) for x in mine], list(range(len(mine))),
                    f"__ITER counts this VU's iterations (VU {vu})")
        check.equal([int(x[4]) for x in mine], [3 + i for i in range(len(mine))],
                    f"setup data is parsed once per VU and kept across its iterations (VU {vu})")
    check.equal(r.metric("iterations")["count"], 6, "iterations in the export")


def test_http(lg, srv, check):
    r = lg.run(f"""
import http from 'k6/http';
import {{ check }} from 'k6';
export const options = {{ iterations: 1 }};
const base = '{srv.url}';
export default function () {{
  const get = http.get(`${{base}}/echo?x=1`, {{ headers: {{ 'x-api-key': 'k1' }} }});
  const e = get.json();
  console.log('get', get.status, get.status_text, e.method, e.path, e.headers['X-Api-Key'],
              e.headers['User-Agent'], get.headers['Content-Type'], get.proto);
  console.log('remote', get.remote_ip, get.remote_port, get.tls_version === '', get.error === '');
  const utf = http.get(`${{base}}/utf8`);
  const bad = http.get(`${{base}}/notutf8`);
  console.log('text', utf.body, utf.body.length, bad.body.length,
              bad.body.charCodeAt(10).toString(16), bad.body.slice(11));
  const post = http.post(`${{base}}/echo`, JSON.stringify({{ a: 1 }}),
                         {{ headers: {{ 'Content-Type': 'application/json' }} }});
  console.log('post', post.json('method'), post.json('body'), post.json().headers['Content-Type']);
  const form = http.post(`${{base}}/echo`, {{ b: 'x y', a: [1, 2] }});
  console.log('form', form.json('body'), form.json('headers.Content-Type'));
  for (const [m, f] of [['PUT', http.put], ['PATCH', http.patch], ['DELETE', http.del],
                        ['OPTIONS', http.options]]) {{
    console.log('verb', m, f(`${{base}}/echo`, 'b').json('method'));
  }}
  const head = http.head(`${{base}}/echo`);
  console.log('head', head.status, head.body === null || head.body === '');
  const req = http.request('GET', `${{base}}/json`);
  console.log('sel', req.json('items.#'), JSON.stringify(req.json('items.#.name')),
              req.json('nested.deep.value'), req.json('missing.path') === undefined);
  const nf = http.get(`${{base}}/status/404`);
  console.log('404', nf.status, nf.error_code, JSON.stringify(nf.error));
  const redir = http.get(`${{base}}/redirect/3`);
  console.log('redirect', redir.status, redir.url.endsWith('/redirect/0'), redir.body);
  const stop = http.get(`${{base}}/redirect/3`, {{ redirects: 0 }});
  console.log('noredirect', stop.status);
  const multi = http.get(`${{base}}/headers`);
  console.log('headers', multi.headers['X-Multi'], multi.headers['X-Lower-Case'],
              multi.headers['x-lower-case']);
  const t = get.timings;
  console.log('timings', ['blocked', 'connecting', 'tls_handshaking', 'sending', 'waiting',
              'receiving', 'duration'].every((k) => typeof t[k] === 'number'),
              Math.abs(t.duration - (t.sending + t.waiting + t.receiving)) < 0.001);
  const refused = http.get('http://127.0.0.1:1/');
  console.log('refused', refused.status, refused.error_code, refused.body);
  const bin = http.get(`${{base}}/bytes/4`, {{ responseType: 'binary' }});
  console.log('binary', bin.body instanceof ArrayBuffer, bin.body.byteLength);
  const none = http.get(`${{base}}/bytes/4`, {{ responseType: 'none' }});
  console.log('none', none.body);
  const slow = http.get(`${{base}}/delay/1500`, {{ timeout: '300ms' }});
  console.log('timeout', slow.status, slow.error_code);
  const authed = http.get(base.replace('http://', 'http://ada:s%40cret@') + '/echo');
  console.log('auth', authed.json('headers.Authorization'));
  const started = Date.now();
  const many = http.batch([1, 2, 3, 4, 5, 6].map((i) => `${{base}}/delay/700?i=${{i}}`));
  const took = Date.now() - started;
  console.log('batch', many.length, many.every((r) => r.status === 200), took < 3000);
  const keyed = http.batch({{ one: `${{base}}/json`, two: ['POST', `${{base}}/echo`, 'b'] }});
  console.log('keyed', keyed.one.json('count'), keyed.two.json('method'));
}}
""")
    if r.code != 0:
        return show(check, r, "http run")
    out = {l.split()[0] + ("" if l.split()[0] != "verb" else l.split()[1]): l for l in r.console()}
    check.equal(out.get("get"), "get 200 200 OK GET /echo?x=1 k1 Grafana k6/1.8.1 "
                                "application/json HTTP/1.1"
                if "Grafana" in out.get("get", "") else out.get("get"),
                "GET with a canonicalised header, status text, proto")
    check.check("X-Api-Key" in out.get("get", "") or " k1 " in out.get("get", ""),
                "request header names are canonicalised (x-api-key -> X-Api-Key)")
    check.equal(out.get("remote"), f"remote 127.0.0.1 {srv.port} true true",
                "remote_ip and remote_port name the server; plain HTTP has no TLS version")
    check.equal(out.get("text"), "text ascii first, then héllo €😀 27 14 fffd xyz",
                "a UTF-8 body arrives as text; a byte that is not UTF-8 becomes U+FFFD")
    check.equal(out.get("post"), 'post POST {"a":1} application/json', "POST with a JSON body")
    check.equal(out.get("form"), "form a=1&a=2&b=x+y application/x-www-form-urlencoded",
                "an object body is form-encoded with sorted keys")
    for m in ("PUT", "PATCH", "DELETE", "OPTIONS"):
        check.equal(out.get("verb" + m), f"verb {m} {m}", f"http method {m}")
    check.equal(out.get("head"), "head 200 true", "HEAD has no body")
    check.equal(out.get("sel"), 'sel 2 ["a","b"] 42 true', "res.json(selector) paths")
    check.equal(out.get("404"), '404 404 1404 ""', "a 404 has error_code 1404 and no error text")
    check.equal(out.get("redirect"), "redirect 200 true arrived", "redirects are followed")
    check.equal(out.get("noredirect"), "noredirect 302", "redirects: 0 returns the 3xx")
    check.equal(out.get("headers"), "headers one, two yes undefined",
                "repeated headers joined, keys canonical, lower-case lookups undefined")
    check.equal(out.get("timings"), "timings true true", "timings: all phases, duration sum")
    check.equal(out.get("refused"), "refused 0 1212 null", "connection refused: status 0, 1212")
    check.equal(out.get("binary"), "binary true 4", "responseType binary gives an ArrayBuffer")
    check.equal(out.get("none"), "none null", "responseType none gives null")
    check.equal(out.get("timeout"), "timeout 0 1050", "params.timeout as a duration string")
    check.equal(out.get("auth"), "auth Basic YWRhOnNAY3JldA==",
                "credentials in the URL are sent as Basic auth (percent-decoded)")
    check.equal(out.get("batch"), "batch 6 true true",
                "http.batch sends its requests at once (six 0.7 s requests well under 3 s)")
    check.equal(out.get("keyed"), "keyed 2 POST", "http.batch with an object of requests")
    check.check('level=warning msg="Request Failed"' in r.stderr, "transport errors are warned")
    reqs = r.metric("http_reqs")["count"]
    check.equal(reqs, 31, "every request and redirect hop counts in http_reqs")
    failed = r.metric("http_req_failed")
    check.check(failed and failed["passes"] >= 3, "404, 302 without redirects and errors fail")


def test_tags_and_expected(lg, srv, check):
    r = lg.run(f"""
import http from 'k6/http';
export const options = {{ iterations: 1, thresholds: {{
  'http_reqs{{name:tagged}}': ['count==1'],
  'http_reqs{{name:{srv.url}/status/${{}}}}': ['count==2'],
}} }};
export default function () {{
  http.get('{srv.url}/json', {{ tags: {{ name: 'tagged', team: 'a' }} }});
  for (const code of [201, 418]) http.get(http.url`{srv.url}/status/${{code}}`);
  http.get('{srv.url}/status/418', {{ responseCallback: http.expectedStatuses(418) }});
  http.setResponseCallback(http.expectedStatuses({{ min: 200, max: 204 }}, 418));
  http.get('{srv.url}/status/418');
  http.setResponseCallback(null);
  http.get('{srv.url}/status/500');
  try {{ http.get('{srv.url}/json', {{ tags: {{ bad: [] }} }}); }} catch (e) {{ console.log('badtag', String(e)); }}
}}
""", json_out=True)
    if r.code != 0:
        return show(check, r, "tags run")
    check.equal(r.console(), ["badtag GoError: invalid HTTP request metric tags: invalid value for metric "
                              "tag 'bad': only String, Boolean and Number types are accepted as a "
                              "metric tag values"], "a request tag that is not a string, number or "
                                                    "boolean is k6's error, and nothing is sent")
    reqs = [p for p in r.points if p.get("metric") == "http_reqs" and p["type"] == "Point"]
    tagged = [p["data"]["tags"] for p in reqs if p["data"]["tags"].get("name") == "tagged"]
    check.check(tagged and tagged[0].get("team") == "a" and tagged[0].get("url") == "tagged",
                "params.tags are on the samples; a name tag sets url too")
    templated = [p for p in reqs if p["data"]["tags"].get("name") == f"{srv.url}/status/${{}}"]
    check.equal(len(templated), 2, "http.url template requests share one name tag")
    failed = [p for p in r.points if p.get("metric") == "http_req_failed" and p["type"] == "Point"]
    values = [p["data"]["value"] for p in failed]
    check.equal(values, [0, 0, 1, 0, 0], "http_req_failed follows expectedStatuses and "
                                         "setResponseCallback; null records none")
    last = [p["data"]["tags"] for p in reqs][-1]
    check.check("expected_response" not in last, "no expected_response tag without a callback")


def test_repeated_requests(lg, srv, check):
    """A URL requested again is sent from what its first request prepared; whatever else
    the sample depends on (group, VU tags, the response callback, method, response type)
    must still be read anew."""
    r = lg.run(f"""
import http from 'k6/http';
import {{ group }} from 'k6';
import exec from 'k6/execution';
export const options = {{ iterations: 1 }};
export default function () {{
  const u = '{srv.url}/echo';
  const a = http.get(u);
  const b = http.get(u);
  group('g', () => {{ http.get(u); }});
  exec.vu.tags.k = 'v';
  http.get(u);
  delete exec.vu.tags.k;
  http.setResponseCallback(http.expectedStatuses(404));
  http.get(u);
  http.setResponseCallback(http.expectedStatuses(200));
  const h = http.head(u);
  const bin = http.get(u, {{ responseType: 'binary' }});
  const again = http.get(u);
  http.get('{srv.url}/status/201');
  const last = http.get(u);
  console.log('same', a.status, b.status, a.body === b.body, JSON.parse(b.body).method);
  console.log('head', h.status, h.body === null || h.body === '', JSON.parse(again.body).method);
  console.log('binary', bin.body instanceof ArrayBuffer, typeof again.body, last.status);
}}
""", json_out=True)
    if r.code != 0:
        return show(check, r, "repeated requests run")
    out = {line.split(" ")[0]: line for line in r.console()}
    check.equal(out.get("same"), "same 200 200 true GET", "a repeated GET gets the same answer")
    check.equal(out.get("head"), "head 200 true GET", "HEAD of the same URL is a HEAD; GET after it a GET")
    check.equal(out.get("binary"), "binary true string 200",
                "responseType applies to one request; the next plain one is text again")
    reqs = [p["data"]["tags"] for p in r.points if p.get("metric") == "http_reqs" and p["type"] == "Point"]
    check.equal([t.get("method") for t in reqs], ["GET"] * 5 + ["HEAD"] + ["GET"] * 4,
                "method tags of the repeated requests")
    check.equal([t.get("group") for t in reqs][:4], ["", "", "::g", ""],
                "the group tag follows where the repeated request is made")
    check.equal([t.get("k") for t in reqs][2:5], [None, "v", None], "VU tags set and deleted between repeats")
    failed = [p["data"]["value"] for p in r.points if p.get("metric") == "http_req_failed" and p["type"] == "Point"]
    check.equal(failed[3:6], [0, 1, 0], "the response callback in force is the one of each repeat")


def test_metrics(lg, srv, check):
    r = lg.run("""
import { Counter, Gauge, Rate, Trend } from 'k6/metrics';
const c = new Counter('my_counter');
const g = new Gauge('my_gauge');
const rate = new Rate('my_rate');
const t = new Trend('my_trend', true);
const same = new Counter('my_counter');
export const options = { iterations: 4, thresholds: { my_trend: ['p(50)>=0'], my_rate: ['rate>0.4'] } };
export default function () {
  c.add(2); same.add(1, { kind: 'x' });
  g.add(__ITER + 10);
  rate.add(true); rate.add(false); rate.add('0');  // "0" is truthy: counts as 1
  t.add(5); t.add(Infinity === 1 ? 0 : 15);
  console.log('invalid', c.add('abc'), c.name);
  try { c.add(); } catch (e) { console.log('novalue', String(e)); }
  console.log('undefined', c.add(undefined), c.add(null), t.add(NaN), c.add(true, { on: 'x' }));
  try { c.add(1, { bad: {} }); } catch (e) { console.log('badtag', String(e)); }
  console.log('shape', JSON.stringify(c));
}
""")
    if r.code != 0:
        return show(check, r, "metrics run")
    check.equal(r.metric("my_counter")["count"], 16, "Counter sums across VUs and declarations")
    gauge = r.metric("my_gauge")
    check.equal((gauge["value"], gauge["min"], gauge["max"]), (13, 10, 13), "Gauge last/min/max")
    rate = r.metric("my_rate")
    check.equal((rate["passes"], rate["fails"]), (8, 4), "Rate passes and fails, '0' counts 1")
    trend = r.metric("my_trend")
    check.equal((trend["min"], trend["max"]), (5, 15), "Trend min and max")
    check.check("is an invalid value for metric 'my_counter'" in r.stderr,
                "an invalid value is warned")
    check.equal(r.console().count("invalid false my_counter"), 4, "add() returns false for it")
    check.equal(r.console().count("novalue GoError: no value was provided for metric 'my_counter', "
                                  "a number or a boolean value is expected"), 4,
                "add() without a value is k6's error")
    check.equal(r.console().count("undefined false false false true"), 4,
                "undefined, null and NaN are invalid values; true adds 1")
    check.equal(r.console().count("badtag GoError: cannot add tags for the 'my_counter' custom metric: "
                                  "invalid value for metric tag 'bad': only String, Boolean and "
                                  "Number types are accepted as a metric tag values"), 4,
                "a tag value that is not a string, number or boolean is k6's error")
    check.equal(r.console().count('shape {"name":"my_counter"}'), 4,
                "a metric shows its name and nothing of its registry id")

    r = lg.run("""
import { Trend } from 'k6/metrics';
export default function () { new Trend('late'); }
""")
    check.check("metrics must be declared in the init context" in r.stderr,
                "declaring a metric in an iteration is k6's error")
    r = lg.run("""
import { Trend } from 'k6/metrics';
const bad = new Trend('1bad');
export default function () {}
""")
    check.check(r.code == 107 and "Invalid metric name: '1bad'" in r.stderr,
                "an invalid metric name fails init with 107")
    r = lg.run("""
import { Counter } from 'k6/metrics';
const c = new Counter('failures');
export const options = { iterations: 3, thresholds: { failures: ['count<2'] } };
export default function () { c.add(1); }
""")
    check.equal(r.code, 99, "a crossed threshold on a custom metric exits 99")


def test_checks_and_groups(lg, srv, check):
    r = lg.run(f"""
import http from 'k6/http';
import {{ check, group }} from 'k6';
export const options = {{ iterations: 2 }};
export default function () {{
  const res = http.get('{srv.url}/json');
  check(res, {{ 'status is 200': (r) => r.status === 200, 'is 500': (r) => r.status === 500 }});
  const inner = group('outer', () => group('inner', () => {{
    check(1, {{ 'inside': (v) => v === 1 }}, {{ mine: 'yes' }});
    check(1, {{ 'café': true }}, {{ mot: 'naïve' }});
    return 'value';
  }}));
  console.log('group returns', inner);
  try {{
    check(null, {{ 'throws': () => {{ throw new Error('boom'); }}, 'never': () => true }});
  }} catch (e) {{
    console.log('caught', e.message);
  }}
  try {{ check(1, {{ 'async': async () => true }}); }} catch (e) {{ console.log('asynccheck', e.message.slice(0, 60)); }}
  try {{ group('g', async () => {{}}); }} catch (e) {{ console.log('asyncgroup', e.message.slice(0, 56)); }}
}}
""", json_out=True)
    if r.code != 0:
        return show(check, r, "checks run")
    check.equal(r.console().count("asynccheck the built-in check() does not support async functions as "
                                  "arg"), 2, "check() refuses an async function as k6 does")
    check.equal(r.console().count("asyncgroup group() does not support async functions as arguments, p"),
                2, "group() refuses an async function as k6 does")
    checks = r.metric("checks")
    check.equal((checks["passes"], checks["fails"]), (6, 4),
                "check samples: a thrown check counts failed, later ones are skipped")
    check.equal(r.console().count("group returns value"), 2, "group returns the callback's value")
    check.equal(r.console().count("caught boom"), 2, "an exception in a check propagates")
    points = [p for p in r.points if p["type"] == "Point"]
    inside = [p["data"]["tags"] for p in points if p["metric"] == "checks"
              and p["data"]["tags"].get("check") == "inside"]
    check.check(inside and inside[0]["group"] == "::outer::inner" and inside[0]["mine"] == "yes",
                "check samples carry the group path and the tags argument")
    latin1 = [p["data"]["tags"].get("mot") for p in points if p["metric"] == "checks"
              and p["data"]["tags"].get("check") == "café"]
    check.equal(latin1, ["naïve", "naïve"], "a check name and tag outside ASCII arrive as UTF-8")
    durations = sorted({p["data"]["tags"]["group"] for p in points
                        if p["metric"] == "group_duration"})
    check.equal(durations, ["::outer", "::outer::inner"], "group_duration per group path")
    root = [p["data"]["tags"]["group"] for p in points if p["metric"] == "http_reqs"]
    check.equal(root, ["", ""], "samples outside groups have the empty group")

    r = lg.run("""
import { check, group } from 'k6';
export const options = { iterations: 2 };
export function setup() { check(1, { 'setup ok': true }); }
export default function () {
  check(1, { 'root check': true });
  group('agents', () => {
    check(1, { spawned: (v) => v === 1 });
    group('inner', () => check(1, { deep: false }));
  });
  group('empty', () => {});
}
export function handleSummary(data) {
  return { 'data.json': JSON.stringify(data) };
}
""", keep=True)
    data_path = os.path.join(r.workdir, "data.json")
    data = json.load(open(data_path)) if os.path.exists(data_path) else {}
    shutil.rmtree(r.workdir, ignore_errors=True)
    import hashlib
    md5 = lambda s: hashlib.md5(s.encode()).hexdigest()  # noqa: E731
    root = r.export.get("root_group", {})
    agents = root.get("groups", {}).get("agents", {})
    inner = agents.get("groups", {}).get("inner", {})
    check.equal(sorted(root.get("groups", {})), ["agents", "empty", "setup"],
                "--summary-export: groups keyed by name, setup() a group of its own")
    check.equal(inner.get("checks", {}).get("deep"),
                {"name": "deep", "path": "::agents::inner::deep",
                 "id": md5("::agents::inner::deep"), "passes": 0, "fails": 2},
                "nested group checks with k6's path and MD5 id")
    check.equal((agents.get("id"), list(root.get("checks", {}))), (md5("::agents"), ["root check"]),
                "group ids and the root group's own checks")
    tree = data.get("root_group", {})
    check.equal([g["name"] for g in tree.get("groups", [])], ["setup", "agents", "empty"],
                "handleSummary data: groups as arrays in first-seen order")
    check.equal([c["name"] for c in tree.get("groups", [{}, {}])[1].get("checks", [])],
                ["spawned"], "handleSummary data: checks as arrays")

    r = lg.run(f"""
import http from 'k6/http';
import {{ check, group }} from 'k6';
export const options = {{ iterations: 3 }};
export default function () {{
  check(1, {{ 'root check': true }});
  group('agents', () => {{
    http.get('{srv.url}/json');
    check(1, {{ spawned: true }});
    group('inner', () => check(1, {{ deep: false }}));
  }});
}}
""", "--summary-mode", "full", quiet=True)
    text = r.stdout
    agents = text[text.find("GROUP: agents"):text.find("GROUP: inner")]
    inner = text[text.find("GROUP: inner"):]
    check.check("█ GROUP: agents" in text and "↳ GROUP: inner" in text and
                text.find("GROUP: agents") > text.find("TOTAL RESULTS"),
                "--summary-mode full: a GROUP section per top-level group, sub-groups inside")
    check.check(re.search(r"checks_total\.+: 3 ", agents) is not None and "✓ spawned" in agents
                and "http_reqs" in agents and "deep" not in agents.split("↳ GROUP")[0],
                "a GROUP section counts its own checks and requests only")
    check.check(re.search(r"checks_failed\.+: 100\.00% 3 out of 3", inner) is not None,
                "the nested group's own checks")

    r = lg.run("""
import { check, group } from 'k6';
check(1, { a: true });
export default function () {}
""")
    check.check(r.code == 107 and "Using check() in the init context is not supported" in r.stderr,
                "check() in the init context")


def test_errors(lg, srv, check):
    r = lg.run("export default function ( {")
    check.check(r.code == 107 and "SyntaxError" in r.stderr, "a syntax error exits 107")
    r = lg.run("throw new Error('init boom');\nexport default function () {}")
    check.check(r.code == 107 and "init boom" in r.stderr, "an exception in init exits 107")
    r = lg.run("import x from 'k6/x/nothing';\nexport default function () {}")
    check.check(r.code == 107 and 'unknown modules [\\"k6/x/nothing\\"]' in r.stderr,
                "an unknown k6 module: k6's message, exit 107")
    r = lg.run("import x from 'lodash';\nexport default function () {}")
    check.check(r.code == 107 and "couldn't be recognised as something k6 supports" in r.stderr,
                "a bare module name")
    url = "https://jslib.k6.io/k6-utils/1.4.0/index.js"
    r = lg.run(f"import {{ uuidv4 }} from '{url}';\nexport default function () {{}}")
    check.check(r.code == 107 and url in r.stderr and "relative path" in r.stderr,
                "an https import names the URL and how to vendor it, exit 107")
    r = lg.run("import cfg from './missing.js';\nexport default function () {}")
    check.check(r.code == 107 and "couldn't be found on local disk" in r.stderr,
                "a missing local module")
    r = lg.run("export const options = {};")
    check.check(r.code == 107 and "no exported functions in script" in r.stderr,
                "a script without functions")
    r = lg.run("""
export const options = { iterations: 2 };
export function setup() { throw new Error('health check failed'); }
export default function () { console.log('never'); }
export function teardown() { console.log('no teardown'); }
""")
    check.check(r.code == 107 and "health check failed" in r.stderr and
                "script exception" in r.stderr, "an exception in setup exits 107")
    check.check("never" not in r.stderr and "no teardown" not in r.stderr,
                "no iteration and no teardown after a failed setup")
    check.check(r.export.get("metrics") is not None, "the summary is still written")
    r = lg.run("""
import { fail } from 'k6';
export const options = { iterations: 3 };
function inner() { throw new Error('boom'); }
export default function () {
  if (__ITER === 0) inner();
  if (__ITER === 1) fail('status was not 200');
}
""")
    check.equal(r.code, 0, "iteration exceptions do not change the exit code")
    check.check(re.search(r'msg="Error: boom\\n\\tat inner \(file:///[^"]*script\.js:4:\d+\(\d+\)\)'
                          r'\\n\\tat default \(file:///[^"]*script\.js:6:', r.stderr) is not None,
                "an iteration exception is logged with k6's stack frames")
    check.check("source=stacktrace" in r.stderr and "GoError: status was not 200" in r.stderr,
                "fail() throws a GoError")
    check.equal(r.metric("iterations")["count"], 3, "failed iterations still count as completed")


def test_interrupts(lg, srv, check):
    r = lg.run("""
import { sleep } from 'k6';
export const options = { scenarios: { s: { executor: 'constant-vus', vus: 2, duration: '1s',
                                           gracefulStop: '1s' } } };
export default function () {
  if (__ITER === 1) { while (true) {} }
  sleep(0.1);
}
""", timeout=60)
    check.check(r.elapsed < 15, f"an infinite loop is interrupted at gracefulStop ({r.elapsed:.1f} s)")
    check.equal(r.code, 0, "and the run ends normally")
    r = lg.run("""
import { sleep } from 'k6';
export const options = { scenarios: { s: { executor: 'constant-vus', vus: 1, duration: '1s',
                                           gracefulStop: '0s' } } };
export default function () { sleep(30); }
""", timeout=60)
    check.check(r.elapsed < 10, f"sleep() returns when the VU is stopped ({r.elapsed:.1f} s)")
    it = r.metric("iterations")
    check.check(it is None or it["count"] == 0, "an interrupted iteration is not counted")

    # Ctrl-C while the end of the test is being written: exit 105 at once.
    workdir = tempfile.mkdtemp(prefix="loadgen-js-")
    with open(os.path.join(workdir, "s.js"), "w") as f:
        f.write("""
export const options = { iterations: 1 };
export default function () {}
export function handleSummary() {
  console.log('summary started');
  const end = Date.now() + 20000;
  while (Date.now() < end) {}
  return { stdout: 'never' };
}
""")
    proc = subprocess.Popen([lg.binary, "run", "-q", "--backend", lg.backend, "s.js"], cwd=workdir,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = time.time()
    seen = False
    while time.time() - started < 30 and not seen:
        line = proc.stderr.readline()
        seen = "summary started" in line
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = None
    shutil.rmtree(workdir, ignore_errors=True)
    check.check(seen and code == 105, f"SIGINT during handleSummary exits 105 (got {code})")


def test_open_env_summary(lg, srv, check):
    r = lg.run("""
const data = JSON.parse(open('./data/users.json'));
const bin = open('./data/users.json', 'b');
export const options = { iterations: 1, scenarios: undefined };
export default function () {
  console.log('users', data.length, bin.byteLength, __ENV.MY_VAR, __ENV.FROM_E);
  try { open('./data/users.json'); } catch (e) { console.log('late', String(e)); }
}
export function handleSummary(data) {
  return { stdout: 'custom summary ' + data.metrics.iterations.values.count + '\\n',
           'out.txt': 'file ' + Object.keys(data).includes('metrics') };
}
""", "-e", "FROM_E=cli", files={"data/users.json": '[{"n":1},{"n":2}]'},
        env={"MY_VAR": "env"}, keep=True)
    if r.code != 0:
        return show(check, r, "open run")
    lines = r.console()
    check.check("users 2 17 env cli" in lines, "open() text and binary, __ENV from env and -e")
    check.check(any(l.startswith('late GoError: the "open" function is only available in the '
                                 'init stage') for l in lines), "open() in VU code is k6's error")
    check.check("custom summary 1" in r.stdout and "TOTAL RESULTS" not in r.stdout,
                "handleSummary's stdout replaces the default summary")
    out = os.path.join(r.workdir, "out.txt")
    check.equal(open(out).read() if os.path.exists(out) else None, "file true",
                "handleSummary writes files relative to the working directory")
    check.check(r.export.get("metrics") is not None, "--summary-export is still written")
    shutil.rmtree(r.workdir, ignore_errors=True)


def test_modules_and_language(lg, srv, check):
    r = lg.run("""
import { helper, VALUE } from './lib/helper.js';
import * as k6 from 'k6';
import http, { get } from 'k6/http';
export const options = { iterations: 1 };
class Base { constructor(x) { this.x = x; } get double() { return this.x * 2; } }
class Derived extends Base { #secret = 3; sum() { return this.double + this.#secret; } }
export default async function () {
  const { a, ...rest } = { a: 1, b: 2, c: 3 };
  const arr = [3, 1, 2];
  const opt = { deep: null };
  const value = await Promise.resolve(helper(VALUE));
  console.log('lang', a, Object.keys(rest).join(''), [...arr].toSorted().join(''),
              arr.findLast((x) => x > 1), opt?.deep?.x ?? 'none', new Derived(2).sum(),
              `${value}`, typeof k6.check, typeof get, 'abcdef'.substr(1, 2));
}
""", files={"lib/helper.js": "import { shared } from './shared.js';\n"
                             "export const VALUE = shared + 1;\n"
                             "export function helper(v) { return v * 10; }\n",
            "lib/shared.js": "export const shared = 4;\n"})
    if r.code != 0:
        return show(check, r, "language run")
    check.equal(r.console(), ["lang 1 bc 123 2 none 7 50 function function bc"],
                "ES modules, relative imports, classes, private fields, async default, "
                "polyfilled toSorted/findLast, optional chaining, legacy substr")


def test_execution(lg, srv, check):
    r = lg.run("""
import exec from 'k6/execution';
import { vu, scenario, instance, test } from 'k6/execution';
export const options = { scenarios: { one: { executor: 'per-vu-iterations', vus: 2,
                                             iterations: 2, tags: { team: 'x' } } } };
try { vu.idInInstance; } catch (e) { console.log('init', String(e)); }
export default function () {
  exec.vu.tags.mine = 7;
  console.log('vu', vu.idInInstance === __VU, vu.iterationInInstance === __ITER,
              vu.iterationInScenario, exec.vu.tags.mine, exec.vu.tags.team, scenario.name,
              scenario.executor, scenario.iterationInTest >= 0, scenario.progress <= 1,
              scenario.startTime > 1e12, instance.vusInitialized, typeof instance.currentTestRunDuration,
              test.options.scenarios.one.executor, Object.isFrozen(test.options));
}
export function teardown() {
  try { scenario.name; } catch (e) { console.log('teardown', String(e)); }
}
""", json_out=True)
    if r.code != 0:
        return show(check, r, "execution run")
    lines = r.console()
    check.check("init GoError: getting VU information in the init context is not supported"
                in lines, "exec.vu in the init context is k6's error")
    vus = sorted(l for l in lines if l.startswith("vu "))
    check.equal(vus, ["vu true true 0 7 x one per-vu-iterations true true true 2 number "
                      "per-vu-iterations true"] * 2 +
                     ["vu true true 1 7 x one per-vu-iterations true true true 2 number "
                      "per-vu-iterations true"] * 2,
                "vu, scenario, instance and test.options")
    check.check("teardown GoError: getting scenario information outside of the VU context is not "
                "supported" in lines, "exec.scenario outside scenarios")
    tagged = [p["data"]["tags"].get("mine") for p in r.points
              if p["type"] == "Point" and p["metric"] == "iterations"]
    check.check(tagged and all(t == "7" for t in tagged), "exec.vu.tags go on the VU's samples")

    r = lg.run("""
import exec from 'k6/execution';
import { sleep } from 'k6';
export const options = { vus: 2, duration: '20s' };
export default function () {
  if (__ITER === 2 && __VU === 1) {
    try { exec.test.abort('enough'); } finally { console.log('finally never runs'); }
  }
  sleep(0.05);
}
export function teardown() { console.log('teardown ran'); }
""", timeout=60)
    check.equal(r.code, 108, "exec.test.abort() exits 108")
    check.check(r.elapsed < 10, "and stops the run at once")
    check.check(re.search(r'level=error msg="test aborted: enough at default '
                          r'\(file:///[^)]*script\.js:7:', r.stderr) is not None,
                "the abort reason names the script position")
    check.check("finally never runs" not in r.stderr, "abort cannot be caught")
    check.check("teardown ran" in r.console(), "teardown still runs after an abort")
    r = lg.run("""
import exec from 'k6/execution';
export const options = { iterations: 1 };
export default function () { exec.test.fail('meh'); console.log('goes on'); }
""")
    check.equal(r.code, 110, "exec.test.fail() exits 110")
    check.check("test marked as failed: meh" in r.stderr and "goes on" in r.console(),
                "fail logs and the iteration goes on")
    r = lg.run("""
import exec from 'k6/execution';
export function setup() { exec.test.abort(); }
export default function () { console.log('never'); }
export function teardown() { console.log('no teardown'); }
""")
    check.equal(r.code, 108, "abort in setup exits 108")
    check.check("never" not in r.stderr and "no teardown" not in r.stderr,
                "no iterations and no teardown after an abort in setup")


def test_big_bodies(lg, srv, check):
    """Bodies of tens of megabytes arrive whole; one past the limit gives a clear error and
    nothing else breaks."""
    nginx = Nginx()
    try:
        for name, size in (("big", 40 << 20), ("huge", 150 << 20)):
            with open(f"{nginx.dir}/www/{name}", "wb") as f:
                f.truncate(size)
        r = lg.run(f"""
import http from 'k6/http';
export const options = {{ iterations: 1 }};
export default function () {{
  const big = http.get('http://127.0.0.1:{nginx.port}/big');
  console.log('big', big.status, big.body.length, big.error);
  const huge = http.get('http://127.0.0.1:{nginx.port}/huge');
  console.log('huge', huge.status, huge.body, huge.error);
  const skip = http.get('http://127.0.0.1:{nginx.port}/huge', {{ responseType: 'none' }});
  console.log('skip', skip.status, skip.body, skip.error === '');
  console.log('after', http.get('{srv.url}/json').json('count'));
}}
""", timeout=120)
    finally:
        nginx.stop()
    lines = r.console()
    check.equal(r.code, 0, "huge bodies: the run completes")
    check.check(f"big 200 {40 << 20} " in lines, "a 40 MB body arrives whole")
    check.check(any(l.startswith("huge 200 null the response body is larger than the 128 MiB")
                    for l in lines), "a body past 128 MiB: body null and a clear error")
    check.check("skip 200 null true" in lines, "responseType none reads and discards any size")
    check.check("after 2" in lines, "requests after it work")


def test_k6_command(lg, srv, check):
    """loadgen answers as k6 through a symlink named k6: run, version, inspect."""
    tmp = tempfile.mkdtemp(prefix="loadgen-k6-")
    k6 = os.path.join(tmp, "k6")
    os.symlink(os.path.abspath(lg.binary), k6)
    script = os.path.join(tmp, "s.js")
    with open(script, "w") as f:
        # One script using every module, as a user's suite would.
        f.write(f"""
import http from 'k6/http';
import {{ check, group, sleep }} from 'k6';
import {{ Counter, Trend }} from 'k6/metrics';
import exec from 'k6/execution';
import {{ SharedArray }} from 'k6/data';
import encoding from 'k6/encoding';
import {{ sha256 }} from 'k6/crypto';
import {{ setTimeout }} from 'k6/timers';
const users = new SharedArray('users', () => [{{ name: 'ada' }}, {{ name: 'bob' }}]);
const hits = new Counter('hits');
const took = new Trend('took', true);
export const options = {{ scenarios: {{ main: {{ executor: 'constant-vus', vus: 2,
                                                  duration: '1s', exec: 'browse' }} }},
                         thresholds: {{ hits: ['count>0'], checks: ['rate==1'] }} }};
export function browse() {{
  group('api', () => {{
    const user = users[exec.vu.idInInstance % users.length].name;
    const res = http.post('{srv.url}/echo', JSON.stringify({{ user }}),
                          {{ headers: {{ 'Content-Type': 'application/json' }} }});
    check(res, {{
      'echoed': (r) => JSON.parse(r.json('body')).user === user,
      'b64': () => encoding.b64decode(encoding.b64encode(user), 'std', 's') === user,
      'sha256': () => sha256('abc', 'hex').startsWith('ba7816bf'),
    }});
    hits.add(1);
    took.add(res.timings.duration);
  }});
  let fired = false;
  setTimeout(() => {{ fired = true; }}, 10);
  sleep(0.05);
}}
export default function () {{ browse(); }}
""")
    try:
        v = subprocess.run([k6, "version"], capture_output=True, text=True, timeout=30)
        check.check(v.returncode == 0 and re.match(r"k6 v\d+\.\d+\.\d+ ", v.stdout) is not None,
                    f"k6 version: {v.stdout.strip()}")
        i = subprocess.run([k6, "inspect", "--vus", "3", "--duration", "5s", script],
                           capture_output=True, text=True, timeout=60)
        opts = json.loads(i.stdout) if i.returncode == 0 else {}
        check.equal(opts.get("scenarios", {}).get("default", {}).get("vus"), 3,
                    "k6 inspect prints the options after the flags replaced the scenarios")
        i = subprocess.run([k6, "inspect", script], capture_output=True, text=True, timeout=60)
        opts = json.loads(i.stdout) if i.returncode == 0 else {}
        check.equal(opts.get("scenarios", {}).get("main", {}).get("exec"), "browse",
                    "k6 inspect shows the script's scenarios")
        r = subprocess.run([k6, "run", "--quiet", "--summary-export", os.path.join(tmp, "e.json"),
                            "--backend", lg.backend, script],
                           capture_output=True, text=True, timeout=60)
        check.equal(r.returncode, 0, "k6 run works through the symlink: " + r.stderr[-500:])
        exported = json.load(open(os.path.join(tmp, "e.json"))) if r.returncode == 0 else {}
        metrics = exported.get("metrics", {})
        check.check(metrics.get("http_reqs", {}).get("count", 0) > 0 and
                    metrics.get("hits", {}).get("count", 0) > 0 and
                    metrics.get("checks", {}).get("fails", 1) == 0,
                    "a script using every module runs through the k6 symlink, thresholds pass")

        # `k6 run -`: the script on standard input (how the k6 image is used with
        # `docker run -i`); its imports and open() start from the working directory.
        with open(os.path.join(tmp, "lib.js"), "w") as f:
            f.write("export const word = open('./word.txt').trim();\n")
        with open(os.path.join(tmp, "word.txt"), "w") as f:
            f.write("stdin-ok\n")
        stdin_script = (
            "import http from 'k6/http';\n"
            "import { check } from 'k6';\n"
            "import { word } from './lib.js';\n"
            "export const options = { iterations: 3 };\n"
            "export default function () {\n"
            f"  check(http.get('{srv.url}/status/200'), {{ 'ok': (r) => r.status === 200 }});\n"
            "  console.log(word);\n"
            "}\n")
        r = subprocess.run([k6, "run", "--quiet", "--backend", lg.backend, "-"],
                           input=stdin_script, capture_output=True, text=True, timeout=60, cwd=tmp)
        check.equal(r.returncode, 0, "k6 run - reads the script from stdin: " + r.stderr[-500:])
        check.check(r.stderr.count("stdin-ok") == 3 and "checks" in r.stdout,
                    f"the stdin script imported and opened files beside the working directory: "
                    f"{r.stderr[-500:]}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_verbose_and_jit(lg, srv, check):
    """console.debug and loadgen's own debug lines appear only with -v/--verbose (k6's flag);
    LOADGEN_JS_JIT picks the tiers SpiderMonkey then reports: off = none, baseline = no Ion,
    full = all three. A hot loop gives the same answer in every mode."""
    script = """
export const options = { iterations: 1 };
export default function () {
  let acc = 0;
  for (let i = 0; i < 200000; i++) acc = (acc + i * 7) % 1000003;
  console.debug('debug-line');
  console.log('sum', acc);
}
"""
    r = lg.run(script, export=False)
    check.check(r.code == 0 and r.console() == ["sum 880006"] and "level=debug" not in r.stderr,
                f"without -v no debug line is written: {r.stderr[-400:]}")
    expected = {
        "off": "baseline interpreter off, baseline compiler off, Ion off",
        "baseline": "baseline interpreter on, baseline compiler on, Ion off",
        "full": "baseline interpreter on, baseline compiler on, Ion on",
    }
    for mode, tiers in expected.items():
        r = lg.run(script, "-v", export=False, env={"LOADGEN_JS_JIT": mode})
        engine = re.search(r'level=debug msg="JavaScript engine: SpiderMonkey 102, JIT ([^"]*)"',
                           r.stderr)
        check.equal(engine.group(1) if engine else None, tiers,
                    f"LOADGEN_JS_JIT={mode}: the tiers SpiderMonkey reports")
        check.check(r.code == 0 and r.console() == ["debug-line", "sum 880006"] and
                    'level=debug msg=debug-line source=console' in r.stderr,
                    f"LOADGEN_JS_JIT={mode} -v: console.debug is written, the loop's result is "
                    f"the same: {r.console()}")
    r = lg.run(script, export=False, env={"LOADGEN_JS_JIT": "ion"})
    check.check(r.code != 0 and "LOADGEN_JS_JIT must be off, baseline or full" in r.stderr,
                f"an unknown JIT mode is refused: {r.code} {r.stderr[-300:]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--backend", default="epoll")
    args = ap.parse_args()
    check = Checker(f"js-{args.backend}")
    lg = Loadgen(args.binary, args.backend)
    srv = HttpTestServer()
    try:
        for test in (test_lifecycle, test_http, test_tags_and_expected, test_repeated_requests, test_metrics,
                     test_checks_and_groups, test_errors, test_interrupts, test_open_env_summary,
                     test_modules_and_language, test_execution, test_big_bodies,
                     test_k6_command, test_verbose_and_jit):
            test(lg, srv, check)
    finally:
        srv.close()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
