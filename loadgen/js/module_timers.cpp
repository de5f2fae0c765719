// Module `k6/timers` (k6-js-api §8.4). The same natives are the global setTimeout family:
// the prelude (globals.cpp) installs them from here, so the module and the globals share
// one implementation and the runtime's one timer counter.
#include <cmath>

#include "loadgen/js/errors.h"
#include "loadgen/js/modules.h"
#include "loadgen/js/runtime.h"
#include "loadgen/js/util.h"

namespace faultline::loadgen::js {

namespace {

bool start_timer(JSContext* cx, unsigned argc, JS::Value* vp, bool repeat) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  const char* name = repeat ? "setInterval" : "setTimeout";
  if (!args.get(0).isObject() || !JS::IsCallable(&args[0].toObject())) {
    return throw_go_error(cx, std::string(name) + "'s callback isn't a callable function");
  }
  double delay = 0;
  if (!JS::ToNumber(cx, args.get(1), &delay)) return false;
  JS::HandleValueArray extra = args.length() > 2
                                   ? JS::HandleValueArray::subarray(args, 2, args.length() - 2)
                                   : JS::HandleValueArray::empty();
  uint32_t id = Runtime::of(cx).add_timer(args[0], extra, delay, repeat);
  if (id == 0) {
    JS_ReportOutOfMemory(cx);
    return false;
  }
  args.rval().setNumber(id);
  return true;
}

bool set_timeout(JSContext* cx, unsigned argc, JS::Value* vp) {
  return start_timer(cx, argc, vp, false);
}

bool set_interval(JSContext* cx, unsigned argc, JS::Value* vp) {
  return start_timer(cx, argc, vp, true);
}

// clearTimeout(id) and clearInterval(id) are one operation on one id space (as in k6 and
// browsers); ids that name no pending timer are ignored.
bool clear_timer(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  double id = 0;
  if (!JS::ToNumber(cx, args.get(0), &id)) return false;
  id = std::trunc(id);
  if (id >= 1 && id <= UINT32_MAX) Runtime::of(cx).clear_timer(static_cast<uint32_t>(id));
  args.rval().setUndefined();
  return true;
}

bool define(JSContext* cx, JS::HandleObject n) {
  static const JSFunctionSpec functions[] = {JS_FN("setTimeout", set_timeout, 2, 0),
                                             JS_FN("clearTimeout", clear_timer, 1, 0),
                                             JS_FN("setInterval", set_interval, 2, 0),
                                             JS_FN("clearInterval", clear_timer, 1, 0), JS_FS_END};
  return JS_DefineFunctions(cx, n, functions);
}

const char* kSource = R"js(
const n = __faultline_native('k6/timers');
export const setTimeout = n.setTimeout;
export const clearTimeout = n.clearTimeout;
export const setInterval = n.setInterval;
export const clearInterval = n.clearInterval;
export default { setTimeout, clearTimeout, setInterval, clearInterval };
)js";

}  // namespace

const BuiltinModule kModuleTimers{"k6/timers", kSource, define};

}  // namespace faultline::loadgen::js
