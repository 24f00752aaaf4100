/* The bottom floor of the store: opening a connection with the common
 * settings, running a statement and reading a number back. Every other part
 * of store/ builds on this and on nothing else of store/ below it. */
#ifndef MW_STORE_CONN_H
#define MW_STORE_CONN_H
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* 'MWHL': marks a database file as ours (PRAGMA application_id). */
#define MW__APPLICATION_ID 0x4D57484C

/* Opens a connection (read-only or read-write, created if missing) with the
 * busy timeout and extended result codes on. Returns 0, or MW_EIO with a
 * message in err. */
int mw__store_connect(const char *path, int readonly, sqlite3 **out, char *err, size_t errsz);
/* Runs sql (one or more statements). Returns 0, MW_EFULL (disk full) or
 * MW_EIO with SQLite's message in err. */
int mw__store_exec(sqlite3 *db, const char *sql, char *err, size_t errsz);
/* Steps a statement that yields at most one integer (*out, -1 if none), then
 * resets it and clears its bindings. Returns 0, MW_EIO or MW_EFULL. */
int mw__step_id(sqlite3 *db, sqlite3_stmt *st, int64_t *out);
/* The project error for db's last failure: MW_EFULL or MW_EIO. */
int mw__sql_err(sqlite3 *db);
/* The single integer sql yields (a PRAGMA, a count), or -1 when it fails or
 * yields nothing. */
int64_t mw__sql_int(sqlite3 *db, const char *sql);
/* Bytes of the database's pages in use (not counting free pages); 0 when it
 * cannot be read. */
uint64_t mw__store_used_bytes(sqlite3 *db);

#endif
