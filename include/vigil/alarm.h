/*
 * vigil/alarm.h — the alarm engine: every alarm decision in one place.
 *
 * Raise or join, escalate, take, release, tick a plan step, record a passcode
 * check, dispatch, record the police's side, close with a disposition, and
 * give an alarm back when its operator has gone. The engine only decides:
 * it reads an alarm's state (struct alm_view) and a request, and returns a
 * verdict (what changes, what goes in the history) or a refusal with its
 * reason. A store persists the verdict; vigil-station (receiver and control
 * socket), vigil-console and `vigil` all call these functions, so a second
 * store (PostgreSQL) needs no second copy of any rule.
 *
 * Also data: the action plans per alarm kind and the handling targets per
 * priority (docs/DURESS.md). Never: I/O, allocation, clocks (time comes in).
 */
#ifndef VIGIL_ALARM_H
#define VIGIL_ALARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum alm_err {
    ALM_OK          = 0,
    ALM_E_INVALID   = -1,  /* a bad request: unknown step, disposition, status (HTTP 400) */
    ALM_E_FORBIDDEN = -2,  /* the actor's role may not do this (HTTP 403) */
    ALM_E_CONFLICT  = -3,  /* the alarm's state refuses it: held by another, steps open (409) */
    ALM_E_NOTFOUND  = -4,  /* no such alarm (404) */
};
const char *alm_strerror(int err);

enum alm_state { ALM_NEW, ALM_ESCALATED, ALM_TAKEN, ALM_DISPATCHED, ALM_CLOSED, ALM_STATE_COUNT };
const char *alm_state_name(enum alm_state s);
int alm_state_parse(const char *name, enum alm_state *out);   /* 0 or ALM_E_INVALID */

enum alm_role { ALM_ROLE_NONE, ALM_ROLE_OPERATOR, ALM_ROLE_SUPERVISOR, ALM_ROLE_ADMIN };
const char *alm_role_name(enum alm_role r);
int alm_role_parse(const char *name, enum alm_role *out);

/* The police (PSAP) side of a dispatch, in the order it happens. */
enum alm_psap {
    ALM_PSAP_NONE, ALM_PSAP_REQUESTED, ALM_PSAP_ACCEPTED, ALM_PSAP_REJECTED,
    ALM_PSAP_DISPATCHED, ALM_PSAP_ARRIVED, ALM_PSAP_CLOSED, ALM_PSAP_COUNT
};
const char *alm_psap_name(enum alm_psap p);
int alm_psap_parse(const char *name, enum alm_psap *out);

/* Dispositions at close (docs/station.md). */
bool alm_disposition_valid(const char *d);
extern const char *const alm_dispositions[];   /* NULL-terminated */
/* Reasons a PSAP gives for a rejection. */
bool alm_reject_reason_valid(const char *r);

/* ---- raising ---------------------------------------------------------- */

/* The newest alarm of the same account and kind that is not closed, as the
 * store found it (NULL: none). */
struct alm_open {
    int64_t id;
    int     priority;
    bool    restored;
};
enum alm_raise { ALM_RAISE_OPEN, ALM_RAISE_JOIN };
/* An event of (account, kind, priority) joins an open alarm only of the same
 * kind AND priority that is not restored; otherwise it opens its own. A
 * duress never merges into anything else; a duress after a restore opens a
 * new alarm. */
enum alm_raise alm_raise_decide(const struct alm_open *open, int priority);

/* The queue order, one rule for every list (`vigil alarms`, the console's
 * list, the web page): by rank, then oldest received first, then id. The
 * rank is the priority, and within a priority an alarm of a registered
 * account comes before one raised by signals of an unknown account (kind
 * `unknown_account`: anyone who reaches the port can claim a number, so
 * such an alarm — a readable "duress" included — never ranks above a
 * registered account's alarm of the same priority, and a registered
 * account's duress is always first among equals). Lower ranks first.
 * Within a rank, an alarm of an account on test (column `test`) comes after
 * the real ones: a customer's test duress never stands above another
 * account's real duress. */
int alm_queue_rank(int priority, const char *kind);
/* The same order as SQL for stores (t: the alarms table's alias with its dot,
 * or ""): ORDER BY ALM_QUEUE_ORDER_SQL("a."). tests/unit/station/test_alarm.c
 * checks it against alm_queue_rank; web/app.js cmpAlarm applies it too. */
#define ALM_QUEUE_ORDER_SQL(t) \
    t "priority * 2 + CASE WHEN " t "kind = 'unknown_account' THEN 1 ELSE 0 END ASC, " \
    t "test ASC, " \
    t "received_at_ms ASC, " t "id ASC"

/* Escalation: a priority-1 alarm nobody has taken for escalate_after_s.
 * Returns the received-at cut-off (alarms received at or before it escalate),
 * and the priority concerned. */
int     alm_escalate_priority(void);
int64_t alm_escalate_cutoff_ms(int64_t now_ms, int64_t escalate_after_s);

/* Handling targets per priority (seconds from receipt): amber at warning,
 * red at danger. Priority 1: 30 / 60 (one minute to dispatch). */
void alm_targets(int priority, int *warning_s, int *danger_s);

/* ---- action plans (data, station/plans.c) ----------------------------- */

#define ALM_STEPS_MAX 8
enum alm_step_flag {
    ALM_STEP_MANDATORY   = 1u << 0,
    ALM_STEP_DISPATCH    = 1u << 1,  /* ticked by the dispatch action */
    ALM_STEP_IF_POLICE_STATUS = 1u << 2, /* only when the premises are suspended/cautioned */
};
struct alm_step {
    const char *id;       /* "dispatch", "call_list", ... */
    const char *text;     /* what the operator reads */
    unsigned    flags;    /* enum alm_step_flag */
};
struct alm_plan {
    const char *name;     /* "duress", "burglary", ... */
    const struct alm_step *steps;
    size_t nsteps;
    bool   silent;        /* duress, hold-up: no premises call, no two-way voice */
};
/* The plan of an alarm kind (a default plan for kinds without their own). */
const struct alm_plan *alm_plan_for(const char *kind);
/* The steps that apply to an alarm of `kind` at premises whose police status
 * is police_status ("normal", "cautioned", "suspended"); returns how many. */
size_t alm_plan_steps(const char *kind, const char *police_status,
                      const struct alm_step *out[ALM_STEPS_MAX]);
/* The same for an alarm raised while its account was on test (test true):
 * the test plan (docs/station.md, "Test mode") — no dispatch step, whatever
 * the kind; otherwise as alm_plan_steps. */
size_t alm_plan_steps_test(const char *kind, const char *police_status, bool test,
                           const struct alm_step *out[ALM_STEPS_MAX]);
/* The plan's name for the console: "test" for a test alarm, else the kind's. */
const char *alm_plan_name(const char *kind, bool test);
/* Duress and hold-up: silent, dispatch first, never call the premises. */
bool alm_kind_is_silent(const char *kind);
/* NIEM AlarmEventCategory of a kind: "Holdup" (duress, hold-up, panic),
 * "FIRE", "Medical", "BURG", "Comm" (docs/DURESS.md, "Dispatch record"). */
const char *alm_dispatch_category(const char *kind);

/* ---- actions ---------------------------------------------------------- */

/* One alarm as the engine needs to see it. Pointers borrowed from the caller
 * for the length of the call. */
struct alm_view {
    int64_t        id;
    const char    *kind;
    int            priority;
    enum alm_state state;
    const char    *taken_by;        /* NULL or "": nobody */
    bool           escalated;       /* it was escalated (escalated_at set) */
    const char    *police_status;   /* of its account: "normal", "cautioned", "suspended" */
    const char    *done[ALM_STEPS_MAX];  /* ids of the plan steps ticked */
    size_t         ndone;
    enum alm_psap  psap;            /* ALM_PSAP_NONE: no dispatch record */
    bool           cancel_requested;
    bool           test;            /* raised while its account was on test (no dispatch step;
                                     * dispatching it needs a supervisor) */
};

enum alm_action {
    ALM_TAKE, ALM_RELEASE, ALM_STEP, ALM_PASSCODE, ALM_DISPATCH, ALM_PSAP, ALM_CLOSE,
    ALM_LEASE_EXPIRED,   /* the station: the holder has been gone take_lease_s */
    ALM_ACTION_COUNT
};
const char *alm_action_name(enum alm_action a);
int alm_action_parse(const char *name, enum alm_action *out);

struct alm_request {
    enum alm_action action;
    const char   *actor;         /* operator name; NULL for the station's own */
    enum alm_role role;
    bool          force;         /* TAKE: a supervisor takes over */
    const char   *step;          /* STEP */
    const char   *passcode_result;  /* PASSCODE: "normal", "duress", "no_match" */
    const char   *disposition;   /* CLOSE */
    bool          override;      /* CLOSE: a supervisor closes with steps open */
    const char   *psap_status;   /* PSAP: an alm_psap name, or "cancel_requested" */
    const char   *event_number;  /* PSAP accepted */
    const char   *reason;        /* PSAP rejected */
    const char   *finding;       /* PSAP closed: the police's finding, NULL or "" (none),
                                  * "false" (a false alarm: billed by the agency's rules),
                                  * "cancelled" (stood down on the station's cancel after
                                  * acceptance: the cancel fee), "valid" (no charge) */
};

/* What the store must write when the engine says yes. */
struct alm_verdict {
    enum alm_state state;        /* the alarm's state after */
    const char   *taken_by;      /* its holder after (NULL: nobody); borrowed */
    bool          set_taken_at;  /* taken_at_ms = now */
    bool          set_dispatched_at;
    bool          set_closed_at;
    const char   *disposition;   /* CLOSE */
    const char   *tick_step;     /* a plan step to mark done (by actor, now) */
    bool          create_dispatch;   /* a new (or renewed, after a rejection) dispatch record */
    enum alm_psap psap;          /* the dispatch record's status after (NONE: unchanged) */
    bool          cancel_requested;  /* record the cancel request (and who confirmed) */
    const char   *charge_finding;    /* "false" / "cancelled": write the invoice line by the
                                      * account's agency rules (vigil/agency.h); borrowed */
    const char   *history_action;    /* always set on success */
    char          history_detail[200];
    char          reason[200];   /* refusal: a sentence for the operator */
};

/* Decides one action on one alarm. 0 and v filled, or an alm_err with
 * v->reason. Pure: the same view and request give the same verdict. */
int alm_decide(const struct alm_view *a, const struct alm_request *r, struct alm_verdict *v);

/* Which steps are mandatory and still open; returns how many (ids into out). */
size_t alm_open_mandatory(const struct alm_view *a, const char *out[ALM_STEPS_MAX]);

#ifdef __cplusplus
}
#endif
#endif /* VIGIL_ALARM_H */
