/*
 * test_panel_host.c — host-only panel tests: the device-key port over the
 * real AES (OpenSSL back end of lib/dc09, through pnl_keyport_dc09), and the
 * SIA code of every Contact ID event the core reports, through lib/dc09's table.
 */
#include "tshim.h"
#include "panel_fixture.h"

#include "vigil/dc09_openssl.h"

static struct fx F;

static void attach(struct fx *f, struct pnl_keyport *k)
{
    struct pnl_ports ports = { .storage = &f->st, .key = k, .rng = &f->rng, .keypad = &f->kp };
    pnl_init(&f->p, &ports);
}

TEST(aes_keyport_roundtrip)
{
    struct dc09_key k1, k2;
    CHECK_EQ(dc09_key_from_ascii(&k1, "0123456789ABCDEF", 16), 0);
    CHECK_EQ(dc09_key_from_ascii(&k2, "FEDCBA9876543210", 16), 0);
    struct dc09_ossl c1, c2;
    CHECK_EQ(dc09_ossl_init(&c1, &k1), 0);
    CHECK_EQ(dc09_ossl_init(&c2, &k2), 0);
    struct pnl_keyport_dc09 kp1, kp2, none;
    pnl_keyport_dc09_init(&kp1, &c1.base);
    pnl_keyport_dc09_init(&kp2, &c2.base);
    pnl_keyport_dc09_init(&none, NULL);

    fx_init(&F);
    attach(&F, &kp1.base);
    struct pnl_policy_result r;
    CHECK_EQ(pnl_user_set(&F.p, 1, "13572468", 8, PNL_ROLE_MASTER, 1, false, 0, &r, NULL), PNL_OK);
    CHECK_EQ(pnl_user_set(&F.p, 2, "80642", 5, PNL_ROLE_USER, 1, true, 1, &r, NULL), PNL_OK);
    static const uint8_t bcd[4] = { 0x13, 0x57, 0x24, 0x68 };
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i + 4 <= FX_SLOT_BYTES; i++)
            CHECK(memcmp(F.slot[s] + i, bcd, 4) != 0);

    attach(&F, &kp2.base);
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_E_KEY_MISMATCH);
    attach(&F, &none.base);
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_E_NOKEY);
    uint8_t snap[2][FX_SLOT_BYTES];
    memcpy(snap, F.slot, sizeof snap);
    CHECK_EQ(pnl_user_set(&F.p, 3, "97531", 5, PNL_ROLE_USER, 1, false, 0, &r, NULL), PNL_E_NOKEY);
    CHECK_EQ(memcmp(snap, F.slot, sizeof snap), 0);
    attach(&F, &kp1.base);
    CHECK_EQ(pnl_load(&F.p, F.clk), PNL_OK);
    CHECK_EQ(F.p.users[0].len, 8);
    CHECK_EQ(F.p.users[1].duress, 1);
    CHECK_EQ(F.p.users[1].link, 1);
    CHECK_EQ(F.p.users[1].code[4], 2);
    dc09_ossl_free(&c1);
    dc09_ossl_free(&c2);
}

TEST(every_event_maps_to_sia)
{
    static const struct { uint16_t cid; uint8_t q; const char *sia; } m[] = {
        { 121, 1, "HA" }, { 122, 1, "HA" }, { 123, 1, "PA" }, { 110, 1, "FA" },
        { 131, 1, "BA" }, { 132, 1, "BA" }, { 134, 1, "BA" }, { 137, 1, "TA" },
        { 374, 1, "EA" }, { 401, 1, "OP" }, { 401, 3, "CL" }, { 406, 1, "OC" },
        { 441, 3, "CG" }, { 459, 1, "CR" }, { 461, 1, "JA" }, { 602, 1, "RP" },
        /* issue 13: keypad keys, troubles, restores, programming reports */
        { 115, 1, "FA" }, { 100, 1, "MA" }, { 120, 1, "PA" }, { 301, 1, "AT" },
        { 301, 3, "AR" }, { 302, 1, "YT" }, { 302, 3, "YR" }, { 110, 3, "FH" },
        { 123, 3, "PH" }, { 137, 3, "TR" }, { 306, 1, "YG" },
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        struct pnl_event e = { .qualifier = m[i].q, .cid = m[i].cid };
        const char *s = pnl_event_sia(&e);
        CHECK(s != NULL);
        CHECK_EQ(strcmp(s, m[i].sia), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(aes_keyport_roundtrip),
        cmocka_unit_test(every_event_maps_to_sia),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
