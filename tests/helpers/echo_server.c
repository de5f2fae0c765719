// A small epoll echo server for the soak test: what arrives on a connection is written
// back unchanged. Single-threaded and cheap, so the test's CPU goes to the proxy it
// measures rather than to the upstream. Usage: echo_server PORT [PORT...] (127.0.0.1);
// prints "ready" once every port listens; runs until killed.
#define _GNU_SOURCE  // accept4
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kBufSize = 65536, kMaxListeners = 16 };

struct conn {
  int fd;
  int listener;    // a listening socket: accept, do not echo
  size_t pending;  // bytes read but not yet written back
  size_t offset;   // how many of them were written
  char buf[kBufSize];
};

static struct conn listeners[kMaxListeners];

static void drop(int ep, struct conn* c) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c);
}

// Writes what is pending; 0 when all of it went, 1 when the socket is full, -1 on error.
static int flush(struct conn* c) {
  while (c->offset < c->pending) {
    ssize_t n = send(c->fd, c->buf + c->offset, c->pending - c->offset, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN ? 1 : -1;
    }
    c->offset += (size_t)n;
  }
  c->pending = c->offset = 0;
  return 0;
}

static void serve(int ep, struct conn* c, uint32_t events) {
  if (events & EPOLLOUT) {
    int r = flush(c);
    if (r < 0) {
      drop(ep, c);
      return;
    }
    if (r > 0) return;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
  }
  if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || c->pending) return;
  ssize_t n = recv(c->fd, c->buf, kBufSize, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    drop(ep, c);
    return;
  }
  if (n < 0) return;
  c->pending = (size_t)n;
  c->offset = 0;
  int r = flush(c);
  if (r < 0) {
    drop(ep, c);
    return;
  }
  if (r > 0) {  // the peer reads slowly: stop reading until this is written
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
  }
}

int main(int argc, char** argv) {
  if (argc < 2 || argc - 1 > kMaxListeners) {
    fprintf(stderr, "usage: %s PORT [PORT...]\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  for (int i = 1; i < argc; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)atoi(argv[i])),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(fd, 4096) != 0) {
      perror("echo_server: bind");
      return 1;
    }
    struct conn* l = &listeners[i - 1];
    l->fd = fd;
    l->listener = 1;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = l};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  printf("ready\n");
  fflush(stdout);
  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      struct conn* c = events[i].data.ptr;
      if (c->listener) {
        for (;;) {
          int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          int one = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct conn* fresh = calloc(1, sizeof *fresh);
          fresh->fd = fd;
          struct epoll_event ev = {.events = EPOLLIN, .data.ptr = fresh};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        }
        continue;
      }
      serve(ep, c, events[i].events);
    }
  }
}
