/* `meanwhile heap-growth`: what the CLI prints for the answer of GET
 * /api/v1/sources/{id}/heap/growth (docs/API.md, "Growth", "Heap"), and the
 * query it asks. Pure like render.h: parsed JSON in, text out; strings from
 * the server are printed with control characters replaced. */
#ifndef MW_CLI_HEAP_GROWTH_H
#define MW_CLI_HEAP_GROWTH_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "render.h"

/* Writes into url (capacity cap) base + the heap-growth path of source with
 * "the last since against the since before it", as of now_s (unix seconds):
 * start = now - since, base_start = now - 2 since, base_end = start.
 * Returns 0, or -1 when it does not fit. */
int cli_heap_growth_url(char *url, size_t cap, const char *base, int64_t source, int64_t since_ns, int64_t now_s);

/* Writes the answer: the two profiles compared, the net growth, then one line
 * per stack that grew (bytes, objects, the leaf frame and its callers, cut to
 * o->width). Returns a cli_render_err. */
int cli_render_heap_growth(FILE *out, const json_t *growth, const cli_render_opts *o);

#endif
