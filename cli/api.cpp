#include "cli/api.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "cli/go_text.h"
#include "common/http_client_sync.h"
#include "common/json.h"

namespace faultline::cli {
namespace {

namespace od = simdjson::ondemand;

// Calls on_member(key, value) for each member of `o` in order; false when the text breaks
// off or on_member returns false.
template <class OnMember>
bool each_member(od::object o, OnMember&& on_member) {
  for (auto field : o) {
    std::string_view key;
    od::value fv;
    if (field.unescaped_key().get(key) != simdjson::SUCCESS ||
        field.value().get(fv) != simdjson::SUCCESS || !on_member(key, fv)) {
      return false;
    }
  }
  return true;
}

bool to_go_value(od::value v, GoValue& out) {
  od::json_type t;
  if (v.type().get(t) != simdjson::SUCCESS) return false;
  out = GoValue{};
  switch (t) {
    case od::json_type::array: {
      out.kind = GoValue::Kind::kArray;
      od::array a;
      if (v.get_array().get(a) != simdjson::SUCCESS) return false;
      for (auto item : a) {
        od::value iv;
        if (item.get(iv) != simdjson::SUCCESS) return false;
        GoValue g;
        if (!to_go_value(iv, g)) return false;
        out.items.push_back(std::move(g));
      }
      return true;
    }
    case od::json_type::object: {
      out.kind = GoValue::Kind::kObject;
      od::object o;
      if (v.get_object().get(o) != simdjson::SUCCESS) return false;
      std::map<std::string, GoValue> members;
      bool whole = each_member(o, [&](std::string_view key, od::value fv) {
        GoValue g;
        if (!to_go_value(fv, g)) return false;
        members[std::string(key)] = std::move(g);
        return true;
      });
      if (!whole) return false;
      out.members.assign(members.begin(), members.end());
      return true;
    }
    case od::json_type::number: {
      out.kind = GoValue::Kind::kNumber;
      std::string raw(v.raw_json_token());
      out.number = std::strtod(raw.c_str(), nullptr);
      return true;
    }
    case od::json_type::string: {
      out.kind = GoValue::Kind::kString;
      std::string_view s;
      if (v.get_string().get(s) != simdjson::SUCCESS) return false;
      out.text.assign(s);
      return true;
    }
    case od::json_type::boolean: {
      out.kind = GoValue::Kind::kBool;
      return v.get_bool().get(out.boolean) == simdjson::SUCCESS;
    }
    case od::json_type::null:
      return true;
  }
  return false;
}

bool read_attributes(od::value v, Toxic& out) {
  GoValue g;
  if (!to_go_value(v, g)) return false;
  if (g.kind == GoValue::Kind::kNull) return true;
  if (g.kind != GoValue::Kind::kObject) return false;
  out.attributes.clear();
  for (auto& [k, m] : g.members) out.attributes[k] = std::move(m);
  out.attributes_null = false;
  return true;
}

bool read_toxic(od::value v, Toxic& out, json::TypeErrors& errors) {
  od::object o;
  if (v.get_object().get(o) != simdjson::SUCCESS) {
    errors.value(json::kind_name(v), "toxiproxy.Toxic");
    return false;
  }
  return each_member(o, [&](std::string_view key, od::value fv) {
    if (json::key_is(key, "name")) {
      json::read_string(fv, {errors, "Toxic", "name"}, out.name);
    } else if (json::key_is(key, "type")) {
      json::read_string(fv, {errors, "Toxic", "type"}, out.type);
    } else if (json::key_is(key, "stream")) {
      json::read_string(fv, {errors, "Toxic", "stream"}, out.stream);
    } else if (json::key_is(key, "toxicity")) {
      json::read_float32(fv, {errors, "Toxic", "toxicity"}, out.toxicity);
    } else if (json::key_is(key, "attributes")) {
      if (!read_attributes(fv, out))
        errors.field(json::kind_name(fv), "Toxic", "attributes", "toxiproxy.Attributes");
    }
    return true;
  });
}

bool read_proxy(od::value v, Proxy& out, json::TypeErrors& errors) {
  od::object o;
  if (v.get_object().get(o) != simdjson::SUCCESS) {
    errors.value(json::kind_name(v), "toxiproxy.Proxy");
    return false;
  }
  return each_member(o, [&](std::string_view key, od::value fv) {
    if (json::key_is(key, "name")) {
      json::read_string(fv, {errors, "Proxy", "name"}, out.name);
    } else if (json::key_is(key, "listen")) {
      json::read_string(fv, {errors, "Proxy", "listen"}, out.listen);
    } else if (json::key_is(key, "upstream")) {
      json::read_string(fv, {errors, "Proxy", "upstream"}, out.upstream);
    } else if (json::key_is(key, "enabled")) {
      json::read_bool(fv, {errors, "Proxy", "enabled"}, out.enabled);
    } else if (json::key_is(key, "toxics")) {
      if (fv.is_null()) {
        out.toxics.reset();
        return true;
      }
      od::array a;
      if (fv.get_array().get(a) != simdjson::SUCCESS) {
        errors.field(json::kind_name(fv), "Proxy", "toxics", "toxiproxy.Toxics");
        return true;
      }
      out.toxics.emplace();
      for (auto item : a) {
        od::value iv;
        if (item.get(iv) != simdjson::SUCCESS) return false;
        Toxic t;
        read_toxic(iv, t, errors);
        out.toxics->push_back(std::move(t));
      }
    }
    return true;
  });
}

void write_toxic(std::string& out, const Toxic& t, std::string& error) {
  out += "{\"name\":";
  json::append_quoted(out, t.name);
  out += ",\"type\":";
  json::append_quoted(out, t.type);
  if (!t.stream.empty()) {
    out += ",\"stream\":";
    json::append_quoted(out, t.stream);
  }
  out += ",\"toxicity\":";
  if (!std::isfinite(t.toxicity)) {
    if (error.empty()) error = "json: unsupported value: " + go_special_float(t.toxicity);
    out += "null";
  } else {
    out += json::format_float32(t.toxicity);
  }
  out += ",\"attributes\":";
  if (t.attributes_null) {
    out += "null";
  } else {
    GoValue map;
    map.kind = GoValue::Kind::kObject;
    map.members.assign(t.attributes.begin(), t.attributes.end());
    std::string text;
    std::string err;
    if (!marshal_go_value(map, text, err) && error.empty()) error = err;
    out += text;
  }
  out += '}';
}

// The body of an error response as the Go client reads it: json.Decoder into ApiError.
std::string api_error_text(std::string_view body) {
  json::Document doc;
  std::string error;
  if (!doc.parse(body, error)) return error;
  od::value root = doc.root();
  json::TypeErrors errors;
  std::string message;
  int64_t status = 0;
  if (doc.is_null()) return "HTTP 0: ";
  od::object o;
  if (root.get_object().get(o) != simdjson::SUCCESS) {
    errors.value(json::kind_name(root), "toxiproxy.ApiError");
    return errors.message();
  }
  bool whole = each_member(o, [&](std::string_view key, od::value fv) {
    if (json::key_is(key, "error")) {
      json::read_string(fv, {errors, "ApiError", "error"}, message);
    } else if (json::key_is(key, "status")) {
      json::read_int64(fv, {errors, "ApiError", "status"}, "int", status);
    }
    return true;
  });
  if (!whole) return "invalid JSON";
  if (errors.any()) return errors.message();
  return "HTTP " + std::to_string(status) + ": " + message;
}

}  // namespace

GoValue GoValue::of_number(double v) {
  GoValue g;
  g.kind = Kind::kNumber;
  g.number = v;
  return g;
}

GoValue GoValue::of_string(std::string s) {
  GoValue g;
  g.kind = Kind::kString;
  g.text = std::move(s);
  return g;
}

std::string print_go_value(const GoValue& v) {
  switch (v.kind) {
    case GoValue::Kind::kNull:
      return "<nil>";
    case GoValue::Kind::kBool:
      return v.boolean ? "true" : "false";
    case GoValue::Kind::kNumber:
      return format_go_float(v.number);
    case GoValue::Kind::kString:
      return v.text;
    case GoValue::Kind::kArray: {
      std::string out = "[";
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i > 0) out += ' ';
        out += print_go_value(v.items[i]);
      }
      return out + "]";
    }
    case GoValue::Kind::kObject: {
      std::string out = "map[";
      for (size_t i = 0; i < v.members.size(); ++i) {
        if (i > 0) out += ' ';
        out += v.members[i].first + ":" + print_go_value(v.members[i].second);
      }
      return out + "]";
    }
  }
  return "";
}

bool marshal_go_value(const GoValue& v, std::string& out, std::string& error) {
  switch (v.kind) {
    case GoValue::Kind::kNull:
      out += "null";
      return true;
    case GoValue::Kind::kBool:
      out += v.boolean ? "true" : "false";
      return true;
    case GoValue::Kind::kNumber: {
      std::string text;
      if (!format_json_float64(v.number, text)) {
        error = "json: unsupported value: " + go_special_float(v.number);
        return false;
      }
      out += text;
      return true;
    }
    case GoValue::Kind::kString:
      json::append_quoted(out, v.text);
      return true;
    case GoValue::Kind::kArray:
      out += '[';
      for (size_t i = 0; i < v.items.size(); ++i) {
        if (i > 0) out += ',';
        if (!marshal_go_value(v.items[i], out, error)) return false;
      }
      out += ']';
      return true;
    case GoValue::Kind::kObject:
      out += '{';
      for (size_t i = 0; i < v.members.size(); ++i) {
        if (i > 0) out += ',';
        json::append_quoted(out, v.members[i].first);
        out += ':';
        if (!marshal_go_value(v.members[i].second, out, error)) return false;
      }
      out += '}';
      return true;
  }
  return false;
}

Attributes parse_attributes(const std::vector<std::string>& pairs) {
  Attributes out;
  for (const auto& raw : pairs) {
    auto eq = raw.find('=');
    if (eq == std::string::npos) continue;
    std::string key = raw.substr(0, eq);
    std::string value = raw.substr(eq + 1);
    double number = 0;
    if (parse_go_float(value, 64, number) == FloatParse::kOk) {
      out[key] = GoValue::of_number(number);
    } else {
      out[key] = GoValue::of_string(value);
    }
  }
  return out;
}

std::string endpoint_from_host(const std::string& host) {
  if (host.rfind("https://", 0) == 0 || host.rfind("http://", 0) == 0) return host;
  return "http://" + host;
}

bool decode_proxy(std::string_view body, Proxy& out, std::string& error) {
  json::Document doc;
  if (!doc.parse(body, error)) return false;
  json::TypeErrors errors;
  if (!doc.is_null() && !read_proxy(doc.root(), out, errors) && !errors.any()) {
    error = "invalid JSON";
    return false;
  }
  if (errors.any()) {
    error = errors.message();
    return false;
  }
  return true;
}

bool decode_toxic(std::string_view body, Toxic& out, std::string& error) {
  json::Document doc;
  if (!doc.parse(body, error)) return false;
  json::TypeErrors errors;
  if (!doc.is_null() && !read_toxic(doc.root(), out, errors) && !errors.any()) {
    error = "invalid JSON";
    return false;
  }
  if (errors.any()) {
    error = errors.message();
    return false;
  }
  return true;
}

std::string encode_proxy(const Proxy& p, std::string& error) {
  std::string out = "{\"name\":";
  json::append_quoted(out, p.name);
  out += ",\"listen\":";
  json::append_quoted(out, p.listen);
  out += ",\"upstream\":";
  json::append_quoted(out, p.upstream);
  out += p.enabled ? ",\"enabled\":true" : ",\"enabled\":false";
  out += ",\"toxics\":";
  if (!p.toxics) {
    out += "null";
  } else {
    out += '[';
    for (size_t i = 0; i < p.toxics->size(); ++i) {
      if (i > 0) out += ',';
      write_toxic(out, (*p.toxics)[i], error);
    }
    out += ']';
  }
  out += '}';
  return out;
}

bool ApiClient::send(const std::string& method, const std::string& path,
                     const std::optional<std::string>& body, std::string& out, std::string& error) {
  http::ClientRequest request;
  request.method = method;
  request.url = endpoint_ + path;
  request.headers = {{"User-Agent", user_agent_}, {"Content-Type", "application/json"}};
  request.body = body;
  http::ClientUrl url;
  if (!http::parse_client_url(request.url, url, error)) return false;
  http::ClientResponse response;
  if (!http::send_request(request, response, error)) {
    error = "fail to request: " + error;
    return false;
  }
  if (response.status < 200 || response.status >= 300) {
    error = api_error_text(response.body);
    return false;
  }
  out = std::move(response.body);
  return true;
}

bool ApiClient::proxies(std::map<std::string, Proxy>& out, std::string& error) {
  std::string body;
  if (!send("GET", "/proxies", std::nullopt, body, error)) return false;
  json::Document doc;
  if (!doc.parse(body, error)) return false;
  if (doc.is_null()) return true;
  od::object o;
  od::value root = doc.root();
  if (root.get_object().get(o) != simdjson::SUCCESS) {
    error = "json: cannot unmarshal " + std::string(json::kind_name(root)) +
            " into Go value of type map[string]*toxiproxy.Proxy";
    return false;
  }
  json::TypeErrors errors;
  bool whole = each_member(o, [&](std::string_view key, od::value fv) {
    Proxy p;
    if (!fv.is_null()) read_proxy(fv, p, errors);
    out[std::string(key)] = std::move(p);
    return true;
  });
  if (!whole) {
    error = "invalid JSON";
    return false;
  }
  if (errors.any()) {
    error = errors.message();
    return false;
  }
  return true;
}

bool ApiClient::proxy(const std::string& name, Proxy& out, std::string& error) {
  std::string body;
  if (!send("GET", "/proxies/" + name, std::nullopt, body, error)) return false;
  return decode_proxy(body, out, error);
}

bool ApiClient::create_proxy(const std::string& name, const std::string& listen,
                             const std::string& upstream, std::string& error) {
  Proxy p;
  p.name = name;
  p.listen = listen;
  p.upstream = upstream;
  p.enabled = true;
  std::string encode_error;
  std::string request = encode_proxy(p, encode_error);
  std::string body;
  if (!send("POST", "/proxies", request, body, error) || !decode_proxy(body, p, error)) {
    error = "Create: " + error;
    return false;
  }
  return true;
}

bool ApiClient::save_proxy(Proxy& proxy, std::string& error) {
  std::string request = encode_proxy(proxy, error);
  if (!error.empty()) return false;
  std::string body;
  if (!send("POST", "/proxies/" + proxy.name, request, body, error)) return false;
  return decode_proxy(body, proxy, error);
}

bool ApiClient::delete_proxy(const Proxy& proxy, std::string& error) {
  std::string body;
  if (!send("DELETE", "/proxies/" + proxy.name, std::nullopt, body, error)) {
    error = "Delete: " + error;
    return false;
  }
  return true;
}

bool ApiClient::add_toxic(const ToxicOptions& o, Toxic& out, std::string& error) {
  Proxy p;
  if (!proxy(o.proxy_name, p, error)) {
    error = "failed to retrieve proxy with name `" + o.proxy_name + "`: " + error;
    return false;
  }
  Toxic t;
  t.name = o.toxic_name;
  t.type = o.type;
  t.stream = o.stream;
  t.toxicity = o.toxicity;
  t.attributes = o.attributes;
  t.attributes_null = false;
  std::string request;
  write_toxic(request, t, error);
  std::string body;
  if (error.empty()) {
    if (!send("POST", "/proxies/" + p.name + "/toxics", request, body, error)) {
      error = "AddToxic: " + error;
    } else {
      decode_toxic(body, out, error);
    }
  }
  if (!error.empty()) {
    error = "failed to add toxic to proxy " + o.proxy_name + ": " + error;
    return false;
  }
  return true;
}

bool ApiClient::update_toxic(const ToxicOptions& o, Toxic& out, std::string& error) {
  Proxy p;
  if (!proxy(o.proxy_name, p, error)) {
    error = "failed to retrieve proxy with name `" + o.proxy_name + "`: " + error;
    return false;
  }
  // A map in Go: keys in order, "attributes" before "toxicity".
  GoValue attrs;
  attrs.kind = GoValue::Kind::kObject;
  attrs.members.assign(o.attributes.begin(), o.attributes.end());
  std::string request = "{\"attributes\":";
  bool ok = marshal_go_value(attrs, request, error);
  if (ok && !std::isfinite(o.toxicity)) {
    error = "json: unsupported value: " + go_special_float(o.toxicity);
    ok = false;
  }
  std::string body;
  if (ok) {
    request += ",\"toxicity\":" + json::format_float32(o.toxicity) + "}";
    ok = send("PATCH", "/proxies/" + p.name + "/toxics/" + o.toxic_name, request, body, error) &&
         decode_toxic(body, out, error);
  }
  if (!ok) {
    error =
        "failed to update toxic '" + o.toxic_name + "' of proxy '" + o.proxy_name + "': " + error;
    return false;
  }
  return true;
}

bool ApiClient::remove_toxic(const ToxicOptions& o, std::string& error) {
  Proxy p;
  if (!proxy(o.proxy_name, p, error)) {
    error = "failed to retrieve proxy with name `" + o.proxy_name + "`: " + error;
    return false;
  }
  std::string body;
  if (!send("DELETE", "/proxies/" + p.name + "/toxics/" + o.toxic_name, std::nullopt, body,
            error)) {
    error =
        "failed to remove toxic '" + o.toxic_name + "' from proxy '" + o.proxy_name + "': " + error;
    return false;
  }
  return true;
}

}  // namespace faultline::cli
