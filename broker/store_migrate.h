/* store_migrate.h: bring a freshly opened database to the latest schema. */
#ifndef PARLEY_STORE_MIGRATE_H
#define PARLEY_STORE_MIGRATE_H

#include <stddef.h>

#include <sqlite3.h>

/* Applies the migrations the file lacks; 0, or -1 with err set. */
int	store_migrate(sqlite3 *db, char *err, size_t errlen);

#endif
