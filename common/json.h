// JSON for the admin API: read request bodies with the rules of Go's encoding/json
// (Toxiproxy's decoder) and write responses byte-for-byte as Go's encoder does.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>

namespace faultline::json {

// Finds the first JSON value in `body` the way Go's json.Decoder reads a stream: leading
// whitespace is skipped, trailing bytes after the value are ignored. On success returns
// the value's text; on failure returns nullopt and sets `error` to Go's message
// ("EOF", "unexpected EOF", "invalid character 'b' looking for beginning of ...").
std::optional<std::string_view> first_value(std::string_view body, std::string& error);

// Replaces invalid UTF-8 sequences by U+FFFD, as Go does when decoding strings.
std::string sanitize_utf8(std::string_view text);

// Holds one parsed value for simdjson's on-demand API.
class Document {
 public:
  // Parses the first value of `body`; returns false with Go's syntax error in `error`.
  bool parse(std::string_view body, std::string& error);
  simdjson::ondemand::value root() { return root_; }
  // True when the body was JSON `null` (Go then leaves the target untouched).
  bool is_null() { return root_.is_null(); }

 private:
  simdjson::padded_string text_;
  simdjson::ondemand::parser parser_;
  simdjson::ondemand::document doc_;
  simdjson::ondemand::value root_;
};

// Go's names for JSON kinds in type errors: string, number, bool, array, object, null.
std::string_view kind_name(simdjson::ondemand::value& v);

// Case-insensitive key match (Go's fallback after an exact match fails).
bool key_is(std::string_view key, std::string_view field);

// Collects the first type error while a struct is decoded, like Go's decodeState.
class TypeErrors {
 public:
  // "json: cannot unmarshal <kind> into Go struct field <s>.<path> of type <t>"
  void field(std::string_view kind, std::string_view struct_name, std::string_view path,
             std::string_view go_type);
  // "json: cannot unmarshal <kind> into Go value of type <t>"
  void value(std::string_view kind, std::string_view go_type);
  bool any() const { return !first_.empty(); }
  const std::string& message() const { return first_; }

 private:
  std::string first_;
};

// Field readers. Each leaves `out` unchanged on null or on a type mismatch (recording the
// error), exactly as Go does, and returns true when it assigned a value.
struct FieldContext {
  TypeErrors& errors;
  std::string_view struct_name;
  std::string_view path;
};
bool read_string(simdjson::ondemand::value v, const FieldContext& f, std::string& out);
bool read_bool(simdjson::ondemand::value v, const FieldContext& f, bool& out);
// go_type is "int64" or "int" (both 64-bit here); non-integers and overflows give
// "number <literal>".
bool read_int64(simdjson::ondemand::value v, const FieldContext& f, std::string_view go_type,
                int64_t& out);
bool read_float32(simdjson::ondemand::value v, const FieldContext& f, float& out);

// Writes compact JSON with Go's escaping and number formatting.
class Writer {
 public:
  Writer& begin_object();
  Writer& end_object();
  Writer& begin_array();
  Writer& end_array();
  Writer& key(std::string_view k);
  Writer& string(std::string_view s);
  Writer& boolean(bool b);
  Writer& integer(int64_t n);
  Writer& float32(float f);
  Writer& null();
  Writer& raw(std::string_view json);
  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void separator();
  std::string out_;
  bool need_comma_ = false;
};

// Go's string escaping (<, >, & as \u003c..., invalid UTF-8 as \ufffd), with quotes.
// With html_safe false, <, > and & are written as they are.
void append_quoted(std::string& out, std::string_view s, bool html_safe = true);
// `compact` JSON re-indented with two spaces per level, one member or element a line (as
// Go's json.MarshalIndent writes it). The input must be valid JSON.
std::string pretty(std::string_view compact);

// Shortest float32 text as Go's encoding/json prints it (1, 0.5, 0.33333334, 1e-7).
std::string format_float32(float f);
// A number's significant `digits` laid out without an exponent, the decimal point `point`
// places from their start (Go's %f with the shortest digits): ("15", 1) -> "1.5",
// ("15", 4) -> "1500", ("15", -1) -> "0.015".
std::string fixed_decimal(bool negative, std::string_view digits, int point);

}  // namespace faultline::json
