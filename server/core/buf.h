/* A growable byte buffer with a hard maximum, in the manner of curl's dynbuf:
 * every buffer that grows from input has a limit, and a failed append leaves
 * the buffer freed-and-empty (no half state to reason about). The failure
 * sticks: later appends fail too, until mw__buf_init, so that what follows a
 * failure can never pass for the whole text (a truncated answer sent as if
 * complete). */
#ifndef MW_CORE_BUF_H
#define MW_CORE_BUF_H
#include <stddef.h>
#include <stdint.h>

typedef struct mw_buf {
  char *data; /* always NUL-terminated when len > 0 (not counted in len) */
  size_t len;
  size_t cap;
  size_t max; /* appends that would pass this fail with MW_ETOOBIG */
  int err;    /* the first failure (MW_ETOOBIG, MW_ENOMEM), 0 if none */
} mw_buf;

void mw__buf_init(mw_buf *b, size_t max);
void mw__buf_free(mw_buf *b);
void mw__buf_reset(mw_buf *b); /* len = 0, keeps the memory, forgets a failure */
/* Returns 0, MW_ENOMEM or MW_ETOOBIG; on failure the buffer is freed and
 * b->err set; once b->err is set, every append returns it. */
int mw__buf_add(mw_buf *b, const void *data, size_t len);
int mw__buf_addc(mw_buf *b, char c);
int mw__buf_adds(mw_buf *b, const char *s);
int mw__buf_printf(mw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* v as an unsigned LEB128 varint (1-10 bytes): in place while there is room
 * (encoders write one per field of every row), else through mw__buf_add. */
int mw__buf_uvarint(mw_buf *b, uint64_t v);
/* Makes room for at least n more bytes; returns a pointer to them (or NULL). */
char *mw__buf_reserve(mw_buf *b, size_t n);
/* The allocation mw__buf_reserve(b, n) would leave (b->cap when it need not
 * grow, or when n does not fit under max): for counting memory before it is taken. */
size_t mw__buf_capacity_for(const mw_buf *b, size_t n);
/* Takes ownership of the data (caller frees with free()); the buffer is left empty. */
char *mw__buf_detach(mw_buf *b, size_t *len);

#endif
