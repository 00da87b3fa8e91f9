/*
 * bench/net_ceiling.c — the machine's bare network ceiling, measured the way
 * ../shared/docs/PERFORMANCE.md states its first figures: a bare epoll echo
 * (no libuv, no parsing, no crypto) in one process, a client in another, on
 * 127.0.0.1, 100-byte requests and 40-byte replies, stop-and-wait, N
 * connections. PERFORMANCE.md's reference machine does ~206,000 round trips/s
 * at 50 connections and ~187,000 at 1,000; printing this machine's figure in
 * the same run as the station's lets a reader scale the absolute targets to
 * the machine the run happened on.
 *
 *   bench_net_ceiling [--connections N] [--duration S]
 *   (no arguments: 50 connections, then 1,000, 5 s each)
 *
 * It measures the kernel's loopback TCP and the two processes' system calls,
 * nothing of Vigil's: it must stay that bare, or it no longer is a ceiling.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REQ_BYTES 100
#define REP_BYTES 40
#define LAT_MAX   (1u << 22)   /* latency samples kept (reservoir beyond) */

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_net_ceiling: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* The server: one epoll loop, one read per ready socket, one reply per request. */
static void serve(int ls)
{
    int ep = epoll_create1(0);
    if (ep < 0)
        die("epoll_create1");
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = ls };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) != 0)
        die("epoll_ctl");
    static struct epoll_event evs[1024];
    static char buf[65536], rep[REP_BYTES * 64];
    memset(rep, 'r', sizeof rep);
    for (size_t i = REP_BYTES - 1; i < sizeof rep; i += REP_BYTES)
        rep[i] = '\n';
    int one = 1;
    for (;;) {
        int n = epoll_wait(ep, evs, 1024, -1);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == ls) {
                int c = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
                if (c < 0)
                    continue;
                setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                struct epoll_event e = { .events = EPOLLIN, .data.fd = c };
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
                continue;
            }
            ssize_t r = read(fd, buf, sizeof buf);
            if (r <= 0) {
                if (r == 0 || errno != EAGAIN)
                    close(fd);
                continue;
            }
            size_t k = 0;
            for (ssize_t j = 0; j < r; j++)
                k += buf[j] == '\n';
            while (k > 0) {   /* stop-and-wait: k is 1, but answer what came */
                size_t m = k < 64 ? k : 64;
                if (write(fd, rep, m * REP_BYTES) < 0)
                    break;
                k -= m;
            }
        }
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int run(int nconn, double duration_s)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0)
        die("socket");
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 4096) != 0 ||
        getsockname(ls, (struct sockaddr *)&a, &al) != 0)
        die("listen on 127.0.0.1");
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        serve(ls);
        _exit(0);
    }
    close(ls);

    int ep = epoll_create1(0);
    int *fds = calloc((size_t)nconn, sizeof *fds);
    uint64_t *sent = calloc((size_t)nconn, sizeof *sent);
    size_t *got = calloc((size_t)nconn, sizeof *got);
    uint32_t *lat = malloc(LAT_MAX * sizeof *lat);
    if (ep < 0 || !fds || !sent || !got || !lat)
        die("setup");
    char req[REQ_BYTES];
    memset(req, 'q', sizeof req);
    req[REQ_BYTES - 1] = '\n';
    int one = 1;
    for (int i = 0; i < nconn; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&a, sizeof a) != 0)
            die("connect");
        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct epoll_event e = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e);
    }
    /* one second of warm-up, then the measured window */
    uint64_t t0 = now_ns(), warm_end = t0 + 1000000000u;
    uint64_t end = warm_end + (uint64_t)(duration_s * 1e9);
    for (int i = 0; i < nconn; i++) {
        sent[i] = now_ns();
        if (write(fds[i], req, sizeof req) != (ssize_t)sizeof req)
            die("write");
    }
    static struct epoll_event evs[1024];
    static char buf[65536];
    uint64_t trips = 0;
    size_t nlat = 0;
    uint64_t t;
    while ((t = now_ns()) < end) {
        int n = epoll_wait(ep, evs, 1024, 100);
        for (int i = 0; i < n; i++) {
            uint32_t c = evs[i].data.u32;
            ssize_t r = read(fds[c], buf, sizeof buf);
            if (r <= 0)
                die("read (server gone?)");
            got[c] += (size_t)r;
            if (got[c] < REP_BYTES)
                continue;   /* half a reply: the rest comes with the next read */
            got[c] = 0;
            uint64_t done = now_ns();
            if (done >= warm_end) {
                trips++;
                uint32_t us = (uint32_t)((done - sent[c]) / 1000u);
                if (nlat < LAT_MAX)
                    lat[nlat++] = us;
                else {   /* a reservoir: every round trip as likely to be kept */
                    uint64_t slot = ((uint64_t)rand() << 31 | (uint64_t)rand()) % trips;
                    if (slot < LAT_MAX)
                        lat[slot] = us;
                }
            }
            sent[c] = done;
            if (write(fds[c], req, sizeof req) != (ssize_t)sizeof req)
                die("write");
        }
    }
    double secs = (double)(t - warm_end) / 1e9;
    qsort(lat, nlat, sizeof *lat, cmp_u32);
    printf("bare epoll echo  conns=%d duration=%.2fs round_trips/s=%.0f p50=%uus p99=%uus "
           "(PERFORMANCE.md's machine: ~206,000 at 50 connections, ~187,000 at 1,000)\n",
           nconn, secs, (double)trips / secs, nlat ? lat[nlat / 2] : 0,
           nlat ? lat[(size_t)((double)nlat * 0.99)] : 0);
    fflush(stdout);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    for (int i = 0; i < nconn; i++)
        close(fds[i]);
    close(ep);
    free(fds);
    free(sent);
    free(got);
    free(lat);
    return trips > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    int conns = 0;
    double duration = 5.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--connections") == 0 && i + 1 < argc) {
            conns = atoi(argv[++i]);
            if (conns < 1 || conns > 10000) {
                fprintf(stderr, "bench_net_ceiling: --connections: 1..10000\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc) {
            duration = atof(argv[++i]);
            if (!(duration > 0 && duration <= 600)) {
                fprintf(stderr, "bench_net_ceiling: --duration: seconds, 0 < S <= 600\n");
                return 2;
            }
        } else {
            fprintf(stderr, "usage: bench_net_ceiling [--connections N] [--duration S]\n");
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    if (conns)
        return run(conns, duration);
    int rc = run(50, duration);
    return rc | run(1000, duration);
}
