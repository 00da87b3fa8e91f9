/*
 * core_tests.c — the panel core's tests, one body for two runners: cmocka on
 * the host (test_panel_core.c, ASan/UBSan) and the Cortex-M0 harness under
 * QEMU (tests/target/panel_target.c). Included, not compiled on its own.
 *
 * Covers: the code policy R1–R8, the constant-time lookup's answers, duress
 * (reports, priority, invisibility tick for tick, never withdrawn, lockout),
 * arming and zones (CP-01), persistence (A/B record, torn write, corrupt,
 * truncated, version, missing/wrong key) and bad input leaving storage as it was.
 * Never weaken an assertion to make a run pass.
 */
#include "tshim.h"
#include "panel_fixture.h"
#include "panel_internal.h"  /* white-box: record size, CRC-32 */
#include "../../data/panel_record_v1.h"  /* a v1 record written by the v1 store.c */

static struct fx F;
/* The keypad tests' first-run records and the persistence tests' decrypted
 * body share their RAM: no test uses both, and the M0 has 16 KiB. */
static union {
    struct fx_rec rec[FX_REC_MAX];
    uint8_t plain[PNL__BODY_SIZE];
} scratch;
#define saved (scratch.rec)
#define plain_a (scratch.plain)
static unsigned nsaved;
static uint8_t snap[2][FX_SLOT_BYTES];

/* Codes of the reference set-up (slots 1..7). */
#define C_MASTER  "1234"   /* slot 1: master, partitions 1+2 */
#define C_USER    "5790"   /* slot 2: user, partition 1 */
#define C_DURESS2 "8642"   /* slot 3: personal duress, linked to user 2 */
#define C_DURESS  "3071"   /* slot 4: general duress, partition 1 */
#define C_INST    "9517"   /* slot 5: installer */
#define C_ARMONLY "4419"   /* slot 6: arm-only, partition 1 */
#define C_USER_P2 "6655"   /* slot 7: user, partition 2 only */

static void zone(struct fx *f, unsigned z, uint8_t type, uint8_t part, uint8_t flags)
{
    struct pnl_zone_cfg c = { .type = type, .part = part, .flags = flags };
    CHECK_EQ(pnl_zone_config(&f->p, z, &c), PNL_OK);
}

static void user(struct fx *f, unsigned slot, const char *code, enum pnl_role role,
                 uint8_t parts, bool duress, unsigned link)
{
    struct pnl_policy_result r;
    unsigned got = 0;
    CHECK_EQ(pnl_user_set(&f->p, slot, code, strlen(code), role, parts, duress, link, &r, &got),
             PNL_OK);
    CHECK_EQ(got, slot);
}

/* Zones: 1 entry/exit, 2 interior, 3 instant, 4 fire, 5 hold-up, 6 panic,
 * 7 tamper, 8 interior (night), all partition 1; 9 entry/exit on partition 2. */
static void setup(struct fx *f)
{
    fx_init(f);
    zone(f, 1, PNL_ZONE_ENTRY_EXIT, 1, PNL_ZF_CHIME);
    zone(f, 2, PNL_ZONE_INTERIOR, 1, 0);
    zone(f, 3, PNL_ZONE_INSTANT, 1, 0);
    zone(f, 4, PNL_ZONE_FIRE, 1, 0);
    zone(f, 5, PNL_ZONE_HOLDUP, 1, 0);
    zone(f, 6, PNL_ZONE_PANIC, 1, 0);
    zone(f, 7, PNL_ZONE_TAMPER, 1, 0);
    zone(f, 8, PNL_ZONE_INTERIOR, 1, PNL_ZF_NIGHT);
    zone(f, 9, PNL_ZONE_ENTRY_EXIT, 2, 0);
    user(f, 1, C_MASTER, PNL_ROLE_MASTER, 0x03, false, 0);
    user(f, 2, C_USER, PNL_ROLE_USER, 0x01, false, 0);
    user(f, 3, C_DURESS2, PNL_ROLE_USER, 0x01, true, 2);
    user(f, 4, C_DURESS, PNL_ROLE_USER, 0x01, true, 0);
    user(f, 5, C_INST, PNL_ROLE_INSTALLER, 0x01, false, 0);
    user(f, 6, C_ARMONLY, PNL_ROLE_ARM_ONLY, 0x01, false, 0);
    user(f, 7, C_USER_P2, PNL_ROLE_USER, 0x02, false, 0);
    /* the 7 programming reports (CID 306) went to the station */
    CHECK_EQ(pnl_queue_count(&f->p), 7u);
    struct pnl_event e;
    while (pnl_queue_peek(&f->p, &e) == PNL_OK)
        CHECK_EQ(pnl_queue_ack(&f->p, e.id), PNL_OK);
    pnl_tick(&f->p, f->clk);
    f->nrec = 0;
}

/* Arms away with the user code, leaving through the door, fully armed. */
static void arm_away(struct fx *f)
{
    fx_keys(f, C_USER "#");
    CHECK_EQ(pnl_part_state(&f->p, 1), PNL_ST_EXIT);
    pnl_zone_set(&f->p, 1, true, f->clk);
    pnl_zone_set(&f->p, 1, false, f->clk);
    fx_run(f, 61000);
    CHECK_EQ(pnl_part_state(&f->p, 1), PNL_ST_ARMED);
    CHECK_EQ(pnl_part_mode(&f->p, 1), PNL_MODE_AWAY);
}

static void ack_all(struct fx *f)
{
    struct pnl_event e;
    while (pnl_queue_peek(&f->p, &e) == PNL_OK)
        CHECK_EQ(pnl_queue_ack(&f->p, e.id), PNL_OK);
}

static void save_records(const struct fx *f)
{
    memcpy(saved, f->rec, sizeof saved);
    nsaved = f->nrec;
}

/* The premises' view of two runs, tick for tick. */
static void check_same_records(const struct fx *f)
{
    CHECK(nsaved > 0);
    CHECK(nsaved < FX_REC_MAX);                             /* nothing cut off */
    CHECK_EQ(f->nrec, nsaved);
    for (unsigned i = 0; i < nsaved; i++) {
        CHECK_EQ(f->rec[i].tick, saved[i].tick);
        CHECK_EQ(f->rec[i].o.kind, saved[i].o.kind);
        CHECK_EQ(f->rec[i].o.part, saved[i].o.part);
        CHECK_EQ(f->rec[i].o.value, saved[i].o.value);
        CHECK_EQ(f->rec[i].o.value2, saved[i].o.value2);
    }
}

/* Every byte of the panel's state, padding included (struct copies keep it). */
static uint32_t pnl_crc(const struct pnl *p)
{
    return pnl_crc32(0, (const uint8_t *)p, sizeof *p);
}

static void snapshot(const struct fx *f) { memcpy(snap, f->slot, sizeof snap); }
static bool storage_unchanged(const struct fx *f) { return memcmp(snap, f->slot, sizeof snap) == 0; }

static bool has_hit(const struct pnl_policy_result *r, enum pnl_rule rule, unsigned slot)
{
    for (unsigned i = 0; i < r->hit_count; i++)
        if (r->hits[i].rule == rule && r->hits[i].slot == slot)
            return true;
    return false;
}

static struct pnl_policy_result check1(const char *code, bool duress, const char *other,
                                       bool other_duress, const struct pnl_layout *l)
{
    struct pnl_policy_code ex = { .slot = 1, .duress = other_duress };
    strcpy(ex.digits, other);
    struct pnl_policy_result r;
    CHECK_EQ(pnl_policy_check(code, strlen(code), duress, &ex, 1, l, &r), PNL_OK);
    return r;
}

/* ---- policy ---------------------------------------------------------- */

TEST(policy_rules_examples)
{
    /* DURESS.md's table, each against 1234 as a duress code. */
    static const struct { const char *code; enum pnl_rule rule; } ex[] = {
        { "1234", PNL_R1_EQUAL },
        { "1235", PNL_R2_ONE_EDIT }, { "1534", PNL_R2_ONE_EDIT }, { "1243", PNL_R2_ONE_EDIT },
        { "2134", PNL_R2_ONE_EDIT }, { "12345", PNL_R2_ONE_EDIT },
        { "12340", PNL_R3_PREFIX }, { "91234", PNL_R3_PREFIX },
        { "1236", PNL_R4_NUMERIC }, { "1232", PNL_R4_NUMERIC },
        { "4321", PNL_R6_SAME_DIGITS }, { "3412", PNL_R6_SAME_DIGITS },
    };
    for (unsigned i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        struct pnl_policy_result r = check1(ex[i].code, true, "1234", false, NULL);
        CHECK(!r.accepted);
        CHECK(has_hit(&r, ex[i].rule, 1));
    }
    struct pnl_policy_result r = check1("1301", true, "1299", false, NULL);
    CHECK(!r.accepted);
    CHECK(has_hit(&r, PNL_R4_NUMERIC, 1));          /* the carry */
    r = check1("1133", true, "1122", false, NULL);
    CHECK(has_hit(&r, PNL_R5_TWIN, 1));
    r = check1("5790", true, "1234", false, NULL);
    CHECK(r.accepted);
    CHECK_EQ(r.hit_total, 0);
    /* R2 is one edit, not two; R4 is 2 or less. */
    r = check1("1256", true, "1234", false, NULL);
    CHECK(!has_hit(&r, PNL_R2_ONE_EDIT, 1));
    r = check1("1237", true, "1234", false, NULL);
    CHECK(!has_hit(&r, PNL_R4_NUMERIC, 1));
    CHECK(has_hit(&r, PNL_R2_ONE_EDIT, 1));
    r = check1("1238", true, "1234", false, NULL);
    CHECK(!has_hit(&r, PNL_R4_NUMERIC, 1));
}

TEST(policy_r7_only_with_layout)
{
    struct pnl_layout l;
    CHECK_EQ(pnl_layout_parse("12,34,56,78,90", &l), PNL_OK);
    /* 1357 and 2468 press the same keys on a 12/34/56/78/90 keypad. */
    struct pnl_policy_result r = check1("2468", true, "1357", false, &l);
    CHECK(has_hit(&r, PNL_R7_SAME_KEYS, 1));
    r = check1("2468", true, "1357", false, NULL);
    CHECK(r.accepted);
    CHECK_EQ(pnl_layout_parse("12,34,56,78", &l), PNL_E_INVAL);
    CHECK_EQ(pnl_layout_parse("12,34,56,78,99", &l), PNL_E_INVAL);
}

TEST(policy_r8_weak)
{
    static const char *const weak[] = {
        "1111", "0000", "1212", "7777", "1004", "2000", "4444", "2222", "6969", "9999",
        "3333", "5555", "6666", "1122", "1313", "8888", "4321", "2001", "1010", "1234",
        "2580", "0852", "1397", "7931", "7410", "0147", "1478", "3698", "9874",
        "1940", "1987", "2040", "3456", "9876", "11111111", "345678", "87654",
    };
    for (unsigned i = 0; i < sizeof weak / sizeof weak[0]; i++)
        CHECK(pnl_code_is_weak(weak[i], strlen(weak[i])));
    static const char *const fine[] = { "1939", "2041", "5790", "8642", "3071", "13572468" };
    for (unsigned i = 0; i < sizeof fine / sizeof fine[0]; i++)
        CHECK(!pnl_code_is_weak(fine[i], strlen(fine[i])));
    /* Refused (no slot) for a duress code, a warning only for a user code. */
    struct pnl_policy_result r;
    CHECK_EQ(pnl_policy_check("2580", 4, true, NULL, 0, NULL, &r), PNL_OK);
    CHECK(!r.accepted);
    CHECK(has_hit(&r, PNL_R8_WEAK, 0));
    CHECK_EQ(pnl_policy_check("2580", 4, false, NULL, 0, NULL, &r), PNL_OK);
    CHECK(r.accepted);
    CHECK(r.weak_warning);
    CHECK_EQ(r.hit_total, 0);
}

TEST(policy_both_directions_and_format)
{
    /* A user code near a duress code is refused too; two user codes may be alike. */
    struct pnl_policy_result r = check1("1235", false, "1234", true, NULL);
    CHECK(!r.accepted);
    CHECK(has_hit(&r, PNL_R2_ONE_EDIT, 1));
    r = check1("1235", false, "1234", false, NULL);
    CHECK(r.accepted);
    CHECK_EQ(pnl_policy_check("123", 3, true, NULL, 0, NULL, &r), PNL_E_CODE_FORMAT);
    CHECK_EQ(pnl_policy_check("123456789", 9, true, NULL, 0, NULL, &r), PNL_E_CODE_FORMAT);
    CHECK_EQ(pnl_policy_check("12a4", 4, true, NULL, 0, NULL, &r), PNL_E_CODE_FORMAT);
    CHECK_EQ(strcmp(pnl_rule_id(PNL_R2_ONE_EDIT), "R2"), 0);
    CHECK_EQ(strcmp(pnl_rule_name(PNL_R3_PREFIX), "prefix-suffix"), 0);
}

TEST(policy_in_panel_across_partitions)
{
    setup(&F);
    snapshot(&F);
    struct pnl_policy_result r;
    /* A duress code for partition 2 against user 2's code on partition 1. */
    CHECK_EQ(pnl_user_set(&F.p, 10, "5791", 4, PNL_ROLE_USER, 0x02, true, 0, &r, NULL),
             PNL_E_POLICY);
    CHECK(has_hit(&r, PNL_R2_ONE_EDIT, 2));
    CHECK(has_hit(&r, PNL_R4_NUMERIC, 2));
    /* A user code on partition 2 against the duress code of slot 4. */
    CHECK_EQ(pnl_user_set(&F.p, 10, "3017", 4, PNL_ROLE_USER, 0x02, false, 0, &r, NULL),
             PNL_E_POLICY);
    CHECK(has_hit(&r, PNL_R2_ONE_EDIT, 4));
    /* Two equal user codes: the lookup could not tell them apart. */
    CHECK_EQ(pnl_user_set(&F.p, 10, C_USER, 4, PNL_ROLE_USER, 0x02, false, 0, &r, NULL),
             PNL_E_POLICY);
    CHECK(has_hit(&r, PNL_R1_EQUAL, 2));
    /* Nothing programmed; each refusal is reported (CID 306, rule and slot). */
    CHECK_EQ(F.p.users[9].len, 0);
    CHECK(!storage_unchanged(&F));
    CHECK_EQ(pnl_queue_count(&F.p), 3u);
    static const uint16_t want[3] = { PNL_PI_DURESS | PNL_PR_REFUSED_RULE << 12 | PNL_R2_ONE_EDIT << 8 | 2,
                                      PNL_PR_REFUSED_RULE << 12 | PNL_R2_ONE_EDIT << 8 | 4,
                                      PNL_PR_REFUSED_RULE << 12 | PNL_R1_EQUAL << 8 | 2 };
    for (unsigned i = 0; i < 3; i++) {
        struct pnl_event e;
        CHECK_EQ(pnl_queue_at(&F.p, i, &e), PNL_OK);
        CHECK(e.cid == PNL_CID_PROGRAM && e.qualifier == 1 && e.part == 2 && e.zone == 10);
        CHECK_EQ(e.info, want[i]);
    }
    /* Refusal at the keypad names rule and slot, and only that. */
    F.nrec = 0;
    fx_keys(&F, "*8" C_MASTER "#" "1000" "3072#");
    CHECK(F.nrec > 0);
    CHECK_EQ(F.rec[F.nrec - 1].o.kind, PNL_OUT_DISPLAY);
    CHECK_EQ(F.rec[F.nrec - 1].o.value, PNL_DISP_REFUSED);
    CHECK_EQ(F.rec[F.nrec - 1].o.value2, (PNL_R2_ONE_EDIT << 8) | 4);
    CHECK_EQ(F.p.users[9].len, 0);
}

/* ---- lookup ---------------------------------------------------------- */

static unsigned look(const struct fx *f, const char *c)
{
    uint8_t code[PNL_CODE_LEN_MAX];
    size_t n = strlen(c);
    for (unsigned k = 0; k < PNL_CODE_LEN_MAX; k++)
        code[k] = k < n ? (uint8_t)(c[k] - '0') : 0xFF;
    return pnl__lookup(f->p.users, PNL_USERS_MAX, code, (uint8_t)n);
}

TEST(lookup_answers)
{
    setup(&F);
    CHECK_EQ(look(&F, C_MASTER), 1);
    CHECK_EQ(look(&F, C_DURESS), 4);
    CHECK_EQ(look(&F, C_USER_P2), 7);
    CHECK_EQ(look(&F, "0000"), 0);
    CHECK_EQ(look(&F, "12345"), 0);
    CHECK_EQ(look(&F, "123"), 0);
    user(&F, PNL_USERS_MAX, "24681357", PNL_ROLE_USER, 1, false, 0);
    CHECK_EQ(look(&F, "24681357"), PNL_USERS_MAX);
    CHECK_EQ(look(&F, "2468135"), 0);
}

/* ---- duress ---------------------------------------------------------- */

TEST(duress_disarm_reports_first_as_linked_user)
{
    setup(&F);
    arm_away(&F);
    ack_all(&F);
    /* Routine traffic waiting: a periodic test. */
    fx_run(&F, 86400000ull - 61000);
    CHECK_EQ(fx_count_cid(&F, 602, 1), 1);
    fx_keys(&F, C_DURESS2 "#");
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_DISARMED);    /* it disarmed, as usual */
    struct pnl_event e;
    CHECK_EQ(pnl_queue_peek(&F.p, &e), PNL_OK);
    CHECK_EQ(e.cid, 121);
    CHECK_EQ(e.qualifier, 1);
    CHECK_EQ(e.part, 1);
    CHECK_EQ(e.zone, 2);                                    /* the linked user */
    CHECK_EQ(e.prio, 1);
    CHECK(strcmp(pnl_event_sia(&e), "HA") == 0);
    CHECK_EQ(pnl_queue_at(&F.p, 1, &e), PNL_OK);
    CHECK_EQ(e.cid, 602);                                   /* older, but routine */
    CHECK(fx_find_cid(&F, 401, &e));
    CHECK_EQ(e.qualifier, 1);
    CHECK_EQ(e.zone, 2);                                    /* opening as user 2 */
    struct pnl_history h;
    CHECK_EQ(pnl_history_get(&F.p, 0, &h), PNL_OK);
    CHECK_EQ(h.kind, PNL_H_DISARM);
    CHECK_EQ(h.who, 2);
    /* A general duress code arms too, and reports its own slot. */
    ack_all(&F);
    fx_keys(&F, C_DURESS "#");
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_EXIT);
    CHECK(fx_find_cid(&F, 121, &e));
    CHECK_EQ(e.zone, 4);
    fx_run(&F, 61000);
    CHECK(fx_find_cid(&F, 441, &e) || fx_find_cid(&F, 401, &e));
    CHECK_EQ(e.qualifier, 3);
    CHECK_EQ(e.zone, 4);
}

/* Runs a scenario with the normal or the duress code; keypad records compared. */
static void scenario(int which, bool duress)
{
    setup(&F);
    const char *code = duress ? C_DURESS2 "#" : C_USER "#";
    switch (which) {
    case 0: /* disarm while armed */
        arm_away(&F);
        F.nrec = 0;
        pnl_zone_set(&F.p, 1, true, F.clk);
        fx_run(&F, 5000);
        fx_keys(&F, code);
        break;
    case 1: /* arm */
        F.nrec = 0;
        fx_keys(&F, code);
        fx_run(&F, 61000);
        break;
    case 2: /* inside the abort window */
        arm_away(&F);
        F.nrec = 0;
        pnl_zone_set(&F.p, 3, true, F.clk);
        fx_run(&F, 5000);
        fx_keys(&F, code);
        fx_run(&F, 40000);
        break;
    case 3: /* inside the cancel window */
        arm_away(&F);
        F.nrec = 0;
        pnl_zone_set(&F.p, 3, true, F.clk);
        fx_run(&F, 35000);
        fx_keys(&F, code);
        fx_run(&F, 5000);
        break;
    case 5: /* at a partition the code may not use: refused either way */
        F.nrec = 0;
        fx_keys_at(&F, 2, code);
        fx_run(&F, 1000);
        break;
    case 4: /* during wrong-code lockout */
        arm_away(&F);
        fx_keys(&F, "0001#0002#0003#0004#0005#");
        F.nrec = 0;
        fx_keys(&F, code);
        fx_run(&F, 100000);
        break;
    default:
        break;
    }
}

#define C_DURESSM "7395"   /* duress_programming: slot 8, personal duress of the master */

/* *7 (delete a code) with the master's code or its personal duress code. */
static void prog_scenario(bool duress, const char *slot)
{
    setup(&F);
    user(&F, 8, C_DURESSM, PNL_ROLE_USER, 0x03, true, 1);
    F.nrec = 0;
    fx_keys(&F, duress ? "*7" C_DURESSM "#" : "*7" C_MASTER "#");
    fx_keys(&F, slot);
    fx_keys(&F, "#");
    fx_run(&F, 2000);
    fx_keys(&F, C_MASTER "#");   /* is the master code still there? */
    fx_run(&F, 2000);
}

/* A personal duress code used to program acts as its user: the same beeps and
 * refusals as the real code (deleting one's own slot is refused either way),
 * and it never deletes the user it stands for. */
TEST(duress_programming_acts_as_linked_user)
{
    static const char *const slots[] = { "01", "06" };
    for (unsigned k = 0; k < 2; k++) {
        prog_scenario(false, slots[k]);
        save_records(&F);
        CHECK_EQ(fx_count_cid(&F, 121, 0), 0);
        prog_scenario(true, slots[k]);
        CHECK_EQ(fx_count_cid(&F, 121, 0), 1);
        check_same_records(&F);
    }
}

TEST(duress_invisible_tick_for_tick)
{
    static struct pnl_history hist_normal[PNL_HISTORY_MAX];
    for (int which = 0; which <= 5; which++) {
        scenario(which, false);
        unsigned writes = F.writes;
        size_t bytes = F.bytes_written;
        save_records(&F);
        unsigned nh = 0;
        while (nh < PNL_HISTORY_MAX && pnl_history_get(&F.p, nh, &hist_normal[nh]) == PNL_OK)
            nh++;
        CHECK_EQ(fx_count_cid(&F, 121, 0), 0);
        scenario(which, true);
        CHECK_EQ(fx_count_cid(&F, 121, 0), 1);              /* it did report */
        check_same_records(&F);                             /* and nobody could see it */
        CHECK_EQ(F.writes, writes);
        CHECK_EQ(F.bytes_written, bytes);
        /* The keypad-visible history reads the same, entry for entry. */
        for (unsigned i = 0; i < nh; i++) {
            struct pnl_history h;
            CHECK_EQ(pnl_history_get(&F.p, i, &h), PNL_OK);
            CHECK_EQ(h.kind, hist_normal[i].kind);
            CHECK_EQ(h.part, hist_normal[i].part);
            CHECK_EQ(h.who, hist_normal[i].who);
            CHECK_EQ(h.mode, hist_normal[i].mode);
        }
        struct pnl_history extra;
        CHECK_EQ(pnl_history_get(&F.p, nh, &extra), PNL_E_NOENT);
    }
    /* The communicator ACKs everything (duress: one more event, one more ACK):
     * still the same storage writes, the same storage time. */
    for (int which = 0; which <= 5; which++) {
        scenario(which, false);
        ack_all(&F);
        F.nrec = 0;
        fx_run(&F, 20000);
        unsigned writes = F.writes;
        uint64_t busy = F.busy_us;
        scenario(which, true);
        ack_all(&F);
        F.nrec = 0;
        fx_run(&F, 20000);
        CHECK_EQ(F.writes, writes);
        CHECK_EQ(F.busy_us, busy);
    }
}

TEST(duress_not_withdrawn)
{
    /* Abort window: the burglary report still goes, and no 406. */
    scenario(2, true);
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_DISARMED);
    CHECK_EQ(fx_count_cid(&F, 131, 1), 1);
    CHECK_EQ(fx_count_cid(&F, 406, 0), 0);
    scenario(2, false);                                     /* control: aborted */
    CHECK_EQ(fx_count_cid(&F, 131, 0), 0);
    /* Cancel window: no 406 after a duress disarm... */
    scenario(3, true);
    CHECK_EQ(fx_count_cid(&F, 131, 1), 1);
    CHECK_EQ(fx_count_cid(&F, 406, 0), 0);
    /* ...and the normal code afterwards sends nothing that withdraws it. */
    pnl_zone_set(&F.p, 3, false, F.clk);
    fx_keys(&F, C_USER "#");
    fx_run(&F, 61000);
    fx_keys(&F, C_USER "#");
    CHECK_EQ(fx_count_cid(&F, 121, 1), 1);
    CHECK_EQ(fx_count_cid(&F, 121, 3), 0);                  /* no restore */
    CHECK_EQ(fx_count_cid(&F, 406, 0), 0);
    scenario(3, false);                                     /* control: cancelled */
    CHECK_EQ(fx_count_cid(&F, 406, 1), 1);
}

TEST(duress_during_lockout)
{
    scenario(4, true);
    /* Refused like any code: still armed, keypad says locked. */
    CHECK_EQ(fx_count_cid(&F, 461, 1), 1);
    CHECK_EQ(fx_count_cid(&F, 121, 1), 1);
    struct pnl_event e;
    CHECK_EQ(pnl_queue_peek(&F.p, &e), PNL_OK);
    CHECK_EQ(e.cid, 121);
    CHECK(fx_count_out(&F, PNL_OUT_DISPLAY, PNL_DISP_LOCKED) >= 1);
    /* A normal code during lockout does nothing either; after 90 s it works. */
    setup(&F);
    arm_away(&F);
    fx_keys(&F, "0001#0002#0003#0004#");
    CHECK(!F.p.parts[0].locked);
    fx_keys(&F, "0005#");
    CHECK(F.p.parts[0].locked);
    fx_keys(&F, C_USER "#");
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_ARMED);
    fx_run(&F, 90000);
    CHECK(!F.p.parts[0].locked);
    fx_keys(&F, C_USER "#");
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_DISARMED);
}

TEST(duress_ahead_of_full_queue)
{
    setup(&F);
    /* Fill with routine: arm, exit, disarm cycles queue 441/401 pairs. */
    for (unsigned i = 0; i < PNL_QUEUE_MAX; i++) {
        fx_keys(&F, C_USER "#");
        fx_run(&F, 60100);
        fx_keys(&F, C_USER "#");
    }
    CHECK_EQ(pnl_queue_count(&F.p), PNL_QUEUE_MAX);
    fx_keys(&F, C_DURESS "#");
    CHECK_EQ(pnl_queue_count(&F.p), PNL_QUEUE_MAX);
    struct pnl_event e;
    CHECK_EQ(pnl_queue_peek(&F.p, &e), PNL_OK);
    CHECK_EQ(e.cid, 121);
    CHECK(F.p.dropped >= 1);
}

/* A queue full of priority-1 events (the hold-up zone tripped over and over
 * with the line down) still takes the duress: it replaces the oldest unsent
 * non-duress event rather than being dropped. */
TEST(duress_into_queue_full_of_holdups)
{
    setup(&F);
    for (unsigned i = 0; i < 2 * PNL_QUEUE_MAX && pnl_queue_count(&F.p) < PNL_QUEUE_MAX; i++) {
        pnl_zone_set(&F.p, 5, true, F.clk);
        fx_run(&F, 200);
        pnl_zone_set(&F.p, 5, false, F.clk);
        fx_run(&F, 200);
    }
    CHECK_EQ(pnl_queue_count(&F.p), PNL_QUEUE_MAX);
    CHECK_EQ(fx_count_cid(&F, 121, 0), 0);
    fx_keys(&F, C_DURESS "#");
    CHECK_EQ(pnl_queue_count(&F.p), PNL_QUEUE_MAX);
    CHECK_EQ(fx_count_cid(&F, 121, 1), 1);
}

/* ---- the outbound queue ---------------------------------------------- */

TEST(queue_peek_sent_ack)
{
    setup(&F);
    arm_away(&F);
    ack_all(&F);
    fx_keys(&F, C_USER "#");
    struct pnl_event e, e2;
    CHECK_EQ(pnl_queue_peek(&F.p, &e), PNL_OK);
    CHECK_EQ(e.cid, 401);
    CHECK_EQ(pnl_queue_mark_sent(&F.p, e.id), PNL_OK);
    CHECK_EQ(pnl_queue_peek(&F.p, &e2), PNL_OK);           /* held until ACK */
    CHECK_EQ(e2.id, e.id);
    CHECK(e2.sent);
    CHECK_EQ(pnl_queue_ack(&F.p, e.id + 1000), PNL_E_NOENT);
    unsigned w = F.writes;
    CHECK_EQ(pnl_queue_ack(&F.p, e.id), PNL_OK);
    CHECK_EQ(F.writes, w);                                  /* the ACK writes nothing */
    CHECK_EQ(pnl_queue_peek(&F.p, &e2), PNL_E_QUEUE_EMPTY);
    /* A power cut before the flush: the event comes back, to be sent again. */
    fx_reinit_panel(&F);
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_OK);
    CHECK_EQ(pnl_queue_count(&F.p), 1);
    CHECK_EQ(pnl_queue_peek(&F.p, &e2), PNL_OK);
    CHECK_EQ(e2.id, e.id);
    CHECK(!e2.sent);
    CHECK_EQ(pnl_queue_ack(&F.p, e.id), PNL_OK);
    CHECK_EQ(F.writes, w);
    fx_run(&F, 60000);
    CHECK_EQ(F.writes, w);                                  /* time alone saves nothing */
    fx_keys(&F, "0000#");                                   /* the next save carries it */
    CHECK(F.writes > w);
    /* Persisted: a reload sees the queue as it was after the ACK. */
    fx_reinit_panel(&F);
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_OK);
    CHECK_EQ(pnl_queue_count(&F.p), 0);
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_DISARMED);
}

/* ---- arming and zones (CP-01) ---------------------------------------- */

TEST(arming_exit_entry_autostay)
{
    setup(&F);
    /* Nobody leaves: auto-stay, closing reported as stay (441). */
    fx_keys(&F, C_USER "#");
    fx_run(&F, 59000);
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_EXIT);
    fx_run(&F, 2000);
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_ARMED);
    CHECK_EQ(pnl_part_mode(&F.p, 1), PNL_MODE_STAY);
    CHECK_EQ(fx_count_cid(&F, 441, 3), 1);
    pnl_zone_set(&F.p, 2, true, F.clk);                     /* interior off in stay */
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_ARMED);
    pnl_zone_set(&F.p, 2, false, F.clk);
    fx_keys(&F, C_USER "#");
    /* Leaving through the door: away; entry delay; disarm in time: opening only. */
    ack_all(&F);
    arm_away(&F);
    CHECK_EQ(fx_count_cid(&F, 401, 3), 1);
    pnl_zone_set(&F.p, 1, true, F.clk);
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_ENTRY);
    pnl_zone_set(&F.p, 2, true, F.clk);                     /* follower follows */
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_ENTRY);
    fx_run(&F, 20000);
    fx_keys(&F, C_USER "#");
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_DISARMED);
    CHECK_EQ(fx_count_cid(&F, 401, 1), 1);
    CHECK_EQ(fx_count_cid(&F, 134, 0) + fx_count_cid(&F, 132, 0), 0);
}

TEST(arming_exit_restart_once)
{
    setup(&F);
    fx_keys(&F, C_USER "#");
    uint64_t end0 = F.p.parts[0].exit_end_ms;
    pnl_zone_set(&F.p, 1, true, F.clk);
    pnl_zone_set(&F.p, 1, false, F.clk);
    fx_run(&F, 30000);
    pnl_zone_set(&F.p, 1, true, F.clk);                     /* came back in: restart */
    CHECK(F.p.parts[0].exit_end_ms > end0);
    uint64_t end1 = F.p.parts[0].exit_end_ms;
    CHECK_EQ(end1, F.clk + 60000);
    pnl_zone_set(&F.p, 1, false, F.clk);
    fx_run(&F, 10000);
    pnl_zone_set(&F.p, 1, true, F.clk);                     /* only once */
    CHECK_EQ(F.p.parts[0].exit_end_ms, end1);
    pnl_zone_set(&F.p, 1, false, F.clk);
    fx_run(&F, 51000);
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_ARMED);
}

TEST(alarm_abort_report_cancel_siren)
{
    setup(&F);
    arm_away(&F);
    ack_all(&F);
    fx_run(&F, 120000);                                     /* past recent closing */
    pnl_zone_set(&F.p, 1, true, F.clk);
    fx_run(&F, 30100);                                      /* entry delay runs out */
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_ALARM);
    CHECK(pnl_siren_on(&F.p, 1));
    CHECK_EQ(fx_count_cid(&F, 134, 0), 0);                  /* abort window */
    fx_run(&F, 30000);
    CHECK_EQ(fx_count_cid(&F, 134, 1), 1);                  /* reported */
    CHECK_EQ(fx_count_cid(&F, 459, 0), 0);                  /* not a recent closing */
    fx_run(&F, 240000);
    CHECK(!pnl_siren_on(&F.p, 1));                          /* bell cut-off 4 min */
    fx_keys(&F, C_USER "#");                                /* inside 5 min: cancel */
    CHECK_EQ(fx_count_cid(&F, 406, 1), 1);
    struct pnl_event e;
    CHECK(fx_find_cid(&F, 406, &e));
    CHECK(strcmp(pnl_event_sia(&e), "OC") == 0);
    /* After the cancel window: no 406. */
    pnl_zone_set(&F.p, 1, false, F.clk);
    ack_all(&F);
    arm_away(&F);
    pnl_zone_set(&F.p, 3, true, F.clk);
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_ALARM);        /* instant zone */
    fx_run(&F, 30000 + 300000 + 1000);
    fx_keys(&F, C_USER "#");
    CHECK_EQ(fx_count_cid(&F, 131, 1), 1);
    CHECK_EQ(fx_count_cid(&F, 406, 0), 0);
}

TEST(exit_error_and_recent_closing)
{
    setup(&F);
    fx_keys(&F, C_USER "#");
    pnl_zone_set(&F.p, 1, true, F.clk);                     /* door left open */
    fx_run(&F, 60100);
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_ENTRY);
    fx_run(&F, 30000);
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_ALARM);
    fx_run(&F, 30000);
    CHECK_EQ(fx_count_cid(&F, 134, 1), 1);
    CHECK_EQ(fx_count_cid(&F, 374, 1), 1);
    CHECK_EQ(fx_count_cid(&F, 459, 1), 1);                  /* within 2 min of exit end */
    struct pnl_event e;
    CHECK(fx_find_cid(&F, 374, &e));
    CHECK(strcmp(pnl_event_sia(&e), "EA") == 0);
}

TEST(no_abort_delay_for_24h_zones)
{
    setup(&F);
    pnl_zone_set(&F.p, 5, true, F.clk);                     /* hold-up: silent */
    CHECK_EQ(fx_count_cid(&F, 122, 1), 1);
    CHECK_EQ(F.nrec, 0);
    pnl_zone_set(&F.p, 6, true, F.clk);                     /* panic */
    CHECK_EQ(fx_count_cid(&F, 123, 1), 1);
    CHECK(pnl_siren_on(&F.p, 1));
    fx_keys(&F, C_USER "#");                                /* the code silences, */
    CHECK(!pnl_siren_on(&F.p, 1));
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_DISARMED);     /* does not arm */
    pnl_zone_set(&F.p, 4, true, F.clk);                     /* fire */
    CHECK_EQ(fx_count_cid(&F, 110, 1), 1);
    CHECK_EQ(fx_count_out(&F, PNL_OUT_SIREN, 2), 1);
    pnl_zone_set(&F.p, 7, true, F.clk);                     /* tamper */
    CHECK_EQ(fx_count_cid(&F, 137, 1), 1);
    struct pnl_event e;
    CHECK_EQ(pnl_queue_peek(&F.p, &e), PNL_OK);
    CHECK_EQ(e.cid, 122);                                   /* priority 1 first */
    CHECK_EQ(pnl_queue_at(&F.p, 1, &e), PNL_OK);
    CHECK_EQ(e.cid, 110);
    CHECK_EQ(pnl_queue_at(&F.p, 2, &e), PNL_OK);
    CHECK_EQ(e.cid, 123);
    for (unsigned i = 0; i < pnl_queue_count(&F.p); i++) {
        CHECK_EQ(pnl_queue_at(&F.p, i, &e), PNL_OK);
        CHECK(pnl_event_sia(&e) != NULL);
    }
}

TEST(swinger_shutdown)
{
    setup(&F);
    arm_away(&F);
    ack_all(&F);
    for (int i = 0; i < 4; i++) {
        pnl_zone_set(&F.p, 3, true, F.clk);
        fx_run(&F, 31000);
        pnl_zone_set(&F.p, 3, false, F.clk);
    }
    CHECK_EQ(fx_count_cid(&F, 131, 1), 2);                  /* default: 2 trips */
}

TEST(modes_stay_night_instant_bypass_chime)
{
    setup(&F);
    fx_keys(&F, "*2" C_USER "#");                           /* night */
    fx_run(&F, 61000);
    CHECK_EQ(pnl_part_mode(&F.p, 1), PNL_MODE_NIGHT);
    pnl_zone_set(&F.p, 2, true, F.clk);                     /* plain interior: off */
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_ARMED);
    pnl_zone_set(&F.p, 8, true, F.clk);                     /* night interior: on */
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_ALARM);
    fx_keys(&F, C_USER "#");
    pnl_zone_set(&F.p, 2, false, F.clk);
    pnl_zone_set(&F.p, 8, false, F.clk);
    fx_keys(&F, "*3" C_USER "#");                           /* instant */
    fx_run(&F, 61000);
    CHECK_EQ(pnl_part_mode(&F.p, 1), PNL_MODE_INSTANT);
    pnl_zone_set(&F.p, 1, true, F.clk);                     /* no entry delay */
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_ALARM);
    fx_keys(&F, C_USER "#");
    pnl_zone_set(&F.p, 1, false, F.clk);
    /* Not ready with an instant zone open; bypass it and arm. */
    pnl_zone_set(&F.p, 3, true, F.clk);
    fx_keys(&F, "*1" C_USER "#");
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_DISARMED);
    CHECK(fx_count_out(&F, PNL_OUT_DISPLAY, PNL_DISP_NOT_READY) >= 1);
    fx_keys(&F, "*5" C_USER "#03#");
    CHECK(F.p.zones[2].bypass);
    fx_keys(&F, "*1" C_USER "#");
    fx_run(&F, 61000);
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_ARMED);
    CHECK_EQ(pnl_part_mode(&F.p, 1), PNL_MODE_STAY);
    fx_keys(&F, C_USER "#");
    /* Chime: toggled with *6#, sounds for chime zones while disarmed. */
    F.nrec = 0;
    pnl_zone_set(&F.p, 1, true, F.clk);
    CHECK_EQ(fx_count_out(&F, PNL_OUT_CHIME, 1), 0);
    pnl_zone_set(&F.p, 1, false, F.clk);
    fx_keys(&F, "*6#");
    pnl_zone_set(&F.p, 1, true, F.clk);
    CHECK_EQ(fx_count_out(&F, PNL_OUT_CHIME, 1), 1);
}

TEST(roles_and_partitions)
{
    setup(&F);
    fx_keys(&F, C_ARMONLY "#");                             /* arm-only arms */
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_EXIT);
    fx_keys(&F, C_ARMONLY "#");                             /* but cannot disarm */
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_EXIT);
    fx_keys(&F, C_MASTER "#");
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_DISARMED);
    fx_keys(&F, C_INST "#");                                /* installer does not arm */
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_DISARMED);
    fx_keys(&F, C_USER_P2 "#");                             /* partition 2 code on 1 */
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_DISARMED);
    fx_keys_at(&F, 2, C_USER_P2 "#");
    CHECK_EQ(pnl_part_state(&F.p, 2), PNL_ST_EXIT);
    /* The partition-1 duress code at partition 2's keypad: refused, still reported. */
    fx_keys_at(&F, 2, C_DURESS "#");
    CHECK_EQ(pnl_part_state(&F.p, 2), PNL_ST_EXIT);
    CHECK_EQ(fx_count_cid(&F, 121, 1), 1);
}

TEST(keypad_programming)
{
    setup(&F);
    /* Master adds user 12 (weak code: accepted with a warning), then deletes it. */
    F.nrec = 0;
    fx_keys(&F, "*7" C_MASTER "#" "12" "2580#");
    CHECK_EQ(F.p.users[11].len, 4);
    CHECK_EQ(F.p.users[11].role, PNL_ROLE_USER);
    CHECK_EQ(fx_count_out(&F, PNL_OUT_DISPLAY, PNL_DISP_WEAK), 1);
    fx_keys(&F, "*7" C_MASTER "#" "12#");
    CHECK_EQ(F.p.users[11].len, 0);
    /* A user may not program. */
    fx_keys(&F, "*7" C_USER "#" "12" "7351#");
    CHECK_EQ(F.p.users[11].len, 0);
    /* Master programs a personal duress code for user 2 from the keypad. */
    fx_keys(&F, "*8" C_MASTER "#" "13" "02" "61538#");
    CHECK_EQ(F.p.users[12].len, 5);
    CHECK(F.p.users[12].duress);
    CHECK_EQ(F.p.users[12].link, 2);
    /* Installer sets the exit delay; out of range is refused and stores nothing. */
    fx_keys(&F, "*9" C_INST "#" "01" "90#");
    CHECK_EQ(F.p.cfg.exit_delay_s, 90);
    snapshot(&F);
    F.nrec = 0;
    fx_keys(&F, "*9" C_INST "#" "01" "300#");
    CHECK_EQ(F.p.cfg.exit_delay_s, 90);
    CHECK_EQ(fx_count_out(&F, PNL_OUT_ERR_BEEP, 0), 1);
    /* The master cannot change settings. */
    fx_keys(&F, "*9" C_MASTER "#" "01" "120#");
    CHECK_EQ(F.p.cfg.exit_delay_s, 90);
}

TEST(periodic_test_report)
{
    setup(&F);
    fx_run(&F, 86400000ull - 1000);
    CHECK_EQ(fx_count_cid(&F, 602, 0), 0);
    fx_run(&F, 2000);
    CHECK_EQ(fx_count_cid(&F, 602, 1), 1);
    struct pnl_event e;
    CHECK(fx_find_cid(&F, 602, &e));
    CHECK(strcmp(pnl_event_sia(&e), "RP") == 0);
}

/* ---- settings and bad input ------------------------------------------ */

TEST(settings_ranges_refused_unchanged)
{
    setup(&F);
    snapshot(&F);
    struct pnl_config c0 = F.p.cfg;
    static const struct { unsigned set; uint32_t bad_lo, bad_hi; } r[] = {
        { PNL_SET_EXIT_DELAY, 44, 256 }, { PNL_SET_ENTRY_DELAY, 29, 241 },
        { PNL_SET_ABORT_WINDOW, 14, 46 }, { PNL_SET_CANCEL_WINDOW, 299, 3601 },
        { PNL_SET_SWINGER, 0, 7 }, { PNL_SET_LOCKOUT_TRIES, 0, 11 },
        { PNL_SET_LOCKOUT, 89, 3601 }, { PNL_SET_SIREN_LIMIT, 239, 901 },
        { PNL_SET_TEST_INTERVAL, 3599, 2592001 }, { PNL_SET_EXIT_RESTART, 2, 2 },
    };
    for (unsigned i = 0; i < sizeof r / sizeof r[0]; i++) {
        CHECK_EQ(pnl_set_setting(&F.p, r[i].set, r[i].bad_lo), PNL_E_RANGE);
        CHECK_EQ(pnl_set_setting(&F.p, r[i].set, r[i].bad_hi), PNL_E_RANGE);
    }
    /* entry 40 + abort 30 > 60 (UL) */
    CHECK_EQ(pnl_set_setting(&F.p, PNL_SET_ENTRY_DELAY, 40), PNL_E_RANGE);
    CHECK_EQ(pnl_set_setting(&F.p, 99, 1), PNL_E_INVAL);
    CHECK(storage_unchanged(&F));
    CHECK_EQ(memcmp(&c0, &F.p.cfg, sizeof c0), 0);
    CHECK_EQ(pnl_set_setting(&F.p, PNL_SET_ENTRY_DELAY, 30), PNL_OK);
    CHECK_EQ(pnl_set_setting(&F.p, PNL_SET_ABORT_WINDOW, 15), PNL_OK);
    CHECK_EQ(pnl_set_setting(&F.p, PNL_SET_ENTRY_DELAY, 45), PNL_OK);
    struct pnl_zone_cfg z = { .type = 99, .part = 1 };
    CHECK_EQ(pnl_zone_config(&F.p, 10, &z), PNL_E_RANGE);
    z.type = PNL_ZONE_INSTANT;
    z.part = PNL_PARTS_MAX + 1;
    CHECK_EQ(pnl_zone_config(&F.p, 10, &z), PNL_E_RANGE);
    CHECK_EQ(pnl_zone_config(&F.p, PNL_ZONES_MAX + 1, &z), PNL_E_SLOT);
}

TEST(bad_codes_full_table_unchanged)
{
    setup(&F);
    snapshot(&F);
    struct pnl_policy_result r;
    CHECK_EQ(pnl_user_set(&F.p, 20, "123", 3, PNL_ROLE_USER, 1, false, 0, &r, NULL), PNL_E_CODE_FORMAT);
    CHECK_EQ(pnl_user_set(&F.p, 20, "123456789", 9, PNL_ROLE_USER, 1, false, 0, &r, NULL), PNL_E_CODE_FORMAT);
    CHECK_EQ(pnl_user_set(&F.p, 20, "12#4", 4, PNL_ROLE_USER, 1, false, 0, &r, NULL), PNL_E_CODE_FORMAT);
    CHECK_EQ(pnl_user_set(&F.p, 20, "7351", 4, PNL_ROLE_USER, 0, false, 0, &r, NULL), PNL_E_INVAL);
    CHECK_EQ(pnl_user_set(&F.p, 99, "7351", 4, PNL_ROLE_USER, 1, false, 0, &r, NULL), PNL_E_SLOT);
    CHECK_EQ(pnl_user_set(&F.p, 20, "7351", 4, PNL_ROLE_USER, 1, true, 4, &r, NULL), PNL_E_SLOT);
    CHECK(storage_unchanged(&F));
    CHECK_EQ(F.p.users[19].len, 0);
    /* Fill the table with distinct codes, then one more. */
    unsigned n = 0;
    for (unsigned s = 8; s <= PNL_USERS_MAX; s++) {
        char c[6] = { '7', (char)('0' + s / 10), (char)('0' + s % 10), '5', '8', 0 };
        user(&F, s, c, PNL_ROLE_USER, 1, false, 0);
        n++;
    }
    CHECK_EQ(n, PNL_USERS_MAX - 7);
    snapshot(&F);
    CHECK_EQ(pnl_user_set(&F.p, 0, "71234", 5, PNL_ROLE_USER, 1, false, 0, &r, NULL), PNL_E_FULL);
    CHECK(storage_unchanged(&F));
}

/* ---- persistence ----------------------------------------------------- */

/* Where the fields sit in a v2 body once decrypted (store.c walk_body). */
#define PB_CFG    16u
#define PB_USERS  (PB_CFG + 35u)
#define PB_ZONES  (PB_USERS + PNL_USERS_MAX * 8u)
#define PB_PARTS  (PB_ZONES + PNL_ZONES_MAX * 4u)
#define PB_QLEN   (PB_PARTS + PNL_PARTS_MAX * 6u)
#define PB_NEXTID (PB_QLEN + 1u)
#define PB_QUEUE  (PB_QLEN + 9u)
#define PB_HIST   (PB_QUEUE + PNL_QUEUE_MAX * 11u)
#define PB_KEYS   (PB_HIST + 2u + PNL_HISTORY_MAX * 5u)   /* keys, AC delay, troubles */
#define PB_INFO   (PB_KEYS + 5u)                          /* report details */
#define PB_PAD    (PB_INFO + PNL_QUEUE_MAX * 2u)
_Static_assert(PB_PAD == PNL__BODY_V2_FIELDS && PNL__BODY_SIZE - PB_PAD < 16u, "v2 body map");


static void put_crc(uint8_t *at, uint32_t c)
{
    for (int k = 0; k < 4; k++)
        at[k] = (uint8_t)(c >> (8 * k));
}

/* Opens a stored v2 record with the fixture's key: CBC from a zero IV. */
static void rec_open(struct fx *f, const uint8_t *rec, uint8_t *plain)
{
    uint8_t chain[16] = { 0 };
    for (size_t o = 0; o < PNL__BODY_SIZE; o += 16) {
        uint8_t b[16];
        memcpy(b, rec + 32 + o, 16);
        CHECK_EQ(fx_dec(&f->key, b), 0);
        for (int i = 0; i < 16; i++) {
            plain[o + i] = (uint8_t)(b[i] ^ chain[i]);
            chain[i] = rec[32 + o + i];
        }
    }
}

/* Encrypts `plain` back into the record and sets both CRCs right. */
static void rec_seal(struct fx *f, uint8_t *rec, const uint8_t *plain)
{
    uint8_t chain[16] = { 0 };
    for (size_t o = 0; o < PNL__BODY_SIZE; o += 16) {
        for (int i = 0; i < 16; i++)
            chain[i] ^= plain[o + i];
        CHECK_EQ(fx_enc(&f->key, chain), 0);
        memcpy(rec + 32 + o, chain, 16);
    }
    put_crc(rec + 16, pnl_crc32(0, rec + 32, PNL__BODY_SIZE));
    put_crc(rec + 28, pnl_crc32(0, rec, 28));
}

/* 1121 (duress, new) entries in a decrypted body's queue. */
static unsigned plain_duress(const uint8_t *plain)
{
    unsigned n = 0;
    for (unsigned i = 0; i < plain[PB_QLEN]; i++) {
        const uint8_t *e = plain + PB_QUEUE + 11u * i;
        if (e[0] == 1 && (e[1] | e[2] << 8) == 121)
            n++;
    }
    return n;
}

static uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

TEST(persist_roundtrip_encrypted)
{
    setup(&F);
    CHECK_EQ(pnl_record_size(), 32u + PNL__BODY_SIZE);
    user(&F, 20, "13572468", PNL_ROLE_USER, 1, false, 0);
    unsigned w0 = F.writes;
    size_t b0 = F.bytes_written;
    fx_keys(&F, "0000#");                                   /* a wrong code: one save */
    CHECK_EQ(F.bytes_written - b0, pnl_record_size());
    unsigned per_save = F.writes - w0;
    fx_keys(&F, C_USER "#");                                /* right code: same save */
    CHECK_EQ(F.writes - w0, 2 * per_save);
    CHECK_EQ(F.bytes_written - b0, 2 * pnl_record_size());
    /* No code in the clear: the BCD of 13572468 appears in neither slot. */
    static const uint8_t bcd[4] = { 0x13, 0x57, 0x24, 0x68 };
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i + 4 <= FX_SLOT_BYTES; i++)
            CHECK(memcmp(F.slot[s] + i, bcd, 4) != 0);
    struct pnl_config cfg = F.p.cfg;
    cfg.exit_delay_s = 120;
    CHECK_EQ(pnl_set_config(&F.p, &cfg), PNL_OK);
    unsigned qn = pnl_queue_count(&F.p);
    fx_reinit_panel(&F);
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_OK);
    CHECK_EQ(F.p.cfg.exit_delay_s, 120);
    CHECK_EQ(pnl_queue_count(&F.p), qn);
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_ARMED);       /* armed comes back armed */
    CHECK_EQ(look(&F, "13572468"), 20);
    CHECK_EQ(look(&F, C_DURESS2), 3);
    CHECK_EQ(F.p.users[2].link, 2);
    CHECK_EQ(F.p.zones[8].cfg.part, 2);
    struct pnl_history h;
    CHECK_EQ(pnl_history_get(&F.p, 0, &h), PNL_OK);
    CHECK_EQ(h.kind, PNL_H_ARM);
    CHECK_EQ(h.who, 2);
}

TEST(persist_torn_write_keeps_previous)
{
    /* Cut the save at several points: in the body, at its end, in the header. */
    static const long cuts[] = { 0, 1, 40, 700, 1405, 1406, 1420 };
    for (unsigned i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        setup(&F);
        CHECK_EQ(F.p.users[19].len, 0);
        snapshot(&F);
        F.fail_after = cuts[i];
        struct pnl_policy_result r;
        CHECK_EQ(pnl_user_set(&F.p, 20, "73515", 5, PNL_ROLE_USER, 1, false, 0, &r, NULL),
                 PNL_E_STORAGE);
        CHECK_EQ(F.p.users[19].len, 0);                     /* not kept: reverted */
        F.fail_after = -1;
        fx_reinit_panel(&F);
        int e = pnl_load(&F.p, F.clk);
        /* A cut before any byte changed damages nothing, and load says nothing;
         * from 40 bytes on the slot is damaged and load says it fell back. */
        bool damaged = !storage_unchanged(&F);
        CHECK(damaged || cuts[i] < 40);
        CHECK_EQ(e, damaged ? PNL_LOAD_RECOVERED : PNL_OK);
        CHECK_EQ(F.p.users[19].len, 0);
        CHECK_EQ(look(&F, C_USER_P2), 7);                   /* the previous state */
        CHECK_EQ(F.p.zones[8].cfg.type, PNL_ZONE_ENTRY_EXIT);
        /* and the next save goes on from there */
        user(&F, 20, "73515", PNL_ROLE_USER, 1, false, 0);
        fx_reinit_panel(&F);
        CHECK_EQ(pnl_load(&F.p, F.clk), PNL_OK);
        CHECK_EQ(look(&F, "73515"), 20);
    }
}

/* A record with a valid CRC but a partition state the panel never saves
 * (entry, exit, alarm) is refused as corrupt: it would start an alarm with no
 * zone behind it. */
TEST(persist_refuses_unsaved_states)
{
    setup(&F);
    CHECK_EQ(pnl__check_loaded(&F.p), PNL_OK);
    const uint8_t forged[] = { PNL_ST_EXIT, PNL_ST_ENTRY, PNL_ST_ALARM };
    for (unsigned k = 0; k < sizeof forged; k++) {
        setup(&F);
        F.p.parts[0].state = forged[k];
        CHECK_EQ(pnl__check_loaded(&F.p), PNL_E_CORRUPT);
    }
    setup(&F);
    F.p.parts[0].state = PNL_ST_ARMED;
    CHECK_EQ(pnl__check_loaded(&F.p), PNL_OK);
}

TEST(persist_corrupt_truncated_version_empty)
{
    fx_init(&F);
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_E_EMPTY);
    setup(&F);
    uint32_t before = pnl_crc(&F.p);  /* a fingerprint: a copy is too big for the M0 */
    /* Both slots damaged: corrupt, and p untouched. */
    F.slot[0][100] ^= 0x01;
    F.slot[1][200] ^= 0x80;
    snapshot(&F);
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_E_CORRUPT);
    CHECK_EQ(pnl_crc(&F.p), before);
    CHECK(storage_unchanged(&F));
    /* One slot damaged: the other loads, and it says so. */
    F.slot[0][100] ^= 0x01;
    int e = pnl_load(&F.p, F.clk);
    CHECK(e == PNL_LOAD_RECOVERED);
    /* Truncated: the slot holds fewer bytes than the record. */
    setup(&F);
    F.slot_len[0] = F.slot_len[1] = 600;
    before = pnl_crc(&F.p);
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_E_TRUNCATED);
    CHECK_EQ(pnl_crc(&F.p), before);
    /* A header that claims a shorter body. */
    setup(&F);
    for (int s = 0; s < 2; s++) {
        F.slot[s][12] = 10;
        F.slot[s][13] = 0;
        uint32_t c = pnl_crc32(0, F.slot[s], 28);
        for (int k = 0; k < 4; k++)
            F.slot[s][28 + k] = (uint8_t)(c >> (8 * k));
    }
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_E_TRUNCATED);
    /* Another version (1 and 2 are read). */
    setup(&F);
    for (int s = 0; s < 2; s++) {
        F.slot[s][4] = 3;
        uint32_t c = pnl_crc32(0, F.slot[s], 28);
        for (int k = 0; k < 4; k++)
            F.slot[s][28 + k] = (uint8_t)(c >> (8 * k));
    }
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_E_VERSION);
    /* Checksums right, a field impossible (zone 1 in partition 0): refused. */
    setup(&F);
    for (int s = 0; s < 2; s++) {
        rec_open(&F, F.slot[s], plain_a);
        CHECK_EQ(plain_a[PB_ZONES + 1], 1);
        plain_a[PB_ZONES + 1] = 0;
        rec_seal(&F, F.slot[s], plain_a);
    }
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_E_CORRUPT);
    CHECK_EQ(F.p.users[0].len, 0);                          /* afresh, not half-loaded */
    /* Checksums right, the v2 padding not zero: not written by this core. */
    setup(&F);
    for (int s = 0; s < 2; s++) {
        rec_open(&F, F.slot[s], plain_a);
        CHECK_EQ(plain_a[PNL__BODY_SIZE - 1], 0);
        plain_a[PNL__BODY_SIZE - 1] = 0x40;
        rec_seal(&F, F.slot[s], plain_a);
    }
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_E_CORRUPT);
    CHECK_EQ(F.p.users[0].len, 0);
}

/* Both slots of storage as the v1 writer left them (tests/data). */
static void load_v1_fixture(struct fx *f)
{
    fx_init(f);
    CHECK_EQ(PANEL_RECORD_V1_SIZE, 32u + PNL__BODY_V1_SIZE);
    for (int s = 0; s < 2; s++) {
        memcpy(f->slot[s], panel_record_v1[s], PANEL_RECORD_V1_SIZE);
        CHECK_EQ(f->slot[s][4], 1);                          /* written as version 1 */
    }
}

/* The v1 record: every field comes back, duress still works, and the next
 * save writes v2 into the other slot, which loads again. */
TEST(persist_migrates_v1)
{
    load_v1_fixture(&F);
    snapshot(&F);
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_OK);
    CHECK(storage_unchanged(&F));                           /* loading never writes */
    CHECK_EQ(F.writes, 0);
    CHECK_EQ(F.p.save_slot, 0);
    CHECK_EQ(F.p.save_seq, 25);
    CHECK_EQ(F.p.cfg.exit_delay_s, 45);
    CHECK_EQ(F.p.cfg.entry_delay_s, 30);
    /* users, by their codes */
    CHECK_EQ(look(&F, C_MASTER), 1);
    CHECK_EQ(look(&F, C_USER), 2);
    CHECK_EQ(look(&F, C_DURESS2), 3);
    CHECK_EQ(look(&F, C_DURESS), 4);
    CHECK_EQ(look(&F, C_INST), 5);
    CHECK_EQ(look(&F, C_ARMONLY), 6);
    CHECK_EQ(look(&F, C_USER_P2), 7);
    CHECK_EQ(look(&F, "1235"), 0);
    CHECK_EQ(F.p.users[0].role, PNL_ROLE_MASTER);
    CHECK_EQ(F.p.users[0].parts, 0x03);
    CHECK_EQ(F.p.users[2].duress, 1);
    CHECK_EQ(F.p.users[2].link, 2);
    CHECK_EQ(F.p.users[3].duress, 1);
    CHECK_EQ(F.p.users[3].link, 0);
    CHECK_EQ(F.p.users[4].role, PNL_ROLE_INSTALLER);
    CHECK_EQ(F.p.users[5].role, PNL_ROLE_ARM_ONLY);
    CHECK_EQ(F.p.users[6].parts, 0x02);
    CHECK_EQ(F.p.users[7].len, 0);
    /* zones and partitions */
    CHECK_EQ(F.p.zones[0].cfg.type, PNL_ZONE_ENTRY_EXIT);
    CHECK_EQ(F.p.zones[0].cfg.flags, PNL_ZF_CHIME);
    CHECK_EQ(F.p.zones[4].cfg.type, PNL_ZONE_HOLDUP);
    CHECK_EQ(F.p.zones[7].cfg.flags, PNL_ZF_NIGHT);
    CHECK_EQ(F.p.zones[8].cfg.part, 2);
    CHECK_EQ(F.p.zones[9].cfg.type, PNL_ZONE_UNUSED);
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_ARMED);
    CHECK_EQ(pnl_part_mode(&F.p, 1), PNL_MODE_AWAY);
    CHECK_EQ(pnl_part_state(&F.p, 2), PNL_ST_ARMED);
    CHECK_EQ(pnl_part_state(&F.p, 3), PNL_ST_DISARMED);
    /* the queue: ids, priorities, the 1121 ahead of routine traffic */
    static const struct { uint8_t q; uint16_t cid; uint8_t part; uint16_t zone; uint8_t prio; }
        want[5] = { { 3, 401, 1, 2, 6 }, { 1, 121, 1, 2, 1 }, { 1, 401, 1, 2, 6 },
                    { 3, 401, 1, 2, 6 }, { 3, 401, 2, 7, 6 } };
    CHECK_EQ(F.p.next_event_id, 6);
    CHECK_EQ(pnl_queue_count(&F.p), 5);
    for (unsigned i = 0; i < 5; i++) {
        const struct pnl_event *e = &F.p.queue[i];
        CHECK_EQ(e->qualifier, want[i].q);
        CHECK_EQ(e->cid, want[i].cid);
        CHECK_EQ(e->part, want[i].part);
        CHECK_EQ(e->zone, want[i].zone);
        CHECK_EQ(e->prio, want[i].prio);
        CHECK_EQ(e->id, i + 1);
        CHECK_EQ(e->sent, 0);
    }
    struct pnl_event ev;
    CHECK_EQ(pnl_queue_peek(&F.p, &ev), PNL_OK);
    CHECK_EQ(ev.cid, 121);
    CHECK_EQ(ev.id, 2);
    /* history, newest first */
    static const uint8_t hist[4][4] = { { PNL_H_ARM, 2, 7, PNL_MODE_AWAY },
                                        { PNL_H_ARM, 1, 2, PNL_MODE_AWAY },
                                        { PNL_H_DISARM, 1, 2, 0 },
                                        { PNL_H_ARM, 1, 2, PNL_MODE_AWAY } };
    for (unsigned i = 0; i < 4; i++) {
        struct pnl_history h;
        CHECK_EQ(pnl_history_get(&F.p, i, &h), PNL_OK);
        CHECK_EQ(h.kind, hist[i][0]);
        CHECK_EQ(h.part, hist[i][1]);
        CHECK_EQ(h.who, hist[i][2]);
        CHECK_EQ(h.mode, hist[i][3]);
    }
    struct pnl_history h;
    CHECK_EQ(pnl_history_get(&F.p, 4, &h), PNL_E_NOENT);

    /* Duress still works on the migrated codes; the code entry saves once, as v2. */
    F.nwlog = 0;
    fx_keys(&F, C_DURESS2 "#");
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_DISARMED);
    CHECK_EQ(fx_count_cid(&F, 121, 1), 2);
    CHECK_EQ(F.p.queue[5].cid, 121);
    CHECK_EQ(F.p.queue[5].zone, 2);                         /* as the linked user */
    CHECK_EQ(F.p.queue[5].prio, 1);
    CHECK_EQ(F.p.queue[5].id, 6);
    CHECK(F.nwlog > 0);
    CHECK_EQ(F.p.save_slot, 1);
    CHECK_EQ(F.p.save_seq, 26);
    CHECK_EQ(F.slot[1][4], 2);                              /* the other slot, now v2 */
    CHECK_EQ(le32(F.slot[1] + 12), PNL__BODY_SIZE);
    CHECK_EQ(memcmp(F.slot[0], panel_record_v1[0], PANEL_RECORD_V1_SIZE), 0);
    uint32_t next = F.p.next_event_id;
    unsigned qn = pnl_queue_count(&F.p);
    CHECK(next > 7);

    /* The v2 record loads again, as itself. */
    fx_reinit_panel(&F);
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_OK);
    CHECK_EQ(F.p.save_slot, 1);
    CHECK_EQ(F.p.next_event_id, next);
    CHECK_EQ(pnl_queue_count(&F.p), qn);
    CHECK_EQ(fx_count_cid(&F, 121, 1), 2);
    CHECK_EQ(look(&F, C_DURESS2), 3);
    CHECK_EQ(F.p.users[2].link, 2);
    CHECK_EQ(F.p.cfg.exit_delay_s, 45);
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_DISARMED);
    CHECK_EQ(pnl_part_state(&F.p, 2), PNL_ST_ARMED);
    rec_open(&F, F.slot[1], plain_a);
    CHECK_EQ(plain_duress(plain_a), 2);
    CHECK_EQ(le32(plain_a + PB_NEXTID), next);
    /* and the save after that replaces the v1 record with v2 */
    ack_all(&F);
    fx_keys(&F, "0000#");
    CHECK_EQ(F.p.save_slot, 0);
    CHECK_EQ(F.slot[0][4], 2);
    fx_reinit_panel(&F);
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_OK);
    CHECK_EQ(pnl_queue_count(&F.p), 0);
    CHECK_EQ(look(&F, C_USER), 2);
}

/* A damaged v1 record gets the same answers as a damaged v2 one. */
TEST(persist_v1_damaged)
{
    load_v1_fixture(&F);
    F.slot[0][700] ^= 0x10;                                 /* the newer slot */
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_LOAD_RECOVERED);
    CHECK_EQ(F.p.save_seq, 24);                             /* the one before it */
    CHECK_EQ(look(&F, C_DURESS2), 3);
    load_v1_fixture(&F);
    F.slot[0][700] ^= 0x10;
    F.slot[1][40] ^= 0x01;
    uint32_t before = pnl_crc(&F.p);
    snapshot(&F);
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_E_CORRUPT);
    CHECK_EQ(pnl_crc(&F.p), before);
    CHECK(storage_unchanged(&F));
    load_v1_fixture(&F);
    F.slot_len[0] = F.slot_len[1] = 1000;                   /* truncated */
    before = pnl_crc(&F.p);
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_E_TRUNCATED);
    CHECK_EQ(pnl_crc(&F.p), before);
    /* the header claims a v1 body 2 bytes short / the v2 size */
    static const uint16_t claims[2] = { PNL__BODY_V1_SIZE - 2u, PNL__BODY_SIZE };
    static const int wants[2] = { PNL_E_TRUNCATED, PNL_E_CORRUPT };
    for (int k = 0; k < 2; k++) {
        load_v1_fixture(&F);
        for (int s = 0; s < 2; s++) {
            F.slot[s][12] = (uint8_t)claims[k];
            F.slot[s][13] = (uint8_t)(claims[k] >> 8);
            put_crc(F.slot[s] + 28, pnl_crc32(0, F.slot[s], 28));
        }
        CHECK_EQ(pnl_load(&F.p, F.clk), wants[k]);
    }
    load_v1_fixture(&F);
    F.keybyte = 0x33;                                       /* another device's key */
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_E_KEY_MISMATCH);
    F.keybyte = 0x5A;
    F.nokey = 1;
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_E_NOKEY);
}

/* The stored state both runs start from: armed away, loaded from storage
 * (a restart), then one code entry at the keypad. */
static uint32_t disarm_from_storage(bool duress, uint32_t rng)
{
    setup(&F);
    arm_away(&F);
    uint32_t stored = pnl_crc32(0, &F.slot[0][0], sizeof F.slot);
    fx_reinit_panel(&F);
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_OK);
    F.rng_state = rng;            /* the nonce: random in the product, so differs */
    F.nwlog = 0;
    F.writes = 0;
    F.bytes_written = 0;
    fx_keys(&F, duress ? C_DURESS2 "#" : C_USER "#");
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_DISARMED);
    return stored;
}

static struct fx_w wlog_normal[FX_WLOG_MAX];

/* Must show (issue 13): a normal and a duress disarm from the same stored
 * state leave records that cannot be told apart without the device key. */
TEST(duress_leaves_no_trace_in_storage)
{
    uint32_t stored = disarm_from_storage(false, 0x1111u);
    unsigned slot = F.p.save_slot;
    memcpy(snap, F.slot, sizeof snap);                      /* the normal run's storage */
    memcpy(wlog_normal, F.wlog, sizeof wlog_normal);
    unsigned nw = F.nwlog, writes = F.writes;
    size_t bytes = F.bytes_written;
    CHECK(nw > 0 && nw <= FX_WLOG_MAX);
    CHECK_EQ(bytes, pnl_record_size());                     /* one save per code entry */

    CHECK_EQ(disarm_from_storage(true, 0x2222u), stored);   /* the same stored state */
    /* The same port calls: count, slot, offset, length, bytes. */
    CHECK_EQ(F.p.save_slot, slot);
    CHECK_EQ(F.writes, writes);
    CHECK_EQ(F.nwlog, nw);
    CHECK_EQ(F.bytes_written, bytes);
    for (unsigned i = 0; i < nw; i++) {
        CHECK_EQ(F.wlog[i].slot, wlog_normal[i].slot);
        CHECK_EQ(F.wlog[i].off, wlog_normal[i].off);
        CHECK_EQ(F.wlog[i].len, wlog_normal[i].len);
    }
    /* The records, byte by byte. The only plaintext is the header: magic,
     * version, header size, sequence (both runs made the same number of
     * saves), body size, zeros — all equal. What may differ: the body (bytes
     * 32.., all ciphertext under a fresh random first block), its CRC-32 at
     * 16..19 and the header's CRC-32 at 28..31 (which covers 16..19): CRCs of
     * ciphertext, telling nothing the ciphertext does not. */
    const uint8_t *n = snap[slot], *d = F.slot[slot];
    for (unsigned i = 0; i < 32; i++)
        if (!(i >= 16 && i < 20) && i < 28)
            CHECK_EQ(d[i], n[i]);
    CHECK_EQ(d[4], 2);
    CHECK_EQ(le32(d + 12), PNL__BODY_SIZE);
    for (size_t i = pnl_record_size(); i < FX_SLOT_BYTES; i++)
        CHECK_EQ(d[i], n[i]);                               /* nothing written past it */
    CHECK_EQ(memcmp(F.slot[slot ^ 1u], snap[slot ^ 1u], FX_SLOT_BYTES), 0);
    /* With the key, they differ as they must: the duress record holds the
     * 1121 and a next_event_id one higher (the 1121 took an id). */
    rec_open(&F, n, plain_a);
    CHECK_EQ(plain_duress(plain_a), 0);
    uint32_t next_n = le32(plain_a + PB_NEXTID);
    unsigned qlen_n = plain_a[PB_QLEN];
    rec_open(&F, d, plain_a);
    CHECK_EQ(plain_duress(plain_a), 1);
    CHECK_EQ(le32(plain_a + PB_NEXTID), next_n + 1u);
    CHECK_EQ(plain_a[PB_QLEN], qlen_n + 1u);
    /* ... and none of that in the clear: neither the 1121's queue entry nor
     * the decrypted queue head appears anywhere in the stored slot. */
    const uint8_t *q = plain_a + PB_QUEUE;
    unsigned k = 0;
    while (k < plain_a[PB_QLEN] && !(q[11u * k] == 1 && q[11u * k + 1] == 121))
        k++;
    CHECK(k < plain_a[PB_QLEN]);
    for (size_t i = 0; i + 11 <= FX_SLOT_BYTES; i++) {
        CHECK(memcmp(d + i, q + 11u * k, 11) != 0);
        CHECK(memcmp(d + i, plain_a + PB_QLEN, 9) != 0);
    }
}

TEST(persist_save_without_load_goes_after_newest)
{
    setup(&F);                                              /* several saves made */
    user(&F, 20, "73515", PNL_ROLE_USER, 1, false, 0);
    /* A fresh panel that never loaded saves: it must become the newest record. */
    fx_reinit_panel(&F);
    struct pnl_config c;
    pnl_config_defaults(&c);
    c.exit_delay_s = 99;
    CHECK_EQ(pnl_set_config(&F.p, &c), PNL_OK);
    fx_reinit_panel(&F);
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_OK);
    CHECK_EQ(F.p.cfg.exit_delay_s, 99);
    CHECK_EQ(F.p.users[19].len, 0);
}

TEST(persist_missing_and_wrong_key)
{
    setup(&F);
    snapshot(&F);
    struct pnl_policy_result r;
    F.nokey = 1;
    CHECK_EQ(pnl_user_set(&F.p, 20, "73515", 5, PNL_ROLE_USER, 1, false, 0, &r, NULL), PNL_E_NOKEY);
    CHECK_EQ(F.p.users[19].len, 0);
    struct pnl_config c = F.p.cfg;
    c.exit_delay_s = 100;
    CHECK_EQ(pnl_set_config(&F.p, &c), PNL_E_NOKEY);
    CHECK_EQ(F.p.cfg.exit_delay_s, 60);
    CHECK(storage_unchanged(&F));
    uint32_t before = pnl_crc(&F.p);  /* a fingerprint: a copy is too big for the M0 */
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_E_NOKEY);
    CHECK_EQ(pnl_crc(&F.p), before);
    F.nokey = 0;
    F.keybyte = 0x33;                                       /* another device's key */
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_E_KEY_MISMATCH);
    CHECK_EQ(pnl_crc(&F.p), before);
    F.keybyte = 0x5A;
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_OK);
    CHECK(storage_unchanged(&F));
}

/* ---- issue 13: programming reports, emergency keys, power, restores ---- */

/* The text of the event at delivery position i (CHECKs it is a report). */
static const char *report_text(unsigned i, char buf[PNL_EVENT_TEXT_MAX + 1])
{
    struct pnl_event e;
    CHECK_EQ(pnl_queue_at(&F.p, i, &e), PNL_OK);
    CHECK_EQ(e.cid, PNL_CID_PROGRAM);
    CHECK_EQ(e.prio, 5);
    CHECK(pnl_event_text(&e, buf, PNL_EVENT_TEXT_MAX + 1) > 0);
    return buf;
}

/* Every *7 / *8 result is a core event (CID 306 → YG) with rule and slot, never digits. */
TEST(events_programming_reports)
{
    setup(&F);
    char t[PNL_EVENT_TEXT_MAX + 1];
    fx_keys(&F, "*7" C_MASTER "#" "10" "2580#");           /* R8 weak: a warning for a user */
    fx_keys(&F, "*8" C_MASTER "#" "1100" "2589#");         /* duress, R2 one-edit of slot 10 */
    fx_keys(&F, "*8" C_MASTER "#" "1102" "864277#");       /* personal, R3 against slot 3 */
    fx_keys(&F, "*7" C_MASTER "#" "10#");                  /* delete */
    fx_keys(&F, "*7" C_MASTER "#" "01#");                  /* own slot: refused */
    fx_keys(&F, "*7" C_MASTER "#" "00" "1357#");           /* slot 0: refused */
    CHECK_EQ(pnl_queue_count(&F.p), 6u);
    CHECK_EQ(strcmp(report_text(0, t), "user code programmed (R8 weak)"), 0);
    CHECK_EQ(strcmp(report_text(1, t), "duress code refused R2 one-edit slot 10"), 0);
    CHECK_EQ(strcmp(report_text(2, t), "duress code refused R3 prefix-suffix slot 3"), 0);
    CHECK_EQ(strcmp(report_text(3, t), "code deleted"), 0);
    CHECK_EQ(strcmp(report_text(4, t), "user code refused"), 0);
    CHECK_EQ(strcmp(report_text(5, t), "user code refused"), 0);
    static const uint16_t zones[6] = { 10, 11, 11, 10, 1, 0 };
    for (unsigned i = 0; i < 6; i++) {
        struct pnl_event e;
        CHECK_EQ(pnl_queue_at(&F.p, i, &e), PNL_OK);
        CHECK(e.part == 1 && e.qualifier == 1 && e.zone == zones[i]);
        CHECK_EQ(strcmp(pnl_event_sia(&e), "YG"), 0);
        pnl_event_text(&e, t, sizeof t);
        static const char *const typed[] = { C_MASTER, "2580", "2589", "864277", "1357", "258" };
        for (unsigned k = 0; k < 6; k++)                    /* rule and slot, never a code */
            CHECK(strstr(t, typed[k]) == NULL);
    }
    /* a report survives a power cut before the communicator took it */
    fx_reinit_panel(&F);
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_OK);
    CHECK_EQ(pnl_queue_count(&F.p), 6u);
    CHECK_EQ(strcmp(report_text(2, t), "duress code refused R3 prefix-suffix slot 3"), 0);
    /* the API reports too: programmed, refused, deleted; bad input does not */
    ack_all(&F);
    struct pnl_policy_result r;
    CHECK_EQ(pnl_user_set(&F.p, 12, "24680", 5, PNL_ROLE_USER, 0x02, true, 0, &r, NULL), PNL_OK);
    CHECK_EQ(pnl_user_set(&F.p, 13, "12a4", 4, PNL_ROLE_USER, 0x02, false, 0, &r, NULL),
             PNL_E_CODE_FORMAT);
    CHECK_EQ(pnl_user_delete(&F.p, 12), PNL_OK);
    CHECK_EQ(pnl_queue_count(&F.p), 2u);
    struct pnl_event e;
    CHECK_EQ(pnl_queue_at(&F.p, 0, &e), PNL_OK);
    CHECK(e.part == 2 && e.zone == 12 && e.info == (PNL_PI_DURESS | PNL_PR_PROGRAMMED << 12));
    CHECK_EQ(strcmp(report_text(0, t), "duress code programmed"), 0);
    CHECK_EQ(strcmp(report_text(1, t), "code deleted"), 0);
    /* the longest text is whole (it was cut at 40 characters before) */
    e.info = (uint16_t)(PNL_PI_DURESS | PNL_PR_REFUSED_RULE << 12 | PNL_R6_SAME_DIGITS << 8 | 32);
    CHECK_EQ(pnl_event_text(&e, t, sizeof t), strlen("duress code refused R6 same-digits slot 32"));
    CHECK_EQ(strcmp(t, "duress code refused R6 same-digits slot 32"), 0);
    e.cid = 401;
    CHECK_EQ(pnl_event_text(&e, t, sizeof t), 0u);
    CHECK_EQ(t[0], '\0');
}

/* A personal duress code programming as its user: the station gets the same
 * programming reports as from the user's own code, and the 1121 besides. */
TEST(events_programming_same_for_duress)
{
    static struct pnl_event normal[8];
    static const char *const slots[] = { "01", "06", "121357" };   /* last: programs slot 12 */
    for (unsigned k = 0; k < 3; k++) {
        unsigned n = 0;
        prog_scenario(false, slots[k]);
        for (unsigned i = 0; i < pnl_queue_count(&F.p) && n < 8; i++)
            CHECK_EQ(pnl_queue_at(&F.p, i, &normal[n++]), PNL_OK);
        CHECK(fx_count_cid(&F, PNL_CID_PROGRAM, 1) >= 1);
        prog_scenario(true, slots[k]);
        CHECK_EQ(pnl_queue_count(&F.p), n + 1);
        unsigned j = 0;
        for (unsigned i = 0; i < pnl_queue_count(&F.p); i++) {
            struct pnl_event e;
            CHECK_EQ(pnl_queue_at(&F.p, i, &e), PNL_OK);
            if (e.cid == 121)
                continue;
            CHECK(j < n);
            CHECK(e.cid == normal[j].cid && e.qualifier == normal[j].qualifier &&
                  e.part == normal[j].part && e.zone == normal[j].zone &&
                  e.info == normal[j].info);
            j++;
        }
        CHECK_EQ(j, n);
    }
}

/* Holds an emergency key at partition 1's keypad for ms, reported every 100 ms. */
static void hold_key(char key, unsigned ms)
{
    for (unsigned t = 0;; t += 100) {
        pnl_key_at(&F.p, 1, key, F.clk);
        if (t >= ms)
            break;
        F.clk += 100;
        pnl_tick(&F.p, F.clk);
    }
    fx_run(&F, 1500);                                       /* let go */
}

TEST(keypad_emergency_keys)
{
    struct pnl_event e;
    setup(&F);
    /* a tap, or a hold cut short, does nothing but the key beep */
    pnl_key_at(&F.p, 1, 'F', F.clk);
    fx_run(&F, 3000);
    hold_key('P', 1800);
    CHECK_EQ(pnl_queue_count(&F.p), 0u);
    CHECK_EQ(F.nrec, 2u);
    CHECK_EQ(fx_count_out(&F, PNL_OUT_KEY_BEEP, 0), 2u);
    /* two taps 1.5 s apart are two taps, not a hold */
    pnl_key_at(&F.p, 1, 'M', F.clk);
    fx_run(&F, 1500);
    pnl_key_at(&F.p, 1, 'M', F.clk);
    fx_run(&F, 1500);
    CHECK_EQ(pnl_queue_count(&F.p), 0u);
    /* another key in between breaks the hold */
    pnl_key_at(&F.p, 1, 'M', F.clk);
    F.clk += 1000;
    pnl_key_at(&F.p, 1, '5', F.clk);
    F.clk += 900;
    pnl_key_at(&F.p, 1, 'M', F.clk);
    F.clk += 200;
    pnl_key_at(&F.p, 1, 'M', F.clk);
    CHECK_EQ(pnl_queue_count(&F.p), 0u);
    fx_run(&F, 25000);

    /* medical: CID 1100, priority 3, an accept beep, no siren */
    F.nrec = 0;
    hold_key('M', 5000);                                    /* held long: one report */
    CHECK_EQ(pnl_queue_count(&F.p), 1u);
    CHECK(fx_find_cid(&F, 100, &e) && e.qualifier == 1 && e.prio == 3 && e.part == 1);
    CHECK_EQ(strcmp(pnl_event_sia(&e), "MA"), 0);
    CHECK_EQ(fx_count_out(&F, PNL_OUT_ACK_BEEP, 0), 1u);
    CHECK(!pnl_siren_on(&F.p, 1));
    /* audible panic: 1120, priority 3, the siren */
    hold_key('P', 2000);
    CHECK(fx_find_cid(&F, 120, &e) && e.prio == 3);
    CHECK_EQ(strcmp(pnl_event_sia(&e), "PA"), 0);
    CHECK(pnl_siren_on(&F.p, 1));
    fx_keys(&F, C_USER "#");                                /* a code silences it */
    CHECK(!pnl_siren_on(&F.p, 1));
    /* fire: 1115, priority 2, fire siren, ALARM at the keypad, in the history */
    F.nrec = 0;
    hold_key('F', 2000);
    CHECK(fx_find_cid(&F, 115, &e) && e.prio == 2);
    CHECK_EQ(strcmp(pnl_event_sia(&e), "FA"), 0);
    CHECK_EQ(fx_count_out(&F, PNL_OUT_SIREN, 2), 1u);
    CHECK_EQ(fx_count_out(&F, PNL_OUT_DISPLAY, PNL_DISP_ALARM), 1u);
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_ALARM);
    struct pnl_history h;
    CHECK(pnl_history_get(&F.p, 0, &h) == PNL_OK && h.kind == PNL_H_FIRE && h.who == 0);
    fx_keys(&F, C_USER "#");
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_DISARMED);
    CHECK(!pnl_siren_on(&F.p, 1));

    /* silent panic: 1122 at priority 1, and the premises see exactly what a
     * panic key that is switched off shows (the key beep, nothing else) */
    for (unsigned mode = 0; mode <= 2; mode += 2) {
        setup(&F);
        CHECK_EQ(pnl_set_setting(&F.p, PNL_SET_KEY_PANIC, mode), PNL_OK);
        F.nrec = 0;
        hold_key('P', 3000);
        if (mode == 0) {
            CHECK_EQ(pnl_queue_count(&F.p), 0u);
            save_records(&F);
        }
    }
    CHECK_EQ(pnl_queue_count(&F.p), 1u);
    CHECK(fx_find_cid(&F, 122, &e) && e.prio == 1 && e.part == 1);
    CHECK(!pnl_siren_on(&F.p, 1));
    check_same_records(&F);
    /* keys switched off: nothing */
    CHECK_EQ(pnl_set_setting(&F.p, PNL_SET_KEY_FIRE, 0), PNL_OK);
    CHECK_EQ(pnl_set_setting(&F.p, PNL_SET_KEY_MEDICAL, 0), PNL_OK);
    ack_all(&F);
    hold_key('F', 3000);
    hold_key('M', 3000);
    CHECK_EQ(pnl_queue_count(&F.p), 0u);
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_DISARMED);
    /* a half-typed code survives an emergency key in between */
    CHECK_EQ(pnl_set_setting(&F.p, PNL_SET_KEY_MEDICAL, 1), PNL_OK);
    fx_keys(&F, "57");
    hold_key('M', 2000);
    fx_keys(&F, "90#");
    CHECK_EQ(pnl_part_state(&F.p, 1), PNL_ST_EXIT);
    CHECK(fx_find_cid(&F, 100, &e));
}

TEST(keypad_emergency_settings)
{
    setup(&F);
    struct pnl_config c;
    pnl_config_defaults(&c);
    CHECK(c.key_fire == 1 && c.key_medical == 1 && c.key_panic == 1 && c.ac_delay_min == 30);
    snapshot(&F);
    CHECK_EQ(pnl_set_setting(&F.p, PNL_SET_KEY_FIRE, 2), PNL_E_RANGE);
    CHECK_EQ(pnl_set_setting(&F.p, PNL_SET_KEY_MEDICAL, 2), PNL_E_RANGE);
    CHECK_EQ(pnl_set_setting(&F.p, PNL_SET_KEY_PANIC, 3), PNL_E_RANGE);
    CHECK_EQ(pnl_set_setting(&F.p, PNL_SET_AC_DELAY, 256), PNL_E_RANGE);
    CHECK(storage_unchanged(&F));
    /* the installer at the keypad: *9 PP VALUE */
    fx_keys(&F, "*9" C_INST "#" "16" "2#");
    fx_keys(&F, "*9" C_INST "#" "17" "0#");
    CHECK_EQ(F.p.cfg.key_panic, 2);
    CHECK_EQ(F.p.cfg.ac_delay_min, 0);
    fx_reinit_panel(&F);
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_OK);
    CHECK(F.p.cfg.key_panic == 2 && F.p.cfg.ac_delay_min == 0 && F.p.cfg.key_fire == 1);
}

TEST(power_trouble_and_restore)
{
    struct pnl_event e;
    setup(&F);
    /* an outage shorter than the delay reports nothing */
    CHECK_EQ(pnl_power_set(&F.p, false, true, F.clk), PNL_OK);
    fx_run(&F, 29u * 60000u);
    CHECK_EQ(pnl_power_set(&F.p, true, true, F.clk), PNL_OK);
    fx_run(&F, 60000);
    CHECK_EQ(pnl_queue_count(&F.p), 0u);
    /* a longer one: 1301 at 30 min (trouble, priority 5), then 3301 */
    CHECK_EQ(pnl_power_set(&F.p, false, true, F.clk), PNL_OK);
    fx_run(&F, 30u * 60000u - 200u);
    CHECK_EQ(pnl_queue_count(&F.p), 0u);
    CHECK_EQ(pnl_power_set(&F.p, false, true, F.clk), PNL_OK);   /* a repeat: no change */
    fx_run(&F, 300);
    CHECK_EQ(fx_count_cid(&F, 301, 1), 1u);
    CHECK(fx_find_cid(&F, 301, &e) && e.prio == 5 && e.part == 0 && e.zone == 0);
    CHECK_EQ(strcmp(pnl_event_sia(&e), "AT"), 0);
    fx_run(&F, 3600000);
    CHECK_EQ(fx_count_cid(&F, 301, 0), 1u);
    /* battery low at once, and its restore */
    CHECK_EQ(pnl_power_set(&F.p, false, false, F.clk), PNL_OK);
    CHECK_EQ(pnl_power_set(&F.p, false, false, F.clk + 100), PNL_OK);
    CHECK_EQ(fx_count_cid(&F, 302, 1), 1u);
    /* a restart while AC is away: the restore still goes when it returns */
    fx_reinit_panel(&F);
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_OK);
    CHECK_EQ(pnl_power_set(&F.p, false, false, F.clk), PNL_OK);
    fx_run(&F, 31u * 60000u);
    CHECK_EQ(fx_count_cid(&F, 301, 1), 1u);                 /* not reported twice */
    CHECK_EQ(pnl_power_set(&F.p, true, true, F.clk), PNL_OK);
    CHECK_EQ(fx_count_cid(&F, 301, 3), 1u);
    CHECK_EQ(fx_count_cid(&F, 302, 3), 1u);
    CHECK(fx_find_cid(&F, 301, &e));
    CHECK_EQ(pnl_queue_count(&F.p), 4u);
    /* restores by SIA code */
    for (unsigned i = 0; i < 4; i++) {
        CHECK_EQ(pnl_queue_at(&F.p, i, &e), PNL_OK);
        if (e.qualifier == 3)
            CHECK_EQ(strcmp(pnl_event_sia(&e), e.cid == 301 ? "AR" : "YR"), 0);
    }
    /* a zero delay reports at once */
    CHECK_EQ(pnl_set_setting(&F.p, PNL_SET_AC_DELAY, 0), PNL_OK);
    ack_all(&F);
    CHECK_EQ(pnl_power_set(&F.p, false, true, F.clk), PNL_OK);
    CHECK_EQ(fx_count_cid(&F, 301, 1), 1u);
}

TEST(restores_of_24h_zones)
{
    setup(&F);
    static const struct { unsigned zone; uint16_t cid; } z[] = { { 4, 110 }, { 6, 123 }, { 7, 137 } };
    for (unsigned i = 0; i < 3; i++) {
        pnl_zone_set(&F.p, z[i].zone, true, F.clk);
        CHECK_EQ(fx_count_cid(&F, z[i].cid, 1), 1u);
        CHECK_EQ(fx_count_cid(&F, z[i].cid, 3), 0u);
        pnl_zone_set(&F.p, z[i].zone, false, F.clk);
        CHECK_EQ(fx_count_cid(&F, z[i].cid, 3), 1u);
        pnl_zone_set(&F.p, z[i].zone, false, F.clk);        /* closed twice: once */
        CHECK_EQ(fx_count_cid(&F, z[i].cid, 3), 1u);
        struct pnl_event e;
        for (unsigned k = 0; pnl_queue_at(&F.p, k, &e) == PNL_OK; k++)
            if (e.cid == z[i].cid && e.qualifier == 3)
                CHECK(e.zone == z[i].zone && e.part == 1 && pnl_event_sia(&e) != NULL);
    }
    /* a hold-up is never restored (nor is a duress: it has no zone and no restore) */
    pnl_zone_set(&F.p, 5, true, F.clk);
    pnl_zone_set(&F.p, 5, false, F.clk);
    CHECK_EQ(fx_count_cid(&F, 122, 1), 1u);
    CHECK_EQ(fx_count_cid(&F, 122, 3), 0u);
    fx_keys(&F, C_DURESS "#");
    fx_run(&F, 2000);
    fx_keys(&F, C_USER "#");
    fx_run(&F, 2000);
    CHECK_EQ(fx_count_cid(&F, 121, 1), 1u);
    CHECK_EQ(fx_count_cid(&F, 121, 3), 0u);
    /* a tamper shut down by the swinger limit raised no alarm: no restore */
    ack_all(&F);
    for (unsigned k = 0; k < 3; k++) {
        pnl_zone_set(&F.p, 7, true, F.clk);
        pnl_zone_set(&F.p, 7, false, F.clk);
    }
    /* the arming above started a new count: 2 trips alarm, the third does not */
    CHECK_EQ(fx_count_cid(&F, 137, 1), 2u);
    CHECK_EQ(fx_count_cid(&F, 137, 3), 2u);
}

#define PANEL_CORE_TESTS(X) \
    X(policy_rules_examples) X(policy_r7_only_with_layout) X(policy_r8_weak) \
    X(policy_both_directions_and_format) X(policy_in_panel_across_partitions) \
    X(lookup_answers) X(duress_disarm_reports_first_as_linked_user) \
    X(duress_invisible_tick_for_tick) X(duress_programming_acts_as_linked_user) X(duress_not_withdrawn) X(duress_during_lockout) \
    X(duress_ahead_of_full_queue) X(duress_into_queue_full_of_holdups) X(queue_peek_sent_ack) X(arming_exit_entry_autostay) \
    X(arming_exit_restart_once) X(alarm_abort_report_cancel_siren) \
    X(exit_error_and_recent_closing) X(no_abort_delay_for_24h_zones) X(swinger_shutdown) \
    X(modes_stay_night_instant_bypass_chime) X(roles_and_partitions) X(keypad_programming) \
    X(periodic_test_report) X(settings_ranges_refused_unchanged) \
    X(bad_codes_full_table_unchanged) X(persist_roundtrip_encrypted) \
    X(persist_torn_write_keeps_previous) X(persist_refuses_unsaved_states) X(persist_corrupt_truncated_version_empty) \
    X(persist_save_without_load_goes_after_newest) X(persist_missing_and_wrong_key) \
    X(persist_migrates_v1) X(persist_v1_damaged) X(duress_leaves_no_trace_in_storage) \
    X(events_programming_reports) X(events_programming_same_for_duress) X(keypad_emergency_keys) \
    X(keypad_emergency_settings) X(power_trouble_and_restore) X(restores_of_24h_zones)
