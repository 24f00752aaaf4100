/* The span batch: what an OTLP request becomes once decoded and validated, and
 * what the store's writer inserts. Everything points into the request's arena;
 * the writer does only lookups and binds. */
#ifndef MW_MODEL_SPAN_H
#define MW_MODEL_SPAN_H
#include <stddef.h>
#include <stdint.h>

/* One distinct resource of the request: the source identity plus the full
 * resource, encoded as meanwhile.store.v1.StoredResource (schema/meanwhile). */
typedef struct mw_resource_ref {
  const char *service;  /* service.name, or "unknown_service" */
  const char *instance; /* service.instance.id, or "" */
  const char *host;     /* host.name, or NULL */
  int64_t pid;          /* process.pid, or 0 */
  const uint8_t *resource;
  size_t resource_len;
} mw_resource_ref;

/* One distinct scope, encoded as meanwhile.store.v1.StoredScope (the scope and
 * its ScopeSpans.schema_url), so that it round-trips as a single blob. */
typedef struct mw_scope_ref {
  const uint8_t *body;
  size_t body_len;
} mw_scope_ref;

typedef struct mw_span_row {
  uint8_t trace_id[16];
  uint8_t span_id[8];
  uint8_t parent_id[8];
  int has_parent;
  int64_t start_ns;
  int64_t dur_ns;
  int kind;
  int status;
  const char *name;
  uint32_t resource;   /* index into mw_span_batch.resources */
  uint32_t scope;      /* index into mw_span_batch.scopes */
  const uint8_t *body; /* Span protobuf with the column fields cleared */
  size_t body_len;
} mw_span_row;

typedef struct mw_span_batch {
  mw_resource_ref *resources;
  size_t n_resources;
  mw_scope_ref *scopes;
  size_t n_scopes;
  mw_span_row *rows;
  size_t n_rows;
  size_t rejected;           /* spans dropped as invalid */
  const char *reject_reason; /* the first reason, for partial_success.error_message */
  size_t bytes;              /* approximate memory held, for queue accounting */
} mw_span_batch;

#endif
