/* A server file for the self-test of tests/lint/public_names.mjs: it names
 * mw_thing_params and mw_thing_new in comments and strings (not clashes) and
 * declares one type under a public name (the clash). */
static const char *s = "mw_thing_new";
typedef struct { int kind; } mw_thing_params;
