// Module `k6/encoding`: b64encode and b64decode (k6-js-api §8.2), with Go's base64 rules.
#include "loadgen/js/codec.h"
#include "loadgen/js/errors.h"
#include "loadgen/js/modules.h"
#include "loadgen/js/util.h"

namespace faultline::loadgen::js {

namespace {

// b64encode(input, encoding) -> string.
bool b64encode(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  std::string bytes, go_type;
  if (!go_bytes(cx, args.get(0), bytes, go_type)) {
    return throw_go_error(cx,
                          "invalid type " + go_type + ", expected string, []byte or ArrayBuffer");
  }
  auto encoding = go_string(cx, args.get(1));
  if (!encoding) return false;
  JSString* s = new_string(cx, base64_encode(bytes, base64_variant(*encoding)));
  if (!s) return false;
  args.rval().setString(s);
  return true;
}

// b64decode(input, encoding, format) -> ArrayBuffer, or a string when format is "s".
bool b64decode(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  auto input = go_string(cx, args.get(0));
  if (!input) return false;
  auto encoding = go_string(cx, args.get(1));
  if (!encoding) return false;
  auto format = go_string(cx, args.get(2));
  if (!format) return false;
  size_t error_at = 0;
  auto bytes = base64_decode(*input, base64_variant(*encoding), error_at);
  if (!bytes) {
    return throw_go_error(cx, "illegal base64 data at input byte " + std::to_string(error_at));
  }
  if (*format == "s") {
    JSString* s = new_string_from_go(cx, *bytes);
    if (!s) return false;
    args.rval().setString(s);
    return true;
  }
  JSObject* buffer = new_array_buffer(cx, *bytes);
  if (!buffer) return false;
  args.rval().setObject(*buffer);
  return true;
}

bool define(JSContext* cx, JS::HandleObject n) {
  static const JSFunctionSpec functions[] = {JS_FN("b64encode", b64encode, 2, 0),
                                             JS_FN("b64decode", b64decode, 3, 0), JS_FS_END};
  return JS_DefineFunctions(cx, n, functions);
}

const char* kSource = R"js(
const n = __faultline_native('k6/encoding');
export const b64encode = n.b64encode;
export const b64decode = n.b64decode;
export default { b64encode, b64decode };
)js";

}  // namespace

const BuiltinModule kModuleEncoding{"k6/encoding", kSource, define};

}  // namespace faultline::loadgen::js
