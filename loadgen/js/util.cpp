#include "loadgen/js/util.h"

#include <js/Object.h>

#include "loadgen/js/errors.h"

#include <js/ArrayBuffer.h>
#include <js/experimental/TypedData.h>

#include <algorithm>
#include <cstring>

namespace faultline::loadgen::js {

std::string utf8(JSContext* cx, JS::HandleString s) {
  JSLinearString* linear = JS_EnsureLinearString(cx, s);
  if (!linear) return std::string();
  std::string out(JS::GetDeflatedUTF8StringLength(linear), '\0');
  JS::DeflateStringToUTF8Buffer(linear, mozilla::Span(out.data(), out.size()));
  return out;
}

std::optional<std::string> to_utf8(JSContext* cx, JS::HandleValue v) {
  JS::RootedString s(cx, v.isString() ? v.toString() : JS::ToString(cx, v));
  if (!s || !JS_EnsureLinearString(cx, s)) return std::nullopt;
  return utf8(cx, s);
}

JSString* new_string(JSContext* cx, std::string_view text) {
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

bool tags_from(JSContext* cx, JS::HandleValue v, Tags& out, const std::string& prefix) {
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
      return throw_go_error(cx, prefix + "invalid value for metric tag '" + *name +
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

}  // namespace faultline::loadgen::js
