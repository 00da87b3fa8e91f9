/*
 * vigil/agency.h — police agencies' false-alarm rules as data, and the
 * decisions taken on them (docs/DURESS.md, "False dispatch billing").
 *
 * One record per agency (struct agy_rules: fees, cancel fee, who is billed,
 * forgiven count, counting window, caution / suspension / revocation
 * thresholds, permit rules, tiered fees per group of alarm kinds, kinds
 * exempt from verification and suspension), read from a file shipped under
 * packaging/agencies/ (agy_from_json) and kept in the store. Then pure
 * decisions on an account's history of false dispatches:
 *   agy_standing() — the premises' standing now (count in window, caution,
 *                    suspension, permit missing / expired / revoked, whether
 *                    police respond to an alarm of a kind);
 *   agy_charge()   — the invoice line of one police finding (false, or a
 *                    cancel after acceptance), or of the next false dispatch.
 * Money is integer cents, always. Never: I/O, allocation, clocks (time comes
 * in as ms since the epoch, UTC), logging.
 */
#ifndef VIGIL_AGENCY_H
#define VIGIL_AGENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum agy_err {
    AGY_OK        = 0,
    AGY_E_INVALID = -1,   /* a bad rule file or request: the message names the field */
};

#define AGY_ID_MAX      32   /* "toronto-ps": [a-z0-9-], 2..32 */
#define AGY_NAME_MAX    96
#define AGY_TEXT_MAX    400  /* source, notes */
#define AGY_KIND_MAX    16
#define AGY_KINDS_MAX   8
#define AGY_TIERS_MAX   8
#define AGY_SCHEDULES_MAX 4
#define AGY_DAY_MS      86400000LL

enum agy_billed { AGY_BILL_STATION, AGY_BILL_USER };
enum agy_window { AGY_WINDOW_ROLLING, AGY_WINDOW_FROM_FIRST };
/* How far the police got before the finding for a false alarm to be billable. */
enum agy_trigger { AGY_TRIGGER_ACCEPTED, AGY_TRIGGER_ARRIVED };
enum agy_finding { AGY_FINDING_FALSE, AGY_FINDING_CANCELLED };

/* From the `from`-th counted false alarm in the window on, `cents` each
 * (until the next tier's `from`). */
struct agy_tier {
    uint32_t from;
    int64_t  cents;
};
/* The fees of a group of alarm kinds; nkinds 0: every kind no other
 * schedule names. Its tiers count only the false alarms of its kinds. */
struct agy_schedule {
    char     kinds[AGY_KINDS_MAX][AGY_KIND_MAX];
    size_t   nkinds;
    struct agy_tier residential[AGY_TIERS_MAX];
    size_t   nresidential;
    struct agy_tier commercial[AGY_TIERS_MAX];
    size_t   ncommercial;
};
/* A count threshold and how long its consequence lasts: `at` 0 = none;
 * `days` 0 = while the window holds `at` false alarms, else from the alarm
 * that reached `at` for `days` days. */
struct agy_threshold {
    uint32_t at;
    uint32_t days;
};

struct agy_rules {
    char     id[AGY_ID_MAX + 1];
    char     name[AGY_NAME_MAX + 1];
    char     currency[4];          /* "CAD", "USD" */
    char     source[AGY_TEXT_MAX + 1];
    enum agy_billed  billed;       /* who the agency invoices */
    enum agy_trigger trigger;      /* a false finding is billable once the police got this far */
    int64_t  cancel_fee_cents;     /* a cancel after acceptance (0: none) */
    bool     cancel_counts;        /* does a billed cancel count toward the thresholds */
    uint32_t forgiven;             /* the first N counted false alarms in the window are free */
    bool     forgiven_residential_only;
    enum agy_window window;
    uint32_t window_days;
    uint32_t caution_at;           /* 0: no caution */
    struct agy_threshold suspension;   /* police response suspended */
    struct agy_threshold revocation;   /* alarm permit revoked */
    bool     permit_required;      /* no response to an unpermitted site (exempt kinds aside) */
    int64_t  permit_fee_residential_cents, permit_fee_commercial_cents;
    /* kinds that count toward caution / suspension / revocation (0: all) */
    char     threshold_kinds[AGY_KINDS_MAX][AGY_KIND_MAX];
    size_t   nthreshold_kinds;
    /* kinds the agency answers only after verification (burglary in Toronto) */
    char     verify_kinds[AGY_KINDS_MAX][AGY_KIND_MAX];
    size_t   nverify_kinds;
    /* kinds exempt from verification, suspension and the permit rule */
    char     exempt_kinds[AGY_KINDS_MAX][AGY_KIND_MAX];
    size_t   nexempt_kinds;
    struct agy_schedule schedules[AGY_SCHEDULES_MAX];
    size_t   nschedules;
};

/* Parses and checks one agency file (JSON, docs/station.md "Agency files").
 * 0, or AGY_E_INVALID with msg naming the field ("suspension.days: ..."). */
int agy_from_json(const char *text, size_t len, struct agy_rules *out, char *msg, size_t cap);
/* An agency id as accounts name it: 2..32 of [a-z0-9-]. */
bool agy_id_valid(const char *id);

/* ---- decisions --------------------------------------------------------- */

/* One past police finding of the account, as the store keeps it (its
 * charges, forgiven ones included), oldest first. */
struct agy_past {
    int64_t     at_ms;
    const char *kind;
    enum agy_finding finding;
};

struct agy_premises {
    bool        commercial;        /* else residential */
    const char *permit;            /* NULL or "": none */
    int64_t     permit_expires_ms; /* 0: no expiry known */
};

struct agy_standing {
    uint32_t count;                /* counted false alarms in the current window */
    int64_t  window_start_ms;      /* 0: no window open (nothing counted) */
    int64_t  window_end_ms;        /* the last instant it still counts (0: none) */
    bool     cautioned;
    bool     suspended;
    int64_t  suspended_until_ms;   /* 0: none, or while the window holds the count */
    bool     permit_required, permit_missing, permit_expired, permit_revoked;
    int64_t  revoked_until_ms;
    /* for the kind asked about */
    bool     exempt;               /* the kind is exempt (duress, hold-up, panic) */
    bool     verification_required;
    bool     respond;              /* the police answer an alarm of that kind */
    const char *status;            /* "normal", "cautioned", "suspended" (accounts.police_status) */
    /* how many more counted false alarms reach each threshold (0: reached or none) */
    uint32_t to_caution, to_suspension, to_revocation;
};

/* The standing at now_ms for an alarm of `kind` (NULL: a kind that is not
 * exempt). past: oldest first. */
void agy_standing(const struct agy_rules *r, const struct agy_premises *p,
                  const struct agy_past *past, size_t npast, const char *kind, int64_t now_ms,
                  struct agy_standing *out);

struct agy_charge {
    bool     billable;             /* the agency bills it (else every amount is 0) */
    bool     forgiven;
    bool     counted;              /* counts toward the thresholds */
    uint32_t count;                /* its number among the counted false alarms in the window */
    uint32_t tier_count;           /* its number in its fee schedule's count */
    enum agy_billed billed;
    int64_t  agency_cents;         /* the agency's fee */
    int64_t  admin_cents;          /* the station's administration fee */
    int64_t  total_cents;          /* what the customer's invoice line says */
    char     rule[160];            /* the rule applied, a sentence for the invoice */
};

/* The invoice line of a finding on an alarm of `kind` at at_ms (past: the
 * account's earlier findings, oldest first, not this one). The station's
 * admin fee is added when the agency's fee is not 0. A bill the agency sends
 * to the user (billed user) is shown, not passed on: the station's line is
 * its admin fee. arrived: the police reached the premises. */
void agy_charge(const struct agy_rules *r, const struct agy_premises *p,
                const struct agy_past *past, size_t npast, const char *kind,
                enum agy_finding finding, bool arrived, int64_t at_ms, int64_t admin_fee_cents,
                struct agy_charge *out);

/* "$1,234.56" (negative: "-$…"); returns out. */
char *agy_format_cents(int64_t cents, char *out, size_t cap);

const char *agy_billed_name(enum agy_billed b);
const char *agy_window_name(enum agy_window w);
const char *agy_finding_name(enum agy_finding f);
int agy_finding_parse(const char *s, enum agy_finding *out);   /* 0 or AGY_E_INVALID */

#ifdef __cplusplus
}
#endif
#endif /* VIGIL_AGENCY_H */
