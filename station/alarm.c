/*
 * alarm.c — the alarm engine (vigil/alarm.h): every alarm decision, as pure
 * functions of an alarm's state and a request. The SQLite writer, the
 * station's control socket, the console and `vigil` call it; the stores only
 * persist what it decides.
 *
 * Must never: touch a store, read a clock, allocate, or log. A refusal always
 * carries a sentence an operator can act on.
 */
#include "vigil/alarm.h"

#include <stdio.h>
#include <string.h>

/* ---- names ------------------------------------------------------------ */

static const char *const state_names[ALM_STATE_COUNT] = {
    "new", "escalated", "taken", "dispatched", "closed",
};
static const char *const psap_names[ALM_PSAP_COUNT] = {
    "none", "requested", "accepted", "rejected", "dispatched", "arrived", "closed",
};
static const char *const action_names[ALM_ACTION_COUNT] = {
    "take", "release", "step", "passcode", "dispatch", "psap", "close", "lease_expired",
};
static const char *const role_names[] = { "none", "operator", "supervisor", "admin" };
_Static_assert(sizeof role_names / sizeof role_names[0] == ALM_ROLE_ADMIN + 1, "role names");

const char *const alm_dispositions[] = {
    "real_emergency", "false_user_error", "false_equipment", "cancelled_before_dispatch",
    "cancelled_after_dispatch", "test", NULL,
};
static const char *const reject_reasons[] = {
    "invalid_address", "invalid_event_type", "too_old", "other", NULL,
};

static int parse_name(const char *const *names, int n, const char *s, int *out)
{
    for (int i = 0; s && i < n; i++)
        if (names[i] && strcmp(names[i], s) == 0) {
            *out = i;
            return 0;
        }
    return ALM_E_INVALID;
}

static bool in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; s && list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

const char *alm_strerror(int err)
{
    switch (err) {
    case ALM_OK:          return "ok";
    case ALM_E_INVALID:   return "invalid request";
    case ALM_E_FORBIDDEN: return "not allowed for this role";
    case ALM_E_CONFLICT:  return "conflicts with the alarm's state";
    case ALM_E_NOTFOUND:  return "no such alarm";
    default:              return "unknown error";
    }
}

const char *alm_state_name(enum alm_state s)
{
    return (unsigned)s < ALM_STATE_COUNT ? state_names[s] : "?";
}
int alm_state_parse(const char *name, enum alm_state *out)
{
    int i, rc = parse_name(state_names, ALM_STATE_COUNT, name, &i);
    if (rc == 0)
        *out = (enum alm_state)i;
    return rc;
}
const char *alm_psap_name(enum alm_psap p)
{
    return (unsigned)p < ALM_PSAP_COUNT ? psap_names[p] : "?";
}
int alm_psap_parse(const char *name, enum alm_psap *out)
{
    int i, rc = parse_name(psap_names, ALM_PSAP_COUNT, name, &i);
    if (rc == 0)
        *out = (enum alm_psap)i;
    return rc;
}
const char *alm_action_name(enum alm_action a)
{
    return (unsigned)a < ALM_ACTION_COUNT ? action_names[a] : "?";
}
int alm_action_parse(const char *name, enum alm_action *out)
{
    int i, rc = parse_name(action_names, ALM_ACTION_COUNT, name, &i);
    if (rc == 0)
        *out = (enum alm_action)i;
    return rc;
}
const char *alm_role_name(enum alm_role r)
{
    return (unsigned)r <= ALM_ROLE_ADMIN ? role_names[r] : "?";
}
int alm_role_parse(const char *name, enum alm_role *out)
{
    int i, rc = parse_name(role_names, ALM_ROLE_ADMIN + 1, name, &i);
    if (rc == 0 && i == ALM_ROLE_NONE)
        rc = ALM_E_INVALID;
    if (rc == 0)
        *out = (enum alm_role)i;
    return rc;
}
bool alm_disposition_valid(const char *d) { return in_list(alm_dispositions, d); }
bool alm_reject_reason_valid(const char *r) { return in_list(reject_reasons, r); }

/* ---- raising and escalation ------------------------------------------- */

enum alm_raise alm_raise_decide(const struct alm_open *open, int priority)
{
    if (open && open->id > 0 && open->priority == priority && !open->restored)
        return ALM_RAISE_JOIN;
    return ALM_RAISE_OPEN;
}

int alm_queue_rank(int priority, const char *kind)
{
    bool unregistered = kind && strcmp(kind, "unknown_account") == 0;
    return priority * 2 + (unregistered ? 1 : 0);
}

int alm_escalate_priority(void) { return 1; }

int64_t alm_escalate_cutoff_ms(int64_t now_ms, int64_t escalate_after_s)
{
    return now_ms - escalate_after_s * 1000;
}

/* ---- actions ---------------------------------------------------------- */

static bool holder_is(const struct alm_view *a, const char *who)
{
    return a->taken_by && a->taken_by[0] && who && strcmp(a->taken_by, who) == 0;
}

static bool is_free(const struct alm_view *a)
{
    return !a->taken_by || !a->taken_by[0];
}

static bool step_done(const struct alm_view *a, const char *id)
{
    for (size_t i = 0; i < a->ndone && i < ALM_STEPS_MAX; i++)
        if (a->done[i] && strcmp(a->done[i], id) == 0)
            return true;
    return false;
}

size_t alm_open_mandatory(const struct alm_view *a, const char *out[ALM_STEPS_MAX])
{
    const struct alm_step *steps[ALM_STEPS_MAX];
    size_t n = alm_plan_steps_test(a->kind, a->police_status, a->test, steps), k = 0;
    for (size_t i = 0; i < n; i++)
        if ((steps[i]->flags & ALM_STEP_MANDATORY) && !step_done(a, steps[i]->id))
            out[k++] = steps[i]->id;
    return k;
}

static const struct alm_step *plan_step(const struct alm_view *a, const char *id,
                                        unsigned flag)
{
    const struct alm_step *steps[ALM_STEPS_MAX];
    size_t n = alm_plan_steps_test(a->kind, a->police_status, a->test, steps);
    for (size_t i = 0; i < n; i++)
        if (id ? strcmp(steps[i]->id, id) == 0 : (steps[i]->flags & flag) != 0)
            return steps[i];
    return NULL;
}

/* A refusal: the sentence an operator reads, and the error. */
#define REFUSE(v, err, ...) (snprintf((v)->reason, sizeof (v)->reason, __VA_ARGS__), (err))

/* The state an alarm returns to when nobody holds it. */
static enum alm_state unheld_state(const struct alm_view *a)
{
    if (a->state == ALM_DISPATCHED)
        return ALM_DISPATCHED;
    return a->escalated ? ALM_ESCALATED : ALM_NEW;
}

/* The actor must hold the alarm to act on it. */
static int must_hold(const struct alm_view *a, const struct alm_request *r,
                     struct alm_verdict *v)
{
    if (holder_is(a, r->actor))
        return 0;
    if (is_free(a))
        return REFUSE(v, ALM_E_CONFLICT, "take alarm %lld first", (long long)a->id);
    return REFUSE(v, ALM_E_CONFLICT, "alarm %lld is held by %s", (long long)a->id, a->taken_by);
}

static int decide_take(const struct alm_view *a, const struct alm_request *r,
                       struct alm_verdict *v)
{
    if (holder_is(a, r->actor))
        return REFUSE(v, ALM_E_CONFLICT, "you already hold alarm %lld", (long long)a->id);
    if (!is_free(a)) {
        if (!r->force)
            return REFUSE(v, ALM_E_CONFLICT, "alarm %lld is held by %s", (long long)a->id, a->taken_by);
        if (r->role < ALM_ROLE_SUPERVISOR)
            return REFUSE(v, ALM_E_FORBIDDEN, "taking over alarm %lld from %s needs a "
                          "supervisor", (long long)a->id, a->taken_by);
        v->history_action = "take_over";
        snprintf(v->history_detail, sizeof v->history_detail, "from %s", a->taken_by);
    } else {
        v->history_action = "take";
    }
    v->state = a->state == ALM_DISPATCHED ? ALM_DISPATCHED : ALM_TAKEN;
    v->taken_by = r->actor;
    v->set_taken_at = true;
    return 0;
}

static int decide_release(const struct alm_view *a, const struct alm_request *r,
                          struct alm_verdict *v)
{
    if (is_free(a))
        return REFUSE(v, ALM_E_CONFLICT, "alarm %lld is not taken", (long long)a->id);
    if (r->action == ALM_LEASE_EXPIRED) {
        v->history_action = "released";
        snprintf(v->history_detail, sizeof v->history_detail,
                 "%s gone: back to the queue", a->taken_by);
    } else if (holder_is(a, r->actor)) {
        v->history_action = "release";
    } else if (r->role >= ALM_ROLE_SUPERVISOR) {
        v->history_action = "release";
        snprintf(v->history_detail, sizeof v->history_detail, "held by %s", a->taken_by);
    } else {
        return REFUSE(v, ALM_E_CONFLICT, "alarm %lld is held by %s", (long long)a->id, a->taken_by);
    }
    v->state = unheld_state(a);
    v->taken_by = NULL;
    return 0;
}

static int decide_step(const struct alm_view *a, const struct alm_request *r,
                       struct alm_verdict *v)
{
    if (!r->step || !plan_step(a, r->step, 0))
        return REFUSE(v, ALM_E_INVALID, "alarm %lld's plan has no step '%s'", (long long)a->id, r->step);
    if (step_done(a, r->step))
        return REFUSE(v, ALM_E_CONFLICT, "alarm %lld: step '%s' is already done", (long long)a->id, r->step);
    v->tick_step = plan_step(a, r->step, 0)->id;
    v->history_action = "step";
    snprintf(v->history_detail, sizeof v->history_detail, "%s", v->tick_step);
    return 0;
}

static int decide_passcode(const struct alm_view *a, const struct alm_request *r,
                           struct alm_verdict *v)
{
    static const char *const results[] = { "normal", "duress", "no_match", NULL };
    if (!in_list(results, r->passcode_result))
        return REFUSE(v, ALM_E_INVALID, "alarm %lld: passcode result must be normal, duress "
                      "or no_match", (long long)a->id);
    v->history_action = "passcode";
    snprintf(v->history_detail, sizeof v->history_detail, "result: %s", r->passcode_result);
    return 0;
}

static int decide_dispatch(const struct alm_view *a, const struct alm_request *r,
                           struct alm_verdict *v)
{
    /* a test signal's plan has no dispatch step; a supervisor may still send
     * the police (a real emergency during a test) */
    if (a->test && r->role < ALM_ROLE_SUPERVISOR)
        return REFUSE(v, ALM_E_FORBIDDEN, "alarm %lld is a TEST signal (account on test): "
                      "dispatching it needs a supervisor", (long long)a->id);
    if (a->psap != ALM_PSAP_NONE && a->psap != ALM_PSAP_REJECTED)
        return REFUSE(v, ALM_E_CONFLICT, "alarm %lld is already dispatched (police: %s)", (long long)a->id, alm_psap_name(a->psap));
    v->create_dispatch = true;
    v->psap = ALM_PSAP_REQUESTED;
    v->state = ALM_DISPATCHED;
    v->set_dispatched_at = true;
    const struct alm_step *s = plan_step(a, NULL, ALM_STEP_DISPATCH);
    if (s && !step_done(a, s->id))
        v->tick_step = s->id;
    v->history_action = "dispatch";
    snprintf(v->history_detail, sizeof v->history_detail, "%s",
             alm_kind_is_silent(a->kind) ? "police: silent, person may be under threat"
                                         : "police requested");
    return 0;
}

/* The PSAP's side, in order: requested → accepted | rejected; accepted →
 * dispatched → arrived → closed (closed also straight from accepted or
 * dispatched: the police may stand down). */
static bool psap_follows(enum alm_psap from, enum alm_psap to)
{
    switch (to) {
    case ALM_PSAP_ACCEPTED:
    case ALM_PSAP_REJECTED:   return from == ALM_PSAP_REQUESTED;
    case ALM_PSAP_DISPATCHED: return from == ALM_PSAP_ACCEPTED;
    case ALM_PSAP_ARRIVED:    return from == ALM_PSAP_DISPATCHED;
    case ALM_PSAP_CLOSED:     return from == ALM_PSAP_ACCEPTED || from == ALM_PSAP_DISPATCHED ||
                                     from == ALM_PSAP_ARRIVED;
    default:                  return false;
    }
}

static int decide_cancel(const struct alm_view *a, const struct alm_request *r,
                         struct alm_verdict *v)
{
    if (a->cancel_requested)
        return REFUSE(v, ALM_E_CONFLICT, "alarm %lld: a cancel was already passed to the "
                      "police", (long long)a->id);
    if (a->psap == ALM_PSAP_CLOSED || a->psap == ALM_PSAP_REJECTED)
        return REFUSE(v, ALM_E_CONFLICT, "alarm %lld: the police have %s it: nothing to "
                      "cancel", (long long)a->id, alm_psap_name(a->psap));
    /* a coerced person may give the normal passcode: only the police cancel a
     * police response, and the request goes to them with a supervisor's word */
    if (alm_kind_is_silent(a->kind) && r->role < ALM_ROLE_SUPERVISOR)
        return REFUSE(v, ALM_E_FORBIDDEN, "alarm %lld: a cancel after a %s dispatch needs a "
                      "supervisor's confirmation", (long long)a->id, a->kind);
    v->cancel_requested = true;
    v->history_action = "psap";
    snprintf(v->history_detail, sizeof v->history_detail,
             "cancel requested: passed to the police (confirmed by %s)", r->actor);
    return 0;
}

/* The police's finding comes with their close: false (billed by the agency's
 * rules), cancelled (stood down on the station's cancel after acceptance:
 * the cancel fee) or valid. Only the police decide what was false. */
static int decide_finding(const struct alm_view *a, const struct alm_request *r,
                          enum alm_psap to, struct alm_verdict *v)
{
    static const char *const findings[] = { "false", "cancelled", "valid", NULL };
    if (!r->finding || !r->finding[0])
        return 0;
    if (!in_list(findings, r->finding))
        return REFUSE(v, ALM_E_INVALID, "alarm %lld: the police's finding must be false, "
                      "cancelled or valid", (long long)a->id);
    if (to != ALM_PSAP_CLOSED)
        return REFUSE(v, ALM_E_INVALID, "alarm %lld: the police's finding comes with their "
                      "close (status closed)", (long long)a->id);
    if (strcmp(r->finding, "cancelled") == 0 && !a->cancel_requested)
        return REFUSE(v, ALM_E_CONFLICT, "alarm %lld: no cancel was passed to the police "
                      "(police status cancel_requested first)", (long long)a->id);
    if (strcmp(r->finding, "valid") != 0)
        v->charge_finding = strcmp(r->finding, "false") == 0 ? "false" : "cancelled";
    return 0;
}

static int decide_psap(const struct alm_view *a, const struct alm_request *r,
                       struct alm_verdict *v)
{
    if (a->psap == ALM_PSAP_NONE)
        return REFUSE(v, ALM_E_CONFLICT, "alarm %lld has not been dispatched", (long long)a->id);
    if (r->psap_status && strcmp(r->psap_status, "cancel_requested") == 0)
        return decide_cancel(a, r, v);
    enum alm_psap to;
    if (alm_psap_parse(r->psap_status, &to) != 0 || to == ALM_PSAP_NONE ||
        to == ALM_PSAP_REQUESTED)
        return REFUSE(v, ALM_E_INVALID, "alarm %lld: unknown police status '%s'", (long long)a->id, r->psap_status);
    if (to == ALM_PSAP_ACCEPTED && (!r->event_number || !r->event_number[0]))
        return REFUSE(v, ALM_E_INVALID, "alarm %lld: 'accepted' needs the agency's event "
                      "number", (long long)a->id);
    if (to == ALM_PSAP_REJECTED && !alm_reject_reason_valid(r->reason))
        return REFUSE(v, ALM_E_INVALID, "alarm %lld: 'rejected' needs a reason: "
                      "invalid_address, invalid_event_type, too_old or other", (long long)a->id);
    if (!psap_follows(a->psap, to))
        return REFUSE(v, ALM_E_CONFLICT, "alarm %lld: the police status is %s: record the "
                      "steps in order", (long long)a->id, alm_psap_name(a->psap));
    int rc = decide_finding(a, r, to, v);
    if (rc)
        return rc;
    v->psap = to;
    v->history_action = "psap";
    snprintf(v->history_detail, sizeof v->history_detail, "%s%s%s%s%s", alm_psap_name(to),
             to == ALM_PSAP_ACCEPTED ? " event " : to == ALM_PSAP_REJECTED ? ": " : "",
             to == ALM_PSAP_ACCEPTED ? r->event_number : to == ALM_PSAP_REJECTED ? r->reason
                                                                                  : "",
             r->finding && r->finding[0] ? "; finding: " : "",
             r->finding && r->finding[0] ? r->finding : "");
    return 0;
}

static int decide_close(const struct alm_view *a, const struct alm_request *r,
                        struct alm_verdict *v)
{
    if (!r->disposition || !r->disposition[0])
        return REFUSE(v, ALM_E_CONFLICT, "alarm %lld: a disposition is required to close", (long long)a->id);
    if (!alm_disposition_valid(r->disposition))
        return REFUSE(v, ALM_E_INVALID, "alarm %lld: unknown disposition '%s'", (long long)a->id, r->disposition);
    bool sent = a->psap != ALM_PSAP_NONE && a->psap != ALM_PSAP_REJECTED;
    if (strcmp(r->disposition, "cancelled_after_dispatch") == 0 && !sent)
        return REFUSE(v, ALM_E_CONFLICT, "alarm %lld was never dispatched", (long long)a->id);
    /* only the police cancel a silent alarm's response, asked with a
     * supervisor's word (decide_cancel): an operator alone never records it */
    if (strcmp(r->disposition, "cancelled_after_dispatch") == 0 && alm_kind_is_silent(a->kind) &&
        !a->cancel_requested)
        return REFUSE(v, ALM_E_CONFLICT, "alarm %lld: pass the cancel to the police first "
                      "(police status cancel_requested, a supervisor's confirmation)",
                      (long long)a->id);
    if (strcmp(r->disposition, "cancelled_before_dispatch") == 0 && sent)
        return REFUSE(v, ALM_E_CONFLICT, "alarm %lld was dispatched", (long long)a->id);
    const char *open[ALM_STEPS_MAX];
    size_t nopen = alm_open_mandatory(a, open);
    char list[160] = "";
    for (size_t i = 0; i < nopen; i++) {
        size_t len = strlen(list);
        snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", open[i]);
    }
    v->history_action = "close";
    if (nopen && !r->override)
        return REFUSE(v, ALM_E_CONFLICT, "alarm %lld: mandatory steps open: %s", (long long)a->id, list);
    if (nopen && r->role < ALM_ROLE_SUPERVISOR)
        return REFUSE(v, ALM_E_FORBIDDEN, "alarm %lld: closing with steps open (%s) needs a "
                      "supervisor", (long long)a->id, list);
    if (nopen) {
        v->history_action = "close_override";
        snprintf(v->history_detail, sizeof v->history_detail, "%s; steps left open: %s",
                 r->disposition, list);
    } else {
        snprintf(v->history_detail, sizeof v->history_detail, "%s", r->disposition);
    }
    v->state = ALM_CLOSED;
    v->disposition = r->disposition;
    v->set_closed_at = true;
    return 0;
}

int alm_decide(const struct alm_view *a, const struct alm_request *r, struct alm_verdict *v)
{
    memset(v, 0, sizeof *v);
    v->state = a->state;
    v->taken_by = is_free(a) ? NULL : a->taken_by;
    if ((unsigned)r->action >= ALM_ACTION_COUNT)
        return REFUSE(v, ALM_E_INVALID, "alarm %lld: unknown action", (long long)a->id);
    if (a->state == ALM_CLOSED)
        return REFUSE(v, ALM_E_CONFLICT, "alarm %lld is closed", (long long)a->id);
    if (r->action == ALM_LEASE_EXPIRED)
        return decide_release(a, r, v);
    if (r->role < ALM_ROLE_OPERATOR || !r->actor || !r->actor[0])
        return REFUSE(v, ALM_E_FORBIDDEN, "alarm %lld: only a logged-in operator may act", (long long)a->id);
    switch (r->action) {
    case ALM_TAKE:    return decide_take(a, r, v);
    case ALM_RELEASE: return decide_release(a, r, v);
    default:          break;
    }
    int rc = must_hold(a, r, v);
    if (rc)
        return rc;
    switch (r->action) {
    case ALM_STEP:     return decide_step(a, r, v);
    case ALM_PASSCODE: return decide_passcode(a, r, v);
    case ALM_DISPATCH: return decide_dispatch(a, r, v);
    case ALM_PSAP:     return decide_psap(a, r, v);
    case ALM_CLOSE:    return decide_close(a, r, v);
    default:           return REFUSE(v, ALM_E_INVALID, "alarm %lld: unknown action", (long long)a->id);
    }
}
