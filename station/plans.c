/*
 * plans.c — the action plans per alarm kind and the handling targets per
 * priority, as data (docs/DURESS.md "At the station"; central-station
 * practice: Manitou, stages, MKS). The alarm engine (alarm.c) and the
 * console read them; nothing else holds a plan.
 *
 * Must never: offer a premises call or two-way voice in a silent plan
 * (duress, hold-up) — the caller may be standing next to the victim.
 */
#include "vigil/alarm.h"

#include <string.h>

#define M ALM_STEP_MANDATORY

static const struct alm_step duress_steps[] = {
    { "dispatch", "Dispatch police now: silent duress alarm, person may be under threat. "
                  "Do not call the premises, no two-way voice.", M | ALM_STEP_DISPATCH },
    { "call_911", "Police response to these premises is suspended or cautioned: call 911 as "
                  "a person-under-threat call.", M | ALM_STEP_IF_POLICE_STATUS },
    { "call_list", "Call the contact list — never the premises phone, never the duress "
                   "user's own numbers, no push to the users' apps.", M },
    { "notes", "Record what you learned.", 0 },
};

static const struct alm_step holdup_steps[] = {
    { "dispatch", "Dispatch police now: silent hold-up alarm, person may be under threat. "
                  "Do not call the premises.", M | ALM_STEP_DISPATCH },
    { "call_911", "Police response to these premises is suspended or cautioned: call 911 as "
                  "a person-under-threat call.", M | ALM_STEP_IF_POLICE_STATUS },
    { "call_list", "Call the contact list — never the premises phone.", M },
    { "notes", "Record what you learned.", 0 },
};

static const struct alm_step fire_steps[] = {
    { "dispatch", "Dispatch the fire service now.", M | ALM_STEP_DISPATCH },
    { "call_premises", "Call the premises: tell them the fire service is on its way.", M },
    { "call_list", "Call the contact list.", M },
    { "notes", "Record what you learned.", 0 },
};

static const struct alm_step medical_steps[] = {
    { "call_premises", "Call the premises: ask what is wrong.", M },
    { "dispatch", "Dispatch emergency services (no answer or help needed).",
      ALM_STEP_DISPATCH },
    { "call_list", "Call the contact list.", M },
    { "notes", "Record what you learned.", 0 },
};

/* Burglary: enhanced call verification (ANSI/TMA CS-V-01): two calls before
 * dispatch; dispatch is then the operator's decision. */
static const struct alm_step burglary_steps[] = {
    { "call_premises", "Call the premises; ask for the passcode (check it below).", M },
    { "call_second", "No answer or no valid passcode: call the second number on the list.", 0 },
    { "dispatch", "Not verified as false: dispatch police.", ALM_STEP_DISPATCH },
    { "call_list", "Call the contact list.", 0 },
    { "notes", "Record what you learned.", 0 },
};

static const struct alm_step technical_steps[] = {
    { "check_history", "Check the account's recent events.", M },
    { "call_list", "Call the contact list (communication lost: a cut line may be a burglar's "
                   "preparation).", M },
    { "dispatch", "Dispatch if the contacts cannot confirm the premises are safe.",
      ALM_STEP_DISPATCH },
    { "notes", "Record what you learned.", 0 },
};

static const struct alm_step default_steps[] = {
    { "review", "Review the signal and the account.", M },
    { "call_list", "Call the contact list if needed.", 0 },
    { "dispatch", "Dispatch if needed.", ALM_STEP_DISPATCH },
    { "notes", "Record what you learned.", 0 },
};

/* An alarm raised while its account is on test (assisted duress set-up, a
 * drill): still shown, marked TEST, but no dispatch step — the customer on
 * the set-up call sent it. A real emergency on a test account is still
 * dispatchable by a supervisor (alarm.c). */
static const struct alm_step test_steps[] = {
    { "confirm_test", "TEST signal (account on test): confirm with the customer on the set-up "
                      "call that they sent it. No dispatch.", M },
    { "notes", "Record what you learned.", 0 },
};
static const struct alm_plan test_plan = { "test", test_steps,
                                           sizeof test_steps / sizeof test_steps[0], false };

#undef M

#define PLAN(n, s, silent) { n, s, sizeof s / sizeof s[0], silent }
static const struct alm_plan plans[] = {
    PLAN("duress", duress_steps, true),
    PLAN("holdup", holdup_steps, true),
    PLAN("fire", fire_steps, false),
    PLAN("medical", medical_steps, false),
    PLAN("panic", medical_steps, false),
    PLAN("burglary", burglary_steps, false),
    PLAN("comm_failure", technical_steps, false),
    PLAN("default", default_steps, false),
};
#undef PLAN
_Static_assert(sizeof duress_steps / sizeof duress_steps[0] <= ALM_STEPS_MAX, "steps fit");
_Static_assert(sizeof burglary_steps / sizeof burglary_steps[0] <= ALM_STEPS_MAX, "steps fit");

const struct alm_plan *alm_plan_for(const char *kind)
{
    size_t n = sizeof plans / sizeof plans[0];
    for (size_t i = 0; kind && i < n - 1; i++)
        if (strcmp(plans[i].name, kind) == 0)
            return &plans[i];
    return &plans[n - 1];
}

bool alm_kind_is_silent(const char *kind)
{
    return kind && alm_plan_for(kind)->silent;
}

size_t alm_plan_steps(const char *kind, const char *police_status,
                      const struct alm_step *out[ALM_STEPS_MAX])
{
    const struct alm_plan *p = alm_plan_for(kind);
    bool flagged = police_status && strcmp(police_status, "normal") != 0;
    size_t n = 0;
    for (size_t i = 0; i < p->nsteps && n < ALM_STEPS_MAX; i++)
        if (!(p->steps[i].flags & ALM_STEP_IF_POLICE_STATUS) || flagged)
            out[n++] = &p->steps[i];
    return n;
}

size_t alm_plan_steps_test(const char *kind, const char *police_status, bool test,
                           const struct alm_step *out[ALM_STEPS_MAX])
{
    if (!test)
        return alm_plan_steps(kind, police_status, out);
    size_t n = 0;
    for (size_t i = 0; i < test_plan.nsteps && n < ALM_STEPS_MAX; i++)
        out[n++] = &test_plan.steps[i];
    return n;
}

const char *alm_plan_name(const char *kind, bool test)
{
    return test ? test_plan.name : alm_plan_for(kind)->name;
}

/* Handling targets (s): Manitou's default grading puts a duress at one
 * minute from receipt to dispatch, supervisors alerted at 30 s. */
static const struct { int warning_s, danger_s; } targets[6] = {
    [0] = { 300, 900 },       /* no priority: as the lowest */
    [1] = { 30, 60 },
    [2] = { 45, 90 },
    [3] = { 60, 120 },
    [4] = { 120, 300 },
    [5] = { 300, 900 },
};

void alm_targets(int priority, int *warning_s, int *danger_s)
{
    int p = priority >= 1 && priority <= 5 ? priority : 0;
    *warning_s = targets[p].warning_s;
    *danger_s = targets[p].danger_s;
}

const char *alm_dispatch_category(const char *kind)
{
    static const struct { const char *kind, *category; } map[] = {
        { "duress", "Holdup" }, { "holdup", "Holdup" }, { "panic", "Holdup" },
        { "fire", "FIRE" }, { "medical", "Medical" }, { "burglary", "BURG" },
        { "comm_failure", "Comm" },
    };
    for (size_t i = 0; kind && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].kind, kind) == 0)
            return map[i].category;
    return "BURG";
}
