// Script errors in k6's words: the thrown value's text and a stack in k6's frame syntax
// ("\tat fn (file:///w/script.js:12:11(0))"), and the GoError objects k6's API throws.
#pragma once

#include <jsapi.h>

#include <string>

namespace faultline::loadgen::js {

struct ScriptError {
  std::string message;       // String(thrown value): "Error: boom", "GoError: ...", "boom"
  std::string stack;         // one "\n\tat ..." per frame, possibly empty
  bool uncatchable = false;  // the runtime was interrupted (no exception)
  // "Error: boom\n\tat f (file:///a.js:1:2(0))\n": what k6 logs for an iteration error.
  std::string text() const;
};

// Takes the pending exception off `cx` (there may be none: an uncatchable interrupt).
ScriptError take_error(JSContext* cx);

// Turns SpiderMonkey's Error.stack text ("fn@file:///a.js:1:2\n...") into k6's frame lines.
std::string k6_stack(const std::string& spidermonkey_stack);

// Throws an Error whose name is "GoError" (what k6's Go code throws), with a stack.
// Returns false, for `return throw_go_error(cx, "...")` in natives.
bool throw_go_error(JSContext* cx, const std::string& message);
// Throws a TypeError with `message`.
bool throw_type_error(JSContext* cx, const std::string& message);

}  // namespace faultline::loadgen::js
