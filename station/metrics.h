/*
 * metrics.h — private to vigil-station: its metrics_listen endpoint
 * (metrics.c). The text writers and the store's gauges are vigil/metrics.h.
 */
#ifndef STN_METRICS_H
#define STN_METRICS_H

#include "vigil/metrics.h"

/* ---- metrics.c (vigil-station only): the metrics_listen endpoint ------ */

/* A libmicrohttpd server on its own thread: a scrape copies the counters the
 * loop published last (under a mutex, once a second) and reads the store on
 * a connection of its own, at most once a second; it never waits on the
 * loop and the loop never waits on it. */
struct stn;
#define STN_METRICS_CONNS_MAX 8u      /* scrapers at once (counted in the fd reserve) */
/* Starts it when metrics_listen is set (0, or STN_E_NET / STN_E_CONFIG with msg). */
int  stn_metrics_start(struct stn *s, char *msg, size_t cap);
/* The port it listens on (0: none). */
int  stn_metrics_port(void);
/* The loop's counters as a scrape shows them (loop thread). */
void stn_metrics_publish(const struct stn *s);
void stn_metrics_stop(void);

#endif
