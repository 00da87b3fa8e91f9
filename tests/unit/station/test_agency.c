/*
 * test_agency.c — the agencies' false-alarm rules (station/agency.c) against
 * worked examples, on the files the station ships (packaging/agencies/):
 * forgiven first alarm, each Dallas tier, caution / suspension / revocation
 * crossings, window edges (day 365 vs 366, rolling vs from the first), the
 * cancel fee, exempt kinds, permits missing or expired; and the file reader's
 * refusals, each naming its field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vigil/agency.h"

#define DAY AGY_DAY_MS
#define T0  1767225600000LL   /* 2026-01-01T00:00:00Z */
#define ADMIN 2500            /* the station's admin fee in these tests: $25.00 */

static char *slurp(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", AGENCIES_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[16384];
    *len = fread(buf, 1, sizeof buf - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static struct agy_rules load(const char *name)
{
    size_t len;
    char *t = slurp(name, &len), msg[256] = "";
    struct agy_rules r;
    int rc = agy_from_json(t, len, &r, msg, sizeof msg);
    if (rc != 0)
        fail_msg("%s: %s", name, msg);
    return r;
}

static const struct agy_premises home = { .commercial = false, .permit = "P-1" };
static const struct agy_premises shop = { .commercial = true, .permit = "P-2" };

/* ---- Toronto ---------------------------------------------------------- */

static void toronto_false_duress_costs_130_plus_admin(void **state)
{
    (void)state;
    struct agy_rules r = load("toronto-ps.json");
    assert_string_equal(r.id, "toronto-ps");
    struct agy_charge c;
    agy_charge(&r, &home, NULL, 0, "duress", AGY_FINDING_FALSE, false, T0, ADMIN, &c);
    assert_true(c.billable);
    assert_false(c.forgiven);       /* no first-alarm grace in Toronto */
    assert_int_equal(c.count, 1);
    assert_int_equal(c.agency_cents, 13000);
    assert_int_equal(c.admin_cents, ADMIN);
    assert_int_equal(c.total_cents, 15500);
    assert_int_equal(c.billed, AGY_BILL_STATION);
    assert_non_null(strstr(c.rule, "$130.00"));
}

static void toronto_cancel_after_acceptance_billed_not_counted(void **state)
{
    (void)state;
    struct agy_rules r = load("toronto-ps.json");
    struct agy_charge c;
    agy_charge(&r, &home, NULL, 0, "burglary", AGY_FINDING_CANCELLED, false, T0, ADMIN, &c);
    assert_true(c.billable);
    assert_false(c.counted);
    assert_int_equal(c.agency_cents, 13000);
    assert_int_equal(c.total_cents, 13000 + ADMIN);
    assert_non_null(strstr(c.rule, "cancel after acceptance"));
    struct agy_past p[] = { { T0, "burglary", AGY_FINDING_CANCELLED },
                            { T0 + DAY, "burglary", AGY_FINDING_CANCELLED } };
    struct agy_standing s;
    agy_standing(&r, &home, p, 2, "burglary", T0 + 2 * DAY, &s);
    assert_int_equal(s.count, 0);  /* two cancels: no caution */
    assert_false(s.cautioned);
}

static void toronto_caution_at_two(void **state)
{
    (void)state;
    struct agy_rules r = load("toronto-ps.json");
    struct agy_past p[] = { { T0, "burglary", AGY_FINDING_FALSE },
                            { T0 + 30 * DAY, "duress", AGY_FINDING_FALSE } };
    struct agy_standing s;
    agy_standing(&r, &home, p, 1, "burglary", T0 + DAY, &s);
    assert_int_equal(s.count, 1);
    assert_false(s.cautioned);
    assert_int_equal(s.to_caution, 1);       /* the next one cautions: warn */
    assert_string_equal(s.status, "normal");
    agy_standing(&r, &home, p, 2, "burglary", T0 + 31 * DAY, &s);
    assert_int_equal(s.count, 2);
    assert_true(s.cautioned);
    assert_int_equal(s.to_caution, 0);
    assert_int_equal(s.to_suspension, 2);
    assert_string_equal(s.status, "cautioned");
    assert_true(s.respond);
    assert_true(s.verification_required);    /* burglary needs verification in Toronto */
    agy_standing(&r, &home, p, 2, "duress", T0 + 31 * DAY, &s);
    assert_false(s.verification_required);   /* duress is exempt */
    assert_true(s.exempt);
}

/* Four false alarms within 365 days of the first suspend response for 365
 * days from the fourth; a duress still gets a response. */
static void toronto_suspension_and_its_end(void **state)
{
    (void)state;
    struct agy_rules r = load("toronto-ps.json");
    struct agy_past p[] = { { T0, "burglary", AGY_FINDING_FALSE },
                            { T0 + 10 * DAY, "burglary", AGY_FINDING_FALSE },
                            { T0 + 20 * DAY, "burglary", AGY_FINDING_FALSE },
                            { T0 + 365 * DAY, "burglary", AGY_FINDING_FALSE } };
    struct agy_standing s;
    agy_standing(&r, &home, p, 3, "burglary", T0 + 21 * DAY, &s);
    assert_int_equal(s.to_suspension, 1);
    assert_false(s.suspended);
    /* the fourth on day 365 after the first: still within the window */
    agy_standing(&r, &home, p, 4, "burglary", T0 + 365 * DAY, &s);
    assert_int_equal(s.count, 4);
    assert_true(s.suspended);
    assert_int_equal(s.suspended_until_ms, T0 + 730 * DAY);
    assert_false(s.respond);
    assert_string_equal(s.status, "suspended");
    agy_standing(&r, &home, p, 4, "duress", T0 + 365 * DAY, &s);
    assert_true(s.respond);                  /* exempt from the suspension */
    agy_standing(&r, &home, p, 4, "burglary", T0 + 730 * DAY - 1, &s);
    assert_true(s.suspended);
    agy_standing(&r, &home, p, 4, "burglary", T0 + 730 * DAY, &s);
    assert_false(s.suspended);               /* 365 days served */
    assert_true(s.respond);
}

static void toronto_window_day_366_starts_afresh(void **state)
{
    (void)state;
    struct agy_rules r = load("toronto-ps.json");
    struct agy_past p[] = { { T0, "burglary", AGY_FINDING_FALSE },
                            { T0 + 10 * DAY, "burglary", AGY_FINDING_FALSE },
                            { T0 + 20 * DAY, "burglary", AGY_FINDING_FALSE },
                            { T0 + 366 * DAY, "burglary", AGY_FINDING_FALSE } };
    struct agy_standing s;
    agy_standing(&r, &home, p, 4, "burglary", T0 + 366 * DAY + 1, &s);
    assert_false(s.suspended);
    assert_int_equal(s.count, 1);            /* a new window opened at day 366 */
    assert_int_equal(s.window_start_ms, T0 + 366 * DAY);
    /* counted from the first, not rolling: the 2nd and 3rd (days 10, 20) are
     * within 365 days of the 4th but belong to the old window */
    struct agy_charge c;
    agy_charge(&r, &home, p, 3, "burglary", AGY_FINDING_FALSE, false, T0 + 365 * DAY, 0, &c);
    assert_int_equal(c.count, 4);
    agy_charge(&r, &home, p, 3, "burglary", AGY_FINDING_FALSE, false, T0 + 366 * DAY, 0, &c);
    assert_int_equal(c.count, 1);
    /* the window closes: nothing counted a year and a day after the first */
    agy_standing(&r, &home, p, 2, "burglary", T0 + 366 * DAY, &s);
    assert_int_equal(s.count, 0);
    assert_false(s.cautioned);
}

/* ---- Barrie ----------------------------------------------------------- */

static void barrie_first_residential_forgiven(void **state)
{
    (void)state;
    struct agy_rules r = load("barrie-ps.json");
    struct agy_charge c;
    agy_charge(&r, &home, NULL, 0, "burglary", AGY_FINDING_FALSE, true, T0, ADMIN, &c);
    assert_true(c.forgiven);
    assert_int_equal(c.agency_cents, 0);
    assert_int_equal(c.admin_cents, 0);      /* nothing to pass on, no admin fee */
    assert_int_equal(c.total_cents, 0);
    assert_non_null(strstr(c.rule, "forgiven"));
    struct agy_past p[] = { { T0, "burglary", AGY_FINDING_FALSE } };
    agy_charge(&r, &home, p, 1, "burglary", AGY_FINDING_FALSE, true, T0 + DAY, ADMIN, &c);
    assert_false(c.forgiven);
    assert_int_equal(c.agency_cents, 18000);
    assert_int_equal(c.total_cents, 18000 + ADMIN);
    /* a business is not forgiven */
    agy_charge(&r, &shop, NULL, 0, "burglary", AGY_FINDING_FALSE, true, T0, ADMIN, &c);
    assert_false(c.forgiven);
    assert_int_equal(c.agency_cents, 18000);
}

static void barrie_cancel_fee_and_rolling_edge(void **state)
{
    (void)state;
    struct agy_rules r = load("barrie-ps.json");
    struct agy_charge c;
    agy_charge(&r, &home, NULL, 0, "burglary", AGY_FINDING_CANCELLED, false, T0, 0, &c);
    assert_false(c.forgiven);                /* the grace is for a false alarm, not a cancel */
    assert_int_equal(c.agency_cents, 12000);
    struct agy_past p[] = { { T0, "burglary", AGY_FINDING_FALSE } };
    /* rolling 365 days: day 365 is still in (second alarm, billed) ... */
    agy_charge(&r, &home, p, 1, "burglary", AGY_FINDING_FALSE, true, T0 + 365 * DAY, 0, &c);
    assert_int_equal(c.count, 2);
    assert_int_equal(c.agency_cents, 18000);
    /* ... day 366 is out (first again, forgiven) */
    agy_charge(&r, &home, p, 1, "burglary", AGY_FINDING_FALSE, true, T0 + 366 * DAY, 0, &c);
    assert_int_equal(c.count, 1);
    assert_true(c.forgiven);
}

/* ---- Dallas ----------------------------------------------------------- */

static void dallas_burglary_tiers(void **state)
{
    (void)state;
    struct agy_rules r = load("dallas-pd.json");
    static const int64_t want[] = { 0, 0, 0, 5000, 5000, 5000, 7500, 7500, 10000, 10000 };
    struct agy_past p[10];
    for (size_t i = 0; i < 10; i++) {
        struct agy_charge c;
        int64_t at = T0 + (int64_t)i * 20 * DAY;
        agy_charge(&r, &home, p, i, "burglary", AGY_FINDING_FALSE, true, at, ADMIN, &c);
        assert_int_equal(c.tier_count, i + 1);
        assert_int_equal(c.agency_cents, want[i]);
        assert_int_equal(c.billed, AGY_BILL_USER);
        /* the city bills the user: the station's line is its admin fee alone */
        assert_int_equal(c.total_cents, want[i] ? ADMIN : 0);
        p[i] = (struct agy_past){ at, "burglary", AGY_FINDING_FALSE };
    }
    /* rolling 12 months: a year and a day after the first, it no longer counts */
    struct agy_charge c;
    agy_charge(&r, &home, p, 3, "burglary", AGY_FINDING_FALSE, true, T0 + 366 * DAY, 0, &c);
    assert_int_equal(c.tier_count, 3);       /* days 20, 40 and this one */
    assert_int_equal(c.agency_cents, 0);
}

static void dallas_permit_revoked_at_eight(void **state)
{
    (void)state;
    struct agy_rules r = load("dallas-pd.json");
    struct agy_past p[8];
    for (size_t i = 0; i < 8; i++)
        p[i] = (struct agy_past){ T0 + (int64_t)i * DAY, "burglary", AGY_FINDING_FALSE };
    struct agy_standing s;
    agy_standing(&r, &home, p, 7, "burglary", T0 + 7 * DAY, &s);
    assert_false(s.permit_revoked);
    assert_int_equal(s.to_revocation, 1);
    assert_true(s.respond);
    agy_standing(&r, &home, p, 8, "burglary", T0 + 8 * DAY, &s);
    assert_true(s.permit_revoked);
    assert_false(s.respond);
    assert_string_equal(s.status, "suspended");
    agy_standing(&r, &home, p, 8, "panic", T0 + 8 * DAY, &s);
    assert_true(s.respond);                  /* panic is exempt */
    /* the first falls out of the 12 months: seven left, the permit stands */
    agy_standing(&r, &home, p, 8, "burglary", T0 + 366 * DAY, &s);
    assert_int_equal(s.count, 7);
    assert_false(s.permit_revoked);
    /* a false panic does not count toward the revocation */
    struct agy_past q[] = { { T0, "panic", AGY_FINDING_FALSE } };
    agy_standing(&r, &home, q, 1, "burglary", T0 + DAY, &s);
    assert_int_equal(s.count, 0);
}

static void dallas_permit_missing_or_expired(void **state)
{
    (void)state;
    struct agy_rules r = load("dallas-pd.json");
    struct agy_premises none = { .permit = "" }, old = { .permit = "D-9", .permit_expires_ms = T0 };
    struct agy_standing s;
    agy_standing(&r, &none, NULL, 0, "burglary", T0, &s);
    assert_true(s.permit_required);
    assert_true(s.permit_missing);
    assert_false(s.respond);                 /* no response to an unpermitted site */
    agy_standing(&r, &none, NULL, 0, "duress", T0, &s);
    assert_true(s.respond);                  /* ... except duress, hold-up, panic */
    agy_standing(&r, &none, NULL, 0, "holdup", T0, &s);
    assert_true(s.respond);
    agy_standing(&r, &old, NULL, 0, "burglary", T0, &s);
    assert_false(s.permit_expired);          /* valid through its expiry instant */
    agy_standing(&r, &old, NULL, 0, "burglary", T0 + 1, &s);
    assert_true(s.permit_expired);
    assert_false(s.permit_missing);
    assert_false(s.respond);
    assert_int_equal(r.permit_fee_residential_cents, 5000);
    assert_int_equal(r.permit_fee_commercial_cents, 10000);
    /* Toronto needs no permit */
    struct agy_rules t = load("toronto-ps.json");
    agy_standing(&t, &none, NULL, 0, "burglary", T0, &s);
    assert_false(s.permit_missing);
    assert_true(s.respond);
}

static void dallas_panic_fees_by_premises(void **state)
{
    (void)state;
    struct agy_rules r = load("dallas-pd.json");
    static const int64_t business[] = { 10000, 20000, 30000, 40000, 40000 };
    struct agy_past p[5];
    for (size_t i = 0; i < 5; i++) {
        struct agy_charge c, h;
        int64_t at = T0 + (int64_t)i * DAY;
        /* hold-up and panic share one schedule and one count */
        const char *kind = i % 2 ? "holdup" : "panic";
        agy_charge(&r, &shop, p, i, kind, AGY_FINDING_FALSE, true, at, 0, &c);
        assert_int_equal(c.agency_cents, business[i]);
        agy_charge(&r, &home, p, i, kind, AGY_FINDING_FALSE, true, at, 0, &h);
        assert_int_equal(h.agency_cents, 10000);
        p[i] = (struct agy_past){ at, kind, AGY_FINDING_FALSE };
    }
    /* burglary counts apart: a first false burglar alarm after five panics is free */
    struct agy_charge c;
    agy_charge(&r, &shop, p, 5, "burglary", AGY_FINDING_FALSE, true, T0 + 6 * DAY, 0, &c);
    assert_int_equal(c.tier_count, 1);
    assert_int_equal(c.agency_cents, 0);
    /* no fee schedule for fire: not billed by this agency's rules */
    agy_charge(&r, &shop, p, 5, "fire", AGY_FINDING_FALSE, true, T0 + 6 * DAY, ADMIN, &c);
    assert_int_equal(c.agency_cents, 0);
    assert_int_equal(c.total_cents, 0);
}

/* ---- the file reader -------------------------------------------------- */

static void expect_refused(const char *from, const char *to, const char *field)
{
    size_t len;
    char *t = slurp("toronto-ps.json", &len);
    char *copy = malloc(len + 256), msg[256] = "";
    char *at = strstr(t, from);
    assert_non_null(at);
    size_t pre = (size_t)(at - t);
    memcpy(copy, t, pre);
    strcpy(copy + pre, to);
    strcat(copy, at + strlen(from));
    struct agy_rules r;
    memset(&r, 0x5a, sizeof r);
    assert_int_equal(agy_from_json(copy, strlen(copy), &r, msg, sizeof msg), AGY_E_INVALID);
    if (strncmp(msg, field, strlen(field)) != 0)
        fail_msg("expected an error naming %s, got: %s", field, msg);
    assert_int_equal(((unsigned char *)&r)[0], 0x5a);   /* nothing written */
    free(copy);
}

static void bad_files_name_the_field(void **state)
{
    (void)state;
    expect_refused("\"cancel_fee_cents\": 13000", "\"cancel_fee_cents\": 130.00", "cancel_fee_cents");
    expect_refused("\"cancel_fee_cents\": 13000", "\"cancel_fee_cents\": -1", "cancel_fee_cents");
    expect_refused("\"id\": \"toronto-ps\"", "\"id\": \"Toronto PS\"", "id");
    expect_refused("\"caution_at\": 2", "\"caution_at\": 4", "caution_at");
    expect_refused("\"type\": \"from_first\"", "\"type\": \"calendar\"", "window.type");
    expect_refused("\"billed\": \"station\"", "\"billed\": \"customer\"", "billed");
    expect_refused("\"caution_at\": 2", "\"caution_at\": 2, \"cuation_at\": 2", "cuation_at");
    expect_refused("{ \"from\": 1, \"cents\": 13000 }",
                   "{ \"from\": 2, \"cents\": 13000 }", "fees[0].residential[0]");
    expect_refused("\"days\": 365 },\n  \"caution_at\"", "\"days\": 0 },\n  \"caution_at\"",
                   "window.days");
    expect_refused("\"exempt_kinds\": [\"duress\"", "\"exempt_kinds\": [\"Duress\"", "exempt_kinds");
    expect_refused("\"format\": \"vigil-agency 1\"", "\"format\": \"vigil-agency 2\"", "format");
    expect_refused("\"revocation\": { \"at\": 0", "\"revocation\": { \"at\": 3", "revocation.at");
    char msg[128];
    struct agy_rules r;
    assert_int_equal(agy_from_json("{", 1, &r, msg, sizeof msg), AGY_E_INVALID);
    assert_non_null(strstr(msg, "not JSON"));
}

static void money_is_formatted_from_cents(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(agy_format_cents(13000, b, sizeof b), "$130.00");
    assert_string_equal(agy_format_cents(5, b, sizeof b), "$0.05");
    assert_string_equal(agy_format_cents(123456789, b, sizeof b), "$1,234,567.89");
    assert_string_equal(agy_format_cents(-2500, b, sizeof b), "-$25.00");
    assert_true(agy_id_valid("dallas-pd"));
    assert_false(agy_id_valid("Dallas PD"));
    assert_false(agy_id_valid("x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(toronto_false_duress_costs_130_plus_admin),
        cmocka_unit_test(toronto_cancel_after_acceptance_billed_not_counted),
        cmocka_unit_test(toronto_caution_at_two),
        cmocka_unit_test(toronto_suspension_and_its_end),
        cmocka_unit_test(toronto_window_day_366_starts_afresh),
        cmocka_unit_test(barrie_first_residential_forgiven),
        cmocka_unit_test(barrie_cancel_fee_and_rolling_edge),
        cmocka_unit_test(dallas_burglary_tiers),
        cmocka_unit_test(dallas_permit_revoked_at_eight),
        cmocka_unit_test(dallas_permit_missing_or_expired),
        cmocka_unit_test(dallas_panic_fees_by_premises),
        cmocka_unit_test(bad_files_name_the_field),
        cmocka_unit_test(money_is_formatted_from_cents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
