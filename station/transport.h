/*
 * transport.h — private to vigil-station: the DC-09 transports (rx_tcp.c,
 * conns.c, rx_udp.c). Only the transports, reply.c (which sends through
 * them), main.c (which starts and stops them) and unknown.c (a connection's
 * source address) see this; rx.c and commit.c answer through reply.h.
 */
#ifndef STN_TRANSPORT_H
#define STN_TRANSPORT_H

#include "daemon.h"

/* A listener: TCP and UDP on the same host:port. */
struct stn_listener {
    uv_tcp_t tcp;
    uv_udp_t udp;
    struct stn *s;
    char host[256];
    int  port;                    /* actual bound port */
    bool tcp_open, udp_open;
};

/* Open connections of one source address (conns.c). */
struct stn_addr_count {
    struct stn_addr_count *next;   /* hash chain */
    uint8_t  key[17];              /* family byte + IPv4 or IPv6 address */
    uint32_t n;
};

/* A TCP connection (rx_tcp.c). Freed when closed and no batch item refers to it. */
struct stn_conn {
    uv_tcp_t tcp;
    struct stn *s;
    struct stn_conn *prev, *next; /* in s->tiers[tier] */
    struct dc09_reader reader;
    int64_t  last_valid_ms;       /* last frame with a good CRC and length (or accept) */
    int64_t  partial_since_ms;    /* 0: no bytes pending since the last valid frame */
    int64_t  opened_ms;           /* accepted */
    struct stn_addr_count *addr;  /* its source address's count (NULL: unknown) */
    uint32_t refs;                /* batch items waiting to answer on it */
    uint32_t valid_in_read;       /* valid frames in the read being parsed */
    uint8_t  tier;                /* enum stn_tier */
    bool     closing;
    bool     paused;              /* reading stopped while the batch is full */
    bool     framed;              /* reader quirks set from an accepted frame's account */
    bool     yielded;             /* read a full buffer: waits for the next loop pass */
    struct stn_conn *yield_next;  /* in rx_tcp.c's list of those (holding a ref) */
    uint64_t answered_batch;      /* batch whose replies it got last (the linger's score) */
    char     peer[48];
    uint8_t *rbuf;                /* its reader's buffer while a frame is split across
                                   * reads (frame_bytes_max); NULL: the shared one */
};

/* rx_tcp.c */
int  stn_tcp_listen(struct stn *s, struct stn_listener *l, const struct sockaddr *addr);
void stn_conn_unref(struct stn_conn *c);
void stn_conn_close(struct stn_conn *c);
void stn_tcp_sweep(struct stn *s, int64_t now_ms);
void stn_tcp_pause_all_resume(struct stn *s);
/* Once per loop pass (uv_check): connections that read a full buffer read again. */
void stn_tcp_resume_yielded(struct stn *s);
void stn_conn_send(struct stn_conn *c, const uint8_t *p, size_t len);
void stn_tcp_stop(struct stn *s);
/* conns.c: the table of open connections, its tiers and per-address counts */
int  stn_conns_init(struct stn *s);
void stn_conns_free(struct stn *s);
void stn_conns_link(struct stn *s, struct stn_conn *c);     /* a new connection, SILENT */
void stn_conns_unlink(struct stn *s, struct stn_conn *c);
/* A valid frame arrived on c (accepted: for a registered account): tier up, last in line. */
void stn_conns_heard(struct stn *s, struct stn_conn *c, bool accepted, int64_t now_ms);
/* The connection to close so a new one fits: lowest tier, then idle longest. */
struct stn_conn *stn_conns_victim(const struct stn *s);
/* Counts a new connection from addr against max_connections_per_address:
 * 0 and *out set, or STN_E_INVAL when that address is at its limit. */
int  stn_addrs_take(struct stn *s, const struct sockaddr *addr, struct stn_addr_count **out);
void stn_addrs_release(struct stn *s, struct stn_addr_count *a);
/* Raises the open-file soft limit to the hard one; returns the limit now. */
uint64_t stn_nofile_raise(void);
uint64_t stn_nofile_now(void);       /* the soft limit (0: unknown) */
/* Descriptors kept for everything but DC-09 connections (store, logs, ...). */
uint64_t stn_fd_reserve(size_t nlisteners);
/* The max_connections to run with: `want` (0: what fits, at most
 * STN_CONNS_AUTO_MAX) if it fits under nofile beside the reserve; otherwise
 * STN_E_CONFIG and a message with the numbers. */
#define STN_CONNS_AUTO_MAX 20000
int  stn_conns_fit(int64_t want, uint64_t nofile, size_t nlisteners, int64_t *out,
                   char *msg, size_t cap);
/* rx_udp.c */
int  stn_udp_listen(struct stn *s, struct stn_listener *l, const struct sockaddr *addr);
void stn_udp_send(struct stn_listener *l, const void *peer, const uint8_t *p, size_t len);

#endif /* STN_TRANSPORT_H */
