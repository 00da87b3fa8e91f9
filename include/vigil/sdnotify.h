/*
 * sdnotify.h — the daemons' (vigil-station, vigil-console) word to systemd:
 * READY=1, STOPPING=1, RELOADING=1 and WATCHDOG=1 through libsystemd's
 * sd_notify, or nothing when built with -DVIGIL_WITH_SYSTEMD=OFF. Outside
 * systemd (no NOTIFY_SOCKET) sd_notify does nothing and returns 0.
 */
#ifndef VIGIL_SDNOTIFY_H
#define VIGIL_SDNOTIFY_H

#include <stdint.h>

#ifdef VIGIL_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#else
static inline int sd_notify(int unset_environment, const char *state)
{
    (void)unset_environment;
    (void)state;
    return 0;
}
static inline int sd_watchdog_enabled(int unset_environment, uint64_t *usec)
{
    (void)unset_environment;
    (void)usec;
    return 0;
}
#endif

#endif
