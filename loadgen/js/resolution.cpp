#include "loadgen/js/resolution.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "loadgen/js/modules.h"

namespace faultline::loadgen::js {

namespace {

std::string normalise(const std::string& path) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(pos, end - pos);
    pos = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string url_to_path(const std::string& url) {
  std::string rest = url.rfind("file://", 0) == 0 ? url.substr(7) : url;
  std::string out;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '%' && i + 2 < rest.size() && hex(rest[i + 1]) >= 0 && hex(rest[i + 2]) >= 0) {
      out += static_cast<char>(hex(rest[i + 1]) * 16 + hex(rest[i + 2]));
      i += 2;
    } else {
      out += rest[i];
    }
  }
  return out;
}

std::string path_to_url(const std::string& path) {
  static const char* digits = "0123456789ABCDEF";
  std::string out = "file://";
  for (unsigned char c : path) {
    if (std::isalnum(c) || std::strchr("/-._~!$&'()*+,;=:@", c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

std::string absolute_path(const std::string& path) {
  if (!path.empty() && path[0] == '/') return normalise(path);
  char cwd[4096];
  std::string base = getcwd(cwd, sizeof cwd) ? cwd : "/";
  return normalise(base + "/" + path);
}

std::string url_directory(const std::string& url) {
  size_t slash = url.rfind('/');
  return slash == std::string::npos ? url : url.substr(0, slash + 1);
}

std::optional<std::string> read_whole_file(const std::string& path, std::string& error) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    error = "open " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  if (S_ISDIR(st.st_mode)) {
    error = "read " + path + ": is a directory";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "open " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool resolve_specifier(const std::string& spec, const std::string& referrer, std::string& key,
                       std::string& error) {
  if (spec.empty()) {
    error = "The moduleSpecifier \"\" couldn't be recognised as something k6 supports.";
    return false;
  }
  if (spec == "k6" || spec.rfind("k6/", 0) == 0) {
    if (!find_builtin(spec)) {
      error = "unknown modules [\"" + spec +
              "\"] were tried to be loaded, but couldn't - this likely means automatic "
              "extension resolution is required or a custom k6 binary with the required "
              "extensions";
      if (is_k6_name(spec)) {
        error += " (loadgen does not provide " + spec +
                 "; its modules are k6, k6/http, k6/metrics, k6/execution, k6/data, "
                 "k6/encoding, k6/crypto and k6/timers)";
      }
      return false;
    }
    key = spec;
    return true;
  }
  size_t scheme_end = spec.find("://");
  if (scheme_end != std::string::npos) {
    std::string scheme = spec.substr(0, scheme_end);
    if (scheme == "file") {
      key = path_to_url(normalise(url_to_path(spec)));
      return true;
    }
    if (scheme == "https") {
      error = "The moduleSpecifier \"" + spec +
              "\" couldn't be retrieved from the resolved url \"" + spec +
              "\". Error : \"loadgen does not download modules while it loads a test; save "
              "the file next to the script and import it by a relative path (for example "
              "'./vendor/" +
              spec.substr(spec.rfind('/') + 1) + "')\"";
      return false;
    }
    error =
        "only supported schemes for imports are file and https, " + spec + " has `" + scheme + "`";
    return false;
  }
  if (spec.rfind("cdnjs.com", 0) == 0 || spec.rfind("github.com", 0) == 0) {
    error = "The moduleSpecifier \"" + spec +
            "\" is a shortcut URL k6 no longer supports; save the file next to the script and "
            "import it by a relative path";
    return false;
  }
  if (spec[0] == '/') {
    key = path_to_url(normalise(spec));
    return true;
  }
  if (spec[0] == '.') {
    if (referrer.rfind("file://", 0) != 0) {
      error = "The moduleSpecifier \"" + spec + "\" couldn't be resolved from " + referrer;
      return false;
    }
    key = path_to_url(normalise(url_to_path(url_directory(referrer)) + "/" + spec));
    return true;
  }
  error = "The moduleSpecifier \"" + spec + "\" couldn't be recognised as something k6 supports.";
  return false;
}

}  // namespace faultline::loadgen::js
