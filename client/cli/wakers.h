/* `meanwhile wakers`: which operations' spans keep waking an operation's
 * slow spans (GET /api/v1/wakers), as a table. */
#ifndef MW_CLI_WAKERS_H
#define MW_CLI_WAKERS_H
#include <jansson.h>
#include <stdio.h>

#include "render.h"

/* Runs `wakers` with argv[0] == "wakers"; returns the exit status. Needs
 * curl_global_init() first and opterr = 0. */
int cli_cmd_wakers(int argc, char **argv);

/* The help of `wakers`. */
void cli_usage_wakers(FILE *f);

/* Renders a /api/v1/wakers answer; CLI_RENDER_ESHAPE when it lacks the shape. */
int cli_render_wakers(FILE *out, const json_t *j, const cli_render_opts *o);

#endif
