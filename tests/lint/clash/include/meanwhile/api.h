/* A public header for the self-test of tests/lint/public_names.mjs: one of
 * each kind of name it reads. */
#define MW_THING_VERSION "1"
enum mw_thing_kind { MW_THING_A = 0, MW_THING_B };
typedef struct mw_thing mw_thing;
typedef int mw_thing_params;
typedef void (*mw_thing_fn)(void *user);
int mw_thing_new(mw_thing **out);
