/*
 * static.c — the web console's files from web_root: "/" is index.html, the
 * content type follows the extension, and nothing outside web_root is ever
 * served: a path with "..", a backslash, a NUL or a hidden name is refused,
 * and only regular files are sent.
 */
#include "console.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define URL_PATH_MAX 256

static const struct { const char *ext, *type; } types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".js",   "text/javascript; charset=utf-8" },
    { ".mjs",  "text/javascript; charset=utf-8" },
    { ".css",  "text/css; charset=utf-8" },
    { ".json", "application/json" },
    { ".svg",  "image/svg+xml" },
    { ".png",  "image/png" },
    { ".ico",  "image/x-icon" },
    { ".wav",  "audio/wav" },
    { ".mp3",  "audio/mpeg" },
    { ".ogg",  "audio/ogg" },
    { ".woff2", "font/woff2" },
    { ".txt",  "text/plain; charset=utf-8" },
};

static const char *type_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

static bool safe_path(const char *url)
{
    size_t n = strlen(url);
    if (n == 0 || url[0] != '/' || n > URL_PATH_MAX)
        return false;
    if (strstr(url, "..") || strchr(url, '\\') || strstr(url, "//") || strstr(url, "/."))
        return false;
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

enum MHD_Result con_static(struct con_app *app, struct MHD_Connection *c, const char *url)
{
    if (!safe_path(url))
        return con_reply_error(c, 404, "no such file");
    char path[STN_PATH_MAX + URL_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s%s%s", app->cfg.web_root_path, url,
             url[strlen(url) - 1] == '/' ? "index.html" : "");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0)
            close(fd);
        return con_reply_error(c, 404, "no such file");
    }
    struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", type_of(path));
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    enum MHD_Result r = MHD_queue_response(c, 200, resp);
    MHD_destroy_response(resp);
    return r;
}
