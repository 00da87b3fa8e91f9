/*
 * schema_pg.c — the store's schema on PostgreSQL. Placeholder until the
 * PostgreSQL back end lands (db_pg.c refuses to open before then).
 */
#include "stn_internal.h"

const char *const stn_schema_pg[STN_SCHEMA_VERSION] = { "", "", "", "", "", "" };
