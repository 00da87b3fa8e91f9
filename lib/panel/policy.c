/*
 * policy.c — the code policy of docs/DURESS.md (R1–R8): keeps a duress code
 * from being typed by accident in place of another code, and the reverse.
 *
 * Runs when a code is programmed (not on every key entry), so it need not be
 * constant time. It must never put a code's digits into its result: a
 * refusal names the rule and the colliding slot only.
 */
#include "panel_internal.h"

/* Packed, no pointer tables (flash): "R1".."R8" three bytes apart, the names
 * NUL-separated. */
static const char rule_ids[] = "R1\0R2\0R3\0R4\0R5\0R6\0R7\0R8";
static const char rule_names[] =
    "equal\0one-edit\0prefix-suffix\0numeric\0twin\0same-digits\0same-keys\0weak";
_Static_assert(PNL_R1_EQUAL == 1 && PNL_R8_WEAK == 8, "rule ids");

const char *pnl_rule_id(enum pnl_rule r)
{
    return (r >= PNL_R1_EQUAL && r <= PNL_R8_WEAK) ? rule_ids + 3 * (r - 1) : "R?";
}

const char *pnl_rule_name(enum pnl_rule r)
{
    if (r < PNL_R1_EQUAL || r > PNL_R8_WEAK)
        return "unknown";
    const char *s = rule_names;
    for (unsigned k = PNL_R1_EQUAL; k < (unsigned)r; k++)
        while (*s++ != '\0')
            ;
    return s;
}

static bool valid_code(const char *s, size_t len)
{
    if (len < PNL_CODE_LEN_MIN || len > PNL_CODE_LEN_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static size_t slen(const char *s)
{
    size_t n = 0;
    while (n <= PNL_CODE_LEN_MAX && s[n] != '\0')
        n++;
    return n;
}

int pnl_layout_parse(const char *s, struct pnl_layout *out)
{
    struct pnl_layout l = { .enabled = true };
    bool seen[10] = { false };
    uint8_t key = 0;
    size_t i = 0;
    for (;;) {
        if (s[i] < '0' || s[i] > '9' || s[i + 1] < '0' || s[i + 1] > '9')
            return PNL_E_INVAL;
        for (int k = 0; k < 2; k++) {
            int d = s[i + (size_t)k] - '0';
            if (seen[d])
                return PNL_E_INVAL;
            seen[d] = true;
            l.key[d] = key;
        }
        key++;
        i += 2;
        if (s[i] == '\0')
            break;
        if (s[i] != ',')
            return PNL_E_INVAL;
        i++;
    }
    for (int d = 0; d < 10; d++)
        if (!seen[d])
            return PNL_E_INVAL;
    *out = l;
    return PNL_OK;
}

/* ---- the rules, each on two valid codes ------------------------------ */

static bool r1_equal(const char *a, size_t la, const char *b, size_t lb)
{
    if (la != lb)
        return false;
    for (size_t i = 0; i < la; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

static bool r2_one_edit(const char *a, size_t la, const char *b, size_t lb)
{
    if (la == lb) {
        size_t nd = 0, first = 0, second = 0;
        for (size_t i = 0; i < la; i++) {
            if (a[i] != b[i]) {
                if (nd == 0)
                    first = i;
                else if (nd == 1)
                    second = i;
                nd++;
            }
        }
        if (nd == 1)
            return true;                                   /* one digit changed */
        return nd == 2 && second == first + 1 &&           /* neighbours swapped */
               a[first] == b[second] && a[second] == b[first];
    }
    const char *L = la > lb ? a : b, *S = la > lb ? b : a;
    size_t ll = la > lb ? la : lb, ls = la > lb ? lb : la;
    if (ll != ls + 1)
        return false;
    size_t i = 0;
    while (i < ls && L[i] == S[i])
        i++;
    for (size_t j = i; j < ls; j++)                        /* drop L[i] */
        if (L[j + 1] != S[j])
            return false;
    return true;
}

static bool r3_prefix_suffix(const char *a, size_t la, const char *b, size_t lb)
{
    if (la == lb)
        return false;
    const char *L = la > lb ? a : b, *S = la > lb ? b : a;
    size_t ll = la > lb ? la : lb, ls = la > lb ? lb : la;
    bool pre = true, suf = true;
    for (size_t i = 0; i < ls; i++) {
        if (L[i] != S[i])
            pre = false;
        if (L[ll - ls + i] != S[i])
            suf = false;
    }
    return pre || suf;
}

static uint32_t num(const char *s, size_t n)
{
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10u + (uint32_t)(s[i] - '0');
    return v;
}

/* Same length only: codes of different lengths are not typed as each other
 * by a carry (and R2/R3 cover one added digit). */
static bool r4_numeric(const char *a, size_t la, const char *b, size_t lb)
{
    if (la != lb)
        return false;
    uint32_t x = num(a, la), y = num(b, lb);
    uint32_t d = x > y ? x - y : y - x;
    return d != 0 && d <= 2;
}

static bool r5_twin(const char *a, size_t la, const char *b, size_t lb)
{
    if (la != lb)
        return false;
    for (size_t i = 0; i + 1 < la; i++) {
        if (a[i] == a[i + 1] && b[i] == b[i + 1] && a[i] != b[i]) {
            bool rest = true;
            for (size_t j = 0; j < la; j++)
                if (j != i && j != i + 1 && a[j] != b[j])
                    rest = false;
            if (rest)
                return true;
        }
    }
    return false;
}

static bool r6_same_digits(const char *a, size_t la, const char *b, size_t lb)
{
    if (la != lb || r1_equal(a, la, b, lb))
        return false;
    int count[10] = { 0 };
    for (size_t i = 0; i < la; i++) {
        count[a[i] - '0']++;
        count[b[i] - '0']--;
    }
    for (int d = 0; d < 10; d++)
        if (count[d] != 0)
            return false;
    return true;
}

static bool r7_same_keys(const char *a, size_t la, const char *b, size_t lb,
                         const struct pnl_layout *l)
{
    if (l == NULL || !l->enabled || la != lb || r1_equal(a, la, b, lb))
        return false;
    for (size_t i = 0; i < la; i++)
        if (l->key[a[i] - '0'] != l->key[b[i] - '0'])
            return false;
    return true;
}

/* ---- R8 weak --------------------------------------------------------- */

/* Keypad lines, columns and corners on a 123/456/789/_0_ keypad, 4 digits;
 * as numbers (a 4-digit code's value names it: 852 is "0852"). */
static const uint16_t weak4_keypad[] = {
    2580, 852,  1397, 7931, 1379, 9731, 3179, 9713, 7139, 3917,
    1793, 3971, 7410, 147,  1478, 8741, 3698, 8963, 9874, 4789,
    1470, 741,  3690, 963,  1590, 951,  3570, 753,
};
/* The 20 most common 4-digit PINs (DataGenetics, 3.4 M PINs). */
static const uint16_t weak4_common[] = {
    1234, 1111, 0,    1212, 7777, 1004, 2000, 4444, 2222, 6969,
    9999, 3333, 5555, 6666, 1122, 1313, 8888, 4321, 2001, 1010,
};
_Static_assert(sizeof weak4_keypad / sizeof weak4_keypad[0] == 28, "28 keypad patterns");
_Static_assert(sizeof weak4_common / sizeof weak4_common[0] == 20, "top-20 PINs");

static bool in_list(uint32_t v, const uint16_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == v)
            return true;
    return false;
}

bool pnl_code_is_weak(const char *c, size_t n)
{
    if (!valid_code(c, n))
        return false;
    bool same = true, up = true, down = true;
    for (size_t i = 1; i < n; i++) {
        unsigned d = (unsigned)(c[i] - '0'), e = (unsigned)(c[i - 1] - '0');
        if (d != e)
            same = false;
        if (d != (e == 9 ? 0 : e + 1))      /* ascending, 9 wraps to 0 */
            up = false;
        if (d != (e == 0 ? 9 : e - 1))      /* descending, 0 wraps to 9 */
            down = false;
    }
    if (same || up || down)
        return true;
    if (n != 4)
        return false;
    uint32_t v = num(c, 4);
    return (v >= 1940 && v <= 2040) ||
           in_list(v, weak4_keypad, sizeof weak4_keypad / sizeof weak4_keypad[0]) ||
           in_list(v, weak4_common, sizeof weak4_common / sizeof weak4_common[0]);
}

static void add_hit(struct pnl_policy_result *res, uint8_t rule, uint8_t slot)
{
    if (res->hit_count < PNL_POLICY_HITS_MAX) {
        res->hits[res->hit_count].rule = rule;
        res->hits[res->hit_count].slot = slot;
        res->hit_count++;
    }
    res->hit_total++;
}

void pnl__policy_begin(struct pnl_policy_result *res)
{
    *res = (struct pnl_policy_result){ .accepted = false };
}

/* One existing code against the new one: rules R1–R7, when either is duress. */
void pnl__policy_pair(const char *code, size_t len, bool duress,
                      const struct pnl_policy_code *e, const struct pnl_layout *layout,
                      struct pnl_policy_result *res)
{
    if (!duress && !e->duress)
        return;                     /* two user codes may be alike */
    const char *b = e->digits;
    size_t lb = slen(b);
    if (r1_equal(code, len, b, lb))
        add_hit(res, PNL_R1_EQUAL, e->slot);
    if (r2_one_edit(code, len, b, lb))
        add_hit(res, PNL_R2_ONE_EDIT, e->slot);
    if (r3_prefix_suffix(code, len, b, lb))
        add_hit(res, PNL_R3_PREFIX, e->slot);
    if (r4_numeric(code, len, b, lb))
        add_hit(res, PNL_R4_NUMERIC, e->slot);
    if (r5_twin(code, len, b, lb))
        add_hit(res, PNL_R5_TWIN, e->slot);
    if (r6_same_digits(code, len, b, lb))
        add_hit(res, PNL_R6_SAME_DIGITS, e->slot);
    if (r7_same_keys(code, len, b, lb, layout))
        add_hit(res, PNL_R7_SAME_KEYS, e->slot);
}

/* R8 (no slot), then the verdict. */
void pnl__policy_end(const char *code, size_t len, bool duress, struct pnl_policy_result *res)
{
    if (pnl_code_is_weak(code, len)) {
        if (duress)
            add_hit(res, PNL_R8_WEAK, 0);
        else
            res->weak_warning = true;
    }
    res->accepted = res->hit_total == 0;
}

int pnl_policy_check(const char *code, size_t len, bool duress,
                     const struct pnl_policy_code *existing, size_t n,
                     const struct pnl_layout *layout,
                     struct pnl_policy_result *res)
{
    if (code == NULL || res == NULL || (existing == NULL && n > 0))
        return PNL_E_INVAL;
    if (!valid_code(code, len))
        return PNL_E_CODE_FORMAT;
    for (size_t i = 0; i < n; i++)
        if (!valid_code(existing[i].digits, slen(existing[i].digits)))
            return PNL_E_CODE_FORMAT;
    pnl__policy_begin(res);
    for (size_t i = 0; i < n; i++)
        pnl__policy_pair(code, len, duress, &existing[i], layout, res);
    pnl__policy_end(code, len, duress, res);
    return PNL_OK;
}
