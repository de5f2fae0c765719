// Small conversions between SpiderMonkey values and C++ used by every module.
#pragma once

#include <js/Array.h>
#include <js/CharacterEncoding.h>
#include <js/Conversions.h>
#include <js/JSON.h>
#include <js/PropertyAndElement.h>
#include <js/String.h>
#include <jsapi.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loadgen/metrics/metrics.h"

namespace faultline::loadgen::js {

// UTF-8 text of a string; empty on failure (with the exception pending).
std::string utf8(JSContext* cx, JS::HandleString s);
// String(v) as UTF-8 (runs toString); nullopt with an exception pending on failure.
std::optional<std::string> to_utf8(JSContext* cx, JS::HandleValue v);
// Whether every byte of `text` is below 0x80.
bool is_ascii(std::string_view text);
// A new JS string from UTF-8 text (null on failure).
JSString* new_string(JSContext* cx, std::string_view text);
bool set_string(JSContext* cx, JS::HandleObject obj, const char* name, std::string_view text);
bool set_number(JSContext* cx, JS::HandleObject obj, const char* name, double v);
// JSON.stringify(v) (Go-like: undefined gives nullopt without an exception).
std::optional<std::string> stringify(JSContext* cx, JS::HandleValue v, bool& failed);
// JSON.parse(text) into `out`; false with an exception pending.
bool parse_json(JSContext* cx, std::string_view text, JS::MutableHandleValue out);
// An ArrayBuffer holding a copy of `bytes`.
JSObject* new_array_buffer(JSContext* cx, std::string_view bytes);
// The bytes of a string (UTF-8) or an ArrayBuffer / ArrayBufferView; false when `v` is
// neither (no exception).
bool bytes_of(JSContext* cx, JS::HandleValue v, std::string& out);
bool is_array_buffer(JSObject* obj);

// --- Values as k6's Go functions receive them (Sobek's export rules) ---
// A Go `string` parameter: undefined and null are "", anything else String(v).
std::optional<std::string> go_string(JSContext* cx, JS::HandleValue v);
// k6's common.ToBytes: a string (as UTF-8), an ArrayBuffer, or a Uint8Array /
// Uint8ClampedArray (Go sees a []byte). Anything else gives false with no exception and
// `go_type` set to the Go type Sobek would have exported ("int64", "map[string]interface
// {}", "<nil>"), which k6's "invalid type <T>, ..." errors name.
bool go_bytes(JSContext* cx, JS::HandleValue v, std::string& out, std::string& go_type);
// A JS string from bytes Go treats as a string: valid UTF-8 is decoded, every byte that is
// not part of a valid sequence becomes U+FFFD (JS_NewStringCopyUTF8N would throw instead).
JSString* new_string_from_go(JSContext* cx, std::string_view bytes);
// Appends the tags of object `v` (undefined or null: none) to `out`; a name already there
// takes the new value. Values must be strings, numbers or booleans, else k6's error is
// thrown (as a GoError, `prefix` before it).
bool tags_from(JSContext* cx, JS::HandleValue v, Tags& out, std::string_view prefix);

// Go's canonical form of a header name: "x-api-key" -> "X-Api-Key" (names that are not
// tokens stay as they are).
std::string canonical_header(std::string_view key);
// The same, appended to `out` (no string of its own).
void append_canonical_header(std::string& out, std::string_view key);

// Appends the pairs of a flat array [name, value, name, value, ...] (each String()ed) to
// `out`; undefined or null give none. False with an exception pending.
bool string_pairs(JSContext* cx, JS::HandleValue v,
                  std::vector<std::pair<std::string, std::string>>& out);

}  // namespace faultline::loadgen::js
