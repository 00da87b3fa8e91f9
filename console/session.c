/*
 * session.c — operators' sessions, in memory: a random token per session
 * (the cookie), a CSRF token per session, idle expiry, and the login
 * attempt limiter (per name and per client address).
 *
 * Tokens are 32 random bytes (libsodium) shown as hex and compared in
 * constant time. Must never log or return a token but to its own session's
 * holder; a restart ends every session (nothing is written to disk).
 */
#include "console.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SESSIONS_MAX   1024      /* beyond: a login is refused (429), not an old session dropped */
#define ATTEMPTS_MAX   4096      /* limiter entries; the oldest window is reused */
#define WINDOW_MS      60000

struct session {
    bool     used;
    uint64_t id;
    char     token[CON_TOKEN_HEX];
    char     csrf[CON_TOKEN_HEX];
    char     name[CON_NAME_MAX];
    char     role[16];
    int64_t  last_ms;
    int      streams;
};

struct attempts {
    char     key[96];            /* "n:NAME" or "a:ADDRESS" */
    int64_t  start_ms;           /* this minute's window began */
    int64_t  failures;
    int64_t  pending;            /* logins allowed and still being checked */
};

struct con_sessions {
    pthread_mutex_t mu;
    int64_t idle_ms;
    int64_t attempts_per_min;
    uint64_t next_id;
    struct session s[SESSIONS_MAX];
    struct attempts a[ATTEMPTS_MAX];
};

int con_sessions_create(const struct stn_config *cfg, struct con_sessions **out)
{
    if (sodium_init() < 0)
        return CON_E_START;
    struct con_sessions *ss = calloc(1, sizeof *ss);
    if (!ss)
        return CON_E_NOMEM;
    pthread_mutex_init(&ss->mu, NULL);
    ss->idle_ms = cfg->session_idle_s * 1000;
    ss->attempts_per_min = cfg->login_attempts_per_min;
    ss->next_id = 1;
    *out = ss;
    return 0;
}

void con_sessions_destroy(struct con_sessions *ss)
{
    if (!ss)
        return;
    pthread_mutex_destroy(&ss->mu);
    sodium_memzero(ss, sizeof *ss);
    free(ss);
}

static void random_hex(char out[CON_TOKEN_HEX])
{
    unsigned char b[32];
    randombytes_buf(b, sizeof b);
    sodium_bin2hex(out, CON_TOKEN_HEX, b, sizeof b);
    sodium_memzero(b, sizeof b);
}

static void info_of(const struct session *s, struct con_session_info *out)
{
    out->id = s->id;
    memcpy(out->name, s->name, sizeof out->name);
    memcpy(out->role, s->role, sizeof out->role);
    memcpy(out->csrf, s->csrf, sizeof out->csrf);
}

static bool expired(const struct con_sessions *ss, const struct session *s, int64_t now)
{
    return s->streams == 0 && now - s->last_ms >= ss->idle_ms;
}

static void drop(struct session *s)
{
    sodium_memzero(s, sizeof *s);
}

int con_session_new(struct con_sessions *ss, const char *name, const char *role,
                    char token[CON_TOKEN_HEX], struct con_session_info *out)
{
    int64_t now = stn_now_ms();
    pthread_mutex_lock(&ss->mu);
    struct session *free_slot = NULL;
    for (size_t i = 0; i < SESSIONS_MAX && !free_slot; i++) {
        if (ss->s[i].used && expired(ss, &ss->s[i], now))
            drop(&ss->s[i]);
        if (!ss->s[i].used)
            free_slot = &ss->s[i];
    }
    if (!free_slot) {
        pthread_mutex_unlock(&ss->mu);
        return CON_E_LIMIT;
    }
    struct session *s = free_slot;
    s->used = true;
    s->id = ss->next_id++;
    random_hex(s->token);
    random_hex(s->csrf);
    snprintf(s->name, sizeof s->name, "%s", name);
    snprintf(s->role, sizeof s->role, "%s", role);
    s->last_ms = now;
    s->streams = 0;
    memcpy(token, s->token, CON_TOKEN_HEX);
    info_of(s, out);
    pthread_mutex_unlock(&ss->mu);
    return 0;
}

int con_session_find(struct con_sessions *ss, const char *token, struct con_session_info *out)
{
    if (!token || strlen(token) != CON_TOKEN_HEX - 1)
        return CON_E_DENIED;
    int64_t now = stn_now_ms();
    int rc = CON_E_DENIED;
    pthread_mutex_lock(&ss->mu);
    /* every slot compared in constant time: the scan says nothing of the token */
    for (size_t i = 0; i < SESSIONS_MAX; i++) {
        struct session *s = &ss->s[i];
        if (!s->used || sodium_memcmp(s->token, token, CON_TOKEN_HEX - 1) != 0)
            continue;
        if (expired(ss, s, now)) {
            drop(s);
            continue;
        }
        s->last_ms = now;
        info_of(s, out);
        rc = 0;
    }
    pthread_mutex_unlock(&ss->mu);
    return rc;
}

static struct session *by_id(struct con_sessions *ss, uint64_t id)
{
    for (size_t i = 0; i < SESSIONS_MAX; i++)
        if (ss->s[i].used && ss->s[i].id == id)
            return &ss->s[i];
    return NULL;
}

bool con_session_alive(struct con_sessions *ss, uint64_t id)
{
    pthread_mutex_lock(&ss->mu);
    struct session *s = by_id(ss, id);
    if (s)
        s->last_ms = stn_now_ms();
    pthread_mutex_unlock(&ss->mu);
    return s != NULL;
}

void con_session_end(struct con_sessions *ss, uint64_t id)
{
    pthread_mutex_lock(&ss->mu);
    struct session *s = by_id(ss, id);
    if (s)
        drop(s);
    pthread_mutex_unlock(&ss->mu);
}

int con_sessions_end_name(struct con_sessions *ss, const char *name)
{
    int n = 0;
    pthread_mutex_lock(&ss->mu);
    for (size_t i = 0; i < SESSIONS_MAX; i++)
        if (ss->s[i].used && strcmp(ss->s[i].name, name) == 0) {
            drop(&ss->s[i]);
            n++;
        }
    pthread_mutex_unlock(&ss->mu);
    return n;
}

void con_session_stream(struct con_sessions *ss, uint64_t id, int delta)
{
    pthread_mutex_lock(&ss->mu);
    struct session *s = by_id(ss, id);
    if (s) {
        s->streams += delta;
        if (s->streams < 0)
            s->streams = 0;
        s->last_ms = stn_now_ms();
    }
    pthread_mutex_unlock(&ss->mu);
}

bool con_csrf_ok(const struct con_session_info *s, const char *header)
{
    return header && strlen(header) == CON_TOKEN_HEX - 1 &&
           sodium_memcmp(s->csrf, header, CON_TOKEN_HEX - 1) == 0;
}

void con_sessions_sweep(struct con_sessions *ss, json_t *present)
{
    int64_t now = stn_now_ms();
    pthread_mutex_lock(&ss->mu);
    for (size_t i = 0; i < SESSIONS_MAX; i++) {
        struct session *s = &ss->s[i];
        if (!s->used)
            continue;
        if (expired(ss, s, now)) {
            drop(s);
            continue;
        }
        bool seen = false;
        size_t k;
        json_t *n;
        json_array_foreach(present, k, n)
            seen = seen || strcmp(json_string_value(n), s->name) == 0;
        if (!seen)
            json_array_append_new(present, json_string(s->name));
    }
    pthread_mutex_unlock(&ss->mu);
}

/* ---- the login limiter --------------------------------------------------- */

static struct attempts *attempts_of(struct con_sessions *ss, const char *key, int64_t now,
                                    bool create)
{
    struct attempts *oldest = &ss->a[0];
    for (size_t i = 0; i < ATTEMPTS_MAX; i++) {
        struct attempts *a = &ss->a[i];
        if (a->key[0] && strcmp(a->key, key) == 0) {
            if (now - a->start_ms >= WINDOW_MS) {
                a->start_ms = now;
                a->failures = 0;
            }
            return a;
        }
        if (!a->key[0] || a->start_ms < oldest->start_ms)
            oldest = a;
    }
    if (!create)
        return NULL;
    /* a full table reuses the entry whose window began longest ago */
    snprintf(oldest->key, sizeof oldest->key, "%s", key);
    oldest->start_ms = now;
    oldest->failures = 0;
    return oldest;
}

static void key_of(char out[96], char kind, const char *v)
{
    snprintf(out, 96, "%c:%s", kind, v ? v : "");
}

/* An attempt still being checked counts as a failure until it is decided:
 * the check and the count are one step under the lock, so logins sent at
 * once cannot all pass the check before the first failure is counted. */
static bool over(const struct con_sessions *ss, const struct attempts *a)
{
    return a->failures + a->pending >= ss->attempts_per_min;
}

int con_login_allowed(struct con_sessions *ss, const char *name, const char *addr)
{
    char kn[96], ka[96];
    key_of(kn, 'n', name);
    key_of(ka, 'a', addr);
    int64_t now = stn_now_ms();
    pthread_mutex_lock(&ss->mu);
    struct attempts *a = attempts_of(ss, kn, now, true), *b = attempts_of(ss, ka, now, true);
    bool refuse = over(ss, a) || over(ss, b);
    if (!refuse) {
        a->pending++;
        b->pending++;
    }
    pthread_mutex_unlock(&ss->mu);
    return refuse ? CON_E_LIMIT : 0;
}

static void settle(struct attempts *a, bool failed)
{
    if (a->pending > 0)
        a->pending--;
    if (failed)
        a->failures++;
}

void con_login_failed(struct con_sessions *ss, const char *name, const char *addr)
{
    char kn[96], ka[96];
    key_of(kn, 'n', name);
    key_of(ka, 'a', addr);
    int64_t now = stn_now_ms();
    pthread_mutex_lock(&ss->mu);
    settle(attempts_of(ss, kn, now, true), true);
    settle(attempts_of(ss, ka, now, true), true);
    pthread_mutex_unlock(&ss->mu);
}

/* The name's count starts again; the address's does not (docs/console.md):
 * one valid account must not open the door to guessing the others. */
void con_login_succeeded(struct con_sessions *ss, const char *name, const char *addr)
{
    char kn[96], ka[96];
    key_of(kn, 'n', name);
    key_of(ka, 'a', addr);
    int64_t now = stn_now_ms();
    pthread_mutex_lock(&ss->mu);
    struct attempts *a = attempts_of(ss, kn, now, true);
    settle(a, false);
    a->failures = 0;
    settle(attempts_of(ss, ka, now, true), false);
    pthread_mutex_unlock(&ss->mu);
}
