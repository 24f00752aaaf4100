/* The one table from the project's error codes (core/error.h) to HTTP
 * statuses, and whether an answer asks the client to retry (Retry-After).
 * Handlers say what went wrong with an error code; only this table (and the
 * libmicrohttpd glue in server.c, which sends what it is given) knows
 * status numbers. */
#ifndef MW_HTTP_STATUS_H
#define MW_HTTP_STATUS_H

/* The status of an answer with error code rc (MW_OK: 200 OK). A code the table
 * does not list is a server fault: 500. */
unsigned mw__http_status(int rc);
/* Seconds of the Retry-After an answer with rc carries; 0 for none. */
unsigned mw__http_retry_after(int rc);
/* 1 when the status of rc asks for credentials (WWW-Authenticate). */
int mw__http_needs_auth(int rc);
/* The status of an answer that carries nothing (a CORS preflight). */
unsigned mw__http_status_empty(void);

#endif
