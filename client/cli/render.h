/* What the meanwhile CLI prints for a person: the explanation of a trace (a
 * span table with each span's time breakdown, then the causes with their
 * evidence) and the list of slow traces. Pure functions from the server's
 * parsed JSON answer to a FILE *: no I/O besides the writes, no globals, so
 * tests can render recorded answers. Strings from the server are printed with
 * control characters replaced, so a span name cannot drive the terminal. */
#ifndef MW_CLI_RENDER_H
#define MW_CLI_RENDER_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct cli_render_opts {
  int width; /* columns to fit in; values under CLI_RENDER_MIN_WIDTH count as that */
  int color; /* ANSI colours and block characters */
} cli_render_opts;

#define CLI_RENDER_MIN_WIDTH 60

enum cli_render_err {
  CLI_RENDER_OK = 0,
  CLI_RENDER_ESHAPE = -1, /* the answer lacks the contract's shape; nothing was written */
  CLI_RENDER_ENOMEM = -2,
};

/* Writes the answer of GET /api/v1/traces/{id}/explain (docs/API.md): header,
 * summary, span tree with breakdowns, then the causes of every span whose top
 * cause is not its children. Fields missing from a span count as zero or empty.
 * Returns a cli_render_err; write errors are left in ferror(out). */
int cli_render_explain(FILE *out, const json_t *explain, const cli_render_opts *o);

/* Writes the traces of GET /api/search one per line: trace id, root service and
 * name, start (RFC 3339, UTC), duration. Returns a cli_render_err. */
int cli_render_search(FILE *out, const json_t *search, const cli_render_opts *o);

/* "850 ns", "12.3 us", "152.5 ms", "2.35 s", "3m05s", "2h07m". */
void cli_format_duration(char *buf, size_t size, int64_t ns);

/* RFC 3339 in UTC with milliseconds: "2026-11-22T08:01:14.936Z". */
void cli_format_time(char *buf, size_t size, int64_t unix_ns);

#endif
