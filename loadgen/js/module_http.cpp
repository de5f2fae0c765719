// Module `k6/http` (k6-js-api §4). The JavaScript half handles the arguments, bodies
// (forms, multipart with http.file), cookies and jars, redirects and the Response object;
// one native sends a request through the runtime's VuHost — the same HTTP client and
// samples as scenario files — and returns what it got.
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <strings.h>
#include <chrono>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string_view>

#include "common/address.h"
#include "loadgen/js/codec.h"
#include "loadgen/js/modules.h"
#include "loadgen/js/resolution.h"
#include "loadgen/js/runtime.h"
#include "loadgen/js/util.h"
#include "loadgen/report/console.h"
#include "loadgen/run/url.h"

namespace faultline::loadgen::js {

namespace {

// Responses are read whole, as k6 does; beyond this a request fails instead of taking all
// memory.
constexpr size_t kMaxBody = 128u << 20;

// Valid UTF-8 of `bytes`, each byte of an invalid sequence replaced by U+FFFD (how Go's
// strings reach JavaScript in k6).
std::string lossy_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    auto c = static_cast<unsigned char>(bytes[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xe  ? 3
                 : (c >> 3) == 0x1e ? 4
                                    : 0;
    bool ok = len > 0 && i + len <= bytes.size();
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(bytes[i + k]) & 0xc0) == 0x80;
    }
    if (ok && len > 1) {
      // Overlong forms, surrogates and values past U+10FFFF are invalid too.
      uint32_t cp = c & (0x7f >> len);
      for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (bytes[i + k] & 0x3f);
      static const uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= smallest[len] && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
    }
    if (ok) {
      out.append(bytes.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      i += 1;
    }
  }
  return out;
}

// An expectedStatuses() value as the JavaScript half passes it: null (no callback) or
// [[lo, hi], ...].
bool read_expectation(JSContext* cx, JS::HandleValue v, Expectation& out) {
  if (v.isNull()) {
    out.judged = false;
    return true;
  }
  if (!v.isObject()) return throw_go_error(cx, "unsupported responseCallback");
  out.judged = true;
  out.ranges.clear();
  JS::RootedObject list(cx, &v.toObject());
  uint32_t length = 0;
  if (!JS::GetArrayLength(cx, list, &length)) return false;
  for (uint32_t i = 0; i < length; ++i) {
    JS::RootedValue pair(cx);
    if (!JS_GetElement(cx, list, i, &pair) || !pair.isObject()) return false;
    JS::RootedObject p(cx, &pair.toObject());
    JS::RootedValue lo(cx), hi(cx);
    if (!JS_GetElement(cx, p, 0, &lo) || !JS_GetElement(cx, p, 1, &hi)) return false;
    out.ranges.emplace_back(static_cast<int>(lo.toNumber()), static_cast<int>(hi.toNumber()));
  }
  return true;
}

// A request as the JavaScript half describes it, turned into what the client sends.
struct Prepared {
  bool built = false;  // false: the request could not be made (fail_code, fail_text)
  int fail_code = 0;
  std::string fail_text;
  std::string response_type = "text";
  std::string bytes;
  HttpRequestSpec spec;
  uint32_t tags = 0;
  Expectation expectation;
  HttpExchange x;
};

// The last plain request a runtime prepared (see prepare): a script that calls the same
// URL again takes the request's bytes, target and tags from here instead of parsing the
// URL and writing the request again.
struct LastRequest {
  std::string method, url, response_type;  // ASCII; url empty: none yet
  std::string bytes;
  HttpRequestSpec spec;  // spec.bytes views `bytes`
  Tags request_tags;
};

LastRequest& last_request(Runtime& rt) {
  auto& slot = rt.module_state["k6/http"];
  if (!slot) slot = std::make_shared<LastRequest>();
  return *std::static_pointer_cast<LastRequest>(slot);
}

// args: method, url, body, headers, tags, timeoutMs, responseType, expected
//   headers: [name, value, ...] (already canonical), tags: object, responseType: "text",
//   "binary" or "none", expected: null (none), undefined (the runtime's) or [[lo, hi], ...]
// False with an exception pending; a request that cannot be made is not an exception
// (p.built false).
bool prepare(JSContext* cx, Runtime& rt, const JS::HandleValueArray& args, Prepared& p) {
  auto arg = [&](size_t i) { return i < args.length() ? args[i] : JS::UndefinedHandleValue; };
  // A plain request: a method and a URL, with no body, headers, tags, timeout or
  // expectation of its own.
  bool plain = arg(2).isNullOrUndefined() && arg(4).isNullOrUndefined() && !arg(5).isNumber() &&
               arg(7).isUndefined() && arg(0).isString() && arg(1).isString() && arg(6).isString();
  if (plain && arg(3).isObject()) {
    JS::RootedObject list(cx, &arg(3).toObject());
    uint32_t length = 0;
    if (!JS::GetArrayLength(cx, list, &length)) return false;
    plain = length == 0;
  }
  LastRequest& last = last_request(rt);
  if (plain && !last.url.empty()) {
    bool same_url = false, same_method = false, same_type = false;
    if (!JS_StringEqualsAscii(cx, arg(1).toString(), last.url.data(), last.url.size(), &same_url) ||
        !JS_StringEqualsAscii(cx, arg(0).toString(), last.method.data(), last.method.size(),
                              &same_method) ||
        !JS_StringEqualsAscii(cx, arg(6).toString(), last.response_type.data(),
                              last.response_type.size(), &same_type)) {
      return false;
    }
    if (same_url && same_method && same_type) {
      p.response_type = last.response_type;
      p.bytes = last.bytes;
      p.spec = last.spec;
      p.spec.bytes = p.bytes;
      p.expectation = rt.expectation;
      p.tags = rt.tags(last.request_tags);
      p.built = true;
      return true;
    }
  }
  auto method = to_utf8(cx, arg(0));
  auto url = to_utf8(cx, arg(1));
  if (!method || !url) return false;
  std::string body;
  bool has_body = !arg(2).isNullOrUndefined();
  if (has_body && !bytes_of(cx, arg(2), body)) {
    return throw_go_error(cx, "unknown request body type");
  }
  std::vector<std::pair<std::string, std::string>> headers;
  if (!string_pairs(cx, arg(3), headers)) return false;
  double timeout_ms = arg(5).isNumber() ? arg(5).toNumber() : 0;
  if (arg(6).isString()) p.response_type = *to_utf8(cx, arg(6));
  p.expectation = rt.expectation;
  if (!arg(7).isUndefined() && !read_expectation(cx, arg(7), p.expectation)) return false;

  auto fail = [&](int code, const std::string& text) {
    p.fail_code = code;
    p.fail_text = text;
    return true;
  };
  Url u;
  std::string error;
  if (!parse_url(*url, u, error)) return fail(1020, error);
  if (u.scheme != "http" && u.scheme != "https") {
    return fail(1020, "invalid URL: unsupported protocol scheme \"" + u.scheme + "\"");
  }
  if (!resolve_target(u.host, u.port, p.spec.target)) {
    return fail(1101, "lookup " + u.host + ": no such host");
  }
  p.spec.target.tls = u.scheme == "https";
  if (p.spec.target.tls) p.spec.target.server_name = u.host;
  std::string& bytes = p.bytes;
  bytes.reserve(256 + body.size());
  bytes += *method;
  bytes += ' ';
  bytes += u.target;
  bytes += " HTTP/1.1\r\n";
  bool have_host = false, have_agent = false, have_authorization = false;
  for (const auto& [k, v] : headers) {
    if (k == "Host") have_host = true;
    if (k == "User-Agent") have_agent = true;
    if (k == "Authorization") have_authorization = true;
  }
  if (!have_host) bytes += "Host: " + host_header(u) + "\r\n";
  if (!have_agent && !rt.script().user_agent.empty()) {
    bytes += "User-Agent: " + rt.script().user_agent + "\r\n";
  }
  // Credentials in the URL are sent as Basic auth (k6 sends them whatever params.auth says,
  // unless the script sets Authorization itself).
  if (!u.user.empty() && !have_authorization) {
    bytes += "Authorization: Basic " + base64_encode(url_to_path(u.user), kBase64Std) + "\r\n";
  }
  for (const auto& [k, v] : headers) {
    if (k == "Content-Length") continue;  // always computed
    bytes += k;
    bytes += ": ";
    bytes += v;
    bytes += "\r\n";
  }
  if (has_body || *method == "POST" || *method == "PUT" || *method == "PATCH") {
    bytes += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  bytes += "\r\n";
  bytes += body;
  p.spec.bytes = bytes;
  p.spec.head = *method == "HEAD";
  p.spec.want_headers = true;
  p.spec.want_body = p.response_type != "none";  // "none" reads the body and keeps nothing
  p.spec.body_limit = kMaxBody;
  p.spec.timeout = timeout_ms > 0 ? std::chrono::duration_cast<Duration>(
                                        std::chrono::duration<double, std::milli>(timeout_ms))
                                  : rt.script().request_timeout;

  // Tags: the request's own on top of the VU's (k6 §3.2).
  Tags extra;
  if (!tags_from(cx, arg(4), extra, "invalid HTTP request metric tags: ")) return false;
  std::string shown = *url;
  if (!u.user.empty()) {
    size_t colon = u.user.find(':');
    std::string masked = colon == std::string::npos ? "****" : "****:****";
    shown.replace(shown.find(u.user), u.user.size(), masked);
  }
  auto named =
      std::find_if(extra.begin(), extra.end(), [](const auto& t) { return t.first == "name"; });
  std::string name = named != extra.end() ? named->second : shown;
  Tags request_tags{{"method", *method}, {"url", name}, {"name", name}};
  for (const auto& t : extra) {
    if (t.first != "name") request_tags.push_back(t);
  }
  p.tags = rt.tags(request_tags);
  p.built = true;
  if (plain && is_ascii(*method) && is_ascii(*url) && is_ascii(p.response_type)) {
    last.method = *method;
    last.url = *url;
    last.response_type = p.response_type;
    last.bytes = p.bytes;
    last.spec = p.spec;
    last.spec.bytes = last.bytes;
    last.request_tags = std::move(request_tags);
  }
  return true;
}

// The JavaScript half's view of one outcome:
// [status, proto, body, headers [name, value, ...], timings [7], error, errorCode,
//  remoteIp, remotePort, setsCookies, tlsVersion, tlsCipherSuite]
bool outcome(JSContext* cx, Runtime& rt, Prepared& p, JS::MutableHandleValue out) {
  // The twelve values are made first and the array from them in one call: setting
  // elements one by one through the API costs more than making all the values.
  JS::RootedValueArray<12> v(cx);
  JS::RootedString empty(cx, JS_GetEmptyString(cx));
  auto text = [&](size_t i, std::string_view s) {
    if (s.empty()) {
      v[i].setString(empty);
      return true;
    }
    JSString* str = new_string(cx, s);
    if (!str) return false;
    v[i].setString(str);
    return true;
  };
  auto finish = [&]() {
    JSObject* result = JS::NewArrayObject(cx, v);
    if (!result) return false;
    out.setObject(*result);
    return true;
  };
  if (!p.built) {
    // A request that could not even be made: no samples (k6 §4.2), k6's warning.
    if (rt.script().throw_errors) return throw_go_error(cx, p.fail_text);
    log_line("warning", "Request Failed", log_field("error", p.fail_text));
    JSObject* timings = JS::NewArrayObject(cx, 0);
    if (!timings) return false;
    v[0].setInt32(0);
    v[1].setString(empty);
    v[2].setNull();
    v[3].setString(empty);
    v[4].setObject(*timings);
    if (!text(5, p.fail_text)) return false;
    v[6].setInt32(p.fail_code);
    v[7].setString(empty);
    v[8].setInt32(0);
    v[9].setBoolean(false);
    v[10].setString(empty);
    v[11].setString(empty);
    return finish();
  }
  HttpExchange& x = p.x;
  v[0].setInt32(x.status);
  if (!text(1, x.status == 0 ? "" : x.http_minor == 0 ? "HTTP/1.0" : "HTTP/1.1")) return false;
  v[2].setNull();
  bool no_body = x.status == 0 || (x.status >= 100 && x.status < 200) || x.status == 204 ||
                 x.status == 304 || p.response_type == "none" || x.body_truncated;
  if (!no_body) {
    if (p.response_type == "binary") {
      JSObject* buffer = new_array_buffer(cx, x.body);
      if (!buffer) return false;
      v[2].setObject(*buffer);
    } else {
      // A body that is not UTF-8 becomes text the way Go's strings reach k6 scripts.
      JSString* s = new_string(cx, x.body);
      if (!s) {
        JS_ClearPendingException(cx);
        s = new_string(cx, lossy_utf8(x.body));
        if (!s) return false;
      }
      v[2].setString(s);
    }
  }
  // The headers as one string, "Name\nvalue\nName\nvalue" (a header cannot hold a newline):
  // one allocation, split by the JavaScript half only when a script reads them.
  std::string joined;
  size_t size = 0;
  for (const auto& [k, value] : x.headers) size += k.size() + value.size() + 2;
  joined.reserve(size);
  for (const auto& [k, value] : x.headers) {
    if (!joined.empty()) joined += '\n';
    append_canonical_header(joined, k);
    joined += '\n';
    joined += value;
  }
  JSString* header_text = new_string(cx, joined);
  if (!header_text) {
    JS_ClearPendingException(cx);
    header_text = new_string(cx, lossy_utf8(joined));
    if (!header_text) return false;
  }
  v[3].setString(header_text);
  JS::RootedValueArray<7> phases(cx);
  const double times[] = {x.blocked, x.connecting, x.tls_handshaking, x.sending,
                          x.waiting, x.receiving,  x.duration};
  for (size_t i = 0; i < 7; ++i) phases[i].setNumber(times[i]);
  JSObject* timings = JS::NewArrayObject(cx, phases);
  if (!timings) return false;
  v[4].setObject(*timings);
  std::string_view error_text = x.status == 0 ? std::string_view(x.failure.text) : "";
  if (x.body_truncated) {
    error_text =
        "the response body is larger than the 128 MiB loadgen keeps; use responseType "
        "'none' to discard it";
  }
  if (!text(5, error_text)) return false;
  v[6].setInt32(x.failure.code);
  char ip[INET6_ADDRSTRLEN];
  uint16_t port = ip_text(reinterpret_cast<const sockaddr*>(&p.spec.target.address), ip);
  if (!text(7, x.status == 0 ? "" : ip)) return false;
  v[8].setInt32(x.status == 0 ? 0 : port);
  // Whether the response sets cookies: most do not, and the JavaScript half then skips
  // looking for them.
  v[9].setBoolean(std::any_of(x.headers.begin(), x.headers.end(), [](const auto& h) {
    return h.first.size() == 10 && strncasecmp(h.first.data(), "set-cookie", 10) == 0;
  }));
  if (!text(10, x.tls_version) || !text(11, x.tls_cipher)) return false;
  if (x.status == 0 && !x.failure.text.empty()) {
    if (rt.script().throw_errors) return throw_go_error(cx, x.failure.text);
    log_line("warning", "Request Failed", log_field("error", x.failure.text));
  }
  return finish();
}

// request(method, url, body, headers, tags, timeoutMs, responseType, expected)
bool request(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  if (rt.phase == Phase::kInit || !rt.host) {
    return throw_go_error(cx, "Making http requests in the init context is not supported");
  }
  Prepared p;
  if (!prepare(cx, rt, args, p)) return false;
  if (p.built) {
    rt.host->http(p.spec, p.tags, p.expectation, p.x);
    if (p.x.interrupted) return false;  // the VU is being stopped: end the script
  }
  return outcome(cx, rt, p, args.rval());
}

// requestMany([[request's arguments], ...]) -> [outcome, ...]: http.batch's requests at
// once, at most kBatchPerHost in flight (k6's batchPerHost default).
bool request_many(JSContext* cx, unsigned argc, JS::Value* vp) {
  constexpr size_t kBatchPerHost = 6;
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  if (rt.phase == Phase::kInit || !rt.host) {
    return throw_go_error(cx, "Using batch in the init context is not supported");
  }
  if (!args.get(0).isObject()) return throw_go_error(cx, "requestMany takes a list");
  JS::RootedObject list(cx, &args[0].toObject());
  uint32_t length = 0;
  if (!JS::GetArrayLength(cx, list, &length)) return false;
  std::vector<std::unique_ptr<Prepared>> prepared;
  std::vector<HttpCall> calls;
  for (uint32_t i = 0; i < length; ++i) {
    JS::RootedValue entry(cx);
    if (!JS_GetElement(cx, list, i, &entry) || !entry.isObject()) return false;
    JS::RootedObject entry_list(cx, &entry.toObject());
    JS::RootedValueVector values(cx);
    for (uint32_t k = 0; k < 8; ++k) {
      JS::RootedValue v(cx);
      if (!JS_GetElement(cx, entry_list, k, &v) || !values.append(v)) return false;
    }
    auto p = std::make_unique<Prepared>();
    if (!prepare(cx, rt, JS::HandleValueArray(values), *p)) return false;
    if (p->built) calls.push_back({&p->spec, p->tags, &p->expectation, &p->x});
    prepared.push_back(std::move(p));
  }
  if (!calls.empty()) rt.host->http_batch(calls.data(), calls.size(), kBatchPerHost);
  JS::RootedObject results(cx, JS::NewArrayObject(cx, length));
  if (!results) return false;
  for (uint32_t i = 0; i < length; ++i) {
    if (prepared[i]->built && prepared[i]->x.interrupted) return false;
    JS::RootedValue one(cx);
    if (!outcome(cx, rt, *prepared[i], &one) || !JS_SetElement(cx, results, i, one)) return false;
  }
  args.rval().setObject(*results);
  return true;
}

// setExpectation(null | [[lo, hi], ...]): the runtime's responseCallback.
bool set_expectation(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  if (!read_expectation(cx, args.get(0), rt.expectation)) return false;
  args.rval().setUndefined();
  return true;
}

bool warn(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  auto text = to_utf8(cx, args.get(0));
  auto fields = args.length() > 1 ? to_utf8(cx, args[1]) : std::optional<std::string>("");
  if (!text || !fields) return false;
  log_line("warning", *text, *fields);
  args.rval().setUndefined();
  return true;
}

// jarGeneration() -> the number of the VU's current cookie jar (Runtime::
// cookie_jar_generation), or -1 where k6 has no VU jar (the init context).
bool jar_generation(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  if (rt.phase == Phase::kInit || !rt.host) {
    args.rval().setInt32(-1);
  } else {
    args.rval().setNumber(static_cast<double>(rt.cookie_jar_generation));
  }
  return true;
}

// boundary() -> a multipart boundary like Go's mime/multipart makes: 30 random bytes in
// hex. From the OS's randomness, not Math.random, which a script may have seeded.
bool boundary(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  thread_local std::mt19937_64 random{std::random_device{}()};
  static const char digits[] = "0123456789abcdef";
  std::string text;
  for (int i = 0; i < 30; ++i) {
    auto byte = static_cast<unsigned>(random() & 0xff);
    text += digits[byte >> 4];
    text += digits[byte & 15];
  }
  JSString* s = new_string(cx, text);
  if (!s) return false;
  args.rval().setString(s);
  return true;
}

// unixNanos() -> the wall clock in nanoseconds as decimal text (http.file's default name).
bool unix_nanos(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  JSString* s = new_string(cx, std::to_string(ns));
  if (!s) return false;
  args.rval().setString(s);
  return true;
}

// joinBytes([string | ArrayBuffer, ...]) -> one ArrayBuffer: strings as UTF-8.
bool join_bytes(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  if (!args.get(0).isObject()) return throw_type_error(cx, "joinBytes() needs a list");
  JS::RootedObject list(cx, &args[0].toObject());
  uint32_t length = 0;
  if (!JS::GetArrayLength(cx, list, &length)) return false;
  std::string joined, piece;
  JS::RootedValue v(cx);
  for (uint32_t i = 0; i < length; ++i) {
    if (!JS_GetElement(cx, list, i, &v)) return false;
    if (!bytes_of(cx, v, piece)) return throw_type_error(cx, "joinBytes(): not bytes");
    joined += piece;
  }
  JSObject* buffer = new_array_buffer(cx, joined);
  if (!buffer) return false;
  args.rval().setObject(*buffer);
  return true;
}

// lossyText(string | ArrayBuffer) -> the bytes as text (res.request.body).
bool lossy_text(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  std::string bytes;
  if (!bytes_of(cx, args.get(0), bytes)) bytes.clear();
  JSString* s = new_string(cx, lossy_utf8(bytes));
  if (!s) return false;
  args.rval().setString(s);
  return true;
}

bool define(JSContext* cx, JS::HandleObject n) {
  static const JSFunctionSpec functions[] = {JS_FN("request", request, 8, 0),
                                             JS_FN("requestMany", request_many, 1, 0),
                                             JS_FN("setExpectation", set_expectation, 1, 0),
                                             JS_FN("warn", warn, 2, 0),
                                             JS_FN("jarGeneration", jar_generation, 0, 0),
                                             JS_FN("boundary", boundary, 0, 0),
                                             JS_FN("unixNanos", unix_nanos, 0, 0),
                                             JS_FN("joinBytes", join_bytes, 1, 0),
                                             JS_FN("lossyText", lossy_text, 1, 0),
                                             JS_FS_END};
  return JS_DefineFunctions(cx, n, functions);
}

const char* kSource = R"js(
const n = __faultline_native('k6/http');
const expectedBrand = Symbol('expectedStatuses');
const urlBrand = Symbol('http.url');

// Go's canonical header key: "x-api-key" -> "X-Api-Key". A script sends the same few
// header names on every request: they are worked out once per VU.
const canonicalKeys = new Map();
function canonical(key) {
  let c = canonicalKeys.get(key);
  if (c !== undefined) return c;
  c = /[^A-Za-z0-9!#$%&'*+\-.^_`|~]/.test(key)
    ? key
    : key.toLowerCase().replace(/(^|-)([a-z])/g, (m, dash, ch) => dash + ch.toUpperCase());
  if (canonicalKeys.size < 256) canonicalKeys.set(key, c);
  return c;
}

// Go's %v for a form value.
function goText(v) {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'object') {
    if (Array.isArray(v)) return '[' + v.map(goText).join(' ') + ']';
    return 'map[' + Object.keys(v).sort().map((k) => k + ':' + goText(v[k])).join(' ') + ']';
  }
  return String(v);
}

function formEncode(obj) {
  const parts = [];
  const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+')
    .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  for (const key of Object.keys(obj).sort()) {
    const value = obj[key];
    for (const v of Array.isArray(value) ? value : [value]) parts.push(enc(key) + '=' + enc(goText(v)));
  }
  return parts.join('&');
}

function durationMs(value) {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/g;
  let m, consumed = 0;
  const scale = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000 };
  while ((m = re.exec(value)) !== null) { total += Number(m[1]) * scale[m[2]]; consumed += m[0].length; }
  if (consumed !== value.length) n.goError('time: invalid duration "' + value + '"');
  return total;
}

// A small GJSON subset: "a.b.0.c", "items.#" (length), "items.#.id" (map).
function gjson(value, path) {
  const parts = path.split('.');
  let current = value;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (current === undefined || current === null) return undefined;
    if (part === '#') {
      if (!Array.isArray(current)) return undefined;
      if (i === parts.length - 1) return current.length;
      const rest = parts.slice(i + 1).join('.');
      return current.map((item) => gjson(item, rest)).filter((v) => v !== undefined);
    }
    if (typeof current !== 'object') return undefined;
    current = current[part];
  }
  return current;
}

// A response. What nearly every script reads (status, body, url, error, error_code) is set
// at once; the rest is made from the raw reply when first read, so a request that nobody
// inspects costs little script time. The raw reply and what is made from it live in the
// request's plan, which the response holds under a symbol (SpiderMonkey's interpreter
// makes a private field cost several times an ordinary property).
const PLAN = Symbol('plan');
export class Response {
  constructor(plan, url) {
    const raw = plan[P_RAW];
    this[PLAN] = plan;
    this.status = raw[0];
    this.body = raw[2];
    this.error = raw[5];
    this.error_code = raw[6];
    this.url = url;
  }

  get status_text() {
    const status = this[PLAN][P_RAW][0];
    return status === 0 ? '' : status + ' ' + (STATUS_TEXT[status] || '');
  }
  get proto() { return this[PLAN][P_RAW][1]; }
  get headers() {
    const p = this[PLAN];
    if (p[P_MADE_HEADERS] === undefined) {
      const list = headerPairs(p[P_RAW]);
      const headers = {};
      for (let i = 0; i < list.length; i += 2) {
        const k = list[i];
        headers[k] = k in headers ? headers[k] + ', ' + list[i + 1] : list[i + 1];
      }
      p[P_MADE_HEADERS] = headers;
    }
    return p[P_MADE_HEADERS];
  }
  get timings() {
    const p = this[PLAN];
    if (p[P_MADE_TIMINGS] === undefined) {
      const t = p[P_RAW][4];
      p[P_MADE_TIMINGS] = t.length === 7
        ? { blocked: t[0], connecting: t[1], tls_handshaking: t[2], sending: t[3], waiting: t[4],
            receiving: t[5], duration: t[6], looking_up: 0 }
        : { blocked: 0, connecting: 0, tls_handshaking: 0, sending: 0, waiting: 0, receiving: 0,
            duration: 0, looking_up: 0 };
    }
    return p[P_MADE_TIMINGS];
  }
  get cookies() {
    const p = this[PLAN];
    if (p[P_MADE_COOKIES] === undefined) p[P_MADE_COOKIES] = responseCookies(p[P_RECEIVED]);
    return p[P_MADE_COOKIES];
  }
  get request() {
    const p = this[PLAN];
    if (p[P_MADE_REQUEST] === undefined) p[P_MADE_REQUEST] = describe(p);
    return p[P_MADE_REQUEST];
  }
  get remote_ip() { return this[PLAN][P_RAW][7]; }
  get remote_port() { return this[PLAN][P_RAW][8]; }
  get tls_version() { return this[PLAN][P_RAW][10]; }
  get tls_cipher_suite() { return this[PLAN][P_RAW][11]; }
  get ocsp() {
    return { produced_at: 0, this_update: 0, next_update: 0, revoked_at: 0, revocation_reason: '',
      status: 'unknown' };
  }

  json(selector) {
    if (this.body === null || this.body === undefined) {
      n.goError('the body is null so we can\'t transform it to JSON - this likely was because ' +
        'of a request error getting the response');
    }
    const text = typeof this.body === 'string' ? this.body : String.fromCharCode(...new Uint8Array(this.body));
    if (selector !== undefined) {
      try { return gjson(JSON.parse(text), String(selector)); } catch (e) { return undefined; }
    }
    const p = this[PLAN];
    if (p[P_MADE_JSON] === undefined) {
      try {
        p[P_MADE_JSON] = JSON.parse(text);
      } catch (e) {
        n.goError('cannot parse json due to an error: ' + e.message);
      }
    }
    return p[P_MADE_JSON];
  }

  html() {
    n.goError('res.html() is not supported by loadgen');
  }
}

const STATUS_TEXT = {
  100: 'Continue', 101: 'Switching Protocols', 200: 'OK', 201: 'Created', 202: 'Accepted',
  203: 'Non-Authoritative Information', 204: 'No Content', 205: 'Reset Content',
  206: 'Partial Content', 300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Found',
  303: 'See Other', 304: 'Not Modified', 307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden',
  404: 'Not Found', 405: 'Method Not Allowed', 406: 'Not Acceptable', 408: 'Request Timeout',
  409: 'Conflict', 410: 'Gone', 411: 'Length Required', 412: 'Precondition Failed',
  413: 'Request Entity Too Large', 414: 'Request URI Too Long', 415: 'Unsupported Media Type',
  418: "I'm a teapot", 422: 'Unprocessable Entity', 425: 'Too Early', 426: 'Upgrade Required',
  428: 'Precondition Required', 429: 'Too Many Requests', 500: 'Internal Server Error',
  501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Gateway Timeout', 505: 'HTTP Version Not Supported',
};

function resolveLocation(base, location) {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) return location;
  const m = /^([a-z]+:\/\/[^/?#]*)([^?#]*)/i.exec(base);
  if (!m) return location;
  if (location.startsWith('//')) return base.slice(0, base.indexOf('//')) + location;
  if (location.startsWith('/')) return m[1] + location;
  const dir = m[2].slice(0, m[2].lastIndexOf('/') + 1) || '/';
  return m[1] + dir + location;
}

// ---- Cookies and jars (k6-js-api §4.8, §4.9) ------------------------------------------
// k6 keeps cookies in Go's net/http/cookiejar without a public-suffix list and parses
// Set-Cookie like net/http; this section follows those rules (RFC 6265): host-only and
// domain cookies, default paths, path matching, Secure only over https, Max-Age before
// Expires, expiry on the way out, and the order longest path, then oldest.

const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
// An own data property even for names like "__proto__".
function putList(obj, key, item) {
  if (!hasOwn(obj, key)) {
    Object.defineProperty(obj, key, { value: [], enumerable: true, writable: true, configurable: true });
  }
  obj[key].push(item);
}
// Go's textproto.TrimString: ASCII white space only.
const trimAscii = (s) => s.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const COOKIE_VALUE = /^[\x20\x21\x23-\x3a\x3c-\x5b\x5d-\x7e]*$/;
// A Go string parameter: undefined and null become "".
const goString = (v) => (v === undefined || v === null ? '' : String(v));
const goQuote = (s) => '"' + s.replace(/[\\"]/g, (c) => '\\' + c) + '"';

// net/http's parseCookieValue: surrounding quotes may be dropped, then only cookie-octets
// (space and comma included, as Go accepts them). null when invalid.
function cookieValue(raw, allowQuotes) {
  if (allowQuotes && raw.length > 1 && raw[0] === '"' && raw[raw.length - 1] === '"') raw = raw.slice(1, -1);
  return COOKIE_VALUE.test(raw) ? raw : null;
}

// Go's time.Parse of RFC 1123 ("Mon, 02 Jan 2006 15:04:05 MST", or with dashes in the
// date for Set-Cookie's older form): ms since the epoch (the zone is taken as UTC, as Go
// does for abbreviations it does not know), or an Error with Go's text.
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
function parseHttpDate(value, dashed) {
  const sep = dashed ? '-' : ' ';
  const layout = dashed ? 'Mon, 02-Jan-2006 15:04:05 MST' : 'Mon, 02 Jan 2006 15:04:05 MST';
  const prefix = 'parsing time ' + goQuote(value);
  const fail = (rest, element) => new Error(prefix + ' as ' + goQuote(layout) + ': cannot parse ' +
    goQuote(rest) + ' as ' + goQuote(element));
  let rest = value;
  const fields = {};
  const steps = [
    ['Mon', /^[A-Za-z]{3}/, (t) => DAYS.includes(t.toLowerCase())], [', '],
    ['02', /^[0-9]{2}/], [sep],
    ['Jan', /^[A-Za-z]{3}/, (t) => MONTHS.includes(t.toLowerCase())], [sep],
    ['2006', /^[0-9]{4}/], [' '],
    ['15', /^[0-9]{1,2}/], [':'], ['04', /^[0-9]{2}/], [':'], ['05', /^[0-9]{2}/], [' '],
    ['MST', /^(?:GMT[+-][0-9]{1,2}|[A-Z]{3,5})/],
  ];
  for (const [element, pattern, valid] of steps) {
    if (!pattern) {
      if (!rest.startsWith(element)) return fail(rest, element);
      rest = rest.slice(element.length);
      continue;
    }
    const m = pattern.exec(rest);
    if (!m || (valid && !valid(m[0]))) return fail(rest, element);
    fields[element] = m[0];
    rest = rest.slice(m[0].length);
    const range = { '02': [0, 31, 'day'], '15': [0, 23, 'hour'], '04': [0, 59, 'minute'], '05': [0, 59, 'second'] }[element];
    if (range && (Number(m[0]) < range[0] || Number(m[0]) > range[1])) {
      return new Error(prefix + ': ' + range[2] + ' out of range');
    }
  }
  if (rest !== '') return new Error(prefix + ': extra text: ' + goQuote(rest));
  const year = Number(fields['2006']);
  const month = MONTHS.indexOf(fields.Jan.toLowerCase());
  const day = Number(fields['02']);
  const ms = Date.UTC(year, month, day, Number(fields['15']), Number(fields['04']), Number(fields['05']));
  if (day < 1 || new Date(Date.UTC(year, month, day)).getUTCMonth() !== month) {
    return new Error(prefix + ': day out of range');
  }
  const offset = /^GMT([+-])([0-9]{1,2})$/.exec(fields.MST);
  return offset ? ms - (offset[1] === '-' ? -1 : 1) * Number(offset[2]) * 3600000 : ms;
}

// One Set-Cookie line as net/http reads it, or null when it is not a cookie. expires is
// ms since the epoch or null (Go's zero time); maxAge is 0 when absent, -1 for "delete now".
function parseSetCookie(line) {
  const parts = trimAscii(line).split(';');
  if (parts.length === 1 && parts[0] === '') return null;
  const first = trimAscii(parts[0]);
  const eq = first.indexOf('=');
  if (eq < 0) return null;
  const name = trimAscii(first.slice(0, eq));
  if (!TOKEN.test(name)) return null;
  const value = cookieValue(first.slice(eq + 1), true);
  if (value === null) return null;
  const c = { name, value, domain: '', path: '', secure: false, httpOnly: false, maxAge: 0, expires: null };
  for (let i = 1; i < parts.length; i++) {
    const part = trimAscii(parts[i]);
    if (part === '') continue;
    const at = part.indexOf('=');
    const attr = at < 0 ? part : part.slice(0, at);
    if (/[^\x00-\x7f]/.test(attr)) continue;
    const val = cookieValue(at < 0 ? '' : part.slice(at + 1), false);
    if (val === null) continue;
    switch (attr.toLowerCase()) {
      case 'secure': c.secure = true; break;
      case 'httponly': c.httpOnly = true; break;
      case 'domain': c.domain = val; break;
      case 'path': c.path = val; break;
      case 'max-age':
        // strconv.Atoi, and no leading zero unless the value is 0.
        if (/^[+-]?[0-9]+$/.test(val) && !(val[0] === '0' && Number(val) !== 0)) {
          const secs = Number(val);
          c.maxAge = secs <= 0 ? -1 : secs;
        }
        break;
      case 'expires': {
        let t = parseHttpDate(val, false);
        if (t instanceof Error) t = parseHttpDate(val, true);
        c.expires = t instanceof Error ? null : t;
        break;
      }
      default: break;
    }
  }
  return c;
}

// The Set-Cookie lines of a raw header list [name, value, ...], parsed.
function setCookies(headers) {
  const out = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== 'Set-Cookie') continue;
    const c = parseSetCookie(headers[i + 1]);
    if (c) out.push(c);
  }
  return out;
}

// res.cookies: name -> [{name, value, domain, path, http_only, secure, max_age, expires}].
// A cookie without Expires has Go's zero time, -6795364578871 in ms.
function responseCookies(parsed) {
  const out = {};
  for (const c of parsed) {
    putList(out, c.name, { name: c.name, value: c.value, domain: c.domain, path: c.path,
      http_only: c.httpOnly, secure: c.secure, max_age: c.maxAge,
      expires: c.expires === null ? -6795364578871 : c.expires });
  }
  return out;
}

// A Cookie header's pairs as net/http's Request.Cookies reads them (res.request.cookies).
function readCookieHeader(header) {
  const out = [];
  for (let part of trimAscii(header).split(';')) {
    part = trimAscii(part);
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = trimAscii(eq < 0 ? part : part.slice(0, eq));
    if (!TOKEN.test(name)) continue;
    const value = cookieValue(eq < 0 ? '' : part.slice(eq + 1), true);
    if (value !== null) out.push({ name, value });
  }
  return out;
}

// "name=value" for a Cookie header, sanitised like net/http's AddCookie: line breaks in
// names become '-', bytes that may not be in a value are dropped, and a value with a
// space or comma is quoted.
function cookiePair(name, value) {
  let v = String(value).replace(/[^\x20\x21\x23-\x3a\x3c-\x5b\x5d-\x7e]/g, '');
  if (/[ ,]/.test(v)) v = '"' + v + '"';
  return String(name).replace(/[\r\n]/g, '-') + '=' + v;
}

function isIp(host) {
  if (/[:%]/.test(host)) return true;
  const m = /^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$/.exec(host);
  return !!m && m.slice(1).every((p) => (p === '0' || p[0] !== '0') && Number(p) <= 255);
}

const hasDotSuffix = (s, suffix) =>
  s.length > suffix.length && s.endsWith(suffix) && s[s.length - suffix.length - 1] === '.';

// Where a jar files a host's cookies: its last two labels (Go, without a suffix list).
function jarKey(host) {
  if (isIp(host)) return host;
  const i = host.lastIndexOf('.');
  if (i <= 0) return host;
  return host.slice(host.lastIndexOf('.', i - 2) + 1);
}

function defaultPath(path) {
  if (path === '' || path[0] !== '/') return '/';
  const i = path.lastIndexOf('/');
  return i === 0 ? '/' : path.slice(0, i);
}

function pathMatch(cookiePath, path) {
  if (path === cookiePath) return true;
  return path.startsWith(cookiePath) &&
    (cookiePath[cookiePath.length - 1] === '/' || path[cookiePath.length] === '/');
}

// The scheme, canonical host and path of `text` as a jar needs them, or null for what a
// jar ignores (not http or https). Errors Go's url.Parse would give are thrown when
// `strict` (the jar's methods), else the URL is ignored (the request reports it).
function jarUrl(text, strict) {
  const bad = (why) => {
    if (strict) n.goError('parse ' + goQuote(text) + ': ' + why);
    return null;
  };
  if (/[\x00-\x1f\x7f]/.test(text)) return bad('net/url: invalid control character in URL');
  if (text[0] === ':') return bad('missing protocol scheme');
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)/.exec(text);
  if (!m) return null;
  // Go checks the escapes of the path (a query keeps its text as it is).
  const escape = /%(?![0-9A-Fa-f]{2})/.exec(m[3]);
  if (escape) return bad('invalid URL escape ' + goQuote(m[3].slice(escape.index, escape.index + 3)));
  const scheme = m[1].toLowerCase();
  let host = m[2].slice(m[2].lastIndexOf('@') + 1);
  if (host[0] === '[' && host.indexOf(']') < 0) return bad("missing ']' in host");
  const port = /^(?:\[[^\]]*\]|[^:]*)(:.*)?$/.exec(host)[1];
  if (port !== undefined && !/^:[0-9]*$/.test(port)) return bad('invalid port ' + goQuote(port) + ' after host');
  if (scheme !== 'http' && scheme !== 'https') return null;
  // The host without its port (net.SplitHostPort where Go's jar finds one), without a
  // trailing dot, in lower case.
  const colons = host.split(':').length - 1;
  if (colons === 1 || (colons > 1 && host[0] === '[' && host.includes(']:'))) {
    host = host[0] === '[' ? host.slice(1, host.indexOf(']')) : host.slice(0, host.lastIndexOf(':'));
  }
  if (host.endsWith('.')) host = host.slice(0, -1);
  let path = m[3];
  try { path = decodeURIComponent(path); } catch (e) { /* kept as sent */ }
  return { scheme, host: host.toLowerCase(), path };
}

const END_OF_TIME = Date.UTC(9999, 11, 31, 23, 59, 59);

// One jar's cookies: jarKey -> Map(domain;path;name -> entry).
class CookieStore {
  constructor() {
    this.entries = new Map();
    this.sequence = 0;
  }

  // net/http/cookiejar's SetCookies: `cookies` as parseSetCookie makes them.
  set(u, cookies, now) {
    if (cookies.length === 0) return;
    const key = jarKey(u.host);
    const fallbackPath = defaultPath(u.path);
    let entries = this.entries.get(key);
    for (const c of cookies) {
      const e = this.entry(c, u.host, fallbackPath, now);
      if (e === null) continue;
      const id = e.domain + ';' + e.path + ';' + e.name;
      if (e.remove) {
        if (entries) entries.delete(id);
        continue;
      }
      if (!entries) {
        entries = new Map();
        this.entries.set(key, entries);
      }
      const old = entries.get(id);
      e.creation = old ? old.creation : now;
      e.sequence = old ? old.sequence : this.sequence++;
      entries.set(id, e);
    }
    if (entries && entries.size === 0) this.entries.delete(key);
  }

  entry(c, host, fallbackPath, now) {
    const path = c.path === '' || c.path[0] !== '/' ? fallbackPath : c.path;
    let domain = c.domain, hostOnly = false;
    if (domain === '') {
      domain = host;
      hostOnly = true;
    } else if (isIp(host)) {
      // An IP may only name itself, and such a cookie is host-only.
      if (host !== domain) return null;
      hostOnly = true;
    } else {
      if (domain[0] === '.') domain = domain.slice(1);
      if (domain === '' || domain[0] === '.' || /[^\x00-\x7f]/.test(domain)) return null;
      domain = domain.toLowerCase();
      if (domain.endsWith('.')) return null;
      if (host !== domain && !hasDotSuffix(host, domain)) return null;
    }
    const e = { name: c.name, value: c.value, domain, path, hostOnly, secure: !!c.secure,
      httpOnly: !!c.httpOnly, persistent: false, expires: END_OF_TIME, remove: false };
    if (c.maxAge < 0) {
      e.remove = true;
    } else if (c.maxAge > 0) {
      e.expires = now + c.maxAge * 1000;
      e.persistent = true;
    } else if (c.expires !== null && c.expires !== undefined) {
      if (!(c.expires > now)) e.remove = true;
      e.expires = c.expires;
      e.persistent = true;
    }
    return e;
  }

  // net/http/cookiejar's Cookies: [{name, value}] to send to `u`; expired ones go.
  get(u, now) {
    const key = jarKey(u.host);
    const entries = this.entries.get(key);
    if (!entries) return [];
    const https = u.scheme === 'https';
    const path = u.path === '' ? '/' : u.path;
    const selected = [];
    for (const [id, e] of entries) {
      if (e.persistent && !(e.expires > now)) {
        entries.delete(id);
        continue;
      }
      const domainOk = e.domain === u.host || (!e.hostOnly && hasDotSuffix(u.host, e.domain));
      if (domainOk && pathMatch(e.path, path) && (https || !e.secure)) selected.push(e);
    }
    if (entries.size === 0) this.entries.delete(key);
    selected.sort((a, b) => (a.path !== b.path ? (a.path > b.path ? -1 : 1)
      : a.creation !== b.creation ? a.creation - b.creation : a.sequence - b.sequence));
    return selected.map((e) => ({ name: e.name, value: e.value }));
  }
}

const stores = new WeakMap();  // CookieJar -> CookieStore
function storeOf(jar) {
  const store = stores.get(jar);
  if (!store) throw new TypeError('not a CookieJar');
  return store;
}

export class CookieJar {
  constructor() {
    stores.set(this, new CookieStore());
  }

  // name -> [value, ...] of the cookies a request to `url` would send.
  cookiesForURL(url) {
    const store = storeOf(this);
    const u = jarUrl(goString(url), true);
    const out = {};
    if (u) for (const c of store.get(u, Date.now())) putList(out, c.name, c.value);
    return out;
  }

  // Stores a cookie as if `url` had set it; options keys are case-insensitive.
  set(url, name, value, options) {
    const store = storeOf(this);
    const u = jarUrl(goString(url), true);
    const c = { name: goString(name), value: goString(value), domain: '', path: '', secure: false,
      httpOnly: false, maxAge: 0, expires: null };
    if (options !== undefined && options !== null) {
      const opts = Object(options);
      for (const key of Object.keys(opts)) {
        const v = opts[key];
        switch (key.toLowerCase()) {
          case 'path': c.path = String(v); break;
          case 'domain': c.domain = String(v); break;
          case 'expires': {
            const text = String(v);
            c.expires = null;
            if (text !== '') {
              const t = parseHttpDate(text, false);
              if (t instanceof Error) n.goError('unable to parse "expires" date string ' + goQuote(text) + ': ' + t.message);
              c.expires = t;
            }
            break;
          }
          case 'max_age': c.maxAge = Math.trunc(Number(v)) || 0; break;
          case 'secure': c.secure = !!v; break;
          case 'http_only': c.httpOnly = !!v; break;
          default: break;
        }
      }
    }
    if (u) store.set(u, [c], Date.now());
    return true;
  }

  // k6's clear(url): the cookies `url` would get are set again as expired, for the host
  // and default path of `url` (so, as in k6, cookies filed under another path or domain
  // stay).
  clear(url) {
    const store = storeOf(this);
    const u = jarUrl(goString(url), true);
    if (!u) return;
    const now = Date.now();
    const expired = store.get(u, now).map((c) => ({ name: c.name, value: c.value, domain: '',
      path: '', maxAge: -1, expires: null }));
    store.set(u, expired, now);
  }

  delete(url, name) {
    const store = storeOf(this);
    name = goString(name);
    if (name === '') n.goError('cookie: is null');
    const u = jarUrl(goString(url), true);
    if (u) store.set(u, [{ name, value: '', domain: '', path: '', maxAge: -1, expires: null }], Date.now());
  }
}

// The VU's jar: a new one whenever k6 starts the VU on a new one (each iteration unless
// noCookiesReset; setup and teardown have runtimes, and so jars, of their own).
// The jar is made when first needed (a cookie to keep, or cookieJar()), so an iteration
// that meets no cookie makes none.
let vuJar = null;
let vuJarGeneration = -1;
function currentVuJar(create) {
  const generation = n.jarGeneration();
  if (generation < 0) return null;
  if (generation !== vuJarGeneration) {
    vuJar = null;
    vuJarGeneration = generation;
  }
  if (vuJar === null && create) vuJar = new CookieJar();
  return vuJar;
}

export function cookieJar() {
  const jar = currentVuJar(true);
  if (jar === null) n.goError('Making cookie jars in the init context is not supported');
  return jar;
}

// params.cookies: name -> string or {value, replace} (keys case-insensitive), in order.
function paramsCookies(cookies) {
  if (cookies === undefined || cookies === null) return NO_COOKIES;
  const out = [];
  const all = Object(cookies);
  for (const name of Object.keys(all)) {
    const v = all[name];
    if (v === undefined || v === null) continue;
    // What Go sees as a map (any object but an array, a date or bytes) is {value, replace}.
    if (typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof ArrayBuffer) &&
        !ArrayBuffer.isView(v)) {
      const c = { name, value: '', replace: false };
      for (const key of Object.keys(v)) {
        const lower = key.toLowerCase();
        if (lower === 'replace') c.replace = !!v[key];
        else if (lower === 'value') c.value = String(v[key]);
      }
      out.push(c);
    } else {
      out.push({ name, value: String(v), replace: false });
    }
  }
  return out;
}

// The Cookie header of one hop: `base` (the script's own Cookie header, first hop only),
// then params.cookies, then the jar's cookies for `url` except those params.cookies
// replaces.
function cookieHeader(base, requestCookies, store, url) {
  // Most requests have no cookie to send: nothing to build.
  if (!base && requestCookies.length === 0 && (!store || store.entries.size === 0)) return '';
  const parts = base ? [base] : [];
  const replaced = new Set();
  for (const c of requestCookies) {
    parts.push(cookiePair(c.name, c.value));
    if (c.replace) replaced.add(c.name);
  }
  if (store && store.entries.size > 0) {
    const u = jarUrl(url, false);
    if (u) {
      for (const c of store.get(u, Date.now())) {
        if (!replaced.has(c.name)) parts.push(cookiePair(c.name, c.value));
      }
    }
  }
  return parts.join('; ');
}

// Set-Cookie of a response to `url` into the active jar.
function keepCookies(store, url, parsed) {
  if (!store || parsed.length === 0) return;
  const u = jarUrl(url, false);
  if (u) store.set(u, parsed, Date.now());
}

// ---- Files and multipart bodies (k6-js-api §4.3) --------------------------------------

const fileBrand = new WeakSet();

class FileData {
  constructor(data, filename, contentType) {
    this.data = data;
    this.filename = filename;
    this.content_type = contentType;
    fileBrand.add(this);
  }
}

// The Go type name k6 reports for a value it cannot use.
function goTypeName(v) {
  if (v === undefined || v === null) return '<nil>';
  switch (typeof v) {
    case 'boolean': return 'bool';
    case 'number': return Number.isInteger(v) ? 'int64' : 'float64';
    case 'bigint': return '*big.Int';
    case 'function': return 'func(sobek.FunctionCall) sobek.Value';
    case 'symbol': return '*sobek.Symbol';
    default: break;
  }
  if (Array.isArray(v)) return '[]interface {}';
  if (v instanceof Date) return 'time.Time';
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    const kind = { Int8Array: 'int8', Uint8Array: 'uint8', Uint8ClampedArray: 'uint8', Int16Array: 'int16',
      Uint16Array: 'uint16', Int32Array: 'int32', Uint32Array: 'uint32', Float32Array: 'float32',
      Float64Array: 'float64', BigInt64Array: 'int64', BigUint64Array: 'uint64' }[v.constructor.name];
    return '[]' + (kind || 'interface {}');
  }
  return 'map[string]interface {}';
}

export function file(data, ...args) {
  let filename = n.unixNanos();
  let contentType = 'application/octet-stream';
  if (args.length > 0) {
    filename = goString(args[0]);
    if (args.length > 1) contentType = goString(args[1]);
  }
  if (typeof data !== 'string' && !(data instanceof ArrayBuffer)) {
    n.goError('invalid type ' + goTypeName(data) + ', expected string or ArrayBuffer');
  }
  return new FileData(data, filename, contentType);
}

const isFile = (v) => v !== null && typeof v === 'object' && fileBrand.has(v);
const escapeQuotes = (s) => s.replace(/[\\"]/g, (c) => '\\' + c);

// A multipart/form-data body as Go's mime/multipart writes it: [bytes, boundary]. Part
// headers come sorted by name; a file part names its field as given, a plain field's
// name is escaped (Go's CreateFormField).
function multipartBody(obj) {
  const boundary = n.boundary();
  const pieces = [];
  let first = true;
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    pieces.push((first ? '--' : '\r\n--') + boundary + '\r\n');
    first = false;
    if (isFile(value)) {
      const data = value.data;
      if (typeof data !== 'string' && !(data instanceof ArrayBuffer)) {
        n.goError('invalid type ' + goTypeName(data) + ', expected string, []byte or ArrayBuffer');
      }
      pieces.push('Content-Disposition: form-data; name="' + key + '"; filename="' +
        escapeQuotes(goString(value.filename)) + '"\r\nContent-Type: ' + goString(value.content_type) +
        '\r\n\r\n', data);
    } else {
      pieces.push('Content-Disposition: form-data; name="' + escapeQuotes(key) + '"\r\n\r\n' + goText(value));
    }
  }
  pieces.push((first ? '--' : '\r\n--') + boundary + '--\r\n');
  return [n.joinBytes(pieces), boundary];
}

// ---- Requests ------------------------------------------------------------------------

// A reply's headers as [name, value, ...], split from the native's one string once.
function headerPairs(raw) {
  if (typeof raw[3] === 'string') raw[3] = raw[3] === '' ? [] : raw[3].split('\n');
  return raw[3];
}

const NO_COOKIES = Object.freeze([]);
const NO_HEADERS = Object.freeze([]);
const REDIRECT = new Set([301, 302, 303, 307, 308]);
const isBytes = (v) => v instanceof ArrayBuffer || ArrayBuffer.isView(v);

// A request's plan: what request() sends first, what follow() needs for redirects and
// cookies (http.batch sends the first requests of several at once), then the raw reply and
// what the response makes from it when first read (appended then). An array, indexed by
// these names: SpiderMonkey's interpreter, which runs this on every request, fills the
// elements of a short array several times faster than it adds an object's properties.
const P_METHOD = 0, P_URL = 1, P_BODY = 2, P_HEADERS = 3, P_TAGS = 4, P_TIMEOUT = 5, P_TYPE = 6,
  P_EXPECTED = 7, P_PARAMS = 8, P_STORE = 9, P_FIRST_COOKIE = 10, P_RECEIVED = 11, P_RAW = 12,
  P_MADE_HEADERS = 13, P_MADE_TIMINGS = 14, P_MADE_JSON = 15, P_MADE_COOKIES = 16,
  P_MADE_REQUEST = 17;

function plan(method, url, body, params) {
  // (Each property of params is read once, and a request without params reads and calls
  // nothing it does not need.)
  if (typeof method !== 'string') method = String(method);
  let name;
  if (typeof url !== 'string') {
    if (url && typeof url === 'object' && url[urlBrand]) { name = url.name; url = url.url; }
    url = String(url);
  }
  let headerList = NO_HEADERS;
  let sendBody = body;
  if (body !== null && body !== undefined && typeof body !== 'string' && !isBytes(body)) {
    // A file is a value of a form, not a body of its own (k6 rejects it the same way).
    if (isFile(body)) n.goError('unknown request body type *http.FileData');
    if (typeof body !== 'object') n.goError('unknown request body type ' + typeof body);
    let contentType;
    if (Object.keys(body).some((k) => isFile(body[k]))) {
      const [bytes, boundary] = multipartBody(body);
      sendBody = bytes;
      contentType = 'multipart/form-data; boundary=' + boundary;
    } else {
      sendBody = formEncode(body);
      contentType = 'application/x-www-form-urlencoded';
    }
    headerList = ['Content-Type', contentType];
  }
  let tags;
  let timeout;
  let responseType = 'text';
  let expected;
  let requestCookies = NO_COOKIES;
  let jar = null;
  if (params) {
    const headers = params.headers;
    if (headers) {
      // (Indexed loops here and below: for-of runs the iterator protocol's self-hosted
      // code in the interpreter, several times the cost of the loop's body.)
      const keys = Object.keys(headers);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i];
        const value = headers[key];
        if (value === null || value === undefined) continue;
        const k = canonical(key);
        if (headerList === NO_HEADERS) headerList = [];
        const at = headerList.indexOf(k);
        if (at >= 0 && at % 2 === 0) headerList.splice(at, 2);
        headerList.push(k, String(value));
      }
    }
    tags = params.tags;
    const t = params.timeout;
    if (t !== undefined && t !== null) timeout = durationMs(t);
    const type = params.responseType;
    if (type !== undefined && type !== null) {
      responseType = type;
      if (type !== 'text' && type !== 'binary' && type !== 'none') {
        n.goError(type + ' does not belong to ResponseType values');
      }
    }
    const callback = params.responseCallback;
    if (callback === null) expected = null;
    else if (callback && callback[expectedBrand]) expected = callback[expectedBrand];
    else if (callback !== undefined) n.goError('unsupported responseCallback');
    // Cookies: params.jar (a CookieJar; anything else leaves the VU's jar) or the VU's jar
    // sends and keeps them, on every hop.
    requestCookies = paramsCookies(params.cookies);
    const own = params.jar;
    if (own !== undefined && own !== null && stores.has(own)) jar = own;
  }
  if (name !== undefined && name !== url && !(tags && 'name' in tags)) tags = Object.assign({}, tags, { name });
  if (jar === null) {
    // The VU's jar, as currentVuJar(false) finds it, without the call.
    const generation = n.jarGeneration();
    if (generation >= 0) {
      if (generation !== vuJarGeneration) {
        vuJar = null;
        vuJarGeneration = generation;
      }
      jar = vuJar;
    }
  }
  // (A request's own jar always has a store: no store means the VU's jar is in use.)
  const store = jar === null ? null : stores.get(jar);
  let userCookie = '';
  if (headerList !== NO_HEADERS) {
    const cookieAt = headerList.indexOf('Cookie');
    if (cookieAt >= 0 && cookieAt % 2 === 0) {
      userCookie = headerList[cookieAt + 1];
      headerList.splice(cookieAt, 2);
    }
  }
  const firstCookie = userCookie === '' && requestCookies.length === 0 && store === null
    ? '' : cookieHeader(userCookie, requestCookies, store, url);
  return [method, url, sendBody, headerList, tags, timeout, responseType, expected, params, store,
    firstCookie, NO_COOKIES, undefined];
}

// The headers of one hop: the script's (without its Cookie) and that hop's Cookie.
const hopHeaders = (p, cookie) => (cookie === '' ? p[P_HEADERS] : p[P_HEADERS].concat('Cookie', cookie));

// The native's arguments for the first hop.
const firstArgs = (p) => [p[P_METHOD], p[P_URL], p[P_BODY], hopHeaders(p, p[P_FIRST_COOKIE]), p[P_TAGS],
  p[P_TIMEOUT], p[P_TYPE], p[P_EXPECTED]];

// Where the cookies a reply sets go: the request's jar, else the VU's, made for them.
function keep(p, url, received) {
  if (received.length === 0) return;
  if (p[P_STORE] === null) {
    const vu = currentVuJar(true);
    p[P_STORE] = vu === null ? null : stores.get(vu);
  }
  keepCookies(p[P_STORE], url, received);
}

// The Response from the first reply.
function finish(p, raw) {
  const status = raw[0];
  // Most replies set no cookie and redirect nowhere.
  if (!raw[9] && (status < 301 || status > 308)) {
    p[P_RAW] = raw;
    return new Response(p, p[P_URL]);
  }
  return new Response(p, follow(p, raw));
}

// Keeps the cookies of a reply and follows its redirects; the URL of the last hop.
function follow(p, raw) {
  let current = p[P_URL];
  let received = raw[9] ? setCookies(headerPairs(raw)) : NO_COOKIES;
  keep(p, current, received);
  if (REDIRECT.has(raw[0])) {
    const params = p[P_PARAMS];
    const redirects = params ? params.redirects : undefined;
    const requestCookies = params ? paramsCookies(params.cookies) : NO_COOKIES;
    const limit = redirects === undefined || redirects === null ? 10 : Number(redirects);
    let hops = 0;
    let currentMethod = p[P_METHOD];
    let currentBody = p[P_BODY];
    while (REDIRECT.has(raw[0]) && hops < limit) {
      let location;
      const list = headerPairs(raw);
      for (let i = 0; i < list.length; i += 2) if (list[i] === 'Location') location = list[i + 1];
      if (location === undefined) break;
      current = resolveLocation(current, location);
      if (raw[0] !== 307 && raw[0] !== 308) {
        if (currentMethod !== 'HEAD') currentMethod = 'GET';
        currentBody = undefined;
      }
      hops++;
      // k6 drops the script's own Cookie header after the first hop.
      const cookie = cookieHeader('', requestCookies, p[P_STORE], current);
      raw = n.request(currentMethod, current, currentBody, hopHeaders(p, cookie), params ? params.tags : undefined,
        p[P_TIMEOUT], p[P_TYPE], p[P_EXPECTED]);
      received = raw[9] ? setCookies(headerPairs(raw)) : NO_COOKIES;
      keep(p, current, received);
    }
    if (hops >= limit && REDIRECT.has(raw[0]) && redirects === undefined) {
      n.warn('Stopped after ' + (hops + 1) + ' redirects and returned the redirection; pass { redirects: n } ' +
        'in request params or set global maxRedirects to silence this', 'url=' + current);
    }
  }
  p[P_RAW] = raw;
  p[P_RECEIVED] = received;
  return current;
}

// res.request: the first hop as the script asked for it.
function describe(p) {
  const headers = {};
  const list = p[P_HEADERS];
  for (let i = 0; i < list.length; i += 2) headers[list[i]] = [list[i + 1]];
  const sent = {};
  const firstCookie = p[P_FIRST_COOKIE];
  if (firstCookie !== '') {
    headers.Cookie = [firstCookie];
    for (const c of readCookieHeader(firstCookie)) putList(sent, c.name, { name: c.name, value: c.value, replace: false });
  }
  const body = p[P_BODY];
  const text = typeof body === 'string' ? body : (body ? n.lossyText(body) : '');
  return { method: p[P_METHOD], url: p[P_URL], headers, body: text, cookies: sent };
}

export function request(method, url, body, params) {
  const p = plan(method, url, body, params);
  return finish(p, n.request(p[P_METHOD], p[P_URL], p[P_BODY], hopHeaders(p, p[P_FIRST_COOKIE]), p[P_TAGS],
    p[P_TIMEOUT], p[P_TYPE], p[P_EXPECTED]));
}

function tooMany(fn, given) {
  n.warn('http.' + fn + ' only accepts a url and a params argument (2 arguments), but ' + given + ' were given');
}

export function get(url, params, ...rest) {
  if (rest.length) tooMany('get', 2 + rest.length);
  return request('GET', url, null, params);
}
export function head(url, params, ...rest) {
  if (rest.length) tooMany('head', 2 + rest.length);
  return request('HEAD', url, null, params);
}
export const post = (url, body, params) => request('POST', url, body, params);
export const put = (url, body, params) => request('PUT', url, body, params);
export const patch = (url, body, params) => request('PATCH', url, body, params);
export const del = (url, body, params) => request('DELETE', url, body, params);
export const options = (url, body, params) => request('OPTIONS', url, body, params);

export function asyncRequest(method, url, body, params) {
  return new Promise((resolve) => resolve(request(method, url, body, params)));
}

export function batch(requests, ...more) {
  if (requests === undefined) n.goError('no argument was provided to http.batch()');
  if (more.length) n.goError('http.batch() accepts only an array or an object of requests');
  if (typeof requests !== 'object' || requests === null) n.goError('invalid http.batch() argument type ' + typeof requests);
  const one = (entry, key) => {
    if (typeof entry === 'string' || (entry && entry[urlBrand])) return plan('GET', entry, null, {});
    if (Array.isArray(entry)) return plan(String(entry[0]).toUpperCase(), entry[1], entry[2], entry[3]);
    if (entry && typeof entry === 'object') {
      if (!('url' in entry)) n.goError('batch request ' + key + " doesn't have a url key");
      const method = entry.method === undefined ? 'GET' : String(entry.method).toUpperCase();
      const body = method === 'GET' || method === 'HEAD' ? null : entry.body;
      return plan(method, entry.url, body, entry.params);
    }
    n.goError('invalid batch request ' + key);
  };
  // The first request of every entry goes out at once; redirects are followed after.
  const keys = Array.isArray(requests) ? requests.map((_, i) => i) : Object.keys(requests);
  const plans = keys.map((k) => one(requests[k], k));
  const raws = n.requestMany(plans.map(firstArgs));
  const out = Array.isArray(requests) ? [] : {};
  keys.forEach((k, i) => { out[k] = finish(plans[i], raws[i]); });
  return out;
}

export function url(strings, ...values) {
  let real = strings[0];
  let name = strings[0];
  for (let i = 0; i < values.length; i++) {
    real += String(values[i]) + strings[i + 1];
    name += '${}' + strings[i + 1];
  }
  return { [urlBrand]: true, url: real, name, toString() { return real; } };
}

export function expectedStatuses(...args) {
  if (args.length === 0) n.goError('no arguments');
  const ranges = args.map((a, i) => {
    if (Number.isInteger(a)) return [a, a];
    if (a && typeof a === 'object') {
      if (!Number.isInteger(a.min) || !Number.isInteger(a.max)) {
        n.goError('both min and max need to be integers for argument number ' + (i + 1));
      }
      return [a.min, a.max];
    }
    n.goError('argument number ' + (i + 1) + ' to expectedStatuses was neither an integer nor an ' +
      'object like {min:100, max:329}');
  });
  return Object.freeze({ [expectedBrand]: ranges });
}

export function setResponseCallback(callback) {
  if (callback === null) return n.setExpectation(null);
  if (!callback || !callback[expectedBrand]) n.goError('unsupported argument, expected http.expectedStatuses');
  n.setExpectation(callback[expectedBrand]);
}

export const TLS_1_0 = 'tls1.0', TLS_1_1 = 'tls1.1', TLS_1_2 = 'tls1.2', TLS_1_3 = 'tls1.3';
export const OCSP_STATUS_GOOD = 'good', OCSP_STATUS_REVOKED = 'revoked',
  OCSP_STATUS_SERVER_FAILED = 'server_failed', OCSP_STATUS_UNKNOWN = 'unknown';
export const OCSP_REASON_UNSPECIFIED = 'unspecified', OCSP_REASON_KEY_COMPROMISE = 'key_compromise',
  OCSP_REASON_CA_COMPROMISE = 'ca_compromise', OCSP_REASON_AFFILIATION_CHANGED = 'affiliation_changed',
  OCSP_REASON_SUPERSEDED = 'superseded', OCSP_REASON_CESSATION_OF_OPERATION = 'cessation_of_operation',
  OCSP_REASON_CERTIFICATE_HOLD = 'certificate_hold', OCSP_REASON_REMOVE_FROM_CRL = 'remove_from_crl',
  OCSP_REASON_PRIVILEGE_WITHDRAWN = 'privilege_withdrawn', OCSP_REASON_AA_COMPROMISE = 'aa_compromise';

export default {
  request, get, head, post, put, patch, del, options, asyncRequest, batch, url,
  expectedStatuses, setResponseCallback, Response, cookieJar, CookieJar, file,
  TLS_1_0, TLS_1_1, TLS_1_2, TLS_1_3, OCSP_STATUS_GOOD, OCSP_STATUS_REVOKED,
  OCSP_STATUS_SERVER_FAILED, OCSP_STATUS_UNKNOWN, OCSP_REASON_UNSPECIFIED,
  OCSP_REASON_KEY_COMPROMISE, OCSP_REASON_CA_COMPROMISE, OCSP_REASON_AFFILIATION_CHANGED,
  OCSP_REASON_SUPERSEDED, OCSP_REASON_CESSATION_OF_OPERATION, OCSP_REASON_CERTIFICATE_HOLD,
  OCSP_REASON_REMOVE_FROM_CRL, OCSP_REASON_PRIVILEGE_WITHDRAWN, OCSP_REASON_AA_COMPROMISE,
};
)js";

}  // namespace

const BuiltinModule kModuleHttp{"k6/http", kSource, define};

}  // namespace faultline::loadgen::js
