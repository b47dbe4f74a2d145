/*
 * Loopback sender for the ingest benchmark: connects to 127.0.0.1:<port>,
 * writes <prefix>, then <frame> <count> times, then <suffix>, reads until the
 * server closes, and prints {"bytes": …, "seconds": …} (first byte to the
 * server's end of stream). Written in C so that the sender is never the
 * bottleneck being measured.
 *
 *   send <port> <prefix-file> <frame-file> <count> <suffix-file>
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *msg) {
  fprintf(stderr, "send: %s\n", msg);
  exit(2);
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot open an input file");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc(n > 0 ? (size_t)n : 1);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) die("cannot read an input file");
  fclose(f);
  *len = (size_t)n;
  return buf;
}

static void send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) die("write failed (did the server close the connection?)");
    p += w;
    n -= (size_t)w;
  }
}

int main(int argc, char **argv) {
  if (argc < 6) die("usage: send <port> <prefix-file> <frame-file> <count> <suffix-file>");
  size_t plen, flen, slen;
  char *prefix = slurp(argv[2], &plen), *frame = slurp(argv[3], &flen), *suffix = slurp(argv[5], &slen);
  long count = atol(argv[4]);
  /* Batches of whole frames per write, about 1 MiB. */
  size_t per = flen > 0 ? (1u << 20) / flen : 1;
  if (per < 1) per = 1;
  char *batch = malloc(per * flen);
  if (!batch) die("out of memory");
  for (size_t i = 0; i < per; i++) memcpy(batch + i * flen, frame, flen);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in addr = {0};
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)atoi(argv[1]));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) die("cannot connect");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  send_all(fd, prefix, plen);
  for (long sent = 0; sent < count;) {
    long n = count - sent < (long)per ? count - sent : (long)per;
    send_all(fd, batch, (size_t)n * flen);
    sent += n;
  }
  send_all(fd, suffix, slen);
  char sink[65536];
  while (read(fd, sink, sizeof sink) > 0) {
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  close(fd);
  double seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
  printf("{\"bytes\":%.0f,\"seconds\":%.6f}\n", (double)plen + (double)flen * (double)count + (double)slen, seconds);
  return 0;
}
