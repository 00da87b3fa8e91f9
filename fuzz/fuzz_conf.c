/*
 * fuzz_conf.c — libFuzzer target for the configuration parser (lib/conf)
 * with vigil-station's real key table (station/config.c, included here so
 * its value checks and path resolution are instrumented and its static
 * functions reachable), and with a local table that has every conf_type
 * (and a required key, a check on a list, a tiny string, negative ranges).
 *
 * Input: byte 0 = mode: bit 0 the local table (else the station's), bit 1
 * through a file (conf_parse_file on a memfd: NUL bytes reach the parser),
 * else conf_parse_string (text up to the first NUL); bit 2 the station's
 * paths are resolved against a config path with a folder. The rest: the file.
 *
 * Aborts (besides ASan/UBSan) when: the result is not a conf_err; an error
 * has err.code != rc or a message that is not NUL-terminated printable ASCII
 * (conf.h: a key name is escaped, never echoed raw); a value that holds the
 * canary "Zq9" shows up in an error message (values may be secrets; only
 * when no key name holds it); a parse that succeeds leaves an integer out of
 * [min, max], an enum index outside names[], a string or list entry without
 * its NUL, or a list longer than CONF_LIST_MAX; two parses of the same text
 * differ.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../station/config.c"   /* the table, its checks, resolve_*() (static) */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) abort(); } while (0)

/* ---- a local table with every type ------------------------------------- */

struct local_cfg {
    int64_t i_small, i_neg, i_big;
    bool b;
    char s_tiny[8];
    char s_big[CONF_VALUE_MAX];
    char s_req[64];
    struct conf_list list;
    int e;
};
static int check_nodigit(const char *v, char *msg, size_t cap)
{
    for (; *v; v++)
        if (*v >= '0' && *v <= '9') {
            snprintf(msg, cap, "no digits here");
            return -1;
        }
    return 0;
}
static const char *const colours[] = { "red", "green", "blue", NULL };
#define LOFF(f) offsetof(struct local_cfg, f)
static const struct conf_key local_keys[] = {
    { .name = "i_small", .type = CONF_INT, .min = 0, .max = 9, .def = "3", .offset = LOFF(i_small) },
    { .name = "i_neg", .type = CONF_INT, .min = -1000000, .max = -5, .def = "-5",
      .offset = LOFF(i_neg) },
    { .name = "i_big", .type = CONF_INT, .min = INT64_MIN, .max = INT64_MAX, .offset = LOFF(i_big) },
    { .name = "b", .type = CONF_BOOL, .def = "yes", .offset = LOFF(b) },
    { .name = "s_tiny", .type = CONF_STRING, .size = 8, .def = "abc", .offset = LOFF(s_tiny),
      .check = check_nodigit },
    { .name = "s_big", .type = CONF_STRING, .size = CONF_VALUE_MAX, .offset = LOFF(s_big) },
    { .name = "s_req", .type = CONF_STRING, .size = 64, .required = true, .offset = LOFF(s_req) },
    { .name = "list", .type = CONF_LIST, .def = "one", .offset = LOFF(list), .check = check_nodigit },
    { .name = "colour", .type = CONF_ENUM, .names = colours, .def = "green", .offset = LOFF(e) },
};
#define N_LOCAL (sizeof local_keys / sizeof local_keys[0])

/* ---- checks ------------------------------------------------------------- */

static bool nul_within(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static void check_result(const struct conf_key *keys, size_t n, const void *cfg)
{
    const char *base = cfg;
    for (size_t i = 0; i < n; i++) {
        const struct conf_key *k = &keys[i];
        const char *at = base + k->offset;
        switch (k->type) {
        case CONF_INT: {
            int64_t v;
            memcpy(&v, at, sizeof v);
            CHECK(v >= k->min && v <= k->max);
            break;
        }
        case CONF_BOOL: {
            uint8_t b;
            memcpy(&b, at, 1);
            CHECK(b <= 1);
            break;
        }
        case CONF_ENUM: {
            int v, cnt = 0;
            memcpy(&v, at, sizeof v);
            while (k->names[cnt])
                cnt++;
            CHECK(v >= 0 && v < cnt);
            break;
        }
        case CONF_STRING:
            CHECK(nul_within(at, k->size));
            break;
        case CONF_LIST: {
            const struct conf_list *l = (const struct conf_list *)(const void *)at;
            CHECK(l->n <= CONF_LIST_MAX);
            for (unsigned j = 0; j < l->n; j++)
                CHECK(nul_within(l->v[j], CONF_VALUE_MAX));
            break;
        }
        }
    }
}

/* The first word of each line, words ending at any isspace() byte (the
 * parser's rule, and check_bytes()'s since fuzz/crashes/conf/
 * control-byte-msg-echoes-value). */
static bool canary_in_a_key_by(const char *text, size_t len, bool tabs_only)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && text[i] != '\n' &&
               (tabs_only ? (text[i] == ' ' || text[i] == '\t') : isspace((unsigned char)text[i])))
            i++;
        size_t k = i;
        while (i < len && text[i] != '\n' &&
               !(tabs_only ? (text[i] == ' ' || text[i] == '\t') : isspace((unsigned char)text[i])))
            i++;
        if (i - k >= 3 && memmem(text + k, i - k, "Zq9", 3))
            return true;
        while (i < len && text[i] != '\n')
            i++;
        i++;
    }
    return false;
}

static bool canary_in_a_key(const char *text, size_t len)
{
    return canary_in_a_key_by(text, len, false);
}

static void check_error(int rc, const struct conf_error *err, const char *text, size_t len)
{
    CHECK(rc <= 0 && rc >= CONF_E_INVAL);
    if (rc == 0)
        return;
    CHECK(err->code == rc);
    CHECK(nul_within(err->msg, sizeof err->msg));
    for (const char *m = err->msg; *m; m++)
        CHECK(*m >= 0x20 && *m < 0x7F);
    if (strstr(err->msg, "Zq9"))
        CHECK(canary_in_a_key(text, len));
}

static int parse(const struct conf_key *keys, size_t n, bool file, const char *text, size_t len,
                 void *cfg, struct conf_error *err)
{
    if (!file)
        return conf_parse_string(keys, n, "fuzz.conf", text, cfg, err);
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz.conf", 0);
        CHECK(fd >= 0);
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    CHECK(ftruncate(fd, 0) == 0);
    CHECK(pwrite(fd, text, len, 0) == (ssize_t)len);
    return conf_parse_file(keys, n, path, cfg, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mode = data[0];
    bool file = (mode & 2u) != 0;
    data++;
    size--;
    static char text[64 * 1024];
    if (size >= sizeof text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t tlen = file ? size : strlen(text);

    static struct conf_error err, err2;
    memset(&err, 0, sizeof err);
    memset(&err2, 0, sizeof err2);
    if (mode & 1u) {
        static struct local_cfg a, b;
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        int rc = parse(local_keys, N_LOCAL, file, text, tlen, &a, &err);
        check_error(rc, &err, text, tlen);
        if (rc == 0)
            check_result(local_keys, N_LOCAL, &a);
        int rc2 = parse(local_keys, N_LOCAL, file, text, tlen, &b, &err2);
        CHECK(rc == rc2 && (rc != 0 || memcmp(&a, &b, sizeof a) == 0));
        CHECK(rc == 0 || strcmp(err.msg, err2.msg) == 0);
        return 0;
    }
    static struct stn_config a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    int rc = parse(stn_config_keys, stn_config_nkeys, file, text, tlen, &a, &err);
    check_error(rc, &err, text, tlen);
    if (rc == 0) {
        check_result(stn_config_keys, stn_config_nkeys, &a);
        /* what stn_config_load does after parsing: paths against the config's folder */
        const char *cfg_path = (mode & 4u) ? "/etc/vigil/station.conf" : "station.conf";
        memset(&err, 0, sizeof err);
        int r2 = resolve_store(cfg_path, &a, &err);
        if (r2 == 0)
            r2 = resolve_others(cfg_path, &a, &err);
        CHECK(r2 == 0 || r2 == STN_E_CONFIG);
        if (r2 == 0) {
            CHECK(nul_within(a.store_path, sizeof a.store_path));
            CHECK(nul_within(a.key_store_path, sizeof a.key_store_path));
            CHECK(nul_within(a.control_socket_path, sizeof a.control_socket_path));
        } else {
            CHECK(nul_within(err.msg, sizeof err.msg));
        }
    }
    int rc2 = parse(stn_config_keys, stn_config_nkeys, file, text, tlen, &b, &err2);
    CHECK(rc == rc2);
    return 0;
}
