// Forced into the io_uring build of Asio (see cmake/FaultlineDeps.cmake).
//
// Asio 1.22 submits cancel and timeout-remove requests without setting their user_data.
// liburing does not clear that field, so the request inherits the user_data of whatever
// operation used the same submission slot before; once the ring has wrapped, its
// completion is taken for the completion of an unrelated pending operation and the
// operation queues get corrupted (reads are lost, connections hang). These wrappers give
// such requests a null user_data, which Asio ignores on completion.
#pragma once

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
