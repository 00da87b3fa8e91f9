/* test_dispute.c — the dispute page (station/dispute_html.c) against hostile
 * values: every string the store could hold (a customer's name, a zone's,
 * an operator's note, an audit entry's texts) comes out escaped, no control
 * character gets through, and a packet with missing or mistyped parts still
 * renders (never a crash, never a NULL dereference). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/station.h"

#define EVIL "<script>alert(1)</script>\"'&</style><img src=x onerror=alert(2)>\x01\x1b"

static json_t *evil_packet(void)
{
    json_t *entry = json_pack("{s:i,s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "seq", 7,
                              "at", "2026-11-26T14:03:05.123Z", "at_ms", 1, "actor", EVIL,
                              "kind", EVIL, "subject", "3", "before", EVIL, "after", EVIL,
                              "prev_hash", EVIL, "hash", EVIL, "about", "alarm");
    json_t *p = json_pack(
        "{s:{s:s,s:i,s:i,s:s,s:s},"
        " s:{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s},"
        " s:{s:i,s:s,s:i,s:s,s:s,s:s},"
        " s:[{s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:s}],"
        " s:[{s:i,s:s}], s:[{s:i,s:s}],"
        " s:{s:[{s:s,s:s,s:b,s:b,s:s,s:s,s:s}],s:[{s:s,s:s,s:s}]},"
        " s:{s:s,s:s,s:{s:s}}, s:{s:s}, s:{s:s,s:s},"
        " s:{s:i,s:s,s:s,s:i,s:s},"
        " s:[{s:s,s:s,s:s,s:s}],"
        " s:{s:{s:i,s:s},s:{s:i,s:s},s:i,s:i,s:[i],s:[o],s:s},"
        " s:[s]}",
        "packet", "format", EVIL, "version", 1, "alarm", 3, "generated_at", EVIL,
        "generated_by", EVIL,
        "customer", "name", EVIL, "address", EVIL, "phone", EVIL, "permit", EVIL,
        "agency", EVIL, "agency_name", EVIL, "location", EVIL, "police_status", EVIL,
        "alarm", "id", 3, "kind", EVIL, "user", 1, "user_name", EVIL, "disposition", EVIL,
        "detail", EVIL,
        "signals", "received_at", EVIL, "account", EVIL, "decoded", EVIL, "user", 1,
        "user_name", EVIL, "kind", EVIL, "receiver_peer", EVIL, "raw", EVIL,
        "zones", "number", 1, "name", EVIL, "users", "number", 1, "name", EVIL,
        "verification", "steps", "id", EVIL, "text", EVIL, "mandatory", 1, "done", 1,
        "done_by", EVIL, "done_at", EVIL, "note", EVIL,
        "passcode_checks", "at", EVIL, "operator", EVIL, "result", EVIL,
        "dispatch", "PsapEventNumber", EVIL, "Location", EVIL, "AlarmConfirmation", "method", EVIL,
        "times", "received", EVIL, "finding", "charge_finding", EVIL, "psap_disposition", EVIL,
        "charge", "id", 1, "rule", EVIL, "operator", EVIL, "total_cents", 15500, "currency", EVIL,
        "operator_actions", "at", EVIL, "operator", EVIL, "action", EVIL, "detail", EVIL,
        "audit", "head_file", "seq", 7, "hash", EVIL, "last_entry", "seq", 8, "hash", EVIL,
        "chain_from", 7, "chain_to", 7, "entries_about_this_alarm", 7, "chain", entry,
        "chain_note", EVIL,
        "how_to_check", EVIL);
    assert_non_null(p);
    return p;
}

static void hostile_values_escaped(void **state)
{
    (void)state;
    json_t *p = evil_packet();
    size_t len = 0;
    char *html = stn_dispute_html(p, &len);
    json_decref(p);
    assert_non_null(html);
    assert_int_equal(strlen(html), len);
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<img"));
    assert_null(strstr(html, "onerror=alert(2)>"));
    /* the page's own </style> once, none from a value */
    const char *st = strstr(html, "</style>");
    assert_non_null(st);
    assert_null(strstr(st + 1, "</style>"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"));
    for (const unsigned char *c = (const unsigned char *)html; *c; c++)
        assert_true(*c >= 0x20 || *c == '\n' || *c == '\t' || *c == '\r');
    assert_non_null(strstr(html, "$155.00"));
    free(html);
}

static void broken_packets_render(void **state)
{
    (void)state;
    const char *const texts[] = {
        "{}", "[]", "null", "{\"packet\":7,\"customer\":[],\"alarm\":\"x\",\"signals\":{},"
        "\"audit\":{\"chain\":[{\"about\":5},{\"about\":\"account\"},7],\"head_file\":3,"
        "\"last_entry\":{\"seq\":\"x\"},\"chain_from\":\"a\"},\"verification\":[],"
        "\"charge\":{\"total_cents\":\"lots\"},\"times\":5,\"zones\":[1,null],\"users\":{}}",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        json_t *p = json_loads(texts[i], JSON_DECODE_ANY, NULL);
        char *html = stn_dispute_html(p, NULL);
        assert_non_null(html);
        assert_non_null(strstr(html, "</html>"));
        free(html);
        json_decref(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hostile_values_escaped),
        cmocka_unit_test(broken_packets_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
