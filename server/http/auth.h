/* Access control: bearer tokens, one set for ingest and one for queries (and
 * the viewer's data). A set left empty means that side is open. */
#ifndef MW_HTTP_AUTH_H
#define MW_HTTP_AUTH_H
#include <stddef.h>

typedef struct mw_token_set {
  char **tokens;
  size_t n;
} mw_token_set;

typedef struct mw_auth {
  mw_token_set ingest, query;
} mw_auth;

/* Loads a set from a file (one token per line; blank lines and lines starting
 * with '#' are skipped) and/or a comma-separated list (an environment
 * variable's value). Either may be NULL. Returns 0 or an error with a message. */
int mw__tokens_load(mw_token_set *set, const char *file, const char *list, char *err, size_t errsz);
void mw__tokens_free(mw_token_set *set);

/* 1 when presented (may be NULL) equals one of the set's tokens. Takes the
 * same time whichever token matches, and compares every byte of each. */
int mw__tokens_match(const mw_token_set *set, const char *presented, size_t len);

#endif
