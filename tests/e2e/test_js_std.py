#!/usr/bin/env python3
"""k6's small standard modules in loadgen's JavaScript runtime (spec k6-js-api.md §8.2):
k6/encoding. Scripts print what they compute with console.log; the checks compare it with
Python's own base64 and the error texts k6 throws."""

import argparse
import base64
import os
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--backend", default="epoll")
    args = ap.parse_args()
    check = Checker(f"js-std-{args.backend}")
    lg = Loadgen(args.binary, args.backend)
    for test in (test_encoding,):
        test(lg, check)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
