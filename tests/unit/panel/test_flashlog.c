/*
 * test_flashlog.c — the wear-levelling log below the storage port
 * (lib/panel/flashlog.c) with the real panel core saving through it, over a
 * fake NOR flash that behaves like one: erase sets a sector to 0xFF, program
 * only clears bits (and programming a byte that is not erased is counted as
 * a fault: a log must never do it), and a power cut tears the operation it
 * lands on (half a program, half an erase) and fails everything after it.
 *
 * Covers: every save lands and loads again through remounts; erase counts
 * stay within one of each other after every save; a cut at every program and
 * erase index of a run that wraps the log leaves either the old or the new
 * state, never an error, and the log goes on saving afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "panel_fixture.h"

#define NOR_MAX (8u * 4096u)

struct nor {
    struct pnl_nor base;
    uint8_t mem[NOR_MAX];
    unsigned erases[8];
    long ops;          /* program + erase calls so far */
    long cut_at;       /* the op the power cut tears; <0 never */
    int dead;          /* power is off: everything fails */
    unsigned overwrites;   /* bytes programmed that were not erased */
};

static int nor_read(struct pnl_nor *f, uint32_t a, uint8_t *buf, size_t len)
{
    struct nor *n = (struct nor *)(void *)f;
    assert_true(a + len <= (size_t)f->sector_size * f->sectors);
    memcpy(buf, n->mem + a, len);
    return 0;
}

static int nor_program(struct pnl_nor *f, uint32_t a, const uint8_t *buf, size_t len)
{
    struct nor *n = (struct nor *)(void *)f;
    if (n->dead)
        return PNL_E_STORAGE;
    assert_true(a + len <= (size_t)f->sector_size * f->sectors);
    /* never across a sector boundary: a record lives in one sector */
    assert_int_equal(a / f->sector_size, (a + len - 1) / f->sector_size);
    size_t m = len;
    if (n->ops++ == n->cut_at) {
        m = len / 2;
        n->dead = 1;
    }
    for (size_t i = 0; i < m; i++) {
        if (n->mem[a + i] != 0xFF)
            n->overwrites++;
        n->mem[a + i] &= buf[i];
    }
    return n->dead ? PNL_E_STORAGE : 0;
}

static int nor_erase(struct pnl_nor *f, uint16_t sec)
{
    struct nor *n = (struct nor *)(void *)f;
    if (n->dead)
        return PNL_E_STORAGE;
    assert_true(sec < f->sectors);
    uint8_t *s = n->mem + (size_t)sec * f->sector_size;
    if (n->ops++ == n->cut_at) {
        memset(s, 0xFF, f->sector_size / 2);          /* torn: half erased */
        s[f->sector_size - 1] ^= 0x5A;                /* and the rest not clean */
        n->dead = 1;
        return PNL_E_STORAGE;
    }
    memset(s, 0xFF, f->sector_size);
    n->erases[sec]++;
    return 0;
}

static struct nor N;
static struct fx F;
static struct pnl_flashlog L;

static void nor_init(uint32_t sector_size, uint16_t sectors)
{
    memset(&N, 0, sizeof N);
    memset(N.mem, 0xA5, sizeof N.mem);                /* factory flash: anything */
    N.base = (struct pnl_nor){ .sector_size = sector_size, .sectors = sectors,
                               .read = nor_read, .program = nor_program, .erase = nor_erase };
    N.cut_at = -1;
}

/* Power on: mount the log, attach a fresh panel to it. */
static void boot(void)
{
    N.dead = 0;
    N.cut_at = -1;
    assert_int_equal(pnl_flashlog_mount(&L, &N.base, pnl_record_size()), PNL_OK);
    struct pnl_ports ports = { .storage = &L.base, .key = &F.key, .rng = &F.rng, .keypad = &F.kp };
    pnl_init(&F.p, &ports);
}

static int save_value(uint16_t v)
{
    struct pnl_config c = F.p.cfg;
    c.exit_delay_s = v;
    return pnl_set_config(&F.p, &c);
}

static uint16_t val(unsigned i) { return (uint16_t)(45u + i % 200u); }   /* 45..244: in range */

static void spread_at_most_one(void)
{
    unsigned lo = ~0u, hi = 0;
    for (unsigned s = 0; s < N.base.sectors; s++) {
        lo = N.erases[s] < lo ? N.erases[s] : lo;
        hi = N.erases[s] > hi ? N.erases[s] : hi;
    }
    assert_true(hi - lo <= 1);
}

static void mount_refuses_too_small(void **state)
{
    (void)state;
    fx_init(&F);
    nor_init(4096, 1);                                     /* one sector: no room to erase */
    assert_int_equal(pnl_flashlog_mount(&L, &N.base, pnl_record_size()), PNL_E_NOSPACE);
    nor_init(2048, 2);                                     /* two records in all */
    assert_int_equal(pnl_flashlog_mount(&L, &N.base, pnl_record_size()), PNL_E_NOSPACE);
    nor_init(1024, 8);                                     /* a record bigger than a sector */
    assert_int_equal(pnl_flashlog_mount(&L, &N.base, pnl_record_size()), PNL_E_INVAL);
}

/* K saves over 8 sectors of 4 KiB (2 records each): every one loads after a
 * remount, and erase counts never drift apart by more than one. */
static void wear_even(void **state)
{
    (void)state;
    fx_init(&F);
    nor_init(4096, 8);
    boot();
    assert_int_equal(pnl_load(&F.p, F.clk), PNL_E_EMPTY);
    assert_int_equal(L.npos, 16);
    const unsigned K = 16u * 6u + 5u;
    for (unsigned i = 1; i <= K; i++) {
        assert_int_equal(save_value(val(i)), PNL_OK);
        spread_at_most_one();
        if (i % 7 == 0 || i == K) {
            boot();
            assert_int_equal(pnl_load(&F.p, F.clk), PNL_OK);
            assert_int_equal(F.p.cfg.exit_delay_s, val(i));
            /* slot 1 is the previous record */
            struct pnl_storage *st = &L.base;
            uint8_t h0[32], h1[32];
            assert_int_equal(st->read(st, 0, 0, h0, 32), 0);
            assert_int_equal(st->read(st, 1, 0, h1, 32), 0);
            assert_int_equal((uint32_t)(h0[8] | h0[9] << 8) - (uint32_t)(h1[8] | h1[9] << 8), 1);
        }
    }
    unsigned total = 0;
    for (unsigned s = 0; s < 8; s++) {
        total += N.erases[s];
        assert_true(N.erases[s] >= K / 16u);               /* every sector takes its share */
    }
    assert_int_equal(total, (K + 1u) / 2u);                /* one erase per 2 saves */
    assert_int_equal(N.overwrites, 0);
}

/* A power cut at every program and erase of a run that wraps the log twice:
 * after the reboot the panel has the state before or after the save that
 * was cut, never an error, and the next saves work. */
static void cut(uint32_t sector_size, uint16_t sectors, unsigned saves)
{
    fx_init(&F);
    long total = -1;
    for (long c = 0; total < 0 || c <= total; c++) {
        nor_init(sector_size, sectors);
        boot();
        N.cut_at = c;
        unsigned i = 1;
        for (; i <= saves; i++)
            if (save_value(val(i)) != PNL_OK)
                break;
        if (i > saves) {                                   /* ran past the last op */
            assert_int_equal(N.dead, 0);
            total = N.ops - 1;
            continue;
        }
        assert_int_equal(N.dead, 1);
        boot();
        int e = pnl_load(&F.p, F.clk);
        if (i == 1 && e == PNL_E_EMPTY) {
            /* the very first save was cut: nothing was ever stored */
        } else {
            assert_int_equal(e, PNL_OK);
            uint16_t got = F.p.cfg.exit_delay_s;
            if (got != val(i - 1) || i == 1)
                assert_int_equal(got, val(i));             /* old or new, nothing else */
        }
        /* and it goes on: two more saves, a reboot, the last one back */
        assert_int_equal(save_value(250), PNL_OK);
        assert_int_equal(save_value(251), PNL_OK);
        boot();
        assert_int_equal(pnl_load(&F.p, F.clk), PNL_OK);
        assert_int_equal(F.p.cfg.exit_delay_s, 251);
        assert_int_equal(N.overwrites, 0);
    }
    assert_true(total > (long)saves * 40);                 /* the run was really cut everywhere */
}

static void power_cut_two_per_sector(void **state)
{
    (void)state;
    cut(4096, 3, 2u * 6u + 1u);                            /* 6 positions, wrapped twice */
}

static void power_cut_one_per_sector(void **state)
{
    (void)state;
    cut(2048, 3, 2u * 3u + 1u);                            /* a record per sector */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mount_refuses_too_small),
        cmocka_unit_test(wear_even),
        cmocka_unit_test(power_cut_two_per_sector),
        cmocka_unit_test(power_cut_one_per_sector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
