/*
 * fuzz_seeds.c — writes the seed corpora of fuzz_pnl_load and fuzz_comm_load
 * from records the real code writes: panels in several states saved with
 * pnl_save(), communicator records saved by comm_report_sia() and by path
 * trouble, each as the raw slot and as the plaintext body (the targets' FIX
 * form), plus edge cases (erased flash, a torn header, a short slot, the
 * wrong key, the exact slot size). Deterministic (fixed RNG).
 *   build-fz/fuzz/fuzz_seeds fuzz/corpus      (writes pnl_load/ and comm_load/)
 */
#include <stdio.h>

#include "fuzz_common.h"

static const char *outdir;

static void put(const char *target, const char *name, uint8_t flags, uint8_t nops_byte,
                const uint8_t *ops, size_t nops, const uint8_t *a, size_t alen,
                const uint8_t *b, size_t blen)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", outdir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputc(flags, f);
    fputc(nops_byte, f);
    fwrite(ops, 1, nops, f);
    fwrite(a, 1, alen, f);
    if (b)
        fwrite(b, 1, blen, f);
    fclose(f);
}

static struct dc09_ossl dev_key, acct_key;

/* ---- the panel ------------------------------------------------------------ */

static struct fz_store ps;
static struct fz_rng prng;
static struct pnl_keyport_dc09 pkp;

static void panel_fresh(struct pnl *p)
{
    fz_store_init(&ps, 1600u);
    memset(ps.slot, 0xFF, sizeof ps.slot);
    ps.len[0] = ps.len[1] = 1600u;
    fz_rng_init(&prng, 12345u);
    pnl_keyport_dc09_init(&pkp, &dev_key.base);
    struct pnl_ports ports = { .storage = &ps.base, .key = &pkp.base, .rng = &prng.base };
    if (pnl_init(p, &ports) != 0)
        abort();
}

static void type(struct pnl *p, const char *keys, uint64_t now)
{
    for (; *keys; keys++)
        pnl_key(p, *keys, now);
}

/* A panel with users, a duress code, zones, queued events and history. */
static void panel_busy(struct pnl *p, int armed)
{
    panel_fresh(p);
    unsigned slot;
    struct pnl_policy_result res;
    if (pnl_user_set(p, 1, "1234", 4, PNL_ROLE_MASTER, 0xFF, false, 0, &res, &slot) != 0 ||
        pnl_user_set(p, 2, "58206", 5, PNL_ROLE_USER, 0x01, false, 0, &res, &slot) != 0 ||
        pnl_user_set(p, 3, "97310", 5, PNL_ROLE_USER, 0x03, true, 2, &res, &slot) != 0 ||
        pnl_user_set(p, 4, "24681357", 8, PNL_ROLE_INSTALLER, 0x01, false, 0, &res, &slot) != 0)
        abort();
    struct pnl_zone_cfg z[] = {
        { PNL_ZONE_ENTRY_EXIT, 1, PNL_ZF_CHIME }, { PNL_ZONE_INTERIOR, 1, PNL_ZF_NIGHT },
        { PNL_ZONE_INSTANT, 1, 0 }, { PNL_ZONE_HOLDUP, 1, 0 }, { PNL_ZONE_FIRE, 2, 0 },
        { PNL_ZONE_PANIC, 2, 0 }, { PNL_ZONE_TAMPER, 1, 0 },
    };
    for (unsigned i = 0; i < sizeof z / sizeof z[0]; i++)
        if (pnl_zone_config(p, i + 1, &z[i]) != 0)
            abort();
    uint64_t now = 1000;
    pnl_zone_set(p, 7, true, now);
    pnl_zone_set(p, 7, false, now);
    type(p, "1234#", now);             /* arm away */
    now += 70000;
    pnl_tick(p, now);
    if (armed == 2) {
        type(p, "97310#", now);        /* duress disarm */
        pnl_zone_set(p, 4, true, now);
    }
    if (armed == 0)
        type(p, "58206#", now);
    pnl_tick(p, now + 100);
    if (pnl_save(p) != 0)
        abort();
}

static void pnl_seeds(void)
{
    static struct pnl p;
    const size_t rec = pnl_record_size(), body = rec - FZ_PNL_HDR;
    static uint8_t plain[FZ_SLOT_MAX], rebuilt[FZ_SLOT_MAX];
    /* ops: arm with user 1, tick, open zone 1, enter code 3 (duress), queue ack, save */
    static const uint8_t ops[] = { 0x30, 0x79, 0x50, 0x32, 0x90, 0x91, 0xB0, 0x60, 0x87, 0xF0 };
    static const uint8_t ops2[] = { 0x41, 0xA2, 0x53, 0x7F, 0xC3, 0xD2, 0xE5, 0x33, 0xB0 };
    const char *names[3] = { "disarmed", "armed", "duress" };
    for (int st = 0; st < 3; st++) {
        panel_busy(&p, st);
        unsigned s = p.save_slot;
        char n[64];
        snprintf(n, sizeof n, "raw-%s", names[st]);
        put("pnl_load", n, 0, 0, NULL, 0, ps.slot[s], rec, NULL, 0);
        snprintf(n, sizeof n, "raw-both-%s", names[st]);   /* both slots: the two last saves */
        put("pnl_load", n, 0x02, (uint8_t)sizeof ops, ops, sizeof ops, ps.slot[0], rec,
            ps.slot[1], rec);
        snprintf(n, sizeof n, "raw-exact-%s", names[st]);
        put("pnl_load", n, 0x04, (uint8_t)sizeof ops2, ops2, sizeof ops2, ps.slot[s], rec, NULL, 0);
        /* the plaintext body: the FIX form; checked against the target's builder */
        fz_pnl_plain(&dev_key.base, ps.slot[s], body, plain);
        fz_pnl_build(&dev_key.base, plain, body, fz_get32(ps.slot[s] + 8), 1, rebuilt);
        if (memcmp(rebuilt, ps.slot[s], rec) != 0) {
            fprintf(stderr, "fuzz_seeds: fz_pnl_build does not match pnl_save\n");
            exit(1);
        }
        snprintf(n, sizeof n, "fix-%s", names[st]);
        put("pnl_load", n, 0x01, (uint8_t)sizeof ops, ops, sizeof ops, plain, body, NULL, 0);
        snprintf(n, sizeof n, "fix-exact-%s", names[st]);
        put("pnl_load", n, 0x05, (uint8_t)sizeof ops2, ops2, sizeof ops2, plain, body, NULL, 0);
        /* the same state as a v1 body (config, check block, users, the rest in
         * the clear, no padding): the migration path */
        static uint8_t v1[FZ_SLOT_MAX];
        memcpy(v1, plain + 16, 35);
        memcpy(v1 + 35, plain, 16);
        memcpy(v1 + 51, plain + 51, FZ_PNL_V1_BODY - 51);
        snprintf(n, sizeof n, "fix-v1-%s", names[st]);
        put("pnl_load", n, 0x81, (uint8_t)sizeof ops, ops, sizeof ops, v1, FZ_PNL_V1_BODY, NULL, 0);
    }
    /* a fresh panel's record, and edge cases */
    panel_fresh(&p);
    if (pnl_save(&p) != 0)
        abort();
    put("pnl_load", "raw-fresh", 0, 0, NULL, 0, ps.slot[0], rec, NULL, 0);
    put("pnl_load", "raw-fresh-wrongkey", 0x08, 0, NULL, 0, ps.slot[0], rec, NULL, 0);
    put("pnl_load", "raw-fresh-readerr", 0x40, 0x40, NULL, 0, ps.slot[0], rec, NULL, 0);
    put("pnl_load", "raw-short", 0, 0, NULL, 0, ps.slot[0], 600, NULL, 0);
    put("pnl_load", "raw-header-only", 0, 0, NULL, 0, ps.slot[0], FZ_PNL_HDR, NULL, 0);
    uint8_t torn[FZ_SLOT_MAX];
    memcpy(torn, ps.slot[0], rec);
    torn[FZ_PNL_HDR + 100] ^= 0x20;
    put("pnl_load", "raw-torn-body", 0x02, 0, NULL, 0, ps.slot[0], rec, torn, rec);
    memset(torn, 0xFF, rec);
    put("pnl_load", "raw-erased", 0, 0, NULL, 0, torn, rec, NULL, 0);
    memset(torn, 0x00, rec);
    put("pnl_load", "raw-zero", 0x02, 0, NULL, 0, torn, rec, torn, rec);
    fz_pnl_plain(&dev_key.base, ps.slot[0], body, plain);
    put("pnl_load", "fix-fresh-nocheck", 0x21, 0, NULL, 0, plain, body, NULL, 0);
    panel_busy(&p, 1);
    uint8_t plain2[FZ_SLOT_MAX];
    fz_pnl_plain(&dev_key.base, ps.slot[p.save_slot], body, plain2);
    static uint8_t both[2 * FZ_SLOT_MAX];
    memcpy(both, plain, body);
    memcpy(both + body, plain2, body);
    put("pnl_load", "fix-both-newer-a", 0x13, (uint8_t)sizeof ops, ops, sizeof ops, both, 2 * body,
        NULL, 0);
    put("pnl_load", "fix-both-newer-b", 0x03, (uint8_t)sizeof ops2, ops2, sizeof ops2, both,
        2 * body, NULL, 0);
}

/* ---- the communicator ------------------------------------------------------ */

static int net_ok(struct comm_net *n, unsigned path, const uint8_t *f, size_t len)
{
    (void)n; (void)path; (void)f; (void)len;
    return 0;
}
static int net_down(struct comm_net *n, unsigned path, const uint8_t *f, size_t len)
{
    (void)n; (void)path; (void)f; (void)len;
    return -1;
}

static void comm_seeds(void)
{
    static struct pnl p;
    static struct comm c;
    static struct fz_store cs;
    panel_fresh(&p);
    const size_t rec = comm_record_size(), body = rec - FZ_COMM_HDR;
    struct comm_net ok = { net_ok }, down = { net_down };
    for (int variant = 0; variant < 3; variant++) {
        fz_store_init(&cs, 512u);
        memset(cs.slot, 0xFF, sizeof cs.slot);
        cs.len[0] = cs.len[1] = 512u;
        struct fz_rng rng;
        fz_rng_init(&rng, 777u + (uint32_t)variant);
        struct comm_ports ports = { .panel = &p, .net = variant == 2 ? &down : &ok,
                                    .storage = &cs.base,
                                    .cipher = variant == 1 ? NULL : &acct_key.base,
                                    .rng = &rng.base };
        struct comm_config cfg;
        comm_config_defaults(&cfg);
        memcpy(cfg.account, "1234AB", 7);
        cfg.paths = variant == 2 ? 2 : 1;
        cfg.supervision_s = variant == 2 ? 60 : 0;
        if (comm_init(&c, &ports, &cfg, 1000) != 0)
            abort();
        comm_set_wall(&c, 1000, 1795698568000LL);
        if (variant < 2) {
            (void)comm_report_sia(&c, "YG", 1, 2, "duress code programmed slot 3");
            (void)comm_report_sia(&c, "YK", 0, 0, variant ? "code refused R2 one-edit slot 1" : "");
            if (variant == 0)
                (void)comm_report_sia(&c, "JP", 2, 999, "x");
        } else {
            uint64_t now = 1000;
            for (int i = 0; i < 40; i++) {   /* both paths fail: CID 350 reports */
                comm_tick(&c, now);
                now += 61000;
            }
        }
        unsigned s = c.save_slot;
        if (!c.has_record) {
            fprintf(stderr, "fuzz_seeds: comm variant %d saved nothing\n", variant);
            exit(1);
        }
        char n[64];
        static const uint8_t ops[] = { 0x00, 0x40, 0x00, 0x60, 0x00, 0x70, 0x81, 0x00, 0x90,
                                       0xA0, 0xB3, 0xC0, 0x00 };
        static const uint8_t ops2[] = { 0x00, 0x00, 0x55, 0x81, 0x00, 0x80, 0x00 };
        snprintf(n, sizeof n, "raw-%d", variant);
        put("comm_load", n, variant == 1 ? 0x08 : 0x20, (uint8_t)sizeof ops, ops, sizeof ops,
            cs.slot[s], rec, NULL, 0);
        snprintf(n, sizeof n, "raw-both-%d", variant);
        put("comm_load", n, 0x42, (uint8_t)sizeof ops2, ops2, sizeof ops2, cs.slot[0], rec,
            cs.slot[1], rec);
        snprintf(n, sizeof n, "raw-exact-%d", variant);
        put("comm_load", n, 0x24, 0, NULL, 0, cs.slot[s], rec, NULL, 0);
        uint8_t rebuilt[512];
        fz_comm_build(cs.slot[s] + FZ_COMM_HDR, body, fz_get32(cs.slot[s] + 8), rebuilt);
        if (memcmp(rebuilt, cs.slot[s], rec) != 0) {
            fprintf(stderr, "fuzz_seeds: fz_comm_build does not match the comm record\n");
            exit(1);
        }
        snprintf(n, sizeof n, "fix-%d", variant);
        put("comm_load", n, 0x21 | (variant == 1 ? 0x08 : 0), (uint8_t)sizeof ops, ops, sizeof ops,
            cs.slot[s] + FZ_COMM_HDR, body, NULL, 0);
        snprintf(n, sizeof n, "fix-both-%d", variant);
        put("comm_load", n, 0x53, (uint8_t)sizeof ops2, ops2, sizeof ops2,
            cs.slot[s] + FZ_COMM_HDR, body, cs.slot[s ^ 1u] + FZ_COMM_HDR, body);
    }
    uint8_t e[512];
    memset(e, 0xFF, sizeof e);
    put("comm_load", "raw-erased", 0x20, 0, NULL, 0, e, 512, NULL, 0);
    put("comm_load", "raw-short", 0, 0, NULL, 0, e, 10, NULL, 0);
    memset(e, 0, sizeof e);
    put("comm_load", "fix-zero", 0x21, 0, NULL, 0, e, body, NULL, 0);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_seeds CORPUS_DIR   (writes pnl_load/ and comm_load/)\n");
        return 2;
    }
    outdir = argv[1];
    if (fz_cipher_init(&dev_key, FZ_DEVICE_KEY) != 0 ||
        fz_cipher_init(&acct_key, "0123456789ABCDEF") != 0)
        return 1;
    pnl_seeds();
    comm_seeds();
    return 0;
}
