/*
 * main.c — vigil-panel: the real panel core and communicator on Linux.
 *
 *   vigil-panel -c panel.conf                 keypad in the terminal
 *   vigil-panel -c panel.conf --script FILE|- commands, one per line (script.c)
 *   options: --fast (core on a virtual clock), --count N (N panels, accounts
 *   from the configured one upward; state in memory), --log FILE (the
 *   terminal keypad's frame log)
 *
 * Exit: 0 done; 1 an `expect` failed; 2 bad usage, configuration or script.
 * Never: print or log a code or a key (only key *sources* are named).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"

static struct sim S;

static void usage(void)
{
    fprintf(stderr,
            "usage: vigil-panel -c panel.conf [--script FILE|-] [--fast] [--count N] [--log FILE] [--side FILE]\n"
            "       [--load] [--bench-duress N [--bench-warmup-s S] [--bench-gap-ms G]]\n");
}

static void on_tick(uv_timer_t *t)
{
    struct sim *s = t->data;
    if (s->load)
        sim_load_tick(s);
    for (unsigned i = 0; i < s->count; i++)
        sim_panel_tick(&s->panels[i]);
}

/* --count / --load: one line every 10 s (what the load really was). */
static uv_timer_t stats;
static uint64_t stats_acked, stats_polls;
static void on_stats(uv_timer_t *t)
{
    struct sim *s = t->data;
    unsigned up = 0;
    for (unsigned i = 0; i < s->count; i++)
        up += s->panels[i].path[0].state == SIM_PATH_UP;
    fprintf(stderr, "vigil-panel: %u panels, %u connected; last 10 s: %.0f events/s ACKed, %.0f polls/s\n",
            s->count, up, (double)(s->acked_total - stats_acked) / 10.0,
            (double)(s->polls_total - stats_polls) / 10.0);
    stats_acked = s->acked_total;
    stats_polls = s->polls_total;
}

static uv_signal_t sigint, sigterm;

static void on_signal(uv_signal_t *h, int signum)
{
    (void)signum;
    struct sim *s = h->data;
    s->quit = true;
    uv_stop(s->loop);
}

static int account_key(const struct sim_config *c, struct dc09_key *k, bool *have)
{
    int e = 0;
    *have = true;
    if (c->key_hex[0])
        e = dc09_key_from_hex(k, c->key_hex, strlen(c->key_hex));
    else if (c->key[0])
        e = dc09_key_from_ascii(k, c->key, strlen(c->key));
    else if (c->key_file[0]) {
        FILE *f = fopen(c->key_file, "rb");
        if (f == NULL) {
            fprintf(stderr, "vigil-panel: key_file %s: %s\n", c->key_file, strerror(errno));
            return -1;
        }
        char buf[130];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
            n--;
        buf[n] = '\0';
        bool hex = (n == 32 || n == 48 || n == 64) &&
                   strspn(buf, "0123456789abcdefABCDEF") == n;
        e = hex ? dc09_key_from_hex(k, buf, n) : dc09_key_from_ascii(k, buf, n);
        memset(buf, 0, sizeof buf);
    } else {
        *have = false;
    }
    if (e < 0) {
        fprintf(stderr, "vigil-panel: account key (%s): not a 16/24/32-byte AES key\n",
                c->key_hex[0] ? "key_hex" : c->key[0] ? "key" : "key_file");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *conf = NULL, *script = NULL, *log = NULL;
    unsigned trials = 0, warmup_s = 0, gap_ms = 100;
    S.count = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            conf = argv[++i];
        else if (strcmp(argv[i], "--script") == 0 && i + 1 < argc)
            script = argv[++i];
        else if (strcmp(argv[i], "--fast") == 0)
            S.fast = true;
        else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc)
            log = argv[++i];
        else if (strcmp(argv[i], "--side") == 0 && i + 1 < argc)
            S.side_file = argv[++i];
        else if (strcmp(argv[i], "--load") == 0)
            S.load = true;
        else if (strcmp(argv[i], "--bench-duress") == 0 && i + 1 < argc)
            trials = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--bench-warmup-s") == 0 && i + 1 < argc)
            warmup_s = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--bench-gap-ms") == 0 && i + 1 < argc)
            gap_ms = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > 20000) {
                fprintf(stderr, "vigil-panel: --count: 1..20000\n");
                return 2;
            }
            S.count = (unsigned)n;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage();
            return 0;
        } else {
            fprintf(stderr, "vigil-panel: unknown argument '%s'\n", argv[i]);
            usage();
            return 2;
        }
    }
    if (conf == NULL) {
        usage();
        return 2;
    }
    if (sim_config_load(conf, &S.cfg) < 0)
        return 2;
    S.loop = uv_default_loop();
    S.t0_ns = uv_hrtime();
    S.virt_ms = 1000;
    S.state_fd = -1;
    S.quiet = S.count > 1 || S.load || trials > 0;
    if (gap_ms < 1)
        gap_ms = 1;
    S.out = stdout;
    S.tui = script == NULL && S.count == 1 && !S.load && trials == 0;
    if (S.tui) {
        S.out = log ? fopen(log, "a") : fopen("/dev/null", "w");
        if (S.out == NULL) {
            fprintf(stderr, "vigil-panel: --log %s: %s\n", log, strerror(errno));
            return 2;
        }
    }

    struct dc09_key acct, dev;
    bool keyed;
    if (account_key(&S.cfg, &acct, &keyed) < 0)
        return 2;
    char devpath[600];
    if (S.cfg.device_key_file[0])
        snprintf(devpath, sizeof devpath, "%s", S.cfg.device_key_file);
    else if (S.cfg.state[0])
        snprintf(devpath, sizeof devpath, "%s.devkey", S.cfg.state);
    else
        devpath[0] = '\0';
    if (devpath[0]) {
        if (sim_device_key(devpath, &dev) < 0)
            return 2;
    } else {
        /* no state file: codes live in memory only; a random key per run */
        uint8_t raw[16];
        dc09_ossl_rng.fill(&dc09_ossl_rng, raw, sizeof raw);
        dev.len = 16;
        memcpy(dev.bytes, raw, 16);
        memset(raw, 0, sizeof raw);
    }
    if (S.cfg.state[0] && S.count == 1 && sim_state_open(&S, S.cfg.state, sim_state_size()) < 0)
        return 2;
    if (S.count > 1 && S.cfg.state[0])
        fprintf(stderr, "vigil-panel: --count: state kept in memory (state file ignored)\n");

    S.panels = calloc(S.count, sizeof *S.panels);
    if (S.panels == NULL) {
        fprintf(stderr, "vigil-panel: out of memory for %u panels\n", S.count);
        return 2;
    }
    for (unsigned i = 0; i < S.count; i++) {
        if (sim_panel_setup(&S, &S.panels[i], i, keyed ? &acct : NULL, &dev) < 0)
            return 2;
        if ((S.load || trials) && pnl_queue_count(&S.panels[i].p) == 0 &&
            pnl_history_get(&S.panels[i].p, 0, &(struct pnl_history){ 0 }) < 0)
            sim_bench_users(&S, &S.panels[i]);
    }
    dc09_key_wipe(&acct);
    dc09_key_wipe(&dev);

    uv_timer_init(S.loop, &S.tick);
    S.tick.data = &S;
    uv_timer_start(&S.tick, on_tick, 100, 100);
    uv_signal_init(S.loop, &sigint);
    uv_signal_init(S.loop, &sigterm);
    sigint.data = sigterm.data = &S;
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    signal(SIGPIPE, SIG_IGN);

    if (S.count > 1 || S.load) {
        uv_timer_init(S.loop, &stats);
        stats.data = &S;
        uv_timer_start(&stats, on_stats, 10000, 10000);
    }
    if (trials > 0 && sim_bench_start(&S, trials, warmup_s, gap_ms) < 0)
        return 2;
    int rc;
    if (script != NULL)
        rc = sim_script_run(&S, script);
    else if (S.tui)
        rc = sim_tui_run(&S);
    else {
        while (!S.quit)
            uv_run(S.loop, UV_RUN_DEFAULT);
        rc = 0;
    }
    fflush(NULL);
    return rc;
}
