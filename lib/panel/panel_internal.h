/*
 * panel_internal.h — private to lib/panel: helpers shared between the core's
 * files. Nothing outside lib/panel (and its white-box tests) includes this.
 */
#ifndef VIGIL_PANEL_INTERNAL_H
#define VIGIL_PANEL_INTERNAL_H

#include "vigil/panel.h"

/* Bytes in a v1 record body (read for migration only): config in the clear,
 * the 16-byte check block and user table encrypted, the rest in the clear. */
#define PNL__BODY_V1_SIZE (35u + 16u + PNL_USERS_MAX * 8u + PNL_ZONES_MAX * 4u + \
                           PNL_PARTS_MAX * 6u + 9u + PNL_QUEUE_MAX * 11u + 2u +     \
                           PNL_HISTORY_MAX * 5u)
/* The v2 fields: v1's, then the emergency keys, AC delay, reported troubles
 * (5) and each queued event's report detail (2 each). */
#define PNL__BODY_V2_FIELDS (PNL__BODY_V1_SIZE + 5u + PNL_QUEUE_MAX * 2u)
/* Bytes in a v2 record body (what store.c writes): all of it after the
 * check block AES-CBC encrypted, zero-padded to whole blocks. */
#define PNL__BODY_SIZE ((PNL__BODY_V2_FIELDS + 15u) / 16u * 16u)

/* The policy one pair at a time (policy.c), so the panel need not build an
 * array of every code in the clear on its stack. */
void pnl__policy_begin(struct pnl_policy_result *res);
void pnl__policy_pair(const char *code, size_t len, bool duress,
                      const struct pnl_policy_code *e, const struct pnl_layout *layout,
                      struct pnl_policy_result *res);
void pnl__policy_end(const char *code, size_t len, bool duress, struct pnl_policy_result *res);
/* Every loaded field within its range (store.c, after parsing). */
int pnl__check_loaded(const struct pnl *p);
/* Timers and transient state after a load (store.c → panel.c). */
void pnl__after_load(struct pnl *p, uint64_t now_ms);

#endif
