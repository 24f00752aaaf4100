/* The stored span form: how one OTLP span, its resource and its scope are
 * kept in the store, and how they come back. This module is the only code
 * that knows it; changing the form (say, compressing bodies) is a change of
 * this file and its test (tests/unit/test_span_form.c).
 *
 *   span      the indexed fields become columns (mw_span_row: ids, parent,
 *             name, start and duration, kind, status code); the rest is the
 *             span's own OTLP protobuf with the column fields cleared (ids,
 *             name, times, kind), the row's body
 *   resource  a meanwhile.store.v1.StoredResource (the resource and its
 *             ResourceSpans.schema_url), with the source's identity taken
 *             from its attributes (service.name, service.instance.id,
 *             host.name, process.pid)
 *   scope     a meanwhile.store.v1.StoredScope (the scope and its
 *             ScopeSpans.schema_url)
 *
 * Everything is allocated from the caller's arena. */
#ifndef MW_DECODE_SPAN_FORM_H
#define MW_DECODE_SPAN_FORM_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "decode/otlp.h"
#include "model/span.h"

typedef Opentelemetry__Proto__Resource__V1__Resource mw_otlp_resource;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope mw_otlp_scope;

/* --- encoding (ingest) ------------------------------------------------------- */

/* Encodes a resource (NULL: an empty one) and its schema URL (NULL: none)
 * into out: the blob and the source identity ("unknown_service" without a
 * service.name, "" without an instance). Returns 0 or MW_ENOMEM. The
 * resource's empty string values are re-pointed (see span_form.c). */
int mw__span_form_put_resource(mw_arena *a, mw_otlp_resource *res, const char *schema_url, mw_resource_ref *out);
/* Encodes a scope (NULL: none) and its schema URL. Returns 0 or MW_ENOMEM. */
int mw__span_form_put_scope(mw_arena *a, mw_otlp_scope *scope, const char *schema_url, mw_scope_ref *out);
/* Fills row's columns and body from sp, which must be valid (16-byte trace
 * id, 8-byte span id, end not before start: mw__otlp_flatten checks). Leaves
 * row->resource and row->scope to the caller; row->name points into sp.
 * Returns 0 or MW_ENOMEM. sp comes back as it was, but for its empty string
 * values, which are re-pointed. */
int mw__span_form_put_span(mw_arena *a, mw_otlp_span *sp, mw_span_row *row);

/* --- decoding (queries) ------------------------------------------------------ */

/* The span of a stored row (columns + body), with every field back; NULL when
 * the body does not decode (or out of memory). The span points into row. */
mw_otlp_span *mw__span_form_get_span(mw_arena *a, const mw_span_row *row);
/* The resource of a stored blob, and its schema URL (*schema_url "" when it
 * has none); NULL when the blob does not decode or holds no resource. */
mw_otlp_resource *mw__span_form_get_resource(mw_arena *a, const uint8_t *blob, size_t len, const char **schema_url);
/* The scope of a stored blob, and its schema URL, as for resources. */
mw_otlp_scope *mw__span_form_get_scope(mw_arena *a, const uint8_t *blob, size_t len, const char **schema_url);

#endif
