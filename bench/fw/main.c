/*
 * bench/fw/main.c — the reference firmware image that bench/footprint sizes:
 * a Cortex-M0+ panel with the reference configuration (32 users, 64 zones,
 * 8 partitions, 64-event queue) driving every entry point of the panel core
 * and the DC-09 codec, so --gc-sections keeps what a real panel keeps.
 * The ports here are stand-ins for the platform's (flash, AES, RNG, keypad):
 * AES is the platform's and excluded from the figures. Never run: only linked.
 */
#include <stdint.h>

#include "vigil/dc09.h"
#include "vigil/panel.h"

_Static_assert(PNL_USERS_MAX == 32 && PNL_ZONES_MAX == 64 && PNL_PARTS_MAX == 8 &&
               PNL_QUEUE_MAX == 64, "reference configuration");

#define FLASH_STATE 0x00030000u     /* two 2 KiB pages for the A/B record */

static int st_read(struct pnl_storage *s, unsigned slot, size_t off, uint8_t *buf, size_t len)
{
    (void)s;
    const volatile uint8_t *f = (const volatile uint8_t *)(uintptr_t)(FLASH_STATE + slot * 2048u + off);
    for (size_t i = 0; i < len; i++)
        buf[i] = f[i];
    return 0;
}

static int st_write(struct pnl_storage *s, unsigned slot, size_t off, const uint8_t *buf, size_t len)
{
    (void)s;
    volatile uint8_t *f = (volatile uint8_t *)(uintptr_t)(FLASH_STATE + slot * 2048u + off);
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

static struct pnl panel;
static struct pnl_storage storage = { .slot_size = 2048, .read = st_read, .write = st_write };
static struct pnl_keyport key = { .encrypt_block = aes_block, .decrypt_block = aes_block };
static struct dc09_rng rng = { .fill = rng_fill };
static struct pnl_keypad keypad = { .out = kp_out };
static uint8_t frame[DC09_FRAME_MAX];
static struct dc09_frame f;

static uint64_t now_ms(void) { return *(volatile uint32_t *)(uintptr_t)0x4000B504u; }
static char key_in(void) { return (char)*(volatile uint8_t *)(uintptr_t)0x50000510u; }

int main(void);
int main(void)
{
    struct pnl_ports ports = { .storage = &storage, .key = &key, .rng = &rng, .keypad = &keypad };
    pnl_init(&panel, &ports);
    if (pnl_load(&panel, now_ms()) < 0) {
        struct pnl_config c;
        pnl_config_defaults(&c);
        pnl_set_config(&panel, &c);
        struct pnl_zone_cfg z = { .type = PNL_ZONE_ENTRY_EXIT, .part = 1 };
        pnl_zone_config(&panel, 1, &z);
        pnl_user_set(&panel, 1, "13572468", 8, PNL_ROLE_MASTER, 1, false, 0, NULL, NULL);
        pnl_set_setting(&panel, PNL_SET_EXIT_DELAY, 60);
    }
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
        /* The communicator's side: one event into a DC-09 frame, ACK parsed. */
        struct pnl_event e;
        if (pnl_queue_peek(&panel, &e) == PNL_OK) {
            char payload[16];
            struct dc09_cid cid = { e.qualifier, e.cid, e.part, e.zone };
            dc09_cid_format(&cid, payload, sizeof payload);
            f = (struct dc09_frame){ .id = DC09_ID_ADM_CID, .seq = (uint16_t)e.id };
            dc09_build_data(&f, "1234", payload, 11);
            size_t n = 0;
            if (dc09_encode(&f, NULL, &rng, frame, sizeof frame, &n) == 0) {
                pnl_queue_mark_sent(&panel, e.id);
                struct dc09_decode_opts o;
                dc09_decode_opts_init(&o, (int64_t)now_ms());
                if (dc09_decode(frame, n, &o, &f, NULL) == 0 && f.id == DC09_ID_ACK)
                    pnl_queue_ack(&panel, e.id);
            }
            (void)pnl_event_sia(&e);
        }
    }
}
