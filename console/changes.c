/*
 * changes.c — the change poller and the ring the live streams read.
 *
 * One thread, its own store connection: every change_poll_ms it reads the
 * store's data version (SQLite: PRAGMA data_version; PostgreSQL: the count of
 * NOTIFYs from other nodes' commits, whose socket also wakes it at once; no
 * I/O while nothing commits) and, when it moved,
 * the alarms changed past the last seq it saw. Each changed alarm's list
 * object is built once, as SSE text, and appended to the ring; every
 * stream wakes on one broadcast. So a thousand streams cost one query.
 *
 * Must never block a stream on the store: streams copy ring text under the
 * ring lock only. Entries leave the ring oldest first; a stream that fell
 * behind them is told so (CON_WAIT_GAP) and reads the store instead.
 */
#include "console.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RING_CAP        1024
#define POLL_BATCH_MAX  512      /* alarms per poll round; the rest next round */

struct ring_entry {
    int64_t seq;
    char   *text;
};

struct con_changes {
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    struct ring_entry ring[RING_CAP];
    size_t head, count;          /* oldest at head */
    int64_t covered_from;        /* every change past this seq is in the ring */
    int64_t latest;              /* newest seq seen */
    uint64_t wakes;              /* bumped by con_changes_wake */
    struct stn_store *st;        /* the poller's own connection */
    struct con_app *app;
    pthread_t thread;
    bool started;
};

char *con_change_text(struct con_app *app, int64_t seq, int64_t alarm_id)
{
    void *obj = NULL;
    pthread_mutex_lock(&app->store_mu);
    int rc = stn_alarm_item_json(app->store, alarm_id, &obj);
    pthread_mutex_unlock(&app->store_mu);
    if (rc)
        return NULL;
    char *data = json_dumps(obj, JSON_COMPACT);   /* one line: no newline inside */
    json_decref(obj);
    if (!data)
        return NULL;
    size_t n = strlen(data) + 64;
    char *t = malloc(n);
    if (t)
        snprintf(t, n, "id: %lld\nevent: alarm\ndata: %s\n\n", (long long)seq, data);
    free(data);
    return t;
}

static void ring_push(struct con_changes *ch, int64_t seq, char *text)
{
    pthread_mutex_lock(&ch->mu);
    if (ch->count == RING_CAP) {
        struct ring_entry *old = &ch->ring[ch->head];
        ch->covered_from = old->seq;
        free(old->text);
        ch->head = (ch->head + 1) % RING_CAP;
        ch->count--;
    }
    struct ring_entry *e = &ch->ring[(ch->head + ch->count) % RING_CAP];
    e->seq = seq;
    e->text = text;
    ch->count++;
    if (seq > ch->latest)
        ch->latest = seq;
    pthread_cond_broadcast(&ch->cv);
    pthread_mutex_unlock(&ch->mu);
}

struct batch {
    int64_t seq[POLL_BATCH_MAX];
    int64_t alarm[POLL_BATCH_MAX];
    size_t n;
};

static int collect(void *ctx, int64_t seq, int64_t alarm_id)
{
    struct batch *b = ctx;
    b->seq[b->n] = seq;
    b->alarm[b->n] = alarm_id;
    return ++b->n == POLL_BATCH_MAX;
}

/* The poller's text is built on the shared read connection (the list object
 * needs the engine's view); the poll itself uses the poller's own. */
static void poll_once(struct con_changes *ch, int64_t *last)
{
    struct batch b;
    do {
        b.n = 0;
        if (stn_alarm_changes_each(ch->st, *last, POLL_BATCH_MAX, collect, &b) != 0) {
            CON_WARN("changes", "reading the change log failed; trying again");
            return;
        }
        for (size_t i = 0; i < b.n; i++) {
            char *t = con_change_text(ch->app, b.seq[i], b.alarm[i]);
            if (t)
                ring_push(ch, b.seq[i], t);
            *last = b.seq[i];
        }
    } while (b.n == POLL_BATCH_MAX);
}

static void *poller(void *arg)
{
    struct con_changes *ch = arg;
    int64_t version = -1, last = ch->latest;
    struct timespec pause = { .tv_sec = ch->app->cfg.change_poll_ms / 1000,
                              .tv_nsec = (ch->app->cfg.change_poll_ms % 1000) * 1000000L };
    while (!atomic_load(&ch->app->stopping)) {
        int64_t v;
        if (stn_store_data_version(ch->st, &v) == 0 && v != version) {
            version = v;
            poll_once(ch, &last);
        }
        /* PostgreSQL: woken by the NOTIFY of another node's commit at once,
         * else at the poll interval; SQLite: the poll interval */
        int fd = stn_store_notify_fd(ch->st);
        if (fd >= 0) {
            struct pollfd p = { .fd = fd, .events = POLLIN };
            poll(&p, 1, (int)ch->app->cfg.change_poll_ms);
        } else {
            nanosleep(&pause, NULL);
        }
    }
    return NULL;
}

int con_changes_start(struct con_app *app)
{
    struct con_changes *ch = calloc(1, sizeof *ch);
    if (!ch)
        return CON_E_NOMEM;
    pthread_mutex_init(&ch->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ch->cv, &ca);
    pthread_condattr_destroy(&ca);
    ch->app = app;
    char msg[512];
    int64_t oldest = 0;
    if (stn_store_open(&app->cfg, &ch->st, msg, sizeof msg) != 0 ||
        stn_alarm_changes_range(ch->st, &oldest, &ch->latest) != 0) {
        CON_ERROR("changes", "%s", msg);
        app->changes = ch;
        con_changes_stop(app);
        return CON_E_START;
    }
    ch->covered_from = ch->latest;
    app->changes = ch;
    if (pthread_create(&ch->thread, NULL, poller, ch) != 0) {
        con_changes_stop(app);
        return CON_E_START;
    }
    ch->started = true;
    return 0;
}

void con_changes_stop(struct con_app *app)
{
    struct con_changes *ch = app->changes;
    if (!ch)
        return;
    if (ch->started)
        pthread_join(ch->thread, NULL);
    stn_store_close(ch->st);
    for (size_t i = 0; i < ch->count; i++)
        free(ch->ring[(ch->head + i) % RING_CAP].text);
    pthread_cond_destroy(&ch->cv);
    pthread_mutex_destroy(&ch->mu);
    free(ch);
    app->changes = NULL;
}

int64_t con_changes_latest(struct con_changes *ch)
{
    pthread_mutex_lock(&ch->mu);
    int64_t v = ch->latest;
    pthread_mutex_unlock(&ch->mu);
    return v;
}

void con_changes_wake(struct con_changes *ch)
{
    pthread_mutex_lock(&ch->mu);
    ch->wakes++;
    pthread_cond_broadcast(&ch->cv);
    pthread_mutex_unlock(&ch->mu);
}

/* The first entry past cursor, or NULL; under ch->mu. */
static struct ring_entry *after(struct con_changes *ch, int64_t cursor)
{
    for (size_t i = 0; i < ch->count; i++) {
        struct ring_entry *e = &ch->ring[(ch->head + i) % RING_CAP];
        if (e->seq > cursor)
            return e;
    }
    return NULL;
}

enum con_wait con_changes_next(struct con_changes *ch, int64_t cursor, int timeout_ms,
                               char **text, int64_t *seq)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    enum con_wait r = CON_WAIT_TIMEOUT;
    pthread_mutex_lock(&ch->mu);
    uint64_t wakes = ch->wakes;
    for (;;) {
        if (cursor < ch->covered_from) {
            r = CON_WAIT_GAP;
            break;
        }
        struct ring_entry *e = after(ch, cursor);
        if (e) {
            *text = strdup(e->text);
            *seq = e->seq;
            r = *text ? CON_WAIT_ENTRY : CON_WAIT_TIMEOUT;
            break;
        }
        if (ch->wakes != wakes) {
            r = CON_WAIT_WAKE;
            break;
        }
        if (pthread_cond_timedwait(&ch->cv, &ch->mu, &until) != 0)
            break;
    }
    pthread_mutex_unlock(&ch->mu);
    return r;
}
