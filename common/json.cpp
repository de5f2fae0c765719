#include "common/json.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace faultline::json {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Go's quoteChar: how a byte is shown inside "invalid character ... " messages.
std::string quote_char(unsigned char c) {
  if (c == '\'') return "'\\''";
  if (c == '"') return "'\"'";
  std::string s = "'";
  switch (c) {
    case '\a':
      s += "\\a";
      break;
    case '\b':
      s += "\\b";
      break;
    case '\f':
      s += "\\f";
      break;
    case '\n':
      s += "\\n";
      break;
    case '\r':
      s += "\\r";
      break;
    case '\t':
      s += "\\t";
      break;
    case '\v':
      s += "\\v";
      break;
    case '\\':
      s += "\\\\";
      break;
    default:
      if (c < 0x20 || c == 0x7f) {
        static const char* hex = "0123456789abcdef";
        s += "\\x";
        s += hex[c >> 4];
        s += hex[c & 15];
      } else if (c < 0x80) {
        s += static_cast<char>(c);
      } else if (c < 0xa0) {
        // Go formats the byte as the rune U+0080..U+009F, which is not printable.
        static const char* hex = "0123456789abcdef";
        s += "\\u00";
        s += hex[c >> 4];
        s += hex[c & 15];
      } else {
        s += static_cast<char>(0xc0 | (c >> 6));
        s += static_cast<char>(0x80 | (c & 0x3f));
      }
  }
  return s + "'";
}

// A recursive-descent scanner that follows the state machine of Go's encoding/json
// scanner closely enough to produce the same messages for the same input.
class Scanner {
 public:
  explicit Scanner(std::string_view in) : in_(in) {}

  bool value(std::string& err) {
    skip_space();
    if (eof()) return unexpected_eof(err);
    char c = in_[pos_];
    switch (c) {
      case '{':
        return object(err);
      case '[':
        return array(err);
      case '"':
        return string(err);
      case 't':
        return literal("true", err);
      case 'f':
        return literal("false", err);
      case 'n':
        return literal("null", err);
      default:
        if (c == '-' || is_digit(c)) return number(err);
        return invalid(c, "looking for beginning of value", err);
    }
  }

  void skip_space() {
    while (pos_ < in_.size() && is_space(in_[pos_])) ++pos_;
  }
  bool eof() const { return pos_ >= in_.size(); }
  size_t pos() const { return pos_; }

 private:
  bool unexpected_eof(std::string& err) {
    err = "unexpected EOF";
    return false;
  }
  bool invalid(char c, std::string_view context, std::string& err) {
    err = "invalid character " + quote_char(static_cast<unsigned char>(c)) + " ";
    err += context;
    return false;
  }

  // Go's scanner refuses deeper nesting; the limit also bounds our recursion.
  static constexpr int kMaxDepth = 10000;

  bool enter(std::string& err) {
    if (++depth_ > kMaxDepth) return invalid(in_[pos_], "exceeded max depth", err);
    return true;
  }

  bool object(std::string& err) {
    if (!enter(err)) return false;
    ++pos_;  // '{'
    skip_space();
    if (eof()) return unexpected_eof(err);
    if (in_[pos_] == '}') {
      ++pos_;
      --depth_;
      return true;
    }
    for (;;) {
      if (in_[pos_] != '"')
        return invalid(in_[pos_], "looking for beginning of object key string", err);
      if (!string(err)) return false;
      skip_space();
      if (eof()) return unexpected_eof(err);
      if (in_[pos_] != ':') return invalid(in_[pos_], "after object key", err);
      ++pos_;
      if (!value(err)) return false;
      skip_space();
      if (eof()) return unexpected_eof(err);
      if (in_[pos_] == '}') {
        ++pos_;
        --depth_;
        return true;
      }
      if (in_[pos_] != ',') return invalid(in_[pos_], "after object key:value pair", err);
      ++pos_;
      skip_space();
      if (eof()) return unexpected_eof(err);
    }
  }

  bool array(std::string& err) {
    if (!enter(err)) return false;
    ++pos_;  // '['
    skip_space();
    if (eof()) return unexpected_eof(err);
    if (in_[pos_] == ']') {
      ++pos_;
      --depth_;
      return true;
    }
    for (;;) {
      if (!value(err)) return false;
      skip_space();
      if (eof()) return unexpected_eof(err);
      if (in_[pos_] == ']') {
        ++pos_;
        --depth_;
        return true;
      }
      if (in_[pos_] != ',') return invalid(in_[pos_], "after array element", err);
      ++pos_;
    }
  }

  bool string(std::string& err) {
    ++pos_;  // opening quote
    while (!eof()) {
      auto c = static_cast<unsigned char>(in_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c == '\\') {
        ++pos_;
        if (eof()) return unexpected_eof(err);
        char e = in_[pos_];
        if (std::strchr("bfnrt\\/\"", e) != nullptr && e != '\0') {
          ++pos_;
        } else if (e == 'u') {
          ++pos_;
          for (int i = 0; i < 4; ++i, ++pos_) {
            if (eof()) return unexpected_eof(err);
            if (!is_hex(in_[pos_])) {
              return invalid(in_[pos_], "in \\u hexadecimal character escape", err);
            }
          }
        } else {
          return invalid(e, "in string escape code", err);
        }
        continue;
      }
      if (c < 0x20) return invalid(static_cast<char>(c), "in string literal", err);
      ++pos_;
    }
    return unexpected_eof(err);
  }

  bool literal(std::string_view word, std::string& err) {
    for (size_t i = 0; i < word.size(); ++i, ++pos_) {
      if (eof()) return unexpected_eof(err);
      if (in_[pos_] != word[i]) {
        std::string ctx = "in literal ";
        ctx += word;
        ctx += " (expecting '";
        ctx += word[i];
        ctx += "')";
        return invalid(in_[pos_], ctx, err);
      }
    }
    return true;
  }

  // At the end of input a number is complete (the stream ended after it).
  bool number(std::string& err) {
    if (in_[pos_] == '-') {
      ++pos_;
      if (eof()) return unexpected_eof(err);
      if (!is_digit(in_[pos_])) return invalid(in_[pos_], "in numeric literal", err);
    }
    if (in_[pos_] == '0') {
      ++pos_;
    } else {
      while (!eof() && is_digit(in_[pos_])) ++pos_;
    }
    if (!eof() && in_[pos_] == '.') {
      ++pos_;
      if (eof()) return unexpected_eof(err);
      if (!is_digit(in_[pos_]))
        return invalid(in_[pos_], "after decimal point in numeric literal", err);
      while (!eof() && is_digit(in_[pos_])) ++pos_;
    }
    if (!eof() && (in_[pos_] == 'e' || in_[pos_] == 'E')) {
      ++pos_;
      if (!eof() && (in_[pos_] == '+' || in_[pos_] == '-')) ++pos_;
      if (eof()) return unexpected_eof(err);
      if (!is_digit(in_[pos_])) return invalid(in_[pos_], "in exponent of numeric literal", err);
      while (!eof() && is_digit(in_[pos_])) ++pos_;
    }
    return true;
  }

  std::string_view in_;
  size_t pos_ = 0;
  int depth_ = 0;
};

// Decodes one UTF-8 sequence at s[i]; returns its length or 0 when invalid.
size_t utf8_sequence(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
  if (n == 0 || c > 0xf4 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  }
  unsigned char c1 = b(i + 1);
  if (c == 0xe0 && c1 < 0xa0) return 0;  // overlong
  if (c == 0xed && c1 > 0x9f) return 0;  // surrogate
  if (c == 0xf0 && c1 < 0x90) return 0;  // overlong
  if (c == 0xf4 && c1 > 0x8f) return 0;  // above U+10FFFF
  return n;
}

}  // namespace

std::optional<std::string_view> first_value(std::string_view body, std::string& error) {
  Scanner scanner(body);
  scanner.skip_space();
  if (scanner.eof()) {
    error = "EOF";
    return std::nullopt;
  }
  size_t start = scanner.pos();
  if (!scanner.value(error)) return std::nullopt;
  return body.substr(start, scanner.pos() - start);
}

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t n = utf8_sequence(text, i);
    if (n == 0) {
      out += "\xef\xbf\xbd";
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

bool Document::parse(std::string_view body, std::string& error) {
  auto value = first_value(body, error);
  if (!value) return false;
  // The value is wrapped in an array so that scalar bodies (such as `null`) can be read
  // through the same on-demand value interface as objects.
  auto load = [&](std::string_view text) {
    std::string wrapped;
    wrapped.reserve(text.size() + 2);
    wrapped += '[';
    wrapped += text;
    wrapped += ']';
    text_ = simdjson::padded_string(wrapped);
    return parser_.iterate(text_).get(doc_) == simdjson::SUCCESS &&
           doc_.at_pointer("/0").get(root_) == simdjson::SUCCESS;
  };
  // The scanner accepted the syntax, so the only thing simdjson can object to is invalid
  // UTF-8 inside strings, which Go replaces by U+FFFD.
  if (!load(*value) && !load(sanitize_utf8(*value))) {
    error = "invalid JSON";
    return false;
  }
  return true;
}

std::string_view kind_name(simdjson::ondemand::value& v) {
  simdjson::ondemand::json_type t;
  if (v.type().get(t) != simdjson::SUCCESS) return "value";
  switch (t) {
    case simdjson::ondemand::json_type::array:
      return "array";
    case simdjson::ondemand::json_type::object:
      return "object";
    case simdjson::ondemand::json_type::number:
      return "number";
    case simdjson::ondemand::json_type::string:
      return "string";
    case simdjson::ondemand::json_type::boolean:
      return "bool";
    case simdjson::ondemand::json_type::null:
      return "null";
  }
  return "value";
}

bool key_is(std::string_view key, std::string_view field) {
  // ASCII case folding, plus the two non-ASCII runes that Go's key matching folds onto
  // ASCII letters: U+017F (long s) and U+212A (Kelvin sign).
  size_t i = 0;
  for (char want : field) {
    if (want >= 'A' && want <= 'Z') want = static_cast<char>(want - 'A' + 'a');
    if (i >= key.size()) return false;
    if (want == 's' && key.substr(i, 2) == "\xc5\xbf") {
      i += 2;
      continue;
    }
    if (want == 'k' && key.substr(i, 3) == "\xe2\x84\xaa") {
      i += 3;
      continue;
    }
    char c = key[i++];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != want) return false;
  }
  return i == key.size();
}

void TypeErrors::field(std::string_view kind, std::string_view struct_name, std::string_view path,
                       std::string_view go_type) {
  if (!first_.empty()) return;
  first_ = "json: cannot unmarshal ";
  first_ += kind;
  first_ += " into Go struct field ";
  first_ += struct_name;
  first_ += ".";
  first_ += path;
  first_ += " of type ";
  first_ += go_type;
}

void TypeErrors::value(std::string_view kind, std::string_view go_type) {
  if (!first_.empty()) return;
  first_ = "json: cannot unmarshal ";
  first_ += kind;
  first_ += " into Go value of type ";
  first_ += go_type;
}

bool read_string(simdjson::ondemand::value v, const FieldContext& f, std::string& out) {
  auto kind = kind_name(v);
  if (kind == "null") return false;
  std::string_view s;
  if (kind != "string" || v.get_string().get(s) != simdjson::SUCCESS) {
    f.errors.field(kind, f.struct_name, f.path, "string");
    return false;
  }
  out.assign(s);
  return true;
}

bool read_bool(simdjson::ondemand::value v, const FieldContext& f, bool& out) {
  auto kind = kind_name(v);
  if (kind == "null") return false;
  bool b = false;
  if (kind != "bool" || v.get_bool().get(b) != simdjson::SUCCESS) {
    f.errors.field(kind, f.struct_name, f.path, "bool");
    return false;
  }
  out = b;
  return true;
}

namespace {
std::string_view number_literal(simdjson::ondemand::value& v) {
  std::string_view raw = v.raw_json_token();
  while (!raw.empty() && is_space(raw.back())) raw.remove_suffix(1);
  return raw;
}
}  // namespace

bool read_int64(simdjson::ondemand::value v, const FieldContext& f, std::string_view go_type,
                int64_t& out) {
  auto kind = kind_name(v);
  if (kind == "null") return false;
  if (kind != "number") {
    f.errors.field(kind, f.struct_name, f.path, go_type);
    return false;
  }
  std::string_view lit = number_literal(v);
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(lit.data(), lit.data() + lit.size(), n);
  if (ec != std::errc() || ptr != lit.data() + lit.size()) {
    std::string k = "number ";
    k += lit;
    f.errors.field(k, f.struct_name, f.path, go_type);
    return false;
  }
  out = n;
  return true;
}

bool read_float32(simdjson::ondemand::value v, const FieldContext& f, float& out) {
  auto kind = kind_name(v);
  if (kind == "null") return false;
  if (kind != "number") {
    f.errors.field(kind, f.struct_name, f.path, "float32");
    return false;
  }
  std::string_view lit = number_literal(v);
  // strtod reports overflow as HUGE_VAL and underflow as a tiny value or zero; Go rejects
  // only the former (anything beyond float32's range).
  std::string text(lit);
  errno = 0;
  double d = std::strtod(text.c_str(), nullptr);
  if (std::isinf(d) || std::fabs(d) > static_cast<double>(std::numeric_limits<float>::max())) {
    std::string k = "number ";
    k += lit;
    f.errors.field(k, f.struct_name, f.path, "float32");
    return false;
  }
  out = static_cast<float>(d);
  return true;
}

void append_quoted(std::string& out, std::string_view s, bool html_safe) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '<':
        case '>':
        case '&':
        default:
          if (c < 0x20 || (html_safe && (c == '<' || c == '>' || c == '&'))) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    size_t n = utf8_sequence(s, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    // U+2028 and U+2029 are escaped by Go for JavaScript safety.
    if (n == 3 && c == 0xe2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(s[i + 2]) & 0xfe) == 0xa8) {
      out += static_cast<unsigned char>(s[i + 2]) == 0xa8 ? "\\u2028" : "\\u2029";
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  out += '"';
}

std::string fixed_decimal(bool negative, std::string_view digits, int point) {
  std::string out = negative ? "-" : "";
  if (point <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-point), '0');
    out += digits;
  } else if (static_cast<size_t>(point) >= digits.size()) {
    out += digits;
    out.append(static_cast<size_t>(point) - digits.size(), '0');
  } else {
    out += digits.substr(0, static_cast<size_t>(point));
    out += '.';
    out += digits.substr(static_cast<size_t>(point));
  }
  return out;
}

std::string format_float32(float f) {
  // Shortest round-trip digits first (scientific form), then laid out the way Go's
  // strconv.FormatFloat(f, 'f' or 'e', -1, 32) does: large values are padded with zeros
  // rather than printed with the binary value's exact digits.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  float a = std::fabs(f);
  if (a != 0 && (a < 1e-6f || a >= 1e21f)) {
    // Go trims a leading zero from two-digit exponents: 1e-07 -> 1e-7.
    size_t n = sci.size();
    if (n >= 4 && sci[n - 4] == 'e' && sci[n - 2] == '0') sci.erase(n - 2, 1);
    return sci;
  }
  std::string out;
  size_t pos = 0;
  if (sci[0] == '-') {
    out = "-";
    pos = 1;
  }
  size_t e = sci.find('e');
  std::string digits;
  for (size_t i = pos; i < e; ++i) {
    if (sci[i] != '.') digits += sci[i];
  }
  int exp = std::stoi(sci.substr(e + 1));
  // The value is 0.d1d2d3... * 10^(exp+1).
  int point = exp + 1;
  if (digits == "0") return out + "0";
  return fixed_decimal(out == "-", digits, point);
}

void Writer::separator() {
  if (need_comma_) out_ += ',';
  need_comma_ = false;
}
Writer& Writer::begin_object() {
  separator();
  out_ += '{';
  return *this;
}
Writer& Writer::end_object() {
  out_ += '}';
  need_comma_ = true;
  return *this;
}
Writer& Writer::begin_array() {
  separator();
  out_ += '[';
  return *this;
}
Writer& Writer::end_array() {
  out_ += ']';
  need_comma_ = true;
  return *this;
}
Writer& Writer::key(std::string_view k) {
  separator();
  append_quoted(out_, k);
  out_ += ':';
  return *this;
}
Writer& Writer::string(std::string_view s) {
  separator();
  append_quoted(out_, s);
  need_comma_ = true;
  return *this;
}
Writer& Writer::boolean(bool b) {
  separator();
  out_ += b ? "true" : "false";
  need_comma_ = true;
  return *this;
}
Writer& Writer::integer(int64_t n) {
  separator();
  out_ += std::to_string(n);
  need_comma_ = true;
  return *this;
}
Writer& Writer::float32(float f) {
  separator();
  out_ += format_float32(f);
  need_comma_ = true;
  return *this;
}
Writer& Writer::null() {
  separator();
  out_ += "null";
  need_comma_ = true;
  return *this;
}
Writer& Writer::raw(std::string_view json) {
  separator();
  out_ += json;
  need_comma_ = true;
  return *this;
}

std::string pretty(std::string_view in) {
  std::string out;
  int depth = 0;
  bool in_string = false;
  auto newline = [&] {
    out += '\n';
    out.append(static_cast<size_t>(depth) * 2, ' ');
  };
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < in.size()) {
        out += in[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        out += c;
        break;
      case '{':
      case '[':
        // Empty containers stay on one line: {} and [].
        if (i + 1 < in.size() && (in[i + 1] == '}' || in[i + 1] == ']')) {
          out += c;
          out += in[++i];
          break;
        }
        out += c;
        ++depth;
        newline();
        break;
      case '}':
      case ']':
        --depth;
        newline();
        out += c;
        break;
      case ',':
        out += c;
        newline();
        break;
      case ':':
        out += ": ";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace faultline::json
