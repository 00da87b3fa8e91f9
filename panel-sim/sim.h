/*
 * sim.h — vigil-panel's private header: the Linux ports around the portable
 * panel core and communicator (state file, device key, libuv TCP/UDP), the
 * configuration, the output lines, the script runner and the terminal keypad.
 *
 * Never: print or log a user code, the account key or the device key; show at
 * the keypad (or in the terminal keypad) anything that differs between a
 * normal and a duress entry.
 */
#ifndef VIGIL_PANEL_SIM_H
#define VIGIL_PANEL_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "vigil/comm.h"
#include "vigil/conf.h"
#include "vigil/dc09_openssl.h"
#include "vigil/panel.h"

/* ---- configuration (config.c) ---------------------------------------- */

struct sim_config {
    char account[64];
    char receiver[300];
    char backup[300];
    int  transport;                 /* 0 tcp, 1 udp */
    char key_hex[128];
    char key[64];
    char key_file[512];
    char device_key_file[512];
    char state[512];
    int64_t supervision_s;
    int64_t ack_timeout_ms;
    int64_t backoff_max_ms;
    int64_t path_fail_max;
    int64_t probe_s;
    int64_t clock_offset_s;
    int64_t clock_max_s;
    char line[16];
    char receiver_id[16];
    char receiver_quirks[128];
    struct conf_list zone;
    int64_t exit_delay_s;
    int64_t entry_delay_s;
    int64_t abort_window_s;
};
extern const struct conf_key sim_config_keys[];
extern const size_t sim_config_key_count;
/* Parses FILE; on error prints "vigil-panel: FILE:LINE: ..." and returns -1. */
int sim_config_load(const char *path, struct sim_config *cfg);
/* receiver_quirks: DC-09 quirk names, and `one-in-flight` (a communicator
 * quirk, not the codec's): SIM_Q_ONE_IN_FLIGHT in *out. */
#define SIM_Q_ONE_IN_FLIGHT 0x80000000u
int sim_quirks_parse(const char *v, uint32_t *out);

/* ---- one panel ------------------------------------------------------- */

struct sim;
struct sim_panel;

/* Storage port over a region of the state file (or of memory). */
struct sim_store {
    struct pnl_storage base;
    struct sim_panel *panel;
    int fd;                         /* -1: memory */
    off_t off;                      /* region start in the file */
    uint8_t *mem;                   /* 2 * slot_size bytes when fd < 0 */
};

enum { SIM_PATH_DOWN = 0, SIM_PATH_CONNECTING, SIM_PATH_UP };

struct sim_path {
    struct sim_panel *panel;
    unsigned idx;                   /* 0 primary, 1 backup */
    struct sockaddr_in addr;
    bool configured;
    int state;
    bool handle_open;
    uv_tcp_t tcp;
    uv_udp_t udp;
    uv_connect_t connect;
    uint64_t retry_at_ms;           /* next connect attempt (comm clock) */
};

struct sim_panel {
    struct sim *sim;
    unsigned idx;
    char account[DC09_ACCOUNT_MAX + 1];
    struct pnl p;
    struct comm c;
    struct sim_store core_st, comm_st;
    struct pnl_keyport_dc09 kp;
    struct dc09_ossl devkey;
    struct dc09_ossl acctkey;
    bool keyed;
    struct comm_net net;
    struct comm_notes notes;
    struct pnl_keypad keypad;
    struct sim_path path[COMM_PATHS];
    char display[96];               /* last display text, partition 1 */
    bool led_armed;                 /* partition 1, as the keypad shows them */
    uint8_t siren;
    char beep[16];
    bool zone_open[PNL_ZONES_MAX + 1];
    uint64_t load_next[PNL_PARTS_MAX];  /* --load: next keypad entry per partition */
    uint64_t duress_press_ns;       /* bench: when the duress '#' was pressed */
};

struct sim_bench {
    unsigned trials, done, retries;
    uint64_t *lat_ns;
    uint64_t press_ns;
    uint64_t start_ms;
    bool pending;
};

struct sim {
    struct sim_config cfg;
    uv_loop_t *loop;
    bool fast;                      /* core on a virtual clock */
    bool quiet;                     /* --count: only errors and summaries */
    bool tui;                       /* interactive keypad */
    uint64_t t0_ns;                 /* real start (monotonic) */
    uint64_t virt_ms;               /* core clock in --fast */
    bool network_down[COMM_PATHS];
    unsigned count;
    struct sim_panel *panels;
    int state_fd;
    uv_timer_t tick;
    bool quit;
    int exit_code;
    FILE *out;                      /* where lines go (stdout; a log file in the TUI) */
    bool load;                      /* --load */
    const char *side_file;          /* --side FILE: shown below the terminal keypad */
    struct sim_bench bench;         /* --bench-duress */
    uint64_t acked_total, polls_total;
};

/* clocks */
uint64_t sim_real_ms(const struct sim *s);          /* monotonic, since start */
uint64_t sim_core_ms(const struct sim *s);          /* virtual in --fast */
int64_t  sim_unix_ms(void);

/* ports.c */
int  sim_panel_setup(struct sim *s, struct sim_panel *sp, unsigned idx,
                     const struct dc09_key *acct_key, const struct dc09_key *dev_key);
void sim_panel_tick(struct sim_panel *sp);          /* core + comm timers, connects */
void sim_panel_after_input(struct sim_panel *sp);   /* comm right after a key/zone */
/* One key at a keypad ('0'-'9' '*' '#', emergency keys 'F' 'M' 'P'). */
void sim_key(struct sim_panel *sp, unsigned part, char key);
void sim_net_down(struct sim *s, int path);          /* -1: all */
void sim_net_up(struct sim *s, int path);
int  sim_state_open(struct sim *s, const char *path, size_t need);
size_t sim_state_size(void);
int  sim_device_key(const char *path, struct dc09_key *k);
int  sim_parse_hostport(const char *s, struct sockaddr_in *out);

/* out.c: one line per thing that happens */
void sim_line(struct sim *s, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sim_keypad_out(struct pnl_keypad *k, const struct pnl_out *o);
void sim_comm_note(struct comm_notes *n, const struct comm_note *no);
const char *sim_display_text(const struct pnl_out *o, char *buf, size_t cap);

/* script.c */
int sim_script_run(struct sim *s, const char *path);

/* bench.c */
void sim_bench_users(struct sim *s, struct sim_panel *sp);
void sim_load_tick(struct sim *s);
int  sim_bench_start(struct sim *s, unsigned trials, unsigned warmup_s, unsigned gap_ms);
void sim_bench_acked(struct sim *s, const struct sim_panel *sp, const struct comm_note *no);

/* tui.c */
int sim_tui_run(struct sim *s);

#endif
