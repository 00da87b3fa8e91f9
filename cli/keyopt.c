/*
 * keyopt.c — reads an AES key from the command line or a file for the vigil
 * tool. --key / --key-file: the key's ASCII characters (16, 24 or 32 of them);
 * --key-hex / --key-hex-file: hex digits (32, 48 or 64). A file's trailing
 * CR/LF is stripped. It must never print a key, nor any part of one, nor leave
 * one in a buffer it owns.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "keyopt.h"
#include "opts.h"

/* A key file is a few dozen bytes; anything bigger is not a key file. */
#define KEYFILE_MAX 256u

bool keyopt_is(const char *name)
{
    return strcmp(name, "--key") == 0 || strcmp(name, "--key-hex") == 0 ||
           strcmp(name, "--key-file") == 0 || strcmp(name, "--key-hex-file") == 0;
}

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

static int read_key_file(const char *opt, const char *path, char *buf, size_t cap,
                         size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "vigil: %s: cannot open %s: %s\n", opt, path, strerror(errno));
        return CLI_USAGE;
    }
    size_t n = fread(buf, 1, cap, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        wipe(buf, cap);
        fprintf(stderr, "vigil: %s: cannot read %s\n", opt, path);
        return CLI_USAGE;
    }
    if (n == cap) {
        wipe(buf, cap);
        fprintf(stderr, "vigil: %s: %s is too big to be a key file (max %u bytes)\n",
                opt, path, KEYFILE_MAX - 1);
        return CLI_USAGE;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    *len = n;
    return CLI_OK;
}

int keyopt_take(struct keyopt *k, const char *name, char *value)
{
    if (k->set) {
        fprintf(stderr, "vigil: %s: a key was already given with %s (give one key)\n",
                name, k->from);
        return CLI_USAGE;
    }
    bool hex = strcmp(name, "--key-hex") == 0 || strcmp(name, "--key-hex-file") == 0;
    bool file = strcmp(name, "--key-file") == 0 || strcmp(name, "--key-hex-file") == 0;

    char buf[KEYFILE_MAX];
    const char *text;
    size_t len;
    if (file) {
        int rc = read_key_file(name, value, buf, sizeof buf, &len);
        if (rc != CLI_OK)
            return rc;
        text = buf;
    } else {
        text = value;
        len = strlen(value);
    }

    int err = hex ? dc09_key_from_hex(&k->key, text, len)
                  : dc09_key_from_ascii(&k->key, text, len);
    wipe(buf, sizeof buf);
    if (!file)
        wipe(value, len);   /* best effort: hide it from ps(1) */
    if (err != 0) {
        dc09_key_wipe(&k->key);
        if (hex)
            fprintf(stderr, "vigil: %s: expected 32, 48 or 64 hex digits (got %zu characters)\n",
                    name, len);
        else
            fprintf(stderr, "vigil: %s: expected 16, 24 or 32 ASCII characters (got %zu)\n",
                    name, len);
        return CLI_USAGE;
    }
    k->set = true;
    k->from = name;
    return CLI_OK;
}

void keyopt_wipe(struct keyopt *k)
{
    dc09_key_wipe(&k->key);
    k->set = false;
}

int keyopt_opt_take(void *args, const struct opt *o, char *val)
{
    return keyopt_take((struct keyopt *)(void *)((char *)args + o->field), o->name, val);
}
