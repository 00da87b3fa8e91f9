/*
 * vigil/conf.h — table-driven `key value` configuration files.
 *
 * One table of keys (name, type, min, max, default, reloadable, help) is the
 * whole definition of a program's configuration: the parser, --test-config,
 * SIGHUP reload and the commented example file all come from it. Used by
 * vigil-station (and later vigil-panel).
 *
 * Format: one `key value` per line; `#` starts a comment (whole line, or after
 * whitespace); blank lines ignored; the value is the rest of the line with
 * surrounding whitespace removed. A key may appear once unless repeatable.
 *
 * Never: allocate, print, or log a value (a key's value may be a secret).
 * Errors come back as text naming the file, the line and the key.
 */
#ifndef VIGIL_CONF_H
#define VIGIL_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CONF_VALUE_MAX 512u   /* longest value accepted, bytes */
#define CONF_LINE_MAX  1024u  /* longest line accepted, bytes */
#define CONF_LIST_MAX  8u     /* entries of a repeatable key */

enum conf_err {
    CONF_OK        = 0,
    CONF_E_OPEN    = -1, /* file cannot be opened */
    CONF_E_SYNTAX  = -2, /* line without a value, line too long */
    CONF_E_UNKNOWN = -3, /* key not in the table */
    CONF_E_VALUE   = -4, /* value of the wrong type or rejected by a check */
    CONF_E_RANGE   = -5, /* number outside [min, max] */
    CONF_E_REPEAT  = -6, /* non-repeatable key given twice, or list full */
    CONF_E_INVAL   = -7, /* caller error */
};
const char *conf_strerror(int err);

enum conf_type {
    CONF_INT,     /* int64_t at offset; decimal, optional unit suffix for CONF_INT only: none */
    CONF_BOOL,    /* bool at offset: yes/no, true/false, on/off, 1/0 */
    CONF_STRING,  /* char[size] at offset */
    CONF_LIST,    /* struct conf_list at offset (repeatable key) */
    CONF_ENUM,    /* int at offset: index into names[] */
};

struct conf_list {
    char v[CONF_LIST_MAX][CONF_VALUE_MAX];
    unsigned n;
};

/* Extra validation of a string value; returns 0 or writes a reason into msg. */
typedef int (*conf_check_fn)(const char *value, char *msg, size_t cap);

struct conf_key {
    const char *name;
    enum conf_type type;
    int64_t min, max;            /* CONF_INT only */
    const char *def;             /* default as text (NULL: none / empty) */
    bool reloadable;             /* takes effect on SIGHUP */
    bool required;               /* must appear at least once */
    size_t offset;               /* into the caller's config struct */
    size_t size;                 /* CONF_STRING: buffer size */
    const char *const *names;    /* CONF_ENUM: NULL-terminated */
    conf_check_fn check;         /* optional, for CONF_STRING / CONF_LIST entries */
    const char *help;            /* one line */
    const char *programs;        /* which programs read it ("vigil-station", "vigil-console",
                                    "both"); NULL: the table's own program. Every program
                                    parses (and so checks) every key of a shared file. */
    bool empty_ok;               /* CONF_STRING: the key alone (an empty value) is allowed
                                    and means what help says ("empty: memory only") */
};

struct conf_error {
    int code;
    unsigned line;               /* 0 when not tied to a line */
    char msg[384];               /* "FILE:LINE: key 'x': reason" */
};

/* Sets every key of the table to its default in cfg. */
int conf_defaults(const struct conf_key *keys, size_t n, void *cfg, struct conf_error *err);

/* Parses text (NUL-terminated) named `source` into cfg (defaults applied first). */
int conf_parse_string(const struct conf_key *keys, size_t n, const char *source,
                      const char *text, void *cfg, struct conf_error *err);

/* Reads and parses a file. */
int conf_parse_file(const struct conf_key *keys, size_t n, const char *path,
                    void *cfg, struct conf_error *err);

/* Looks a key up by name; NULL if absent. */
const struct conf_key *conf_find(const struct conf_key *keys, size_t n, const char *name);

/* True if the key's value differs between two configs. */
bool conf_differs(const struct conf_key *k, const void *a, const void *b);

/* Copies one key's value from src to dst. */
void conf_copy(const struct conf_key *k, void *dst, const void *src);

#ifdef __cplusplus
}
#endif
#endif /* VIGIL_CONF_H */
