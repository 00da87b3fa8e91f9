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
#include "opts.h"

static struct sim S;

/* The command line: one table (cli/opts.h), read by the parser, --help and
 * vigil-panel(1) (--help-man). */
struct main_args {
    const char *conf, *script, *log, *side, *trials, *warmup, *gap, *count;
    bool fast, load, help_man, help_man_keys, dump;
};
#define MA(m) offsetof(struct main_args, m)
static const struct opt main_opts[] = {
    { NULL, 'c', "FILE", OPT_STR, OPT_REQUIRED, MA(conf), NULL,
      "the panel's configuration (receiver, account, key, communicator timings: "
      "/etc/vigil/vigil-panel.conf)" },
    { "--script", 0, "FILE|-", OPT_STR, 0, MA(script), NULL,
      "run keypad input and events from FILE (or stdin) instead of the terminal keypad; one "
      "JSON line per panel happening on stdout" },
    { "--fast", 0, NULL, OPT_BOOL, 0, MA(fast), NULL,
      "with --script: virtual time (waits and delays take no real time)" },
    { "--count", 0, "N", OPT_STR, 0, MA(count), NULL,
      "run N panels (1..20000), accounts counting up from the configured one" },
    { "--log", 0, "FILE", OPT_STR, 0, MA(log), NULL,
      "keypad mode: append the panel's JSON lines to FILE (default: none)" },
    { "--side", 0, "FILE", OPT_STR, 0, MA(side), NULL,
      "keypad mode: mirror the communicator's state to FILE for a second terminal" },
    { "--load", 0, NULL, OPT_BOOL, 0, MA(load), NULL,
      "with --count: every panel sends events at the configured load rate" },
    { "--bench-duress", 0, "N", OPT_STR, 0, MA(trials), NULL,
      "measure N duress round trips (alarm to ACK) under the --count load, then exit" },
    { "--bench-warmup-s", 0, "S", OPT_STR, 0, MA(warmup), NULL,
      "with --bench-duress: seconds of load before the first trial" },
    { "--bench-gap-ms", 0, "G", OPT_STR, 0, MA(gap), NULL,
      "with --bench-duress: milliseconds between trials (default 100)" },
    { "--help", 'h', NULL, OPT_HELP, 0, 0, NULL, "print this help" },
    { "--help-man", 0, NULL, OPT_BOOL, OPT_HIDDEN, MA(help_man), NULL, "the options as roff" },
    { "--help-man-keys", 0, NULL, OPT_BOOL, OPT_HIDDEN, MA(help_man_keys), NULL,
      "the configuration keys as roff" },
    { "--dump-options", 0, NULL, OPT_BOOL, OPT_HIDDEN, MA(dump), NULL,
      "the options and keys, one a line" },
};
static const struct opt_cmd main_cmd = {
    .prog = "vigil-panel",
    .synopsis = "-c FILE [--script FILE|-] [--fast] [--count N] [--log FILE] [--side FILE] "
                "[--load] [--bench-duress N [--bench-warmup-s S] [--bench-gap-ms G]]",
    .summary = "The Vigil panel core and its DC-09 communicator on Linux: a keypad in the "
               "terminal, a script mode for tests and demos, many panels for load.",
    .opts = main_opts, .n_opts = OPTS_N(main_opts), .max_operands = 0, .style = OPTS_USAGE,
};


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
    unsigned trials = 0, warmup_s = 0, gap_ms = 100;
    S.count = 1;
    struct main_args ma = { 0 };
    for (int i = 1; i < argc; i++) {   /* the table dumps need no -c */
        bool man = strcmp(argv[i], "--help-man") == 0, keys = strcmp(argv[i], "--help-man-keys") == 0;
        if (man || keys || strcmp(argv[i], "--dump-options") == 0) {
            if (man)
                opts_man(&main_cmd, stdout, false);
            else if (!keys)
                opts_dump(&main_cmd, stdout);
            if (!man)
                opts_man_keys(sim_config_keys, sim_config_key_count, "vigil-panel", keys, stdout);
            return fflush(stdout) == 0 ? 0 : 2;
        }
    }
    int prc = opts_parse(&main_cmd, argc, argv, 1, &ma, NULL);
    if (prc != 0)
        return prc == OPTS_DONE_HELP ? 0 : 2;
    const char *conf = ma.conf, *script = ma.script, *log = ma.log;
    S.fast = ma.fast;
    S.load = ma.load;
    if (ma.side != NULL)
        S.side_file = ma.side;
    if (ma.trials != NULL)
        trials = (unsigned)strtoul(ma.trials, NULL, 10);
    if (ma.warmup != NULL)
        warmup_s = (unsigned)strtoul(ma.warmup, NULL, 10);
    if (ma.gap != NULL)
        gap_ms = (unsigned)strtoul(ma.gap, NULL, 10);
    if (ma.count != NULL) {
        char *end;
        long n = strtol(ma.count, &end, 10);
        if (*end || n < 1 || n > 20000) {
            fprintf(stderr, "vigil-panel: --count: 1..20000\n");
            return 2;
        }
        S.count = (unsigned)n;
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
