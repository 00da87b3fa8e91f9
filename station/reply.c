/*
 * reply.c — where a reply goes and how it is sent: a TCP connection
 * (rx_tcp.c writes it, queueing behind a slow reader) or a UDP peer (one
 * datagram from the listener's socket). The only file besides the transports
 * that knows them: rx.c and commit.c answer through this one.
 */
#include "daemon.h"
#include "reply.h"
#include "transport.h"

#include <stdio.h>
#include <string.h>

void stn_reply_to_tcp(struct stn_reply_to *t, struct stn_conn *c)
{
    t->conn = c;
    t->udp = NULL;
}

void stn_reply_to_udp(struct stn_reply_to *t, struct stn_listener *l, const struct sockaddr *peer)
{
    t->conn = NULL;
    t->udp = l;
    size_t n = peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                           : sizeof(struct sockaddr_in);
    memcpy(t->peer_addr, peer, n);
}

void stn_reply_hold(const struct stn_reply_to *t)
{
    if (t->conn)
        t->conn->refs++;
}

void stn_reply_release(const struct stn_reply_to *t)
{
    if (t->conn)
        stn_conn_unref(t->conn);
}

void stn_reply_send(const struct stn_reply_to *t, const uint8_t *p, size_t len)
{
    if (t->conn)
        stn_conn_send(t->conn, p, len);
    else if (t->udp)
        stn_udp_send(t->udp, t->peer_addr, p, len);
}

const char *stn_reply_who(const struct stn_reply_to *t)
{
    return t->conn ? t->conn->peer : "udp";
}

void stn_reply_peer_text(const struct stn_reply_to *t, char *out, size_t cap)
{
    if (t->conn) {
        snprintf(out, cap, "%s", t->conn->peer);
        return;
    }
    const struct sockaddr *peer = t->udp ? (const struct sockaddr *)t->peer_addr : NULL;
    char host[64] = "?";
    int port = 0;
    if (peer && peer->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)peer;
        uv_ip4_name(a, host, sizeof host);
        port = ntohs(a->sin_port);
    } else if (peer && peer->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)peer;
        uv_ip6_name(a, host, sizeof host);
        port = ntohs(a->sin6_port);
    }
    snprintf(out, cap, "udp %s:%d", host, port);
}

bool stn_reply_answered(const struct stn_reply_to *t, uint64_t batch)
{
    if (!t->conn || t->conn->answered_batch == batch)
        return false;
    t->conn->answered_batch = batch;
    return true;
}

void stn_replies_add(struct stn_replies *r, const struct stn_reply_to *t, const uint8_t *p,
                     size_t len)
{
    if (t->conn) {
        if (r->cur != t->conn || r->len + len > sizeof r->out) {
            stn_replies_flush(r);
            r->cur = t->conn;
        }
        if (len) {
            memcpy(r->out + r->len, p, len);
            r->len += len;
        }
    } else if (t->udp && len) {
        stn_udp_send(t->udp, t->peer_addr, p, len);
    }
}

void stn_replies_flush(struct stn_replies *r)
{
    if (r->cur && r->len)
        stn_conn_send(r->cur, r->out, r->len);
    r->len = 0;
}
