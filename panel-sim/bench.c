/*
 * bench.c — vigil-panel's load and measurement modes (bench/duress-latency.sh):
 *
 *   --load               every panel runs its 8 partitions through real keypad
 *                        entries: arm (closing report when the exit delay ends),
 *                        disarm (opening report), again — routine traffic made by
 *                        the core itself, one report per partition per half cycle.
 *   --bench-duress N     panel 1 enters its duress code N times, one at a time;
 *                        each trial is timed from the '#' that completes the
 *                        entry to the station's ACK of the 1121 frame (the
 *                        station ACKs only after the event is durable in its
 *                        store, so this bounds "key press → alarm stored").
 *
 * Users are programmed on fresh (memory) panels: slot 1 master 2468 on all
 * partitions, slot 2 its personal duress code 9305. Bench codes only.
 * Never print a code.
 */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define BENCH_MASTER "2468"
#define BENCH_DURESS "9305"

static uv_timer_t trial_timer;

void sim_bench_users(struct sim *s, struct sim_panel *sp)
{
    struct pnl_policy_result r;
    int e = pnl_user_set(&sp->p, 1, BENCH_MASTER, 4, PNL_ROLE_MASTER, 0xFF, false, 0, &r, NULL);
    if (e == 0)
        e = pnl_user_set(&sp->p, 2, BENCH_DURESS, 4, PNL_ROLE_USER, 0xFF, true, 1, &r, NULL);
    if (e < 0)
        sim_line(s, "error", "%s: bench users: %s", sp->account, pnl_strerror(e));
}

static void keys(struct sim_panel *sp, unsigned part, const char *k)
{
    uint64_t now = sim_core_ms(sp->sim);
    for (; *k; k++)
        pnl_key_at(&sp->p, part, *k, now);
}

/* Called every tick: each partition of each load panel, arm → (exit delay,
 * closing) → disarm (opening) → arm ... Start times are spread so the
 * reports come evenly. */
void sim_load_tick(struct sim *s)
{
    uint64_t now = sim_core_ms(s);
    for (unsigned i = 0; i < s->count; i++) {
        struct sim_panel *sp = &s->panels[i];
        bool input = false;
        for (unsigned part = 1; part <= PNL_PARTS_MAX; part++) {
            uint64_t *next = &sp->load_next[part - 1];
            if (*next == 0)
                *next = now + (uint64_t)(rand() % (int)(s->cfg.exit_delay_s * 1000));
            if (now < *next)
                continue;
            enum pnl_part_state st = pnl_part_state(&sp->p, part);
            if (st == PNL_ST_DISARMED) {
                keys(sp, part, BENCH_MASTER "#");      /* arm: closing after the delay */
                *next = now + (uint64_t)s->cfg.exit_delay_s * 1000u;
                input = true;
            } else if (st == PNL_ST_ARMED) {
                keys(sp, part, BENCH_MASTER "#");      /* disarm: opening now */
                *next = now + 100;
                input = true;
            } else {
                *next = now + 100;
            }
        }
        if (input)
            sim_panel_after_input(sp);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void report(struct sim *s)
{
    struct sim_bench *b = &s->bench;
    qsort(b->lat_ns, b->done, sizeof b->lat_ns[0], cmp_u64);
    double p50 = b->lat_ns[b->done / 2] / 1e6;
    double p99 = b->lat_ns[(b->done * 99) / 100 < b->done ? (b->done * 99) / 100 : b->done - 1] / 1e6;
    double max = b->lat_ns[b->done - 1] / 1e6;
    double sum = 0;
    for (unsigned i = 0; i < b->done; i++)
        sum += b->lat_ns[i] / 1e6;
    printf("bench duress-latency n=%u p50_ms=%.2f p99_ms=%.2f max_ms=%.2f mean_ms=%.2f retries=%u\n",
           b->done, p50, p99, max, sum / b->done, b->retries);
    fflush(stdout);
}

static void on_trial(uv_timer_t *t)
{
    struct sim *s = t->data;
    struct sim_bench *b = &s->bench;
    if (b->pending || sim_real_ms(s) < b->start_ms)
        return;
    if (b->done >= b->trials) {
        report(s);
        s->quit = true;
        uv_stop(s->loop);
        return;
    }
    struct sim_panel *sp = &s->panels[0];
    keys(sp, 1, BENCH_DURESS);
    b->pending = true;
    b->press_ns = uv_hrtime();
    pnl_key_at(&sp->p, 1, '#', sim_core_ms(s));   /* the press that completes the entry */
    sim_panel_after_input(sp);
}

void sim_bench_acked(struct sim *s, const struct sim_panel *sp, const struct comm_note *no)
{
    struct sim_bench *b = &s->bench;
    if (!b->trials || sp->idx != 0 || no->cid.event != 121 || !b->pending)
        return;
    if (no->attempt > 1)
        b->retries++;
    b->lat_ns[b->done++] = uv_hrtime() - b->press_ns;
    b->pending = false;
}

int sim_bench_start(struct sim *s, unsigned trials, unsigned warmup_s, unsigned gap_ms)
{
    struct sim_bench *b = &s->bench;
    b->trials = trials;
    b->lat_ns = calloc(trials ? trials : 1, sizeof *b->lat_ns);
    if (b->lat_ns == NULL)
        return -1;
    b->start_ms = sim_real_ms(s) + (uint64_t)warmup_s * 1000u;
    uv_timer_init(s->loop, &trial_timer);
    trial_timer.data = s;
    uv_timer_start(&trial_timer, on_trial, gap_ms, gap_ms);
    return 0;
}
