#include "loadgen/js/util.h"

#include <js/Object.h>
#include <js/Value.h>

#include "loadgen/js/errors.h"

#include <js/ArrayBuffer.h>
#include <js/experimental/TypedData.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace faultline::loadgen::js {

std::string utf8(JSContext* cx, JS::HandleString s) {
  JSLinearString* linear = JS_EnsureLinearString(cx, s);
  if (!linear) return std::string();
  if (JS::LinearStringHasLatin1Chars(linear)) {
    // ASCII (nearly every name, URL and header a script passes) is its own UTF-8: copied
    // as it is, without the encoder's two passes.
    JS::AutoCheckCannotGC nogc;
    const char* chars = reinterpret_cast<const char*>(JS::GetLatin1LinearStringChars(nogc, linear));
    std::string_view text(chars, JS::GetLinearStringLength(linear));
    if (is_ascii(text)) return std::string(text);
  }
  std::string out(JS::GetDeflatedUTF8StringLength(linear), '\0');
  JS::DeflateStringToUTF8Buffer(linear, mozilla::Span(out.data(), out.size()));
  return out;
}

std::optional<std::string> to_utf8(JSContext* cx, JS::HandleValue v) {
  JS::RootedString s(cx, v.isString() ? v.toString() : JS::ToString(cx, v));
  if (!s || !JS_EnsureLinearString(cx, s)) return std::nullopt;
  return utf8(cx, s);
}

bool is_ascii(std::string_view text) {
  // Eight bytes at a time: a body of a few kilobytes is checked in a few hundred steps.
  const char* p = text.data();
  size_t n = text.size();
  uint64_t high = 0;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    high |= word;
  }
  for (; n > 0; ++p, --n) high |= static_cast<unsigned char>(*p);
  return (high & 0x8080808080808080ULL) == 0;
}

JSString* new_string(JSContext* cx, std::string_view text) {
  // ASCII (nearly every header, URL and text body) is also Latin-1: copied as it is,
  // without the UTF-8 decoder's pass to find the narrowest encoding.
  if (is_ascii(text)) return JS_NewStringCopyN(cx, text.data(), text.size());
  return JS_NewStringCopyUTF8N(cx, JS::UTF8Chars(text.data(), text.size()));
}

bool set_string(JSContext* cx, JS::HandleObject obj, const char* name, std::string_view text) {
  JS::RootedString s(cx, new_string(cx, text));
  if (!s) return false;
  JS::RootedValue v(cx, JS::StringValue(s));
  return JS_SetProperty(cx, obj, name, v);
}

bool set_number(JSContext* cx, JS::HandleObject obj, const char* name, double d) {
  JS::RootedValue v(cx, JS::NumberValue(d));
  return JS_SetProperty(cx, obj, name, v);
}

namespace {

bool append_utf16(const char16_t* buf, uint32_t len, void* data) {
  auto* out = static_cast<std::u16string*>(data);
  out->append(buf, len);
  return true;
}

}  // namespace

std::optional<std::string> stringify(JSContext* cx, JS::HandleValue v, bool& failed) {
  failed = false;
  std::u16string text;
  JS::RootedValue value(cx, v);
  if (!JS_Stringify(cx, &value, nullptr, JS::NullHandleValue, append_utf16, &text)) {
    failed = true;
    return std::nullopt;
  }
  if (text.empty()) return std::nullopt;  // undefined, a function, a symbol
  JS::RootedString s(cx, JS_NewUCStringCopyN(cx, text.data(), text.size()));
  if (!s) {
    failed = true;
    return std::nullopt;
  }
  return utf8(cx, s);
}

bool parse_json(JSContext* cx, std::string_view text, JS::MutableHandleValue out) {
  JS::RootedString s(cx, new_string(cx, text));
  if (!s) return false;
  return JS_ParseJSON(cx, s, out);
}

JSObject* new_array_buffer(JSContext* cx, std::string_view bytes) {
  JS::RootedObject buffer(cx, JS::NewArrayBuffer(cx, bytes.size()));
  if (!buffer || bytes.empty()) return buffer;
  JS::AutoCheckCannotGC nogc;
  bool shared = false;
  uint8_t* data = JS::GetArrayBufferData(buffer, &shared, nogc);
  std::memcpy(data, bytes.data(), bytes.size());
  return buffer;
}

bool is_array_buffer(JSObject* obj) {
  return obj && JS::IsArrayBufferObject(obj);
}

bool bytes_of(JSContext* cx, JS::HandleValue v, std::string& out) {
  if (v.isString()) {
    JS::RootedString s(cx, v.toString());
    out = utf8(cx, s);
    return true;
  }
  if (!v.isObject()) return false;
  JSObject* obj = &v.toObject();
  size_t length = 0;
  bool shared = false;
  uint8_t* data = nullptr;
  if (JS::IsArrayBufferObject(obj)) {
    JS::GetArrayBufferLengthAndData(obj, &length, &shared, &data);
  } else if (JS_IsArrayBufferViewObject(obj)) {
    ::js::GetArrayBufferViewLengthAndData(obj, &length, &shared, &data);
  } else {
    return false;
  }
  out.assign(reinterpret_cast<const char*>(data), length);
  return true;
}

std::optional<std::string> go_string(JSContext* cx, JS::HandleValue v) {
  if (v.isNullOrUndefined()) return std::string();
  return to_utf8(cx, v);
}

namespace {

// Sobek keeps integral numbers as int64 and everything else as float64.
const char* go_number_type(double d) {
  bool integral = std::trunc(d) == d && std::fabs(d) < 9.2e18 && !(d == 0 && std::signbit(d));
  return integral ? "int64" : "float64";
}

// The type name Go's %T prints for what Sobek exports `v` as.
std::string go_type_name(JSContext* cx, JS::HandleValue v) {
  if (v.isNullOrUndefined()) return "<nil>";
  if (v.isBoolean()) return "bool";
  if (v.isNumber()) return go_number_type(v.toNumber());
  if (v.isSymbol()) return "*sobek.Symbol";
  if (v.isBigInt()) return "*big.Int";
  if (!v.isObject()) return "string";  // (strings never get here)
  JS::RootedObject obj(cx, &v.toObject());
  if (JS_IsTypedArrayObject(obj)) {
    switch (JS_GetArrayBufferViewType(obj)) {
      case JS::Scalar::Int8:
        return "[]int8";
      case JS::Scalar::Int16:
        return "[]int16";
      case JS::Scalar::Uint16:
        return "[]uint16";
      case JS::Scalar::Int32:
        return "[]int32";
      case JS::Scalar::Uint32:
        return "[]uint32";
      case JS::Scalar::Float32:
        return "[]float32";
      case JS::Scalar::Float64:
        return "[]float64";
      case JS::Scalar::BigInt64:
        return "[]int64";
      case JS::Scalar::BigUint64:
        return "[]uint64";
      default:
        return "[]uint8";
    }
  }
  ::js::ESClass cls = ::js::ESClass::Other;
  if (!JS::GetBuiltinClass(cx, obj, &cls)) {
    JS_ClearPendingException(cx);
    return "map[string]interface {}";
  }
  switch (cls) {
    case ::js::ESClass::Array:
      return "[]interface {}";
    case ::js::ESClass::Set:
      return "[]interface {}";
    case ::js::ESClass::Map:
      return "[][2]interface {}";
    case ::js::ESClass::Date:
      return "time.Time";
    case ::js::ESClass::Promise:
      return "*sobek.Promise";
    case ::js::ESClass::Boolean:
      return "bool";
    case ::js::ESClass::Number: {
      double d = 0;
      if (!JS::ToNumber(cx, v, &d)) JS_ClearPendingException(cx);
      return go_number_type(d);
    }
    default:
      break;
  }
  if (JS::IsCallable(obj)) return "func(sobek.FunctionCall) sobek.Value";
  return "map[string]interface {}";
}

}  // namespace

bool go_bytes(JSContext* cx, JS::HandleValue v, std::string& out, std::string& go_type) {
  if (v.isString()) {
    JS::RootedString s(cx, v.toString());
    out = utf8(cx, s);
    return true;
  }
  if (v.isObject()) {
    JSObject* obj = &v.toObject();
    size_t length = 0;
    bool shared = false;
    uint8_t* data = nullptr;
    if (JS::IsArrayBufferObject(obj)) {
      JS::GetArrayBufferLengthAndData(obj, &length, &shared, &data);
      out.assign(reinterpret_cast<const char*>(data), length);
      return true;
    }
    if (JS_IsTypedArrayObject(obj) &&
        (JS_GetArrayBufferViewType(obj) == JS::Scalar::Uint8 ||
         JS_GetArrayBufferViewType(obj) == JS::Scalar::Uint8Clamped)) {
      ::js::GetArrayBufferViewLengthAndData(obj, &length, &shared, &data);
      out.assign(reinterpret_cast<const char*>(data), length);
      return true;
    }
    // A String object is exported as its string.
    JS::RootedObject o(cx, obj);
    ::js::ESClass cls = ::js::ESClass::Other;
    if (JS::GetBuiltinClass(cx, o, &cls) && cls == ::js::ESClass::String) {
      auto text = to_utf8(cx, v);
      if (text) {
        out = std::move(*text);
        return true;
      }
    }
    JS_ClearPendingException(cx);
  }
  go_type = go_type_name(cx, v);
  return false;
}

JSString* new_string_from_go(JSContext* cx, std::string_view bytes) {
  std::u16string text;
  text.reserve(bytes.size());
  auto at = [&](size_t i) { return static_cast<unsigned char>(bytes[i]); };
  auto cont = [&](size_t i, unsigned lo = 0x80, unsigned hi = 0xbf) {
    return i < bytes.size() && at(i) >= lo && at(i) <= hi;
  };
  // Go's utf8.DecodeRune: a sequence is taken whole or the first byte is U+FFFD.
  for (size_t i = 0; i < bytes.size();) {
    unsigned b = at(i);
    char32_t cp = 0xfffd;
    size_t width = 1;
    if (b < 0x80) {
      cp = b;
    } else if (b >= 0xc2 && b <= 0xdf && cont(i + 1)) {
      cp = (b & 0x1f) << 6 | (at(i + 1) & 0x3f);
      width = 2;
    } else if (b >= 0xe0 && b <= 0xef) {
      unsigned lo = b == 0xe0 ? 0xa0 : 0x80, hi = b == 0xed ? 0x9f : 0xbf;
      if (cont(i + 1, lo, hi) && cont(i + 2)) {
        cp = (b & 0x0f) << 12 | (at(i + 1) & 0x3f) << 6 | (at(i + 2) & 0x3f);
        width = 3;
      }
    } else if (b >= 0xf0 && b <= 0xf4) {
      unsigned lo = b == 0xf0 ? 0x90 : 0x80, hi = b == 0xf4 ? 0x8f : 0xbf;
      if (cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3)) {
        cp = (b & 0x07) << 18 | (at(i + 1) & 0x3f) << 12 | (at(i + 2) & 0x3f) << 6 |
             (at(i + 3) & 0x3f);
        width = 4;
      }
    }
    if (cp >= 0x10000) {
      text += static_cast<char16_t>(0xd800 + ((cp - 0x10000) >> 10));
      text += static_cast<char16_t>(0xdc00 + ((cp - 0x10000) & 0x3ff));
    } else {
      text += static_cast<char16_t>(cp);
    }
    i += width;
  }
  return JS_NewUCStringCopyN(cx, text.data(), text.size());
}

bool tags_from(JSContext* cx, JS::HandleValue v, Tags& out, std::string_view prefix) {
  if (v.isNullOrUndefined()) return true;
  if (!v.isObject()) return true;
  JS::RootedObject obj(cx, &v.toObject());
  JS::Rooted<JS::IdVector> ids(cx, JS::IdVector(cx));
  if (!JS_Enumerate(cx, obj, &ids)) return false;
  for (size_t i = 0; i < ids.length(); ++i) {
    JS::RootedValue key(cx);
    if (!JS_IdToValue(cx, ids[i], &key)) return false;
    auto name = to_utf8(cx, key);
    if (!name) return false;
    JS::RootedValue value(cx);
    if (!JS_GetPropertyById(cx, obj, ids[i], &value)) return false;
    if (!value.isString() && !value.isNumber() && !value.isBoolean()) {
      return throw_go_error(cx, std::string(prefix) + "invalid value for metric tag '" + *name +
                                    "': only String, Boolean and Number types are accepted as "
                                    "a metric tag values");
    }
    auto text = to_utf8(cx, value);
    if (!text) return false;
    auto same =
        std::find_if(out.begin(), out.end(), [&](const auto& t) { return t.first == *name; });
    if (same != out.end()) {
      same->second = *text;
    } else {
      out.emplace_back(*name, *text);
    }
  }
  return true;
}

// Go's canonical header key: "x-api-key" -> "X-Api-Key".
void append_canonical_header(std::string& out, std::string_view key) {
  size_t at = out.size();
  out += key;
  char* begin = out.data() + at;
  char* end = begin + key.size();
  for (const char* c = begin; c != end; ++c) {
    if (*c == ' ' || *c == ':') return;  // not a token: Go leaves it as it is
  }
  bool upper = true;
  for (char* c = begin; c != end; ++c) {
    if (upper && *c >= 'a' && *c <= 'z') *c = static_cast<char>(*c - 32);
    if (!upper && *c >= 'A' && *c <= 'Z') *c = static_cast<char>(*c + 32);
    upper = *c == '-';
  }
}

std::string canonical_header(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  append_canonical_header(out, key);
  return out;
}

bool string_pairs(JSContext* cx, JS::HandleValue v,
                  std::vector<std::pair<std::string, std::string>>& out) {
  if (!v.isObject()) return true;
  JS::RootedObject list(cx, &v.toObject());
  uint32_t length = 0;
  if (!JS::GetArrayLength(cx, list, &length)) return false;
  for (uint32_t i = 0; i + 1 < length; i += 2) {
    JS::RootedValue k(cx), value(cx);
    if (!JS_GetElement(cx, list, i, &k) || !JS_GetElement(cx, list, i + 1, &value)) return false;
    auto ks = to_utf8(cx, k);
    auto vs = to_utf8(cx, value);
    if (!ks || !vs) return false;
    out.emplace_back(std::move(*ks), std::move(*vs));
  }
  return true;
}

}  // namespace faultline::loadgen::js
