// Process-wide SpiderMonkey state: JS_Init, the parent runtime every VU's context is made
// from, and the compiled code of every module, shared by all runtimes.
//
// Execution model (docs/architecture.md): one thread and one JSContext per runtime, each
// context a child of the parent runtime made here (it shares the parent's self-hosted
// code and permanent atoms). A module is parsed once per test into a stencil and
// instantiated in each runtime from it, so a VU's init costs no parsing.
#pragma once

#include <js/experimental/JSStencil.h>
#include <jsapi.h>
#include <mozilla/RefPtr.h>

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace faultline::loadgen::js {

// How much of SpiderMonkey's JIT the VUs use.
enum class JitMode {
  kOff,       // the C++ interpreter only: cheapest start and memory, slowest script code
  kBaseline,  // baseline interpreter and compiler: fast enough, no Ion memory
  kFull,      // everything, Ion included
};

// One compiled module: its stencil, or the error its compilation gave.
struct CompiledModule {
  RefPtr<JS::Stencil> stencil;
  std::string error;  // a JS SyntaxError's text, "SyntaxError: ... at file:line:col"
};

class Engine {
 public:
  // Starts SpiderMonkey; the calling thread keeps the parent context until destruction.
  explicit Engine(JitMode jit);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  JSRuntime* parent_runtime() const;
  JitMode jit() const { return jit_; }

  // The compiled module for `key` (a file URL or a built-in module name), compiling
  // `source` in `cx` the first time. `source` returns nullopt when the module cannot be
  // read; then the result is null and `missing` is set. Once frozen, a key never compiled
  // before gives null with `not_loaded` set (k6 resolves modules only in the first init).
  // Thread-safe.
  const CompiledModule* module(JSContext* cx, const std::string& key,
                               const std::function<std::optional<std::string>()>& source,
                               bool& missing, bool& not_loaded);
  void freeze();

 private:
  JitMode jit_;
  JSContext* parent_ = nullptr;
  std::mutex mutex_;
  std::map<std::string, CompiledModule> modules_;
  bool frozen_ = false;
};

}  // namespace faultline::loadgen::js
