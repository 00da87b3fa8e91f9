/*
 * reply.h — private to vigil-station: one type for where a reply goes (a TCP
 * connection or a UDP peer, struct stn_reply_to in stn_internal.h) and one
 * way to send it, so rx.c and commit.c answer panels without knowing the
 * transports (reply.c is the only file that calls into both).
 */
#ifndef STN_REPLY_H
#define STN_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stn_internal.h"

struct sockaddr;

void stn_reply_to_tcp(struct stn_reply_to *t, struct stn_conn *c);
void stn_reply_to_udp(struct stn_reply_to *t, struct stn_listener *l, const struct sockaddr *peer);
/* A batch item keeps the target: a TCP connection is not freed meanwhile. */
void stn_reply_hold(const struct stn_reply_to *t);
void stn_reply_release(const struct stn_reply_to *t);
/* Sends now (TCP: queued behind what the connection has not written yet). */
void stn_reply_send(const struct stn_reply_to *t, const uint8_t *p, size_t len);
/* For log lines: "tcp host:port" or "udp". */
const char *stn_reply_who(const struct stn_reply_to *t);
/* "tcp host:port" or "udp host:port", as stored with a frame. */
void stn_reply_peer_text(const struct stn_reply_to *t, char *out, size_t cap);
/* Notes that batch `batch` answered the target: true the first time (a TCP
 * connection; the commit's linger counts them). */
bool stn_reply_answered(const struct stn_reply_to *t, uint64_t batch);

/* The replies of a committed batch, written with one send per run of items
 * on the same connection (UDP: one datagram each). */
struct stn_replies {
    struct stn_conn *cur;
    size_t len;
    uint8_t out[8192];
};
/* len 0: an item to this target that is not answered (ends a run all the same). */
void stn_replies_add(struct stn_replies *r, const struct stn_reply_to *t, const uint8_t *p,
                     size_t len);
void stn_replies_flush(struct stn_replies *r);

#endif /* STN_REPLY_H */
