/*
 * vboxsim-client: a VBoxManage stand-in for the benchmark's C systems that starts in
 * about a millisecond. It forwards its argv to a long-lived simulator process
 * (bench/fastsim/server.mjs, the same vboxsim code the tests use) over a unix
 * socket and replays that process's stdout, stderr and exit status as its own.
 * `node bin/vboxsim.js` costs ~100 ms of CPU per invocation, which would swamp the
 * 40-1000 ms VBoxManage costs the delay profiles model (../shared/spec/performance.md §3:
 * "Start-up must be ≤1 ms").
 *
 * Wire format (all integers big-endian):
 *   request : u32 argc, then argc × (u32 len, bytes); the client then shuts down its write side
 *   response: frames (u8 kind, u32 len, bytes): kind 1 stdout, 2 stderr, 3 exit (len 4, i32 status)
 *
 * Build: cc -O2 -DSIM_SOCKET='"/path/to/sock"' -o VBoxManage client.c
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef SIM_SOCKET
#error "build with -DSIM_SOCKET='\"/path/to/socket\"'"
#endif

static void die(const char *what) {
  fprintf(stderr, "VBoxManage (vboxsim-client): %s: %s\n", what, strerror(errno));
  exit(1);
}

static void write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    p += w;
    n -= (size_t)w;
  }
}

/* 1: got n bytes; 0: clean EOF before the first byte */
static int read_all(int fd, void *buf, size_t n) {
  char *p = buf;
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, p + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("read");
    }
    if (r == 0) {
      if (got == 0) return 0;
      errno = EPROTO;
      die("truncated reply from the simulator");
    }
    got += (size_t)r;
  }
  return 1;
}

static void put_u32(int fd, uint32_t v) {
  unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
  write_all(fd, b, 4);
}

int main(int argc, char **argv) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (strlen(SIM_SOCKET) >= sizeof sa.sun_path) {
    errno = ENAMETOOLONG;
    die(SIM_SOCKET);
  }
  strcpy(sa.sun_path, SIM_SOCKET);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect " SIM_SOCKET);
  put_u32(fd, (uint32_t)(argc - 1));
  for (int i = 1; i < argc; i++) {
    size_t n = strlen(argv[i]);
    put_u32(fd, (uint32_t)n);
    write_all(fd, argv[i], n);
  }
  shutdown(fd, SHUT_WR);
  for (;;) {
    unsigned char h[5];
    if (!read_all(fd, h, 5)) {
      fprintf(stderr, "VBoxManage (vboxsim-client): the simulator closed the connection without an exit status\n");
      return 1;
    }
    uint32_t len = ((uint32_t)h[1] << 24) | ((uint32_t)h[2] << 16) | ((uint32_t)h[3] << 8) | h[4];
    char *buf = malloc(len ? len : 1);
    if (!buf) die("malloc");
    read_all(fd, buf, len);
    if (h[0] == 1) write_all(1, buf, len);
    else if (h[0] == 2) write_all(2, buf, len);
    else if (h[0] == 3 && len == 4) {
      unsigned char *u = (unsigned char *)buf;
      int status = (int)(((uint32_t)u[0] << 24) | ((uint32_t)u[1] << 16) | ((uint32_t)u[2] << 8) | u[3]);
      return status & 0xff;
    }
    free(buf);
  }
}
