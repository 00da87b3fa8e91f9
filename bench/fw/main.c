/*
 * bench/fw/main.c — the reference firmware image that bench/footprint sizes:
 * a Cortex-M0+ panel with the reference configuration (32 users, 64 zones,
 * 8 partitions, 64-event queue) driving every entry point of the panel core,
 * the communicator and the DC-09 codec (the panel record in two slots of the
 * board's storage port, or with -DFW_NOR_FLASHLOG on NOR flash through the
 * wear-levelling log, flashlog.c), so --gc-sections keeps what a real panel
 * keeps.
 * The ports here are stand-ins for the platform's (flash, AES, RNG, keypad):
 * AES is the platform's and excluded from the figures. Never run: only linked.
 */
#include <stdint.h>

#include "vigil/comm.h"
#include "vigil/dc09.h"
#include "vigil/panel.h"

_Static_assert(PNL_USERS_MAX == 32 && PNL_ZONES_MAX == 64 && PNL_PARTS_MAX == 8 &&
               PNL_QUEUE_MAX == 64, "reference configuration");

#define FLASH_COMM  0x00031000u     /* two 1 KiB pages for the communicator's record (A/B) */
#define FLASH_LOG   0x00032000u     /* the panel's record log: 8 sectors of 4 KiB */
#define FLASH_STATE 0x00032000u     /* or the panel's record in two 2 KiB slots (A/B) */

/* Built twice by bench/footprint: `image` (the panel's record in two slots of
 * the board's storage port: what the image targets are about: core + DC-09 +
 * communicator + newlib helpers) and, with -DFW_NOR_FLASHLOG, `image_nor`
 * (the record on raw NOR through the wear-levelling log, flashlog.c, as a
 * NOR board links it below the storage port). */
#ifndef FW_NOR_FLASHLOG
static struct pnl_storage storage;
#endif

static uintptr_t flash_base(const struct pnl_storage *s)
{
#ifndef FW_NOR_FLASHLOG
    if (s == &storage)
        return FLASH_STATE;
#endif
    (void)s;
    return FLASH_COMM;
}

static int st_read(struct pnl_storage *s, unsigned slot, size_t off, uint8_t *buf, size_t len)
{
    const volatile uint8_t *f = (const volatile uint8_t *)(flash_base(s) + slot * s->slot_size + off);
    for (size_t i = 0; i < len; i++)
        buf[i] = f[i];
    return 0;
}

static int st_write(struct pnl_storage *s, unsigned slot, size_t off, const uint8_t *buf, size_t len)
{
    volatile uint8_t *f = (volatile uint8_t *)(flash_base(s) + slot * s->slot_size + off);
    for (size_t i = 0; i < len; i++)
        f[i] = buf[i];
    return 0;
}

/* The platform's AES block primitive (excluded: a stand-in). */
static int aes_block(struct pnl_keyport *k, uint8_t b[16])
{
    (void)k;
    volatile uint8_t *aes = (volatile uint8_t *)(uintptr_t)0x4000E000u;  /* nRF51 ECB */
    for (int i = 0; i < 16; i++)
        aes[i] = b[i];
    for (int i = 0; i < 16; i++)
        b[i] = aes[16 + i];
    return 0;
}

static void rng_fill(struct dc09_rng *r, uint8_t *buf, size_t len)
{
    (void)r;
    volatile uint8_t *rng = (volatile uint8_t *)(uintptr_t)0x4000D508u;  /* nRF51 RNG VALUE */
    for (size_t i = 0; i < len; i++)
        buf[i] = *rng;
}

static void kp_out(struct pnl_keypad *k, const struct pnl_out *o)
{
    (void)k;
    *(volatile uint32_t *)(uintptr_t)0x50000508u = (uint32_t)o->kind << 16 | o->value;
}

/* The IP module: one frame written to its TX FIFO per send. */
static int net_send(struct comm_net *n, unsigned path, const uint8_t *frame, size_t len)
{
    (void)n;
    volatile uint8_t *tx = (volatile uint8_t *)(uintptr_t)(0x40002000u + path * 0x100u);
    for (size_t i = 0; i < len; i++)
        *tx = frame[i];
    return 0;
}

static struct pnl panel;
static struct comm comm;
#ifdef FW_NOR_FLASHLOG
/* The panel's record on raw NOR flash through the wear-levelling log
 * (flashlog.c), as a product on NOR links it: 8 sectors of 4 KiB at FLASH_LOG
 * (the nRF51's 1 KiB pages erased four at a time). The NOR port is a
 * stand-in over the mapped flash (a real one drives the NVMC). */
static int nor_read(struct pnl_nor *f, uint32_t a, uint8_t *buf, size_t len)
{
    (void)f;
    const volatile uint8_t *m = (const volatile uint8_t *)(uintptr_t)(FLASH_LOG + a);
    for (size_t i = 0; i < len; i++)
        buf[i] = m[i];
    return 0;
}
static int nor_program(struct pnl_nor *f, uint32_t a, const uint8_t *buf, size_t len)
{
    (void)f;
    volatile uint8_t *m = (volatile uint8_t *)(uintptr_t)(FLASH_LOG + a);
    for (size_t i = 0; i < len; i++)
        m[i] &= buf[i];
    return 0;
}
static int nor_erase(struct pnl_nor *f, uint16_t sector)
{
    volatile uint32_t *m = (volatile uint32_t *)(uintptr_t)(FLASH_LOG + sector * f->sector_size);
    for (uint32_t i = 0; i < f->sector_size / 4u; i++)
        m[i] = 0xFFFFFFFFu;
    return 0;
}
static struct pnl_nor nor = { .sector_size = 4096, .sectors = 8, .read = nor_read,
                              .program = nor_program, .erase = nor_erase };
static struct pnl_flashlog flashlog;
#else
static struct pnl_storage storage = { .slot_size = 2048, .read = st_read, .write = st_write };
#endif
static struct pnl_storage comm_storage = { .slot_size = 1024, .read = st_read, .write = st_write };
static struct comm_net net = { .send = net_send };

static struct pnl_keyport key = { .encrypt_block = aes_block, .decrypt_block = aes_block };
static struct dc09_rng rng = { .fill = rng_fill };
static struct pnl_keypad keypad = { .out = kp_out };

static uint64_t now_ms(void) { return *(volatile uint32_t *)(uintptr_t)0x4000B504u; }
static char key_in(void) { return (char)*(volatile uint8_t *)(uintptr_t)0x50000510u; }

/* Start-up, in two steps that are not inlined into main or into each other:
 * the core (load its record, or configure a new panel), then the
 * communicator. Each step's locals, and the frames of what it calls (with
 * -flto: what is inlined into it, such as comm_load's record buffer), are off
 * the stack before the next step and before the loop runs, so the image's worst
 * stack path is the deepest single step, not their sum. */
__attribute__((noinline)) static void boot_panel(void)
{
#ifdef FW_NOR_FLASHLOG
    (void)pnl_flashlog_mount(&flashlog, &nor, pnl_record_size());
    struct pnl_ports ports = { .storage = &flashlog.base, .key = &key, .rng = &rng, .keypad = &keypad };
#else
    struct pnl_ports ports = { .storage = &storage, .key = &key, .rng = &rng, .keypad = &keypad };
#endif
    pnl_init(&panel, &ports);
    if (pnl_load(&panel, now_ms()) < 0) {
        /* a new panel: pnl_init's defaults, the exit delay set (and the
         * whole configuration saved) through pnl_set_setting > pnl_set_config */
        struct pnl_zone_cfg z = { .type = PNL_ZONE_ENTRY_EXIT, .part = 1 };
        pnl_zone_config(&panel, 1, &z);
        pnl_user_set(&panel, 1, "13572468", 8, PNL_ROLE_MASTER, 1, false, 0, NULL, NULL);
        pnl_set_setting(&panel, PNL_SET_EXIT_DELAY, 60);
    }
}

__attribute__((noinline)) static void boot_comm(void)
{
    struct comm_ports cports = { .panel = &panel, .net = &net, .storage = &comm_storage,
                                 .cipher = NULL, .rng = &rng, .notes = NULL };
    struct comm_config cc;
    comm_config_defaults(&cc);
    cc.paths = 2;
    cc.supervision_s = 90;
    cc.account[0] = '1'; cc.account[1] = '2'; cc.account[2] = '3'; cc.account[3] = '4';
    cc.account[4] = '\0';
    comm_init(&comm, &cports, &cc, now_ms());
    (void)comm_load(&comm);
    comm_set_wall(&comm, now_ms(), 1764000000000LL);
}

int main(void);
int main(void)
{
    boot_panel();
    boot_comm();
    for (;;) {
        char k = key_in();
        if (k)
            pnl_key(&panel, k, now_ms());
        uint32_t zin = *(volatile uint32_t *)(uintptr_t)0x50000514u;
        if (zin)
            pnl_zone_set(&panel, zin & 0xFF, (zin >> 8) & 1, now_ms());
        pnl_tick(&panel, now_ms());
        if (zin == 0xFFFF) {
            pnl_arm(&panel, 1, PNL_MODE_STAY, 1, now_ms());
            pnl_user_delete(&panel, 2);
        }
        /* The communicator drains the queue; replies come from the IP module. */
        comm_tick(&comm, now_ms());
        uint32_t rx = *(volatile uint32_t *)(uintptr_t)0x40002518u;
        if (rx) {
            uint8_t b = (uint8_t)rx;
            comm_receive(&comm, (rx >> 8) & 1u, &b, 1, false, now_ms());
        }
        if (rx == 0xFFFFu) {
            comm_path_lost(&comm, 0, now_ms());
            comm_path_up(&comm, 0, now_ms());
            comm_report_sia(&comm, "YG", 1, 2, "duress code programmed");
        }
        struct pnl_event e;
        if (pnl_queue_peek(&panel, &e) == PNL_OK) {
            (void)pnl_event_sia(&e);
        }
    }
}
