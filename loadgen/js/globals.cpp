// The globals k6 gives every runtime besides the language's own (k6-js-api §1.8-§1.10,
// §2.5): __ENV, __VU, console, open, global, the timers, crypto, and the bridge built-in
// modules use to reach their natives. The JavaScript half (console formatting, language
// polyfills, the timers and crypto) is the prelude module every runtime evaluates before
// the script.
#include <js/CompilationAndEvaluation.h>

#include "loadgen/js/modules.h"
#include "loadgen/js/resolution.h"
#include "loadgen/js/runtime.h"
#include "loadgen/js/util.h"
#include "loadgen/report/console.h"

namespace faultline::loadgen::js {

namespace {

// console.* ends here with the formatted text; one k6 log line each (source=console).
bool console_write(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  auto level = to_utf8(cx, args.get(0));
  auto text = to_utf8(cx, args.get(1));
  if (!level || !text) return false;
  log_line(*level, *text, "source=console");  // debug only with --verbose
  args.rval().setUndefined();
  return true;
}

bool define_console_natives(JSContext* cx, JS::HandleObject natives) {
  return JS_DefineFunction(cx, natives, "write", console_write, 2, 0);
}

const BuiltinModule kConsoleNatives{"faultline:console", "", define_console_natives};

// open(path, mode): init only; files are read once per test (FileStore).
bool open_file(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  Runtime& rt = Runtime::of(cx);
  if (rt.phase != Phase::kInit) {
    return throw_go_error(cx,
                          "the \"open\" function is only available in the init stage (i.e. the "
                          "global scope), see https://grafana.com/docs/k6/latest/using-k6/"
                          "test-lifecycle/ for more information");
  }
  auto name = to_utf8(cx, args.get(0));
  if (!name) return false;
  if (name->empty()) return throw_go_error(cx, "open() can't be used with an empty filename");
  std::string path = *name;
  if (path.rfind("file://", 0) == 0) path = url_to_path(path);
  if (path[0] != '/') {
    // Relative to the file whose code calls open() (in practice the module being
    // initialised).
    JS::AutoFilename file;
    std::string base = rt.script().main_url;
    if (JS::DescribeScriptedCaller(cx, &file) && file.get() &&
        std::string(file.get()).rfind("file://", 0) == 0) {
      base = file.get();
    }
    path = url_to_path(url_directory(base)) + path;
  }
  path = absolute_path(path);
  std::string error;
  auto content = rt.script().files.read(path, error);
  if (!content) return throw_go_error(cx, error);
  bool binary = false;
  if (args.length() > 1 && args[1].isString()) {
    auto mode = to_utf8(cx, args[1]);
    binary = mode && *mode == "b";
  }
  if (binary) {
    JSObject* buffer = new_array_buffer(cx, *content);
    if (!buffer) return false;
    args.rval().setObject(*buffer);
    return true;
  }
  JSString* s = new_string(cx, *content);
  if (!s) return false;
  args.rval().setString(s);
  return true;
}

// goError(message): throws a GoError (every module's natives have it).
bool go_error(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  std::string message;
  if (!args.get(0).isUndefined()) {
    auto text = to_utf8(cx, args.get(0));
    if (!text) return false;
    message = *text;
  }
  return throw_go_error(cx, message);
}

// __faultline_native(name): the natives of a built-in module, for its JavaScript half.
bool native_bridge(JSContext* cx, unsigned argc, JS::Value* vp) {
  JS::CallArgs args = JS::CallArgsFromVp(argc, vp);
  auto name = to_utf8(cx, args.get(0));
  if (!name) return false;
  const BuiltinModule* m = *name == kConsoleNatives.name ? &kConsoleNatives : find_builtin(*name);
  JS::RootedObject natives(cx, JS_NewPlainObject(cx));
  if (!natives) return false;
  if (!JS_DefineFunction(cx, natives, "goError", go_error, 1, 0)) return false;
  if (m && m->define_natives && !m->define_natives(cx, natives)) return false;
  args.rval().setObject(*natives);
  return true;
}

}  // namespace

bool define_globals(JSContext* cx, JS::HandleObject global) {
  Runtime& rt = Runtime::of(cx);
  JS::RootedObject env(cx, JS_NewPlainObject(cx));
  if (!env) return false;
  for (const auto& [k, v] : rt.env) {
    JS::RootedString s(cx, new_string(cx, v));
    if (!s) return false;
    JS::RootedValue value(cx, JS::StringValue(s));
    if (!JS_SetProperty(cx, env, k.c_str(), value)) return false;
  }
  JS::RootedValue env_value(cx, JS::ObjectValue(*env));
  JS::RootedValue vu(cx, JS::NumberValue(static_cast<double>(rt.vu_id)));
  return JS_DefineProperty(cx, global, "__ENV", env_value, JSPROP_ENUMERATE) &&
         JS_DefineProperty(cx, global, "__VU", vu, JSPROP_ENUMERATE) &&
         JS_DefineFunction(cx, global, "open", open_file, 2, JSPROP_ENUMERATE) &&
         JS_DefineFunction(cx, global, "__faultline_native", native_bridge, 1, 0);
}

// The JavaScript half of the globals, evaluated as a module before the script.
const char* prelude_source() {
  return R"js(
const native = __faultline_native('faultline:console');

// console's text for one argument (k6 1.5+): strings as they are at the top level,
// objects and arrays in a compact inspect-like form, nested strings quoted.
function show(value, nested, seen) {
  switch (typeof value) {
    case 'string': return nested ? '"' + value + '"' : value;
    case 'undefined': return nested ? 'null' : 'undefined';
    case 'function': return '[object Function]';
    case 'object': break;
    default: return String(value);
  }
  if (value === null) return 'null';
  if (value instanceof Error) return String(value);
  if (value instanceof Date) return nested ? '"' + value.toISOString() + '"' : String(value);
  if (seen.includes(value)) return '[Circular]';
  seen = seen.concat([value]);
  if (value instanceof ArrayBuffer) {
    const bytes = Array.from(new Uint8Array(value), (b) => b.toString(16).padStart(2, '0'));
    return 'ArrayBuffer { [Uint8Contents]: <' + bytes.join(' ') + '>, byteLength: ' +
      value.byteLength + ' }';
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const items = Array.from(value, (v) => show(v, true, seen));
    return value.constructor.name + '(' + value.length + ') [ ' + items.join(', ') + ' ]';
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return '[ ' + Array.from(value, (v) => show(v, true, seen)).join(', ') + ' ]';
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return '{}';
  return '{ ' + keys.map((k) => k + ': ' + show(value[k], true, seen)).join(', ') + ' }';
}
const line = (level) => (...args) => native.write(level, args.map((a) => show(a, false, [])).join(' '));
Object.defineProperty(globalThis, 'console', {
  value: Object.freeze({
    log: line('info'), info: line('info'), warn: line('warning'), error: line('error'),
    debug: line('debug'),
  }),
  writable: true, configurable: true,
});

// What SpiderMonkey 102 lacks of the language level k6 scripts are written for.
const define = (proto, name, fn) => {
  if (!(name in proto)) {
    Object.defineProperty(proto, name, { value: fn, writable: true, configurable: true });
  }
};
for (const proto of [Array.prototype, Object.getPrototypeOf(Int8Array.prototype)]) {
  define(proto, 'findLast', function (fn, self) {
    for (let i = this.length - 1; i >= 0; i--) if (fn.call(self, this[i], i, this)) return this[i];
    return undefined;
  });
  define(proto, 'findLastIndex', function (fn, self) {
    for (let i = this.length - 1; i >= 0; i--) if (fn.call(self, this[i], i, this)) return i;
    return -1;
  });
  define(proto, 'toReversed', function () { return Array.from(this).reverse(); });
  define(proto, 'toSorted', function (cmp) { return Array.from(this).sort(cmp); });
  define(proto, 'with', function (index, value) {
    const copy = Array.from(this);
    const i = index < 0 ? copy.length + index : index;
    if (i < 0 || i >= copy.length) throw new RangeError('Invalid index : ' + index);
    copy[i] = value;
    return copy;
  });
}
define(Array.prototype, 'toSpliced', function (...args) {
  const copy = Array.from(this);
  copy.splice(...args);
  return copy;
});
Object.defineProperty(globalThis, 'global', { value: globalThis, writable: true, configurable: true });

// The timers (§8.4) and WebCrypto's random functions (§2.5) are k6 module natives; these
// globals are the same functions, so each has one implementation.
const timers = __faultline_native('k6/timers');
for (const name of ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval']) {
  Object.defineProperty(globalThis, name,
                        { value: timers[name], writable: true, configurable: true });
}
const random = __faultline_native('k6/crypto');
Object.defineProperty(globalThis, 'crypto', {
  value: { getRandomValues: random.getRandomValues, randomUUID: random.randomUUID },
  writable: true, configurable: true,
});
)js";
}

}  // namespace faultline::loadgen::js
