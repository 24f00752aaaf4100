/* What the HTTP layer tracks per connection beyond libmicrohttpd 0.9.75: a
 * deadline for each request's headers, enforced by a watchdog thread (the
 * library restarts its idle timeout with every byte and has no total one, so
 * a client trickling headers would hold its connection for ever), and the
 * verdict on the request line's URI, taken before the library splits it. */
#ifndef MW_HTTP_CONN_GUARD_H
#define MW_HTTP_CONN_GUARD_H
#include <microhttpd.h>
#include <stddef.h>

#include "http/uri.h"

typedef struct mw_conn_guard mw_conn_guard;

/* A guard whose watchdog shuts down connections whose request headers are
 * not complete header_timeout_s after the connection opened, or, on a kept-
 * alive connection, idle_timeout_s + header_timeout_s after the previous
 * answer (the idle wait itself is libmicrohttpd's). Returns 0 or MW_ENOMEM. */
int mw__guard_new(unsigned header_timeout_s, unsigned idle_timeout_s, mw_conn_guard **out);
/* Stops the watchdog and frees the guard; call after MHD_stop_daemon, whose
 * close notifications still use it. NULL is fine. */
void mw__guard_free(mw_conn_guard *g);

/* MHD_OPTION_NOTIFY_CONNECTION and MHD_OPTION_URI_LOG_CALLBACK callbacks, cls
 * = the guard. The URI callback returns NULL (the request's con_cls); when it
 * refuses the URI it blanks the query in place, so that libmicrohttpd splits
 * no parameters (too many of them would exhaust the connection's pool, which
 * 0.9.75 answers with a stall). */
void mw__guard_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                             enum MHD_ConnectionNotificationCode code);
void *mw__guard_on_uri(void *cls, const char *uri, struct MHD_Connection *conn);

/* The current request on conn has all its headers: no deadline until it is
 * answered. Returns the verdict on its URI; *params gets its parameter count,
 * *bad_param the name of the parameter a MW_URI_BAD_QUERY verdict is about. */
enum mw_uri_verdict mw__guard_headers_done(mw_conn_guard *g, struct MHD_Connection *conn, size_t *params,
                                           const char **bad_param);
/* The request on conn was answered (or ended): the next one's clock starts. */
void mw__guard_request_done(mw_conn_guard *g, struct MHD_Connection *conn);

#endif
