// Module `k6`: check, group, sleep, fail, randomSeed (k6-js-api §3).
#include <thread>

#include "loadgen/js/modules.h"
#include "loadgen/js/runtime.h"
#include "loadgen/js/util.h"

namespace faultline::loadgen::js {

namespace {

using Clock = std::chrono::steady_clock;

// requireVu(what): throws k6's "not in the init context" error for `what`.
bool require_vu(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  if (rt.phase == Phase::kInit || !rt.host) {
    auto what = to_utf8(cx, args.get(0));
    if (!what) return false;
    return throw_go_error(cx, "Using " + *what + " in the init context is not supported");
  }
  args.rval().setUndefined();
  return true;
}

// check(name, pass, tags): one `checks` sample and the outcome for the summary.
bool record_check(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  auto name = to_utf8(cx, args.get(0));
  if (!name) return false;
  bool pass = JS::ToBoolean(args.get(1));
  Tags extra{{"check", *name}};
  if (!tags_from(cx, args.get(2), extra, "")) return false;
  uint32_t tags = rt.tags(extra);
  rt.host->add(kChecks, tags, pass ? 1 : 0);
  rt.host->check_outcome(rt.script().checks.id(rt.group, *name), pass);
  args.rval().setUndefined();
  return true;
}

// enterGroup(name) -> the outer group's path; leaveGroup(outer, startMs) restores it and
// records group_duration for the group being left.
bool enter_group(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  auto name = to_utf8(cx, args.get(0));
  if (!name) return false;
  JSString* outer = new_string(cx, rt.group);
  if (!outer) return false;
  rt.group += "::" + *name;
  if (rt.groups_seen.insert(rt.group).second) rt.script().checks.note_group(rt.group);
  args.rval().setString(outer);
  return true;
}

double now_ms() {
  return std::chrono::duration<double, std::milli>(Clock::now().time_since_epoch()).count();
}

bool leave_group(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  auto outer = to_utf8(cx, args.get(0));
  if (!outer) return false;
  double started = args.get(1).isNumber() ? args.get(1).toNumber() : now_ms();
  if (rt.host && !rt.interrupted()) rt.host->add(kGroupDuration, rt.tags(), now_ms() - started);
  rt.group = *outer;
  args.rval().setUndefined();
  return true;
}

bool clock_ms(JSContext*, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  args.rval().setNumber(now_ms());
  return true;
}

// sleep(seconds): blocks the VU; an interruption ends the script (uncatchable).
bool sleep_native(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  double seconds = 0;
  if (!JS::ToNumber(cx, args.get(0), &seconds)) return false;
  args.rval().setUndefined();
  if (!(seconds > 0)) return true;
  auto d = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
  if (rt.host) {
    if (!rt.host->sleep(d)) return false;
  } else {
    std::this_thread::sleep_for(d);
  }
  return !rt.interrupted();
}

bool define(JSContext* cx, JS::HandleObject n) {
  static const JSFunctionSpec functions[] = {JS_FN("requireVu", require_vu, 1, 0),
                                             JS_FN("check", record_check, 3, 0),
                                             JS_FN("enterGroup", enter_group, 1, 0),
                                             JS_FN("leaveGroup", leave_group, 2, 0),
                                             JS_FN("now", clock_ms, 0, 0),
                                             JS_FN("sleep", sleep_native, 1, 0),
                                             JS_FS_END};
  return JS_DefineFunctions(cx, n, functions);
}

const char* kSource = R"js(
const n = __faultline_native('k6');
// What an async function's constructor is (check() and group() refuse them).
const AsyncFunction = (async () => {}).constructor;

export function check(value, sets, tags) {
  n.requireVu('check()');
  if (sets === undefined || sets === null) n.goError('no checks provided to `check`');
  let all = true;
  const names = Object.keys(sets);
  for (let i = 0; i < names.length; i++) {  // (not for-of: see plan() in k6/http)
    const name = names[i];
    if (name.includes('::')) n.goError("group and check names may not contain '::'");
    let outcome = sets[name];
    if (typeof outcome === 'function') {
      if (outcome.constructor === AsyncFunction) {
        n.goError('the built-in check() does not support async functions as arguments. Use ' +
          'the JavaScript utils library as a replacement. Refer to ' +
          'https://grafana.com/docs/k6/latest/javascript-api/jslib/utils/check/ for more info');
      }
      try {
        outcome = outcome(value);
      } catch (e) {
        n.check(name, false, tags);
        throw e;
      }
    }
    const pass = !!outcome;
    n.check(name, pass, tags);
    all = all && pass;
  }
  return all;
}

export function group(name, fn) {
  n.requireVu('group()');
  if (typeof fn !== 'function') n.goError('group() requires a callback as a second argument');
  if (fn.constructor === AsyncFunction) {
    n.goError('group() does not support async functions as arguments, please see ' +
      'https://grafana.com/docs/k6/latest/javascript-api/k6/group/ for more info');
  }
  name = String(name);
  if (name.includes('::')) n.goError("group and check names may not contain '::'");
  const outer = n.enterGroup(name);
  const started = n.now();
  try {
    return fn();
  } finally {
    n.leaveGroup(outer, started);
  }
}

export function sleep(seconds) {
  n.sleep(seconds);
}

export function fail(message) {
  n.goError(message === undefined ? '' : message);
}

// A deterministic Math.random for this runtime (mulberry32).
export function randomSeed(seed) {
  let state = Number(seed) >>> 0;
  Math.random = function random() {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export default { check, group, sleep, fail, randomSeed };
)js";

}  // namespace

const BuiltinModule kModuleK6{"k6", kSource, define};

}  // namespace faultline::loadgen::js
