/*
 * presence.c — every 5 s (a quarter of take_lease_s when that is shorter:
 * one late report must not cost an operator an alarm), tells vigil-station
 * which operators are present
 * (an open stream, or a request within session_idle_s), and ends idle
 * sessions. The station gives an alarm back to the queue when its holder
 * has not been present for take_lease_s — also when this console is gone.
 *
 * Must never hold a lock while talking to the station (the call may take
 * its full 5 s), and never report anyone present on a guess.
 */
#include "console.h"

#include <time.h>

#define PRESENCE_EVERY_MS 5000

/* The station releases an alarm whose holder it has not heard of for
 * take_lease_s (the same file's key): report four times within a lease. */
static int64_t every_ms(const struct con_app *app)
{
    int64_t ms = app->cfg.take_lease_s * 1000 / 4;
    return ms < PRESENCE_EVERY_MS ? (ms < 500 ? 500 : ms) : PRESENCE_EVERY_MS;
}

static pthread_t thread;
static bool started;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

struct role_ctx { const char *name; char role[16]; };

static int rd_role(struct stn_store *st, void *ctx)
{
    struct role_ctx *x = ctx;
    return stn_operator_role(st, x->name, x->role);
}

/* An operator disabled (or removed) since login: every session ends now,
 * open streams included (a stream makes no request that would notice), and
 * the name is not reported present. A store hiccup keeps the name. */
static void drop_disabled(struct con_app *app, json_t *names)
{
    bool ended = false;
    for (size_t i = 0; i < json_array_size(names);) {
        struct role_ctx x = { .name = json_string_value(json_array_get(names, i)) };
        if (x.name && con_read(app, rd_role, &x) == STN_E_NOTFOUND) {
            con_sessions_end_name(app->sessions, x.name);
            CON_INFO("session", "%s is disabled: sessions ended", x.name);
            json_array_remove(names, i);
            ended = true;
            continue;
        }
        i++;
    }
    if (ended)
        con_changes_wake(app->changes);
}

static void send_presence(struct con_app *app, bool *reachable)
{
    json_t *names = json_array();
    if (!names)
        return;
    con_sessions_sweep(app->sessions, names);
    drop_disabled(app, names);
    json_t *req = json_pack("{s:s,s:o}", "op", "presence", "operators", names);
    json_t *reply = NULL;
    int rc = req ? con_ctl_call(app->cfg.control_socket_path, req, &reply) : CON_E_NOMEM;
    json_decref(req);
    bool ok = rc == 0 && json_is_true(json_object_get(reply, "ok"));
    json_decref(reply);
    if (ok != *reachable)   /* once per change, not every 5 s */
        stn_log(ok ? STN_LOG_INFO : STN_LOG_WARN, "presence", ok ? "station reachable at %s"
                : "station not answering at %s (alarm actions get 503)",
                app->cfg.control_socket_path);
    *reachable = ok;
}

static void *run(void *arg)
{
    struct con_app *app = arg;
    bool reachable = true;
    pthread_mutex_lock(&mu);
    while (!atomic_load(&app->stopping)) {
        pthread_mutex_unlock(&mu);
        send_presence(app, &reachable);
        pthread_mutex_lock(&mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        int64_t ns = until.tv_nsec + every_ms(app) * 1000000;
        until.tv_sec += (time_t)(ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        while (!atomic_load(&app->stopping) &&
               pthread_cond_timedwait(&cv, &mu, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

int con_presence_start(struct con_app *app)
{
    if (pthread_create(&thread, NULL, run, app) != 0)
        return CON_E_START;
    started = true;
    return 0;
}

void con_presence_stop(struct con_app *app)
{
    (void)app;
    if (!started)
        return;
    pthread_mutex_lock(&mu);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(thread, NULL);
    started = false;
}
