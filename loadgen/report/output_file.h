// Where a sample output's text goes: standard output, a file, or a gzip-compressed file
// when the name ends in ".gz" (k6 compresses --out json and --out csv by that suffix).
#pragma once

#include <zlib.h>

#include <cstdio>
#include <string>
#include <string_view>

namespace faultline::loadgen {

class OutputFile {
 public:
  // "" or "-" is standard output. Throws std::runtime_error when the file cannot be made.
  explicit OutputFile(const std::string& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  void write(std::string_view text);
  // Hands what was written to the file system; in a gzip file, a point up to which a reader
  // can decompress (zcat on a file still being written).
  void flush();
  // Finishes the file (the gzip trailer). Later writes are dropped.
  void close();

  bool to_stdout() const { return file_ == stdout; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  gzFile gz_ = nullptr;
};

// True when `path` names a gzip-compressed output.
bool gzip_path(const std::string& path);

}  // namespace faultline::loadgen
