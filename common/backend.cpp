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

bool resolve_backend(Backend requested, Backend& out, std::string& error) {
  std::string why;
  switch (requested) {
    case Backend::kEpoll:
      out = Backend::kEpoll;
      return true;
    case Backend::kIoUring:
      if (!io_uring_usable(why)) {
        error = "the io_uring backend cannot start here (io_uring_queue_init: " + why +
                "); use -backend=epoll or auto";
        return false;
      }
      out = Backend::kIoUring;
      return true;
    case Backend::kAuto:
      break;
  }
  if (io_uring_usable(why)) {
    out = Backend::kIoUring;
  } else {
    log::warn().str("reason", why).msg("io_uring unavailable, using epoll");
    out = Backend::kEpoll;
  }
  return true;
}

}  // namespace faultline
