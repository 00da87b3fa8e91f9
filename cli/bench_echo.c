/*
 * bench_echo.c — the echo baseline of `vigil bench`: a libuv TCP server on
 * 127.0.0.1 that answers every frame (each CR ends one) with one fixed reply
 * (a real ACK or encrypted ACK made once by the caller, so the client does the same
 * verification work as against the station), so `vigil bench --echo` can state the
 * station's throughput as a ratio of what the network and the client alone
 * reach. It must never parse, decrypt or store anything (that would no longer
 * be a bare baseline) and never listen on anything but 127.0.0.1.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "bench_echo.h"

#define ECHO_REPLY_MAX 512u
#define ECHO_BATCH_MAX 64u

struct bench_echo {
    uv_loop_t loop;
    uv_tcp_t server;
    uv_async_t stop;
    uv_thread_t thread;
    uv_signal_t sigint, sigterm;
    bool foreground;
    char reply[ECHO_REPLY_MAX];
    size_t reply_len;
};

struct echo_conn {
    uv_tcp_t tcp;
    struct bench_echo *e;
    char rbuf[4096];
};

struct echo_write {
    uv_write_t req;
    uv_buf_t bufs[ECHO_BATCH_MAX];
};

static void on_conn_closed(uv_handle_t *h)
{
    free(h->data);
}

static void echo_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct echo_conn *c = h->data;
    buf->base = c->rbuf;
    buf->len = sizeof c->rbuf;
}

static void echo_written(uv_write_t *req, int status)
{
    (void)status;
    free(req->data);
}

static void echo_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct echo_conn *c = s->data;
    if (nread < 0) {
        uv_close((uv_handle_t *)s, on_conn_closed);
        return;
    }
    size_t frames = 0;
    for (ssize_t i = 0; i < nread; i++)
        if (buf->base[i] == '\r')
            frames++;
    while (frames > 0) {
        size_t k = frames < ECHO_BATCH_MAX ? frames : ECHO_BATCH_MAX;
        frames -= k;
        uv_buf_t bufs[ECHO_BATCH_MAX];
        for (size_t i = 0; i < k; i++)
            bufs[i] = uv_buf_init(c->e->reply, (unsigned)c->e->reply_len);
        int w = uv_try_write(s, bufs, (unsigned)k);
        size_t total = k * c->e->reply_len;
        if (w >= 0 && (size_t)w == total)
            continue;
        /* Rest through a queued write (rare on loopback). */
        size_t done = w > 0 ? (size_t)w : 0;
        struct echo_write *ew = malloc(sizeof *ew);
        if (!ew) {
            uv_close((uv_handle_t *)s, on_conn_closed);
            return;
        }
        ew->req.data = ew;
        unsigned nb = 0;
        for (size_t i = 0; i < k; i++) {
            size_t start = i * c->e->reply_len, end = start + c->e->reply_len;
            if (end <= done)
                continue;
            size_t off = done > start ? done - start : 0;
            ew->bufs[nb++] = uv_buf_init(c->e->reply + off, (unsigned)(c->e->reply_len - off));
        }
        if (uv_write(&ew->req, s, ew->bufs, nb, echo_written) != 0) {
            free(ew);
            uv_close((uv_handle_t *)s, on_conn_closed);
            return;
        }
    }
}

static void echo_accept(uv_stream_t *server, int status)
{
    struct bench_echo *e = server->data;
    if (status != 0)
        return;
    struct echo_conn *c = malloc(sizeof *c);
    if (!c)
        return;
    c->e = e;
    uv_tcp_init(&e->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, echo_alloc, echo_read);
}

static void close_any(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, h->type == UV_TCP && h->data && h->data != arg ? on_conn_closed : NULL);
}

static void shutdown_loop(struct bench_echo *e)
{
    uv_walk(&e->loop, close_any, e);
}

static void on_stop(uv_async_t *a)
{
    shutdown_loop(a->data);
}

static void on_signal(uv_signal_t *s, int sig)
{
    (void)sig;
    shutdown_loop(s->data);
}

static void echo_thread(void *arg)
{
    struct bench_echo *e = arg;
    uv_run(&e->loop, UV_RUN_DEFAULT);
}

static int echo_setup(struct bench_echo *e, uint16_t port, const uint8_t *reply, size_t reply_len,
                      uint16_t *bound)
{
    if (reply_len < 2 || reply_len > ECHO_REPLY_MAX)
        return -1;
    e->reply_len = reply_len;
    memcpy(e->reply, reply, reply_len);
    if (uv_loop_init(&e->loop) != 0)
        return -1;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", port, &a);
    uv_tcp_init(&e->loop, &e->server);
    e->server.data = e;
    if (uv_tcp_bind(&e->server, (const struct sockaddr *)&a, 0) != 0 ||
        uv_listen((uv_stream_t *)&e->server, 4096, echo_accept) != 0) {
        uv_close((uv_handle_t *)&e->server, NULL);
        uv_run(&e->loop, UV_RUN_DEFAULT);
        uv_loop_close(&e->loop);
        return -1;
    }
    struct sockaddr_storage ss;
    int len = sizeof ss;
    uv_tcp_getsockname(&e->server, (struct sockaddr *)&ss, &len);
    *bound = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

int bench_echo_start(struct bench_echo **out, uint16_t *port, const uint8_t *reply,
                     size_t reply_len)
{
    struct bench_echo *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    if (echo_setup(e, 0, reply, reply_len, port) != 0) {
        free(e);
        return -1;
    }
    uv_async_init(&e->loop, &e->stop, on_stop);
    e->stop.data = e;
    if (uv_thread_create(&e->thread, echo_thread, e) != 0) {
        uv_close((uv_handle_t *)&e->stop, NULL);
        uv_close((uv_handle_t *)&e->server, NULL);
        uv_run(&e->loop, UV_RUN_DEFAULT);
        uv_loop_close(&e->loop);
        free(e);
        return -1;
    }
    *out = e;
    return 0;
}

void bench_echo_stop(struct bench_echo *e)
{
    if (!e)
        return;
    uv_async_send(&e->stop);
    uv_thread_join(&e->thread);
    uv_loop_close(&e->loop);
    free(e);
}

int bench_echo_serve(uint16_t port, const uint8_t *reply, size_t reply_len)
{
    struct bench_echo *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    uint16_t bound = 0;
    if (echo_setup(e, port, reply, reply_len, &bound) != 0) {
        fprintf(stderr, "vigil: bench: cannot listen on 127.0.0.1:%u\n", port);
        free(e);
        return -1;
    }
    uv_signal_init(&e->loop, &e->sigint);
    e->sigint.data = e;
    uv_signal_start(&e->sigint, on_signal, SIGINT);
    uv_signal_init(&e->loop, &e->sigterm);
    e->sigterm.data = e;
    uv_signal_start(&e->sigterm, on_signal, SIGTERM);
    printf("echo: listening tcp 127.0.0.1:%u, reply %zu bytes per frame\n", bound, reply_len);
    fflush(stdout);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    uv_loop_close(&e->loop);
    free(e);
    return 0;
}
