#include "common/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <prometheus/text_serializer.h>

namespace faultline::metrics {
namespace {

prometheus::MetricFamily gauge_family(const std::string& name, const std::string& help,
                                      prometheus::MetricType type, double value) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(m);
  return f;
}

double boot_time_seconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double v = 0;
      in >> v;
      return v;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    using prometheus::MetricType;
    std::vector<prometheus::MetricFamily> out;
    long ticks = sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);
    std::ifstream stat("/proc/self/stat");
    std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    // Fields after the command name (which is in parentheses and may hold spaces).
    auto rparen = content.rfind(')');
    if (rparen != std::string::npos && ticks > 0) {
      std::istringstream fields(content.substr(rparen + 2));
      std::vector<std::string> f;
      std::string tok;
      while (fields >> tok) f.push_back(tok);
      // f[0] is field 3 (state); utime=14, stime=15, starttime=22, vsize=23, rss=24.
      if (f.size() > 21) {
        double utime = std::stod(f[11]), stime = std::stod(f[12]);
        double start = std::stod(f[19]) / static_cast<double>(ticks);
        out.push_back(gauge_family("process_cpu_seconds_total",
                                   "Total user and system CPU time spent in seconds.",
                                   MetricType::Counter, (utime + stime) / ticks));
        out.push_back(gauge_family("process_resident_memory_bytes",
                                   "Resident memory size in bytes.", MetricType::Gauge,
                                   std::stod(f[21]) * page));
        out.push_back(gauge_family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                                   MetricType::Gauge, std::stod(f[20])));
        out.push_back(gauge_family("process_start_time_seconds",
                                   "Start time of the process since unix epoch in seconds.",
                                   MetricType::Gauge, boot_time_seconds() + start));
      }
    }
    int fds = 0;
    if (DIR* d = opendir("/proc/self/fd")) {
      while (dirent* e = readdir(d)) {
        if (e->d_name[0] != '.') ++fds;
      }
      closedir(d);
      --fds;  // the directory handle itself
    }
    out.push_back(gauge_family("process_open_fds", "Number of open file descriptors.",
                               MetricType::Gauge, fds));
    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    out.push_back(gauge_family("process_max_fds", "Maximum number of open file descriptors.",
                               MetricType::Gauge, static_cast<double>(rl.rlim_cur)));
    return out;
  }
};

}  // namespace

std::shared_ptr<prometheus::Collectable> make_process_collector() {
  return std::make_shared<ProcessCollector>();
}

std::string render(const std::vector<std::shared_ptr<prometheus::Collectable>>& sources) {
  std::vector<prometheus::MetricFamily> all;
  for (const auto& s : sources) {
    auto fams = s->Collect();
    all.insert(all.end(), std::make_move_iterator(fams.begin()),
               std::make_move_iterator(fams.end()));
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::ostringstream out;
  prometheus::TextSerializer serializer;
  for (const auto& family : all) {
    // Go's client writes a HELP line even when the help is empty ("# HELP name "), as
    // Toxiproxy's two byte counters show; prometheus-cpp leaves it out.
    if (family.help.empty()) out << "# HELP " << family.name << " \n";
    serializer.Serialize(out, std::vector<prometheus::MetricFamily>{family});
  }
  return out.str();
}

}  // namespace faultline::metrics
