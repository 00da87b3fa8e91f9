/*
 * agency.c — the decisions on a police agency's false-alarm rules
 * (vigil/agency.h): an account's standing with its agency, and the invoice
 * line of a police finding. The rules are data (packaging/agencies/NAME.json,
 * parsed by agency_json.c); nothing here knows one agency from another.
 *
 * Must never: touch a store, read a clock, allocate, log, or use a
 * floating-point number for money.
 */
#include "vigil/agency.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static bool kind_in(const char (*list)[AGY_KIND_MAX], size_t n, const char *kind)
{
    for (size_t i = 0; kind && i < n; i++)
        if (strcmp(list[i], kind) == 0)
            return true;
    return false;
}

static bool is_exempt(const struct agy_rules *r, const char *kind)
{
    return kind_in(r->exempt_kinds, r->nexempt_kinds, kind);
}

/* Does a finding count toward caution / suspension / revocation? */
static bool counts(const struct agy_rules *r, const char *kind, enum agy_finding f)
{
    if (f == AGY_FINDING_CANCELLED && !r->cancel_counts)
        return false;
    return r->nthreshold_kinds == 0 || kind_in(r->threshold_kinds, r->nthreshold_kinds, kind);
}

/* The fee schedule of a kind: the one naming it, else the one naming none. */
static const struct agy_schedule *schedule_of(const struct agy_rules *r, const char *kind)
{
    const struct agy_schedule *def = NULL;
    for (size_t i = 0; i < r->nschedules; i++) {
        const struct agy_schedule *s = &r->schedules[i];
        if (s->nkinds == 0 && !def)
            def = s;
        else if (kind_in(s->kinds, s->nkinds, kind))
            return s;
    }
    return def;
}

/* Which past findings a count is about. */
struct filter {
    const struct agy_rules *r;
    const struct agy_schedule *sched;   /* non-NULL: the false findings of its kinds */
};

static bool selected(const struct filter *f, const struct agy_past *e)
{
    if (!f->sched)
        return counts(f->r, e->kind, e->finding);
    return e->finding == AGY_FINDING_FALSE && schedule_of(f->r, e->kind) == f->sched;
}

static int64_t window_ms(const struct agy_rules *r)
{
    return (int64_t)r->window_days * AGY_DAY_MS;
}

/* Walks the selected findings in order and tells the window of the last one
 * (at or before until_ms): from the first, a window opens at a finding past
 * the previous window's end; rolling, it is the window_days before each. A
 * finding `window_days` days after the first (to the ms) is still in. */
struct walk {
    uint32_t count;          /* of the last selected finding, in its window */
    int64_t  start_ms;       /* its window's start (from the first) */
    int64_t  last_ms;
    bool     any;
    int64_t  suspended_until_ms, revoked_until_ms;
};

static uint32_t rolling_count(const struct filter *f, const struct agy_past *past, size_t n,
                              size_t upto, int64_t at_ms)
{
    uint32_t c = 0;
    for (size_t j = 0; j <= upto && j < n; j++)
        if (selected(f, &past[j]) && at_ms - past[j].at_ms <= window_ms(f->r) &&
            past[j].at_ms <= at_ms)
            c++;
    return c;
}

static void threshold_hit(const struct agy_threshold *t, uint32_t count, int64_t at_ms,
                          int64_t *until)
{
    if (t->at && t->days && count >= t->at && at_ms + (int64_t)t->days * AGY_DAY_MS > *until)
        *until = at_ms + (int64_t)t->days * AGY_DAY_MS;
}

static void walk(const struct filter *f, const struct agy_past *past, size_t n,
                 int64_t until_ms, struct walk *w)
{
    memset(w, 0, sizeof *w);
    for (size_t i = 0; i < n; i++) {
        const struct agy_past *e = &past[i];
        if (!selected(f, e) || e->at_ms > until_ms)
            continue;
        if (f->r->window == AGY_WINDOW_FROM_FIRST) {
            if (!w->any || e->at_ms - w->start_ms > window_ms(f->r)) {
                w->start_ms = e->at_ms;
                w->count = 0;
            }
            w->count++;
        } else {
            w->count = rolling_count(f, past, n, i, e->at_ms);
            w->start_ms = e->at_ms - window_ms(f->r);
        }
        w->any = true;
        w->last_ms = e->at_ms;
        threshold_hit(&f->r->suspension, w->count, e->at_ms, &w->suspended_until_ms);
        threshold_hit(&f->r->revocation, w->count, e->at_ms, &w->revoked_until_ms);
    }
}

/* The selected findings still in a window at now_ms. */
static uint32_t count_now(const struct filter *f, const struct agy_past *past, size_t n,
                          const struct walk *w, int64_t now_ms, int64_t *start, int64_t *end)
{
    *start = *end = 0;
    if (!w->any)
        return 0;
    if (f->r->window == AGY_WINDOW_FROM_FIRST) {
        if (now_ms - w->start_ms > window_ms(f->r))
            return 0;
        *start = w->start_ms;
        *end = w->start_ms + window_ms(f->r);
        return w->count;
    }
    uint32_t c = rolling_count(f, past, n, n - 1, now_ms);
    if (c) {
        *start = now_ms - window_ms(f->r);
        *end = now_ms;
    }
    return c;
}

static uint32_t to_reach(uint32_t at, uint32_t count, bool reached)
{
    return at && !reached && count < at ? at - count : 0;
}

static void permit_check(const struct agy_rules *r, const struct agy_premises *p,
                         int64_t now_ms, struct agy_standing *s)
{
    s->permit_required = r->permit_required;
    if (!r->permit_required)
        return;
    s->permit_missing = !p->permit || !p->permit[0];
    s->permit_expired = !s->permit_missing && p->permit_expires_ms && now_ms > p->permit_expires_ms;
}

static bool held(const struct agy_threshold *t, uint32_t count, int64_t until_ms, int64_t now_ms)
{
    if (!t->at)
        return false;
    return t->days ? now_ms < until_ms : count >= t->at;
}

void agy_standing(const struct agy_rules *r, const struct agy_premises *p,
                  const struct agy_past *past, size_t npast, const char *kind, int64_t now_ms,
                  struct agy_standing *out)
{
    memset(out, 0, sizeof *out);
    struct filter f = { .r = r };
    struct walk w;
    walk(&f, past, npast, now_ms, &w);
    out->count = count_now(&f, past, npast, &w, now_ms, &out->window_start_ms,
                           &out->window_end_ms);
    out->cautioned = r->caution_at && out->count >= r->caution_at;
    out->suspended = held(&r->suspension, out->count, w.suspended_until_ms, now_ms);
    out->suspended_until_ms = r->suspension.days ? w.suspended_until_ms : 0;
    out->permit_revoked = held(&r->revocation, out->count, w.revoked_until_ms, now_ms);
    out->revoked_until_ms = r->revocation.days ? w.revoked_until_ms : 0;
    permit_check(r, p, now_ms, out);
    if (!r->permit_required)
        out->permit_revoked = false;   /* nothing to revoke */
    out->exempt = is_exempt(r, kind);
    out->verification_required = !out->exempt && kind_in(r->verify_kinds, r->nverify_kinds, kind);
    bool barred = out->suspended || out->permit_missing || out->permit_expired ||
                  out->permit_revoked;
    out->respond = out->exempt || !barred;
    out->status = barred ? "suspended" : out->cautioned ? "cautioned" : "normal";
    out->to_caution = to_reach(r->caution_at, out->count, out->cautioned);
    out->to_suspension = to_reach(r->suspension.at, out->count, out->suspended);
    out->to_revocation = r->permit_required ?
        to_reach(r->revocation.at, out->count, out->permit_revoked) : 0;
}

/* ---- charges ---------------------------------------------------------- */

/* The number a new selected finding at at_ms gets in its window. */
static uint32_t next_count(const struct filter *f, const struct agy_past *past, size_t n,
                           int64_t at_ms)
{
    struct walk w;
    walk(f, past, n, at_ms, &w);
    if (f->r->window == AGY_WINDOW_FROM_FIRST)
        return w.any && at_ms - w.start_ms <= window_ms(f->r) ? w.count + 1 : 1;
    return (n ? rolling_count(f, past, n, n - 1, at_ms) : 0) + 1;
}

static const struct agy_tier *tier_of(const struct agy_schedule *s, bool commercial,
                                      uint32_t count, const struct agy_tier **next)
{
    const struct agy_tier *t = commercial && s->ncommercial ? s->commercial : s->residential;
    size_t nt = commercial && s->ncommercial ? s->ncommercial : s->nresidential;
    const struct agy_tier *hit = NULL;
    *next = NULL;
    for (size_t i = 0; i < nt; i++) {
        if (t[i].from <= count)
            hit = &t[i];
        else if (!*next)
            *next = &t[i];
    }
    return hit;
}

static void false_fee(const struct agy_rules *r, const struct agy_premises *p,
                      const char *kind, struct agy_charge *c)
{
    char fee[32];
    const struct agy_schedule *s = schedule_of(r, kind);
    const struct agy_tier *next = NULL, *t = s ? tier_of(s, p->commercial, c->tier_count, &next)
                                               : NULL;
    c->agency_cents = t ? t->cents : 0;
    agy_format_cents(c->agency_cents, fee, sizeof fee);
    if (!t) {
        snprintf(c->rule, sizeof c->rule, "%s: no fee for a false %s alarm", r->id, kind);
    } else if (next) {
        snprintf(c->rule, sizeof c->rule, "%s: false %s alarm no. %" PRIu32 " in window, %s "
                 "tier from no. %" PRIu32 " to %" PRIu32 ": %s", r->id, kind, c->tier_count,
                 p->commercial ? "commercial" : "residential", t->from, next->from - 1, fee);
    } else {
        snprintf(c->rule, sizeof c->rule, "%s: false %s alarm no. %" PRIu32 " in window, %s "
                 "tier from no. %" PRIu32 ": %s", r->id, kind, c->tier_count,
                 p->commercial ? "commercial" : "residential", t->from, fee);
    }
}

void agy_charge(const struct agy_rules *r, const struct agy_premises *p,
                const struct agy_past *past, size_t npast, const char *kind,
                enum agy_finding finding, bool arrived, int64_t at_ms, int64_t admin_fee_cents,
                struct agy_charge *c)
{
    memset(c, 0, sizeof *c);
    c->billed = r->billed;
    c->counted = counts(r, kind, finding);
    struct filter all = { .r = r }, sched = { .r = r, .sched = schedule_of(r, kind) };
    c->count = c->counted ? next_count(&all, past, npast, at_ms) : 0;
    c->tier_count = finding == AGY_FINDING_FALSE && sched.sched ?
        next_count(&sched, past, npast, at_ms) : 0;
    char fee[32];
    if (finding == AGY_FINDING_CANCELLED) {
        c->billable = r->cancel_fee_cents > 0;
        c->agency_cents = r->cancel_fee_cents;
        snprintf(c->rule, sizeof c->rule, "%s: cancel after acceptance: %s", r->id,
                 c->billable ? agy_format_cents(r->cancel_fee_cents, fee, sizeof fee)
                             : "no cancel fee");
    } else if (r->trigger == AGY_TRIGGER_ARRIVED && !arrived) {
        snprintf(c->rule, sizeof c->rule, "%s: not billable: the agency bills a false alarm "
                 "once its officers arrive", r->id);
    } else if (r->forgiven && (c->counted ? c->count : c->tier_count) <= r->forgiven &&
               (!r->forgiven_residential_only || !p->commercial)) {
        c->billable = c->forgiven = true;
        snprintf(c->rule, sizeof c->rule, "%s: forgiven: the first %s%" PRIu32 " false "
                 "alarm%s in the window", r->id,
                 r->forgiven_residential_only ? "residential " : "", r->forgiven,
                 r->forgiven == 1 ? "" : "s");
    } else {
        c->billable = true;
        false_fee(r, p, kind, c);
    }
    c->admin_cents = c->agency_cents > 0 ? admin_fee_cents : 0;
    c->total_cents = (r->billed == AGY_BILL_STATION ? c->agency_cents : 0) + c->admin_cents;
}

/* ---- names and money -------------------------------------------------- */

char *agy_format_cents(int64_t cents, char *out, size_t cap)
{
    uint64_t u = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;
    char digits[32], grouped[48];
    int n = snprintf(digits, sizeof digits, "%" PRIu64, u / 100);
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            grouped[k++] = ',';
        grouped[k++] = digits[i];
    }
    grouped[k] = '\0';
    snprintf(out, cap, "%s$%s.%02u", cents < 0 ? "-" : "", grouped, (unsigned)(u % 100));
    return out;
}

const char *agy_billed_name(enum agy_billed b) { return b == AGY_BILL_USER ? "user" : "station"; }
const char *agy_window_name(enum agy_window w)
{
    return w == AGY_WINDOW_FROM_FIRST ? "from_first" : "rolling";
}
const char *agy_finding_name(enum agy_finding f)
{
    return f == AGY_FINDING_CANCELLED ? "cancelled" : "false";
}
int agy_finding_parse(const char *s, enum agy_finding *out)
{
    if (s && strcmp(s, "false") == 0)
        *out = AGY_FINDING_FALSE;
    else if (s && strcmp(s, "cancelled") == 0)
        *out = AGY_FINDING_CANCELLED;
    else
        return AGY_E_INVALID;
    return 0;
}

bool agy_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n < 2 || n > AGY_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') || id[i] == '-'))
            return false;
    return true;
}
