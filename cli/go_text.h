// The Go standard library's text rules that toxiproxy-cli's output depends on, so
// faultline-cli prints what it prints: strconv's number and boolean syntax, fmt's %v for
// floats, encoding/json's float64 text and text/tabwriter's column layout
// (urfave/cli lays out its help with it).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace faultline::cli {

enum class FloatParse { kOk, kSyntax, kRange };

// strconv.ParseFloat(s, bits) for bits 32 or 64: decimal and hexadecimal (0x1.8p3) forms,
// underscores between digits, "inf"/"infinity"/"nan" in any case. With 32 bits the value
// is rounded to float32. kRange: the value overflows (`value` is then ±Inf, as in Go).
FloatParse parse_go_float(std::string_view s, int bits, double& value);

// strconv.ParseBool: 1 t T TRUE true True 0 f F FALSE false False.
std::optional<bool> parse_go_bool(std::string_view s);

// fmt.Print of a float64 (%v): the shortest digits that read back the same value, in %e
// form when the exponent is below -4 or at least 6 ("100", "1.5", "1e+06", "1e-05").
std::string format_go_float(double v);

// encoding/json's text of a float64 ("100", "0.5", "1e+21", "1e-7"); false for NaN and
// infinities, which Go refuses to encode.
bool format_json_float64(double v, std::string& out);

// strconv.FormatFloat(v, 'g', -1, bits) for the special values in Go's error
// "json: unsupported value: NaN" ("NaN", "+Inf", "-Inf").
std::string go_special_float(double v);

// text/tabwriter with urfave/cli's settings (minwidth 1, tabwidth 8, padding 2, padchar
// ' ', no flags): tab-terminated cells of consecutive lines are aligned in columns.
std::string tabwriter_layout(std::string_view text);

}  // namespace faultline::cli
