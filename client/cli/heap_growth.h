/* `meanwhile heap-growth --source ID`: asks GET
 * /api/v1/sources/{id}/heap/growth (docs/API.md, "Growth", "Heap") for the
 * last --since against the --since before it and prints the stacks that
 * grew; --json prints the server's answer unchanged. The URL and the
 * rendering are functions of their inputs; strings from the server are
 * printed with control characters replaced. */
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

/* Runs `heap-growth` with argv[0] == "heap-growth"; returns the exit status
 * (cli.h). Needs curl_global_init() first and opterr = 0. */
int cli_cmd_heap_growth(int argc, char **argv);

/* The help of `heap-growth`. */
void cli_usage_heap_growth(FILE *f);

#endif
