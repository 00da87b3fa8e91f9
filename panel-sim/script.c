/*
 * script.c — vigil-panel --script FILE|-: one command per line, for tests and
 * demos. Commands (a contract; keep the names):
 *   user N CODE [duress|installer] [for U] [partition P]   program slot N as the installer
 *                                  would (policy enforced; slot 1 is the master)
 *   keys 1234#          key presses on partition 1's keypad (F M P: a tap)
 *   hold F|M|P [2.5s]   holds an emergency key (fire, medical, panic), default 2.5 s
 *   power ac off|on | power battery low|ok
 *   zone 3 open|close
 *   wait 2.5s | 300ms | 2       (real time; virtual with --fast)
 *   power-cut           stop now, saving nothing that is not already saved
 *   network down|up [primary|backup]
 *   expect display TEXT  (exit 1 if the display shows something else)
 *   show queue
 * Lines from a pipe are run as they arrive (a test can drive the panel step
 * by step); end of input ends the run.
 *
 * Never: print a script line (it may hold a code), nor a code in a message.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim.h"

struct src {
    int fd;
    bool eof;
    bool polling;
    uv_poll_t poll;
    char buf[65536];
    size_t len;
    unsigned lineno;
};

static struct src SRC;

static void on_readable(uv_poll_t *h, int status, int events)
{
    (void)h;
    (void)events;
    if (status < 0) {
        SRC.eof = true;
        uv_poll_stop(&SRC.poll);
        return;
    }
    if (SRC.len == sizeof SRC.buf) {
        uv_poll_stop(&SRC.poll);      /* a line this long is an error below */
        return;
    }
    ssize_t n = read(SRC.fd, SRC.buf + SRC.len, sizeof SRC.buf - SRC.len);
    if (n > 0)
        SRC.len += (size_t)n;
    else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        SRC.eof = true;
        uv_poll_stop(&SRC.poll);
    }
}

/* Takes one line out of the buffer; false when none is complete yet. */
static bool next_line(char *line, size_t cap)
{
    char *nl = memchr(SRC.buf, '\n', SRC.len);
    size_t n;
    if (nl != NULL)
        n = (size_t)(nl - SRC.buf);
    else if (SRC.eof && SRC.len > 0)
        n = SRC.len;
    else
        return false;
    size_t take = n < cap - 1 ? n : cap - 1;
    memcpy(line, SRC.buf, take);
    line[take] = '\0';
    size_t drop = nl != NULL ? n + 1 : n;
    memmove(SRC.buf, SRC.buf + drop, SRC.len - drop);
    SRC.len -= drop;
    SRC.lineno++;
    if (!SRC.polling && SRC.len < sizeof SRC.buf / 2 && !SRC.eof && SRC.fd >= 0) {
        /* regular files are read whole at start; nothing to resume */
    }
    return true;
}

static int src_open(struct sim *s, const char *path)
{
    SRC.fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (SRC.fd < 0) {
        fprintf(stderr, "vigil-panel: --script %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(SRC.fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
        ssize_t n;
        while ((n = read(SRC.fd, SRC.buf + SRC.len, sizeof SRC.buf - SRC.len)) > 0)
            SRC.len += (size_t)n;
        SRC.eof = true;
        return 0;
    }
    fcntl(SRC.fd, F_SETFL, fcntl(SRC.fd, F_GETFL) | O_NONBLOCK);
    if (uv_poll_init(s->loop, &SRC.poll, SRC.fd) < 0 ||
        uv_poll_start(&SRC.poll, UV_READABLE | UV_DISCONNECT, on_readable) < 0) {
        fprintf(stderr, "vigil-panel: --script %s: cannot poll it\n", path);
        return -1;
    }
    SRC.polling = true;
    return 0;
}

/* ---- waiting --------------------------------------------------------- */

/* A frame went out and its answer may still come (its path could send and
 * its retry timer has not run out): in --fast, virtual time waits for it. */
static bool answer_pending(const struct sim *s)
{
    uint64_t now = sim_real_ms(s);
    for (unsigned i = 0; i < s->count; i++) {
        const struct comm *c = &s->panels[i].c;
        for (unsigned k = 0; k < COMM_INFLIGHT_MAX; k++) {
            const struct comm__flight *f = &c->fl[k];
            if (f->id != 0 && f->waiting && !f->send_failed && f->due_ms > now)
                return true;
        }
    }
    return false;
}

static void wait_ms(struct sim *s, uint64_t ms)
{
    if (!s->fast) {
        uint64_t end = sim_real_ms(s) + ms;
        while (!s->quit && sim_real_ms(s) < end)
            uv_run(s->loop, UV_RUN_ONCE);   /* the 100 ms tick always wakes us */
        return;
    }
    /* Virtual clock: the core's time jumps in 100 ms steps; the network stays
     * real, and a step waits (up to 300 ms) for frames in flight to be answered,
     * so events reach the station at the moment they happen in virtual time. */
    uint64_t end = s->virt_ms + ms;
    while (!s->quit && s->virt_ms < end) {
        uint64_t step = end - s->virt_ms < 100 ? end - s->virt_ms : 100;
        s->virt_ms += step;
        for (unsigned i = 0; i < s->count; i++)
            sim_panel_tick(&s->panels[i]);
        uv_run(s->loop, UV_RUN_NOWAIT);
        uint64_t guard = sim_real_ms(s) + 300;
        while (!s->quit && answer_pending(s) && sim_real_ms(s) < guard)
            uv_run(s->loop, UV_RUN_ONCE);
    }
}

static int parse_duration(const char *v, uint64_t *ms)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || d < 0 || d > 1e7)
        return -1;
    if (strcmp(end, "ms") == 0)
        *ms = (uint64_t)d;
    else if (strcmp(end, "s") == 0 || *end == '\0')
        *ms = (uint64_t)(d * 1000.0 + 0.5);
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        *ms = (uint64_t)(d * 60000.0 + 0.5);
    else
        return -1;
    return 0;
}

/* ---- commands -------------------------------------------------------- */

static int fail(struct sim *s, int code, const char *what, const char *a)
{
    /* A word with a digit, '*' or '#' may be a code (a line missing `keys`, a
     * code where a keyword was expected): never echo it. */
    if (a && strpbrk(a, "0123456789*#") != NULL)
        a = "(not shown: it may hold a code)";
    sim_line(s, "error", "line %u: %s%s%s%s", SRC.lineno, what, a ? " '" : "", a ? a : "",
             a ? "'" : "");
    s->exit_code = code;
    s->quit = true;
    return -1;
}

static bool all_digits(const char *t)
{
    if (*t == '\0')
        return false;
    for (; *t; t++)
        if (!isdigit((unsigned char)*t))
            return false;
    return true;
}

static int cmd_user(struct sim *s, struct sim_panel *sp, char **tok, int n)
{
    if (n < 3 || !all_digits(tok[1]))
        return fail(s, 2, "usage: user N CODE [duress|installer] [for U] [partition P]", NULL);
    unsigned slot = (unsigned)atoi(tok[1]);
    const char *code = tok[2];
    bool duress = false, installer = false;
    unsigned link = 0, part = 1;
    for (int i = 3; i < n; i++) {
        if (strcmp(tok[i], "duress") == 0)
            duress = true;
        else if (strcmp(tok[i], "installer") == 0)
            installer = true;           /* *9 settings at the keypad */
        else if (strcmp(tok[i], "for") == 0 && i + 1 < n && all_digits(tok[i + 1]))
            link = (unsigned)atoi(tok[++i]);
        else if (strcmp(tok[i], "partition") == 0 && i + 1 < n && all_digits(tok[i + 1]))
            part = (unsigned)atoi(tok[++i]);
        else
            return fail(s, 2, "user: unknown word", tok[i]);
    }
    if (part < 1 || part > PNL_PARTS_MAX || slot < 1 || slot > PNL_USERS_MAX)
        return fail(s, 2, "user: slot 1..32, partition 1..8", NULL);
    enum pnl_role role = installer ? PNL_ROLE_INSTALLER
                         : slot == 1 && !duress ? PNL_ROLE_MASTER : PNL_ROLE_USER;
    struct pnl_policy_result res;
    int e = pnl_user_set(&sp->p, slot, code, strlen(code), role, (uint8_t)(1u << (part - 1)),
                         duress, link, &res, NULL);
    /* programmed or refused: the core queued its programming report (YG) */
    if (e == PNL_E_POLICY) {
        char hits[256] = "";
        size_t o = 0;
        for (unsigned i = 0; i < res.hit_count && o < sizeof hits - 40; i++)
            o += (size_t)snprintf(hits + o, sizeof hits - o, "%s%s %s%s%u", i ? ", " : "",
                                  pnl_rule_id((enum pnl_rule)res.hits[i].rule),
                                  pnl_rule_name((enum pnl_rule)res.hits[i].rule),
                                  res.hits[i].slot ? " slot " : "", res.hits[i].slot);
        sim_line(s, "error", "user %u refused: %s", slot, hits);
        return 0;                      /* a refusal is an answer, not a script error */
    }
    if (e < 0) {
        /* not an answer of the code policy but input the panel cannot take (a
         * code that is not 4-8 digits, a bad link, a full table): a script
         * error like any other refused line, exit 2 */
        char what[96];
        snprintf(what, sizeof what, "user %u: %s", slot, pnl_strerror(e));
        return fail(s, 2, what, NULL);
    }
    if (res.weak_warning)
        sim_line(s, "error", "user %u accepted with a warning: R8 weak", slot);
    return 0;
}

static void show_queue(struct sim *s, struct sim_panel *sp)
{
    unsigned n = pnl_queue_count(&sp->p);
    sim_line(s, "queue", "%s %u events, %u trouble, %u in flight", sp->account, n,
             comm_trouble_count(&sp->c), comm_inflight(&sp->c));
    for (unsigned i = 0; i < n; i++) {
        struct pnl_event e;
        if (pnl_queue_at(&sp->p, i, &e) < 0)
            break;
        struct dc09_cid c = { e.qualifier, e.cid, e.part, e.zone };
        char t[16];
        dc09_cid_format(&c, t, sizeof t);
        const char *d = dc09_cid_describe(e.cid);
        char text[PNL_EVENT_TEXT_MAX + 1];
        bool has_text = pnl_event_text(&e, text, sizeof text) > 0;
        sim_line(s, "queue", "%u cid=\"%s\" prio=%u %s%s%s%s%s", i + 1, t, e.prio,
                 d ? d : "event", has_text ? " \"" : "", has_text ? text : "",
                 has_text ? "\"" : "", e.sent ? " (sent, awaiting ACK)" : "");
    }
}

static int run_line(struct sim *s, char *line)
{
    char *hash = strchr(line, '#');
    /* '#' starts a comment only at the start of a line or after a space
     * (keys 1234# uses it as a key) */
    if (hash != NULL && (hash == line || isspace((unsigned char)hash[-1])))
        *hash = '\0';
    char *tok[16];
    int n = 0;
    for (char *t = strtok(line, " \t\r"); t && n < 16; t = strtok(NULL, " \t\r"))
        tok[n++] = t;
    if (n == 0)
        return 0;
    struct sim_panel *sp = &s->panels[0];
    const char *c = tok[0];
    if (strcmp(c, "user") == 0)
        return cmd_user(s, sp, tok, n);
    if (strcmp(c, "keys") == 0) {
        if (n != 2)
            return fail(s, 2, "usage: keys 1234#", NULL);
        for (const char *k = tok[1]; *k; k++)
            if (!isdigit((unsigned char)*k) && !strchr("*#FMP", *k))
                return fail(s, 2, "keys: only 0-9 * # F M P are keys", NULL);
        for (const char *k = tok[1]; *k; k++) {
            if (*k == '#')
                sp->duress_press_ns = uv_hrtime();
            sim_key(sp, 1, *k);
            sim_panel_after_input(sp);
        }
        return 0;
    }
    if (strcmp(c, "hold") == 0) {
        /* an emergency key held: reported every 100 ms as the keypad's auto-repeat */
        uint64_t ms = 2500;
        if (n < 2 || n > 3 || strlen(tok[1]) != 1 || !strchr("FMP", tok[1][0]) ||
            (n == 3 && parse_duration(tok[2], &ms) < 0))
            return fail(s, 2, "usage: hold F|M|P [2.5s]", NULL);
        for (uint64_t t = 0;; t += 100) {
            sim_key(sp, 1, tok[1][0]);
            sim_panel_after_input(sp);
            if (t >= ms || s->quit)
                break;
            wait_ms(s, 100);
        }
        return 0;
    }
    if (strcmp(c, "power") == 0) {
        static bool ac_ok = true, bat_ok = true;
        bool ac = n == 3 && strcmp(tok[1], "ac") == 0, bat = n == 3 && strcmp(tok[1], "battery") == 0;
        if (ac && (strcmp(tok[2], "on") == 0 || strcmp(tok[2], "off") == 0))
            ac_ok = strcmp(tok[2], "on") == 0;
        else if (bat && (strcmp(tok[2], "ok") == 0 || strcmp(tok[2], "low") == 0))
            bat_ok = strcmp(tok[2], "ok") == 0;
        else
            return fail(s, 2, "usage: power ac off|on | power battery low|ok", NULL);
        int e = pnl_power_set(&sp->p, ac_ok, bat_ok, sim_core_ms(s));
        if (e < 0)
            sim_line(s, "error", "power: %s", pnl_strerror(e));
        sim_panel_after_input(sp);
        return 0;
    }
    if (strcmp(c, "zone") == 0) {
        if (n != 3 || !all_digits(tok[1]) ||
            (strcmp(tok[2], "open") != 0 && strcmp(tok[2], "close") != 0))
            return fail(s, 2, "usage: zone N open|close", NULL);
        int e = pnl_zone_set(&sp->p, (unsigned)atoi(tok[1]), strcmp(tok[2], "open") == 0,
                             sim_core_ms(s));
        if (e < 0)
            sim_line(s, "error", "zone %s: %s", tok[1], pnl_strerror(e));
        sim_panel_after_input(sp);
        return 0;
    }
    if (strcmp(c, "wait") == 0) {
        uint64_t ms;
        if (n != 2 || parse_duration(tok[1], &ms) < 0)
            return fail(s, 2, "usage: wait 2.5s | 300ms", NULL);
        wait_ms(s, ms);
        return 0;
    }
    if (strcmp(c, "power-cut") == 0) {
        fflush(NULL);
        _exit(0);                      /* nothing more is saved: the storage has what it has */
    }
    if (strcmp(c, "network") == 0) {
        int path = -1;
        if (n == 3)
            path = strcmp(tok[2], "primary") == 0 ? 0 : strcmp(tok[2], "backup") == 0 ? 1 : -2;
        if (n < 2 || n > 3 || path == -2 ||
            (strcmp(tok[1], "down") != 0 && strcmp(tok[1], "up") != 0))
            return fail(s, 2, "usage: network down|up [primary|backup]", NULL);
        if (strcmp(tok[1], "down") == 0)
            sim_net_down(s, path);
        else
            sim_net_up(s, path);
        sim_line(s, "net", "%s %s", path < 0 ? "all paths" : path == 0 ? "primary" : "backup",
                 tok[1]);
        return 0;
    }
    if (strcmp(c, "expect") == 0) {
        if (n < 3 || strcmp(tok[1], "display") != 0)
            return fail(s, 2, "usage: expect display TEXT", NULL);
        char want[128] = "";
        size_t wl = 0;
        for (int i = 2; i < n; i++) {
            int k = snprintf(want + wl, sizeof want - wl, "%s%s", tok[i], i + 1 < n ? " " : "");
            if (k < 0 || (size_t)k >= sizeof want - wl)
                return fail(s, 2, "expect display: text longer than 127 characters", NULL);
            wl += (size_t)k;
        }
        if (strcmp(want, sp->display) != 0) {
            sim_line(s, "error", "line %u: expected display \"%s\", shows \"%s\"", SRC.lineno,
                     want, sp->display);
            s->exit_code = 1;
            s->quit = true;
            return -1;
        }
        return 0;
    }
    if (strcmp(c, "show") == 0 && n == 2 && strcmp(tok[1], "queue") == 0) {
        show_queue(s, sp);
        return 0;
    }
    return fail(s, 2, "unknown command", c);
}

int sim_script_run(struct sim *s, const char *path)
{
    if (src_open(s, path) < 0)
        return 2;
    char line[1024];
    while (!s->quit) {
        if (next_line(line, sizeof line)) {
            run_line(s, line);
            continue;
        }
        if (SRC.eof)
            break;
        if (SRC.len == sizeof SRC.buf) {
            sim_line(s, "error", "line %u: too long", SRC.lineno + 1);
            s->exit_code = 2;
            break;
        }
        uv_run(s->loop, UV_RUN_ONCE);
    }
    if (SRC.polling) {
        uv_poll_stop(&SRC.poll);
        uv_close((uv_handle_t *)&SRC.poll, NULL);
    }
    return s->exit_code;
}
