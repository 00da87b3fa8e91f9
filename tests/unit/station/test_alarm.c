/*
 * test_alarm.c — the alarm engine (station/alarm.c, plans.c): its state
 * machine and every refusal an operator can meet, without a store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <sqlite3.h>

#include "vigil/alarm.h"

static struct alm_view duress(void)
{
    struct alm_view a = { .id = 7, .kind = "duress", .priority = 1, .state = ALM_NEW,
                          .police_status = "normal" };
    return a;
}

static struct alm_request req(enum alm_action act, const char *who, enum alm_role role)
{
    struct alm_request r = { .action = act, .actor = who, .role = role };
    return r;
}

static void raise_joins_only_same_priority_unrestored(void **state)
{
    (void)state;
    struct alm_open o = { .id = 3, .priority = 1, .restored = false };
    assert_int_equal(alm_raise_decide(NULL, 1), ALM_RAISE_OPEN);
    assert_int_equal(alm_raise_decide(&o, 1), ALM_RAISE_JOIN);
    assert_int_equal(alm_raise_decide(&o, 4), ALM_RAISE_OPEN);   /* kinds/priorities never mix */
    o.restored = true;
    assert_int_equal(alm_raise_decide(&o, 1), ALM_RAISE_OPEN);   /* a duress after a restore */
    assert_int_equal(alm_escalate_priority(), 1);
    assert_int_equal(alm_escalate_cutoff_ms(100000, 30), 70000);
}

static void duress_plan_never_calls_premises(void **state)
{
    (void)state;
    const struct alm_step *s[ALM_STEPS_MAX];
    size_t n = alm_plan_steps("duress", "normal", s);
    assert_true(n >= 2);
    assert_string_equal(s[0]->id, "dispatch");          /* dispatch first */
    assert_true(s[0]->flags & ALM_STEP_MANDATORY);
    for (size_t i = 0; i < n; i++)
        assert_null(strstr(s[i]->id, "premises"));
    assert_true(alm_kind_is_silent("duress"));
    assert_true(alm_kind_is_silent("holdup"));
    assert_false(alm_kind_is_silent("burglary"));
    /* the 911 step only for suspended or cautioned premises */
    bool has911 = false;
    for (size_t i = 0; i < n; i++)
        has911 |= strcmp(s[i]->id, "call_911") == 0;
    assert_false(has911);
    n = alm_plan_steps("duress", "suspended", s);
    has911 = false;
    for (size_t i = 0; i < n; i++)
        has911 |= strcmp(s[i]->id, "call_911") == 0 && (s[i]->flags & ALM_STEP_MANDATORY);
    assert_true(has911);
    assert_string_equal(alm_dispatch_category("duress"), "Holdup");
    assert_string_equal(alm_dispatch_category("burglary"), "BURG");
    int w, d;
    alm_targets(1, &w, &d);
    assert_int_equal(w, 30);
    assert_int_equal(d, 60);
}

static void take_is_exclusive(void **state)
{
    (void)state;
    struct alm_view a = duress();
    struct alm_verdict v;
    struct alm_request r = req(ALM_TAKE, "alice", ALM_ROLE_OPERATOR);
    assert_int_equal(alm_decide(&a, &r, &v), 0);
    assert_int_equal(v.state, ALM_TAKEN);
    assert_string_equal(v.taken_by, "alice");
    assert_true(v.set_taken_at);
    a.state = ALM_TAKEN;
    a.taken_by = "alice";
    r.actor = "bob";
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_CONFLICT);
    assert_non_null(strstr(v.reason, "held by alice"));
    r.force = true;   /* an operator may not take over */
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_FORBIDDEN);
    r.role = ALM_ROLE_SUPERVISOR;
    assert_int_equal(alm_decide(&a, &r, &v), 0);
    assert_string_equal(v.history_action, "take_over");
    assert_string_equal(v.taken_by, "bob");
    r = req(ALM_TAKE, "alice", ALM_ROLE_OPERATOR);
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_CONFLICT);   /* already yours */
}

static void acting_needs_the_alarm_held(void **state)
{
    (void)state;
    struct alm_view a = duress();
    struct alm_verdict v;
    struct alm_request r = req(ALM_STEP, "alice", ALM_ROLE_OPERATOR);
    r.step = "call_list";
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_CONFLICT);
    assert_non_null(strstr(v.reason, "take alarm 7 first"));
    a.state = ALM_TAKEN;
    a.taken_by = "bob";
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_CONFLICT);
    assert_non_null(strstr(v.reason, "held by bob"));
    r.role = ALM_ROLE_NONE;   /* no role: nobody */
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_FORBIDDEN);
}

static void steps_tick_once_and_only_from_the_plan(void **state)
{
    (void)state;
    struct alm_view a = duress();
    a.state = ALM_TAKEN;
    a.taken_by = "alice";
    struct alm_verdict v;
    struct alm_request r = req(ALM_STEP, "alice", ALM_ROLE_OPERATOR);
    r.step = "call_premises";                 /* not in a duress plan */
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_INVALID);
    r.step = "call_list";
    assert_int_equal(alm_decide(&a, &r, &v), 0);
    assert_string_equal(v.tick_step, "call_list");
    a.done[0] = "call_list";
    a.ndone = 1;
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_CONFLICT);
}

static void dispatch_ticks_its_step_and_happens_once(void **state)
{
    (void)state;
    struct alm_view a = duress();
    a.state = ALM_TAKEN;
    a.taken_by = "alice";
    struct alm_verdict v;
    struct alm_request r = req(ALM_DISPATCH, "alice", ALM_ROLE_OPERATOR);
    assert_int_equal(alm_decide(&a, &r, &v), 0);
    assert_true(v.create_dispatch);
    assert_int_equal(v.state, ALM_DISPATCHED);
    assert_string_equal(v.tick_step, "dispatch");
    assert_int_equal(v.psap, ALM_PSAP_REQUESTED);
    a.psap = ALM_PSAP_REQUESTED;
    a.state = ALM_DISPATCHED;
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_CONFLICT);
    a.psap = ALM_PSAP_REJECTED;               /* again after a rejection */
    assert_int_equal(alm_decide(&a, &r, &v), 0);
}

/* An alarm raised while its account was on test (assisted duress set-up):
 * the test plan — no dispatch step —, an operator cannot dispatch it, a
 * supervisor can (a real emergency during a test), it closes as "test"
 * once its one mandatory step is done. */
static void test_alarm_has_no_dispatch_step(void **state)
{
    (void)state;
    struct alm_view a = duress();
    a.test = true;
    a.state = ALM_TAKEN;
    a.taken_by = "alice";
    const struct alm_step *steps[ALM_STEPS_MAX];
    size_t n = alm_plan_steps_test(a.kind, a.police_status, true, steps);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        assert_false(steps[i]->flags & ALM_STEP_DISPATCH);
    assert_string_equal(alm_plan_name("duress", true), "test");
    assert_string_equal(alm_plan_name("duress", false), "duress");
    /* the same kind not on test keeps its dispatch step */
    n = alm_plan_steps_test("duress", "normal", false, steps);
    assert_string_equal(steps[0]->id, "dispatch");
    struct alm_verdict v;
    struct alm_request r = req(ALM_DISPATCH, "alice", ALM_ROLE_OPERATOR);
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_FORBIDDEN);
    assert_non_null(strstr(v.reason, "TEST"));
    struct alm_request step = req(ALM_STEP, "alice", ALM_ROLE_OPERATOR);
    step.step = "dispatch";
    assert_int_equal(alm_decide(&a, &step, &v), ALM_E_INVALID);   /* not in its plan */
    struct alm_request close = req(ALM_CLOSE, "alice", ALM_ROLE_OPERATOR);
    close.disposition = "test";
    assert_int_equal(alm_decide(&a, &close, &v), ALM_E_CONFLICT);  /* confirm_test open */
    a.done[0] = "confirm_test";
    a.ndone = 1;
    assert_int_equal(alm_decide(&a, &close, &v), 0);
    a.ndone = 0;
    a.taken_by = "bob";
    struct alm_request sup = req(ALM_DISPATCH, "bob", ALM_ROLE_SUPERVISOR);
    assert_int_equal(alm_decide(&a, &sup, &v), 0);
    assert_true(v.create_dispatch);
    assert_null(v.tick_step);   /* no dispatch step to tick */
}

static void psap_in_order_with_its_fields(void **state)
{
    (void)state;
    struct alm_view a = duress();
    a.state = ALM_DISPATCHED;
    a.taken_by = "alice";
    struct alm_verdict v;
    struct alm_request r = req(ALM_PSAP, "alice", ALM_ROLE_OPERATOR);
    r.psap_status = "accepted";
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_CONFLICT);   /* not dispatched yet */
    a.psap = ALM_PSAP_REQUESTED;
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_INVALID);    /* no event number */
    r.event_number = "TPS-2026-001";
    assert_int_equal(alm_decide(&a, &r, &v), 0);
    assert_int_equal(v.psap, ALM_PSAP_ACCEPTED);
    r.psap_status = "arrived";                                   /* skips dispatched */
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_CONFLICT);
    r.psap_status = "rejected";
    r.reason = "because";
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_INVALID);
    r.reason = "invalid_address";
    assert_int_equal(alm_decide(&a, &r, &v), 0);
    r.psap_status = "teleported";
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_INVALID);
    a.psap = ALM_PSAP_ACCEPTED;
    r.psap_status = "dispatched";
    assert_int_equal(alm_decide(&a, &r, &v), 0);
    a.psap = ALM_PSAP_DISPATCHED;
    r.psap_status = "arrived";
    assert_int_equal(alm_decide(&a, &r, &v), 0);
}

/* The police's finding comes with their close; only false and cancelled are
 * billed, and cancelled only after a cancel was passed to them. */
static void police_finding_with_close(void **state)
{
    (void)state;
    struct alm_view a = duress();
    a.state = ALM_DISPATCHED;
    a.taken_by = "alice";
    a.psap = ALM_PSAP_ARRIVED;
    struct alm_verdict v;
    struct alm_request r = req(ALM_PSAP, "alice", ALM_ROLE_OPERATOR);
    r.psap_status = "closed";
    assert_int_equal(alm_decide(&a, &r, &v), 0);
    assert_null(v.charge_finding);                 /* no finding given: nothing billed */
    r.finding = "false";
    assert_int_equal(alm_decide(&a, &r, &v), 0);
    assert_string_equal(v.charge_finding, "false");
    assert_non_null(strstr(v.history_detail, "finding: false"));
    r.finding = "valid";
    assert_int_equal(alm_decide(&a, &r, &v), 0);
    assert_null(v.charge_finding);
    r.finding = "maybe";
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_INVALID);
    r.finding = "cancelled";
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_CONFLICT);   /* no cancel passed on */
    a.cancel_requested = true;
    assert_int_equal(alm_decide(&a, &r, &v), 0);
    assert_string_equal(v.charge_finding, "cancelled");
    a.psap = ALM_PSAP_DISPATCHED;                  /* a finding before the close */
    r.psap_status = "arrived";
    r.finding = "false";
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_INVALID);
    assert_null(v.charge_finding);
}

static void duress_cancel_needs_a_supervisor(void **state)
{
    (void)state;
    struct alm_view a = duress();
    a.state = ALM_DISPATCHED;
    a.taken_by = "alice";
    a.psap = ALM_PSAP_ACCEPTED;
    struct alm_verdict v;
    struct alm_request r = req(ALM_PSAP, "alice", ALM_ROLE_OPERATOR);
    r.psap_status = "cancel_requested";
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_FORBIDDEN);
    r.role = ALM_ROLE_SUPERVISOR;
    assert_int_equal(alm_decide(&a, &r, &v), 0);
    assert_true(v.cancel_requested);
    /* it is only passed on: the police response, the alarm's state, stand */
    assert_int_equal(v.state, ALM_DISPATCHED);
    assert_int_equal(v.psap, ALM_PSAP_NONE);
    a.cancel_requested = true;
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_CONFLICT);
}

static void close_needs_disposition_and_steps(void **state)
{
    (void)state;
    struct alm_view a = duress();
    a.state = ALM_TAKEN;
    a.taken_by = "alice";
    struct alm_verdict v;
    struct alm_request r = req(ALM_CLOSE, "alice", ALM_ROLE_OPERATOR);
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_CONFLICT);   /* no disposition */
    r.disposition = "oops";
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_INVALID);
    r.disposition = "false_user_error";
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_CONFLICT);   /* steps open */
    assert_non_null(strstr(v.reason, "dispatch"));
    assert_non_null(strstr(v.reason, "call_list"));
    r.override = true;
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_FORBIDDEN);  /* operator override */
    r.role = ALM_ROLE_SUPERVISOR;
    assert_int_equal(alm_decide(&a, &r, &v), 0);
    assert_string_equal(v.history_action, "close_override");
    assert_int_equal(v.state, ALM_CLOSED);
    /* all mandatory steps done: an operator closes */
    r = req(ALM_CLOSE, "alice", ALM_ROLE_OPERATOR);
    r.disposition = "cancelled_after_dispatch";
    a.done[0] = "dispatch";
    a.done[1] = "call_list";
    a.ndone = 2;
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_CONFLICT);   /* never dispatched */
    a.psap = ALM_PSAP_ACCEPTED;
    /* a duress's police response is cancelled only through the police, with a
     * supervisor's word (DURESS.md): no cancel passed on, no such close */
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_CONFLICT);
    assert_non_null(strstr(v.reason, "cancel"));
    a.cancel_requested = true;
    assert_int_equal(alm_decide(&a, &r, &v), 0);
    assert_string_equal(v.disposition, "cancelled_after_dispatch");
    a.state = ALM_CLOSED;
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_CONFLICT);   /* closed is closed */
}

static void lease_returns_to_the_queue(void **state)
{
    (void)state;
    struct alm_view a = duress();
    struct alm_verdict v;
    struct alm_request r = { .action = ALM_LEASE_EXPIRED };
    assert_int_equal(alm_decide(&a, &r, &v), ALM_E_CONFLICT);   /* nobody holds it */
    a.state = ALM_TAKEN;
    a.taken_by = "alice";
    a.escalated = true;
    assert_int_equal(alm_decide(&a, &r, &v), 0);
    assert_int_equal(v.state, ALM_ESCALATED);                    /* back as it was */
    assert_null(v.taken_by);
    a.state = ALM_DISPATCHED;                                    /* a dispatch stays */
    assert_int_equal(alm_decide(&a, &r, &v), 0);
    assert_int_equal(v.state, ALM_DISPATCHED);
    /* release by someone else: only a supervisor */
    struct alm_request rel = req(ALM_RELEASE, "bob", ALM_ROLE_OPERATOR);
    assert_int_equal(alm_decide(&a, &rel, &v), ALM_E_CONFLICT);
    rel.role = ALM_ROLE_SUPERVISOR;
    assert_int_equal(alm_decide(&a, &rel, &v), 0);
}

static void names_round_trip(void **state)
{
    (void)state;
    for (int s = 0; s < ALM_STATE_COUNT; s++) {
        enum alm_state o;
        assert_int_equal(alm_state_parse(alm_state_name((enum alm_state)s), &o), 0);
        assert_int_equal(o, s);
    }
    for (int a = 0; a < ALM_ACTION_COUNT; a++) {
        enum alm_action o;
        assert_int_equal(alm_action_parse(alm_action_name((enum alm_action)a), &o), 0);
        assert_int_equal(o, a);
    }
    enum alm_role role;
    assert_int_equal(alm_role_parse("supervisor", &role), 0);
    assert_int_equal(role, ALM_ROLE_SUPERVISOR);
    assert_int_equal(alm_role_parse("none", &role), ALM_E_INVALID);
    assert_int_equal(alm_role_parse("root", &role), ALM_E_INVALID);
    assert_true(alm_disposition_valid("test"));
    assert_false(alm_disposition_valid(NULL));
}

/* The queue order: alm_queue_rank and the SQL both stores apply agree, and a
 * registered account's duress is first among equals. */
static void queue_order_rank_and_sql_agree(void **state)
{
    (void)state;
    assert_true(alm_queue_rank(1, "duress") < alm_queue_rank(1, "unknown_account"));
    assert_true(alm_queue_rank(1, "unknown_account") < alm_queue_rank(2, "fire"));
    assert_true(alm_queue_rank(4, "burglary") < alm_queue_rank(4, "unknown_account"));
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE alarms (id INTEGER PRIMARY KEY,"
        " priority INT, kind TEXT, received_at_ms INT, test INT NOT NULL DEFAULT 0);"
        "INSERT INTO alarms (id, priority, kind, received_at_ms) VALUES"
        " (1,1,'unknown_account',100),(2,4,'burglary',50),"
        " (3,1,'duress',300),(4,2,'fire',10),(5,4,'unknown_account',5),(6,1,'holdup',300),"
        " (7,1,'unknown_account',1),(8,3,'panic',400);", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT id, priority, kind, received_at_ms FROM"
        " alarms a ORDER BY " ALM_QUEUE_ORDER_SQL("a."), -1, &st, NULL), SQLITE_OK);
    int prev_rank = -1;
    int64_t prev_ms = -1, prev_id = -1, first = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int rank = alm_queue_rank(sqlite3_column_int(st, 1),
                                  (const char *)sqlite3_column_text(st, 2));
        int64_t ms = sqlite3_column_int64(st, 3), id = sqlite3_column_int64(st, 0);
        if (!first)
            first = id;
        assert_true(rank > prev_rank || (rank == prev_rank && (ms > prev_ms ||
                    (ms == prev_ms && id > prev_id))));
        prev_rank = rank;
        prev_ms = ms;
        prev_id = id;
    }
    assert_int_equal(first, 3);   /* the registered duress, though received after others */
    sqlite3_finalize(st);
    /* an account on test: its duress, received first, comes after a real one */
    assert_int_equal(sqlite3_exec(db, "DELETE FROM alarms;"
        "INSERT INTO alarms VALUES (1,1,'duress',100,1),(2,1,'duress',200,0),(3,2,'fire',50,0);",
        NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT group_concat(id) FROM (SELECT id FROM"
        " alarms a ORDER BY " ALM_QUEUE_ORDER_SQL("a.") ")", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "2,1,3");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(raise_joins_only_same_priority_unrestored),
        cmocka_unit_test(duress_plan_never_calls_premises),
        cmocka_unit_test(take_is_exclusive),
        cmocka_unit_test(acting_needs_the_alarm_held),
        cmocka_unit_test(steps_tick_once_and_only_from_the_plan),
        cmocka_unit_test(dispatch_ticks_its_step_and_happens_once),
        cmocka_unit_test(test_alarm_has_no_dispatch_step),
        cmocka_unit_test(psap_in_order_with_its_fields),
        cmocka_unit_test(duress_cancel_needs_a_supervisor),
        cmocka_unit_test(close_needs_disposition_and_steps),
        cmocka_unit_test(lease_returns_to_the_queue),
        cmocka_unit_test(names_round_trip),
        cmocka_unit_test(queue_order_rank_and_sql_agree),
        cmocka_unit_test(police_finding_with_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
