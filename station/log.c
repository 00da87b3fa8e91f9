/*
 * log.c — vigil-station's log: one line per event on stderr, level and
 * component first ("warn rx: ..."). Lines are written with one write(2) so
 * the loop and the commit worker never interleave. Callers must never pass a
 * code, key, passcode or password: this file cannot tell.
 */
#include "stn_internal.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static atomic_int level_now = STN_LOG_INFO;

void stn_log_set_level(int level) { atomic_store(&level_now, level); }
int stn_log_level(void) { return atomic_load(&level_now); }

static const char *const names[] = { "debug", "info", "warn", "error" };
_Static_assert(sizeof names / sizeof names[0] == STN_LOG_ERROR + 1, "one name per level");

void stn_log(int level, const char *component, const char *fmt, ...)
{
    if (level < atomic_load(&level_now) || level < 0 || level > STN_LOG_ERROR)
        return;
    char line[1024];
    int off = snprintf(line, sizeof line, "%s %s: ", names[level], component);
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
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

int64_t stn_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
