/*
 * config.c — vigil-panel's configuration: the ONE table of keys
 * (packaging/vigil-panel.conf documents the same keys and must follow it).
 * Never print a value: keys may hold secrets (key, key_hex).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define OFF(f) offsetof(struct sim_config, f)
#define SZ(f) sizeof(((struct sim_config *)0)->f)

static int check_hostport(const char *v, char *msg, size_t cap)
{
    struct sockaddr_in a;
    if (v[0] == '\0')
        return 0;
    if (sim_parse_hostport(v, &a) < 0) {
        snprintf(msg, cap, "expected IPV4:PORT (e.g. 127.0.0.1:3061)");
        return -1;
    }
    return 0;
}

static int check_account(const char *v, char *msg, size_t cap)
{
    size_t n = strlen(v);
    if (n < 3 || n > DC09_ACCOUNT_MAX || strspn(v, "0123456789ABCDEFabcdef") != n) {
        snprintf(msg, cap, "an account is 3..16 hex digits");
        return -1;
    }
    return 0;
}

static int check_hex6(const char *v, char *msg, size_t cap)
{
    size_t n = strlen(v);
    if (n > 6 || strspn(v, "0123456789ABCDEFabcdef") != n) {
        snprintf(msg, cap, "1..6 hex digits");
        return -1;
    }
    return 0;
}

static int check_zone(const char *v, char *msg, size_t cap)
{
    unsigned z, part = 1;
    char type[32];
    int n = sscanf(v, "%u %31s %u", &z, type, &part);
    if (n < 2 || z < 1 || z > PNL_ZONES_MAX || part < 1 || part > PNL_PARTS_MAX) {
        snprintf(msg, cap, "expected: zone N TYPE [PARTITION]");
        return -1;
    }
    static const char *const types[] = { "entry", "interior", "instant", "holdup", "panic",
                                         "fire", "tamper", NULL };
    for (int i = 0; types[i]; i++)
        if (strcmp(type, types[i]) == 0)
            return 0;
    snprintf(msg, cap, "zone type: entry interior instant holdup panic fire tamper");
    return -1;
}

int sim_quirks_parse(const char *v, uint32_t *out)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", v);
    *out = 0;
    for (char *t = strtok(buf, ", "); t; t = strtok(NULL, ", ")) {
        uint32_t f;
        if (strcmp(t, "one-in-flight") == 0)
            f = SIM_Q_ONE_IN_FLIGHT;
        else if (dc09_quirk_parse(t, &f) < 0)
            return -1;
        *out |= f;
    }
    return 0;
}

static int check_quirks(const char *v, char *msg, size_t cap)
{
    uint32_t q;
    if (sim_quirks_parse(v, &q) < 0) {
        snprintf(msg, cap, "quirks: one-in-flight binary-crc crc-with-cr bare-l pad-no-bar "
                 "no-data-account ignore-length no-line nak-token-order");
        return -1;
    }
    return 0;
}

static const char *const transports[] = { "tcp", "udp", NULL };

const struct conf_key sim_config_keys[] = {
    { .name = "account", .type = CONF_STRING, .required = true, .offset = OFF(account),
      .size = SZ(account), .check = check_account,
      .help = "the panel's account at the station (3..16 hex digits); with --count, the first" },
    { .name = "receiver", .type = CONF_STRING, .required = true, .offset = OFF(receiver),
      .size = SZ(receiver), .check = check_hostport,
      .help = "primary receiver IPV4:PORT" },
    { .name = "backup", .type = CONF_STRING, .offset = OFF(backup), .size = SZ(backup),
      .check = check_hostport, .empty_ok = true,
      .help = "backup receiver IPV4:PORT (empty: none)" },
    { .name = "transport", .type = CONF_ENUM, .def = "tcp", .offset = OFF(transport),
      .names = transports, .help = "tcp (one persistent connection per path) or udp" },
    { .name = "key_hex", .type = CONF_STRING, .offset = OFF(key_hex), .size = SZ(key_hex),
      .help = "account AES key as 32/48/64 hex digits (prefer key_file)" },
    { .name = "key", .type = CONF_STRING, .offset = OFF(key), .size = SZ(key),
      .help = "account AES key as 16/24/32 ASCII characters (prefer key_file)" },
    { .name = "key_file", .type = CONF_STRING, .offset = OFF(key_file), .size = SZ(key_file),
      .help = "file holding the account key: 32/48/64 hex digits, or 16/24/32 characters" },
    { .name = "device_key_file", .type = CONF_STRING, .offset = OFF(device_key_file),
      .size = SZ(device_key_file),
      .help = "the device key that encrypts the stored codes (default STATE.devkey; made if missing)" },
    { .name = "state", .type = CONF_STRING, .offset = OFF(state), .size = SZ(state),
      .empty_ok = true,
      .help = "state file: codes, settings, queue, sequence numbers (empty: memory only)" },
    { .name = "supervision_s", .type = CONF_INT, .min = 0, .max = 90000, .def = "0",
      .offset = OFF(supervision_s), .help = "NULL poll interval in seconds (0: no polls)" },
    { .name = "ack_timeout_ms", .type = CONF_INT, .min = 10, .max = 600000, .def = "3000",
      .offset = OFF(ack_timeout_ms), .help = "first retry after this long without an ACK" },
    { .name = "backoff_max_ms", .type = CONF_INT, .min = 10, .max = 3600000, .def = "60000",
      .offset = OFF(backoff_max_ms), .help = "longest retry interval (routine events)" },
    { .name = "path_fail_max", .type = CONF_INT, .min = 1, .max = 100, .def = "3",
      .offset = OFF(path_fail_max), .help = "timeouts in a row before a path is failed" },
    { .name = "probe_s", .type = CONF_INT, .min = 1, .max = 86400, .def = "60",
      .offset = OFF(probe_s), .help = "while on the backup, poll the primary this often" },
    { .name = "clock_offset_s", .type = CONF_INT, .min = -864000, .max = 864000, .def = "0",
      .offset = OFF(clock_offset_s),
      .help = "simulated error of the panel's clock (tests of NAK clock correction)" },
    { .name = "clock_max_s", .type = CONF_INT, .min = 0, .max = 86400, .def = "3600",
      .offset = OFF(clock_max_s), .help = "NAKs may move the panel's clock at most this far" },
    { .name = "line", .type = CONF_STRING, .def = "0", .offset = OFF(line), .size = SZ(line),
      .check = check_hex6, .help = "DC-09 line number Lpref (hex)" },
    { .name = "receiver_id", .type = CONF_STRING, .offset = OFF(receiver_id),
      .size = SZ(receiver_id), .check = check_hex6, .empty_ok = true,
      .help = "DC-09 receiver number Rrcvr (hex; empty: no R token)" },
    { .name = "receiver_quirks", .type = CONF_STRING, .offset = OFF(receiver_quirks),
      .size = SZ(receiver_quirks), .check = check_quirks,
      .help = "receiver quirks, comma-separated: one-in-flight, and DC-09 quirks accepted in "
              "its replies (e.g. pad-no-bar, nak-token-order)" },
    { .name = "zone", .type = CONF_LIST, .offset = OFF(zone), .check = check_zone,
      .help = "zone N TYPE [PARTITION] (repeat; none: the default six zones)" },
    { .name = "exit_delay_s", .type = CONF_INT, .min = 45, .max = 255, .def = "60",
      .offset = OFF(exit_delay_s), .help = "exit delay of a fresh panel (CP-01 45..255)" },
    { .name = "entry_delay_s", .type = CONF_INT, .min = 30, .max = 240, .def = "30",
      .offset = OFF(entry_delay_s), .help = "entry delay of a fresh panel (30..240)" },
    { .name = "abort_window_s", .type = CONF_INT, .min = 15, .max = 45, .def = "30",
      .offset = OFF(abort_window_s), .help = "abort window of a fresh panel (15..45)" },
};
const size_t sim_config_key_count = sizeof sim_config_keys / sizeof sim_config_keys[0];
_Static_assert(sizeof sim_config_keys / sizeof sim_config_keys[0] == 23, "key table");

int sim_config_load(const char *path, struct sim_config *cfg)
{
    struct conf_error err;
    memset(cfg, 0, sizeof *cfg);
    int e = conf_parse_file(sim_config_keys, sim_config_key_count, path, cfg, &err);
    if (e < 0) {
        fprintf(stderr, "vigil-panel: %s\n", err.msg);
        return -1;
    }
    int keys = (cfg->key_hex[0] != 0) + (cfg->key[0] != 0) + (cfg->key_file[0] != 0);
    if (keys > 1) {
        fprintf(stderr, "vigil-panel: %s: give only one of key_hex, key, key_file\n", path);
        return -1;
    }
    return 0;
}
