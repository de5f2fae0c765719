// Module `k6/ws` (k6-js-api §6.1, k6-compat §11): the blocking WebSocket API. ws.connect
// dials through the runtime's VuHost, runs the script's callback, then hands the socket's
// events and the socket's own timers to the handlers one at a time until the socket is
// closed. The JavaScript half keeps the handlers and timers; the natives own the session
// and record the ws_* samples.
#include <chrono>
#include <map>
#include <memory>

#include "loadgen/js/errors.h"
#include "loadgen/js/modules.h"
#include "loadgen/js/runtime.h"
#include "loadgen/js/util.h"
#include "loadgen/report/console.h"
#include "loadgen/run/url.h"

namespace faultline::loadgen::js {

namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

struct OpenSession {
  std::unique_ptr<WsSession> session;
  uint32_t tags = 0;
  Clock::time_point started;
  bool closed = false;
};

// The sessions of one runtime (nested ws.connect calls each have one), by handle.
struct Sessions {
  std::map<int32_t, OpenSession> open;
  int32_t next = 1;
};

Sessions& sessions_of(Runtime& rt) {
  auto& slot = rt.module_state["k6/ws"];
  if (!slot) slot = std::make_shared<Sessions>();
  return *std::static_pointer_cast<Sessions>(slot);
}

OpenSession* find_session(JSContext* cx, Runtime& rt, JS::HandleValue handle) {
  if (!handle.isInt32()) return nullptr;
  auto& all = sessions_of(rt).open;
  auto it = all.find(handle.toInt32());
  (void)cx;
  return it == all.end() ? nullptr : &it->second;
}

// The session's end: its duration and bytes, and the connection gone.
void finish(Runtime& rt, int32_t handle, bool record) {
  auto& all = sessions_of(rt).open;
  auto it = all.find(handle);
  if (it == all.end()) return;
  OpenSession& s = it->second;
  if (record && rt.host) {
    rt.host->add(kWsSessionDuration, s.tags, ms_between(s.started, Clock::now()));
  }
  if (rt.host) {
    auto [out, in] = s.session->bytes();
    rt.host->add_bytes(out, in);
  }
  all.erase(it);
}

bool set_headers(JSContext* cx, JS::HandleObject obj,
                 const std::vector<std::pair<std::string, std::string>>& headers) {
  // Canonical keys, repeated headers joined with ", " (k6's response headers).
  std::vector<std::pair<std::string, std::string>> joined;
  for (const auto& [k, v] : headers) {
    std::string key = canonical_header(k);
    auto same =
        std::find_if(joined.begin(), joined.end(), [&](const auto& h) { return h.first == key; });
    if (same != joined.end()) {
      same->second += ", " + v;
    } else {
      joined.emplace_back(key, v);
    }
  }
  for (const auto& [k, v] : joined) {
    if (!set_string(cx, obj, k.c_str(), v)) return false;
  }
  return true;
}

// open(url, headers [name, value, ...], tags) -> [handle (0: none), status, headers, body,
// error]
bool open(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  if (rt.phase == Phase::kInit || !rt.host) {
    return throw_go_error(cx, "using websockets in the init context is not supported");
  }
  auto url = to_utf8(cx, args.get(0));
  if (!url) return false;
  WsOpenSpec spec;
  bool have_agent = false;
  if (!string_pairs(cx, args.get(1), spec.headers)) return false;
  for (auto& [key, value] : spec.headers) {
    key = canonical_header(key);
    if (key == "User-Agent") have_agent = true;
  }
  if (!have_agent && !rt.script().user_agent.empty()) {
    spec.headers.emplace_back("User-Agent", rt.script().user_agent);
  }
  Tags extra{{"url", *url}};
  if (!tags_from(cx, args.get(2), extra, "invalid ws.connect() metric tags: ")) return false;

  WsOpenResult result;
  Url u;
  std::string error;
  auto started = Clock::now();
  std::unique_ptr<WsSession> session;
  if (!parse_url(*url, u, error) || (u.scheme != "ws" && u.scheme != "wss")) {
    result.error = "malformed ws or wss URL";
  } else if (!resolve_target(u.host, u.port, spec.target)) {
    result.error = "dial tcp: lookup " + u.host + ": no such host";
  } else {
    spec.target.tls = u.scheme == "wss";
    if (spec.target.tls) spec.target.server_name = u.host;
    spec.host = host_header(u);
    spec.target_path = u.target;
    spec.dial_text =
        (u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host) + ":" + u.port;
    session = rt.host->ws_connect(spec, result);
    if (result.interrupted) return false;  // the VU is being stopped: end the script
  }
  // The samples of the attempt, failed ones included, with the handshake's status and
  // sub-protocol once a response came back.
  if (result.status != 0) {
    extra.emplace_back("status", std::to_string(result.status));
    extra.emplace_back("subproto", result.subprotocol);
  }
  uint32_t tags = rt.tags(extra);
  double connecting =
      result.status != 0 || !result.error.empty()
          ? (result.connecting_ms > 0 ? result.connecting_ms : ms_between(started, Clock::now()))
          : 0;
  rt.host->add(kWsSessions, tags, 1);
  rt.host->add(kWsConnecting, tags, connecting);

  int32_t handle = 0;
  if (session) {
    Sessions& all = sessions_of(rt);
    handle = all.next++;
    all.open[handle] = OpenSession{std::move(session), tags, started, false};
  } else {
    rt.host->add(kWsSessionDuration, tags, ms_between(started, Clock::now()));
    if (rt.script().throw_errors) return throw_go_error(cx, result.error);
    if (result.status == 0) {
      log_line("warning", "WebSocket connection failed", log_field("error", result.error));
    }
  }

  JS::RootedObject out(cx, JS::NewArrayObject(cx, 5));
  JS::RootedObject headers(cx, JS_NewPlainObject(cx));
  if (!out || !headers || !set_headers(cx, headers, result.headers)) return false;
  JS::RootedValue v(cx, JS::Int32Value(handle));
  if (!JS_SetElement(cx, out, 0, v)) return false;
  v.setInt32(result.status);
  if (!JS_SetElement(cx, out, 1, v)) return false;
  v.setObject(*headers);
  if (!JS_SetElement(cx, out, 2, v)) return false;
  JS::RootedString body(cx, new_string_from_go(cx, result.body));
  // A refused upgrade comes back with its response and no error text (k6-js-api §6.1).
  JS::RootedString err(cx, new_string(cx, result.status != 0 && !session ? "" : result.error));
  if (!body || !err) return false;
  v.setString(body);
  if (!JS_SetElement(cx, out, 3, v)) return false;
  v.setString(err);
  if (!JS_SetElement(cx, out, 4, v)) return false;
  args.rval().setObject(*out);
  return true;
}

// next(handle, timeoutMs (< 0: none)) -> null (timed out or over) or [kind, data, code]
// with kind an index into KINDS: message, binaryMessage, ping, pong, close, error; an interrupted
// VU closes the socket (1001) and ends the script.
bool next(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  OpenSession* s = find_session(cx, rt, args.get(0));
  args.rval().setNull();
  if (s == nullptr) return true;
  double timeout = 0;
  if (!JS::ToNumber(cx, args.get(1), &timeout)) return false;
  auto deadline =
      timeout < 0 ? Clock::now() + std::chrono::hours(24 * 365)
                  : Clock::now() + std::chrono::microseconds(static_cast<int64_t>(timeout * 1000));
  WsEvent ev;
  if (!s->session->next(ev, deadline)) {
    if (rt.interrupted() || (rt.host && rt.host->interrupted())) {
      s->session->close(1001);
      finish(rt, args[0].toInt32(), false);
      return false;
    }
    return true;
  }
  // The event's kind as its index in the JavaScript half's KINDS (no string per message).
  int kind = 0;
  JS::RootedValue data(cx);
  switch (ev.kind) {
    case WsEvent::kText: {
      JSString* str = new_string_from_go(cx, ev.data);
      if (!str) return false;
      data.setString(str);
      rt.host->add(kWsMsgsReceived, s->tags, 1);
      break;
    }
    case WsEvent::kBinary: {
      JSObject* buf = new_array_buffer(cx, ev.data);
      if (!buf) return false;
      data.setObject(*buf);
      kind = 1;
      rt.host->add(kWsMsgsReceived, s->tags, 1);
      break;
    }
    case WsEvent::kPing:
      kind = 2;
      break;
    case WsEvent::kPong:
      kind = 3;
      if (ev.ping_ms >= 0) rt.host->add(kWsPing, s->tags, ev.ping_ms);
      break;
    case WsEvent::kClose:
      kind = 4;
      s->closed = true;
      break;
    case WsEvent::kError: {
      kind = 5;
      JSString* str = new_string(cx, ev.data);
      if (!str) return false;
      data.setString(str);
      break;
    }
  }
  JS::RootedObject out(cx, JS::NewArrayObject(cx, 3));
  if (!out) return false;
  JS::RootedValue v(cx, JS::Int32Value(kind));
  if (!JS_SetElement(cx, out, 0, v) || !JS_SetElement(cx, out, 1, data)) return false;
  v.setInt32(ev.code);
  if (!JS_SetElement(cx, out, 2, v)) return false;
  args.rval().setObject(*out);
  return true;
}

// send(handle, data, binary) -> undefined, or the error text of a write that cannot happen.
bool send(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  OpenSession* s = find_session(cx, rt, args.get(0));
  std::string payload;
  bool binary = args.get(2).isTrue();
  if (binary) {
    if (!bytes_of(cx, args.get(1), payload)) return throw_go_error(cx, "expected ArrayBuffer");
  } else {
    auto text = to_utf8(cx, args.get(1));
    if (!text) return false;
    payload = std::move(*text);
  }
  std::string error;
  if (s == nullptr || s->closed) {
    error = "websocket: close sent";
  } else {
    s->session->send(binary, std::move(payload));
  }
  if (s != nullptr && rt.host) rt.host->add(kWsMsgsSent, s->tags, 1);
  args.rval().setUndefined();
  if (error.empty()) return true;
  JSString* str = new_string(cx, error);
  if (!str) return false;
  args.rval().setString(str);
  return true;
}

bool ping(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  OpenSession* s = find_session(cx, rt, args.get(0));
  if (s != nullptr && !s->closed) s->session->ping();
  args.rval().setUndefined();
  return true;
}

// close(handle, code): a close frame, then the connection goes at once.
bool close(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  OpenSession* s = find_session(cx, rt, args.get(0));
  double code = 1001;
  if (!args.get(1).isUndefined() && !JS::ToNumber(cx, args[1], &code)) return false;
  if (s != nullptr && !s->closed) {
    s->closed = true;
    s->session->close(static_cast<uint16_t>(code));
  }
  args.rval().setUndefined();
  return true;
}

// finish(handle): the session is over (closes it with 1001 if it is still open).
bool finish_native(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  OpenSession* s = find_session(cx, rt, args.get(0));
  args.rval().setUndefined();
  if (s == nullptr) return true;
  if (!s->closed) {
    s->closed = true;
    s->session->close(1001);
  }
  finish(rt, args[0].toInt32(), true);
  return true;
}

// now(): a monotonic clock in milliseconds, for the socket's timers.
bool now(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  (void)cx;
  args.rval().setDouble(ms_between(Clock::time_point{}, Clock::now()));
  return true;
}

bool define(JSContext* cx, JS::HandleObject n) {
  static const JSFunctionSpec functions[] = {
      JS_FN("open", open, 3, 0),   JS_FN("next", next, 2, 0),
      JS_FN("send", send, 3, 0),   JS_FN("ping", ping, 1, 0),
      JS_FN("close", close, 2, 0), JS_FN("finish", finish_native, 1, 0),
      JS_FN("now", now, 0, 0),     JS_FS_END};
  return JS_DefineFunctions(cx, n, functions);
}

const char* kSource = R"js(
const n = __faultline_native('k6/ws');

class Socket {
  constructor(handle) {
    Object.defineProperty(this, '_s', { value: { handle, handlers: {}, timers: [], closed: false } });
  }
  on(event, handler) {
    if (typeof handler !== 'function') return;
    const list = this._s.handlers[event] || (this._s.handlers[event] = []);
    list.push(handler);
  }
  send(data) {
    const error = n.send(this._s.handle, typeof data === 'string' ? data : String(data), false);
    if (error !== undefined) this._emit('error', wsError(error));
  }
  sendBinary(data) {
    if (data === undefined) throw n.goError('missing argument, expected ArrayBuffer');
    if (!(data instanceof ArrayBuffer)) {
      const name = data === null ? 'null' : (data.constructor && data.constructor.name) || typeof data;
      throw n.goError(`expected ArrayBuffer as argument, received: ${name}`);
    }
    const error = n.send(this._s.handle, data, true);
    if (error !== undefined) this._emit('error', wsError(error));
  }
  ping() { n.ping(this._s.handle); }
  close(code) {
    if (this._s.closed) return;
    const c = code === undefined || code === null ? 1001 : Number(code);
    this._s.closed = true;
    n.close(this._s.handle, c);
    this._emit('close', c);
  }
  setTimeout(fn, ms) { this._timer('setTimeout', fn, ms, false); }
  setInterval(fn, ms) { this._timer('setInterval', fn, ms, true); }
  _timer(name, fn, ms, repeat) {
    const delay = Number(ms);
    if (!(delay > 0)) throw n.goError(`${name} requires a >0 timeout parameter, received ${delay.toFixed(2)}`);
    this._s.timers.push({ fn, delay, repeat, due: n.now() + delay });
  }
  _emit(event, arg) {
    const list = this._s.handlers[event];
    if (list === undefined) return;
    if (list.length === 1) {
      list[0].call(this, arg);
      return;
    }
    const handlers = list.slice();  // a handler may add more: they run from the next event
    for (let i = 0; i < handlers.length; i++) handlers[i].call(this, arg);
  }
}

// The event kinds n.next() reports, by index.
const KINDS = ['message', 'binaryMessage', 'ping', 'pong', 'close', 'error'];

function wsError(text) {
  return { error() { return text; }, toString() { return text; } };
}

function canonicalHeaders(headers) {
  const out = [];
  if (headers === undefined || headers === null) return out;
  for (const key of Object.keys(headers)) {
    out.push(key, String(headers[key]));
  }
  return out;
}

// The socket's loop: events and due timers, one at a time, until the socket is closed.
function serve(socket) {
  const s = socket._s;
  const timers = s.timers;
  while (!s.closed) {
    let wait = -1;
    let first = null;
    if (timers.length !== 0) {
      for (let i = 0; i < timers.length; i++) {
        if (first === null || timers[i].due < first.due) first = timers[i];
      }
      wait = first.due - n.now();
      if (wait <= 0) {
        if (first.repeat) first.due += first.delay;
        else timers.splice(timers.indexOf(first), 1);
        first.fn.call(socket);
        continue;
      }
    }
    const ev = n.next(s.handle, wait);
    if (ev === null) {
      if (first === null) s.closed = true;  // the connection is gone and nothing is due
      continue;
    }
    const kind = ev[0];
    if (kind <= 1) {
      socket._emit(KINDS[kind], ev[1]);
    } else if (kind === 4) {
      s.closed = true;
      socket._emit('close', ev[2]);
    } else if (kind === 5) {
      socket._emit('error', wsError(ev[1]));
    } else {
      socket._emit(KINDS[kind]);
    }
  }
}

export function connect(url, ...rest) {
  if (rest.length < 1 || rest.length > 2) throw n.goError('invalid number of arguments to ws.connect');
  const callback = rest[rest.length - 1];
  if (typeof callback !== 'function') throw n.goError('last argument to ws.connect must be a function');
  const params = rest.length === 2 && rest[0] !== null && rest[0] !== undefined ? rest[0] : {};
  if (params.compression !== undefined && params.compression !== '') {
    if (params.compression !== 'deflate') {
      throw n.goError(`unsupported compression algorithm '${params.compression}', supported algorithm is 'deflate'`);
    }
    throw n.goError('permessage-deflate (compression: \'deflate\') is not supported by loadgen yet');
  }
  const [handle, status, headers, body, error] = n.open(String(url), canonicalHeaders(params.headers), params.tags);
  if (handle === 0) return { url: '', status, headers, body, error };
  const socket = new Socket(handle);
  try {
    callback(socket);
    if (!socket._s.closed) socket._emit('open');
    serve(socket);
  } finally {
    n.finish(handle);
  }
  return { url: String(url), status, headers, body: '', error: '' };
}

export default { connect };
)js";

}  // namespace

const BuiltinModule kModuleWs{"k6/ws", kSource, define};

}  // namespace faultline::loadgen::js
