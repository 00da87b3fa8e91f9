/*
 * ctl.c — the client of vigil-station's control socket: connect, write one
 * JSON line, read one reply line, close. 5 s for the whole exchange; past it
 * the action is reported as not done (HTTP 503).
 *
 * One connection per request keeps threads apart (no shared socket, no
 * reply matching). Must never log a request's contents: it may carry an
 * operator's note; never sends a passcode (only the console's verdict).
 */
#include "console.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CTL_TIMEOUT_MS 5000
#define CTL_LINE_MAX   4096      /* the station's bound on a request line */
#define CTL_REPLY_MAX  8192

static int connect_unix(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path)
        return -1;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* a local socket connects at once or not at all (no SYN to wait for) */
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int wait_fd(int fd, short ev, int64_t deadline_ms)
{
    for (;;) {
        int64_t left = deadline_ms - stn_now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = { .fd = fd, .events = ev };
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline_ms)
{
    size_t off = 0;
    while (off < len) {
        if (wait_fd(fd, POLLOUT, deadline_ms))
            return -1;
        ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

/* One line (without its \n) into buf. */
static int recv_line(int fd, char *buf, size_t cap, int64_t deadline_ms)
{
    size_t len = 0;
    while (len + 1 < cap) {
        if (wait_fd(fd, POLLIN, deadline_ms))
            return -1;
        ssize_t n = recv(fd, buf + len, cap - 1 - len, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0)
            return -1;
        char *nl = memchr(buf + len, '\n', (size_t)n);
        len += (size_t)n;
        if (nl) {
            *nl = '\0';
            return 0;
        }
    }
    return -1;
}

int con_audit(struct con_app *app, const char *op, const char *kind, const char *subject,
              json_t *detail)
{
    json_t *req = json_pack("{s:s,s:s}", "op", "audit", "kind", kind);
    if (req && op)
        json_object_set_new(req, "operator", json_string(op));
    if (req && subject)
        json_object_set_new(req, "subject", json_string(subject));
    if (req && detail)
        json_object_set(req, "detail", detail);
    json_decref(detail);
    json_t *reply = NULL;
    int rc = req ? con_ctl_call(app->cfg.control_socket_path, req, &reply) : CON_E_NOMEM;
    json_decref(req);
    bool ok = rc == 0 && json_is_true(json_object_get(reply, "ok"));
    json_decref(reply);
    if (!ok)
        CON_WARN("audit", "%s%s%s: not in the audit trail (the station did not take it)", kind,
                 subject ? " " : "", subject ? subject : "");
    return ok ? 0 : CON_E_UNAVAILABLE;
}

int con_ctl_call(const char *socket_path, json_t *request, json_t **reply)
{
    char *line = json_dumps(request, JSON_COMPACT);
    if (!line)
        return CON_E_NOMEM;
    size_t len = strlen(line);
    if (len + 1 > CTL_LINE_MAX) {
        free(line);
        return CON_E_LIMIT;
    }
    line[len] = '\n';   /* json_dumps' NUL becomes the line end; len+1 sent */
    int64_t deadline = stn_now_ms() + CTL_TIMEOUT_MS;
    int fd = connect_unix(socket_path);
    int rc = CON_E_UNAVAILABLE;
    char *buf = malloc(CTL_REPLY_MAX);
    if (fd >= 0 && buf && send_all(fd, line, len + 1, deadline) == 0 &&
        recv_line(fd, buf, CTL_REPLY_MAX, deadline) == 0) {
        json_t *r = json_loads(buf, JSON_REJECT_DUPLICATES, NULL);
        if (json_is_object(r)) {
            *reply = r;
            rc = 0;
        } else {
            json_decref(r);
        }
    }
    if (fd >= 0)
        close(fd);
    memset(line, 0, len + 1);
    free(line);
    free(buf);
    return rc;
}
