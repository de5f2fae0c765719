// Forced into the io_uring build of Asio (see cmake/FaultlineDeps.cmake).
//
// Asio 1.22 submits cancel and timeout-remove requests without setting their user_data.
// liburing does not clear that field, so the request inherits the user_data of whatever
// operation used the same submission slot before; once the ring has wrapped, its
// completion is taken for the completion of an unrelated pending operation and the
// operation queues get corrupted (reads are lost, connections hang). These wrappers give
// such requests a null user_data, which Asio ignores on completion.
#pragma once

#include <errno.h>
#include <liburing.h>

static inline void faultline_prep_cancel(struct io_uring_sqe* sqe, void* user_data, int flags) {
  io_uring_prep_cancel(sqe, user_data, flags);
  io_uring_sqe_set_data(sqe, nullptr);
}

static inline void faultline_prep_timeout_remove(struct io_uring_sqe* sqe, __u64 user_data,
                                                 unsigned flags) {
  io_uring_prep_timeout_remove(sqe, user_data, flags);
  io_uring_sqe_set_data(sqe, nullptr);
}

#define io_uring_prep_cancel faultline_prep_cancel
#define io_uring_prep_timeout_remove faultline_prep_timeout_remove

// Asio creates its ring with no setup flags. Cooperative task running lets the kernel
// finish a completion's work when the worker next enters io_uring instead of interrupting
// it (an inter-processor interrupt per completion otherwise); the task-run flag tells
// liburing's peek that such work is waiting. Kernels without them (before 5.19) get the
// plain ring.
static inline int faultline_queue_init(unsigned entries, struct io_uring* ring, unsigned flags) {
  struct io_uring_params params = {};
  params.flags = flags | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  int rc = io_uring_queue_init_params(entries, ring, &params);
  if (rc == -EINVAL) rc = io_uring_queue_init(entries, ring, flags);
  return rc;
}
#define io_uring_queue_init faultline_queue_init
