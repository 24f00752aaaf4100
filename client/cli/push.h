/* `meanwhile push`: send a file of spans or runtime data to meanwhiled through
 * libmeanwhile (compression, retries, an optional spool). */
#ifndef MW_CLI_PUSH_H
#define MW_CLI_PUSH_H
#include <stdio.h>

/* Runs `push` with argv[0] == "push"; returns the exit status (0 delivered or
 * spooled, 1 refused or failed, 2 unreachable, 64 bad usage). Needs
 * curl_global_init() first and opterr = 0. */
int cli_cmd_push(int argc, char **argv);

/* The help of `push`. */
void cli_usage_push(FILE *f);

#endif
