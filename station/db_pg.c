/*
 * db_pg.c — db.h on PostgreSQL (libpq). Placeholder until the back end
 * lands: it says that this build has no PostgreSQL.
 */
#include "db_impl.h"

#include <stdio.h>

int db_pg_open(const char *uri, unsigned flags, struct db **out, char *msg, size_t cap)
{
    (void)uri;
    (void)flags;
    *out = NULL;
    snprintf(msg, cap, "this build has no PostgreSQL store (built without libpq)");
    return DB_CANTOPEN;
}
