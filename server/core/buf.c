/* Bounded growable buffer (see buf.h). */
#include "core/buf.h"
#include "core/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mw__buf_init(mw_buf *b, size_t max) {
  b->data = NULL;
  b->len = b->cap = 0;
  b->max = max;
  b->err = 0;
}

void mw__buf_free(mw_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void mw__buf_reset(mw_buf *b) {
  b->len = 0;
  b->err = 0;
  if (b->data) b->data[0] = '\0';
}

/* Frees the buffer and remembers why; returns NULL for the caller to pass on. */
static char *fail(mw_buf *b, int err) {
  mw__buf_free(b);
  if (!b->err) b->err = err;
  return NULL;
}

size_t mw__buf_capacity_for(const mw_buf *b, size_t n) {
  if (n > b->max || b->len > b->max - n) return b->cap;
  size_t need = b->len + n + 1;
  if (need <= b->cap) return b->cap;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need) cap *= 2;
  if (b->max < SIZE_MAX && cap > b->max + 1) cap = b->max + 1;
  return cap;
}

char *mw__buf_reserve(mw_buf *b, size_t n) {
  if (b->err) return NULL;
  if (n > b->max || b->len > b->max - n) return fail(b, MW_ETOOBIG);
  size_t cap = mw__buf_capacity_for(b, n);
  if (cap > b->cap) {
    char *p = realloc(b->data, cap);
    if (!p) return fail(b, MW_ENOMEM);
    b->data = p;
    b->cap = cap;
  }
  return b->data + b->len;
}

int mw__buf_add(mw_buf *b, const void *data, size_t len) {
  char *p = mw__buf_reserve(b, len);
  if (!p) return b->err;
  if (len) memcpy(p, data, len);
  b->len += len;
  b->data[b->len] = '\0';
  return MW_OK;
}

int mw__buf_addc(mw_buf *b, char c) {
  if (b->len + 1 < b->cap) {
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
    return MW_OK;
  }
  return mw__buf_add(b, &c, 1);
}

int mw__buf_adds(mw_buf *b, const char *s) { return mw__buf_add(b, s, strlen(s)); }

int mw__buf_printf(mw_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char small[256];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return MW_EINVAL;
  if ((size_t)n < sizeof small) return mw__buf_add(b, small, (size_t)n);
  char *p = mw__buf_reserve(b, (size_t)n);
  if (!p) return b->err;
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return MW_OK;
}

char *mw__buf_detach(mw_buf *b, size_t *len) {
  char *p = b->data;
  if (len) *len = b->len;
  b->data = NULL;
  b->len = b->cap = 0;
  return p;
}

int mw__buf_uvarint(mw_buf *b, uint64_t v) {
  unsigned char tmp[10], *p = tmp;
  int in_place = b->data && !b->err && b->cap - b->len > 11; /* 10 bytes at most, and the NUL */
  if (in_place) p = (unsigned char *)b->data + b->len;
  unsigned char *start = p;
  while (v >= 0x80) {
    *p++ = (unsigned char)(v | 0x80);
    v >>= 7;
  }
  *p++ = (unsigned char)v;
  if (!in_place) return mw__buf_add(b, tmp, (size_t)(p - tmp));
  b->len += (size_t)(p - start);
  b->data[b->len] = '\0';
  return 0;
}
