#include "loadgen/js/engine.h"

#include <js/CompilationAndEvaluation.h>
#include <js/Initialization.h>
#include <js/Modules.h>
#include <js/SourceText.h>

#include <stdexcept>
#include <string>
#include <utility>

#include "loadgen/js/errors.h"
#include "loadgen/report/console.h"

namespace faultline::loadgen::js {

namespace {

// What SpiderMonkey reports of its JIT tiers, e.g. "baseline interpreter on, baseline
// compiler on, Ion off".
std::string jit_state(JSContext* cx) {
  const std::pair<JSJitCompilerOption, const char*> tiers[] = {
      {JSJITCOMPILER_BASELINE_INTERPRETER_ENABLE, "baseline interpreter"},
      {JSJITCOMPILER_BASELINE_ENABLE, "baseline compiler"},
      {JSJITCOMPILER_ION_ENABLE, "Ion"},
  };
  std::string out;
  for (const auto& [option, name] : tiers) {
    uint32_t on = 0;
    if (!JS_GetGlobalJitCompilerOption(cx, option, &on)) on = 0;
    if (!out.empty()) out += ", ";
    out += std::string(name) + (on ? " on" : " off");
  }
  return out;
}

}  // namespace

Engine::Engine(JitMode jit) : jit_(jit) {
  // Without a JIT there is no executable memory to make: runtimes start faster and smaller.
  if (jit == JitMode::kOff) JS::DisableJitBackend();
  if (!JS_Init()) throw std::runtime_error("SpiderMonkey failed to start (JS_Init)");
  parent_ = JS_NewContext(JS::DefaultHeapMaxBytes);
  if (!parent_ || !JS::InitSelfHostedCode(parent_)) {
    throw std::runtime_error("SpiderMonkey failed to start (parent context)");
  }
  // The JIT options are the process's: set once here, before any VU's context exists. With
  // the backend disabled no tier can run; the options say so too.
  if (jit != JitMode::kFull) JS_SetGlobalJitCompilerOption(parent_, JSJITCOMPILER_ION_ENABLE, 0);
  if (jit == JitMode::kOff) {
    JS_SetGlobalJitCompilerOption(parent_, JSJITCOMPILER_BASELINE_ENABLE, 0);
    JS_SetGlobalJitCompilerOption(parent_, JSJITCOMPILER_BASELINE_INTERPRETER_ENABLE, 0);
  }
  log_line("debug", "JavaScript engine: SpiderMonkey " + std::to_string(MOZJS_MAJOR_VERSION) +
                        ", JIT " + jit_state(parent_));
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
