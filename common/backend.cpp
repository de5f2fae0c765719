#include "common/backend.h"

#include <liburing.h>

#include <cstring>

#include "common/log.h"

namespace faultline {

bool parse_backend(std::string_view text, Backend& out) {
  if (text == "auto") {
    out = Backend::kAuto;
  } else if (text == "io_uring" || text == "uring") {
    out = Backend::kIoUring;
  } else if (text == "epoll") {
    out = Backend::kEpoll;
  } else {
    return false;
  }
  return true;
}

std::string_view backend_name(Backend b) {
  switch (b) {
    case Backend::kAuto:
      return "auto";
    case Backend::kIoUring:
      return "io_uring";
    case Backend::kEpoll:
      return "epoll";
  }
  return "auto";
}

bool io_uring_usable(std::string& why) {
  io_uring ring;
  int rc = io_uring_queue_init(8, &ring, 0);
  if (rc < 0) {
    why = std::strerror(-rc);
    return false;
  }
  io_uring_queue_exit(&ring);
  return true;
}

Backend resolve_backend(Backend requested) {
  if (requested != Backend::kAuto) return requested;
  std::string why;
  if (io_uring_usable(why)) return Backend::kIoUring;
  log::warn().str("reason", why).msg("io_uring unavailable, using epoll");
  return Backend::kEpoll;
}

}  // namespace faultline
