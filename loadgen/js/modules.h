// k6's built-in modules. Each lives in a file of its own (module_<name>.cpp) as a small ES
// module written in JavaScript — the shape k6 scripts see — over natives in C++ that do
// the work through the runtime's VuHost. A module's source reaches its natives through
// `__faultline_native("<module name>")`, which also carries the natives every module
// shares: goError(message) throws k6's GoError.
#pragma once

#include <jsapi.h>

#include <string_view>

namespace faultline::loadgen::js {

struct BuiltinModule {
  const char* name;    // the import name: "k6/http"
  const char* source;  // the module's JavaScript
  // Defines the module's natives on `natives` (the object __faultline_native returns); may
  // be null for modules written wholly in JavaScript.
  bool (*define_natives)(JSContext* cx, JS::HandleObject natives);
};

// The built-in module named `name`, or null.
const BuiltinModule* find_builtin(std::string_view name);
// Whether `name` is a k6 module loadgen does not provide (for k6's error text).
bool is_k6_name(std::string_view name);

// The modules, one per file (module_*.cpp), listed in modules.cpp.
extern const BuiltinModule kModuleK6;
extern const BuiltinModule kModuleHttp;
extern const BuiltinModule kModuleMetrics;
extern const BuiltinModule kModuleExecution;
extern const BuiltinModule kModuleEncoding;
extern const BuiltinModule kModuleCrypto;
extern const BuiltinModule kModuleTimers;
extern const BuiltinModule kModuleData;
extern const BuiltinModule kModuleWs;

// The globals every runtime has besides the standard ones (console, open, __ENV, ...),
// defined in globals.cpp.
bool define_globals(JSContext* cx, JS::HandleObject global);
// The JavaScript half of the globals (console, language polyfills), evaluated as a module
// before the script.
const char* prelude_source();

}  // namespace faultline::loadgen::js
