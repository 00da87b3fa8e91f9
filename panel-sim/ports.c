/*
 * ports.c — vigil-panel's Linux ports: the state file (two A/B regions, one
 * for the core's record and one for the communicator's, each save written
 * with pwrite + fdatasync as a flash write would be final), the device key
 * file, the account key, and the network paths on libuv (a persistent TCP
 * connection or a UDP socket per path).
 *
 * Never: print a key or a code; accept a datagram from an address other than
 * the receiver it was sent to (the communicator only sees bytes from its peer).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "sim.h"

/* ---- clocks ---------------------------------------------------------- */

uint64_t sim_real_ms(const struct sim *s)
{
    return (uv_hrtime() - s->t0_ns) / 1000000u + 1000u;   /* never 0 */
}

uint64_t sim_core_ms(const struct sim *s)
{
    return s->fast ? s->virt_ms : sim_real_ms(s);
}

int64_t sim_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- storage --------------------------------------------------------- */

static int st_read(struct pnl_storage *b, unsigned slot, size_t off, uint8_t *buf, size_t len)
{
    struct sim_store *st = (struct sim_store *)b;
    if (slot > 1 || off + len > b->slot_size)
        return PNL_E_STORAGE;
    size_t at = slot * b->slot_size + off;
    if (st->fd < 0) {
        memcpy(buf, st->mem + at, len);
        return 0;
    }
    ssize_t n = pread(st->fd, buf, len, st->off + (off_t)at);
    if (n < 0)
        return PNL_E_STORAGE;
    if ((size_t)n < len)
        memset(buf + n, 0, len - (size_t)n);   /* past the end: never written */
    return 0;
}

static int st_write(struct pnl_storage *b, unsigned slot, size_t off, const uint8_t *buf,
                    size_t len)
{
    struct sim_store *st = (struct sim_store *)b;
    if (slot > 1 || off + len > b->slot_size)
        return PNL_E_STORAGE;
    size_t at = slot * b->slot_size + off;
    if (st->fd < 0) {
        memcpy(st->mem + at, buf, len);
        return 0;
    }
    ssize_t n = pwrite(st->fd, buf, len, st->off + (off_t)at);
    if (n < 0 || (size_t)n != len || fdatasync(st->fd) < 0)
        return PNL_E_STORAGE;
    return 0;
}

static size_t core_slot(void) { return (pnl_record_size() + 511u) & ~(size_t)511u; }
static size_t comm_slot(void) { return (comm_record_size() + 127u) & ~(size_t)127u; }

size_t sim_state_size(void) { return 2 * core_slot() + 2 * comm_slot(); }

int sim_state_open(struct sim *s, const char *path, size_t need)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "vigil-panel: state %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) == 0 && (size_t)sb.st_size < need && ftruncate(fd, (off_t)need) < 0) {
        fprintf(stderr, "vigil-panel: state %s: %s\n", path, strerror(errno));
        close(fd);
        return -1;
    }
    s->state_fd = fd;
    return 0;
}

static void store_init(struct sim_store *st, struct sim_panel *sp, int fd, off_t off,
                       size_t slot)
{
    st->base.slot_size = slot;
    st->base.read = st_read;
    st->base.write = st_write;
    st->panel = sp;
    st->fd = fd;
    st->off = off;
    st->mem = fd < 0 ? calloc(2, slot) : NULL;
    if (fd < 0 && st->mem == NULL) {
        fprintf(stderr, "vigil-panel: out of memory\n");
        exit(1);
    }
}

/* ---- keys ------------------------------------------------------------ */

static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}

/* Reads a key file: 32/48/64 hex digits are hex, 16/24/32 other characters
 * ASCII; trailing CR/LF/space stripped. */
static int key_from_file(const char *path, struct dc09_key *k)
{
    char buf[130];
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -errno;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    bool hex = (n == 32 || n == 48 || n == 64) && strspn(buf, "0123456789abcdefABCDEF") == n;
    int e = hex ? dc09_key_from_hex(k, buf, n) : dc09_key_from_ascii(k, buf, n);
    wipe(buf, sizeof buf);
    return e < 0 ? -EINVAL : 0;
}

int sim_device_key(const char *path, struct dc09_key *k)
{
    int e = key_from_file(path, k);
    if (e == 0)
        return 0;
    if (e != -ENOENT) {
        fprintf(stderr, "vigil-panel: device key %s: %s\n", path,
                e == -EINVAL ? "not 32/48/64 hex digits or 16/24/32 characters" : strerror(-e));
        return -1;
    }
    /* First start: a fresh random AES-128 device key, readable by us alone. */
    uint8_t raw[16];
    char hex[33];
    dc09_ossl_rng.fill(&dc09_ossl_rng, raw, sizeof raw);
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, hex, 32) == 32 && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    wipe(raw, sizeof raw);
    wipe(hex, sizeof hex);
    if (!ok) {
        fprintf(stderr, "vigil-panel: cannot create device key %s: %s\n", path, strerror(errno));
        return -1;
    }
    return key_from_file(path, k) == 0 ? 0 : -1;
}

/* ---- network --------------------------------------------------------- */

int sim_parse_hostport(const char *s, struct sockaddr_in *out)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (colon == NULL || (size_t)(colon - s) >= sizeof host || colon == s)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535)
        return -1;
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -1;
}

static const char *path_name(unsigned i) { return i == 0 ? "primary" : "backup"; }

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    static char slab[65536];        /* one loop thread: reads never overlap */
    *buf = uv_buf_init(slab, sizeof slab);
}

static void path_closed(uv_handle_t *h)
{
    struct sim_path *pa = h->data;
    pa->handle_open = false;
}

static void path_close(struct sim_path *pa)
{
    if (!pa->handle_open)
        return;
    uv_handle_t *h = pa->panel->sim->cfg.transport == 1 ? (uv_handle_t *)&pa->udp
                                                         : (uv_handle_t *)&pa->tcp;
    if (!uv_is_closing(h))
        uv_close(h, path_closed);
}

static void path_lost(struct sim_path *pa, const char *why)
{
    struct sim_panel *sp = pa->panel;
    bool was_up = pa->state == SIM_PATH_UP;
    pa->state = SIM_PATH_DOWN;
    pa->retry_at_ms = sim_real_ms(sp->sim) + 1000;
    path_close(pa);
    if (was_up && !sp->sim->quiet)
        sim_line(sp->sim, "net", "%s %s: %s", path_name(pa->idx), sp->account, why);
    comm_path_lost(&sp->c, pa->idx, sim_real_ms(sp->sim));
}

static void on_tcp_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct sim_path *pa = st->data;
    if (n > 0) {
        comm_receive(&pa->panel->c, pa->idx, (const uint8_t *)buf->base, (size_t)n, false,
                     sim_real_ms(pa->panel->sim));
    } else if (n < 0) {
        path_lost(pa, n == UV_EOF ? "closed by the receiver" : uv_strerror((int)n));
    }
}

static void on_connect(uv_connect_t *req, int status)
{
    struct sim_path *pa = req->data;
    struct sim_panel *sp = pa->panel;
    if (pa->state != SIM_PATH_CONNECTING)
        return;                        /* network went down meanwhile */
    if (status < 0) {
        pa->state = SIM_PATH_DOWN;
        pa->retry_at_ms = sim_real_ms(sp->sim) + 1000;
        path_close(pa);
        return;
    }
    pa->state = SIM_PATH_UP;
    uv_tcp_nodelay(&pa->tcp, 1);
    uv_read_start((uv_stream_t *)&pa->tcp, on_alloc, on_tcp_read);
    if (!sp->sim->quiet)
        sim_line(sp->sim, "net", "%s %s: connected", path_name(pa->idx), sp->account);
    comm_path_up(&sp->c, pa->idx, sim_real_ms(sp->sim));
}

static void on_udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
                        unsigned flags)
{
    (void)flags;
    struct sim_path *pa = h->data;
    if (n <= 0 || from == NULL)
        return;
    const struct sockaddr_in *in = (const struct sockaddr_in *)from;
    if (from->sa_family != AF_INET || in->sin_port != pa->addr.sin_port ||
        in->sin_addr.s_addr != pa->addr.sin_addr.s_addr) {
        char ip[INET_ADDRSTRLEN] = "?";
        if (from->sa_family == AF_INET)
            inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
        sim_line(pa->panel->sim, "rx", "%s ignored: datagram from %s:%u, not the receiver",
                 path_name(pa->idx), ip, ntohs(in->sin_port));
        return;
    }
    comm_receive(&pa->panel->c, pa->idx, (const uint8_t *)buf->base, (size_t)n, true,
                 sim_real_ms(pa->panel->sim));
}

/* The source address the kernel would use towards `to` (a connected UDP
 * socket asks the routing table; nothing is sent), port 0. The path's socket
 * is bound to it, so replies are matched on the address really used: binding
 * 127.0.0.1 reached only a receiver on loopback (found by
 * tests/integration/faults). 0.0.0.0 when the route cannot be asked. */
static void route_source(const struct sockaddr_in *to, struct sockaddr_in *src)
{
    uv_ip4_addr("0.0.0.0", 0, src);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    struct sockaddr_in me;
    socklen_t len = sizeof me;
    if (connect(fd, (const struct sockaddr *)to, sizeof *to) == 0 &&
        getsockname(fd, (struct sockaddr *)&me, &len) == 0 && me.sin_family == AF_INET) {
        src->sin_addr = me.sin_addr;
    }
    close(fd);
}

static void path_open(struct sim_path *pa)
{
    struct sim *s = pa->panel->sim;
    if (!pa->configured || pa->state != SIM_PATH_DOWN || pa->handle_open ||
        s->network_down[pa->idx] || sim_real_ms(s) < pa->retry_at_ms)
        return;
    pa->retry_at_ms = sim_real_ms(s) + 1000;
    if (s->cfg.transport == 1) {
        uv_udp_init(s->loop, &pa->udp);
        pa->udp.data = pa;
        pa->handle_open = true;
        struct sockaddr_in any;
        route_source(&pa->addr, &any);
        if (uv_udp_bind(&pa->udp, (const struct sockaddr *)&any, 0) < 0 ||
            uv_udp_recv_start(&pa->udp, on_alloc, on_udp_recv) < 0) {
            path_close(pa);
            return;
        }
        pa->state = SIM_PATH_UP;
        struct sockaddr_in me;
        int len = sizeof me;
        uv_udp_getsockname(&pa->udp, (struct sockaddr *)&me, &len);
        char ip[INET_ADDRSTRLEN] = "?";
        uv_ip4_name(&me, ip, sizeof ip);
        if (!s->quiet)
            sim_line(s, "net", "%s %s: udp from %s:%u", path_name(pa->idx),
                     pa->panel->account, ip, ntohs(me.sin_port));
        comm_path_up(&pa->panel->c, pa->idx, sim_real_ms(s));
        return;
    }
    uv_tcp_init(s->loop, &pa->tcp);
    pa->tcp.data = pa;
    pa->handle_open = true;
    pa->connect.data = pa;
    pa->state = SIM_PATH_CONNECTING;
    if (uv_tcp_connect(&pa->connect, &pa->tcp, (const struct sockaddr *)&pa->addr,
                       on_connect) < 0) {
        pa->state = SIM_PATH_DOWN;
        path_close(pa);
    }
}

struct wreq {
    uv_write_t w;
    char data[];
};

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    free(w);
}

static int net_send(struct comm_net *n, unsigned path, const uint8_t *frame, size_t len)
{
    struct sim_panel *sp = (struct sim_panel *)((char *)n - offsetof(struct sim_panel, net));
    struct sim_path *pa = &sp->path[path];
    if (sp->sim->network_down[path] || pa->state != SIM_PATH_UP) {
        path_open(pa);
        return -1;
    }
    if (sp->sim->cfg.transport == 1) {
        uv_buf_t b = uv_buf_init((char *)frame, (unsigned)len);
        int r = uv_udp_try_send(&pa->udp, &b, 1, (const struct sockaddr *)&pa->addr);
        return r < 0 ? -1 : 0;
    }
    uv_buf_t b = uv_buf_init((char *)frame, (unsigned)len);
    int r = uv_try_write((uv_stream_t *)&pa->tcp, &b, 1);
    if (r == (int)len)
        return 0;
    size_t done = r > 0 ? (size_t)r : 0;
    if (r < 0 && r != UV_EAGAIN)
        return -1;
    struct wreq *q = malloc(sizeof *q + len - done);
    if (q == NULL)
        return -1;
    memcpy(q->data, frame + done, len - done);
    uv_buf_t rest = uv_buf_init(q->data, (unsigned)(len - done));
    if (uv_write(&q->w, (uv_stream_t *)&pa->tcp, &rest, 1, on_written) < 0) {
        free(q);
        return -1;
    }
    return 0;
}

void sim_net_down(struct sim *s, int path)
{
    for (unsigned p = 0; p < COMM_PATHS; p++) {
        if (path >= 0 && (unsigned)path != p)
            continue;
        s->network_down[p] = true;
        for (unsigned i = 0; i < s->count; i++) {
            struct sim_path *pa = &s->panels[i].path[p];
            if (pa->state != SIM_PATH_DOWN || pa->handle_open) {
                pa->state = SIM_PATH_DOWN;
                path_close(pa);
                comm_path_lost(&s->panels[i].c, p, sim_real_ms(s));
            }
        }
    }
}

void sim_net_up(struct sim *s, int path)
{
    for (unsigned p = 0; p < COMM_PATHS; p++) {
        if (path >= 0 && (unsigned)path != p)
            continue;
        s->network_down[p] = false;
        for (unsigned i = 0; i < s->count; i++) {
            s->panels[i].path[p].retry_at_ms = 0;
            path_open(&s->panels[i].path[p]);
        }
    }
}

/* ---- a panel --------------------------------------------------------- */

/* Copies a configuration string already validated to fit. */
static void cpy(char *d, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(d, src, n);
    d[n] = '\0';
}

static void default_zones(struct sim *s, struct pnl *p)
{
    static const char *const dflt[] = { "1 entry", "2 interior", "3 instant", "4 fire",
                                        "5 holdup", "6 panic" };
    static const char *const types[] = { "", "entry", "interior", "instant", "holdup",
                                         "panic", "fire", "tamper" };
    _Static_assert(sizeof types / sizeof types[0] == PNL_ZONE_TAMPER + 1, "zone types");
    unsigned n = s->cfg.zone.n ? s->cfg.zone.n : 6;
    for (unsigned i = 0; i < n; i++) {
        const char *v = s->cfg.zone.n ? s->cfg.zone.v[i] : dflt[i];
        unsigned z, part = 1;
        char type[32];
        if (sscanf(v, "%u %31s %u", &z, type, &part) < 2)
            continue;
        struct pnl_zone_cfg zc = { .part = (uint8_t)part, .flags = PNL_ZF_CHIME };
        for (unsigned t = 1; t <= PNL_ZONE_TAMPER; t++)
            if (strcmp(type, types[t]) == 0)
                zc.type = (uint8_t)t;
        int e = pnl_zone_config(p, z, &zc);
        if (e < 0)
            sim_line(s, "error", "zone %u: %s", z, pnl_strerror(e));
    }
}

int sim_panel_setup(struct sim *s, struct sim_panel *sp, unsigned idx,
                    const struct dc09_key *acct_key, const struct dc09_key *dev_key)
{
    memset(sp, 0, sizeof *sp);
    sp->sim = s;
    sp->idx = idx;
    /* --count: accounts follow the configured one, same width. */
    if (idx == 0) {
        cpy(sp->account, sizeof sp->account, s->cfg.account);
    } else {
        size_t w = strlen(s->cfg.account);
        unsigned long long base = strtoull(s->cfg.account, NULL, 16);
        snprintf(sp->account, sizeof sp->account, "%0*llX", (int)w, base + idx);
    }
    size_t cs = core_slot(), ms = comm_slot();
    int fd = s->count == 1 ? s->state_fd : -1;
    store_init(&sp->core_st, sp, fd, 0, cs);
    store_init(&sp->comm_st, sp, fd, (off_t)(2 * cs), ms);
    if (dc09_ossl_init(&sp->devkey, dev_key) < 0) {
        fprintf(stderr, "vigil-panel: device key: cannot set up AES\n");
        return -1;
    }
    pnl_keyport_dc09_init(&sp->kp, &sp->devkey.base);
    sp->keyed = acct_key != NULL;
    if (sp->keyed && dc09_ossl_init(&sp->acctkey, acct_key) < 0) {
        fprintf(stderr, "vigil-panel: account key: cannot set up AES\n");
        return -1;
    }
    sp->keypad.out = sim_keypad_out;
    sp->notes.note = sim_comm_note;
    sp->net.send = net_send;

    struct pnl_ports pp = { .storage = &sp->core_st.base, .key = &sp->kp.base,
                            .rng = &dc09_ossl_rng, .keypad = &sp->keypad };
    uint64_t now = sim_core_ms(s);
    int e = pnl_init(&sp->p, &pp);
    if (e == 0)
        e = pnl_load(&sp->p, now);
    if (e == PNL_E_EMPTY) {
        struct pnl_config pc;
        pnl_config_defaults(&pc);
        pc.exit_delay_s = (uint16_t)s->cfg.exit_delay_s;
        pc.entry_delay_s = (uint16_t)s->cfg.entry_delay_s;
        pc.abort_window_s = (uint16_t)s->cfg.abort_window_s;
        e = pnl_set_config(&sp->p, &pc);
        if (e < 0) {
            fprintf(stderr, "vigil-panel: settings refused: %s\n", pnl_strerror(e));
            return -1;
        }
        default_zones(s, &sp->p);
    } else if (e == PNL_LOAD_RECOVERED) {
        sim_line(s, "error", "state: %s", pnl_strerror(e));
    } else if (e < 0) {
        fprintf(stderr, "vigil-panel: state: %s\n", pnl_strerror(e));
        return -1;
    }

    struct comm_config cc;
    comm_config_defaults(&cc);
    cpy(cc.account, sizeof cc.account, sp->account);
    cpy(cc.line, sizeof cc.line, s->cfg.line);
    cpy(cc.receiver, sizeof cc.receiver, s->cfg.receiver_id);
    cc.paths = s->cfg.backup[0] ? 2 : 1;
    cc.ack_timeout_ms = (uint32_t)s->cfg.ack_timeout_ms;
    cc.backoff_max_ms = (uint32_t)(s->cfg.backoff_max_ms > s->cfg.ack_timeout_ms
                                       ? s->cfg.backoff_max_ms : s->cfg.ack_timeout_ms);
    cc.urgent_backoff_max_ms = cc.ack_timeout_ms * 2u;
    cc.path_fail_max = (uint8_t)s->cfg.path_fail_max;
    cc.supervision_s = (uint32_t)s->cfg.supervision_s;
    cc.probe_s = (uint32_t)s->cfg.probe_s;
    cc.clock_max_s = (uint32_t)s->cfg.clock_max_s;
    uint32_t rq = 0;
    (void)sim_quirks_parse(s->cfg.receiver_quirks, &rq);
    cc.reply_quirks = rq & ~SIM_Q_ONE_IN_FLIGHT;
    cc.one_in_flight = (rq & SIM_Q_ONE_IN_FLIGHT) != 0;
    struct comm_ports cp = { .panel = &sp->p, .net = &sp->net, .storage = &sp->comm_st.base,
                             .cipher = sp->keyed ? &sp->acctkey.base : NULL,
                             .rng = &dc09_ossl_rng, .notes = &sp->notes };
    uint64_t rnow = sim_real_ms(s);
    e = comm_init(&sp->c, &cp, &cc, rnow);
    if (e < 0) {
        fprintf(stderr, "vigil-panel: communicator: %s\n", comm_strerror(e));
        return -1;
    }
    comm_set_wall(&sp->c, rnow, sim_unix_ms() + s->cfg.clock_offset_s * 1000);
    e = comm_load(&sp->c);
    if (e < 0 && e != COMM_E_EMPTY) {
        fprintf(stderr, "vigil-panel: state (communicator): %s\n", comm_strerror(e));
        return -1;
    }
    const char *addrs[2] = { s->cfg.receiver, s->cfg.backup };
    for (unsigned p = 0; p < COMM_PATHS; p++) {
        struct sim_path *pa = &sp->path[p];
        pa->panel = sp;
        pa->idx = p;
        pa->configured = addrs[p][0] != '\0' && sim_parse_hostport(addrs[p], &pa->addr) == 0;
        path_open(pa);
    }
    return 0;
}

void sim_panel_tick(struct sim_panel *sp)
{
    struct sim *s = sp->sim;
    int e = pnl_tick(&sp->p, sim_core_ms(s));
    if (e < 0)
        sim_line(s, "error", "panel: %s", pnl_strerror(e));
    for (unsigned p = 0; p < COMM_PATHS; p++)
        if (sp->path[p].state == SIM_PATH_DOWN)
            path_open(&sp->path[p]);
    comm_tick(&sp->c, sim_real_ms(s));
}

void sim_panel_after_input(struct sim_panel *sp)
{
    comm_tick(&sp->c, sim_real_ms(sp->sim));
}

/* One key at a keypad. Programming results (*7, *8) are the core's own
 * events (CID 306 → SIA YG with text), sent by the communicator like any
 * other: nothing here reads the keys or guesses results from the output. */
void sim_key(struct sim_panel *sp, unsigned part, char k)
{
    pnl_key_at(&sp->p, part, k, sim_core_ms(sp->sim));
}
