#include "loadgen/js/errors.h"

#include <js/Exception.h>
#include <js/SavedFrameAPI.h>
#include <js/Stack.h>

#include "loadgen/js/util.h"

namespace faultline::loadgen::js {

std::string ScriptError::text() const {
  return message + stack + "\n";
}

std::string k6_stack(const std::string& sm) {
  std::string out;
  size_t pos = 0;
  while (pos < sm.size()) {
    size_t end = sm.find('\n', pos);
    if (end == std::string::npos) end = sm.size();
    std::string line = sm.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    size_t at = line.rfind('@');
    std::string name = at == std::string::npos ? "" : line.substr(0, at);
    std::string where = at == std::string::npos ? line : line.substr(at + 1);
    // Frames of our built-in modules are k6's native code.
    bool native = where.rfind("k6", 0) == 0 && where.find("://") == std::string::npos;
    out += "\n\tat ";
    if (native) {
      out += (name.empty() ? std::string("<native>") : name) + " (native)";
    } else if (name.empty()) {
      out += where + "(0)";
    } else {
      out += name + " (" + where + "(0))";
    }
  }
  return out;
}

namespace {

std::string stack_of(JSContext* cx, JS::HandleObject saved_frame) {
  if (!saved_frame) return "";
  JS::RootedString text(cx);
  if (!JS::BuildStackString(cx, nullptr, saved_frame, &text)) {
    JS_ClearPendingException(cx);
    return "";
  }
  return k6_stack(utf8(cx, text));
}

}  // namespace

ScriptError take_error(JSContext* cx) {
  ScriptError err;
  if (!JS_IsExceptionPending(cx)) {
    err.uncatchable = true;
    err.message = "interrupted";
    return err;
  }
  JS::ExceptionStack ex(cx);
  if (!JS::StealPendingExceptionStack(cx, &ex)) {
    err.uncatchable = true;
    return err;
  }
  JS::RootedValue exception(cx, ex.exception());
  // SyntaxErrors and the like carry their position in the report, not in a stack.
  JS::ErrorReportBuilder report(cx);
  if (exception.isObject()) {
    JS::RootedObject obj(cx, &exception.toObject());
    JSErrorReport* r = JS_ErrorFromException(cx, obj);
    bool is_syntax = false;
    if (r) {
      JS::RootedValue name(cx);
      if (JS_GetProperty(cx, obj, "name", &name) && name.isString()) {
        JS::RootedString n(cx, name.toString());
        is_syntax = utf8(cx, n) == "SyntaxError";
      }
    }
    auto text = to_utf8(cx, exception);
    if (!text) {
      JS_ClearPendingException(cx);
      text = "(an exception that cannot be printed)";
    }
    err.message = *text;
    if (is_syntax && r && r->filename) {
      err.message += " at " + std::string(r->filename) + ":" + std::to_string(r->lineno) + ":" +
                     std::to_string(r->column + 1);
      return err;
    }
    JS::RootedObject frame(cx, ex.stack());
    if (!frame) frame = JS::ExceptionStackOrNull(obj);
    err.stack = stack_of(cx, frame);
    return err;
  }
  auto text = to_utf8(cx, exception);
  if (!text) {
    JS_ClearPendingException(cx);
    text = "(an exception that cannot be printed)";
  }
  err.message = *text;
  JS::RootedObject frame(cx, ex.stack());
  err.stack = stack_of(cx, frame);
  return err;
}

namespace {

bool throw_error(JSContext* cx, JSExnType type, const std::string& message, const char* name) {
  JS::RootedString msg(cx, new_string(cx, message));
  if (!msg) return false;
  JS::RootedObject stack(cx);
  if (!JS::CaptureCurrentStack(cx, &stack)) return false;
  JS::RootedString file(cx, JS_GetEmptyString(cx));
  JS::RootedValue error(cx);
  if (!JS::CreateError(cx, type, stack, file, 0, 0, nullptr, msg, JS::NothingHandleValue, &error)) {
    return false;
  }
  if (name) {
    JS::RootedObject obj(cx, &error.toObject());
    if (!set_string(cx, obj, "name", name)) return false;
  }
  JS_SetPendingException(cx, error);
  return false;
}

}  // namespace

bool throw_go_error(JSContext* cx, const std::string& message) {
  return throw_error(cx, JSEXN_ERR, message, "GoError");
}

bool throw_type_error(JSContext* cx, const std::string& message) {
  return throw_error(cx, JSEXN_TYPEERR, message, nullptr);
}

}  // namespace faultline::loadgen::js
