/*
 * net.h — one-shot client sockets for the vigil tool: connect (TCP) or
 * connect a UDP socket to one peer, send, wait for bytes with a deadline.
 * Plain POSIX sockets and poll(2): the tool sends one frame and exits.
 * It must never talk to any peer but the one it was given.
 */
#ifndef VIGIL_CLI_NET_H
#define VIGIL_CLI_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Results (negative = failure; the message is in net_error()). */
enum net_res {
    NET_OK = 0,
    NET_E_RESOLVE = -1,   /* host/port do not resolve: bad input */
    NET_E_CONNECT = -2,   /* refused, unreachable, or no answer to connect */
    NET_E_IO = -3,        /* send/recv failed (reset, ICMP unreachable...) */
    NET_E_TIMEOUT = -4,   /* deadline passed */
    NET_E_CLOSED = -5,    /* peer closed the connection */
};

/* Monotonic milliseconds. */
int64_t net_now_ms(void);

/* Connects to host:port (TCP, or UDP when udp) by deadline_ms (net_now_ms clock).
 * On success *fd is a blocking socket. */
int net_connect(const char *host, const char *port, bool udp, int64_t deadline_ms, int *fd);
int net_send_all(int fd, const uint8_t *p, size_t n, int64_t deadline_ms);
/* Waits for and reads what is there (one datagram for UDP); *got > 0 on NET_OK. */
int net_recv(int fd, uint8_t *buf, size_t cap, int64_t deadline_ms, size_t *got);
const char *net_error(void);

#endif
