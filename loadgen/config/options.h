// A loadgen test: k6's options (spec k6-compat §1.4, §2) plus the declarative request flows
// that stand in for k6's JavaScript. A scenario file is one JSON object:
//
//   {
//     "options": {                       // k6's `options` object (§2.1), same key names
//       "vus": 5, "duration": "30s", "iterations": 10, "stages": [{"duration": "10s", "target":
//       5}], "scenarios": { "<name>": { "executor": "constant-vus", "vus": 5, "duration": "2m",
//                                  "startTime": "30s", "gracefulStop": "30s", "exec": "browse",
//                                  "env": {"K": "v"}, "tags": {"k": "v"}, ... } },
//       "thresholds": { "http_req_duration": ["p(95)<2000", {"threshold": "p(99)<5000",
//                       "abortOnFail": true, "delayAbortEval": "10s"}] },
//       "tags": {"k": "v"}, "summaryTrendStats": ["avg", "p(99)"], "summaryTimeUnit": "ms",
//       "rps": 100, "setupTimeout": "60s", "userAgent": "..."
//     },
//     "metrics": { "agent_spawn_duration": "trend", "errors": "rate",
//                  "violations": "counter", "queue_depth": "gauge",
//                  "payload_size": {"type": "trend", "contains": "data"} },
//     "setup": [ <step>, ... ],          // run once before the scenarios; a failed check
//                                        // or request aborts the run (exit 107)
//     "flows": { "default": [ <step>, ... ], "browse": [ ... ] }   // scenario `exec` names
//   }
//
// A step is a request or a pause:
//   { "method": "POST", "url": "${CCA_HTTP_URL:-http://localhost:9200}/api/v1/agents",
//     "headers": {"X-API-Key": "${CCA_API_KEY}"}, "body": "text" or any JSON value (sent
//     serialised), "name": "spawn", "tags": {"k": "v"}, "timeout": "10s",
//     "checks": [ {"name": "spawned", "status": 201},  {"status": [200, 201]},
//                 {"body_contains": "ok"}, {"header": "Content-Type", "contains": "json"},
//                 {"header": "X-Id"}, {"duration_below": 200} ],
//     "record": { "agent_spawn_duration": "duration", "errors": "failed",
//                 "violations": "duration>20" },
//     "sleep": "1s" or {"min": "1s", "max": "3s"} }       // think time after the request
//   { "sleep": "500ms" }
//   { "ws": "${CCA_WS_URL:-ws://localhost:9100}", "headers": {...}, "name": "acp",
//     "tags": {...}, "timeout": "10s", "send": ["text", {"jsonrpc": "2.0", "id": 1}], "expect": 2,
//     "checks": [{"status": 101}, {"body_contains": "result"}],
//     "record": {"ws_message_latency": "message_latency", "ws_ok": "ok"}, "sleep": "1s" }
//     A WebSocket session: dial and upgrade, then each `send` message (a string, or any
//     JSON value sent serialised) goes out as a text frame and the session waits for the
//     next message back (up to `timeout`); then it waits for `expect` more messages the
//     server sends unasked (each up to `timeout`), then the session closes (1000). It records k6's
//     ws_* metrics; checks see the handshake status, the last message as the body and the
//     session's duration; `message_latency` records each message's round trip (ms), and
//     `ok`/`failed` whether the session opened and every message was answered.
//
// `${NAME}` and `${NAME:-default}` are replaced in url, headers and body from the
// environment (process environment, then -e KEY=VALUE, then the scenario's env).
// Unknown keys anywhere, wrong JSON types, unknown metrics and bad thresholds are
// configuration errors (exit 104).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "loadgen/config/duration.h"
#include "loadgen/config/plan.h"
#include "loadgen/metrics/threshold.h"

namespace faultline::loadgen {

struct CheckSpec {
  enum class Kind { kStatus, kBodyContains, kHeader, kDurationBelow };
  std::string name;  // given, or generated: "status is 200", "body contains ok", ...
  Kind kind = Kind::kStatus;
  std::vector<int> statuses;  // kStatus: any of these
  std::string text;           // kBodyContains: substring; kHeader: expected value part
  std::string header;         // kHeader: header name (case-insensitive)
  enum class Match { kPresent, kEquals, kContains } match = Match::kPresent;
  double max_ms = 0;  // kDurationBelow
};

// Where a custom metric's value comes from, for one request.
struct RecordSpec {
  enum class Source {
    kDuration,        // http_req_duration of the request, ms
    kWaiting,         // time to first byte, ms
    kBlocked,         // ms
    kConnecting,      // ms
    kSending,         // ms
    kReceiving,       // ms
    kFailed,          // 1 when the request failed (transport error or unexpected status)
    kOk,              // 1 when it did not
    kChecksFailed,    // 1 when any of the step's checks failed
    kChecksOk,        // 1 when all passed
    kStatus,          // the HTTP status (0 on a transport error)
    kOne,             // always 1
    kMessageLatency,  // WebSocket steps: each message's round trip, ms (one sample each)
  };
  std::string metric;
  Source source = Source::kOne;
  // Optional comparison turning the value into 1 or 0: "duration>20".
  std::string op;  // "", "<", "<=", ">", ">=", "==", "!="
  double operand = 0;
};

struct Step {
  bool is_sleep = false;             // a pause only
  bool is_ws = false;                // a WebSocket session (url is its ws:// URL)
  std::vector<std::string> ws_send;  // its messages, before ${} substitution
  int64_t ws_expect = 0;             // messages the server sends unasked, after the replies
  // Pause: a fixed time, or uniformly random in [sleep_min, sleep_max]. For a request this
  // is the think time after it.
  Duration sleep_min{0};
  Duration sleep_max{0};
  std::string method = "GET";
  std::string url;                                           // before ${} substitution
  std::string body;                                          // before ${} substitution
  std::vector<std::pair<std::string, std::string>> headers;  // in file order
  std::string name;                                          // the `name` tag; the URL when empty
  std::map<std::string, std::string> tags;
  std::optional<Duration> timeout;
  std::vector<CheckSpec> checks;
  std::vector<RecordSpec> records;
};

struct MetricDecl {
  std::string name;
  MetricType type = MetricType::kCounter;
  bool is_time = false;
  bool is_data = false;
};

// Options as one configuration layer gives them; unset fields do not override (§1.4).
// k6's `tlsAuth` entry: a client certificate (PEM text, as k6 scripts pass open()'s result)
// for the servers named in `domains`.
struct TlsAuth {
  std::vector<std::string> domains;
  std::string cert, key, password;
};

// k6's `tlsVersion`: "tls1.2" pins one version, {min, max} a range; "" leaves a bound at the
// default (TLS 1.2 to 1.3, as k6's Go client).
struct TlsVersions {
  std::string min, max;
};

struct Options {
  std::optional<int64_t> vus;
  std::optional<Duration> duration;
  std::optional<int64_t> iterations;
  std::optional<std::vector<Stage>> stages;
  std::optional<std::vector<Scenario>> scenarios;  // in file order
  // Threshold declarations by metric key, in declaration order within a key.
  std::optional<std::map<std::string, std::vector<Threshold>>> thresholds;
  std::optional<std::map<std::string, std::string>> tags;
  std::optional<std::vector<std::string>> summary_trend_stats;
  std::optional<std::string> summary_time_unit;
  std::optional<int64_t> rps;
  std::optional<Duration> setup_timeout;
  std::optional<std::string> user_agent;
  std::optional<bool> throw_errors;      // k6's `throw`: failed requests and dials throw
  std::optional<bool> no_cookies_reset;  // k6 scripts: keep a VU's cookie jar across iterations
  // executionSegment and executionSegmentSequence (config/segment.h), as written.
  std::optional<std::string> execution_segment, execution_segment_sequence;
  // TLS (run/tls_config.h): k6's insecureSkipTLSVerify, tlsVersion, tlsAuth, tlsCipherSuites.
  std::optional<bool> insecure_skip_tls_verify;
  std::optional<TlsVersions> tls_version;
  std::optional<std::vector<TlsAuth>> tls_auth;
  std::optional<std::vector<std::string>> tls_cipher_suites;
};

struct ScriptFile {
  Options options;
  std::vector<MetricDecl> metrics;  // custom metrics, in file order
  std::vector<Step> setup;
  std::map<std::string, std::vector<Step>> flows;
};

// Parses a scenario file's text. On failure returns nullopt with the message in `err`
// (k6's wording where k6 has one, e.g. `json: unknown field "xyz"`).
std::optional<ScriptFile> parse_script(const std::string& text, std::string& err);

// Parses the options a script exports, given as JSON (k6-js-api §1.2). Top-level keys
// loadgen does not know are listed in `unknown` (k6 warns about them); any other problem
// fails with the same messages as a scenario file's options.
std::optional<Options> parse_script_options(const std::string& json,
                                            std::vector<std::string>& unknown, std::string& err);

// The consolidated options as JSON with k6's option names (exec.test.options, `inspect`):
// the scenarios the run will have, thresholds, tags and the summary options. Options
// never set are null.
std::string options_to_json(const Options& o, const std::vector<Scenario>& scenarios);

// Parses one threshold list entry set for `key` from the command line form
// "metric: expr" (loadgen's --threshold flag).
bool split_threshold_flag(const std::string& flag, std::string& key, std::string& expr);

// Applies `upper` on top of `lower` field by field, with k6's execution group rule:
// if `upper` sets any of duration, iterations, stages or scenarios, all four are cleared
// from `lower` first. Returns true when that cleared scenarios `lower` had.
bool apply_layer(Options& lower, const Options& upper);

// Turns the final options into scenarios (§1.5): the shorthand modes give one scenario
// named "default". Conflicts append k6's messages to `errors`; `warnings` receives k6's
// warnings.
std::vector<Scenario> derive_scenarios(const Options& o, std::vector<std::string>& errors,
                                       std::vector<std::string>& warnings);

// Replaces ${NAME} and ${NAME:-default} from `env`; unknown names without a default become
// empty strings.
std::string substitute_env(const std::string& text, const std::map<std::string, std::string>& env);

}  // namespace faultline::loadgen
