#include "cli/go_text.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#include "common/json.h"

namespace faultline::cli {
namespace {

char lower(char c) {
  return static_cast<char>(c | 0x20);
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex_digit(char c) {
  return is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'f');
}

// Length of the common prefix of s and word, ignoring case.
size_t common_prefix_nocase(std::string_view s, std::string_view word) {
  size_t n = 0;
  while (n < s.size() && n < word.size() && lower(s[n]) == word[n]) ++n;
  return n;
}

// strconv's special(): "inf", "infinity" (optionally signed) and "nan". Returns the
// number of bytes consumed, 0 when s does not start with one.
size_t special_value(std::string_view s, double& value) {
  if (s.empty()) return 0;
  double sign = 1;
  size_t nsign = 0;
  std::string_view rest = s;
  if (s[0] == '+' || s[0] == '-') {
    sign = s[0] == '-' ? -1 : 1;
    nsign = 1;
    rest.remove_prefix(1);
  } else if (lower(s[0]) == 'n') {
    if (common_prefix_nocase(s, "nan") == 3) {
      value = std::numeric_limits<double>::quiet_NaN();
      return 3;
    }
    return 0;
  }
  if (rest.empty() || lower(rest[0]) != 'i') return 0;
  size_t n = common_prefix_nocase(rest, "infinity");
  if (n > 3 && n < 8) n = 3;
  if (n == 3 || n == 8) {
    value = sign * std::numeric_limits<double>::infinity();
    return nsign + n;
  }
  return 0;
}

// strconv's underscoreOK: underscores only between digits (a base prefix counts as one).
bool underscores_ok(std::string_view s) {
  char saw = '^';
  size_t i = 0;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  bool hex = false;
  if (s.size() >= 2 && s[0] == '0' &&
      (lower(s[1]) == 'b' || lower(s[1]) == 'o' || lower(s[1]) == 'x')) {
    i = 2;
    saw = '0';
    hex = lower(s[1]) == 'x';
  }
  for (; i < s.size(); ++i) {
    if (is_digit(s[i]) || (hex && is_hex_digit(s[i]))) {
      saw = '0';
      continue;
    }
    if (s[i] == '_') {
      if (saw != '0') return false;
      saw = '_';
      continue;
    }
    if (saw == '_') return false;
    saw = '!';
  }
  return saw != '_';
}

// strconv's readFloat, as a syntax check: true when the whole of s is a number.
bool float_syntax(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  bool hex = false;
  if (i + 2 < s.size() && s[i] == '0' && lower(s[i + 1]) == 'x') {
    hex = true;
    i += 2;
  }
  bool underscores = false;
  bool saw_dot = false;
  bool saw_digits = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == '_') {
      underscores = true;
    } else if (c == '.') {
      if (saw_dot) break;
      saw_dot = true;
    } else if (is_digit(c) || (hex && is_hex_digit(c))) {
      saw_digits = true;
    } else {
      break;
    }
  }
  if (!saw_digits) return false;
  char exp_char = hex ? 'p' : 'e';
  if (i < s.size() && lower(s[i]) == exp_char) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= s.size() || !is_digit(s[i])) return false;
    for (; i < s.size() && (is_digit(s[i]) || s[i] == '_'); ++i) {
      if (s[i] == '_') underscores = true;
    }
  } else if (hex) {
    return false;  // a hexadecimal mantissa needs a 'p' exponent
  }
  if (underscores && !underscores_ok(s.substr(0, i))) return false;
  return i == s.size();
}

// Shortest round-trip digits and decimal exponent of a finite, non-zero |v|: v = 0.DIGITS
// * 10^point.
void shortest_digits(double v, std::string& digits, int& point) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, std::fabs(v), std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));
  size_t e = sci.find('e');
  digits.clear();
  for (size_t i = 0; i < e; ++i) {
    if (sci[i] != '.') digits += sci[i];
  }
  int exp = 0;
  std::string_view ex = sci.substr(e + 1);
  bool neg = !ex.empty() && ex[0] == '-';
  if (!ex.empty() && (ex[0] == '+' || ex[0] == '-')) ex.remove_prefix(1);
  (void)std::from_chars(ex.data(), ex.data() + ex.size(), exp);
  point = (neg ? -exp : exp) + 1;
}

// %e with the shortest digits: d.ddde±XX (at least two exponent digits).
std::string exponent_form(bool negative, const std::string& digits, int point) {
  std::string out = negative ? "-" : "";
  out += digits[0];
  if (digits.size() > 1) {
    out += '.';
    out += digits.substr(1);
  }
  int exp = point - 1;
  out += exp < 0 ? "e-" : "e+";
  int a = exp < 0 ? -exp : exp;
  if (a < 10) out += '0';
  out += std::to_string(a);
  return out;
}

size_t rune_count(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

}  // namespace

FloatParse parse_go_float(std::string_view s, int bits, double& value) {
  double special = 0;
  if (size_t n = special_value(s, special); n > 0) {
    if (n != s.size()) return FloatParse::kSyntax;
    value = special;
    return FloatParse::kOk;
  }
  if (!float_syntax(s)) return FloatParse::kSyntax;
  std::string clean;
  for (char c : s) {
    if (c != '_') clean += c;
  }
  errno = 0;
  char* end = nullptr;
  if (bits == 32) {
    float f = std::strtof(clean.c_str(), &end);
    value = f;
  } else {
    value = std::strtod(clean.c_str(), &end);
  }
  if (std::isinf(value)) return FloatParse::kRange;
  return FloatParse::kOk;
}

std::optional<bool> parse_go_bool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False")
    return false;
  return std::nullopt;
}

std::string go_special_float(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return format_go_float(v);
}

std::string format_go_float(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  bool negative = std::signbit(v);
  if (v == 0) return negative ? "-0" : "0";
  std::string digits;
  int point = 0;
  shortest_digits(v, digits, point);
  int exp = point - 1;
  if (exp < -4 || exp >= 6) return exponent_form(negative, digits, point);
  return json::fixed_decimal(negative, digits, point);
}

bool format_json_float64(double v, std::string& out) {
  if (std::isnan(v) || std::isinf(v)) return false;
  bool negative = std::signbit(v);
  if (v == 0) {
    out = negative ? "-0" : "0";
    return true;
  }
  std::string digits;
  int point = 0;
  shortest_digits(v, digits, point);
  double a = std::fabs(v);
  if (a < 1e-6 || a >= 1e21) {
    out = exponent_form(negative, digits, point);
    // encoding/json writes 1e-07 as 1e-7.
    size_t n = out.size();
    if (n >= 4 && out[n - 4] == 'e' && out[n - 3] == '-' && out[n - 2] == '0') out.erase(n - 2, 1);
  } else {
    out = json::fixed_decimal(negative, digits, point);
  }
  return true;
}

// Go's tabwriter: a line is a list of cells; every cell but the last one of a line is
// tab-terminated and belongs to a column. A column block is a run of consecutive lines
// that have a cell in that column; its width is the widest cell plus the padding. Blocks
// are formed column by column, recursively inside the block of the previous column.
std::string tabwriter_layout(std::string_view text) {
  constexpr size_t kMinWidth = 1;
  constexpr size_t kPadding = 2;
  struct Line {
    std::vector<std::string> cells;
  };
  std::vector<Line> lines(1);
  std::string cell;
  for (char c : text) {
    if (c == '\t') {
      lines.back().cells.push_back(cell);
      cell.clear();
    } else if (c == '\n') {
      lines.back().cells.push_back(cell);
      cell.clear();
      lines.emplace_back();
    } else {
      cell += c;
    }
  }
  lines.back().cells.push_back(cell);

  std::string out;
  std::vector<size_t> widths;
  auto write_lines = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      const auto& cells = lines[i].cells;
      for (size_t j = 0; j < cells.size(); ++j) {
        out += cells[j];
        if (j < widths.size() && j + 1 < cells.size()) {
          size_t w = rune_count(cells[j]);
          if (widths[j] > w) out.append(widths[j] - w, ' ');
        }
      }
      if (i + 1 < lines.size()) out += '\n';
    }
  };
  // Lays out lines [line0, line1) from column widths.size() on.
  auto format = [&](auto& self, size_t line0, size_t line1) -> void {
    size_t column = widths.size();
    for (size_t current = line0; current < line1; ++current) {
      if (column + 1 >= lines[current].cells.size()) continue;
      write_lines(line0, current);
      line0 = current;
      size_t width = kMinWidth;
      for (; current < line1; ++current) {
        const auto& cells = lines[current].cells;
        if (column + 1 >= cells.size()) break;
        width = std::max(width, rune_count(cells[column]) + kPadding);
      }
      widths.push_back(width);
      self(self, line0, current);
      widths.pop_back();
      line0 = current;
      // The line that ended the block has no cell in this column: the loop's increment
      // may skip it, as Go's does.
    }
    write_lines(line0, line1);
  };
  format(format, 0, lines.size());
  return out;
}

}  // namespace faultline::cli
