/*
 * agency_json.c — reads one agency file (packaging/agencies/NAME.json) into the
 * rule record of vigil/agency.h, checking every field: a bad file is refused
 * with the field named, never half read. The format is documented in
 * docs/station.md ("Agency files").
 *
 * Must never: touch a store or a file (the caller reads it), log, or accept
 * a key it does not know (a misspelt field would silently change a bill).
 */
#include "vigil/agency.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define AGY_FORMAT "vigil-agency 1"
#define CENTS_MAX  100000000LL      /* $1,000,000.00: far above any published fee */

struct ctx {
    char  *msg;
    size_t cap;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct ctx *c, const char *field, const char *fmt, ...)
{
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(c->msg, c->cap, "%s: %s", field, why);
    return AGY_E_INVALID;
}

static int only_keys(struct ctx *c, json_t *o, const char *where, const char *const *keys)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        bool known = false;
        for (size_t i = 0; keys[i] && !known; i++)
            known = strcmp(keys[i], k) == 0;
        if (!known) {
            char f[96];
            snprintf(f, sizeof f, "%s%s%s", where, where[0] ? "." : "", k);
            return fail(c, f, "unknown field");
        }
    }
    return 0;
}

static int get_str(struct ctx *c, json_t *o, const char *field, bool required, char *out,
                   size_t cap)
{
    json_t *v = json_object_get(o, field);
    if (!v && !required) {
        out[0] = '\0';
        return 0;
    }
    if (!json_is_string(v))
        return fail(c, field, v ? "must be a string" : "missing");
    if (json_string_length(v) >= cap || (required && json_string_length(v) == 0))
        return fail(c, field, "must be 1..%zu characters", cap - 1);
    snprintf(out, cap, "%s", json_string_value(v));
    return 0;
}

static int get_uint(struct ctx *c, json_t *o, const char *where, const char *field,
                    uint32_t max, uint32_t *out)
{
    char f[96];
    snprintf(f, sizeof f, "%s%s%s", where, where[0] ? "." : "", field);
    json_t *v = json_object_get(o, field);
    if (!json_is_integer(v))
        return fail(c, f, v ? "must be a whole number" : "missing");
    if (json_integer_value(v) < 0 || json_integer_value(v) > max)
        return fail(c, f, "must be 0..%u", (unsigned)max);
    *out = (uint32_t)json_integer_value(v);
    return 0;
}

static int get_cents(struct ctx *c, json_t *o, const char *where, const char *field,
                     int64_t *out)
{
    char f[96];
    snprintf(f, sizeof f, "%s%s%s", where, where[0] ? "." : "", field);
    json_t *v = json_object_get(o, field);
    if (!json_is_integer(v))   /* money is integer cents: 130.00 or "130" is refused */
        return fail(c, f, v ? "must be whole cents (an integer)" : "missing");
    if (json_integer_value(v) < 0 || json_integer_value(v) > CENTS_MAX)
        return fail(c, f, "must be 0..%lld cents", CENTS_MAX);
    *out = json_integer_value(v);
    return 0;
}

static int get_bool(struct ctx *c, json_t *o, const char *field, bool *out)
{
    json_t *v = json_object_get(o, field);
    if (!json_is_boolean(v))
        return fail(c, field, v ? "must be true or false" : "missing");
    *out = json_is_true(v);
    return 0;
}

static int get_enum(struct ctx *c, json_t *o, const char *field, const char *a,
                    const char *b, int *out)
{
    const char *s = json_string_value(json_object_get(o, field));
    if (s && strcmp(s, a) == 0)
        *out = 0;
    else if (s && strcmp(s, b) == 0)
        *out = 1;
    else
        return fail(c, field, "must be \"%s\" or \"%s\"", a, b);
    return 0;
}

static int get_kinds(struct ctx *c, json_t *o, const char *field, char (*out)[AGY_KIND_MAX],
                     size_t *n)
{
    json_t *a = json_object_get(o, field), *v;
    size_t i;
    if (!json_is_array(a))
        return fail(c, field, a ? "must be an array of alarm kinds" : "missing");
    if (json_array_size(a) > AGY_KINDS_MAX)
        return fail(c, field, "at most %d kinds", AGY_KINDS_MAX);
    json_array_foreach(a, i, v) {
        const char *k = json_string_value(v);
        if (!k || !k[0] || strlen(k) >= AGY_KIND_MAX || strspn(k, "abcdefghijklmnopqrstuvwxyz_")
            != strlen(k))
            return fail(c, field, "item %zu must be an alarm kind (duress, holdup, panic, "
                        "burglary, fire, medical...)", i);
        snprintf(out[i], AGY_KIND_MAX, "%s", k);
    }
    *n = json_array_size(a);
    return 0;
}

static int get_threshold(struct ctx *c, json_t *o, const char *field, struct agy_threshold *t)
{
    static const char *const keys[] = { "at", "days", NULL };
    json_t *v = json_object_get(o, field);
    if (!json_is_object(v))
        return fail(c, field, v ? "must be an object {\"at\": N, \"days\": D}" : "missing");
    int rc = only_keys(c, v, field, keys);
    if (rc == 0)
        rc = get_uint(c, v, field, "at", 1000, &t->at);
    if (rc == 0)
        rc = get_uint(c, v, field, "days", 3650, &t->days);
    return rc;
}

static int get_tiers(struct ctx *c, json_t *sched, const char *where, const char *field,
                     bool required, struct agy_tier *out, size_t *n)
{
    char f[96];
    snprintf(f, sizeof f, "%s.%s", where, field);
    json_t *a = json_object_get(sched, field), *v;
    size_t i;
    *n = 0;
    if (!a && !required)
        return 0;
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > AGY_TIERS_MAX)
        return fail(c, f, "must be an array of 1..%d tiers {\"from\": N, \"cents\": C}",
                    AGY_TIERS_MAX);
    json_array_foreach(a, i, v) {
        static const char *const keys[] = { "from", "cents", NULL };
        char fi[120];
        snprintf(fi, sizeof fi, "%s[%zu]", f, i);
        int rc = json_is_object(v) ? only_keys(c, v, fi, keys) : fail(c, fi, "must be an object");
        if (rc == 0)
            rc = get_uint(c, v, fi, "from", 1000, &out[i].from);
        if (rc == 0)
            rc = get_cents(c, v, fi, "cents", &out[i].cents);
        if (rc)
            return rc;
        if (out[i].from < 1 || (i == 0 && out[i].from != 1) || (i && out[i].from <= out[i - 1].from))
            return fail(c, fi, "tiers start at from 1 and go up (from %u)", (unsigned)out[i].from);
    }
    *n = json_array_size(a);
    return 0;
}

static int get_schedules(struct ctx *c, json_t *o, struct agy_rules *r)
{
    json_t *a = json_object_get(o, "fees"), *v;
    size_t i;
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > AGY_SCHEDULES_MAX)
        return fail(c, "fees", "must be an array of 1..%d fee schedules", AGY_SCHEDULES_MAX);
    json_array_foreach(a, i, v) {
        static const char *const keys[] = { "kinds", "residential", "commercial", NULL };
        struct agy_schedule *s = &r->schedules[i];
        char f[32];
        snprintf(f, sizeof f, "fees[%zu]", i);
        int rc = json_is_object(v) ? only_keys(c, v, f, keys) : fail(c, f, "must be an object");
        if (rc == 0) {
            rc = get_kinds(c, v, "kinds", s->kinds, &s->nkinds);
            if (rc)
                snprintf(c->msg, c->cap, "%s.kinds: must be an array of alarm kinds ([]: every "
                         "other kind)", f);
        }
        if (rc == 0)
            rc = get_tiers(c, v, f, "residential", true, s->residential, &s->nresidential);
        if (rc == 0)
            rc = get_tiers(c, v, f, "commercial", false, s->commercial, &s->ncommercial);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (s->nkinds == 0 && r->schedules[j].nkinds == 0)
                return fail(c, f, "only one schedule may have \"kinds\": [] (every other kind)");
    }
    r->nschedules = json_array_size(a);
    return 0;
}

static int get_permit(struct ctx *c, json_t *o, struct agy_rules *r)
{
    static const char *const keys[] = { "required", "residential_cents", "commercial_cents", NULL };
    json_t *p = json_object_get(o, "permit");
    if (!json_is_object(p))
        return fail(c, "permit", p ? "must be an object" : "missing");
    int rc = only_keys(c, p, "permit", keys);
    if (rc == 0 && (rc = get_bool(c, p, "required", &r->permit_required)) != 0)
        snprintf(c->msg, c->cap, "permit.required: must be true or false");
    if (rc == 0)
        rc = get_cents(c, p, "permit", "residential_cents", &r->permit_fee_residential_cents);
    if (rc == 0)
        rc = get_cents(c, p, "permit", "commercial_cents", &r->permit_fee_commercial_cents);
    return rc;
}

static int get_forgiven(struct ctx *c, json_t *o, struct agy_rules *r)
{
    static const char *const keys[] = { "count", "residential_only", NULL };
    json_t *v = json_object_get(o, "forgiven");
    if (!json_is_object(v))
        return fail(c, "forgiven", v ? "must be an object" : "missing");
    int rc = only_keys(c, v, "forgiven", keys);
    if (rc == 0)
        rc = get_uint(c, v, "forgiven", "count", 100, &r->forgiven);
    if (rc == 0 && (rc = get_bool(c, v, "residential_only", &r->forgiven_residential_only)) != 0)
        snprintf(c->msg, c->cap, "forgiven.residential_only: must be true or false");
    return rc;
}

static int get_window(struct ctx *c, json_t *o, struct agy_rules *r)
{
    static const char *const keys[] = { "type", "days", NULL };
    json_t *v = json_object_get(o, "window");
    int w = 0;
    if (!json_is_object(v))
        return fail(c, "window", v ? "must be an object" : "missing");
    int rc = only_keys(c, v, "window", keys);
    if (rc == 0 && get_enum(c, v, "type", "rolling", "from_first", &w) != 0)
        rc = fail(c, "window.type", "must be \"rolling\" or \"from_first\"");
    r->window = (enum agy_window)w;
    if (rc == 0)
        rc = get_uint(c, v, "window", "days", 3650, &r->window_days);
    if (rc == 0 && r->window_days == 0)
        rc = fail(c, "window.days", "must be 1..3650");
    return rc;
}

/* The thresholds make sense together: caution before suspension. */
static int check_thresholds(struct ctx *c, const struct agy_rules *r)
{
    if (r->caution_at && r->suspension.at && r->caution_at >= r->suspension.at)
        return fail(c, "caution_at", "must be below suspension.at (%u)", (unsigned)r->suspension.at);
    if (r->revocation.at && !r->permit_required)
        return fail(c, "revocation.at", "a permit can be revoked only when permit.required");
    if (r->suspension.days && !r->suspension.at)
        return fail(c, "suspension.days", "needs suspension.at");
    return 0;
}

static int parse_top(struct ctx *c, json_t *o, struct agy_rules *r)
{
    static const char *const keys[] = {
        "format", "id", "name", "currency", "source", "notes", "billed", "fee_trigger",
        "cancel_fee_cents", "cancel_counts", "forgiven", "window", "caution_at", "suspension",
        "revocation", "permit", "threshold_kinds", "verify_kinds", "exempt_kinds", "fees", NULL,
    };
    char fmt[32], notes[AGY_TEXT_MAX + 1];
    int e = 0, rc = only_keys(c, o, "", keys);
    if (rc == 0 && (get_str(c, o, "format", true, fmt, sizeof fmt) || strcmp(fmt, AGY_FORMAT)))
        rc = fail(c, "format", "must be \"%s\"", AGY_FORMAT);
    if (rc == 0 && (rc = get_str(c, o, "id", true, r->id, sizeof r->id)) == 0 &&
        !agy_id_valid(r->id))
        rc = fail(c, "id", "must be 2..%d of a-z, 0-9 and -", AGY_ID_MAX);
    if (rc == 0)
        rc = get_str(c, o, "name", true, r->name, sizeof r->name);
    if (rc == 0 && (get_str(c, o, "currency", true, r->currency, sizeof r->currency) ||
                    strlen(r->currency) != 3))
        rc = fail(c, "currency", "must be a 3-letter code (CAD, USD)");
    if (rc == 0)
        rc = get_str(c, o, "source", true, r->source, sizeof r->source);
    if (rc == 0)
        rc = get_str(c, o, "notes", false, notes, sizeof notes);
    if (rc == 0 && (rc = get_enum(c, o, "billed", "station", "user", &e)) == 0)
        r->billed = (enum agy_billed)e;
    if (rc == 0 && (rc = get_enum(c, o, "fee_trigger", "accepted", "arrived", &e)) == 0)
        r->trigger = (enum agy_trigger)e;
    if (rc == 0)
        rc = get_cents(c, o, "", "cancel_fee_cents", &r->cancel_fee_cents);
    if (rc == 0)
        rc = get_bool(c, o, "cancel_counts", &r->cancel_counts);
    return rc;
}

int agy_from_json(const char *text, size_t len, struct agy_rules *out, char *msg, size_t cap)
{
    struct ctx c = { msg, cap };
    struct agy_rules r;
    memset(&r, 0, sizeof r);
    json_error_t je;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!o || !json_is_object(o)) {
        if (o)
            snprintf(msg, cap, "the file must hold one JSON object");
        else
            snprintf(msg, cap, "not JSON: line %d: %s", je.line, je.text);
        json_decref(o);
        return AGY_E_INVALID;
    }
    int rc = parse_top(&c, o, &r);
    if (rc == 0)
        rc = get_forgiven(&c, o, &r);
    if (rc == 0)
        rc = get_window(&c, o, &r);
    if (rc == 0)
        rc = get_uint(&c, o, "", "caution_at", 1000, &r.caution_at);
    if (rc == 0)
        rc = get_threshold(&c, o, "suspension", &r.suspension);
    if (rc == 0)
        rc = get_threshold(&c, o, "revocation", &r.revocation);
    if (rc == 0)
        rc = get_permit(&c, o, &r);
    if (rc == 0)
        rc = get_kinds(&c, o, "threshold_kinds", r.threshold_kinds, &r.nthreshold_kinds);
    if (rc == 0)
        rc = get_kinds(&c, o, "verify_kinds", r.verify_kinds, &r.nverify_kinds);
    if (rc == 0)
        rc = get_kinds(&c, o, "exempt_kinds", r.exempt_kinds, &r.nexempt_kinds);
    if (rc == 0)
        rc = get_schedules(&c, o, &r);
    if (rc == 0)
        rc = check_thresholds(&c, &r);
    json_decref(o);
    if (rc == 0)
        *out = r;
    return rc;
}
