/* The schema of a database of our own, for tests and benchmarks that make
 * one on a connection of theirs: the migrations embedded in the binary
 * (schema/sql/, core/embed.h), so that no other copy of a table's text
 * exists. mw__store_open applies them to the server's file (store.c). */
#ifndef MW_STORE_SCHEMA_H
#define MW_STORE_SCHEMA_H
#include <sqlite3.h>
#include <stddef.h>

/* Applies the embedded migrations 1..upto (0: all of them) to db, which holds
 * none yet (a new file, or ":memory:"): each in its own transaction with
 * application_id and user_version set, as mw__store_open does, but without
 * its data backfills (an empty database has nothing to backfill). Returns 0,
 * MW_EINVAL (upto past the migrations there are, or db already has some) or
 * MW_EIO with SQLite's message in err. */
int mw__schema_apply(sqlite3 *db, size_t upto, char *err, size_t errsz);

#endif
