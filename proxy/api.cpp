#include "proxy/api.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstring>
#include <optional>

#include "common/address.h"
#include "common/go_quote.h"
#include "common/gzip.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/metrics.h"

namespace faultline::proxy {

namespace od = simdjson::ondemand;

namespace {

constexpr const char* kPopulateGoType =
    "[]struct { toxiproxy.Proxy; Enabled *bool \"json:\\\"enabled\\\"\" }";
constexpr const char* kPopulateItemGoType =
    "struct { toxiproxy.Proxy; Enabled *bool \"json:\\\"enabled\\\"\" }";
constexpr const char* kToxicUpdateGoType =
    "struct { Attributes interface {} \"json:\\\"attributes\\\"\"; Toxicity float32 "
    "\"json:\\\"toxicity\\\"\" }";

}  // namespace

// A handler's outcome before the middleware turns it into a response.
struct Api::Result {
  int status = 200;
  std::string body;
  bool is_error = false;  // text/plain JSON error with trailing newline
  bool populate = false;  // populate keeps application/json even for errors
  std::string message;    // an error's text

  static Result json(int status, std::string body) { return {status, std::move(body), false}; }
  static Result error(int status, std::string_view message) {
    json::Writer w;
    w.begin_object().key("error").string(message).key("status").integer(status).end_object();
    return {status, w.take() + "\n", true, false, std::string(message)};
  }
  static Result empty(int status) { return {status, "", false}; }
};

namespace {

struct ProxyInput {
  std::string name;
  std::string listen;
  std::string upstream;
  bool enabled = true;
  std::optional<bool> enabled_opt;  // populate: absent or null means true
  // populate only (an extension): the proxy's toxics as JSON texts; absent or null leaves
  // the toxics of an existing proxy as they are.
  std::optional<std::vector<std::string>> toxics;
};

// Reads the keys of a Proxy object. `struct_name` is "Proxy", or "" inside /populate.
void decode_proxy_fields(od::object obj, std::string_view struct_name, ProxyInput& in,
                         json::TypeErrors& errors) {
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) continue;
    od::value v;
    if (field.value().get(v) != simdjson::SUCCESS) continue;
    if (json::key_is(key, "name")) {
      json::read_string(v, {errors, struct_name, "name"}, in.name);
    } else if (json::key_is(key, "listen")) {
      json::read_string(v, {errors, struct_name, "listen"}, in.listen);
    } else if (json::key_is(key, "upstream")) {
      json::read_string(v, {errors, struct_name, "upstream"}, in.upstream);
    } else if (json::key_is(key, "enabled")) {
      bool b = false;
      if (json::read_bool(v, {errors, struct_name, "enabled"}, b)) {
        in.enabled = b;
        in.enabled_opt = b;
      }
    } else if (struct_name.empty() && json::key_is(key, "toxics")) {
      auto kind = json::kind_name(v);
      od::array arr;
      if (kind == "array" && v.get_array().get(arr) == simdjson::SUCCESS) {
        std::vector<std::string> list;
        for (auto item : arr) {
          od::value t;
          if (item.get(t) != simdjson::SUCCESS) continue;
          // Each entry's own text, decoded later exactly as a POST /toxics body.
          std::string_view raw;
          od::object o;
          od::array a;
          auto ek = json::kind_name(t);
          if (ek == "object") {
            if (t.get_object().get(o) != simdjson::SUCCESS || o.raw_json().get(raw)) continue;
          } else if (ek == "array") {
            if (t.get_array().get(a) != simdjson::SUCCESS || a.raw_json().get(raw)) continue;
          } else {
            raw = t.raw_json_token();
          }
          list.emplace_back(raw);
        }
        in.toxics = std::move(list);
      } else if (kind != "null") {
        errors.field(kind, struct_name, "toxics", "[]toxics.ToxicWrapper");
      }
    } else if (json::key_is(key, "Logger")) {
      // Toxiproxy's accidental exported field: objects are accepted and ignored.
      auto kind = json::kind_name(v);
      if (kind != "object" && kind != "null") {
        errors.field(kind, struct_name, "Logger", "zerolog.Logger");
      }
    }
  }
}

// Reads a toxic's attribute object into `values`, which keeps the entries not present. A
// named choice that is not one of its values leaves a message in `bad_choice`.
void decode_attributes(od::object obj, const toxics::ToxicType& type, std::vector<int64_t>& values,
                       std::vector<std::string>& texts, json::TypeErrors& errors,
                       std::string& bad_choice) {
  for (auto field : obj) {
    std::string_view key;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS) continue;
    for (size_t i = 0; i < type.attributes.size(); ++i) {
      if (!json::key_is(key, type.attributes[i].name)) continue;
      od::value v;
      if (field.value().get(v) != simdjson::SUCCESS) break;
      std::string path = "attributes.";
      path += type.attributes[i].name;
      const auto& spec = type.attributes[i];
      if (spec.is_text()) {
        // A whole number is taken as its digits: what toxiproxy-cli and faultline-cli send
        // for `-a code=40001`.
        int64_t number = 0;
        if (json::kind_name(v) == "number" &&
            json::read_int64(v, {errors, type.go_struct, path}, "string", number)) {
          texts[i] = std::to_string(number);
        } else {
          json::read_string(v, {errors, type.go_struct, path}, texts[i]);
        }
        break;
      }
      if (spec.choices.empty()) {
        json::read_int64(v, {errors, type.go_struct, path}, spec.go_type, values[i]);
        break;
      }
      // A named choice (an extension): a string, one of the listed values.
      std::string name;
      if (!json::read_string(v, {errors, type.go_struct, path}, name)) break;
      auto at = std::find(spec.choices.begin(), spec.choices.end(), name);
      if (at != spec.choices.end()) {
        values[i] = at - spec.choices.begin();
      } else if (bad_choice.empty()) {
        bad_choice = "invalid attribute: " + std::string(spec.name) + " must be one of ";
        for (size_t c = 0; c < spec.choices.size(); ++c) {
          if (c > 0) bad_choice += ", ";
          bad_choice += spec.choices[c];
        }
        bad_choice += " (got " + go_quote(name) + ")";
      }
      break;
    }
  }
}

// Decodes a POST/PATCH /proxies body (a toxiproxy.Proxy) over the values already in `in`.
// On failure `err` is the full "bad request body: ..." message.
bool decode_proxy_body(std::string_view body, ProxyInput& in, std::string& err) {
  json::Document doc;
  if (!doc.parse(body, err)) {
    err = "bad request body: " + err;
    return false;
  }
  json::TypeErrors errors;
  od::value root = doc.root();
  auto kind = json::kind_name(root);
  od::object obj;
  if (kind == "object" && root.get_object().get(obj) == simdjson::SUCCESS) {
    decode_proxy_fields(obj, "Proxy", in, errors);
  } else if (kind != "null" && kind != "object") {
    errors.value(kind, "toxiproxy.Proxy");
  }
  if (errors.any()) {
    err = "bad request body: " + errors.message();
    return false;
  }
  return true;
}

bool stream_from(std::string_view s, toxics::Stream& out) {
  if (json::key_is(s, "upstream")) {
    out = toxics::Stream::kUpstream;
  } else if (json::key_is(s, "downstream")) {
    out = toxics::Stream::kDownstream;
  } else {
    return false;
  }
  return true;
}

// The update/populate comparison: does the new listen (resolved) or upstream differ?
bool differs(const Proxy& p, const std::string& listen, const std::string& upstream, bool& failed,
             std::string& err) {
  failed = false;
  auto resolved = resolve_listen(listen, err);
  if (!resolved) {
    failed = true;
    return true;
  }
  return resolved->resolved != p.listen || upstream != p.upstream;
}

std::string proxy_json(const Proxy& p) {
  json::Writer w;
  write_proxy(w, p);
  return w.take();
}

}  // namespace

Api::Api(DataPlane& plane, ApiOptions options) : plane_(plane), options_(std::move(options)) {}

bool Api::start(Proxy& p, std::string& err) {
  if (p.running) return true;
  if (!plane_.start(p, err)) return false;
  p.enabled = true;
  log::info()
      .str("name", p.name)
      .str("listen", p.listen)
      .str("upstream", p.upstream)
      .msg("Started proxy");
  return true;
}

void Api::note_proxy(const Proxy& p, const ProxyState& before) {
  if (p.listen != before.listen || p.upstream != before.upstream) {
    events_.proxy_event("proxy_updated", p);
  }
  if (p.enabled != before.enabled) {
    events_.proxy_event(p.enabled ? "proxy_enabled" : "proxy_disabled", p);
  }
}

// GET /events[?since=ID] (an extension): the fault timeline after event ID.
Api::Result Api::events(const http::Request& req) {
  uint64_t since = 0;
  auto q = req.target.find('?');
  if (q != std::string::npos) {
    std::string_view query = std::string_view(req.target).substr(q + 1);
    while (!query.empty()) {
      auto amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      if (pair.substr(0, 6) != "since=") continue;
      std::string_view v = pair.substr(6);
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), since);
      if (ec != std::errc() || end != v.data() + v.size() || v.empty()) {
        return Result::error(400, "since must be an event id (a whole number)");
      }
    }
  }
  return Result::json(200, events_.render(since));
}

void Api::stop(Proxy& p) {
  if (p.running) {
    plane_.stop(p);
    log::info()
        .str("name", p.name)
        .str("listen", p.listen)
        .str("upstream", p.upstream)
        .msg("Terminated proxy");
  }
  p.enabled = false;
}

// ---------------------------------------------------------------------------------------
// Routing and middleware

http::Response Api::handle(const http::Request& req, const std::string& peer) {
  auto started = std::chrono::steady_clock::now();
  http::Response resp;

  std::string path;
  if (!http::percent_decode(req.raw_path(), path)) {
    resp.status = 400;
    resp.headers = {{"Content-Type", "text/plain; charset=utf-8"}};
    resp.body = "400 Bad Request";
    resp.close = true;
    return resp;
  }
  if (path.empty() || path[0] != '/') path = "/" + path;
  std::string cleaned = http::clean_path(path);
  if (cleaned != path) {
    // Like Go's url.URL.String(): the cleaned path is escaped again.
    std::string location;
    static const char* hex = "0123456789ABCDEF";
    for (unsigned char c : cleaned) {
      if (std::isalnum(c) || std::strchr("-._~/!$&'()*+,;=:@", c) != nullptr) {
        location += static_cast<char>(c);
      } else {
        location += '%';
        location += hex[c >> 4];
        location += hex[c & 15];
      }
    }
    auto q = req.target.find('?');
    if (q != std::string::npos) location += req.target.substr(q);
    resp.status = 301;
    resp.headers = {{"Location", location}};
    return resp;
  }

  // Split into segments; a variable matches one non-empty segment.
  std::vector<std::string> seg;
  {
    size_t i = 1;
    while (i <= path.size()) {
      size_t j = path.find('/', i);
      if (j == std::string::npos) j = path.size();
      seg.push_back(path.substr(i, j - i));
      i = j + 1;
    }
  }
  auto empty_var = [&](size_t i) { return i < seg.size() && seg[i].empty(); };
  const std::string& m = req.method;

  enum class Route {
    kNone,
    kReset,
    kProxyIndex,
    kProxyCreate,
    kPopulate,
    kProxyShow,
    kProxyUpdate,
    kProxyDelete,
    kToxicIndex,
    kToxicCreate,
    kToxicShow,
    kToxicUpdate,
    kToxicDelete,
    kVersion,
    kMetrics,
    kEvents
  };
  Route route = Route::kNone;
  bool path_known = false;
  const char* handler_name = "";
  auto pick = [&](bool method_ok, Route r, const char* name) {
    path_known = true;
    if (method_ok && route == Route::kNone) {
      route = r;
      handler_name = name;
    }
  };
  size_t n = seg.size();
  if (n == 1 && seg[0] == "reset") pick(m == "POST", Route::kReset, "ResetState");
  if (n == 1 && seg[0] == "proxies") {
    pick(m == "GET", Route::kProxyIndex, "ProxyIndex");
    pick(m == "POST", Route::kProxyCreate, "ProxyCreate");
  }
  if (n == 1 && seg[0] == "populate") pick(m == "POST", Route::kPopulate, "Populate");
  if (n == 2 && seg[0] == "proxies" && !empty_var(1)) {
    pick(m == "GET", Route::kProxyShow, "ProxyShow");
    pick(m == "POST" || m == "PATCH", Route::kProxyUpdate, "ProxyUpdate");
    pick(m == "DELETE", Route::kProxyDelete, "ProxyDelete");
  }
  if (n == 3 && seg[0] == "proxies" && !empty_var(1) && seg[2] == "toxics") {
    pick(m == "GET", Route::kToxicIndex, "ToxicIndex");
    pick(m == "POST", Route::kToxicCreate, "ToxicCreate");
  }
  if (n == 4 && seg[0] == "proxies" && !empty_var(1) && seg[2] == "toxics" && !empty_var(3)) {
    pick(m == "GET", Route::kToxicShow, "ToxicShow");
    pick(m == "POST" || m == "PATCH", Route::kToxicUpdate, "ToxicUpdate");
    pick(m == "DELETE", Route::kToxicDelete, "ToxicDelete");
  }
  if (n == 1 && seg[0] == "version") pick(m == "GET", Route::kVersion, "Version");
  if (n == 1 && seg[0] == "events") pick(m == "GET", Route::kEvents, "Events");
  if (n == 1 && seg[0] == "metrics" && options_.metrics_route)
    pick(true, Route::kMetrics, "Metrics");

  if (route == Route::kNone) {
    // Unmatched requests skip the middleware: no request id, no browser block.
    if (path_known) {
      resp.status = 405;
    } else {
      resp.status = 404;
      resp.headers = {{"Content-Type", "text/plain; charset=utf-8"},
                      {"X-Content-Type-Options", "nosniff"}};
      resp.body = "404 page not found\n";
    }
    return resp;
  }

  std::string request_id = new_request_id();
  std::string_view ua = req.header("User-Agent");
  if (ua.substr(0, 8) == "Mozilla/") {
    resp.status = 403;
    resp.headers = {{"Content-Type", "text/plain; charset=utf-8"},
                    {"X-Content-Type-Options", "nosniff"}};
    resp.body = "User agent not allowed\n";
  } else {
    Result r;
    const std::string empty;
    const std::string& p1 = n > 1 ? seg[1] : empty;
    const std::string& p3 = n > 3 ? seg[3] : empty;
    if ((route == Route::kProxyUpdate || route == Route::kToxicUpdate) && m == "POST") {
      log::warn()
          .str("request_id", request_id)
          .msg(std::string(handler_name) +
               ": HTTP method POST is deprecated. Use HTTP PATCH instead.");
    }
    events_.begin(route == Route::kPopulate ? "populate"
                  : route == Route::kReset  ? "reset"
                                            : "api");
    switch (route) {
      case Route::kReset:
        r = reset();
        break;
      case Route::kProxyIndex:
        r = proxy_index();
        break;
      case Route::kProxyCreate:
        r = proxy_create(req);
        break;
      case Route::kPopulate:
        r = populate(req);
        break;
      case Route::kProxyShow:
        r = proxy_show(p1);
        break;
      case Route::kProxyUpdate:
        r = proxy_update(p1, req);
        break;
      case Route::kProxyDelete:
        r = proxy_delete(p1);
        break;
      case Route::kToxicIndex:
        r = toxic_index(p1);
        break;
      case Route::kToxicCreate:
        r = toxic_create(p1, req);
        break;
      case Route::kToxicShow:
        r = toxic_show(p1, p3);
        break;
      case Route::kToxicUpdate:
        r = toxic_update(p1, p3, req);
        break;
      case Route::kToxicDelete:
        r = toxic_delete(p1, p3);
        break;
      case Route::kVersion:
        r = Result::json(200, std::string("{\"version\": \"") + kToxiproxyApiVersion + "\"}\n");
        break;
      case Route::kMetrics:
        r = Result::json(200, options_.render_metrics());
        break;
      case Route::kEvents:
        r = events(req);
        break;
      case Route::kNone:
        break;
    }
    resp.status = r.status;
    resp.body = std::move(r.body);
    if (r.status == 204) {
      resp.body.clear();
    } else if (r.is_error) {
      resp.headers = {{"Content-Type", "text/plain; charset=utf-8"},
                      {"X-Content-Type-Options", "nosniff"}};
    } else if (route == Route::kVersion) {
      resp.headers = {{"Content-Type", "application/json;charset=utf-8"}};
    } else if (route == Route::kMetrics) {
      resp.headers = {{"Content-Type", metrics::kContentType}};
      if (req.header("Accept-Encoding").find("gzip") != std::string_view::npos) {
        resp.body = gzip(resp.body);
        resp.headers.emplace_back("Content-Encoding", "gzip");
      }
    } else {
      resp.headers = {{"Content-Type", "application/json"}};
    }
  }
  resp.headers.emplace_back("X-Toxiproxy-Request-Id", request_id);

  if (log::enabled(log::Level::kDebug)) {
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    log::debug()
        .str("request_id", request_id)
        .str("client", peer)
        .str("method", req.method)
        .str("url", req.target)
        .str("user_agent", ua)
        .num("status", resp.status)
        .num("size", static_cast<int64_t>(resp.body.size()))
        .dbl("duration", ms)
        .str("handler", handler_name)
        .msg("");
  }
  return resp;
}

// ---------------------------------------------------------------------------------------
// Proxies

Api::Result Api::proxy_index() {
  json::Writer w;
  w.begin_object();
  for (const auto& [name, p] : proxies_) {
    w.key(name);
    write_proxy(w, *p);
  }
  w.end_object();
  return Result::json(200, w.take());
}

Api::Result Api::proxy_create(const http::Request& req) {
  ProxyInput in;
  std::string err;
  if (!decode_proxy_body(req.body, in, err)) return Result::error(400, err);
  if (in.name.empty()) return Result::error(400, "missing required field: name");
  if (in.upstream.empty()) return Result::error(400, "missing required field: upstream");
  if (proxies_.count(in.name) != 0) return Result::error(409, "proxy already exists");

  auto p = std::make_unique<Proxy>();
  p->created = next_created_++;
  p->name = in.name;
  p->listen = in.listen;
  p->upstream = in.upstream;
  if (in.enabled && !start(*p, err)) return Result::error(500, err);
  Proxy& ref = *p;
  proxies_[in.name] = std::move(p);
  events_.proxy_event("proxy_created", ref);
  return Result::json(201, proxy_json(ref));
}

Api::Result Api::proxy_show(const std::string& name) {
  auto it = proxies_.find(name);
  if (it == proxies_.end()) return Result::error(404, "proxy not found");
  return Result::json(200, proxy_json(*it->second));
}

Api::Result Api::proxy_update(const std::string& name, const http::Request& req) {
  auto it = proxies_.find(name);
  if (it == proxies_.end()) return Result::error(404, "proxy not found");
  Proxy& p = *it->second;
  // Absent keys keep the current values.
  ProxyInput in;
  in.name = p.name;
  in.listen = p.listen;
  in.upstream = p.upstream;
  in.enabled = p.enabled;
  std::string err;
  if (!decode_proxy_body(req.body, in, err)) return Result::error(400, err);

  // Whatever happens below, the timeline gets what changed.
  struct Note {
    Api& api;
    const Proxy& p;
    ProxyState before;
    ~Note() { api.note_proxy(p, before); }
  } note{*this, p, ProxyState{p.listen, p.upstream, p.enabled}};
  bool failed = false;
  if (differs(p, in.listen, in.upstream, failed, err)) {
    if (failed) return Result::error(500, err);
    stop(p);
    p.listen = in.listen;
    p.upstream = in.upstream;
  }
  if (in.enabled != p.enabled) {
    if (in.enabled) {
      if (!start(p, err)) return Result::error(500, err);
    } else {
      stop(p);
    }
  }
  return Result::json(200, proxy_json(p));
}

Api::Result Api::proxy_delete(const std::string& name) {
  auto it = proxies_.find(name);
  if (it == proxies_.end()) return Result::error(404, "proxy not found");
  stop(*it->second);
  events_.proxy_event("proxy_deleted", *it->second);
  proxies_.erase(it);
  return Result::empty(204);
}

Api::PopulateOutcome Api::run_populate(std::string_view body) {
  PopulateOutcome out;
  json::Document doc;
  std::string err;
  auto fail = [&](int status, std::string msg) {
    out.status = status;
    out.error = std::move(msg);
    return std::move(out);
  };
  if (!doc.parse(body, err)) return fail(400, "bad request body: " + err);
  std::vector<ProxyInput> inputs;
  json::TypeErrors errors;
  od::value root = doc.root();
  auto kind = json::kind_name(root);
  if (kind == "array") {
    od::array arr;
    if (root.get_array().get(arr) == simdjson::SUCCESS) {
      for (auto item : arr) {
        od::value v;
        if (item.get(v) != simdjson::SUCCESS) continue;
        ProxyInput in;
        auto ik = json::kind_name(v);
        if (ik == "object") {
          od::object obj;
          if (v.get_object().get(obj) == simdjson::SUCCESS) {
            decode_proxy_fields(obj, "", in, errors);
          }
        } else if (ik != "null") {
          errors.value(ik, kPopulateItemGoType);
        }
        inputs.push_back(std::move(in));
      }
    }
  } else if (kind != "null") {
    errors.value(kind, kPopulateGoType);
  }
  if (errors.any()) return fail(400, "bad request body: " + errors.message());

  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].name.empty()) {
      return fail(400, "missing required field: name at proxy " + std::to_string(i + 1));
    }
    if (inputs[i].upstream.empty()) {
      return fail(400, "missing required field: upstream at proxy " + std::to_string(i + 1));
    }
  }

  // Toxics are checked as POST /toxics would check them, all before anything changes.
  std::vector<std::optional<std::vector<Toxic>>> toxic_lists(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].toxics) continue;
    std::vector<Toxic>& list = toxic_lists[i].emplace();
    for (size_t j = 0; j < inputs[i].toxics->size(); ++j) {
      const std::string& text = (*inputs[i].toxics)[j];
      auto where = [&] {
        return " at proxy " + std::to_string(i + 1) + " toxic " + std::to_string(j + 1);
      };
      Toxic t;
      std::optional<Result> failed = decode_toxic(text, t);
      if (!failed) {
        bool taken = std::any_of(list.begin(), list.end(),
                                 [&](const Toxic& other) { return other.name == t.name; });
        if (taken) failed = Result::error(409, "toxic already exists");
      }
      if (!failed) failed = decode_toxic_attributes(text, t);
      if (failed) {
        out.toxic_error = true;
        return fail(failed->status, failed->message + where());
      }
      list.push_back(std::move(t));
    }
  }

  for (size_t i = 0; i < inputs.size(); ++i) {
    ProxyInput& in = inputs[i];
    bool enabled = in.enabled_opt.value_or(true);
    auto it = proxies_.find(in.name);
    if (it != proxies_.end()) {
      bool failed = false;
      if (!differs(*it->second, in.listen, in.upstream, failed, err)) {
        if (toxic_lists[i]) set_toxics(*it->second, std::move(*toxic_lists[i]));
        out.proxies.push_back(it->second.get());
        continue;
      }
      // Toxiproxy resolves an existing proxy's new address to compare it: its error comes
      // without the "listen tcp: " of a failed listen (captured from 2.12.0).
      if (failed) return fail(500, err);
    }
    Proxy* old = it != proxies_.end() ? it->second.get() : nullptr;
    std::optional<ProxyState> old_state;
    if (old != nullptr) {
      old_state = ProxyState{old->listen, old->upstream, old->enabled};
      stop(*old);
    }
    auto p = std::make_unique<Proxy>();
    p->created = next_created_++;
    p->name = in.name;
    p->listen = in.listen;
    p->upstream = in.upstream;
    if (enabled && !start(*p, err)) {
      if (old != nullptr) note_proxy(*old, *old_state);  // left stopped
      return fail(500, err);
    }
    if (old != nullptr) events_.proxy_event("proxy_deleted", *old);
    events_.proxy_event("proxy_created", *p);
    if (toxic_lists[i]) set_toxics(*p, std::move(*toxic_lists[i]));
    Proxy* raw = p.get();
    std::unique_ptr<Proxy>& slot = proxies_[in.name];
    if (slot) out.replaced.push_back(std::move(slot));
    slot = std::move(p);
    out.proxies.push_back(raw);
  }
  return out;
}

// A proxy's toxics become exactly `list` (populate's `toxics`), on open connections too.
// A listed toxic already there (same name, type and stream) is updated in place, so its
// connections keep what it holds; an unchanged one is left alone.
void Api::set_toxics(Proxy& p, std::vector<Toxic> list) {
  auto now = std::chrono::steady_clock::now();
  std::vector<Toxic> next[2];
  std::vector<uint64_t> kept_ids;
  std::vector<std::pair<const char*, Toxic>> changes;  // events, in order
  for (Toxic& t : list) {
    Toxic* old = p.find_toxic(t.name);
    if (old != nullptr && old->type == t.type && old->stream == t.stream) {
      Toxic kept = *old;
      kept_ids.push_back(kept.id);
      bool attrs_changed = kept.attributes != t.attributes || kept.texts != t.texts;
      if (attrs_changed || kept.toxicity != t.toxicity) {
        if (attrs_changed) kept.since = now;
        kept.attributes = t.attributes;
        kept.texts = t.texts;
        kept.toxicity = t.toxicity;
        ++kept.version;
        changes.emplace_back("toxic_updated", kept);
      }
      next[static_cast<int>(kept.direction)].push_back(std::move(kept));
      continue;
    }
    t.id = next_toxic_id_++;
    t.since = now;
    changes.emplace_back("toxic_added", t);
    next[static_cast<int>(t.direction)].push_back(std::move(t));
  }
  size_t removed = 0;
  for (const auto& chain : p.toxics) {
    for (const Toxic& t : chain) {
      if (std::find(kept_ids.begin(), kept_ids.end(), t.id) != kept_ids.end()) continue;
      events_.toxic_event("toxic_removed", p, t);
      ++removed;
    }
  }
  for (const auto& [type, t] : changes) events_.toxic_event(type, p, t);
  p.toxics[0] = std::move(next[0]);
  p.toxics[1] = std::move(next[1]);
  if (removed > 0 || !changes.empty()) plane_.toxics_changed(p);
}

Api::Result Api::populate(const http::Request& req) {
  PopulateOutcome outcome = run_populate(req.body);
  json::Writer w;
  w.begin_object();
  if (!outcome.error.empty()) {
    w.key("error").string(outcome.error).key("status").integer(outcome.status);
  }
  w.key("proxies");
  if (outcome.proxies.empty()) {
    w.null();
  } else {
    w.begin_array();
    for (Proxy* p : outcome.proxies) write_proxy(w, *p);
    w.end_array();
  }
  w.end_object();
  if (!outcome.error.empty()) {
    log::warn().str("error", outcome.error).msg("Populate errors");
  }
  Result r = Result::json(outcome.status, w.take());
  r.populate = true;
  return r;
}

int Api::populate_from(std::string_view body, std::string& err, bool* toxic_error) {
  events_.begin("config");
  PopulateOutcome outcome = run_populate(body);
  events_.begin("api");
  if (toxic_error != nullptr) *toxic_error = outcome.toxic_error;
  if (!outcome.error.empty()) {
    err = outcome.error;
    return -1;
  }
  return static_cast<int>(outcome.proxies.size());
}

Api::Result Api::reset() {
  // Toxiproxy's order is a Go map's (unspecified); creation order is deterministic.
  std::vector<Proxy*> order;
  for (auto& [name, p] : proxies_) order.push_back(p.get());
  std::sort(order.begin(), order.end(),
            [](const Proxy* a, const Proxy* b) { return a->created < b->created; });
  for (Proxy* p : order) {
    std::string err;
    if (!p->enabled) {
      if (!start(*p, err)) return Result::error(500, err);
      events_.proxy_event("proxy_enabled", *p);
    }
    bool had = !p->toxics[0].empty() || !p->toxics[1].empty();
    for (const auto& chain : p->toxics) {
      for (const auto& t : chain) events_.toxic_event("toxic_removed", *p, t);
    }
    p->toxics[0].clear();
    p->toxics[1].clear();
    if (had) plane_.toxics_changed(*p);
  }
  return Result::empty(204);
}

// ---------------------------------------------------------------------------------------
// Toxics

Api::Result Api::toxic_index(const std::string& name) {
  auto it = proxies_.find(name);
  if (it == proxies_.end()) return Result::error(404, "proxy not found");
  json::Writer w;
  w.begin_array();
  for (const auto& chain : it->second->toxics) {
    for (const auto& t : chain) write_toxic(w, t);
  }
  w.end_array();
  return Result::json(200, w.take());
}

// Decodes a toxic object (POST /toxics's body, or one entry of a proxy's `toxics` in
// /populate and the config file) into `t`, with the API's errors. The name's uniqueness
// is the caller's to check.
std::optional<Api::Result> Api::decode_toxic(std::string_view body, Toxic& t) {
  json::Document doc;
  std::string err;
  if (!doc.parse(body, err)) return Result::error(400, "bad request body: " + err);

  // First pass: the envelope (ToxicWrapper), attributes only checked for being an object.
  std::string type_name;
  t.stream = "downstream";
  bool stream_given = false;
  json::TypeErrors errors;
  {
    od::value root = doc.root();
    auto kind = json::kind_name(root);
    if (kind == "object") {
      od::object obj;
      if (root.get_object().get(obj) == simdjson::SUCCESS) {
        for (auto field : obj) {
          std::string_view key;
          if (field.unescaped_key().get(key) != simdjson::SUCCESS) continue;
          od::value v;
          if (field.value().get(v) != simdjson::SUCCESS) continue;
          if (json::key_is(key, "name")) {
            json::read_string(v, {errors, "ToxicWrapper", "name"}, t.name);
          } else if (json::key_is(key, "type")) {
            json::read_string(v, {errors, "ToxicWrapper", "type"}, type_name);
          } else if (json::key_is(key, "stream")) {
            if (json::read_string(v, {errors, "ToxicWrapper", "stream"}, t.stream)) {
              stream_given = true;
            }
          } else if (json::key_is(key, "toxicity")) {
            json::read_float32(v, {errors, "ToxicWrapper", "toxicity"}, t.toxicity);
          } else if (json::key_is(key, "attributes")) {
            auto ak = json::kind_name(v);
            if (ak != "object" && ak != "null") {
              errors.field(ak, "ToxicWrapper", "attributes", "toxics.NoopToxic");
            }
          }
        }
      }
    } else if (kind != "null") {
      errors.value(kind, "toxics.ToxicWrapper");
    }
  }
  if (errors.any()) return Result::error(400, "bad request body: " + errors.message());
  t.type = toxics::find_type(type_name);
  bool upstream_only = t.type != nullptr && !t.type->upstream_only.empty();
  // Without a stream a toxic goes downstream; one that works upstream only goes there.
  if (upstream_only && !stream_given) t.stream = "upstream";
  if (!stream_from(t.stream, t.direction)) {
    return Result::error(400, "stream was invalid, can be either upstream or downstream");
  }
  if (t.name.empty()) t.name = type_name + "_" + t.stream;
  if (t.type == nullptr) return Result::error(400, "invalid toxic type");
  if (upstream_only && t.direction != toxics::Stream::kUpstream) {
    return Result::error(400, "stream was invalid, " + std::string(t.type->name) + " " +
                                  std::string(t.type->upstream_only) + ": its stream is upstream");
  }
  return std::nullopt;
}

// The second pass of decode_toxic, once the name is known to be free: the typed attributes.
std::optional<Api::Result> Api::decode_toxic_attributes(std::string_view body, Toxic& t) {
  t.attributes.assign(t.type->attributes.size(), 0);
  t.texts.assign(t.type->attributes.size(), std::string());
  json::Document doc;
  std::string err;
  std::string bad_choice;
  json::TypeErrors errors;
  doc.parse(body, err);
  od::value root = doc.root();
  od::object obj;
  if (json::kind_name(root) == "object" && root.get_object().get(obj) == simdjson::SUCCESS) {
    for (auto field : obj) {
      std::string_view key;
      if (field.unescaped_key().get(key) != simdjson::SUCCESS) continue;
      if (!json::key_is(key, "attributes")) continue;
      od::value v;
      od::object attrs;
      if (field.value().get(v) == simdjson::SUCCESS && json::kind_name(v) == "object" &&
          v.get_object().get(attrs) == simdjson::SUCCESS) {
        decode_attributes(attrs, *t.type, t.attributes, t.texts, errors, bad_choice);
      }
    }
  }
  if (errors.any()) return Result::error(400, "bad request body: " + errors.message());
  if (!bad_choice.empty()) return Result::error(400, bad_choice);
  if (t.type->validate != nullptr) {
    std::string invalid = t.type->validate(t.attributes, t.texts);
    if (!invalid.empty()) return Result::error(400, "invalid attribute: " + invalid);
  }
  return std::nullopt;
}

Api::Result Api::toxic_create(const std::string& name, const http::Request& req) {
  auto it = proxies_.find(name);
  if (it == proxies_.end()) return Result::error(404, "proxy not found");
  Proxy& p = *it->second;

  Toxic t;
  if (auto failed = decode_toxic(req.body, t)) return std::move(*failed);
  if (p.find_toxic(t.name) != nullptr) return Result::error(409, "toxic already exists");
  if (auto failed = decode_toxic_attributes(req.body, t)) return std::move(*failed);

  json::Writer w;
  write_toxic(w, t);
  t.id = next_toxic_id_++;
  t.since = std::chrono::steady_clock::now();
  events_.toxic_event("toxic_added", p, t);
  p.chain(t.direction).push_back(std::move(t));
  plane_.toxics_changed(p);
  return Result::json(200, w.take());
}

Api::Result Api::toxic_show(const std::string& name, const std::string& toxic) {
  auto it = proxies_.find(name);
  if (it == proxies_.end()) return Result::error(404, "proxy not found");
  Toxic* t = it->second->find_toxic(toxic);
  if (t == nullptr) return Result::error(404, "toxic not found");
  json::Writer w;
  write_toxic(w, *t);
  return Result::json(200, w.take());
}

Api::Result Api::toxic_update(const std::string& name, const std::string& toxic,
                              const http::Request& req) {
  auto it = proxies_.find(name);
  if (it == proxies_.end()) return Result::error(404, "proxy not found");
  Proxy& p = *it->second;
  Toxic* t = p.find_toxic(toxic);
  if (t == nullptr) return Result::error(404, "toxic not found");

  json::Document doc;
  std::string err;
  if (!doc.parse(req.body, err)) return Result::error(400, "bad request body: " + err);
  json::TypeErrors errors;
  float toxicity = t->toxicity;
  std::vector<int64_t> attrs = t->attributes;
  std::vector<std::string> texts = t->texts;
  std::string bad_choice;
  od::value root = doc.root();
  auto kind = json::kind_name(root);
  if (kind == "object") {
    od::object obj;
    if (root.get_object().get(obj) == simdjson::SUCCESS) {
      for (auto field : obj) {
        std::string_view key;
        if (field.unescaped_key().get(key) != simdjson::SUCCESS) continue;
        od::value v;
        if (field.value().get(v) != simdjson::SUCCESS) continue;
        if (json::key_is(key, "toxicity")) {
          json::read_float32(v, {errors, "", "toxicity"}, toxicity);
        } else if (json::key_is(key, "attributes")) {
          auto ak = json::kind_name(v);
          od::object a;
          if (ak == "object" && v.get_object().get(a) == simdjson::SUCCESS) {
            decode_attributes(a, *t->type, attrs, texts, errors, bad_choice);
          } else if (ak != "null") {
            errors.field(ak, "", "attributes",
                         std::string("toxics.") + std::string(t->type->go_struct));
          }
        }
      }
    }
  } else if (kind != "null") {
    errors.value(kind, kToxicUpdateGoType);
  }
  // A value outside an extension's choices changes nothing.
  if (!errors.any() && !bad_choice.empty()) return Result::error(400, bad_choice);
  // So does a value an extension's own check refuses.
  if (!errors.any() && t->type->validate != nullptr) {
    std::string invalid = t->type->validate(attrs, texts);
    if (!invalid.empty()) return Result::error(400, "invalid attribute: " + invalid);
  }
  // Like Toxiproxy, attribute values decoded around a type error still take effect;
  // toxicity does not.
  bool attrs_changed = attrs != t->attributes || texts != t->texts;
  t->attributes = attrs;
  t->texts = texts;
  if (errors.any()) {
    if (attrs_changed) {
      ++t->version;
      t->since = std::chrono::steady_clock::now();
      events_.toxic_event("toxic_updated", p, *t);
      plane_.toxics_changed(p);
    }
    return Result::error(400, "bad request body: " + errors.message());
  }
  t->toxicity = toxicity;
  ++t->version;
  if (attrs_changed) t->since = std::chrono::steady_clock::now();
  events_.toxic_event("toxic_updated", p, *t);
  plane_.toxics_changed(p);
  json::Writer w;
  write_toxic(w, *t);
  return Result::json(200, w.take());
}

Api::Result Api::toxic_delete(const std::string& name, const std::string& toxic) {
  auto it = proxies_.find(name);
  if (it == proxies_.end()) return Result::error(404, "proxy not found");
  Proxy& p = *it->second;
  for (auto& chain : p.toxics) {
    for (auto t = chain.begin(); t != chain.end(); ++t) {
      if (t->name == toxic) {
        events_.toxic_event("toxic_removed", p, *t);
        chain.erase(t);
        plane_.toxics_changed(p);
        return Result::empty(204);
      }
    }
  }
  return Result::error(404, "toxic not found");
}

}  // namespace faultline::proxy
