// faultline-cli's side of the admin API: the requests toxiproxy-cli's Go client sends, the
// records it reads back, and its error texts ("HTTP 404: proxy not found", "Create: ...",
// "failed to retrieve proxy with name `x`: ...", "fail to request: ...").
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace faultline::cli {

// A JSON value as Go's encoding/json decodes it into interface{}: numbers are float64.
struct GoValue {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string text;
  std::vector<GoValue> items;
  std::vector<std::pair<std::string, GoValue>> members;  // sorted by key, no duplicates

  static GoValue of_number(double v);
  static GoValue of_string(std::string s);
};

// fmt.Print of the value: 100, 1.5, 1e+06, text as is, true, <nil>, [a b], map[k:v].
std::string print_go_value(const GoValue& v);
// json.Marshal of the value; false (with Go's error text) for NaN and infinities.
bool marshal_go_value(const GoValue& v, std::string& out, std::string& error);

using Attributes = std::map<std::string, GoValue>;

struct Toxic {
  std::string name;
  std::string type;
  std::string stream;
  float toxicity = 0;
  Attributes attributes;
  bool attributes_null = true;  // JSON null or absent (marshalled back as null)
};

struct Proxy {
  std::string name;
  std::string listen;
  std::string upstream;
  bool enabled = false;
  std::optional<std::vector<Toxic>> toxics;  // nullopt: JSON null or absent
};

// The -a key=value list as toxiproxy-cli reads it: pairs without '=' are skipped, values
// that parse as Go floats become numbers, the rest strings; a later key wins.
Attributes parse_attributes(const std::vector<std::string>& pairs);

// toxiproxy-cli's endpoint rule: "http://" is put in front unless the text starts with
// "http://" or "https://".
std::string endpoint_from_host(const std::string& host);

class ApiClient {
 public:
  ApiClient(std::string endpoint, std::string user_agent)
      : endpoint_(std::move(endpoint)), user_agent_(std::move(user_agent)) {}

  // Each returns false with the Go client's error text.
  bool proxies(std::map<std::string, Proxy>& out, std::string& error);
  bool proxy(const std::string& name, Proxy& out, std::string& error);
  bool create_proxy(const std::string& name, const std::string& listen, const std::string& upstream,
                    std::string& error);
  // POST /proxies/{name} with the whole record; `proxy` is replaced by the answer.
  bool save_proxy(Proxy& proxy, std::string& error);
  bool delete_proxy(const Proxy& proxy, std::string& error);

  // The three toxic operations fetch the proxy first, as the Go client does.
  struct ToxicOptions {
    std::string proxy_name;
    std::string toxic_name;
    std::string type;
    std::string stream;
    float toxicity = 1;
    Attributes attributes;
  };
  bool add_toxic(const ToxicOptions& o, Toxic& out, std::string& error);
  bool update_toxic(const ToxicOptions& o, Toxic& out, std::string& error);
  bool remove_toxic(const ToxicOptions& o, std::string& error);

 private:
  bool send(const std::string& method, const std::string& path,
            const std::optional<std::string>& body, std::string& out, std::string& error);

  std::string endpoint_;
  std::string user_agent_;
};

// JSON decoding of the records (exposed for tests).
bool decode_proxy(std::string_view body, Proxy& out, std::string& error);
bool decode_toxic(std::string_view body, Toxic& out, std::string& error);
std::string encode_proxy(const Proxy& p, std::string& error);

}  // namespace faultline::cli
