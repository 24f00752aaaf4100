/* Bearer tokens (see auth.h). */
#include "http/auth.h"
#include "core/error.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_TOKENS = 1024, MAX_TOKEN_LEN = 512 };

static int add(mw_token_set *set, const char *t, size_t n, char *err, size_t errsz) {
  while (n && (t[n - 1] == ' ' || t[n - 1] == '\t' || t[n - 1] == '\r')) n--;
  while (n && (*t == ' ' || *t == '\t')) t++, n--;
  if (!n || *t == '#') return MW_OK;
  if (n > MAX_TOKEN_LEN || set->n == MAX_TOKENS) {
    snprintf(err, errsz, "a token is longer than %d bytes, or there are more than %d", MAX_TOKEN_LEN, MAX_TOKENS);
    return MW_EINVAL;
  }
  char **v = realloc(set->tokens, (set->n + 1) * sizeof *v);
  if (!v) return MW_ENOMEM;
  set->tokens = v;
  if (!(v[set->n] = strndup(t, n))) return MW_ENOMEM;
  set->n++;
  return MW_OK;
}

int mw__tokens_load(mw_token_set *set, const char *file, const char *list, char *err, size_t errsz) {
  int rc = MW_OK;
  if (file && *file) {
    FILE *f = fopen(file, "r");
    if (!f) {
      snprintf(err, errsz, "cannot read token file %s: %s", file, strerror(errno));
      return MW_EIO;
    }
    char line[MAX_TOKEN_LEN + 64];
    while (!rc && fgets(line, sizeof line, f)) rc = add(set, line, strcspn(line, "\n"), err, errsz);
    fclose(f);
    if (!rc && !set->n) {
      snprintf(err, errsz, "token file %s holds no token", file);
      rc = MW_EINVAL;
    }
  }
  for (const char *p = list; !rc && p && *p;) {
    size_t n = strcspn(p, ",");
    rc = add(set, p, n, err, errsz);
    p += n + (p[n] == ',');
  }
  return rc;
}

void mw__tokens_free(mw_token_set *set) {
  for (size_t i = 0; i < set->n; i++) {
    /* tokens are secrets: do not leave them in freed memory */
    volatile char *p = set->tokens[i];
    while (*p) *p++ = 0;
    free(set->tokens[i]);
  }
  free(set->tokens);
  set->tokens = NULL;
  set->n = 0;
}

/* Compares a[0..n) with b[0..m) in time that depends only on n. */
static int ct_equal(const char *a, size_t n, const char *b, size_t m) {
  unsigned diff = (unsigned)(n != m);
  for (size_t i = 0; i < n; i++) diff |= (unsigned char)a[i] ^ (unsigned char)(i < m ? b[i] : 0);
  return diff == 0;
}

int mw__tokens_match(const mw_token_set *set, const char *presented, size_t len) {
  int ok = 0;
  if (!presented) return 0;
  for (size_t i = 0; i < set->n; i++) ok |= ct_equal(presented, len, set->tokens[i], strlen(set->tokens[i]));
  return ok;
}
