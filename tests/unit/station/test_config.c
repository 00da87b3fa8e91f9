/* test_config.c — vigil-station's config table through lib/conf: defaults,
 * unknown keys, bad values and ranges name the key and the line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/station.h"

static int parse(const char *text, struct stn_config *cfg, struct conf_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    memset(err, 0, sizeof *err);
    return conf_parse_string(stn_config_keys, stn_config_nkeys, "t.conf", text, cfg, err);
}

static void defaults(void **state)
{
    (void)state;
    struct stn_config c;
    struct conf_error e;
    assert_int_equal(parse("store sqlite:/tmp/x.db\n", &c, &e), 0);
    assert_int_equal(c.max_connections, 0);        /* what the open-file limit allows */
    assert_int_equal(c.max_connections_per_address, 1000);
    assert_int_equal(c.frame_bytes_max, 1024);
    assert_int_equal(c.time_window_past_s, 40);
    assert_int_equal(c.time_window_future_s, 20);
    assert_int_equal(c.duplicate_window_s, 600);
    assert_int_equal(c.partial_frame_timeout_s, 30);
    assert_int_equal(c.escalate_after_s, 30);
    assert_true(c.account_burst >= 1000);      /* a 1,000-frame burst passes */
    assert_int_equal(c.dc09_listen.n, 1);
    assert_string_equal(c.dc09_listen.v[0], "127.0.0.1:3061");
    assert_int_equal(c.log_level, STN_LOG_INFO);
    assert_int_equal(c.idle_timeout_s, 26 * 3600);
    assert_int_equal(c.commit_batch_max, 4096);
    assert_int_equal(c.commit_linger_us, 2000);
    assert_int_equal(c.duplicate_entries_max, 1048576);
    assert_int_equal(c.event_retention_days, 400);
}

/* Every key of the table appears in the example file, which documents it. */
static void example_file_documents_every_key(void **state)
{
    (void)state;
    const char *src = getenv("VIGIL_SOURCE");
    if (!src)
        skip();
    char path[512];
    snprintf(path, sizeof path, "%s/packaging/vigil-station.conf", src);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char text[32768];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    for (size_t i = 0; i < stn_config_nkeys; i++) {
        char needle[80];
        snprintf(needle, sizeof needle, "\n%s ", stn_config_keys[i].name);
        char commented[80];
        snprintf(commented, sizeof commented, "\n#%s ", stn_config_keys[i].name);
        if (!strstr(text, needle) && !strstr(text, commented))
            fail_msg("key '%s' is not in packaging/vigil-station.conf", stn_config_keys[i].name);
    }
    /* and the example itself parses */
    struct stn_config c;
    struct conf_error e;
    assert_int_equal(stn_config_load(path, &c, &e), 0);
}

static void values_comments_repeat(void **state)
{
    (void)state;
    struct stn_config c;
    struct conf_error e;
    const char *t = "# comment\n\n  dc09_listen 127.0.0.1:0   # trailing\n"
                    "dc09_listen [::1]:4000\nstore sqlite:a.db\nlog_level debug\n"
                    "account_rate_per_s 0\n";
    assert_int_equal(parse(t, &c, &e), 0);
    assert_int_equal(c.dc09_listen.n, 2);          /* given: the default is replaced */
    assert_string_equal(c.dc09_listen.v[0], "127.0.0.1:0");
    assert_string_equal(c.dc09_listen.v[1], "[::1]:4000");
    assert_int_equal(c.log_level, STN_LOG_DEBUG);
    assert_int_equal(c.account_rate_per_s, 0);
}

static void unknown_key(void **state)
{
    (void)state;
    struct stn_config c;
    struct conf_error e;
    assert_int_equal(parse("store sqlite:a.db\nframe_bytes 10\n", &c, &e), CONF_E_UNKNOWN);
    assert_int_equal(e.line, 2);
    assert_non_null(strstr(e.msg, "t.conf:2"));
    assert_non_null(strstr(e.msg, "frame_bytes"));
}

static void bad_values(void **state)
{
    (void)state;
    struct stn_config c;
    struct conf_error e;
    assert_int_equal(parse("store sqlite:a.db\nmax_connections many\n", &c, &e), CONF_E_VALUE);
    assert_non_null(strstr(e.msg, "t.conf:2: key 'max_connections'"));
    assert_int_equal(parse("store sqlite:a.db\nframe_bytes_max 5000\n", &c, &e), CONF_E_RANGE);
    assert_non_null(strstr(e.msg, "'frame_bytes_max'"));
    assert_non_null(strstr(e.msg, "64..1024"));
    assert_int_equal(parse("store sqlite:a.db\nmax_connections -1\n", &c, &e), CONF_E_RANGE);
    assert_int_equal(parse("store sqlite:a.db\nmax_connections_per_address 0\n", &c, &e),
                     CONF_E_RANGE);
    assert_int_equal(parse("store sqlite:a.db\nlog_level loud\n", &c, &e), CONF_E_VALUE);
    assert_non_null(strstr(e.msg, "debug, info, warn, error"));
    assert_int_equal(parse("store sqlite:a.db\ndc09_listen nohost\n", &c, &e), CONF_E_VALUE);
    assert_int_equal(parse("store sqlite:a.db\ndc09_listen 1.2.3.4:70000\n", &c, &e), CONF_E_VALUE);
    assert_int_equal(parse("store postgresql://\n", &c, &e), CONF_E_VALUE);
    assert_non_null(strstr(e.msg, "needs at least a database"));
    assert_int_equal(parse("store mysql:x\n", &c, &e), CONF_E_VALUE);
    assert_int_equal(parse("store sqlite:a.db\nlog_level\n", &c, &e), CONF_E_SYNTAX);
    assert_int_equal(parse("store sqlite:a.db\nstore sqlite:b.db\n", &c, &e), CONF_E_REPEAT);
    assert_int_equal(e.line, 2);
}

static void store_required(void **state)
{
    (void)state;
    struct stn_config c;
    struct conf_error e;
    assert_int_equal(parse("log_level info\n", &c, &e), CONF_E_VALUE);
    assert_non_null(strstr(e.msg, "'store' is required"));
}

static void store_path_relative_to_config(void **state)
{
    (void)state;
    char dir[] = "/tmp/stn-conf-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/v.conf", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("store sqlite:data/s.db\n", f);
    fclose(f);
    struct stn_config c;
    struct conf_error e;
    assert_int_equal(stn_config_load(path, &c, &e), 0);
    char want[160];
    snprintf(want, sizeof want, "%s/data/s.db", dir);
    assert_string_equal(c.store_path, want);
    remove(path);
    rmdir(dir);
    assert_int_equal(stn_config_load("/nonexistent/v.conf", &c, &e), STN_E_OPEN);
}

/* store postgresql://...: the URI kept whole for libpq, shown without its
 * password; key_store_file required (every node holds the same file); the
 * files that sit beside a SQLite store go beside the key store file. */
static void store_postgresql(void **state)
{
    (void)state;
    char dir[] = "/tmp/stn-conf-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/v.conf", dir);
    const char *uri = "postgresql://vigil:Sw0rdf1sh@db1.example:5433/vigil?sslmode=require";
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "store %s\n", uri);
    fclose(f);
    struct stn_config c;
    struct conf_error e;
    memset(&e, 0, sizeof e);
    assert_int_equal(stn_config_load(path, &c, &e), STN_E_CONFIG);
    assert_non_null(strstr(e.msg, "'key_store_file' is required"));
    assert_non_null(strstr(e.msg, "every node"));
    assert_null(strstr(e.msg, "Sw0rdf1sh"));

    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "store %s\nkey_store_file keys/station.keys\n", uri);
    fclose(f);
    assert_int_equal(stn_config_load(path, &c, &e), 0);
    assert_string_equal(c.store_path, uri);
    assert_string_equal(c.store_shown,
                        "postgresql://vigil@db1.example:5433/vigil?sslmode=require");
    char want[200];
    snprintf(want, sizeof want, "%s/keys/station.keys", dir);
    assert_string_equal(c.key_store_path, want);
    assert_string_equal(stn_store_base(&c), want);
    snprintf(want, sizeof want, "%s/keys/station.keys.ctl", dir);
    assert_string_equal(c.control_socket_path, want);
    remove(path);
    rmdir(dir);
}

static void every_key_has_help_and_default_parses(void **state)
{
    (void)state;
    for (size_t i = 0; i < stn_config_nkeys; i++) {
        assert_non_null(stn_config_keys[i].help);
        assert_true(strlen(stn_config_keys[i].help) > 10);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(values_comments_repeat),
        cmocka_unit_test(unknown_key),
        cmocka_unit_test(bad_values),
        cmocka_unit_test(store_required),
        cmocka_unit_test(store_path_relative_to_config),
        cmocka_unit_test(store_postgresql),
        cmocka_unit_test(every_key_has_help_and_default_parses),
        cmocka_unit_test(example_file_documents_every_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
