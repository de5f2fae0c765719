#include "loadgen/report/output_file.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace faultline::loadgen {

bool gzip_path(const std::string& path) {
  return path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
}

OutputFile::OutputFile(const std::string& path) : path_(path) {
  if (path.empty() || path == "-") {
    file_ = stdout;
    return;
  }
  if (gzip_path(path)) {
    gz_ = gzopen(path.c_str(), "wb");
    if (!gz_) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
    // Samples arrive in batches: a larger buffer means fewer, better-filled deflate calls.
    gzbuffer(gz_, 256 * 1024);
    return;
  }
  file_ = std::fopen(path.c_str(), "w");
  if (!file_) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
}

OutputFile::~OutputFile() {
  close();
}

void OutputFile::write(std::string_view text) {
  if (text.empty()) return;
  if (gz_) {
    gzwrite(gz_, text.data(), static_cast<unsigned>(text.size()));
  } else if (file_) {
    std::fwrite(text.data(), 1, text.size(), file_);
  }
}

void OutputFile::flush() {
  if (gz_) {
    gzflush(gz_, Z_SYNC_FLUSH);
  } else if (file_) {
    std::fflush(file_);
  }
}

void OutputFile::close() {
  if (gz_) {
    gzclose(gz_);
    gz_ = nullptr;
  } else if (file_ && file_ != stdout) {
    std::fclose(file_);
    file_ = nullptr;
  } else if (file_) {
    std::fflush(file_);
    file_ = nullptr;
  }
}

}  // namespace faultline::loadgen
