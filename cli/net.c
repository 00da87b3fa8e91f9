/*
 * net.c — see net.h. Blocking sockets driven by poll(2) with one deadline;
 * errors are kept as one readable sentence for the caller to print.
 * It must never resolve or contact anything but the host it was given.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net.h"

static char last_error[256];

const char *net_error(void)
{
    return last_error;
}

int64_t net_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline_ms)
{
    int64_t left = deadline_ms - net_now_ms();
    if (left < 0)
        return 0;
    return left > 1000000000 ? 1000000000 : (int)left;
}

/* Waits for `events` on fd until the deadline: NET_OK, NET_E_TIMEOUT or NET_E_IO. */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
    for (;;) {
        struct pollfd p = { .fd = fd, .events = events, .revents = 0 };
        int n = poll(&p, 1, remaining_ms(deadline_ms));
        if (n > 0)
            return NET_OK;
        if (n == 0)
            return NET_E_TIMEOUT;
        if (errno != EINTR) {
            snprintf(last_error, sizeof last_error, "poll: %s", strerror(errno));
            return NET_E_IO;
        }
    }
}

static int try_connect(const struct addrinfo *ai, int64_t deadline_ms, int *out)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        snprintf(last_error, sizeof last_error, "socket: %s", strerror(errno));
        return NET_E_CONNECT;
    }
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
        rc = wait_fd(fd, POLLOUT, deadline_ms);
        if (rc == NET_E_TIMEOUT) {
            snprintf(last_error, sizeof last_error, "connect: no answer in time");
            close(fd);
            return NET_E_TIMEOUT;
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (rc == NET_OK && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr != 0) {
            errno = soerr;
            rc = -1;
        }
    }
    if (rc != 0) {
        snprintf(last_error, sizeof last_error, "connect: %s", strerror(errno));
        close(fd);
        return NET_E_CONNECT;
    }
    fcntl(fd, F_SETFL, flags);
    *out = fd;
    return NET_OK;
}

int net_connect(const char *host, const char *port, bool udp, int64_t deadline_ms, int *fd)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = udp ? SOCK_DGRAM : SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        snprintf(last_error, sizeof last_error, "%s port %s: %s", host, port, gai_strerror(gai));
        return NET_E_RESOLVE;
    }
    int rc = NET_E_CONNECT;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        rc = try_connect(ai, deadline_ms, fd);
        if (rc == NET_OK || rc == NET_E_TIMEOUT)
            break;
    }
    freeaddrinfo(res);
    return rc;
}

int net_send_all(int fd, const uint8_t *p, size_t n, int64_t deadline_ms)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            int rc = wait_fd(fd, POLLOUT, deadline_ms);
            if (rc != NET_OK) {
                if (rc == NET_E_TIMEOUT)
                    snprintf(last_error, sizeof last_error, "send: timed out");
                return rc;
            }
            continue;
        }
        snprintf(last_error, sizeof last_error, "send: %s", strerror(errno));
        return NET_E_IO;
    }
    return NET_OK;
}

int net_recv(int fd, uint8_t *buf, size_t cap, int64_t deadline_ms, size_t *got)
{
    for (;;) {
        int rc = wait_fd(fd, POLLIN, deadline_ms);
        if (rc != NET_OK) {
            if (rc == NET_E_TIMEOUT)
                snprintf(last_error, sizeof last_error, "no reply in time");
            return rc;
        }
        ssize_t r = recv(fd, buf, cap, MSG_DONTWAIT);
        if (r > 0) {
            *got = (size_t)r;
            return NET_OK;
        }
        if (r == 0) {
            snprintf(last_error, sizeof last_error, "the peer closed the connection without a reply");
            return NET_E_CLOSED;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            continue;
        snprintf(last_error, sizeof last_error, "receive: %s", strerror(errno));
        return NET_E_IO;
    }
}
