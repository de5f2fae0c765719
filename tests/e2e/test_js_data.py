#!/usr/bin/env python3
"""loadgen's k6/data (SharedArray), cookies in k6/http (the VU jar and its reset per
iteration, CookieJar, params.cookies, params.jar, res.cookies) and http.file with multipart
bodies, checked against k6-js-api.md §8.1, §4.3, §4.4, §4.6, §4.8 and §4.9. Scripts run
against the harness's HTTP server; every check looks at what a user or a server sees."""

import argparse
import email.parser
import email.policy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Checker, HttpTestServer  # noqa: E402
from test_js import Loadgen, show  # noqa: E402


def lines_with(r, prefix):
    """console lines starting with `prefix `, without it."""
    return [line[len(prefix) + 1:] for line in r.console() if line.startswith(prefix + " ")]


def one(r, prefix):
    """The text after `prefix` when every runtime that printed it printed the same (init
    code runs in several runtimes), else all of them."""
    found = lines_with(r, prefix)
    return found[0] if found and len(set(found)) == 1 else found


# ---- k6/data ---------------------------------------------------------------------------

USERS = [{"name": "ann", "tags": ["a", "b"], "address": {"city": "Oslo", "zip": [0, 1]}},
         {"name": "bob", "tags": [], "address": None}, "plain", 7, None, True]


def test_shared_array(lg, srv, check):
    r = lg.run("""
import { SharedArray } from 'k6/data';
import exec from 'k6/execution';
const users = new SharedArray('users', function () {
  console.log('building users');
  return JSON.parse(open('./users.json'));
});
const numbers = new SharedArray('numbers', () => { console.log('building numbers'); return [3, 1, 2]; });
export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 3, iterations: 2 } } };
export function setup() { return { count: users.length }; }
export default function (data) {
  const first = users[0];
  console.log('values', __VU, users.length, JSON.stringify(users[0]), users[2], users[3], users[4], users[5],
              users[6] === undefined, users[-1] === undefined, users['x'] === undefined, data.count);
  console.log('frozen', Object.isFrozen(first), Object.isFrozen(first.tags), Object.isFrozen(first.address.zip),
              first === users[0], JSON.stringify(first) === JSON.stringify(users[0]));
  let errors = [];
  const attempt = (fn) => { try { fn(); errors.push('none'); } catch (e) { errors.push(e.constructor.name + ': ' + e.message); } };
  attempt(() => { users[0] = 1; });
  attempt(() => { users[10] = 1; });
  attempt(() => { users.length = 0; });
  attempt(() => { users.push(1); });
  attempt(() => { delete users[0]; });
  attempt(() => { numbers.sort(); });
  attempt(() => { 'use strict'; first.name = 'changed'; });
  console.log('errors', errors.join(' | '));
  const mapped = users.map((u) => (u && u.name) || String(u));
  mapped.push('extra');
  const sliced = numbers.slice(1);
  sliced.push(9);
  const seen = [];
  for (const u of users) seen.push(typeof u);
  console.log('array', Array.isArray(users), users instanceof Array, mapped.join(','), sliced.join(','),
              [...numbers].sort().join(','), numbers.indexOf(2), numbers.includes(3), seen.length,
              Object.keys(users).join(','), 0 in users, 6 in users, JSON.stringify(numbers),
              numbers.reduce((a, b) => a + b, 0), users.filter((u) => typeof u === 'object' && u).length,
              numbers.join('-'), Array.from(numbers).length, users.length === exec.vu.idInTest * 0 + 6);
}
export function teardown() { console.log('teardown', users.length, numbers[0]); }
""", files={"users.json": json.dumps(USERS)})
    if r.code != 0:
        return show(check, r, "SharedArray run")
    # Runtime #0, three VUs, setup and teardown all construct both arrays; the functions
    # run once per process.
    check.equal(r.console().count("building users"), 1, "the users function ran once per process")
    check.equal(r.console().count("building numbers"), 1, "the numbers function ran once per process")
    values = lines_with(r, "values")
    check.equal(len(values), 6, "six iterations")
    expected = (json.dumps(USERS[0], separators=(",", ":")) + " plain 7 null true true true true 6")
    check.equal(sorted({v.split(" ", 1)[1] for v in values}), ["6 " + expected],
                "every VU sees the same elements; out of range gives undefined")
    check.equal(sorted({int(v.split()[0]) for v in values}), [1, 2, 3], "all three VUs read it")
    check.equal(set(lines_with(r, "frozen")), {"true true true false true"},
                "elements are deep-frozen and parsed afresh on every access")
    immutable = "TypeError: SharedArray is immutable"
    errors = set(lines_with(r, "errors"))
    check.equal(len(errors), 1, "the same errors in every iteration")
    got = next(iter(errors)).split(" | ") if errors else []
    check.equal(got[:6], [immutable] * 6,
                "writes, length changes, push, delete and sort throw TypeError 'SharedArray is "
                "immutable'")
    check.check(len(got) == 7 and got[6].startswith("TypeError"),
                f"an element cannot be changed either (frozen): {got[6:]}")
    check.equal(set(lines_with(r, "array")),
                {"true true ann,bob,plain,7,null,true,extra 1,2,9 1,2,3 2 true 6 0,1,2,3,4,5 true "
                 "false [3,1,2] 6 2 3-1-2 3 true"},
                "array-like: isArray, iteration, keys, in, and Array.prototype methods returning "
                "ordinary (mutable) arrays")
    check.check("teardown 6 3" in r.console(), "teardown's runtime sees the data too")

    # Runtimes that initialise at the same time: the first builds, the others wait for it.
    r = lg.run("""
import { SharedArray } from 'k6/data';
let late;
if (__VU > 0) {
  late = new SharedArray('late', () => {
    console.log('building late');
    const until = Date.now() + 300;
    while (Date.now() < until) {}
    return Array.from({ length: 1000 }, (_, i) => ({ i }));
  });
}
export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 4, iterations: 1 } } };
export default function () { console.log('late', late.length, late[999].i); }
""")
    if r.code != 0:
        return show(check, r, "parallel SharedArray run")
    check.equal(r.console().count("building late"), 1,
                "VUs initialising in parallel build a SharedArray once")
    check.equal(r.console().count("late 1000 999"), 4, "and all of them read it")


def peak_rss_mb(lg, script, files):
    """Runs `script` and returns (exit code, stderr, the process's peak RSS in MB)."""
    workdir = tempfile.mkdtemp(prefix="loadgen-js-data-")
    try:
        for name, content in {"script.js": script, **files}.items():
            with open(os.path.join(workdir, name), "w") as f:
                f.write(content)
        with open(os.path.join(workdir, "stderr.txt"), "w+") as err:
            proc = subprocess.Popen([lg.binary, "run", "--backend", lg.backend, "--quiet",
                                     "script.js"], cwd=workdir, stdout=subprocess.DEVNULL,
                                    stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            err.seek(0)
            return proc.returncode, err.read(), usage.ru_maxrss / 1024
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def test_shared_array_memory(lg, srv, check):
    # About 4 MB of JSON. Held as JavaScript objects by every VU it would cost each of them
    # at least that much; as SharedArray views only the process's one copy exists.
    rows = [{"id": i, "name": f"user-{i:06d}", "email": f"user{i}@example.test",
             "note": "x" * 120} for i in range(20000)]
    files = {"users.json": json.dumps(rows)}
    body = """
export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: VUS, iterations: 1 } } };
export default function () {
  let sum = 0;
  for (let i = 0; i < 200; i++) sum += users[(i * 97 + __VU) % users.length].id;
  console.log('read', users.length, sum > 0);
}
"""
    shared = ("import { SharedArray } from 'k6/data';\n"
              "const users = new SharedArray('users', () => JSON.parse(open('./users.json')));\n")
    copied = "const users = JSON.parse(open('./users.json'));\n"
    peaks = {}
    for label, head in (("shared", shared), ("copied", copied)):
        for vus in (2, 22):
            code, err, peak = peak_rss_mb(lg, head + body.replace("VUS", str(vus)), files)
            if not check.equal(code, 0, f"{label} run with {vus} VUs exits 0"):
                print(err[-2000:])
                return
            check.equal(err.count("read 20000 true"), vus, f"{label}: every VU reads the data")
            peaks[(label, vus)] = peak
    shared_growth = peaks[("shared", 22)] - peaks[("shared", 2)]
    copied_growth = peaks[("copied", 22)] - peaks[("copied", 2)]
    print(f"peak RSS growth for 20 more VUs: SharedArray {shared_growth:.0f} MB, "
          f"a copy per VU {copied_growth:.0f} MB", flush=True)
    check.check(copied_growth > 80,
                f"the measurement sees per-VU copies ({copied_growth:.0f} MB for 20 VUs)")
    check.check(shared_growth < 45 and shared_growth < copied_growth / 2,
                f"SharedArray keeps one copy per process ({shared_growth:.0f} MB for 20 VUs, "
                f"{copied_growth:.0f} MB with a copy each)")


def test_shared_array_errors(lg, srv, check):
    r = lg.run("""
import { SharedArray } from 'k6/data';
const attempt = (what, fn) => { try { fn(); console.log(what, 'no error'); } catch (e) { console.log(what, String(e), e.name); } };
attempt('empty', () => new SharedArray('', () => []));
attempt('nofn', () => new SharedArray('a', 5));
attempt('async', () => new SharedArray('b', async () => []));
attempt('object', () => new SharedArray('c', () => ({ length: 1, 0: 'x' })));
attempt('throws', () => new SharedArray('d', () => { throw new Error('broken source'); }));
const retried = new SharedArray('d', () => ['second try']);
attempt('undefined', () => new SharedArray('e', () => [undefined])[0]);
attempt('call', () => SharedArray('f', () => []));
export default function () {
  attempt('vu', () => new SharedArray('g', () => []));
  console.log('retried', retried[0]);
}
""", "--iterations", "1")
    if r.code != 0:
        return show(check, r, "SharedArray errors run")
    go = "GoError"
    check.equal(one(r, "empty"), f"GoError: empty name provided to SharedArray's constructor {go}",
                "an empty name")
    check.equal(one(r, "nofn"), "GoError: a function is expected as the second argument of "
                                f"SharedArray's constructor {go}", "a non-function")
    check.equal(one(r, "async"), "GoError: SharedArray constructor does not support async "
                                 f"functions as second argument {go}", "an async function")
    check.equal(one(r, "object"), f"GoError: only arrays can be made into SharedArray {go}",
                "a function returning a non-array")
    throws = lines_with(r, "throws")
    check.equal(throws[:1], ["Error: broken source Error"],
                "an exception in the function reaches the script (runtime #0)")
    check.check(len(throws) > 1 and set(throws[1:]) == {"no error"},
                f"later runtimes find the array the retry built: {throws[1:]}")
    check.equal(one(r, "retried"), "second try",
                "a name whose function failed is built by the next construction")
    undefined = one(r, "undefined")
    check.check(isinstance(undefined, str) and undefined.startswith("SyntaxError"),
                f"an undefined element is stored as k6 does and fails to parse when read: "
                f"{undefined}")
    check.check(isinstance(one(r, "call"), str) and one(r, "call").startswith("TypeError"),
                "SharedArray needs new")
    check.equal(one(r, "vu"), f"GoError: new SharedArray must be called in the init context {go}",
                "new SharedArray in the VU context")


# ---- cookies -----------------------------------------------------------------------------

def test_cookie_jar_reset(lg, srv, check):
    script = f"""
import http from 'k6/http';
const base = '{srv.url}';
export const options = {{ scenarios: {{ s: {{ executor: 'per-vu-iterations', vus: 1, iterations: 3 }} }} }};
export default function () {{
  const seen = http.get(`${{base}}/cookies`).json().header;
  http.get(`${{base}}/cookies/set?iter${{__ITER}}=v${{__ITER}}`);
  console.log('iter', __ITER, seen, JSON.stringify(http.cookieJar().cookiesForURL(base)));
}}
"""
    r = lg.run(script)
    if r.code != 0:
        return show(check, r, "cookie reset run")
    check.equal(lines_with(r, "iter"),
                ['0 null {"iter0":["v0"]}', '1 null {"iter1":["v1"]}', '2 null {"iter2":["v2"]}'],
                "every iteration starts with an empty jar: nothing is sent from the last one")
    r = lg.run(script.replace("export const options = {",
                              "export const options = { noCookiesReset: true,"))
    if r.code != 0:
        return show(check, r, "noCookiesReset run")
    check.equal(lines_with(r, "iter"),
                ['0 null {"iter0":["v0"]}', '1 iter0=v0 {"iter0":["v0"],"iter1":["v1"]}',
                 '2 iter0=v0; iter1=v1 {"iter0":["v0"],"iter1":["v1"],"iter2":["v2"]}'],
                "with noCookiesReset the VU keeps its jar across iterations")
    check.check("unknown field" not in r.stderr, "noCookiesReset is a known option")

    r = lg.run(f"""
import http from 'k6/http';
try {{ http.cookieJar(); }} catch (e) {{ console.log('init', String(e)); }}
const own = new http.CookieJar();
own.set('{srv.url}', 'early', '1');
export function setup() {{
  http.get('{srv.url}/cookies/set?fromsetup=1');
  console.log('setup', JSON.stringify(http.cookieJar().cookiesForURL('{srv.url}')));
}}
export default function () {{
  console.log('vu', JSON.stringify(http.cookieJar().cookiesForURL('{srv.url}')),
              JSON.stringify(own.cookiesForURL('{srv.url}')), http.cookieJar() === http.cookieJar());
}}
""", "--iterations", "1")
    if r.code != 0:
        return show(check, r, "cookie jar context run")
    check.equal(one(r, "init"), "GoError: Making cookie jars in the init context is not supported",
                "http.cookieJar() in the init context is k6's error")
    check.equal(one(r, "setup"), '{"fromsetup":["1"]}', "setup has a jar")
    check.equal(one(r, "vu"), '{} {"early":["1"]} true',
                "setup's jar is its own; new CookieJar() works in the init context")


def test_cookies_over_http(lg, srv, check):
    base = srv.url
    r = lg.run(f"""
import http from 'k6/http';
const base = '{base}';
export default function () {{
  // Set-Cookie is stored and sent back; res.cookies has k6's eight keys.
  const set = http.get(`${{base}}/cookies/raw?h=${{encodeURIComponent('sess=abc; Path=/; HttpOnly; Max-Age=60')}}` +
    `&h=${{encodeURIComponent('pref=dark; Path=/cookies; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Secure; Domain=127.0.0.1')}}` +
    `&h=${{encodeURIComponent('multi=1; Path=/')}}&h=${{encodeURIComponent('multi=2; Path=/cookies')}}`);
  console.log('rescookies', JSON.stringify(set.cookies));
  const back = http.get(`${{base}}/cookies`).json();
  console.log('sent', back.header);
  console.log('jar', JSON.stringify(http.cookieJar().cookiesForURL(`${{base}}/cookies`)),
              JSON.stringify(http.cookieJar().cookiesForURL(`${{base}}/other`)),
              JSON.stringify(http.cookieJar().cookiesForURL('https://127.0.0.1/cookies')));
  // Max-Age=0 and an Expires in the past delete.
  http.get(`${{base}}/cookies/raw?h=${{encodeURIComponent('sess=; Path=/; Max-Age=0')}}` +
    `&h=${{encodeURIComponent('multi=gone; Path=/; Expires=Thu, 01 Jan 1970 00:00:01 GMT')}}`);
  console.log('deleted', http.get(`${{base}}/cookies`).json().header);

  // Cookies set by a redirect are stored and sent on the next hop.
  const hop = http.get(`${{base}}/cookies/redirect?hop=yes&to=/cookies`);
  console.log('redirect', hop.status, hop.json().header, JSON.stringify(hop.cookies),
              JSON.stringify(http.cookieJar().cookiesForURL(base)));

  // params.cookies: sent with the jar's, not stored; replace drops the jar's of that name.
  const withParams = http.get(`${{base}}/cookies`, {{
    cookies: {{ extra: 'x y', hop: {{ value: 'mine', replace: true }}, skipped: null }},
    headers: {{ Cookie: 'raw=1' }} }});
  console.log('params', withParams.json().header);
  console.log('request', JSON.stringify(withParams.request.cookies), withParams.request.headers.Cookie.length,
              withParams.request.headers.Cookie[0] === withParams.json().header);
  const both = http.get(`${{base}}/cookies`, {{ cookies: {{ hop: 'again' }} }});
  console.log('noreplace', both.json().header);
  console.log('notstored', JSON.stringify(Object.keys(http.cookieJar().cookiesForURL(`${{base}}/cookies`)).sort()));

  // params.jar: that jar sends and keeps; the VU jar is left alone.
  const jar = new http.CookieJar();
  jar.set(base, 'own', '1');
  const viaJar = http.get(`${{base}}/cookies/set?intojar=2`, {{ jar }});
  console.log('paramsjar', viaJar.json().header, JSON.stringify(jar.cookiesForURL(base)),
              'intojar' in http.cookieJar().cookiesForURL(base), 'own' in http.cookieJar().cookiesForURL(base));
  const notJar = http.get(`${{base}}/cookies`, {{ jar: {{}} }});
  console.log('notjar', notJar.json().header);
  console.log('percent', http.get(`${{base}}/cookies?q=100%`).json().header);
}}
""", "--iterations", "1")
    if r.code != 0:
        return show(check, r, "cookies over http run")
    rescookies = json.loads(one(r, "rescookies"))
    check.equal(rescookies.get("sess"),
                [{"name": "sess", "value": "abc", "domain": "", "path": "/", "http_only": True,
                  "secure": False, "max_age": 60, "expires": -6795364578871}],
                "res.cookies: a cookie without Expires, with Max-Age and HttpOnly")
    check.equal(rescookies.get("pref"),
                [{"name": "pref", "value": "dark", "domain": "127.0.0.1", "path": "/cookies",
                  "http_only": False, "secure": True, "max_age": 0, "expires": 2139722880000}],
                "res.cookies: Expires in ms, Domain, Path and Secure as sent")
    check.equal([c["value"] for c in rescookies.get("multi", [])], ["1", "2"],
                "res.cookies lists every cookie of a name")
    check.equal(one(r, "sent"), "multi=2; sess=abc; multi=1",
                "stored cookies are sent back, longest path first; Secure ones not over http")
    check.equal(one(r, "jar"),
                '{"multi":["2","1"],"sess":["abc"]} {"sess":["abc"],"multi":["1"]} '
                '{"pref":["dark"],"multi":["2","1"],"sess":["abc"]}',
                "cookiesForURL matches paths and sends Secure cookies only to https; longest "
                "path first, then the order they were set in")
    check.equal(one(r, "deleted"), "multi=2",
                "Max-Age=0 and a past Expires remove cookies")
    check.equal(one(r, "redirect"), '200 multi=2; hop=yes {} {"hop":["yes"]}',
                "a redirect's Set-Cookie is stored and sent on the next hop; res.cookies is the "
                "final response's")
    check.equal(one(r, "params"), 'raw=1; extra="x y"; hop=mine; multi=2',
                "the script's Cookie header, then params.cookies (quoted when needed), then the "
                "jar's; replace: true drops the jar's cookie of that name")
    check.equal(one(r, "request"),
                '{"raw":[{"name":"raw","value":"1","replace":false}],'
                '"extra":[{"name":"extra","value":"x y","replace":false}],'
                '"hop":[{"name":"hop","value":"mine","replace":false}],'
                '"multi":[{"name":"multi","value":"2","replace":false}]} 1 true',
                "res.request.cookies and the Cookie header in res.request.headers")
    check.equal(one(r, "noreplace"), "hop=again; multi=2; hop=yes",
                "without replace both cookies of a name are sent")
    check.equal(one(r, "notstored"), '["hop","multi"]', "params.cookies are not stored")
    check.equal(one(r, "paramsjar"), 'own=1 {"own":["1"],"intojar":["2"]} false false',
                "params.jar sends and keeps that jar's cookies, not the VU jar's")
    check.equal(one(r, "notjar"), "multi=2; hop=yes",
                "a params.jar that is not a CookieJar leaves the VU jar in use")
    check.equal(one(r, "percent"), "multi=2; hop=yes",
                "a stray % in the query does not keep the jar from the request")


def test_jar_methods(lg, srv, check):
    r = lg.run("""
import http from 'k6/http';
const show = (x) => JSON.stringify(x);
export default function () {
  const jar = new http.CookieJar();
  // Host-only and domain cookies, without a public-suffix list.
  console.log('set', jar.set('http://a.example.com/', 'host', '1'),
              jar.set('http://a.example.com/', 'dom', '2', { DOMAIN: '.example.com' }),
              jar.set('http://a.example.com/', 'bad', '3', { domain: 'other.org' }));
  console.log('domains', show(jar.cookiesForURL('http://a.example.com/x')),
              show(jar.cookiesForURL('http://b.a.example.com/')), show(jar.cookiesForURL('http://example.com/')),
              show(jar.cookiesForURL('http://example.org/')), show(jar.cookiesForURL('http://A.EXAMPLE.COM:8080/')));
  // Default path: the directory of the URL's path; explicit paths match by segment.
  jar.set('http://p.test/app/page', 'dir', 'd');
  jar.set('http://p.test/', 'deep', 'e', { path: '/app/sub' });
  console.log('paths', show(jar.cookiesForURL('http://p.test/app/other')), show(jar.cookiesForURL('http://p.test/apple')),
              show(jar.cookiesForURL('http://p.test/app/sub/x')), show(jar.cookiesForURL('http://p.test/')));
  // Secure, max_age, expires.
  jar.set('http://s.test/', 'sec', '1', { secure: true, http_only: true });
  jar.set('http://s.test/', 'old', '1', { expires: 'Mon, 02 Jan 2006 15:04:05 GMT' });
  jar.set('http://s.test/', 'future', '1', { expires: 'Fri, 01 Jan 2100 00:00:00 GMT' });
  jar.set('http://s.test/', 'neg', '1', { max_age: -1 });
  jar.set('http://s.test/', 'short', '1', { max_age: 1 });
  console.log('attrs', show(jar.cookiesForURL('http://s.test/')), show(jar.cookiesForURL('https://s.test/')));
  try { jar.set('http://s.test/', 'x', 'y', { expires: 'tomorrow' }); } catch (e) { console.log('expires', String(e)); }
  // delete and clear.
  jar.set('http://d.test/', 'a', '1');
  jar.set('http://d.test/', 'b', '2');
  jar.set('http://d.test/', 'c', '3', { path: '/keep' });
  jar.delete('http://d.test/', 'a');
  console.log('delete', show(jar.cookiesForURL('http://d.test/keep')));
  try { jar.delete('http://d.test/', ''); } catch (e) { console.log('emptyname', String(e)); }
  jar.clear('http://d.test/');
  console.log('clear', show(jar.cookiesForURL('http://d.test/')), show(jar.cookiesForURL('http://d.test/keep')));
  try { jar.cookiesForURL('http://[::1/'); } catch (e) { console.log('badurl', String(e)); }
  console.log('ignored', jar.set('ftp://f.test/', 'f', '1'), show(jar.cookiesForURL('ftp://f.test/')));
  const later = Date.now() + 1500;
  while (Date.now() < later) {}
  console.log('expired', show(jar.cookiesForURL('http://s.test/')));
}
""", "--iterations", "1")
    if r.code != 0:
        return show(check, r, "jar methods run")
    check.equal(one(r, "set"), "true true true", "set() returns true")
    check.equal(one(r, "domains"),
                '{"host":["1"],"dom":["2"]} {"dom":["2"]} {"dom":["2"]} {} {"host":["1"],"dom":["2"]}',
                "host-only cookies stay on their host, domain cookies reach subdomains, a foreign "
                "domain is refused, hosts are case- and port-insensitive")
    check.equal(one(r, "paths"), '{"dir":["d"]} {} {"deep":["e"],"dir":["d"]} {}',
                "default path is the URL's directory; paths match whole segments, longest first")
    check.equal(one(r, "attrs"), '{"future":["1"],"short":["1"]} '
                                 '{"sec":["1"],"future":["1"],"short":["1"]}',
                "Secure only over https; a past expires and a negative max_age store nothing")
    expires = one(r, "expires")
    check.check(isinstance(expires, str) and expires.startswith(
        'GoError: unable to parse "expires" date string "tomorrow": parsing time "tomorrow"'),
        f"an unparsable expires is k6's error: {expires}")
    check.equal(one(r, "delete"), '{"c":["3"],"b":["2"]}', "delete() removes one cookie")
    check.equal(one(r, "emptyname"), "GoError: cookie: is null", "delete() with an empty name")
    check.equal(one(r, "clear"), '{} {"c":["3"]}',
                "clear() removes what the URL gets at its own path (k6 keeps other paths)")
    badurl = one(r, "badurl")
    check.check(isinstance(badurl, str) and "missing ']' in host" in badurl,
                f"an unparsable URL is Go's url error: {badurl}")
    check.equal(one(r, "ignored"), "true {}", "URLs other than http(s) are ignored")
    check.equal(one(r, "expired"), '{"future":["1"]}', "a max_age cookie expires")


# ---- http.file and multipart ----------------------------------------------------------

def parse_multipart(content_type, body):
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\nMIME-Version: 1.0\r\n\r\n" + body)
    return msg


def test_multipart(lg, srv, check):
    binary = bytes(range(256)) * 2
    r = lg.run(f"""
import http from 'k6/http';
// Every byte value, twice: what a file read with open(path, 'b') may hold.
const bin = Uint8Array.from({{ length: 512 }}, (_, i) => i % 256).buffer;
export default function () {{
  const f = http.file(bin, 'blob.bin', 'application/x-blob');
  const t = http.file('h\\u00e9llo "text"', 'we"ird\\\\name.txt');
  const res = http.post('{srv.url}/capture/one', {{ title: 'a b', count: 42, list: [1, 2], upload: f, note: t }});
  console.log('status', res.status, typeof res.request.body, res.request.body.includes('name="title"'),
              res.request.headers['Content-Type'][0].startsWith('multipart/form-data; boundary='));
  http.post('{srv.url}/capture/two', {{ only: http.file('x') }});
  const d = http.file('data');
  console.log('file', d.filename.length, Math.abs(Number(d.filename.slice(0, 13)) - Date.now()) < 60000,
              d.content_type, d.data, f.filename, f.content_type, f.data.byteLength);
  const n = http.file('n', undefined, 'text/plain');
  console.log('undef', JSON.stringify(n.filename), n.content_type);
  for (const bad of [5, 1.5, {{}}, [1], null]) {{
    try {{ http.file(bad); console.log('bad none'); }} catch (e) {{ console.log('bad', String(e)); }}
  }}
  try {{ http.post('{srv.url}/capture/bare', f); }} catch (e) {{ console.log('bare', String(e)); }}
  const plain = http.post('{srv.url}/capture/form', {{ b: 'x y', a: 1 }});
  console.log('form', plain.request.headers['Content-Type'][0]);
}}
""", "--iterations", "1")
    if r.code != 0:
        return show(check, r, "multipart run")
    check.equal(one(r, "status"), "200 string true true",
                "the multipart request succeeds; res.request has its body and Content-Type")
    captured = srv.captured.get("one")
    if not check.check(captured is not None, "the server got the multipart request"):
        return
    headers = {k.lower(): v for k, v in captured["headers"]}
    content_type = headers.get("content-type", "")
    m = re.fullmatch(r"multipart/form-data; boundary=([0-9a-f]{60})", content_type)
    check.check(m is not None, f"Content-Type has a random 60-hex-digit boundary: {content_type}")
    body = captured["body"]
    check.equal(int(headers.get("content-length", -1)), len(body), "Content-Length is the body's")
    msg = parse_multipart(content_type, body)
    check.check(msg.is_multipart(), "the body parses as multipart/form-data")
    parts = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        parts[name] = part
    check.equal(sorted(parts), ["count", "list", "note", "title", "upload"], "one part per key")
    upload = parts.get("upload")
    if upload is not None:
        check.equal((upload.get_filename(), upload.get_content_type()),
                    ("blob.bin", "application/x-blob"), "the file part's filename and type")
        check.equal(upload.get_payload(decode=True), binary, "the file's bytes arrive unchanged")
    note = parts.get("note")
    if note is not None:
        check.equal(note.get_content_type(), "application/octet-stream",
                    "http.file's default type is application/octet-stream")
        check.equal(note.get_payload(decode=True), 'h\u00e9llo "text"'.encode(),
                    "a string file is sent as UTF-8")
    for key, value in (("title", b"a b"), ("count", b"42"), ("list", b"[1 2]")):
        part = parts.get(key)
        if part is not None:
            check.equal((part.get_payload(decode=True), part.get_content_type(),
                         part.get("Content-Type")), (value, "text/plain", None),
                        f"field {key}: the value as Go prints it, no Content-Type of its own")
    boundary = m.group(1).encode() if m else b"?"
    # The exact part headers Go's mime/multipart writes (sorted, CRLF), and the framing.
    check.check(b'\r\n--' + boundary + b'\r\nContent-Disposition: form-data; name="note"; '
                b'filename="we\\"ird\\\\name.txt"\r\nContent-Type: application/octet-stream\r\n\r\n'
                in body or body.startswith(b'--' + boundary + b'\r\nContent-Disposition: form-data; '
                                           b'name="note"; filename="we\\"ird\\\\name.txt"\r\n'),
                "a file part: Content-Disposition with the escaped filename, then Content-Type")
    check.check(b'Content-Disposition: form-data; name="title"\r\n\r\na b\r\n--' + boundary in body,
                "a plain field: Content-Disposition only")
    check.check(body.startswith(b"--" + boundary + b"\r\n") and
                body.endswith(b"\r\n--" + boundary + b"--\r\n"),
                "the body opens with the boundary and ends with the closing one")
    two = srv.captured.get("two")
    if two is not None:
        ct2 = {k.lower(): v for k, v in two["headers"]}.get("content-type", "")
        check.check(ct2 != content_type and ct2.startswith("multipart/form-data; boundary="),
                    "each request gets its own boundary")
        msg2 = parse_multipart(ct2, two["body"])
        only = next(iter(msg2.iter_parts()), None)
        check.check(only is not None and re.fullmatch(r"\d{19}", only.get_filename() or "")
                    is not None, "the default filename is the time in nanoseconds")
    check.equal(one(r, "file"), "19 true application/octet-stream data blob.bin application/x-blob "
                                "512", "FileData has data, filename and content_type")
    check.equal(one(r, "undef"), '"" text/plain', "an undefined filename is empty, as in k6")
    check.equal(lines_with(r, "bad"),
                ["GoError: invalid type int64, expected string or ArrayBuffer",
                 "GoError: invalid type float64, expected string or ArrayBuffer",
                 "GoError: invalid type map[string]interface {}, expected string or ArrayBuffer",
                 "GoError: invalid type []interface {}, expected string or ArrayBuffer",
                 "GoError: invalid type <nil>, expected string or ArrayBuffer"],
                "http.file rejects what is neither a string nor an ArrayBuffer with k6's error")
    check.equal(one(r, "bare"), "GoError: unknown request body type *http.FileData",
                "a file on its own is not a body")
    check.check("bare" not in srv.captured, "and nothing is sent")
    check.equal(one(r, "form"), "application/x-www-form-urlencoded",
                "an object without files stays a form")
    form = srv.captured.get("form")
    check.equal(form and form["body"], b"a=1&b=x+y", "the form body is unchanged")


def test_vu_slots_distinct(lg, srv, check):
    """Every VU slot of a scenario is its own VU (__VU) for the whole scenario, also when
    some slots finish before others start (a runtime is not handed to another slot)."""
    r = lg.run("""
export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 40, iterations: 2 } } };
export default function () { console.log('vu ' + __VU); }
""", "--threads", "2")
    counts = {}
    for line in lines_with(r, "vu"):
        counts[line] = counts.get(line, 0) + 1
    check.equal(len(counts), 40, "40 slots are 40 distinct VUs")
    check.equal(sorted(set(counts.values())), [2], "each VU runs its own two iterations")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--backend", default="epoll")
    args = ap.parse_args()
    check = Checker(f"js-data-{args.backend}")
    lg = Loadgen(args.binary, args.backend)
    srv = HttpTestServer()
    try:
        for test in (test_shared_array, test_vu_slots_distinct, test_shared_array_memory, test_shared_array_errors, test_cookie_jar_reset,
                     test_cookies_over_http, test_jar_methods, test_multipart):
            started = time.time()
            test(lg, srv, check)
            print(f"{test.__name__}: {time.time() - started:.1f} s", flush=True)
    finally:
        srv.close()
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
