#include "loadgen/js/engine.h"

#include <js/CompilationAndEvaluation.h>
#include <js/Initialization.h>
#include <js/Modules.h>
#include <js/SourceText.h>

#include <stdexcept>

#include "loadgen/js/errors.h"

namespace faultline::loadgen::js {

Engine::Engine(JitMode jit) : jit_(jit) {
  // Without a JIT there is no executable memory to make: runtimes start faster and smaller.
  if (jit == JitMode::kOff) JS::DisableJitBackend();
  if (!JS_Init()) throw std::runtime_error("SpiderMonkey failed to start (JS_Init)");
  parent_ = JS_NewContext(JS::DefaultHeapMaxBytes);
  if (!parent_ || !JS::InitSelfHostedCode(parent_)) {
    throw std::runtime_error("SpiderMonkey failed to start (parent context)");
  }
}

Engine::~Engine() {
  modules_.clear();  // stencils must go before the engine shuts down
  JS_DestroyContext(parent_);
  JS_ShutDown();
}

JSRuntime* Engine::parent_runtime() const {
  return JS_GetRuntime(parent_);
}

void Engine::freeze() {
  std::lock_guard lock(mutex_);
  frozen_ = true;
}

const CompiledModule* Engine::module(JSContext* cx, const std::string& key,
                                     const std::function<std::optional<std::string>()>& source,
                                     bool& missing, bool& not_loaded) {
  missing = not_loaded = false;
  std::lock_guard lock(mutex_);
  auto it = modules_.find(key);
  if (it != modules_.end()) return &it->second;
  if (frozen_) {
    not_loaded = true;
    return nullptr;
  }
  std::optional<std::string> text = source();
  if (!text) {
    missing = true;
    return nullptr;
  }
  CompiledModule compiled;
  JS::CompileOptions options(cx);
  options.setFileAndLine(key.c_str(), 1);
  // Every function compiled now: runtimes share the bytecode instead of each one parsing
  // functions on first call.
  options.setForceFullParse();
  JS::SourceText<mozilla::Utf8Unit> src;
  if (!src.init(cx, text->data(), text->size(), JS::SourceOwnership::Borrowed)) {
    compiled.error = take_error(cx).message;
  } else {
    compiled.stencil = JS::CompileModuleScriptToStencil(cx, options, src);
    if (!compiled.stencil) compiled.error = take_error(cx).message;
  }
  return &modules_.emplace(key, std::move(compiled)).first->second;
}

}  // namespace faultline::loadgen::js
