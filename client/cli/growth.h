/* `meanwhile leaks` and `meanwhile gc`: what keeps growing in one source,
 * from meanwhiled's growth endpoints (docs/API.md, "Growth"). */
#ifndef MW_CLI_GROWTH_H
#define MW_CLI_GROWTH_H
#include <stdio.h>

/* Run `leaks` / `gc` with argv[0] the command; return the exit status (0
 * done, 1 the server said no or its answer was unreadable, 2 unreachable,
 * 64 bad usage). Need curl_global_init() first and opterr = 0. */
int cli_cmd_leaks(int argc, char **argv);
int cli_cmd_gc(int argc, char **argv);

void cli_usage_leaks(FILE *f);
void cli_usage_gc(FILE *f);

#endif
