/*
 * linger.c — whether lingering for a fuller batch pays, measured in epochs of
 * commits run each way (stn_internal.h says why and how). Pure arithmetic on
 * the commits' sizes and return times: commit.c feeds it and asks m->mode.
 */
#include "stn_internal.h"

#include <string.h>

void stn_linger_meter_init(struct stn_linger_meter *m)
{
    memset(m, 0, sizeof *m);
    m->mode = true;               /* as before it was measured */
}

static void restart(struct stn_linger_meter *m, uint64_t now_ns)
{
    m->start_ns = now_ns;
    m->last_ns = now_ns;
    m->cycles = 0;
    m->items = 0;
}

void stn_linger_meter_note(struct stn_linger_meter *m, size_t items, uint64_t now_ns)
{
    if (!m->start_ns || now_ns < m->last_ns || now_ns - m->last_ns > STN_LINGER_PAUSE_NS) {
        restart(m, now_ns);       /* from this commit's return */
        return;
    }
    m->last_ns = now_ns;
    m->items += items;
    if (++m->cycles < STN_LINGER_EPOCH)
        return;
    int k = m->mode ? 1 : 0;
    double rate = now_ns > m->start_ns ? (double)m->items * 1e9 / (double)(now_ns - m->start_ns)
                                       : 0.0;
    m->rate[k] = m->seen[k] ? m->rate[k] + (rate - m->rate[k]) / 4.0 : rate;
    if (m->seen[k] < UINT32_MAX)
        m->seen[k]++;
    /* the next epoch: a way not measured yet; else the faster, and now and
     * then the other */
    bool best = m->rate[1] >= m->rate[0] * STN_LINGER_GAIN_MIN;
    if (!m->seen[0] || !m->seen[1]) {
        m->mode = !m->seen[1];
    } else if (++m->epochs >= STN_LINGER_EXPLORE) {
        m->epochs = 0;
        m->mode = !best;
    } else {
        m->mode = best;
    }
    restart(m, now_ns);
}
