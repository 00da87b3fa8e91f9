/*
 * tui.c — vigil-panel's keypad in the terminal (plain ANSI): the display
 * line, the armed LED, the siren, the last beep, the zones, and keys from the
 * keyboard (0-9 * # for the keypad; f m p held for fire, medical, panic; q w e r t y
 * open/close zones 1-6; Ctrl-C
 * or Ctrl-D quits).
 *
 * It shows only what the premises can see and hear — the panel's keypad port —
 * so a duress entry looks exactly like a normal one. Frames go to --log FILE,
 * never to this screen. Never echo the digits typed (a keypad shows '*').
 */
#include <string.h>
#include <unistd.h>

#include "sim.h"

static uv_tty_t tty_in;
static struct sim *TS;
static char typed[24];
static unsigned ntyped;
static const char zone_keys[] = "qwerty";

static void draw(struct sim *s)
{
    struct sim_panel *sp = &s->panels[0];
    char stars[32];
    unsigned n = ntyped < sizeof stars - 1 ? ntyped : sizeof stars - 1;
    memset(stars, '*', n);
    stars[n] = '\0';
    printf("\033[H\033[2J");
    printf("  +------------------------------------------+\r\n");
    printf("  |  VIGIL  account %-24s |\r\n", sp->account);
    printf("  |                                          |\r\n");
    printf("  |  \033[1m%-38s\033[0m  |\r\n", sp->display[0] ? sp->display : "...");
    printf("  |  %-38s  |\r\n", stars);
    printf("  |                                          |\r\n");
    printf("  |  ARMED %s   SIREN %-8s  beep: %-5s |\r\n",
           sp->led_armed ? "\033[31m(*)\033[0m" : "( )",
           sp->siren == 0 ? "off" : sp->siren == 2 ? "FIRE" : "BURGLARY", sp->beep);
    printf("  +------------------------------------------+\r\n\r\n");
    printf("  zones: ");
    static const char *const names[] = { "", "door", "hall", "window", "fire", "holdup", "panic" };
    for (unsigned z = 1; z <= 6; z++)
        printf("[%c] %u %s %s  ", zone_keys[z - 1], z, names[z], sp->zone_open[z] ? "OPEN" : "closed");
    printf("\r\n\r\n  keys: 0-9 * #  (e.g. 1234# arms/disarms)   zones: q w e r t y   quit: Ctrl-C\r\n");
    printf("  hold 2 s: f fire  m medical  p panic\r\n");
    if (s->side_file != NULL) {
        /* Another party's screen (the demo: the monitoring station's alarm
         * list), drawn below the premises' keypad, clearly apart from it. */
        FILE *f = fopen(s->side_file, "r");
        if (f != NULL) {
            char line[256];
            printf("\r\n  ======================================================================\r\n");
            for (int row = 0; row < 16 && fgets(line, sizeof line, f); row++) {
                line[strcspn(line, "\n")] = '\0';
                printf("  %s\r\n", line);
            }
            fclose(f);
        }
    }
    fflush(stdout);
}

static void on_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    (void)h;
    (void)sz;
    static char buf[64];
    *b = uv_buf_init(buf, sizeof buf);
}

static void on_key(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    (void)st;
    struct sim *s = TS;
    struct sim_panel *sp = &s->panels[0];
    if (n < 0) {
        s->quit = true;
        uv_stop(s->loop);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        char c = b->base[i];
        if (c == 3 || c == 4) {
            s->quit = true;
            uv_stop(s->loop);
            return;
        }
        /* f m p: the emergency keys, taken when held 2 s (the terminal's
         * auto-repeat reports a held key, as a keypad bus does) */
        if (c == 'f' || c == 'm' || c == 'p') {
            sim_key(sp, 1, (char)(c - 'a' + 'A'));
            sim_panel_after_input(sp);
        }
        if ((c >= '0' && c <= '9') || c == '*' || c == '#') {
            ntyped = c == '#' ? 0 : ntyped + 1;
            sim_key(sp, 1, c);
            sim_panel_after_input(sp);
        }
        const char *z = strchr(zone_keys, c);
        if (z != NULL && c != '\0') {
            unsigned zone = (unsigned)(z - zone_keys) + 1;
            sp->zone_open[zone] = !sp->zone_open[zone];
            pnl_zone_set(&sp->p, zone, sp->zone_open[zone], sim_core_ms(s));
            sim_panel_after_input(sp);
        }
    }
    draw(s);
}

static uv_timer_t redraw;
static void on_redraw(uv_timer_t *t)
{
    (void)t;
    draw(TS);
}

int sim_tui_run(struct sim *s)
{
    TS = s;
    (void)typed;
    if (!isatty(0) || uv_tty_init(s->loop, &tty_in, 0, 1) < 0) {
        fprintf(stderr, "vigil-panel: the keypad needs a terminal (or use --script)\n");
        return 2;
    }
    uv_tty_set_mode(&tty_in, UV_TTY_MODE_RAW);
    uv_read_start((uv_stream_t *)&tty_in, on_alloc, on_key);
    uv_timer_init(s->loop, &redraw);
    uv_timer_start(&redraw, on_redraw, 0, 250);
    while (!s->quit)
        uv_run(s->loop, UV_RUN_DEFAULT);
    uv_tty_reset_mode();
    printf("\033[0m\r\n");
    return 0;
}
