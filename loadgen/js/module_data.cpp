// Module `k6/data`: SharedArray (k6-js-api §8.1). The data lives once per process in
// ScriptContext::shared as one JSON text per element; every runtime gets a read-only,
// array-like Proxy whose element reads parse that text again. The first runtime to
// construct a name runs the script's function; the others only get a view.
#include <algorithm>

#include "loadgen/js/modules.h"
#include "loadgen/js/runtime.h"
#include "loadgen/js/util.h"

namespace faultline::loadgen::js {

namespace {

bool require_init(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  if (Runtime::of(cx).phase != Phase::kInit) {
    return throw_go_error(cx, "new SharedArray must be called in the init context");
  }
  args.rval().setUndefined();
  return true;
}

// The handle of `items` in this runtime (one per distinct array, however often it is
// constructed).
int32_t hold(Runtime& rt, const SharedData::Items& items) {
  auto& held = rt.shared_arrays;
  auto it = std::find(held.begin(), held.end(), items);
  if (it != held.end()) return static_cast<int32_t>(it - held.begin());
  held.push_back(items);
  return static_cast<int32_t>(held.size() - 1);
}

// claim(name) -> the handle of the stored array, or -1 when this runtime must build it
// (and then call publish or abandon).
bool claim(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  auto name = to_utf8(cx, args.get(0));
  if (!name) return false;
  SharedData::Items items;
  switch (rt.script().shared.claim(
      *name, [&rt] { return rt.interrupted(); }, items)) {
    case SharedData::Claim::kReady:
      args.rval().setInt32(hold(rt, items));
      return true;
    case SharedData::Claim::kBuild:
      args.rval().setInt32(-1);
      return true;
    case SharedData::Claim::kRecursive:
      // k6 would wait for itself forever; an error says what happened instead.
      return throw_go_error(cx, "the function of SharedArray '" + *name +
                                    "' constructs the same SharedArray while building it");
    case SharedData::Claim::kInterrupted:
      return false;  // the runtime is being stopped: end the script
  }
  return false;
}

// publish(name, texts) -> handle; texts: the elements' JSON texts.
bool publish(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  auto name = to_utf8(cx, args.get(0));
  if (!name) return false;
  if (!args.get(1).isObject()) return throw_type_error(cx, "publish() needs a list of texts");
  JS::RootedObject list(cx, &args[1].toObject());
  uint32_t length = 0;
  if (!JS::GetArrayLength(cx, list, &length)) return false;
  std::vector<std::string> texts;
  texts.reserve(length);
  JS::RootedValue v(cx);
  for (uint32_t i = 0; i < length; ++i) {
    if (!JS_GetElement(cx, list, i, &v)) return false;
    auto text = to_utf8(cx, v);
    if (!text) return false;
    texts.push_back(std::move(*text));
  }
  args.rval().setInt32(hold(rt, rt.script().shared.publish(*name, std::move(texts))));
  return true;
}

bool abandon(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  auto name = to_utf8(cx, args.get(0));
  if (!name) return false;
  Runtime::of(cx).script().shared.abandon(*name);
  args.rval().setUndefined();
  return true;
}

const std::vector<std::string>* held(JSContext* cx, JS::HandleValue handle) {
  auto& arrays = Runtime::of(cx).shared_arrays;
  if (!handle.isInt32() || handle.toInt32() < 0 ||
      static_cast<size_t>(handle.toInt32()) >= arrays.size()) {
    return nullptr;
  }
  return arrays[static_cast<size_t>(handle.toInt32())].get();
}

// length(handle) -> the number of elements.
bool length(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  const auto* items = held(cx, args.get(0));
  if (!items) return throw_type_error(cx, "not a SharedArray");
  args.rval().setNumber(static_cast<double>(items->size()));
  return true;
}

// item(handle, index) -> the element's JSON text (the caller checked the index).
bool item(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  const auto* items = held(cx, args.get(0));
  if (!items) return throw_type_error(cx, "not a SharedArray");
  double index = args.get(1).isNumber() ? args[1].toNumber() : -1;
  if (!(index >= 0) || index >= static_cast<double>(items->size())) {
    args.rval().setUndefined();
    return true;
  }
  JSString* s = new_string(cx, (*items)[static_cast<size_t>(index)]);
  if (!s) return false;
  args.rval().setString(s);
  return true;
}

bool define(JSContext* cx, JS::HandleObject n) {
  static const JSFunctionSpec functions[] = {JS_FN("requireInit", require_init, 0, 0),
                                             JS_FN("claim", claim, 1, 0),
                                             JS_FN("publish", publish, 2, 0),
                                             JS_FN("abandon", abandon, 1, 0),
                                             JS_FN("length", length, 1, 0),
                                             JS_FN("item", item, 2, 0),
                                             JS_FS_END};
  return JS_DefineFunctions(cx, n, functions);
}

const char* kSource = R"js(
const n = __faultline_native('k6/data');
// Taken before the script runs, so a script replacing them cannot change SharedArray.
const parse = JSON.parse, stringify = JSON.stringify;
const freeze = Object.freeze, isFrozen = Object.isFrozen, keysOf = Object.keys;
const reflectGet = Reflect.get, reflectHas = Reflect.has, reflectOwn = Reflect.getOwnPropertyDescriptor;
const isAsync = (fn) => fn && fn.constructor && fn.constructor.name === 'AsyncFunction';
const INDEX = /^(?:0|[1-9][0-9]*)$/;

// An element is handed out frozen all the way down, like k6 does, so no VU can change
// what looks like shared data.
function deepFreeze(value) {
  if (value === null || typeof value !== 'object') return value;
  freeze(value);
  for (const key of keysOf(value)) {
    const inner = value[key];
    if (!isFrozen(inner)) deepFreeze(inner);
  }
  return value;
}

function immutable() {
  throw new TypeError('SharedArray is immutable');
}

// The array-like view: a Proxy over an empty array, so Array.isArray holds and the
// Array.prototype methods work (and make ordinary arrays); element reads go to the
// process's copy.
function view(handle) {
  const length = n.length(handle);
  // >= 0: an element; -1: not an index; -2: an index past the end.
  const indexOf = (key) => {
    if (typeof key !== 'string' || !INDEX.test(key)) return -1;
    const i = Number(key);
    return i < length ? i : -2;
  };
  const element = (i) => deepFreeze(parse(n.item(handle, i)));
  return new Proxy([], {
    get(target, key, receiver) {
      if (key === 'length') return length;
      const i = indexOf(key);
      if (i >= 0) return element(i);
      return i === -2 ? undefined : reflectGet(target, key, receiver);
    },
    has(target, key) {
      if (key === 'length') return true;
      const i = indexOf(key);
      if (i >= 0) return true;
      return i === -2 ? false : reflectHas(target, key);
    },
    getOwnPropertyDescriptor(target, key) {
      // length stays writable in the descriptor: the target's own length is, and a proxy
      // may not report it otherwise. Writes still throw (set below).
      if (key === 'length') return { value: length, writable: true, enumerable: false, configurable: false };
      const i = indexOf(key);
      if (i >= 0) return { value: element(i), writable: false, enumerable: true, configurable: true };
      return i === -2 ? undefined : reflectOwn(target, key);
    },
    ownKeys() {
      const keys = new Array(length + 1);
      for (let i = 0; i < length; i++) keys[i] = String(i);
      keys[length] = 'length';
      return keys;
    },
    set: immutable,
    defineProperty: immutable,
    deleteProperty: immutable,
    setPrototypeOf: immutable,
    preventExtensions: immutable,
  });
}

export class SharedArray {
  constructor(name, fn) {
    n.requireInit();
    name = String(name);
    if (name === '') n.goError("empty name provided to SharedArray's constructor");
    if (isAsync(fn)) n.goError('SharedArray constructor does not support async functions as second argument');
    if (typeof fn !== 'function') {
      n.goError("a function is expected as the second argument of SharedArray's constructor");
    }
    let handle = n.claim(name);
    if (handle < 0) {
      try {
        const data = fn();
        if (!Array.isArray(data)) n.goError('only arrays can be made into SharedArray');
        const count = Math.trunc(Number(data.length)) || 0;
        const texts = new Array(count);
        for (let i = 0; i < count; i++) {
          // k6 keeps String(JSON.stringify(x)): an undefined element is the text
          // "undefined", which fails to parse when read.
          texts[i] = String(stringify(data[i]));
        }
        handle = n.publish(name, texts);
      } catch (e) {
        n.abandon(name);
        throw e;
      }
    }
    return view(handle);
  }
}

export default { SharedArray };
)js";

}  // namespace

const BuiltinModule kModuleData{"k6/data", kSource, define};

}  // namespace faultline::loadgen::js
