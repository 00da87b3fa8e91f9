/*
 * vigil/panel.h — the panel core: user codes and duress, the code policy
 * (R1–R8), partitions, zones, the CP-01 arming state machine, the wrong-code
 * lockout, the keypad-visible history, and the persisted outbound event queue
 * that the communicator drains.
 *
 * Portable C11 that runs unchanged on a Cortex-M0, in the Linux simulator and
 * in tests. It never allocates, never reads a clock, never does I/O and keeps
 * no global state: the caller owns `struct pnl` (sized by the compile-time
 * maxima below), time arrives as `now_ms`, and storage, the device key,
 * randomness and keypad output reach the core through the port structs.
 *
 * What it must never do: let anything observable at the premises (keypad
 * output, siren, history, storage writes, timing) differ between a duress code
 * and the normal code it shadows; drop or delay a duress event behind routine
 * traffic; keep or write a code in the clear outside RAM.
 *
 * Errors: 0 on success, a negative enum pnl_err, pnl_strerror() names each.
 * Domain rules and defaults: docs/DURESS.md; this API: docs/panel.md.
 */
#ifndef VIGIL_PANEL_H
#define VIGIL_PANEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/dc09.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- compile-time maxima (reference configuration) ------------------- */

#ifndef PNL_USERS_MAX
#define PNL_USERS_MAX     32u   /* code slots, numbered 1..PNL_USERS_MAX */
#endif
#ifndef PNL_ZONES_MAX
#define PNL_ZONES_MAX     64u   /* zones, numbered 1..PNL_ZONES_MAX */
#endif
#ifndef PNL_PARTS_MAX
#define PNL_PARTS_MAX     8u    /* partitions, numbered 1..PNL_PARTS_MAX */
#endif
#ifndef PNL_QUEUE_MAX
#define PNL_QUEUE_MAX     64u   /* outbound events held until ACK */
#endif
#ifndef PNL_HISTORY_MAX
#define PNL_HISTORY_MAX   16u   /* keypad-visible history entries */
#endif
#define PNL_CODE_LEN_MIN  4u
#define PNL_CODE_LEN_MAX  8u
#define PNL_POLICY_HITS_MAX 24u /* hits kept in a pnl_policy_result */

/* ---- errors ---------------------------------------------------------- */

enum pnl_err {
    PNL_OK             = 0,
    PNL_E_INVAL        = -1,  /* caller passed an invalid argument */
    PNL_E_CODE_FORMAT  = -2,  /* a code that is not 4–8 digits 0-9 */
    PNL_E_RANGE        = -3,  /* a setting outside its DURESS.md range */
    PNL_E_FULL         = -4,  /* the user table has no free slot */
    PNL_E_POLICY       = -5,  /* code refused by the code policy (R1–R8) */
    PNL_E_NOKEY        = -6,  /* the device key is missing */
    PNL_E_CRYPTO       = -7,  /* the key port failed otherwise */
    PNL_E_STORAGE      = -8,  /* the storage port failed (write/read error) */
    PNL_E_EMPTY        = -9,  /* no record stored yet (both slots blank) */
    PNL_E_CORRUPT      = -10, /* no slot holds a record whose checksum matches */
    PNL_E_TRUNCATED    = -11, /* the stored record is shorter than the format needs */
    PNL_E_VERSION      = -12, /* a record of a format version this core cannot read */
    PNL_E_SLOT         = -13, /* no such user slot / zone / partition */
    PNL_E_DENIED       = -14, /* the code's role or partitions do not allow it */
    PNL_E_STATE        = -15, /* not possible in the partition's current state */
    PNL_E_QUEUE_EMPTY  = -16, /* no event in the outbound queue */
    PNL_E_NOENT        = -17, /* no queued event with that id */
    PNL_E_NOSPACE      = -18, /* caller's buffer or the storage slot is too small */
    PNL_E_KEY_MISMATCH = -19, /* the device key does not open the stored codes */
};
/* Positive result of pnl_load(): loaded, but the newer slot was torn or damaged
 * (power cut during a save): the previous state was loaded and is intact. */
#define PNL_LOAD_RECOVERED 1

const char *pnl_strerror(int err);

/* ---- the code policy (R1–R8 of DURESS.md) ----------------------------- */

enum pnl_rule {
    PNL_R1_EQUAL = 1,   /* "R1 equal" */
    PNL_R2_ONE_EDIT,    /* "R2 one-edit" */
    PNL_R3_PREFIX,      /* "R3 prefix-suffix" */
    PNL_R4_NUMERIC,     /* "R4 numeric" */
    PNL_R5_TWIN,        /* "R5 twin" */
    PNL_R6_SAME_DIGITS, /* "R6 same-digits" */
    PNL_R7_SAME_KEYS,   /* "R7 same-keys" */
    PNL_R8_WEAK,        /* "R8 weak" */
};
const char *pnl_rule_id(enum pnl_rule r);    /* "R2" */
const char *pnl_rule_name(enum pnl_rule r);  /* "one-edit" */

/* A keypad whose keys carry two digits each (R7): key[d] is the key that
 * carries digit d; two digits on the same key share a number. Configured
 * when `enabled`; otherwise R7 never applies. */
struct pnl_layout {
    bool    enabled;
    uint8_t key[10];
};
/* Parses "12,34,56,78,90" (five keys of two digits) into a layout. */
int pnl_layout_parse(const char *s, struct pnl_layout *out);

/* A code as the policy sees it: digits as ASCII, NUL-terminated. */
struct pnl_policy_code {
    uint8_t slot;                          /* the panel's slot number (1-based) */
    bool    duress;
    char    digits[PNL_CODE_LEN_MAX + 1];
};

struct pnl_policy_hit {
    uint8_t rule;   /* enum pnl_rule */
    uint8_t slot;   /* colliding slot; 0 for R8 (no slot) */
};

struct pnl_policy_result {
    bool    accepted;
    uint8_t hit_count;                     /* hits kept (<= PNL_POLICY_HITS_MAX) */
    uint16_t hit_total;                    /* hits found (may exceed hit_count) */
    struct pnl_policy_hit hits[PNL_POLICY_HITS_MAX];
    bool    weak_warning;                  /* R8 matched a user (non-duress) code */
};

/*
 * Checks `code` (ASCII digits, len 4..8), about to become a duress code
 * (`duress`) or a user code, against `existing[0..n)`. Pairs are checked when
 * either side is duress (both directions). Every matching rule is a hit,
 * naming the colliding slot; R8 refuses a duress code (slot 0) and only warns
 * for a user code. Never reveals digits: the result holds rule and slot only.
 * Returns PNL_E_CODE_FORMAT if `code` or an existing code is not 4–8 digits.
 */
int pnl_policy_check(const char *code, size_t len, bool duress,
                     const struct pnl_policy_code *existing, size_t n,
                     const struct pnl_layout *layout,
                     struct pnl_policy_result *res);
/* True if a code (ASCII digits) is weak by R8. */
bool pnl_code_is_weak(const char *code, size_t len);

/* ---- ports ----------------------------------------------------------- */

/*
 * Persistent storage: two slots (A/B) of at least pnl_record_size() bytes.
 * read/write return 0 or a negative pnl_err (PNL_E_STORAGE; read may return
 * PNL_E_TRUNCATED when the slot holds fewer bytes than asked).
 */
struct pnl_storage {
    size_t slot_size;
    int (*read)(struct pnl_storage *s, unsigned slot, size_t off, uint8_t *buf, size_t len);
    int (*write)(struct pnl_storage *s, unsigned slot, size_t off, const uint8_t *buf, size_t len);
};

/*
 * Wear levelling below the storage port (flashlog.c): a pnl_storage over a
 * raw NOR flash of `sectors` erase units of `sector_size` bytes (erase sets a
 * sector to 0xFF; program only clears bits; addresses from 0). Records are
 * appended round the whole flash, the newest valid one wins; slot 0 reads
 * the newest, slot 1 the previous. Written for pnl_save()'s order (body
 * ascending, header last at offset 0). Needs >= 2 sectors and >= 3 records.
 */
struct pnl_nor {
    uint32_t sector_size;
    uint16_t sectors;
    int (*read)(struct pnl_nor *f, uint32_t addr, uint8_t *buf, size_t len);
    int (*program)(struct pnl_nor *f, uint32_t addr, const uint8_t *buf, size_t len);
    int (*erase)(struct pnl_nor *f, uint16_t sector);
};
struct pnl_flashlog {
    struct pnl_storage base;  /* hand &base to pnl_ports.storage (first member) */
    struct pnl_nor *nor;
    uint16_t per, npos;       /* records per sector, in the whole log */
    uint16_t pos[2];          /* position each slot reads (0xFFFF: none) */
    uint16_t next;            /* where the next save starts */
    uint16_t hi[2];           /* a save in progress: end of its last write */
    uint8_t open[2];
};
/* Scans the flash (reads only). PNL_OK, PNL_E_INVAL, PNL_E_NOSPACE (too few
 * sectors/records), PNL_E_STORAGE. record_size: pnl_record_size(). */
int pnl_flashlog_mount(struct pnl_flashlog *l, struct pnl_nor *nor, size_t record_size);

/*
 * The device key: encrypts/decrypts 16-byte blocks in place, each block on its
 * own (AES-ECB of one block; the core does the chaining). Returns 0,
 * PNL_E_NOKEY when no key is provisioned, or PNL_E_CRYPTO.
 */
struct pnl_keyport {
    int (*encrypt_block)(struct pnl_keyport *k, uint8_t block[16]);
    int (*decrypt_block)(struct pnl_keyport *k, uint8_t block[16]);
};
/* Adapter: a pnl_keyport over a DC-09 cipher port (AES-CBC with zero IV on
 * one block is AES of that block). cipher NULL → every call PNL_E_NOKEY. */
struct pnl_keyport_dc09 {
    struct pnl_keyport base;
    struct dc09_cipher *cipher;
};
void pnl_keyport_dc09_init(struct pnl_keyport_dc09 *k, struct dc09_cipher *cipher);

/* What the premises see and hear. One call per output. */
enum pnl_out_kind {
    PNL_OUT_KEY_BEEP = 1, /* a key press was taken */
    PNL_OUT_ACK_BEEP,     /* an entry was accepted */
    PNL_OUT_ERR_BEEP,     /* an entry was refused */
    PNL_OUT_DISPLAY,      /* value = enum pnl_display, value2 = detail */
    PNL_OUT_SIREN,        /* value = 0 off, 1 burglary, 2 fire */
    PNL_OUT_CHIME,        /* value = zone */
    PNL_OUT_LED_ARMED,    /* value = 0/1 */
};
/* PNL_DISP_ALARM with value2 = 0: an alarm raised at the keypad (fire key). */
enum pnl_display {
    PNL_DISP_DISARMED = 1,
    PNL_DISP_NOT_READY,      /* value2 = first open zone */
    PNL_DISP_EXIT_DELAY,
    PNL_DISP_ARMED_AWAY,
    PNL_DISP_ARMED_STAY,
    PNL_DISP_ARMED_NIGHT,
    PNL_DISP_ARMED_INSTANT,
    PNL_DISP_ENTRY_DELAY,
    PNL_DISP_ALARM,          /* value2 = zone */
    PNL_DISP_LOCKED,         /* wrong-code lockout */
    PNL_DISP_PROGRAM,        /* waiting for the rest of a programming entry */
    PNL_DISP_REFUSED,        /* value2 = rule << 8 | slot (policy refusal; never digits) */
    PNL_DISP_WEAK,           /* accepted with an R8 warning */
};
struct pnl_out {
    uint8_t  kind;   /* enum pnl_out_kind */
    uint8_t  part;   /* partition, 1-based */
    uint16_t value;
    uint16_t value2;
};
struct pnl_keypad {
    void (*out)(struct pnl_keypad *k, const struct pnl_out *o);
};

struct pnl_ports {
    struct pnl_storage *storage;  /* required */
    struct pnl_keyport *key;      /* required for saving/loading codes */
    struct dc09_rng    *rng;      /* required: the per-save nonce of the code block */
    struct pnl_keypad  *keypad;   /* may be NULL */
};

/* ---- configuration --------------------------------------------------- */

enum pnl_role {
    PNL_ROLE_NONE = 0,
    PNL_ROLE_MASTER,     /* arms/disarms, manages users from the keypad (*7, *8) */
    PNL_ROLE_USER,       /* arms/disarms, bypasses */
    PNL_ROLE_ARM_ONLY,   /* arms only */
    PNL_ROLE_INSTALLER,  /* settings (*9); does not arm or disarm */
};

enum pnl_zone_type {
    PNL_ZONE_UNUSED = 0,
    PNL_ZONE_ENTRY_EXIT,   /* delayed: starts the entry delay, used to leave */
    PNL_ZONE_INTERIOR,     /* follower: delayed while an entry delay runs; off in stay */
    PNL_ZONE_INSTANT,      /* perimeter, instant */
    PNL_ZONE_HOLDUP,       /* 24-h silent hold-up (CID 122), no siren */
    PNL_ZONE_PANIC,        /* 24-h audible panic (CID 123) */
    PNL_ZONE_FIRE,         /* 24-h fire (CID 110) */
    PNL_ZONE_TAMPER,       /* 24-h tamper (CID 137) */
};
#define PNL_ZF_CHIME 0x01u  /* chimes while disarmed when chime is on */
#define PNL_ZF_NIGHT 0x02u  /* interior zone that night mode arms */

struct pnl_zone_cfg {
    uint8_t type;   /* enum pnl_zone_type */
    uint8_t part;   /* 1..PNL_PARTS_MAX */
    uint8_t flags;  /* PNL_ZF_* */
};

/* CP-01 settings; ranges and defaults of DURESS.md. */
struct pnl_config {
    uint16_t exit_delay_s;       /* 45..255, default 60 */
    uint16_t entry_delay_s;      /* 30..240, default 30; entry + abort <= 60 */
    uint16_t abort_window_s;     /* 15..45, default 30 */
    uint16_t cancel_window_s;    /* 300..3600, default 300 */
    uint8_t  swinger_trips;      /* 1..6, default 2 */
    uint8_t  lockout_tries;      /* 1..10, default 5 */
    uint16_t lockout_s;          /* 90..3600, default 90 */
    uint16_t siren_limit_s;      /* 240..900, default 240 */
    uint32_t test_interval_s;    /* 3600..2592000, default 86400 */
    uint16_t recent_closing_s;   /* 120 (CP-01: 2 min) */
    bool     exit_restart;       /* default on: exit delay restarts once */
    bool     auto_stay;          /* default on: away → stay if no exit door opened */
    bool     recent_closing;     /* default on: CID 459 */
    bool     exit_error;         /* default on: CID 374 */
    /* Keypad emergency keys (held 2 s; docs/panel.md "Keypad grammar"). */
    uint8_t  key_fire;           /* 0 off, 1 on (CID 115, fire siren); default 1 */
    uint8_t  key_medical;        /* 0 off, 1 on (CID 100, no siren); default 1 */
    uint8_t  key_panic;          /* 0 off, 1 audible (CID 120, siren), 2 silent
                                    (CID 122, nothing at the premises); default 1 */
    uint8_t  ac_delay_min;       /* AC loss reported after this long without AC:
                                    0..255 min, default 30 */
    struct pnl_layout layout;    /* R7 keypad; default none */
};
void pnl_config_defaults(struct pnl_config *c);
/* PNL_E_RANGE if any field is out of its range. */
int pnl_config_validate(const struct pnl_config *c);

/* Installer settings by number (keypad *9 PP value#). */
enum pnl_setting {
    PNL_SET_EXIT_DELAY = 1, PNL_SET_ENTRY_DELAY, PNL_SET_ABORT_WINDOW,
    PNL_SET_CANCEL_WINDOW, PNL_SET_SWINGER, PNL_SET_LOCKOUT_TRIES,
    PNL_SET_LOCKOUT, PNL_SET_SIREN_LIMIT, PNL_SET_TEST_INTERVAL,
    PNL_SET_EXIT_RESTART, PNL_SET_AUTO_STAY, PNL_SET_RECENT_CLOSING,
    PNL_SET_EXIT_ERROR,
    PNL_SET_KEY_FIRE, PNL_SET_KEY_MEDICAL, PNL_SET_KEY_PANIC, PNL_SET_AC_DELAY,
};

/* ---- events and the outbound queue ----------------------------------- */

/* Priority (DURESS.md "At the station"): 1 duress/hold-up, 2 fire, 3 panic,
 * 4 burglary, 5 trouble, 6 routine. Lower goes first. */
struct pnl_event {
    uint8_t  qualifier;  /* 1 new / opening, 3 restore / closing */
    uint16_t cid;        /* Contact ID event 000..999 */
    uint8_t  part;       /* partition, 0 = none */
    uint16_t zone;       /* zone or user number */
    uint8_t  prio;
    uint8_t  sent;       /* handed to the communicator, not yet ACKed */
    uint16_t info;       /* CID 306 (programming report): PNL_PI_* below; else 0 */
    uint32_t id;         /* monotonic; FIFO order within a priority */
};
uint8_t pnl_cid_priority(uint16_t cid);
/* SIA code for the event through the DC-09 table (e.g. 1121 → "HA"), or NULL. */
const char *pnl_event_sia(const struct pnl_event *e);

/*
 * Programming reports: every result of programming a code (pnl_user_set,
 * pnl_user_delete, keypad *7 / *8) queues CID 306 (SIA YG, "parameter
 * changed"), qualifier 1, part = partition, zone = the slot, and in `info`
 * what happened (never digits of a code):
 *   bit 15 duress code; bits 12..14 PNL_PR_*; bits 8..11 rule; bits 0..7 slot
 *   of the code it collided with (PNL_PR_REFUSED_RULE).
 * pnl_event_text() turns it into the text the station shows, e.g.
 * "duress code refused R2 one-edit slot 1"; the communicator sends such an
 * event as SIA-DCS YG with that text.
 */
#define PNL_CID_PROGRAM 306u
enum { PNL_PR_PROGRAMMED = 0, PNL_PR_WEAK, PNL_PR_REFUSED_RULE, PNL_PR_REFUSED, PNL_PR_DELETED };
#define PNL_PI_DURESS 0x8000u
#define PNL_EVENT_TEXT_MAX 48u
/* Writes the event's text (NUL-terminated, at most PNL_EVENT_TEXT_MAX chars)
 * into buf and returns its length; 0 (buf "") for an event without text. */
size_t pnl_event_text(const struct pnl_event *e, char *buf, size_t cap);

/* ---- the panel ------------------------------------------------------- */

enum pnl_arm_mode { PNL_MODE_AWAY = 1, PNL_MODE_STAY, PNL_MODE_NIGHT, PNL_MODE_INSTANT };
enum pnl_part_state {
    PNL_ST_DISARMED = 0, PNL_ST_EXIT, PNL_ST_ARMED, PNL_ST_ENTRY, PNL_ST_ALARM,
};

/* Keypad-visible history: what a user can scroll through at the keypad. A
 * duress entry appears exactly as the normal entry of the user it reports. */
enum pnl_hist_kind { PNL_H_DISARM = 1, PNL_H_ARM, PNL_H_ALARM, PNL_H_LOCKOUT, PNL_H_FIRE,
                     PNL_H_PROGRAM };
struct pnl_history {
    uint8_t  kind;
    uint8_t  part;
    uint16_t who;      /* user or zone number */
    uint8_t  mode;     /* enum pnl_arm_mode for PNL_H_ARM */
};

/* Internal layout below: read through the functions, not the fields. */
struct pnl__user {
    uint8_t code[PNL_CODE_LEN_MAX]; /* digits 0..9, 0xFF past the end */
    uint8_t len;                    /* 0 = empty slot */
    uint8_t role;
    uint8_t parts;                  /* partition mask, bit 0 = partition 1 */
    uint8_t duress;                 /* 1 = duress code */
    uint8_t link;                   /* personal duress: linked user; 0 = general */
};
struct pnl__zone {
    struct pnl_zone_cfg cfg;
    uint8_t open;
    uint8_t bypass;
    uint8_t trips;                  /* alarm trips this arming (swinger) */
};
struct pnl__part {
    uint8_t  state;                 /* enum pnl_part_state */
    uint8_t  mode;                  /* enum pnl_arm_mode */
    uint8_t  chime;
    uint8_t  wrong;                 /* wrong codes in a row */
    uint16_t arm_user;              /* who armed (closing report, 459) */
    uint16_t alarm_zone;
    uint8_t  exit_door_opened;
    uint8_t  exit_door_closed_after;
    uint8_t  exit_restarted;
    uint8_t  exit_error;
    uint8_t  reported;              /* the alarm report went */
    uint8_t  siren;
    uint8_t  alarm_kind;            /* 0 none, 1 burglary, 2 fire */
    uint8_t  hkey;                  /* emergency key being held ('F','M','P'); |0x80 taken */
    uint64_t exit_end_ms;
    uint64_t entry_end_ms;
    uint64_t abort_end_ms;
    uint64_t cancel_end_ms;
    uint64_t siren_end_ms;
    uint64_t armed_at_ms;           /* end of exit delay (recent closing) */
    uint64_t alarm_at_ms;
    uint64_t lockout_end_ms;
    uint8_t  locked;
    /* keypad entry */
    char     kbuf[20];              /* longest entry: *8 data SSLL + 8 digits */
    uint8_t  klen;
    uint8_t  kcmd;                  /* '\0', or the digit after '*' */
    uint8_t  kstage;                /* 0 code, 1 data after an accepted code */
    uint8_t  kuser;                 /* slot whose code opened stage 1 */
    uint16_t hstart, hlast;         /* low 16 bits of now_ms: hkey first / last seen */
    uint64_t klast_ms;
};

struct pnl {
    struct pnl_ports ports;
    struct pnl_config cfg;
    struct pnl__user users[PNL_USERS_MAX];
    struct pnl__zone zones[PNL_ZONES_MAX];
    struct pnl__part parts[PNL_PARTS_MAX];
    struct pnl_event queue[PNL_QUEUE_MAX];
    uint8_t  queue_len;
    uint32_t next_event_id;
    uint32_t dropped;               /* routine events evicted by a full queue */
    struct pnl_history history[PNL_HISTORY_MAX];
    uint8_t  hist_len;
    uint8_t  hist_head;
    uint32_t save_seq;
    uint8_t  save_slot;             /* slot the last good record is in */
    uint8_t  has_record;
    uint8_t  dirty;
    uint64_t next_test_ms;
    bool     test_armed;
    uint8_t  ack_pending;           /* ACKed removals not yet saved */
    uint8_t  power;                 /* PNL_PW_* (bits) */
    uint64_t ac_lost_ms;            /* when AC went (PNL_PW_AC_LOST) */
};
#define PNL_PW_AC_LOST     0x01u    /* AC absent now */
#define PNL_PW_AC_REPORTED 0x02u    /* 1301 queued; 3301 due when AC returns (stored) */
#define PNL_PW_BAT_REPORTED 0x04u   /* 1302 queued; 3302 due when the battery is good (stored) */

/* Fresh panel: defaults, no users, no zones, empty queue. Does not touch storage. */
int pnl_init(struct pnl *p, const struct pnl_ports *ports);
/* Size of one stored record (fixed: every save writes exactly this many bytes). */
size_t pnl_record_size(void);
/*
 * Loads the newest valid record. PNL_OK, or PNL_LOAD_RECOVERED (the newer slot
 * was torn; the previous state was loaded), or PNL_E_EMPTY / PNL_E_CORRUPT /
 * PNL_E_TRUNCATED / PNL_E_VERSION / PNL_E_NOKEY / PNL_E_KEY_MISMATCH /
 * PNL_E_STORAGE — these are
 * all found before `p` is touched (checksums first, then the key is checked
 * on the first encrypted block),
 * so on an error `p` keeps what it held before. Storage is never written.
 * One exception: a record whose checksums hold but whose fields are out of
 * range (not written by this core) gives PNL_E_CORRUPT with `p` re-initialised.
 */
int pnl_load(struct pnl *p, uint64_t now_ms);
/* Writes the whole state as one record into the other slot: version 2, all
 * but the 32-byte header encrypted under the device key (loads 1 and 2). */
int pnl_save(struct pnl *p);

/* Configuration: validated; refused settings change nothing. Each saves. */
int pnl_set_config(struct pnl *p, const struct pnl_config *c);
int pnl_set_setting(struct pnl *p, unsigned setting, uint32_t value);
int pnl_zone_config(struct pnl *p, unsigned zone, const struct pnl_zone_cfg *z);

/*
 * Programs slot `slot` (1-based; 0 = first free). code: ASCII digits 4..8.
 * Runs the code policy against every other code; on refusal returns
 * PNL_E_POLICY and fills *res (may be NULL). link: for a duress code, the user
 * it reports as (0 = general). Encrypted and saved before returning.
 * *slot_out gets the slot used (may be NULL).
 */
int pnl_user_set(struct pnl *p, unsigned slot, const char *code, size_t len,
                 enum pnl_role role, uint8_t parts, bool duress, unsigned link,
                 struct pnl_policy_result *res, unsigned *slot_out);
int pnl_user_delete(struct pnl *p, unsigned slot);

/*
 * Constant-time code lookup over every slot (no early exit, no data-dependent
 * branch). Returns the matching slot (1-based) or 0. `code` is digits 0..9
 * padded with 0xFF to PNL_CODE_LEN_MAX.
 */
unsigned pnl__lookup(const struct pnl__user *users, unsigned n,
                     const uint8_t code[PNL_CODE_LEN_MAX], uint8_t len);

/* Keypad: one key at a time ('0'..'9', '*', '#') on partition `part`'s keypad.
 * Emergency keys 'F' fire, 'M' medical, 'P' panic: reported while held (at
 * least every second: auto-repeat); taken once held 2 s (a tap does nothing).
 *   CODE#        arm away (disarmed) / disarm, silence (otherwise)
 *   *1CODE#  *2CODE#  *3CODE#   arm stay / night / instant
 *   *5CODE#ZZ#   toggle bypass of zone ZZ (disarmed)
 *   *6#          toggle chime
 *   *7MASTER#SSCODE#   program user slot SS (SS# deletes)
 *   *8MASTER#SSLLCODE# program slot SS as duress code linked to user LL (00 general)
 *   *9INSTALLER#PPVALUE#  set installer setting PP
 * Returns 0; a refused entry is shown at the keypad, not returned. */
int pnl_key_at(struct pnl *p, unsigned part, char key, uint64_t now_ms);
/* pnl_key_at() on partition 1's keypad. */
int pnl_key(struct pnl *p, char key, uint64_t now_ms);
/* Runs timers: exit/entry delay, abort/cancel windows, siren limit, lockout
 * end, periodic test. Call at least every 100 ms. */
int pnl_tick(struct pnl *p, uint64_t now_ms);
/* A zone opens (true) or closes (false). A 24-h zone (fire, panic, tamper)
 * whose opening queued an alarm queues its restore (qualifier 3) when it
 * closes; hold-up never does (docs/panel.md). */
int pnl_zone_set(struct pnl *p, unsigned zone, bool open, uint64_t now_ms);
/*
 * The board's power supervision: AC present or not, standby battery good or
 * low (call on every change, or periodically: only changes count). AC loss is
 * reported (CID 1301) after cfg.ac_delay_min without AC, its restore (3301)
 * when AC returns after a reported loss; a low battery (1302) at once, its
 * restore (3302) when good again. A loss shorter than the delay reports nothing.
 */
int pnl_power_set(struct pnl *p, bool ac_ok, bool battery_ok, uint64_t now_ms);

/* Direct arming (the keypad uses these too): `slot` is the code's slot after lookup. */
int pnl_arm(struct pnl *p, unsigned part, enum pnl_arm_mode mode, unsigned user, uint64_t now_ms);

/* State. */
enum pnl_part_state pnl_part_state(const struct pnl *p, unsigned part);
enum pnl_arm_mode   pnl_part_mode(const struct pnl *p, unsigned part);
bool pnl_siren_on(const struct pnl *p, unsigned part);
/* History, newest first: idx 0 is the latest. PNL_E_NOENT past the end. */
int pnl_history_get(const struct pnl *p, unsigned idx, struct pnl_history *out);

/* CRC-32 (IEEE 802.3, reflected 0xEDB88320) as the stored record uses it;
 * the communicator's own record uses the same. Start with crc = 0. */
uint32_t pnl_crc32(uint32_t crc, const uint8_t *p, size_t n);

/* ---- the outbound queue (drained by the communicator) ----------------- */

/* The queued event with this id (sent or not). PNL_E_NOENT if none. */
int pnl_queue_get(const struct pnl *p, uint32_t id, struct pnl_event *out);

unsigned pnl_queue_count(const struct pnl *p);
/* The highest-priority event (lowest prio, then oldest), sent or not. */
int pnl_queue_peek(const struct pnl *p, struct pnl_event *out);
/* The event is on its way (still held until ACK). */
int pnl_queue_mark_sent(struct pnl *p, uint32_t id);
/*
 * The receiver ACKed it: removed from the queue at once, and the removal is
 * saved with the next save the panel makes anyway (code entry, zone event,
 * timer event, periodic test) — never by the ACK itself: the ACK of a duress
 * event would otherwise be a flash write that only duress causes. After a
 * power cut in between, the event is sent again (at-least-once delivery).
 */
int pnl_queue_ack(struct pnl *p, uint32_t id);
/*
 * The communicator gives a routine event up (refused by the receiver on every
 * path): removed as pnl_queue_ack removes it (saved with the next save).
 * PNL_E_DENIED for a priority-1 event (duress, hold-up): those are never
 * dropped. PNL_E_NOENT if no such event is queued.
 */
int pnl_queue_drop(struct pnl *p, uint32_t id);
/* The i-th event in delivery order (0 = next to go), for inspection. */
int pnl_queue_at(const struct pnl *p, unsigned i, struct pnl_event *out);

#ifdef __cplusplus
}
#endif
#endif /* VIGIL_PANEL_H */
