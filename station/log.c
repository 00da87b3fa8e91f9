/*
 * log.c — vigil-station's log: one line per event on stderr, level and
 * component first ("warn rx: ..."). Callers must never pass a code, key,
 * passcode or password: this file cannot tell.
 *
 * The log must not become a weapon (docs/station.md, Log):
 * - Each call site (component and format) may write LOG_LINES_PER_S lines a
 *   second; the rest are counted, not formatted, and one line says how many
 *   were suppressed once the second is over (stn_log_tick flushes it when
 *   no further line comes).
 * - Once the daemon's loop runs (stn_log_async_start), lines go to a bounded
 *   buffer that a writer thread drains to stderr, so a slow or stopped
 *   reader of stderr never blocks the loop (nor a duress's ACK); a line that
 *   finds the buffer full is dropped and counted (log_dropped).
 * Before the loop and after it, a line is one write(2), in order with the
 * startup messages printed directly.
 * When stderr is the journal (systemd sets JOURNAL_STREAM to its device and
 * inode), each line starts with its syslog priority, "<3>" error .. "<7>"
 * debug, which journald takes off and keeps as the entry's priority.
 */
#include "stn_internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX     1024
#define LOG_LINES_PER_S  20         /* per call site */
#define LOG_KEYS         256        /* call sites tracked; more share one slot */
#define LOG_BUF_BYTES    (128u * 1024u)

static atomic_int level_now = STN_LOG_INFO;

void stn_log_set_level(int level) { atomic_store(&level_now, level); }
int stn_log_level(void) { return atomic_load(&level_now); }

static const char *const names[] = { "debug", "info", "warn", "error" };
_Static_assert(sizeof names / sizeof names[0] == STN_LOG_ERROR + 1, "one name per level");
/* syslog priorities (LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR) for the journal */
static const char *const prios[] = { "<7>", "<6>", "<4>", "<3>" };
_Static_assert(sizeof prios / sizeof prios[0] == STN_LOG_ERROR + 1, "one priority per level");

static pthread_once_t journal_once = PTHREAD_ONCE_INIT;
static bool journal;     /* stderr is the journal: lines carry "<N>" */

static void journal_check(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    journal = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
              fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
              (unsigned long long)st.st_ino == ino;
}

static const char *prio(int level)
{
    pthread_once(&journal_once, journal_check);
    return journal ? prios[level] : "";
}

/* A call site's window: lines written this second, lines suppressed. */
struct log_key {
    const char *fmt;          /* NULL: free slot */
    const char *component;
    int      level;
    int64_t  second;          /* monotonic second of the window */
    uint32_t lines;
    uint64_t suppressed;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;   /* the writer: lines or stop */
static pthread_cond_t idle = PTHREAD_COND_INITIALIZER;   /* the writer: buffer empty */
static struct log_key keys[LOG_KEYS];
static char buf[LOG_BUF_BYTES];
static size_t buf_head, buf_used;       /* ring: oldest byte at buf_head */
static bool async_on, writer_stop, writer_busy;
static pthread_t writer;
static uint64_t dropped, suppressed_total;

static int64_t mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

/* ---- output ------------------------------------------------------------ */

static void write_all(const char *p, size_t n)
{
    for (int tries = 0; n > 0 && tries < 1000; tries++) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w < 0)
            return;       /* stderr gone: nothing else to tell */
        p += w;
        n -= (size_t)w;
    }
}

/* Called with mu held. */
static void emit_locked(const char *line, size_t len)
{
    if (!async_on) {
        write_all(line, len);   /* one write(2): lines of threads never interleave */
        return;
    }
    if (len > LOG_BUF_BYTES - buf_used) {
        dropped++;
        return;
    }
    size_t tail = (buf_head + buf_used) % LOG_BUF_BYTES;
    size_t first = len < LOG_BUF_BYTES - tail ? len : LOG_BUF_BYTES - tail;
    memcpy(buf + tail, line, first);
    memcpy(buf, line + first, len - first);
    buf_used += len;
    pthread_cond_signal(&wake);
}

static void *writer_main(void *arg)
{
    (void)arg;
    static char out[16384];
    pthread_mutex_lock(&mu);
    for (;;) {
        while (buf_used == 0 && !writer_stop) {
            writer_busy = false;
            pthread_cond_broadcast(&idle);
            pthread_cond_wait(&wake, &mu);
        }
        if (buf_used == 0)
            break;
        writer_busy = true;
        size_t n = buf_used < sizeof out ? buf_used : sizeof out;
        size_t first = n < LOG_BUF_BYTES - buf_head ? n : LOG_BUF_BYTES - buf_head;
        memcpy(out, buf + buf_head, first);
        memcpy(out + first, buf, n - first);
        buf_head = (buf_head + n) % LOG_BUF_BYTES;
        buf_used -= n;
        pthread_mutex_unlock(&mu);
        write_all(out, n);          /* may block: only this thread waits */
        pthread_mutex_lock(&mu);
    }
    writer_busy = false;
    pthread_cond_broadcast(&idle);
    pthread_mutex_unlock(&mu);
    return NULL;
}

int stn_log_async_start(void)
{
    pthread_mutex_lock(&mu);
    bool on = async_on;
    pthread_mutex_unlock(&mu);
    if (on)
        return 0;
    writer_stop = false;
    if (pthread_create(&writer, NULL, writer_main, NULL) != 0)
        return STN_E_NOMEM;
    pthread_mutex_lock(&mu);
    async_on = true;
    pthread_mutex_unlock(&mu);
    return 0;
}

void stn_log_async_stop(int wait_ms)
{
    pthread_mutex_lock(&mu);
    if (!async_on) {
        pthread_mutex_unlock(&mu);
        return;
    }
    writer_stop = true;
    pthread_cond_signal(&wake);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    while ((buf_used > 0 || writer_busy) && rc == 0)
        rc = pthread_cond_timedwait(&idle, &mu, &until);
    bool drained = buf_used == 0 && !writer_busy;
    /* Lines from now on are written directly; a writer stuck on a stderr
     * nobody reads is left behind rather than holding the exit. */
    async_on = false;
    pthread_mutex_unlock(&mu);
    if (drained)
        pthread_join(writer, NULL);
    else
        pthread_detach(writer);
}

/* ---- rate limit per call site ------------------------------------------ */

static struct log_key *key_for(const char *component, const char *fmt, int level)
{
    size_t h = ((uintptr_t)fmt >> 3) * 0x9E3779B97F4A7C15ull >> 56;
    for (size_t i = 0; i < 8; i++) {
        struct log_key *k = &keys[(h + i) % LOG_KEYS];
        if (k->fmt == fmt && k->component == component)
            return k;
        if (!k->fmt) {
            k->fmt = fmt;
            k->component = component;
            k->level = level;
            return k;
        }
    }
    return &keys[h % LOG_KEYS];   /* crowded: share a slot ("similar" loosely) */
}

/* With mu held: the line saying how many of k's lines were suppressed. */
static void flush_key_locked(struct log_key *k)
{
    if (!k->suppressed)
        return;
    char line[LOG_LINE_MAX];
    int n = snprintf(line, sizeof line, "%s%s %s: %llu similar lines suppressed (more than %d "
                     "a second): \"%.200s\"\n", prio(k->level), names[k->level], k->component,
                     (unsigned long long)k->suppressed, LOG_LINES_PER_S, k->fmt);
    k->suppressed = 0;
    if (n > 0)
        emit_locked(line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* With mu held: may this call site write a line now? */
static bool admit_locked(struct log_key *k, int64_t now_s)
{
    if (k->second != now_s) {
        flush_key_locked(k);
        k->second = now_s;
        k->lines = 0;
    }
    if (k->lines < LOG_LINES_PER_S) {
        k->lines++;
        return true;
    }
    k->suppressed++;
    suppressed_total++;
    return false;
}

void stn_log_tick(void)
{
    int64_t now_s = mono_s();
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < LOG_KEYS; i++)
        if (keys[i].fmt && keys[i].suppressed && keys[i].second != now_s)
            flush_key_locked(&keys[i]);
    pthread_mutex_unlock(&mu);
}

void stn_log(int level, const char *component, const char *fmt, ...)
{
    if (level < atomic_load(&level_now) || level < 0 || level > STN_LOG_ERROR)
        return;
    int64_t now_s = mono_s();
    pthread_mutex_lock(&mu);
    bool ok = admit_locked(key_for(component, fmt, level), now_s);
    pthread_mutex_unlock(&mu);
    if (!ok)
        return;     /* not even formatted: a flood costs a lookup per line */
    char line[LOG_LINE_MAX];
    int off = snprintf(line, sizeof line, "%s%s %s: ", prio(level), names[level], component);
    if (off < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + off, sizeof line - (size_t)off - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)off + (size_t)n;
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    pthread_mutex_lock(&mu);
    emit_locked(line, len);
    pthread_mutex_unlock(&mu);
}

uint64_t stn_log_dropped(void)
{
    pthread_mutex_lock(&mu);
    uint64_t n = dropped;
    pthread_mutex_unlock(&mu);
    return n;
}

uint64_t stn_log_suppressed(void)
{
    pthread_mutex_lock(&mu);
    uint64_t n = suppressed_total;
    pthread_mutex_unlock(&mu);
    return n;
}

int64_t stn_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
