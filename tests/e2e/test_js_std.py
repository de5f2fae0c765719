#!/usr/bin/env python3
"""k6's small standard modules in loadgen's JavaScript runtime (spec k6-js-api.md §8.2,
§8.4): k6/encoding, and k6/timers with the global timers. Scripts print what they compute
(and when) with console.log; the checks compare it with Python's own base64, the error
texts k6 throws, and the timers' due times."""

import argparse
import base64
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import Checker  # noqa: E402
from test_js import Loadgen, show  # noqa: E402


def labelled(r):
    """console lines "label rest..." as {label: rest}."""
    out = {}
    for line in r.console():
        label, _, rest = line.partition(" ")
        out[label] = rest
    return out


def test_encoding(lg, check):
    r = lg.run(r"""
import { b64encode, b64decode } from 'k6/encoding';
import encoding from 'k6/encoding';
export const options = { iterations: 1 };
const bytes = (list) => new Uint8Array(list).buffer;
const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
const attempt = (fn) => { try { return 'ok ' + fn(); } catch (e) { return String(e); } };
const all = new Uint8Array(256).map((_, i) => i).buffer;
export default function () {
  console.log('text', b64encode('hello, world'));
  console.log('utf8', b64encode('é€😀'));
  for (const enc of ['std', 'rawstd', 'url', 'rawurl', 'bogus']) {
    console.log('enc-' + enc, b64encode(bytes([0xfb, 0xff]), enc), b64encode('ab', enc));
  }
  console.log('view', b64encode(new Uint8Array([104, 105])), b64encode(new Uint8ClampedArray([1])));
  console.log('all', b64encode(all));
  for (const enc of ['std', 'rawstd', 'url', 'rawurl']) {
    const back = b64decode(b64encode(all, enc), enc);
    console.log('round-' + enc, back instanceof ArrayBuffer, back.byteLength, hex(back) === hex(all));
  }
  const ab = b64decode('aGVsbG8=');
  console.log('decode', Object.prototype.toString.call(ab), ab.byteLength, hex(ab));
  console.log('decode-s', b64decode('aGVsbG8sIOS4lueVjA==', 'std', 's'));
  console.log('decode-newlines', b64decode('aGVs\r\nbG8=\n', 'std', 's'));
  console.log('decode-raw', b64decode('aGVsbG8', 'rawstd', 's'), b64decode('-_8', 'rawurl', 'b').byteLength);
  const bad = b64decode('/w==', 'std', 's');
  console.log('lossy', bad.length, bad.charCodeAt(0).toString(16));
  console.log('default', encoding.b64encode('x'), typeof encoding.b64decode);
  const errors = {
    unpadded: () => b64decode('aGVsbG8'),
    badchar: () => b64decode('a$bc'),
    padded_in_raw: () => b64decode('aGVsbG8=', 'rawstd'),
    url_in_std: () => b64decode('-_8='),
    garbage: () => b64decode('aGVsbG8=x'),
    early_pad: () => b64decode('a==='),
    one_pad: () => b64decode('aGVsbG=='.slice(0, 7)),
    int_input: () => b64encode(42),
    float_input: () => b64encode(1.5),
    object_input: () => b64encode({ a: 1 }),
    array_input: () => b64encode([1, 2]),
    nil_input: () => b64encode(undefined),
    int8_input: () => b64encode(new Int8Array(2)),
  };
  for (const [name, fn] of Object.entries(errors)) console.log('err-' + name, attempt(fn));
}
""")
    if r.code != 0:
        return show(check, r, "encoding run")
    out = labelled(r)
    check.equal(out.get("text"), "aGVsbG8sIHdvcmxk", "b64encode of a string")
    check.equal(out.get("utf8"), base64.b64encode("é€😀".encode()).decode(),
                "strings are encoded as UTF-8")
    expect = {"std": "+/8= YWI=", "rawstd": "+/8 YWI", "url": "-_8= YWI=", "rawurl": "-_8 YWI",
              "bogus": "+/8= YWI="}
    for enc, text in expect.items():
        check.equal(out.get("enc-" + enc), text, f"b64encode encoding {enc!r}")
    check.equal(out.get("view"), "aGk= AQ==", "Uint8Array and Uint8ClampedArray are []byte")
    check.equal(out.get("all"), base64.b64encode(bytes(range(256))).decode(),
                "every byte value, standard alphabet")
    for enc in ("std", "rawstd", "url", "rawurl"):
        check.equal(out.get("round-" + enc), "true 256 true",
                    f"b64decode(b64encode(x, {enc}), {enc}) gives the bytes back as an ArrayBuffer")
    check.equal(out.get("decode"), "[object ArrayBuffer] 5 68656c6c6f",
                "b64decode gives an ArrayBuffer by default")
    check.equal(out.get("decode-s"), "hello, 世界", "format 's' decodes UTF-8 to a string")
    check.equal(out.get("decode-newlines"), "hello", "CR and LF are skipped (Go)")
    check.equal(out.get("decode-raw"), "hello 2", "raw encodings decode unpadded input")
    check.equal(out.get("lossy"), "1 fffd", "invalid UTF-8 becomes U+FFFD with format 's'")
    check.equal(out.get("default"), "eA== function", "the default export has both functions")
    errors = {
        "unpadded": "GoError: illegal base64 data at input byte 4",
        "badchar": "GoError: illegal base64 data at input byte 1",
        "padded_in_raw": "GoError: illegal base64 data at input byte 7",
        "url_in_std": "GoError: illegal base64 data at input byte 0",
        "garbage": "GoError: illegal base64 data at input byte 8",
        "early_pad": "GoError: illegal base64 data at input byte 1",
        "one_pad": "GoError: illegal base64 data at input byte 7",
        "int_input": "GoError: invalid type int64, expected string, []byte or ArrayBuffer",
        "float_input": "GoError: invalid type float64, expected string, []byte or ArrayBuffer",
        "object_input": "GoError: invalid type map[string]interface {}, expected string, []byte "
                        "or ArrayBuffer",
        "array_input": "GoError: invalid type []interface {}, expected string, []byte or "
                       "ArrayBuffer",
        "nil_input": "GoError: invalid type <nil>, expected string, []byte or ArrayBuffer",
        "int8_input": "GoError: invalid type []int8, expected string, []byte or ArrayBuffer",
    }
    for name, text in errors.items():
        check.equal(out.get("err-" + name), text, f"error text: {name}")


def test_timers(lg, check):
    r = lg.run(r"""
import { setTimeout as setT, clearTimeout as clearT, setInterval as setI,
         clearInterval as clearI } from 'k6/timers';
import timers from 'k6/timers';
import { sleep } from 'k6';
export const options = { iterations: 1 };
export default function () {
  const t0 = Date.now();
  const log = (what) => console.log(what, Date.now() - t0);
  const ids = [];
  ids.push(setTimeout(() => log('late'), 1200));
  ids.push(setTimeout(function (a, b) { log(`args-${a}-${b}-${this === globalThis}`); }, 300, 'x', 'y'));
  const cancelled = setTimeout(() => log('cancelled-timeout'), 50);
  ids.push(cancelled);
  clearTimeout(cancelled);
  let ticks = 0;
  const iv = setInterval(() => {
    ticks += 1;
    log('tick' + ticks);
    if (ticks === 3) clearInterval(iv);
  }, 100);
  ids.push(iv);
  ids.push(setT(() => log('module-timeout'), 0));
  const gone = setI(() => log('cancelled-interval'), 10);
  ids.push(gone);
  clearT(gone);  // one id space for both kinds
  clearTimeout(undefined);
  clearTimeout(9999);
  ids.push(timers.setTimeout(() => log('default-export'), 20));
  try { setTimeout('not a function', 10); } catch (e) { console.log('not-callable', String(e)); }
  try { setInterval(undefined); } catch (e) { console.log('not-callable-interval', String(e)); }
  console.log('ids', ids.join(','), typeof ids[0]);
  log('sync-end');
}
""", keep=False)
    if r.code != 0:
        return show(check, r, "timers run")
    lines = r.console()
    events = [(l.split()[0], int(l.split()[1])) for l in lines
              if len(l.split()) == 2 and l.split()[1].isdigit()]
    names = [e[0] for e in events]
    at = dict(events)
    check.equal(names, ["sync-end", "module-timeout", "default-export", "tick1", "tick2",
                        "args-x-y-true", "tick3", "late"],
                "timers fire after the function returns, in the order of their due times")
    check.check("cancelled-timeout" not in names and "cancelled-interval" not in names,
                "clearTimeout prevents the call (and clears an interval id too)")
    check.equal(sum(1 for n in names if n.startswith("tick")), 3,
                "setInterval runs until clearInterval, then never again")
    # Delays are lower bounds; the upper margin is generous for a loaded CI machine.
    for name, nominal in (("args-x-y-true", 300), ("tick1", 100), ("tick2", 200),
                          ("tick3", 300), ("late", 1200)):
        got = at.get(name, -1)
        check.check(nominal - 2 <= got <= nominal + 1500, f"{name} after about {nominal} ms: {got}")
    lines_by_label = labelled(r)
    check.equal(lines_by_label.get("ids"), "1,2,3,4,5,6,7 number",
                "ids are numbers counting from 1 per runtime, module and globals sharing them")
    check.equal(lines_by_label.get("not-callable"),
                "GoError: setTimeout's callback isn't a callable function",
                "a callback that is not a function is k6's error")
    check.equal(lines_by_label.get("not-callable-interval"),
                "GoError: setInterval's callback isn't a callable function",
                "setInterval names itself in the error")
    dur = r.metric("iteration_duration")
    check.check(dur is not None and dur.get("max", 0) >= 1190,
                f"the iteration lasts until its last timer ran: {dur}")

    # A throwing timer fails its iteration, which is logged like any iteration error; the
    # iteration's other timers die with it.
    r = lg.run(r"""
export const options = { iterations: 2 };
export default function () {
  setTimeout(function boom() { throw new Error('timer boom ' + __ITER); }, 20);
  setTimeout(() => console.log('survivor ran'), 400);
  console.log('body done', __ITER);
}
""")
    lines = r.console()
    check.equal(r.code, 0, "a timer's exception does not change the exit code")
    check.equal([l for l in lines if l.startswith("body")], ["body done 0", "body done 1"],
                "both iterations ran")
    check.check("survivor ran" not in lines, "pending timers are dropped with the failed iteration")
    for i in (0, 1):
        check.check(re.search(r'level=error msg="Error: timer boom %d\\n\\tat boom '
                              r'\(file:///[^"]*script\.js:4:\d+\(\d+\)\)' % i, r.stderr)
                    is not None and "source=stacktrace" in r.stderr,
                    f"the timer's error is logged with its stack (iteration {i})")
    it = r.metric("iterations")
    check.check(it is not None and it["count"] == 2, "failed iterations still count")

    # sleep() blocks timers: they only run once the function has returned.
    r = lg.run(r"""
import { sleep } from 'k6';
export const options = { iterations: 1 };
export default function () {
  const t0 = Date.now();
  setTimeout(() => console.log('timer at', Date.now() - t0), 10);
  sleep(0.3);
  console.log('after sleep', Date.now() - t0);
}
""")
    lines = r.console()
    order = [l.split()[0] for l in lines if l.startswith(("timer", "after"))]
    check.equal(order, ["after", "timer"], "sleep() holds the timers back")
    timer = [l for l in lines if l.startswith("timer at")]
    check.check(bool(timer) and int(timer[0].split()[-1]) >= 298,
                f"the timer ran after the sleep: {timer}")

    # Timers in init code run on the init event loop (k6 runs init code on the VU's event
    # loop), so they fire before the first iteration and can settle a top-level await.
    r = lg.run(r"""
setTimeout(() => console.log('init timer', __VU), 30);
const value = await new Promise((resolve) => setTimeout(() => resolve(42), 50));
export const options = { iterations: 1 };
export default function () { console.log('iter value', value, typeof setInterval); }
""")
    if r.code != 0:
        show(check, r, "init timers run")
    else:
        lines = r.console()
        check.check("init timer 0" in lines and "init timer 1" in lines,
                    "a timer set in init code fires in every runtime's init")
        check.check("iter value 42 function" in lines and
                    lines.index("init timer 1") < lines.index("iter value 42 function"),
                    "init timers fire before the iteration; a top-level await on one settles")

    # An iteration waiting for a far timer is interrupted at the end of the test.
    r = lg.run(r"""
export const options = { scenarios: { s: { executor: 'constant-vus', vus: 1, duration: '1s',
                                           gracefulStop: '0s' } } };
export default function () { setTimeout(() => console.log('far timer ran'), 60000); }
""", timeout=90)
    check.check(r.elapsed < 20, f"a pending timer does not outlive the test ({r.elapsed:.1f} s)")
    check.check("far timer ran" not in r.console(), "and it never runs")
    check.equal(r.code, 0, "the run ends normally")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--backend", default="epoll")
    args = ap.parse_args()
    check = Checker(f"js-std-{args.backend}")
    lg = Loadgen(args.binary, args.backend)
    for test in (test_encoding, test_timers):
        test(lg, check)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
