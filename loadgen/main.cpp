// loadgen: k6-style HTTP load generation.
//   loadgen --vus 50 --duration 5m http://localhost:9200/health
//   loadgen run [flags] scenario.json
#include <netdb.h>
#include <signal.h>
#include <strings.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/backend.h"
#include "common/json.h"
#include "loadgen/config/duration.h"
#include "loadgen/config/options.h"
#include "loadgen/config/plan.h"
#include "loadgen/config/segment.h"
#include "loadgen/js/script.h"
#include "loadgen/metrics/metrics.h"
#include "loadgen/report/compare.h"
#include "loadgen/report/console.h"
#include "loadgen/report/csv_output.h"
#include "loadgen/report/fault_timeline.h"
#include "loadgen/report/json_output.h"
#include "loadgen/report/merge.h"
#include "loadgen/report/prometheus_output.h"
#include "loadgen/report/prometheus_series.h"
#include "loadgen/report/remote_write.h"
#include "loadgen/report/summary.h"
#include "loadgen/run/runner.h"
#include "loadgen/run/tls_config.h"
#include "loadgen/run/url.h"

extern char** environ;

namespace fl = faultline::loadgen;

namespace {

// Exit codes as k6's (spec k6-compat §5).
constexpr int kExitThresholds = 99;
constexpr int kExitConfig = 104;
constexpr int kExitSignal = 105;
constexpr int kExitSetup = 107;
constexpr int kExitMarkedFailed = 110;

// The k6 release whose behaviour loadgen reproduces (spec k6-compat.md).
constexpr const char* kK6Version = "1.8.1";
constexpr int kExitOther = 255;

// Thrown for a configuration problem; carries the exit code.
struct ConfigError {
  std::string message;
  int code = kExitConfig;
};

// A scenario request's URL: http:// or https://.
fl::Url parse_url(const std::string& url) {
  fl::Url out;
  std::string error;
  if (!fl::parse_url(url, out, error)) throw ConfigError{error};
  if (out.scheme != "http" && out.scheme != "https") {
    throw ConfigError{"invalid URL: only http:// and https:// URLs are supported: " + url};
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError{"cannot read " + path + ": " + std::strerror(errno)};
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) out.push_back(part);
  return out;
}

// "30s:50" stage flags; several per occurrence, comma-separated (§1.3.3).
std::vector<fl::Stage> parse_stage_flags(const std::vector<std::string>& flags) {
  std::vector<fl::Stage> stages;
  for (const auto& flag : flags) {
    for (const auto& item : split(flag, ',')) {
      size_t n = stages.size();
      fl::Stage st;
      size_t colon = item.find(':');
      std::string dur = item.substr(0, colon);
      if (dur.empty()) {
        throw ConfigError{"stage " + std::to_string(n) + " doesn't have a specified duration",
                          kExitOther};
      }
      auto d = fl::parse_go_duration(dur);
      if (!d) {
        throw ConfigError{
            "error for stage " + std::to_string(n) + ": time: invalid duration \"" + dur + "\"",
            kExitOther};
      }
      st.duration = *d;
      st.has_duration = true;
      if (colon != std::string::npos && colon + 1 < item.size()) {
        std::string target = item.substr(colon + 1);
        char* end = nullptr;
        long long v = std::strtoll(target.c_str(), &end, 10);
        if (*end != '\0') {
          throw ConfigError{"error for stage " + std::to_string(n) + ": strconv.ParseInt: " +
                                "parsing \"" + target + "\": invalid syntax",
                            kExitOther};
        }
        st.target = v;
        st.has_target = true;
      }
      stages.push_back(st);
    }
  }
  return stages;
}

std::map<std::string, std::string> process_env() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

const char* env_or_null(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

std::string json_quote(const std::string& s);

// The K6_* environment layer (§1.4); durations use the extended grammar.
fl::Options env_layer() {
  fl::Options o;
  auto integer = [](const char* name) -> std::optional<int64_t> {
    const char* v = env_or_null(name);
    if (!v) return std::nullopt;
    char* end = nullptr;
    long long n = std::strtoll(v, &end, 10);
    if (*end != '\0') throw ConfigError{std::string("invalid value of ") + name + ": " + v};
    return n;
  };
  o.vus = integer("K6_VUS");
  o.iterations = integer("K6_ITERATIONS");
  o.rps = integer("K6_RPS");
  if (const char* v = env_or_null("K6_THROW"))
    o.throw_errors = std::string(v) == "true" || std::string(v) == "1";
  if (const char* v = env_or_null("K6_USER_AGENT")) o.user_agent = v;
  if (const char* v = env_or_null("K6_INSECURE_SKIP_TLS_VERIFY"))
    o.insecure_skip_tls_verify = std::string(v) == "true" || std::string(v) == "1";
  if (const char* v = env_or_null("K6_TLS_VERSION")) {
    std::string err;
    std::vector<std::string> unknown;
    auto parsed = fl::parse_script_options(std::string("{\"tlsVersion\":") + json_quote(v) + "}",
                                           unknown, err);
    if (!parsed) throw ConfigError{"invalid value of K6_TLS_VERSION: " + err};
    o.tls_version = parsed->tls_version;
  }
  if (const char* v = env_or_null("K6_DURATION")) {
    auto d = fl::parse_extended_duration(v);
    if (!d) throw ConfigError{std::string("invalid value of K6_DURATION: ") + v};
    o.duration = *d;
  }
  if (const char* v = env_or_null("K6_STAGES")) {
    std::vector<fl::Stage> stages;
    for (const auto& item : split(v, ',')) {
      size_t colon = item.find(':');
      auto d = fl::parse_extended_duration(item.substr(0, colon));
      if (!d || colon == std::string::npos) throw ConfigError{"invalid value of K6_STAGES"};
      fl::Stage st;
      st.duration = *d;
      st.has_duration = st.has_target = true;
      st.target = std::strtoll(item.c_str() + colon + 1, nullptr, 10);
      stages.push_back(st);
    }
    o.stages = stages;
  }
  return o;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// How much of SpiderMonkey's JIT scripts use: LOADGEN_JS_JIT=off|baseline|full. Off by
// default: every VU has a runtime of its own, so each would compile the same code again,
// and the JIT's write-protection changes (mprotect) serialise all threads; measured in
// bench/README.md, the interpreter costs less CPU per request and starts VUs faster.
fl::js::JitMode js_jit() {
  const char* v = std::getenv("LOADGEN_JS_JIT");
  std::string mode = v ? v : "off";
  if (mode == "off") return fl::js::JitMode::kOff;
  if (mode == "full") return fl::js::JitMode::kFull;
  if (mode != "baseline")
    throw ConfigError{"LOADGEN_JS_JIT must be off, baseline or full", kExitOther};
  return fl::js::JitMode::kBaseline;
}

bool is_tty(int fd) {
  return isatty(fd) == 1;
}

// `loadgen compare BASELINE CURRENT`: prints a Markdown table of the two summaries'
// figures; exits 99 (as a failed threshold does) when one got worse beyond the limit.
int run_compare(std::vector<char*> args, const char* self) {
  CLI::App app{"Compares two runs' summaries (--summary-export or --summary-data files)",
               std::string(self) + " compare"};
  std::string baseline, current, limit = "10%", markdown;
  std::vector<std::string> metrics;
  app.add_option("baseline", baseline, "The reference summary")->required();
  app.add_option("current", current, "The summary of the run to judge")->required();
  app.add_option("--max-regression", limit,
                 "How much worse than the baseline a figure may get (default 10%)");
  app.add_option("--metric", metrics,
                 "Also compare METRIC[:higher|:lower] (which way is worse; repeatable)");
  app.add_option("--markdown", markdown, "Also write the table to FILE (for a PR comment)");
  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitConfig;
  }
  try {
    double max_regression = fl::parse_regression_limit(limit);
    std::vector<fl::CompareMetric> extra;
    for (const auto& m : metrics) {
      auto colon = m.rfind(':');
      if (colon == std::string::npos) {
        extra.push_back({m, ""});
      } else {
        extra.push_back({m.substr(0, colon), m.substr(colon + 1)});
      }
    }
    fl::CompareResult r = fl::compare_summaries(read_file(baseline), read_file(current), baseline,
                                                current, max_regression, extra);
    std::string table = fl::compare_markdown(r, max_regression);
    std::fputs(table.c_str(), stdout);
    if (!markdown.empty()) {
      std::ofstream out(markdown, std::ios::binary);
      out << table;
      if (!out) throw ConfigError{"cannot write " + markdown + ": " + std::strerror(errno)};
    }
    return r.regressions > 0 ? kExitThresholds : 0;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "compare: %s\n", e.message.c_str());
  } catch (const std::runtime_error& e) {
    std::fprintf(stderr, "compare: %s\n", e.what());
  }
  return kExitConfig;
}

// `loadgen merge PART...`: the summaries of a test's execution segments (their
// --summary-export or --summary-data files) combined into the whole test's: the summary on
// stdout, the thresholds evaluated on the totals, and the exit code a single run would have.
int run_merge(std::vector<char*> args, const char* self) {
  CLI::App app{"Combines the summaries of one test's execution segments",
               std::string(self) + " merge"};
  std::vector<std::string> parts, trend_stats;
  std::string summary_export, summary_data, time_unit, mode;
  bool no_thresholds = false, no_color = false;
  app.add_option("parts", parts, "--summary-export or --summary-data files of the segments")
      ->required();
  app.add_option("--summary-export", summary_export, "Write the merged flat summary to FILE");
  app.add_option("--summary-data", summary_data, "Write the merged handleSummary data to FILE");
  app.add_option("--summary-trend-stats", trend_stats, "Trend columns (default: the runs')")
      ->delimiter(',');
  app.add_option("--summary-time-unit", time_unit, "s, ms or us (default: the runs')");
  app.add_option("--summary-mode", mode, "compact, full or legacy (default: the runs')");
  app.add_flag("--no-thresholds", no_thresholds, "Do not evaluate thresholds");
  app.add_flag("--no-color", no_color, "No colours");
  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitOther;
  }
  fl::MergedRun merged;
  for (const auto& part : parts) {
    std::string err;
    if (!fl::merge_file(part, merged, err)) {
      fl::log_line("error", "cannot merge " + err);
      return kExitOther;
    }
  }
  for (const auto& stat : trend_stats) {
    std::string err;
    if (!fl::valid_trend_stat(stat, err)) {
      fl::log_line("error", err);
      return kExitOther;
    }
  }
  fl::SummaryInput summary;
  summary.options = merged.options;
  if (!trend_stats.empty()) summary.options.trend_stats = trend_stats;
  if (!time_unit.empty()) summary.options.time_unit = time_unit;
  if (!mode.empty()) summary.options.mode = mode;
  summary.options.no_color = no_color || std::getenv("NO_COLOR") || env_or_null("K6_NO_COLOR");
  summary.options.stdout_tty = is_tty(1);
  summary.options.stderr_tty = is_tty(2);
  if (no_thresholds) merged.thresholds.clear();
  summary.metrics = &merged.metrics;
  summary.thresholds = fl::evaluate(merged.thresholds, merged.metrics, merged.elapsed_s);
  summary.elapsed_s = merged.elapsed_s;
  summary.checks = merged.checks;
  summary.groups = merged.groups;
  summary.scenarios = merged.scenarios;
  summary.group_sections = merged.group_sections;
  std::fputs(fl::console_summary(summary).c_str(), stdout);
  std::fflush(stdout);
  // The merged files carry the merged state, so merges of merges add up too.
  summary.merge_state = fl::merge_state(summary, merged.thresholds);
  bool written = true;
  for (const auto& [path, text] :
       {std::pair{summary_export, summary_export.empty() ? "" : fl::summary_export(summary)},
        std::pair{summary_data, summary_data.empty() ? "" : fl::summary_data(summary)}}) {
    if (path.empty()) continue;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) {
      fl::log_line("error", "could not write " + path);
      written = false;
    }
  }
  std::vector<std::string> crossed;
  for (const auto& r : summary.thresholds) {
    if (!r.ok && std::find(crossed.begin(), crossed.end(), r.metric) == crossed.end()) {
      crossed.push_back(r.metric);
    }
  }
  if (!crossed.empty()) {
    fl::log_line("error", "thresholds on metrics '" + join(crossed, ", ") + "' have been crossed");
    return kExitThresholds;
  }
  return written ? 0 : kExitOther;
}

// Everything the command line gave.
struct Cli {
  std::string target;  // URL or scenario file
  std::optional<int64_t> vus, iterations, rps;
  std::string duration_text;
  std::vector<std::string> stages, headers, env, tags, thresholds, outs, trend_stats;
  std::string method = "GET", body, body_file, summary_export, summary_data;
  std::string summary_mode, summary_time_unit, backend = "auto", timeout = "60s", user_agent;
  std::string fault_timeline;                            // faultline-proxy's API URL
  std::optional<std::string> segment, segment_sequence;  // --execution-segment[-sequence]
  std::optional<int64_t> segment_index;                  // --execution-segment-index
  bool quiet = false, no_color = false, no_summary = false, no_thresholds = false;
  bool throw_errors = false, verbose = false, insecure_skip_tls_verify = false;
  unsigned threads = std::max(1u, std::min(std::thread::hardware_concurrency(), 8u));
};

}  // namespace

int main(int argc, char** argv) {
  // Called through a symlink named k6, loadgen answers as k6 does (the README's drop-in).
  std::string self = argc > 0 ? argv[0] : "loadgen";
  self = self.substr(self.rfind('/') + 1);
  const bool as_k6 = self == "k6";
  // `loadgen run [flags] FILE` and `loadgen [flags] URL` are the same command; `version`
  // and `inspect` are k6's other two commands that scripts and CI use.
  std::vector<char*> args(argv, argv + argc);
  std::string command = args.size() > 1 ? args[1] : "";
  if (command == "version" || command == "--version") {
    std::printf(as_k6 ? "k6 v%s (loadgen %s, Faultline)\n" : "loadgen %s (Faultline), k6 v%s\n",
                as_k6 ? kK6Version : FAULTLINE_VERSION, as_k6 ? FAULTLINE_VERSION : kK6Version);
    return 0;
  }
  if (command == "compare") {
    args.erase(args.begin() + 1);
    return run_compare(args, as_k6 ? "k6" : "loadgen");
  }
  if (command == "merge") {
    args.erase(args.begin() + 1);
    return run_merge(args, as_k6 ? "k6" : "loadgen");
  }
  const bool inspect = command == "inspect";
  if (command == "run" || inspect) args.erase(args.begin() + 1);

  CLI::App app{as_k6 ? "k6 (loadgen, Faultline): runs k6 test scripts"
                     : "loadgen: k6-style HTTP load generator (Faultline)",
               as_k6 ? "k6" : "loadgen"};
  Cli cli;
  int64_t vus = 0, iterations = 0, rps = 0;
  std::string segment_text, sequence_text;
  app.add_option("target", cli.target, "Target URL (http://host:port/path) or scenario file")
      ->required();
  auto* vus_opt = app.add_option("-u,--vus", vus, "Number of virtual users");
  app.add_option("-d,--duration", cli.duration_text, "Test duration (Go syntax: 30s, 1m30s)");
  auto* iter_opt =
      app.add_option("-i,--iterations", iterations, "Total iterations shared by all VUs");
  app.add_option("-s,--stage", cli.stages, "Ramping stage DURATION:TARGET (repeatable)");
  auto* rps_opt = app.add_option("--rps", rps, "Process-wide cap on requests per second");
  app.add_option("-X,--method", cli.method, "HTTP method (URL mode)");
  app.add_option("-H,--header", cli.headers, "Request header \"Name: value\" (URL mode)");
  app.add_option("--body", cli.body, "Request body (URL mode)");
  app.add_option("--body-file", cli.body_file, "Read the request body from a file (URL mode)");
  app.add_option("-e,--env", cli.env, "KEY=VALUE for ${KEY} substitution (repeatable)");
  app.add_option("--tag", cli.tags, "NAME=VALUE tag on every sample (repeatable)");
  app.add_option("--threshold", cli.thresholds,
                 "Threshold \"metric: expression\", e.g. 'http_req_duration: p(95)<2000'");
  app.add_option("--summary-export", cli.summary_export, "Write k6's flat summary JSON to FILE");
  app.add_option("--summary-data", cli.summary_data,
                 "Write the summary object k6 hands to handleSummary() to FILE");
  app.add_option("--summary-mode", cli.summary_mode, "compact, full, legacy or disabled");
  app.add_option("--summary-trend-stats", cli.trend_stats, "Trend columns, e.g. avg,p(99)")
      ->delimiter(',');
  app.add_option("--summary-time-unit", cli.summary_time_unit, "s, ms or us");
  app.add_flag("--no-summary", cli.no_summary, "Same as --summary-mode=disabled");
  app.add_flag("--no-thresholds", cli.no_thresholds, "Do not evaluate thresholds");
  app.add_option(
      "-o,--out", cli.outs,
      "Output: json[=FILE], csv[=FILE], prometheus=HOST:PORT (k6-named metrics on /metrics) or "
      "experimental-prometheus-rw (remote write, K6_PROMETHEUS_RW_*)");
  app.add_option("--fault-timeline", cli.fault_timeline,
                 "faultline-proxy's API (http://HOST:8474): results split by fault window");
  auto* segment_opt = app.add_option("--execution-segment", segment_text,
                                     "This instance's part of the test: FROM:TO (0:1/4)");
  auto* sequence_opt =
      app.add_option("--execution-segment-sequence", sequence_text,
                     "All instances' segments: 0,1/4,1/2,3/4,1 (the same on every instance)");
  int64_t segment_index = 0;
  auto* index_opt = app.add_option(
      "--execution-segment-index", segment_index,
      "Run segment N (from 0) of --execution-segment-sequence: a Kubernetes Indexed Job's "
      "completion index (Faultline's, not k6's)");
  app.add_option("--request-timeout", cli.timeout, "Per-request timeout (default 60s)");
  app.add_flag("-q,--quiet", cli.quiet, "No header and no progress");
  app.add_flag("-v,--verbose", cli.verbose, "Debug log lines too (console.debug included)");
  app.add_flag("-w,--throw", cli.throw_errors, "Scripts: failed requests and dials throw");
  app.add_option("--user-agent", cli.user_agent, "User-Agent header of requests");
  app.add_flag("--insecure-skip-tls-verify", cli.insecure_skip_tls_verify,
               "Do not verify the servers' TLS certificates");
  app.add_flag("--no-color", cli.no_color, "No colours");
  app.add_option("--threads", cli.threads, "Worker threads")->check(CLI::Range(1u, 1024u));
  app.add_option("--backend", cli.backend,
                 "I/O backend: auto (= epoll, the cheaper one for this load), io_uring or epoll");
  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitOther;
  }
  fl::set_verbose(cli.verbose);
  if (vus_opt->count()) cli.vus = vus;
  if (segment_opt->count()) cli.segment = segment_text;
  if (sequence_opt->count()) cli.segment_sequence = sequence_text;
  if (index_opt->count()) cli.segment_index = segment_index;
  if (iter_opt->count()) cli.iterations = iterations;
  if (rps_opt->count()) cli.rps = rps;

  fl::SummaryOptions summary_options;
  std::map<std::string, std::vector<fl::Threshold>> thresholds;
  // What the test declares. The same as `thresholds` except with --no-thresholds on a
  // segment of a distributed test: it skips them, and its merge state keeps them for
  // `loadgen merge` to evaluate on the whole test.
  std::map<std::string, std::vector<fl::Threshold>> declared;
  std::vector<fl::Scenario> scenarios;
  std::vector<fl::Scenario> all_scenarios;  // before the execution segment took its share
  fl::ExecutionSegment segment;
  bool segmented = false;  // an execution segment or sequence was given
  fl::RunConfig cfg;
  auto registry = std::make_shared<fl::Registry>();
  auto tag_sets = std::make_shared<fl::TagSets>();
  cfg.tag_sets = tag_sets;
  std::vector<std::string> check_names;   // checks by id, first-seen order
  std::vector<std::string> check_scopes;  // "" for the root group, else the scenario (full)
  std::string prometheus_address;
  bool remote_write = false;  // --out experimental-prometheus-rw
  fl::RemoteWriteSettings remote_write_settings;
  std::string json_path;                      // --out json: "-" for stdout
  std::optional<fl::CsvSettings> csv_config;  // --out csv
  std::string script_name = cli.target;
  bool url_mode = cli.target.rfind("http://", 0) == 0 || cli.target.rfind("https://", 0) == 0;
  // A file that is not a .json scenario file is a k6 script.
  bool js_mode = !url_mode && !ends_with(cli.target, ".json");
  std::unique_ptr<fl::js::Script> js_script;
  try {
    auto env = process_env();
    for (const auto& kv : cli.env) {
      size_t eq = kv.find('=');
      std::string key = kv.substr(0, eq);
      static const std::regex name_re("^[a-zA-Z_][a-zA-Z0-9_]*$");
      if (!std::regex_match(key, name_re)) {
        throw ConfigError{"invalid environment variable name '" + key + "'", kExitOther};
      }
      env[key] = eq == std::string::npos ? "" : kv.substr(eq + 1);
    }
    // --- the option layers: file, K6_* environment, command line (§1.4) ---
    fl::ScriptFile script;
    if (js_mode) {
      js_script = std::make_unique<fl::js::Script>(cli.target, env, js_jit());
      auto loaded = js_script->load();
      if (!loaded.ok) throw ConfigError{loaded.message, loaded.exit_code};
      std::vector<std::string> unknown;
      std::string err;
      auto options = fl::parse_script_options(js_script->options_json(), unknown, err);
      if (!options) {
        throw ConfigError{"parsing options from script got error while parsing: " + err};
      }
      if (!unknown.empty()) {
        fl::log_line("warning", "There were unknown fields in the options exported in the script",
                     fl::log_field("error", "json: unknown field " + json_quote(unknown.front())));
      }
      script.options = *options;
      for (const auto& m : js_script->declared_metrics()) {
        script.metrics.push_back({m.name, m.type, m.is_time, false});
      }
    } else if (!url_mode) {
      std::string err;
      auto parsed = fl::parse_script(read_file(cli.target), err);
      if (!parsed) throw ConfigError{err};
      script = std::move(*parsed);
    } else {
      fl::Step step;
      step.method = cli.method;
      step.url = cli.target;
      step.body = cli.body_file.empty() ? cli.body : read_file(cli.body_file);
      for (const auto& h : cli.headers) {
        size_t colon = h.find(':');
        if (colon == std::string::npos)
          throw ConfigError{"invalid header \"" + h + "\"", kExitOther};
        std::string value = h.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        step.headers.emplace_back(h.substr(0, colon), value);
      }
      script.flows["default"] = {step};
    }
    fl::Options options = script.options;
    if (fl::apply_layer(options, env_layer())) {
      fl::log_line("warning",
                   "\"env\" level configuration overrode scenarios configuration entirely");
    }
    fl::Options cli_layer;
    cli_layer.vus = cli.vus;
    cli_layer.iterations = cli.iterations;
    cli_layer.rps = cli.rps;
    if (cli.throw_errors) cli_layer.throw_errors = true;
    if (cli.insecure_skip_tls_verify) cli_layer.insecure_skip_tls_verify = true;
    if (!cli.user_agent.empty()) cli_layer.user_agent = cli.user_agent;
    if (!cli.duration_text.empty()) {
      auto d = fl::parse_go_duration(cli.duration_text);
      if (!d) {
        throw ConfigError{"invalid argument \"" + cli.duration_text +
                              "\" for \"-d, --duration\" flag: time: invalid duration \"" +
                              cli.duration_text + "\"",
                          kExitOther};
      }
      cli_layer.duration = *d;
    }
    if (!cli.stages.empty()) cli_layer.stages = parse_stage_flags(cli.stages);
    if (!cli.tags.empty()) {
      std::map<std::string, std::string> tags;
      for (const auto& t : cli.tags) {
        size_t eq = t.find('=');
        if (t.empty()) throw ConfigError{"invalid tag, empty string", kExitOther};
        if (eq == 0) throw ConfigError{"invalid tag, empty name", kExitOther};
        if (eq == std::string::npos || eq + 1 == t.size()) {
          throw ConfigError{"invalid tag, empty value", kExitOther};
        }
        tags[t.substr(0, eq)] = t.substr(eq + 1);
      }
      cli_layer.tags = tags;
    }
    if (!cli.trend_stats.empty()) cli_layer.summary_trend_stats = cli.trend_stats;
    if (!cli.summary_time_unit.empty()) cli_layer.summary_time_unit = cli.summary_time_unit;
    if (fl::apply_layer(options, cli_layer)) {
      fl::log_line("warning",
                   "\"cli\" level configuration overrode scenarios configuration entirely");
    }

    // --- summary options ---
    if (options.summary_trend_stats) {
      for (const auto& s : *options.summary_trend_stats) {
        if (!fl::valid_trend_stat(s)) {
          throw ConfigError{"stat '" + s + "' is unknown",
                            cli.trend_stats.empty() ? kExitConfig : kExitOther};
        }
      }
      summary_options.trend_stats = *options.summary_trend_stats;
    }
    if (options.summary_time_unit) {
      const auto& u = *options.summary_time_unit;
      if (u != "s" && u != "ms" && u != "us") {
        throw ConfigError{"invalid summary time unit '" + u + "', use 's', 'ms' or 'us'",
                          kExitOther};
      }
      summary_options.time_unit = u;
    }
    summary_options.mode = cli.summary_mode.empty() ? "compact" : cli.summary_mode;
    if (cli.no_summary) {
      std::fputs("Flag --no-summary has been deprecated, use --summary-mode=disabled instead\n",
                 stderr);
      summary_options.mode = "disabled";
    }
    const std::set<std::string> modes{"compact", "full", "legacy", "disabled"};
    if (!modes.count(summary_options.mode)) {
      throw ConfigError{"invalid summary mode '" + summary_options.mode +
                            "', use compact, full, legacy or disabled",
                        kExitOther};
    }
    summary_options.no_color =
        cli.no_color || std::getenv("NO_COLOR") || env_or_null("K6_NO_COLOR");
    summary_options.stdout_tty = is_tty(1);
    summary_options.stderr_tty = is_tty(2);
    for (const auto& out : cli.outs) {
      size_t eq = out.find('=');
      std::string type = out.substr(0, eq);
      std::string arg = eq == std::string::npos ? "" : out.substr(eq + 1);
      if (type == "json") {
        json_path = arg.empty() ? "-" : arg;
        continue;
      }
      if (type == "csv") {
        std::string err;
        std::vector<std::string> notes;
        csv_config.emplace();
        if (!fl::csv_settings(arg, process_env(), *csv_config, err, notes)) {
          throw ConfigError{"could not create the 'csv' output: " + err, kExitOther};
        }
        for (const auto& note : notes) fl::log_line("warning", note);
        continue;
      }
      if (type == "experimental-prometheus-rw") {
        // As in k6, the part after '=' is ignored: K6_PROMETHEUS_RW_* configure this output.
        remote_write = true;
        continue;
      }
      if (type != "prometheus") {
        throw ConfigError{"invalid output type '" + type +
                              "', available types are: csv, experimental-prometheus-rw, json, "
                              "prometheus",
                          kExitOther};
      }
      if (arg.empty() || arg.find(':') == std::string::npos) {
        throw ConfigError{"--out prometheus needs the address to serve on: prometheus=HOST:PORT",
                          kExitOther};
      }
      prometheus_address = arg;
    }
    if (remote_write) {
      std::string err;
      if (!fl::remote_write_settings(process_env(), remote_write_settings, err)) {
        throw ConfigError{err, kExitOther};
      }
    }
    if (!prometheus_address.empty() || remote_write) {
      cfg.series = std::make_shared<fl::SeriesTable>();
    }

    // --- TLS for https:// and wss:// (tlsAuth certificates are read here) ---
    {
      std::string err;
      if (!fl::configure_tls(options, err)) throw ConfigError{err};
    }

    // --- scenarios (§1.5) and their validation (§2.7) ---
    std::vector<std::string> errors, warnings;
    scenarios = fl::derive_scenarios(options, errors, warnings);
    for (const auto& w : warnings) fl::log_line("warning", w);
    std::vector<std::string> problems = errors;
    for (const auto& s : scenarios) {
      auto msgs = fl::validate(s);
      if (!msgs.empty()) {
        problems.push_back("scenario " + s.name + " has configuration errors: " + join(msgs, ", "));
      }
      if (js_mode ? !js_script->exports_function(s.exec) : !script.flows.count(s.exec)) {
        problems.push_back("executor " + s.name + ": function '" + s.exec +
                           "' not found in exports");
      }
    }
    if (!problems.empty()) {
      throw ConfigError{"There were problems with the specified script configuration:\n\t- " +
                        join(problems, "\n\t- ")};
    }
    fl::sort_scenarios(scenarios);
    all_scenarios = scenarios;

    // --- this instance's execution segment (§10) ---
    {
      // A flag's own value is checked as k6 checks flags (exit 255); how they combine with
      // each other and the options, below (exit 104).
      std::string err;
      auto bad_flag = [&](const char* flag, const std::string& value) {
        return ConfigError{"invalid argument \"" + value + "\" for \"" + flag + "\" flag: " + err,
                           kExitOther};
      };
      if (cli.segment && !fl::ExecutionSegment::parse(*cli.segment, "", err)) {
        throw bad_flag("--execution-segment", *cli.segment);
      }
      if (cli.segment_sequence && !fl::parse_sequence(*cli.segment_sequence, err)) {
        throw bad_flag("--execution-segment-sequence", *cli.segment_sequence);
      }
    }
    if (cli.segment_index) {
      // The N-th segment of the sequence, as if given by --execution-segment.
      std::string err;
      std::string text =
          cli.segment_sequence.value_or(options.execution_segment_sequence.value_or(""));
      auto points = text.empty() ? std::nullopt : fl::parse_sequence(text, err);
      if (cli.segment) {
        throw ConfigError{"--execution-segment-index and --execution-segment exclude each other",
                          kExitOther};
      }
      if (!points) {
        throw ConfigError{"--execution-segment-index needs a valid --execution-segment-sequence" +
                              (err.empty() ? std::string() : ": " + err),
                          kExitOther};
      }
      int64_t n = static_cast<int64_t>(points->size()) - 1;
      if (*cli.segment_index < 0 || *cli.segment_index >= n) {
        throw ConfigError{"--execution-segment-index " + std::to_string(*cli.segment_index) +
                              " is not a segment of the sequence (0 to " + std::to_string(n - 1) +
                              ")",
                          kExitOther};
      }
      auto i = static_cast<size_t>(*cli.segment_index);
      cli.segment = (*points)[i].rat() + ":" + (*points)[i + 1].rat();
    }
    {
      std::string err;
      auto parsed = fl::ExecutionSegment::parse(
          cli.segment.value_or(options.execution_segment.value_or("")),
          cli.segment_sequence.value_or(options.execution_segment_sequence.value_or("")), err);
      if (!parsed) throw ConfigError{err};
      segment = *parsed;
      segmented = cli.segment || cli.segment_sequence || options.execution_segment ||
                  options.execution_segment_sequence;
    }
    if (!segment.whole()) {
      std::vector<fl::Scenario> mine;
      for (const auto& s : scenarios) {
        fl::Scenario part = segment.apply(s);
        // A scenario with no share here does not run here (§10.3).
        if (!fl::runs_nothing(part)) mine.push_back(std::move(part));
      }
      scenarios = std::move(mine);
    }

    // --- metrics and thresholds (§4) ---
    for (const auto& m : script.metrics) {
      registry->add_metric({m.name, m.type, m.is_time, m.is_data});
    }
    const bool keep_declared = !cli.no_thresholds || segmented;
    if (options.thresholds && keep_declared) declared = *options.thresholds;
    for (const auto& flag : cli.thresholds) {
      std::string key, expr, err;
      if (!fl::split_threshold_flag(flag, key, expr)) {
        throw ConfigError{"threshold \"" + flag + "\" must read 'metric: expression'"};
      }
      auto t = fl::parse_threshold(expr, err);
      if (!t) throw ConfigError{err};
      if (keep_declared) declared[key].push_back(*t);
    }
    if (!cli.no_thresholds) thresholds = declared;
    for (const auto& [key, list] : declared) {
      std::string name;
      fl::Tags tags;
      if (!fl::parse_metric_key(key, name, tags)) {
        throw ConfigError{
            "unable to validate threshold expressions; reason: parsing metric name failed, "
            "metric \"" +
            key + "\" tag expression is malformed"};
      }
      int id = registry->find(name);
      if (id < 0) {
        throw ConfigError{"invalid threshold defined on " + key + "; reason: no metric name \"" +
                          key + "\" found"};
      }
      for (const auto& t : list) {
        std::string err;
        if (!fl::aggregation_allowed(t, registry->metrics()[id].type, name, err)) {
          throw ConfigError{err};
        }
      }
      if (!tags.empty()) {
        registry->add_submetric(key, static_cast<uint32_t>(id),
                                key.substr(key.find('{') + 1, key.size() - key.find('{') - 2),
                                tags);
      }
    }
    registry->add_submetric("http_req_duration{expected_response:true}", fl::kHttpReqDuration,
                            "expected_response:true", {{"expected_response", "true"}});
    // The full summary reports each named scenario from its own samples: one hidden
    // {scenario:NAME} sub-metric per metric and scenario.
    if (summary_options.mode == "full") {
      const size_t count = registry->metrics().size();
      for (const auto& s : scenarios) {
        if (s.name == "default") continue;
        for (uint32_t m = 0; m < count; ++m) {
          if (m == fl::kVus || m == fl::kVusMax) continue;
          registry->add_submetric(registry->metrics()[m].name + "{scenario:" + s.name + "}", m,
                                  "scenario:" + s.name, {{"scenario", s.name}}, true);
        }
      }
    }

    // --- compile the flows: env substitution, addresses, request bytes, tags ---
    fl::Tags run_tags;
    if (options.tags) {
      for (const auto& [k, v] : *options.tags) run_tags.emplace_back(k, v);
    }
    std::string user_agent = options.user_agent.value_or("faultline-loadgen/" FAULTLINE_VERSION);
    auto request_timeout = fl::parse_go_duration(cli.timeout);
    if (!request_timeout || request_timeout->count() <= 0) {
      throw ConfigError{"invalid request timeout \"" + cli.timeout + "\"", kExitOther};
    }
    std::map<std::string, uint32_t> check_ids;
    // `scenario` names the scenario whose flow this is (null for setup).
    auto compile = [&](const std::vector<fl::Step>& steps,
                       const std::map<std::string, std::string>& e, const fl::Tags& base,
                       const fl::Scenario* scenario) {
      std::vector<fl::CompiledStep> out;
      for (const auto& step : steps) {
        fl::CompiledStep cs;
        cs.is_sleep = step.is_sleep;
        cs.sleep_min = step.sleep_min;
        cs.sleep_max = step.sleep_max;
        if (step.is_ws) {
          // A WebSocket session: the handshake's parts, its messages and sample tags.
          std::string url = fl::substitute_env(step.url, e);
          fl::Url u;
          std::string error;
          if (!fl::parse_url(url, u, error) || (u.scheme != "ws" && u.scheme != "wss")) {
            throw ConfigError{"invalid WebSocket URL (ws:// or wss://): " + url};
          }
          auto& ws = cs.ws;
          cs.is_ws = true;
          if (!fl::resolve_target(u.host, u.port, ws.open.target)) {
            throw ConfigError{"lookup " + u.host + ": no such host"};
          }
          ws.open.target.tls = u.scheme == "wss";
          if (ws.open.target.tls) ws.open.target.server_name = u.host;
          ws.open.host = fl::host_header(u);
          ws.open.target_path = u.target;
          ws.open.dial_text =
              (u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host) + ":" + u.port;
          bool agent = false;
          for (const auto& [k, v] : step.headers) {
            agent = agent || strcasecmp(k.c_str(), "User-Agent") == 0;
            ws.open.headers.emplace_back(k, fl::substitute_env(v, e));
          }
          if (!agent) ws.open.headers.emplace_back("User-Agent", user_agent);
          ws.open.timeout = step.timeout.value_or(*request_timeout);
          for (const auto& m : step.ws_send) ws.messages.push_back(fl::substitute_env(m, e));
          ws.expect = static_cast<size_t>(step.ws_expect);
          ws.tags = base;
          for (const auto& [k, v] : step.tags) ws.tags.emplace_back(k, v);
          ws.tags.emplace_back("url", step.name.empty() ? url : step.name);
          ws.tags.emplace_back("name", step.name.empty() ? url : step.name);
          cs.request.timeout = ws.open.timeout;
          cs.request.tags = tag_sets->intern(ws.tags);
        }
        if (!step.is_sleep && !step.is_ws) {
          auto& rq = cs.request;
          std::string url = fl::substitute_env(step.url, e);
          fl::Url u = parse_url(url);
          if (!fl::resolve_target(u.host, u.port, rq.target)) {
            throw ConfigError{"lookup " + u.host + ": no such host"};
          }
          rq.target.tls = u.scheme == "https";
          if (rq.target.tls) rq.target.server_name = u.host;
          std::string body = fl::substitute_env(step.body, e);
          rq.bytes = step.method + " " + u.target + " HTTP/1.1\r\nHost: " + fl::host_header(u) +
                     "\r\nUser-Agent: " + user_agent + "\r\n";
          for (const auto& [k, v] : step.headers) {
            rq.bytes += k + ": " + fl::substitute_env(v, e) + "\r\n";
          }
          if (!body.empty() || step.method == "POST" || step.method == "PUT" ||
              step.method == "PATCH") {
            rq.bytes += "Content-Length: " + std::to_string(body.size()) + "\r\n";
          }
          rq.bytes += "\r\n" + body;
          rq.head = step.method == "HEAD";
          rq.timeout = step.timeout.value_or(*request_timeout);
          fl::Tags request_tags = base;
          for (const auto& [k, v] : step.tags) request_tags.emplace_back(k, v);
          request_tags.emplace_back("method", step.method);
          request_tags.emplace_back("url", step.name.empty() ? url : step.name);
          request_tags.emplace_back("name", step.name.empty() ? url : step.name);
          rq.tags = tag_sets->intern(request_tags);
        }
        if (!step.is_sleep) {
          auto& rq = cs.request;
          fl::Tags sample_tags = base;
          for (const auto& [k, v] : step.tags) sample_tags.emplace_back(k, v);
          for (const auto& c : step.checks) {
            fl::CompiledCheck cc;
            cc.spec = c;
            auto [it, added] = check_ids.emplace(c.name, static_cast<uint32_t>(check_names.size()));
            if (added) {
              check_names.push_back(c.name);
              check_scopes.emplace_back();
            }
            cc.id = it->second;
            if (summary_options.mode == "full" && scenario && scenario->name != "default") {
              // The same check counted once more for the scenario's own section.
              std::string key = scenario->name + "\n" + c.name;
              auto [own, fresh] = check_ids.emplace(key, static_cast<uint32_t>(check_names.size()));
              if (fresh) {
                check_names.push_back(c.name);
                check_scopes.push_back(scenario->name);
              }
              cc.scenario_id = own->second;
            }
            fl::Tags ct = base;
            ct.emplace_back("check", c.name);
            cc.tags = tag_sets->intern(ct);
            rq.need_body = rq.need_body || c.kind == fl::CheckSpec::Kind::kBodyContains;
            rq.need_headers = rq.need_headers || c.kind == fl::CheckSpec::Kind::kHeader;
            rq.checks.push_back(std::move(cc));
          }
          for (const auto& r : step.records) {
            fl::CompiledRecord cr;
            cr.spec = r;
            int id = registry->find(r.metric);
            if (id < 0) throw ConfigError{"record: metric \"" + r.metric + "\" is not declared"};
            cr.metric = static_cast<uint32_t>(id);
            cr.tags = tag_sets->intern(sample_tags);
            rq.records.push_back(std::move(cr));
          }
        }
        out.push_back(std::move(cs));
      }
      return out;
    };
    for (const auto& s : scenarios) {
      fl::CompiledScenario sc;
      sc.scenario = s;
      auto e = env;
      for (const auto& [k, v] : s.env) e[k] = v;
      fl::Tags tags = run_tags;
      for (const auto& [k, v] : s.tags) tags.emplace_back(k, v);
      tags.emplace_back("scenario", s.name);
      sc.dropped_tags = tag_sets->intern(tags);  // dropped_iterations carry no group
      tags.emplace_back("group", "");
      sc.tags = tag_sets->intern(tags);
      sc.index = static_cast<uint32_t>(cfg.scenarios.size());
      if (!js_mode) sc.flow = compile(script.flows.at(s.exec), e, tags, &s);
      cfg.scenarios.push_back(std::move(sc));
    }
    if (!script.setup.empty()) {
      fl::Tags setup_tags = run_tags;
      setup_tags.emplace_back("group", "::setup");
      cfg.setup = compile(script.setup, env, setup_tags, nullptr);
    }
    cfg.run_tags = tag_sets->intern(run_tags);
    cfg.check_count = check_names.size();
    cfg.rps = options.rps.value_or(0);
    if (js_mode) {
      fl::js::ScriptContext& sc = js_script->context();
      sc.registry = registry;
      sc.tag_sets = tag_sets;
      sc.run_tags = run_tags;
      sc.scenarios = scenarios;
      sc.user_agent = user_agent;
      sc.request_timeout = *request_timeout;
      sc.no_cookies_reset = options.no_cookies_reset.value_or(false);
      sc.throw_errors = options.throw_errors.value_or(false);
      sc.test_options_json = fl::options_to_json(options, all_scenarios);
      cfg.script = js_script.get();
      cfg.group_sections = summary_options.mode == "full";
    }
    if (inspect) {
      std::printf("%s\n",
                  faultline::json::pretty(fl::options_to_json(options, all_scenarios)).c_str());
      return 0;
    }
  } catch (const ConfigError& e) {
    fl::log_line("error", e.message);
    return e.code;
  }

  cfg.registry = registry;
  cfg.plan = fl::summarize(scenarios);
  cfg.threads = cli.threads;
  // Outputs start before the run (k6 §6.2: the header lists them).
  std::vector<std::string> outputs;
  std::unique_ptr<fl::PrometheusOutput> prometheus;
  if (!prometheus_address.empty()) {
    std::vector<std::string> stats{"p(99)"};
    if (const char* env = env_or_null("K6_PROMETHEUS_RW_TREND_STATS")) {
      std::string err;
      if (!fl::parse_prometheus_trend_stats(env, stats, err)) {
        fl::log_line("error", err);
        return kExitOther;
      }
    }
    try {
      prometheus =
          std::make_unique<fl::PrometheusOutput>(prometheus_address, registry, cfg.series, stats);
    } catch (const std::exception& e) {
      fl::log_line("error", "could not start the prometheus output on " + prometheus_address +
                                ": " + e.what());
      return kExitOther;
    }
    outputs.push_back(prometheus->description());
  }
  std::unique_ptr<fl::PrometheusRemoteWrite> remote;
  if (remote_write) {
    remote =
        std::make_unique<fl::PrometheusRemoteWrite>(remote_write_settings, registry, cfg.series);
    outputs.push_back(remote->description());
  }
  if (prometheus || remote) {
    cfg.on_snapshot = [&prometheus, &remote](const fl::Recorder& rec, double) {
      if (prometheus) prometheus->update(rec);
      if (remote) remote->update(rec);
    };
  }
  std::unique_ptr<fl::JsonFile> json_out;
  if (!json_path.empty()) {
    try {
      json_out = std::make_unique<fl::JsonFile>(json_path, *registry, thresholds);
    } catch (const std::exception& e) {
      fl::log_line("error", std::string("could not start the json output: ") + e.what());
      return kExitOther;
    }
    outputs.insert(outputs.begin(), json_out->description());
    cfg.outputs.push_back(json_out.get());
  }
  std::unique_ptr<fl::CsvFile> csv_out;
  if (csv_config) {
    try {
      csv_out = std::make_unique<fl::CsvFile>(*csv_config, *registry);
    } catch (const std::exception& e) {
      fl::log_line("error", std::string("could not create the 'csv' output: ") + e.what());
      return kExitOther;
    }
    outputs.push_back(csv_out->description());
    cfg.outputs.push_back(csv_out.get());
  }
  std::unique_ptr<fl::FaultTimeline> timeline;
  if (!cli.fault_timeline.empty()) {
    timeline = std::make_unique<fl::FaultTimeline>(cli.fault_timeline, *registry);
    std::string err;
    if (!timeline->start(err)) {
      fl::log_line("error", "could not read the fault timeline: " + err);
      return kExitOther;
    }
    outputs.push_back("fault timeline (" + timeline->url() + ")");
    cfg.outputs.push_back(timeline.get());
  }
  const bool tty = summary_options.stdout_tty;
  if (!cli.quiet) {
    std::fputs(("\n  loadgen (Faultline " FAULTLINE_VERSION ")\n" +
                fl::run_header(script_name, outputs, scenarios, cfg.plan, segment.percent()))
                   .c_str(),
               stdout);
    std::fflush(stdout);
    cfg.progress_interval = tty ? std::chrono::milliseconds(100) : std::chrono::seconds(1);
    size_t drawn = 0;
    cfg.on_progress = [&, drawn](const fl::Progress& p) mutable {
      std::string block = fl::progress_block(p, scenarios, cfg.plan, tty);
      if (tty && drawn > 0) {
        // Redraw in place: up over the previous block, erasing each line.
        std::string up;
        for (size_t i = 0; i < drawn; ++i) up += "\x1b[1A\x1b[2K";
        block = up + block;
      }
      drawn = static_cast<size_t>(std::count(block.begin(), block.end(), '\n'));
      std::fputs(block.c_str(), stdout);
      std::fflush(stdout);
    };
  }
  // abortOnFail thresholds are evaluated every 2 s on the data so far (§4.6).
  bool any_abort = false;
  for (const auto& [key, list] : thresholds) {
    for (const auto& t : list) any_abort = any_abort || t.abort_on_fail;
  }
  std::vector<std::string> abort_keys;
  if (any_abort) {
    cfg.should_abort = [&](const fl::Recorder& rec, double elapsed) {
      auto values = fl::observed_values(*registry, rec, {});
      auto results = fl::evaluate(thresholds, values, elapsed);
      abort_keys.clear();
      for (const auto& r : results) {
        bool delay_over = r.threshold.delay_abort_eval_ns < 0 ||
                          elapsed * 1e9 > static_cast<double>(r.threshold.delay_abort_eval_ns);
        if (!r.ok && r.threshold.abort_on_fail && delay_over &&
            (abort_keys.empty() || abort_keys.back() != r.metric)) {
          abort_keys.push_back(r.metric);
        }
      }
      return !abort_keys.empty();
    };
  }

  faultline::Backend backend;
  if (!faultline::parse_backend(cli.backend, backend)) {
    fl::log_line("error", "invalid backend \"" + cli.backend + "\"");
    return kExitOther;
  }
  // For request/response load the epoll backend costs less CPU per request than Asio
  // 1.22's io_uring backend (bench/README.md), so `auto` means epoll here.
  if (backend == faultline::Backend::kAuto) backend = faultline::Backend::kEpoll;
  std::string backend_error;
  if (!faultline::resolve_backend(backend, backend, backend_error)) {
    fl::log_line("error", backend_error);
    return kExitOther;
  }
  if (js_script) {
    // k6 initialises every VU of the plan before setup() (k6-js-api §1.1).
    auto ready = js_script->init_vus(cfg.plan.max_vus);
    if (!ready.ok) {
      fl::log_line("error", ready.message, fl::log_field("hint", "script exception"));
      return ready.exit_code;
    }
  }

  fl::RunResult result = backend == faultline::Backend::kIoUring ? faultline::uring::run_load(cfg)
                                                                 : faultline::epoll::run_load(cfg);
  // The run is over; a signal while the summary, its files or handleSummary are written
  // ends the process at once with k6's code for an interrupted run.
  struct sigaction on_signal {};
  on_signal.sa_handler = [](int) { std::_Exit(kExitSignal); };
  sigaction(SIGINT, &on_signal, nullptr);
  sigaction(SIGTERM, &on_signal, nullptr);
  if (json_out) json_out->finish();
  if (csv_out) csv_out->finish();
  if (remote && result.metrics) remote->finish(*result.metrics);
  // A scenario file's failed setup ends the run here; a script's still gets its summary
  // (k6-js-api §1.3).
  if (!result.setup_error.empty() && !js_script) {
    fl::log_line("error", "setup failed: " + result.setup_error);
    return kExitSetup;
  }

  std::vector<std::string> thresholded;
  for (const auto& [key, list] : declared) thresholded.push_back(key);
  auto metrics = fl::observed_values(*registry, *result.metrics, thresholded);
  if (timeline) timeline->finish();
  fl::SummaryInput summary;
  if (timeline) summary.extra_data.emplace_back("faultline_fault_windows", timeline->json());
  summary.metrics = &metrics;
  summary.thresholds = fl::evaluate(thresholds, metrics, result.elapsed_s);
  summary.elapsed_s = result.elapsed_s;
  summary.options = summary_options;
  if (js_script) {
    auto entries = js_script->context().checks.entries();
    for (size_t i = 0; i < entries.size() && i < result.metrics->checks.size(); ++i) {
      summary.checks.push_back({entries[i].name, result.metrics->checks[i].first,
                                result.metrics->checks[i].second, entries[i].group});
    }
    summary.groups = js_script->context().checks.groups();
    if (summary_options.mode == "full") {
      for (const auto& path : summary.groups) {
        if (path == "::setup" || path.rfind("::setup::", 0) == 0 || path == "::teardown" ||
            path.rfind("::teardown::", 0) == 0) {
          continue;
        }
        fl::GroupSection section;
        section.path = path;
        section.metrics = fl::group_values(*registry, *result.metrics, path);
        for (const auto& c : summary.checks) {
          if (c.group == path) section.checks.push_back(c);
        }
        summary.group_sections.push_back(std::move(section));
      }
    }
  }
  for (size_t i = 0; i < result.metrics->checks.size() && !js_script; ++i) {
    if (check_scopes[i].empty()) {
      summary.checks.push_back(
          {check_names[i], result.metrics->checks[i].first, result.metrics->checks[i].second});
    }
  }
  if (summary_options.mode == "full") {
    for (const auto& s : scenarios) {
      if (s.name == "default") continue;
      fl::ScenarioSection section;
      section.name = s.name;
      section.metrics = fl::scenario_values(*registry, *result.metrics, s.name);
      // Scenario files count their checks per scenario too (check_scopes); a script's
      // checks are counted per group only.
      for (size_t i = 0; i < result.metrics->checks.size() && i < check_scopes.size(); ++i) {
        if (check_scopes[i] == s.name) {
          section.checks.push_back(
              {check_names[i], result.metrics->checks[i].first, result.metrics->checks[i].second});
        }
      }
      summary.scenarios.push_back(std::move(section));
    }
  }
  if (result.completed == 0) {
    fl::log_line("warning",
                 "No script iterations fully finished, consider making the test duration longer");
  }
  if (summary_options.mode != "disabled") {
    // handleSummary's outputs replace the default summary (k6-js-api §1.5).
    bool handled = js_script && js_script->has_handle_summary() &&
                   js_script->handle_summary(fl::summary_data(summary));
    if (!handled) std::fputs(fl::console_summary(summary).c_str(), stdout);
    if (timeline) std::fputs(timeline->table().c_str(), stdout);
    std::fflush(stdout);
    auto write = [](const std::string& path, const std::string& text) {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << text;
      if (!out) fl::log_line("error", "could not write " + path);
    };
    // A segment of a distributed test also writes what `loadgen merge` needs (not given to
    // handleSummary, whose data stays k6's).
    if (segmented) summary.merge_state = fl::merge_state(summary, declared);
    if (!cli.summary_export.empty()) write(cli.summary_export, fl::summary_export(summary));
    if (!cli.summary_data.empty()) write(cli.summary_data, fl::summary_data(summary));
  }
  if (!cli.quiet) {
    // The last block comes after the summary, as k6 prints it.
    std::fputs(fl::progress_block(result.final_progress, scenarios, cfg.plan, tty).c_str(), stdout);
    std::fflush(stdout);
  }
  if (js_script && js_script->abort_requested()) {
    fl::log_line("error", js_script->context().abort_reason);
    return 108;
  }
  if (result.script_exit_code != 0 && result.signal == 0) return result.script_exit_code;
  if (result.signal != 0) {
    fl::log_line("error", std::string("test run was aborted because loadgen received a '") +
                              (result.signal == SIGINT ? "interrupt" : "terminated") + "' signal");
    return kExitSignal;
  }
  if (result.aborted_by_threshold) {
    fl::log_line("error", "thresholds on metrics '" + join(abort_keys, ", ") +
                              "' were crossed; at least one has abortOnFail enabled, stopping "
                              "test prematurely");
    return kExitThresholds;
  }
  std::vector<std::string> crossed;
  for (const auto& r : summary.thresholds) {
    if (!r.ok && std::find(crossed.begin(), crossed.end(), r.metric) == crossed.end()) {
      crossed.push_back(r.metric);
    }
  }
  if (!crossed.empty()) {
    std::sort(crossed.begin(), crossed.end());
    fl::log_line("error", "thresholds on metrics '" + join(crossed, ", ") + "' have been crossed");
    return kExitThresholds;
  }
  if (js_script && js_script->context().marked_failed) return kExitMarkedFailed;
  return 0;
}
