/*
 * keyopt.h — the key options every vigil verb shares: --key, --key-hex,
 * --key-file, --key-hex-file. It must never print, log or keep a copy of a key
 * anywhere but the caller's struct dc09_key (wiped with keyopt_wipe()).
 */
#ifndef VIGIL_CLI_KEYOPT_H
#define VIGIL_CLI_KEYOPT_H

#include <stdbool.h>
#include <stddef.h>

#include "vigil/dc09.h"

struct keyopt {
    bool set;
    const char *from;       /* the option that gave the key, for messages */
    struct dc09_key key;
};

/* True if `name` (e.g. "--key-file") is one of the key options. */
bool keyopt_is(const char *name);

/*
 * Takes the value of a key option. --key and --key-hex values are overwritten
 * in argv so they do not linger in the process list (a race remains: use the
 * file forms). Returns 0, or prints one line to stderr and returns CLI_USAGE.
 */
int keyopt_take(struct keyopt *k, const char *name, char *value);

void keyopt_wipe(struct keyopt *k);

/* The four key options as rows of an option table (opts.h): the struct
 * keyopt is the args struct's member `member`. */
struct opt;
int keyopt_opt_take(void *args, const struct opt *o, char *val);
#define KEYOPT_ROWS(type, member)                                                           \
    { "--key", 0, "K", OPT_CALL, 0, offsetof(type, member), keyopt_opt_take,               \
      "AES key as 16, 24 or 32 ASCII characters (visible in ps: prefer --key-file)" },     \
    { "--key-hex", 0, "H", OPT_CALL, 0, offsetof(type, member), keyopt_opt_take,           \
      "AES key as 32, 48 or 64 hex digits" },                                              \
    { "--key-file", 0, "F", OPT_CALL, 0, offsetof(type, member), keyopt_opt_take,          \
      "file holding the key's ASCII characters (a trailing newline is ignored)" },         \
    { "--key-hex-file", 0, "F", OPT_CALL, 0, offsetof(type, member), keyopt_opt_take,      \
      "file holding the key's hex digits" }

#endif
