// Choosing the I/O backend at run time. Both backends are compiled into the binary (see
// cmake/FaultlineDeps.cmake); io_uring is preferred and probed at startup because
// container runtimes commonly block its system calls.
#pragma once

#include <string>
#include <string_view>

namespace faultline {

enum class Backend { kAuto, kIoUring, kEpoll };

bool parse_backend(std::string_view text, Backend& out);
std::string_view backend_name(Backend b);

// Tries to set up a small ring; on failure returns false and explains why.
bool io_uring_usable(std::string& why);

// Resolves kAuto to what this host supports, logging one line when it falls back to epoll.
// A backend asked for by name that cannot start here (io_uring blocked by a container's
// seccomp profile, or disabled) gives false and the reason in `error`.
bool resolve_backend(Backend requested, Backend& out, std::string& error);

}  // namespace faultline
