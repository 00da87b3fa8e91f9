/*
 * bench_echo.c — the echo baseline of `vigil bench`: a libuv TCP server on
 * 127.0.0.1 that answers every frame (each CR ends one) with one fixed reply
 * (a real ACK or encrypted ACK made once by the caller, so the client does the same
 * verification work as against the station), so `vigil bench --echo` can state the
 * station's throughput as a ratio of what the network and the client alone
 * reach. It must never parse, decrypt or store anything (that would no longer
 * be a bare baseline) and never listen on anything but 127.0.0.1.
 *
 * The durable echo (`vigil bench --durable-echo DIR`) is the same server with
 * the one thing durability cannot do without: the frames read in one loop
 * iteration are written to a file in DIR and fdatasync'd once, then answered
 * — the simplest group commit there is (no parsing, no crypto, no SQLite, no
 * index, blocks the file already has). What it reaches is the ceiling of a
 * reply-after-fdatasync design on that disk, so the station's figure can be
 * read against the disk as well as against the network.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>
#include <uv.h>

#include "bench_echo.h"

#define ECHO_REPLY_MAX 512u
#define ECHO_BATCH_MAX 64u
#define SYNC_FILE_BYTES (1u << 20)      /* written over and over: no size change */
#define SYNC_BUF_BYTES (256u << 10)     /* bytes of frames kept per batch */

struct bench_echo {
    uv_loop_t loop;
    uv_tcp_t server;
    uv_async_t stop;
    uv_thread_t thread;
    uv_signal_t sigint, sigterm;
    bool foreground;
    char reply[ECHO_REPLY_MAX];
    size_t reply_len;
    /* durable echo only (sync_fd >= 0) */
    int sync_fd;
    uv_check_t check;
    uint8_t *sync_buf;
    size_t sync_len;
    off_t sync_off;
    struct echo_conn **waiting;   /* connections with frames in this batch */
    size_t nwaiting, waiting_cap;
    char sync_path[4096];
};

struct echo_conn {
    uv_tcp_t tcp;
    struct bench_echo *e;
    size_t frames_waiting;        /* durable echo: read, not yet synced */
    bool closed;                  /* closed while in a batch: freed after it */
    char rbuf[4096];
};

struct echo_write {
    uv_write_t req;
    uv_buf_t bufs[ECHO_BATCH_MAX];
};

static void on_conn_closed(uv_handle_t *h)
{
    struct echo_conn *c = h->data;
    if (c->frames_waiting)
        c->closed = true;   /* still listed in the batch: freed when it is answered */
    else
        free(c);
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

/* Writes `frames` copies of the reply; false if the connection had to close. */
static bool echo_reply(struct echo_conn *c, size_t frames)
{
    uv_stream_t *s = (uv_stream_t *)&c->tcp;
    /* Closed by its reader in this loop pass (the peer left) while its frames
     * waited for the durable echo's sync: on_conn_closed has not run yet, and
     * a second uv_close would abort (the storm bench hit it). */
    if (uv_is_closing((uv_handle_t *)s))
        return false;
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
            return false;
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
            return false;
        }
    }
    return true;
}

/* Durable echo, after each poll phase: one write and one fdatasync for every
 * frame read in it, then the replies. A failed write or sync answers nothing
 * (the client times out and says so): never a reply for bytes not synced. */
static void sync_batch(uv_check_t *h)
{
    struct bench_echo *e = h->data;
    if (e->nwaiting == 0)
        return;
    bool ok = true;
    size_t len = e->sync_len;
    if (e->sync_off + (off_t)len > (off_t)SYNC_FILE_BYTES)
        e->sync_off = 0;
    if (pwrite(e->sync_fd, e->sync_buf, len, e->sync_off) != (ssize_t)len ||
        fdatasync(e->sync_fd) != 0) {
        fprintf(stderr, "vigil: bench: durable echo: write or fdatasync failed: %s\n",
                strerror(errno));
        ok = false;
    }
    e->sync_off += (off_t)((len + 4095u) & ~(size_t)4095u);
    e->sync_len = 0;
    for (size_t i = 0; i < e->nwaiting; i++) {
        struct echo_conn *c = e->waiting[i];
        size_t frames = c->frames_waiting;
        c->frames_waiting = 0;
        if (c->closed)
            free(c);
        else if (ok)
            echo_reply(c, frames);
    }
    e->nwaiting = 0;
}

/* Durable echo: keeps what was read for the batch's write. */
static bool sync_keep(struct echo_conn *c, const char *p, size_t n, size_t frames)
{
    struct bench_echo *e = c->e;
    if (frames && c->frames_waiting == 0) {
        if (e->nwaiting == e->waiting_cap) {
            size_t ncap = e->waiting_cap ? e->waiting_cap * 2 : 256;
            struct echo_conn **w = realloc(e->waiting, ncap * sizeof *w);
            if (!w)
                return false;
            e->waiting = w;
            e->waiting_cap = ncap;
        }
        e->waiting[e->nwaiting++] = c;
    }
    c->frames_waiting += frames;
    size_t room = SYNC_BUF_BYTES - e->sync_len;
    size_t k = n < room ? n : room;   /* past 256 KiB a batch writes its first 256 KiB */
    memcpy(e->sync_buf + e->sync_len, p, k);
    e->sync_len += k;
    return true;
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
    if (c->e->sync_fd >= 0) {
        /* every byte read is written, a frame's first half included */
        if (!sync_keep(c, buf->base, (size_t)nread, frames))
            uv_close((uv_handle_t *)s, on_conn_closed);
        return;
    }
    if (frames)
        echo_reply(c, frames);
}

static void echo_accept(uv_stream_t *server, int status)
{
    struct bench_echo *e = server->data;
    if (status != 0)
        return;
    struct echo_conn *c = calloc(1, sizeof *c);
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

/* Durable echo: a file in dir, written over in place (1 MiB, allocated and
 * synced first, so each batch's fdatasync changes no size or metadata). */
static int sync_setup(struct bench_echo *e, const char *dir)
{
    snprintf(e->sync_path, sizeof e->sync_path, "%s/vigil-bench-durable-echo.%ld", dir,
             (long)getpid());
    e->sync_fd = open(e->sync_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    e->sync_buf = malloc(SYNC_BUF_BYTES);
    if (e->sync_fd < 0 || !e->sync_buf) {
        fprintf(stderr, "vigil: bench: durable echo: cannot create %s: %s\n", e->sync_path,
                e->sync_fd < 0 ? strerror(errno) : "out of memory");
        return -1;
    }
    memset(e->sync_buf, 0, SYNC_BUF_BYTES);
    for (size_t off = 0; off < SYNC_FILE_BYTES; off += SYNC_BUF_BYTES)
        if (pwrite(e->sync_fd, e->sync_buf, SYNC_BUF_BYTES, (off_t)off) != (ssize_t)SYNC_BUF_BYTES) {
            fprintf(stderr, "vigil: bench: durable echo: cannot write %s: %s\n", e->sync_path,
                    strerror(errno));
            return -1;
        }
    if (fsync(e->sync_fd) != 0) {
        fprintf(stderr, "vigil: bench: durable echo: cannot fsync %s: %s\n", e->sync_path,
                strerror(errno));
        return -1;
    }
    return 0;
}

static void echo_free(struct bench_echo *e)
{
    for (size_t i = 0; i < e->nwaiting; i++)
        if (e->waiting[i]->closed)
            free(e->waiting[i]);
    free(e->waiting);
    free(e->sync_buf);
    if (e->sync_fd >= 0) {
        close(e->sync_fd);
        unlink(e->sync_path);
    }
    free(e);
}

int bench_echo_start(struct bench_echo **out, uint16_t *port, const uint8_t *reply,
                     size_t reply_len, const char *sync_dir)
{
    struct bench_echo *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    e->sync_fd = -1;
    if (sync_dir && sync_setup(e, sync_dir) != 0) {
        echo_free(e);
        return -1;
    }
    if (echo_setup(e, 0, reply, reply_len, port) != 0) {
        echo_free(e);
        return -1;
    }
    if (e->sync_fd >= 0) {
        uv_check_init(&e->loop, &e->check);
        e->check.data = e;
        uv_check_start(&e->check, sync_batch);
    }
    uv_async_init(&e->loop, &e->stop, on_stop);
    e->stop.data = e;
    if (uv_thread_create(&e->thread, echo_thread, e) != 0) {
        shutdown_loop(e);
        uv_run(&e->loop, UV_RUN_DEFAULT);
        uv_loop_close(&e->loop);
        echo_free(e);
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
    echo_free(e);
}

int bench_echo_serve(uint16_t port, const uint8_t *reply, size_t reply_len)
{
    struct bench_echo *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    e->sync_fd = -1;
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
