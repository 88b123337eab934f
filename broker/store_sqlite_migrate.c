/* store_sqlite_migrate.c: the migration runner: checks application_id, then applies
 * sql/NNNN_*.sql above PRAGMA user_version, one transaction each. */
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_sqlite.h"

#define STORE_APP_ID		1347570777	/* "PRLY", set by 0001_init */

/*
 * Applies every migration above the file's user_version, each in its own
 * transaction that also sets user_version, so a crash leaves the file at
 * some version, never between two.  The version is read under the write
 * lock, in case another process migrates the same file.
 */
int
sq_migrate(sqlite3 *db, char *err, size_t errlen)
{
	const struct store_migration *m;
	char		 sql[64];
	int64_t		 v, app;
	int64_t		 latest = (int64_t)store_nmigrations;
	size_t		 i;

	for (i = 0; i < store_nmigrations; i++) {
		if (store_migrations[i].mig_version != (int)i + 1) {
			sq_seterr(err, errlen, "migration table out of "
			    "order at %s", store_migrations[i].mig_name);
			return -1;
		}
	}
	if (sq_db_pragma(db, "PRAGMA application_id", &app, NULL, 0, err,
	    errlen) == -1)
		return -1;
	if (app != 0 && app != STORE_APP_ID) {
		sq_seterr(err, errlen, "not a parley database "
		    "(application_id %lld)", (long long)app);
		return -1;
	}
	for (;;) {
		if (sq_db_exec(db, "BEGIN IMMEDIATE", err, errlen) == -1)
			return -1;
		if (sq_db_pragma(db, "PRAGMA user_version", &v, NULL, 0, err,
		    errlen) == -1)
			goto fail;
		if (v > latest) {
			sq_seterr(err, errlen, "database schema version "
			    "%lld is newer than this parleyd knows (%lld): "
			    "refusing to open it", (long long)v,
			    (long long)latest);
			goto fail;
		}
		if (v == latest)
			return sq_db_exec(db, "COMMIT", err, errlen);
		m = &store_migrations[v];
		if (sq_db_exec(db, m->mig_sql, err, errlen) == -1)
			goto fail;
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		    m->mig_version);
		if (sq_db_exec(db, sql, err, errlen) == -1 ||
		    sq_db_exec(db, "COMMIT", err, errlen) == -1)
			goto fail;
		log_info("sq_migrate", "schema version %d (%s) applied",
		    m->mig_version, m->mig_name);
	}
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}
