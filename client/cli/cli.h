/* What the commands of the meanwhile CLI share (main.c has them): reading
 * durations, the server's URL, reporting bad usage, one GET with its errors
 * reported, and writing an answer raw or rendered. Exit statuses are
 * main.c's: 0 done, 1 the server said no, 2 unreachable, 64 bad usage. */
#ifndef MW_CLI_CLI_H
#define MW_CLI_CLI_H
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "http.h"
#include "render.h"

/* A Go duration ("250ms", "1h30m") or days ("7d") in ns; 0 or -1. */
int cli_parse_duration(const char *s, int64_t *out);
/* The server's base URL (--url, $MEANWHILE_URL, the default) into base;
 * else bad usage of cmd reported and its exit status returned. */
int cli_server_base(const char *cmd, const char *url_flag, char *base, size_t size);
/* Reports bad usage of cmd on stderr; returns the exit status 64. */
int cli_bad_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports what getopt_long refused (opterr 0, an optstring starting with ':'). */
int cli_bad_option(const char *cmd, int c, char **argv);
/* GETs url; 0 with a 2xx answer in *r (the caller frees it), else the error
 * reported on stderr and the exit status returned. */
int cli_fetch(const char *base, const char *url, const char *not_found, cli_response *r);
/* Writes the answer: raw with --json, else through render; the exit status. */
int cli_print_answer(const cli_response *r, int raw, int (*render)(FILE *, const json_t *, const cli_render_opts *),
                     const char *what);

#endif
