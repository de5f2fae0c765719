// The io_uring ring Asio creates goes through common/asio_uring_fixes.h, which must ask for
// cooperative task running wherever the kernel offers it.
#include <catch2/catch.hpp>

#include "common/asio_uring_fixes.h"

TEST_CASE("rings made through the Asio fixes run task work cooperatively", "[uring]") {
  // What the kernel offers, asked directly.
  struct io_uring probe;
  struct io_uring_params params = {};
  params.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  int supported = io_uring_queue_init_params(8, &probe, &params);
  if (supported < 0) {
    WARN("io_uring or its cooperative task running is unavailable here: " << supported);
    return;
  }
  io_uring_queue_exit(&probe);

  struct io_uring ring;
  REQUIRE(io_uring_queue_init(8, &ring, 0) == 0);  // the name Asio calls
  CHECK((ring.flags & IORING_SETUP_COOP_TASKRUN) != 0);
  CHECK((ring.flags & IORING_SETUP_TASKRUN_FLAG) != 0);
  io_uring_queue_exit(&ring);
}
