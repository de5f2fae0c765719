#include "loadgen/js/modules.h"

#include <array>
#include <string>

namespace faultline::loadgen::js {

namespace {

const BuiltinModule* const kModules[] = {&kModuleK6,        &kModuleHttp,     &kModuleMetrics,
                                         &kModuleExecution, &kModuleEncoding, &kModuleCrypto,
                                         &kModuleTimers,    &kModuleData,     &kModuleWs};

}  // namespace

const BuiltinModule* find_builtin(std::string_view name) {
  for (const BuiltinModule* m : kModules) {
    if (name == m->name) return m;
  }
  return nullptr;
}

bool is_k6_name(std::string_view name) {
  static const std::array<std::string_view, 13> known = {"k6/websockets",
                                                         "k6/net/grpc",
                                                         "k6/browser",
                                                         "k6/html",
                                                         "k6/crypto/x509",
                                                         "k6/secrets",
                                                         "k6/experimental/csv",
                                                         "k6/experimental/fs",
                                                         "k6/experimental/streams",
                                                         "k6/experimental/websockets",
                                                         "k6/experimental/redis",
                                                         "k6/experimental/browser",
                                                         "k6/experimental/grpc"};
  for (auto k : known) {
    if (name == k) return true;
  }
  return false;
}

}  // namespace faultline::loadgen::js
