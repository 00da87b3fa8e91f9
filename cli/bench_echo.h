/*
 * bench_echo.h — the trivial echo server `vigil bench --echo` measures as its
 * baseline: for every frame (LF..CR) it reads, it writes one ACK-sized reply.
 * Nothing else: no parsing, no crypto, no storage (the durable echo adds one
 * write and one fdatasync per batch). Must never listen anywhere but 127.0.0.1.
 */
#ifndef VIGIL_CLI_BENCH_ECHO_H
#define VIGIL_CLI_BENCH_ECHO_H

#include <stddef.h>
#include <stdint.h>

struct bench_echo;

/* Starts the server on its own thread and libuv loop at 127.0.0.1:port
 * (0 = ephemeral; the bound port is returned in *port). `reply` (LF..CR, at
 * most 512 bytes) is copied and sent, unchanged, once per frame received.
 * sync_dir non-NULL makes it the durable echo: the bytes read in each loop
 * iteration are written to a file there and fdatasync'd before any of their
 * replies leaves (the file is removed at stop). */
int bench_echo_start(struct bench_echo **out, uint16_t *port, const uint8_t *reply,
                     size_t reply_len, const char *sync_dir);
void bench_echo_stop(struct bench_echo *e);

/* Runs the server in the foreground until SIGINT/SIGTERM. */
int bench_echo_serve(uint16_t port, const uint8_t *reply, size_t reply_len);

#endif
