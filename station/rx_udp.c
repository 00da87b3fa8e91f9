/*
 * rx_udp.c — DC-09 over UDP: one datagram is one frame; the reply goes to the
 * sender's address from the same socket. A datagram longer than
 * frame_bytes_max is dropped, counted and logged. Must never reply to a
 * datagram whose CRC or length is wrong (rx.c decides; this file only moves
 * bytes).
 */
#include "daemon.h"
#include "reply.h"
#include "transport.h"

#include <string.h>

static uint8_t dgram_buf[65536];

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = (char *)dgram_buf;
    buf->len = sizeof dgram_buf;
}

static void on_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *addr, unsigned flags)
{
    struct stn_listener *l = u->data;
    struct stn *s = l->s;
    if (nread <= 0 || !addr || s->stopping)
        return;
    s->c.udp_rx++;
    struct stn_reply_to to;
    stn_reply_to_udp(&to, l, addr);
    if ((flags & UV_UDP_PARTIAL) || nread > s->cfg.frame_bytes_max) {
        stn_rx_dropped(s, &to, (size_t)nread, DC09_E_OVERSIZE);
        return;
    }
    struct stn_rx_result res;
    stn_rx_frame(s, &to, (const uint8_t *)buf->base, (size_t)nread, &res);
}

int stn_udp_listen(struct stn *s, struct stn_listener *l, const struct sockaddr *addr)
{
    int rc = uv_udp_init(s->loop, &l->udp);
    if (rc)
        return rc;
    l->udp.data = l;
    l->udp_open = true;
    rc = uv_udp_bind(&l->udp, addr, 0);
    if (rc == 0)
        rc = uv_udp_recv_start(&l->udp, alloc_cb, on_recv);
    return rc;
}

void stn_udp_send(struct stn_listener *l, const void *peer, const uint8_t *p, size_t len)
{
    if (!l->udp_open || uv_is_closing((uv_handle_t *)&l->udp))
        return;
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    const struct sockaddr *sa = peer;
    memcpy(&ss, peer, sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                : sizeof(struct sockaddr_in));
    int rc = uv_udp_try_send(&l->udp, &b, 1, (const struct sockaddr *)&ss);
    if (rc < 0)
        STN_DEBUG("rx", "udp reply not sent: %s", uv_strerror(rc));
}
