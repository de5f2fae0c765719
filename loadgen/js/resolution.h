// k6's module specifier resolution (k6-js-api §2.3) and the file helpers around it. Pure
// functions, so they are unit-tested on their own.
#pragma once

#include <optional>
#include <string>

namespace faultline::loadgen::js {

// Resolves `specifier` imported by the module at `referrer` (a file:// URL, or a built-in
// module name). On success `key` is a built-in module name ("k6/http") or a file URL
// ("file:///abs/dir/config.js"); otherwise `error` has k6's message.
bool resolve_specifier(const std::string& specifier, const std::string& referrer, std::string& key,
                       std::string& error);

// "file:///a/b.js" -> "/a/b.js" (percent-escapes decoded).
std::string url_to_path(const std::string& url);
// "/a/b c.js" -> "file:///a/b%20c.js".
std::string path_to_url(const std::string& path);
// `path` made absolute against the working directory and normalised (no . or ..).
std::string absolute_path(const std::string& path);
// The directory part of a file URL, with its trailing slash.
std::string url_directory(const std::string& url);
// The whole content of a file; nullopt with `error` set to a Go-like message.
std::optional<std::string> read_whole_file(const std::string& path, std::string& error);

}  // namespace faultline::loadgen::js
