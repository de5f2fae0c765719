#!/usr/bin/env python3
"""k6's small standard modules in loadgen's JavaScript runtime (spec k6-js-api.md §8.2-§8.4,
§2.5): k6/encoding, k6/crypto with the global `crypto`, and k6/timers with the global
timers. Scripts print what they compute with console.log; the checks compare it with
published test vectors, Python's own base64, and the error texts k6 throws."""

import argparse
import base64
import hashlib
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


# Published vectors: FIPS 180-2 ("abc"), RFC 1320 (MD4), RFC 1321 (MD5), the RIPEMD-160
# authors' page, RFC 4231 (HMAC-SHA2) and RFC 2202 (HMAC-MD5/SHA1).
ABC = {
    "md4": "a448017aaf21d8525fc10ae87aa6729d",
    "md5": "900150983cd24fb0d6963f7d28e17f72",
    "sha1": "a9993e364706816aba3e25717850c26c9cd0d89d",
    "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    "sha384": "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358"
              "baeca134c825a7",
    "sha512": "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836b"
              "a3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    "sha512_224": "4634270f707b6a54daae7530460842e20e37ed265ceee9a43e8924aa",
    "sha512_256": "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23",
    "ripemd160": "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc",
}


def test_crypto(lg, check):
    r = lg.run(r"""
import * as c from 'k6/crypto';
import k6crypto from 'k6/crypto';
export const options = { iterations: 1 };
const attempt = (fn) => { try { return 'ok ' + fn(); } catch (e) { return String(e); } };
const algs = ['md4', 'md5', 'sha1', 'sha256', 'sha384', 'sha512', 'sha512_224', 'sha512_256',
              'ripemd160'];
const abc = new Uint8Array([97, 98, 99]).buffer;
const initBytes = c.randomBytes(8).byteLength;
export default function () {
  for (const a of algs) {
    console.log('abc-' + a, c[a]('abc', 'hex'), c[a](abc, 'hex') === c[a]('abc', 'hex'));
  }
  console.log('empty-sha256', c.sha256('', 'hex'));
  console.log('utf8-sha1', c.sha1('é€', 'hex'));
  for (const enc of ['base64', 'base64url', 'base64rawurl']) {
    console.log('out-' + enc, c.sha256('abc', enc));
  }
  const bin = c.sha256('abc', 'binary');
  console.log('out-binary', bin instanceof ArrayBuffer, bin.byteLength, c.hexEncode(bin));
  const key1 = new Uint8Array(20).fill(0x0b).buffer;
  console.log('hmac-4231-1-sha256', c.hmac('sha256', key1, 'Hi There', 'hex'));
  console.log('hmac-4231-1-sha512', c.hmac('sha512', key1, 'Hi There', 'hex'));
  console.log('hmac-4231-2-sha256', c.hmac('sha256', 'Jefe', 'what do ya want for nothing?', 'hex'));
  console.log('hmac-4231-2-sha384', c.hmac('sha384', 'Jefe', 'what do ya want for nothing?', 'hex'));
  console.log('hmac-2202-md5', c.hmac('md5', 'Jefe', 'what do ya want for nothing?', 'hex'));
  console.log('hmac-2202-sha1', c.hmac('sha1', 'Jefe', 'what do ya want for nothing?', 'hex'));
  const longKey = new Uint8Array(131).fill(0xaa).buffer;
  console.log('hmac-4231-6-sha256', c.hmac('sha256', longKey,
              'Test Using Larger Than Block-Size Key - Hash Key First', 'hex'));
  console.log('hmac-emptykey', c.hmac('sha256', '', '', 'hex'));
  const h = c.createHash('sha256');
  h.update('a');
  h.update(new Uint8Array([98, 99]).buffer);
  const first = h.digest('hex');
  console.log('hasher', first, h.digest('hex') === first);
  h.update('d');
  console.log('hasher-more', h.digest('hex'));
  const m = c.createHMAC('sha256', 'Jefe');
  m.update('what do ya want ');
  m.update('for nothing?');
  console.log('hmac-hasher', m.digest('base64'));
  console.log('md4-hasher', (() => { const x = c.createHash('md4'); x.update('abc'); return x.digest('hex'); })());
  console.log('hex', c.hexEncode('hi'), c.hexEncode(new Uint8Array([0, 15, 255]).buffer));
  const r1 = c.randomBytes(16), r2 = c.randomBytes(16);
  console.log('random', r1 instanceof ArrayBuffer, r1.byteLength, c.hexEncode(r1) !== c.hexEncode(r2),
              c.randomBytes(1).byteLength, initBytes, c.randomBytes(3.9).byteLength);
  const big = new Uint8Array(c.randomBytes(4096));
  console.log('spread', new Set(big).size, big.reduce((s, b) => s + b, 0) / big.length);
  console.log('default', typeof k6crypto.sha256, typeof k6crypto.createHMAC, k6crypto.md5('abc', 'hex'));
  const errors = {
    no_encoding: () => c.sha256('abc'),
    bad_encoding: () => c.md5('abc', 'hexx'),
    bad_input: () => c.sha256(42, 'hex'),
    bad_input_md5: () => c.md5(null, 'hex'),
    hmac_alg: () => c.hmac('sha3', 'k', 'd', 'hex'),
    hmac_key: () => c.hmac('sha256', [1], 'd', 'hex'),
    hmac_data: () => c.hmac('sha256', 'k', true, 'hex'),
    hmac_encoding: () => c.hmac('sha256', 'k', 'd', 'base32'),
    create_hash: () => c.createHash('nope'),
    create_hmac: () => c.createHMAC('sha256', {}),
    update: () => c.createHash('md5').update(7),
    digest: () => c.createHash('md5').digest(),
    size0: () => c.randomBytes(0),
    size_neg: () => c.randomBytes(-5),
    hex_input: () => c.hexEncode(1.5),
  };
  for (const [name, fn] of Object.entries(errors)) console.log('err-' + name, attempt(fn));
}
""")
    if r.code != 0:
        return show(check, r, "crypto run")
    out = labelled(r)
    for alg, digest in ABC.items():
        check.equal(out.get("abc-" + alg), digest + " true",
                    f"{alg}('abc') hex, same for a string and an ArrayBuffer")
    check.equal(out.get("empty-sha256"), hashlib.sha256(b"").hexdigest(), "sha256 of ''")
    check.equal(out.get("utf8-sha1"), hashlib.sha1("é€".encode()).hexdigest(),
                "string input is hashed as UTF-8")
    raw = bytes.fromhex(ABC["sha256"])
    check.equal(out.get("out-base64"), base64.b64encode(raw).decode(), "output encoding base64")
    check.equal(out.get("out-base64url"), base64.urlsafe_b64encode(raw).decode(),
                "output encoding base64url (padded)")
    check.equal(out.get("out-base64rawurl"), base64.urlsafe_b64encode(raw).decode().rstrip("="),
                "output encoding base64rawurl")
    check.equal(out.get("out-binary"), "true 32 " + ABC["sha256"],
                "output encoding binary is an ArrayBuffer")
    hmacs = {
        "hmac-4231-1-sha256": "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        "hmac-4231-1-sha512": "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
                              "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
        "hmac-4231-2-sha256": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        "hmac-4231-2-sha384": "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
                              "8e2240ca5e69e2c78b3239ecfab21649",
        "hmac-2202-md5": "750c783e6ab0b503eaa86e310a5db738",
        "hmac-2202-sha1": "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
        "hmac-4231-6-sha256": "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        "hmac-emptykey": "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad",
    }
    for label, digest in hmacs.items():
        check.equal(out.get(label), digest, f"HMAC vector {label}")
    check.equal(out.get("hasher"), ABC["sha256"] + " true",
                "createHash: update in parts; digest twice gives the same value")
    check.equal(out.get("hasher-more"), hashlib.sha256(b"abcd").hexdigest(),
                "digest() does not reset the hasher (Go's Sum)")
    check.equal(out.get("hmac-hasher"),
                base64.b64encode(bytes.fromhex(hmacs["hmac-4231-2-sha256"])).decode(),
                "createHMAC: update in parts, base64 digest")
    check.equal(out.get("md4-hasher"), ABC["md4"], "createHash('md4') (OpenSSL legacy provider)")
    check.equal(out.get("hex"), "6869 000fff", "hexEncode of a string and an ArrayBuffer")
    check.equal(out.get("random"), "true 16 true 1 8 3",
                "randomBytes: ArrayBuffers of the asked size (also in init), different each time")
    spread = (out.get("spread") or "0 0").split()
    check.check(int(spread[0]) >= 250 and 112 < float(spread[1]) < 143,
                f"4096 random bytes use (nearly) every value, mean near 127.5: {spread}")
    check.equal(out.get("default"), "function function " + ABC["md5"],
                "the default export has the functions")
    invalid = "invalid type {}, expected string, []byte or ArrayBuffer"
    errors = {
        "no_encoding": "GoError: invalid output encoding: ",
        "bad_encoding": "GoError: invalid output encoding: hexx",
        "bad_input": "GoError: sha256 failed: " + invalid.format("int64"),
        "bad_input_md5": "GoError: md5 failed: " + invalid.format("<nil>"),
        "hmac_alg": "GoError: invalid algorithm: sha3",
        "hmac_key": "GoError: " + invalid.format("[]interface {}"),
        "hmac_data": "GoError: " + invalid.format("bool"),
        "hmac_encoding": "GoError: invalid output encoding: base32",
        "create_hash": "GoError: invalid algorithm: nope",
        "create_hmac": "GoError: " + invalid.format("map[string]interface {}"),
        "update": "GoError: " + invalid.format("int64"),
        "digest": "GoError: invalid output encoding: ",
        "size0": "GoError: invalid size",
        "size_neg": "GoError: invalid size",
        "hex_input": "GoError: " + invalid.format("float64"),
    }
    for name, text in errors.items():
        check.equal(out.get("err-" + name), text, f"error text: {name}")


def test_webcrypto_global(lg, check):
    r = lg.run(r"""
export const options = { iterations: 1 };
const attempt = (fn) => { try { return 'ok ' + fn(); } catch (e) { return String(e); } };
console.log('init-uuid', typeof crypto.randomUUID(), __VU);
export default function () {
  const ids = Array.from({ length: 200 }, () => crypto.randomUUID());
  const shape = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  console.log('uuid', ids.every((u) => shape.test(u)), new Set(ids).size);
  const arr = new Uint8Array(64);
  const same = crypto.getRandomValues(arr);
  console.log('fill', same === arr, arr.some((b) => b !== 0), new Set(arr).size > 20);
  const words = crypto.getRandomValues(new Uint32Array(8));
  console.log('words', words.length, words.some((w) => w > 0xffff));
  for (const T of [Int8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array]) {
    console.log('type-' + T.name, crypto.getRandomValues(new T(4)).length);
  }
  console.log('max', crypto.getRandomValues(new Uint8Array(65536)).length);
  console.log('err-float', attempt(() => crypto.getRandomValues(new Float32Array(2))));
  console.log('err-plain', attempt(() => crypto.getRandomValues([1, 2])));
  console.log('err-quota', attempt(() => crypto.getRandomValues(new Uint8Array(65537))));
  console.log('globals', typeof crypto.getRandomValues, typeof globalThis.crypto);
}
""")
    if r.code != 0:
        return show(check, r, "webcrypto run")
    out = labelled(r)
    lines = r.console()
    check.check("init-uuid string 0" in lines and "init-uuid string 1" in lines,
                "crypto is a global already in the init context of every runtime")
    check.equal(out.get("uuid"), "true 200", "randomUUID: RFC 4122 version 4 texts, all different")
    check.equal(out.get("fill"), "true true true",
                "getRandomValues fills the array in place and returns it")
    check.equal(out.get("words"), "8 true", "getRandomValues fills whole 32-bit elements")
    for t in ("Int8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array"):
        check.equal(out.get("type-" + t), "4", f"getRandomValues accepts {t}")
    check.equal(out.get("max"), "65536", "65536 elements are allowed")
    check.equal(out.get("err-float"),
                "GoError: TypeMismatchError: typedArray parameter isn't a TypedArray instance",
                "a float array is refused with k6's TypeMismatchError text")
    check.equal(out.get("err-plain"),
                "GoError: TypeMismatchError: typedArray parameter isn't a TypedArray instance",
                "a plain array is refused")
    check.equal(out.get("err-quota"),
                "GoError: QuotaExceededError: typedArray parameter is too big; maximum length is "
                "65536", "more than 65536 elements is k6's QuotaExceededError")
    check.equal(out.get("globals"), "function object", "the global crypto object")


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
    for test in (test_encoding, test_crypto, test_webcrypto_global, test_timers):
        test(lg, check)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
