/*
 * priority.c — the station's priority table (docs/DURESS.md "At the station"),
 * kept as data: which received events need an operator, with which priority
 * and under which alarm kind. Must never decide anything else (no merging, no
 * throttling): alarms.c and rx.c read it.
 *
 * Decisions where DURESS.md is silent: CID 137 (tamper) lies in the burglary
 * range 130-139 and stays there; SIA TA follows it. Trouble (5) is CID
 * 144-145 and 300-399. A Contact ID qualifier 3 on an alarm event is a restore
 * (it marks the open alarm, it opens none). Codes not in the table are stored
 * without an alarm.
 */
#include "stn_internal.h"

#include <string.h>

struct cid_row { uint16_t lo, hi; const char *kind; int priority; bool is_user; };

static const struct cid_row cid_table[] = {
    { 121, 121, "duress",   1, true  },   /* duress: ZZZ is the user under duress */
    { 122, 122, "holdup",   1, false },   /* silent hold-up / silent panic */
    { 110, 118, "fire",     2, false },
    { 100, 102, "medical",  3, false },
    { 120, 120, "panic",    3, false },
    { 123, 123, "panic",    3, false },
    { 130, 139, "burglary", 4, false },
    { 144, 145, "trouble",  5, false },   /* sensor / expansion tamper */
    { 300, 399, "trouble",  5, false },   /* power, battery, communication, sensor */
    { 400, 499, NULL,       0, true  },   /* openings, closings: ZZZ is the user */
    { 600, 699, NULL,       0, false },   /* tests */
};
_Static_assert(sizeof cid_table / sizeof cid_table[0] == 11, "CID priority table size");

struct sia_row { char code[3]; const char *kind; int priority; bool restore; };

static const struct sia_row sia_table[] = {
    { "HA", "duress",   1, false }, { "HH", "duress",   0, true },
    { "FA", "fire",     2, false }, { "FH", "fire",     0, true },
    { "PA", "panic",    3, false }, { "PH", "panic",    0, true },
    { "MA", "medical",  3, false }, { "MH", "medical",  0, true },
    { "BA", "burglary", 4, false }, { "BH", "burglary", 0, true },
    { "TA", "burglary", 4, false }, { "TR", "burglary", 0, true },
    { "AT", "trouble",  5, false }, { "AR", "trouble",  0, true },
    { "YT", "trouble",  5, false }, { "YR", "trouble",  0, true },
    { "YC", "trouble",  5, false }, { "YK", "trouble",  0, true },
    { "EA", "trouble",  5, false }, { "JA", "trouble",  5, false },
};
_Static_assert(sizeof sia_table / sizeof sia_table[0] == 20, "SIA priority table size");

struct kind_row { const char *kind; int priority; };

/* The station's own alarm kinds. */
static const struct kind_row kind_table[] = {
    { "duress", 1 }, { "holdup", 1 }, { "fire", 2 }, { "medical", 3 }, { "panic", 3 },
    { "burglary", 4 }, { "comm_failure", 4 }, { "decrypt_failure", 4 },
    { "clear_on_keyed", 4 }, { "flood", 4 }, { "replay", 4 }, { "unknown_account", 4 },
    { "trouble", 5 }, { "unknown_event", 5 },
};
_Static_assert(sizeof kind_table / sizeof kind_table[0] == 14, "kind table size");

void stn_classify_cid(const struct dc09_cid *c, struct stn_class *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < sizeof cid_table / sizeof cid_table[0]; i++) {
        const struct cid_row *r = &cid_table[i];
        if (c->event < r->lo || c->event > r->hi)
            continue;
        out->is_user = r->is_user;
        if (!r->kind)
            return;
        out->kind = r->kind;
        if (c->qualifier == 3) {
            out->restore = true;    /* restore: no new alarm */
            out->priority = 0;
        } else {
            out->priority = r->priority;
        }
        return;
    }
}

void stn_classify_sia(const struct dc09_sia *s, struct stn_class *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < sizeof sia_table / sizeof sia_table[0]; i++) {
        if (strcmp(sia_table[i].code, s->code) == 0) {
            out->kind = sia_table[i].kind;
            out->priority = sia_table[i].priority;
            out->restore = sia_table[i].restore;
            return;
        }
    }
}

void stn_classify_frame(const struct dc09_frame *f, struct stn_class *out)
{
    memset(out, 0, sizeof *out);
    if (f->id == DC09_ID_ADM_CID && f->has_cid)
        stn_classify_cid(&f->cid, out);
    else if (f->id == DC09_ID_SIA_DCS && f->has_sia)
        stn_classify_sia(&f->sia, out);
}

int stn_kind_priority(const char *kind)
{
    for (size_t i = 0; i < sizeof kind_table / sizeof kind_table[0]; i++)
        if (strcmp(kind_table[i].kind, kind) == 0)
            return kind_table[i].priority;
    return 0;
}

bool stn_class_is_duress(const struct stn_class *c)
{
    return c->kind && c->priority == 1 && !c->restore;
}

bool stn_class_is_urgent(const struct stn_class *c)
{
    return c->kind && !c->restore && c->priority >= 1 && c->priority <= 3;
}
