/* The writer's open blocks and the readers' view of them (see blocks.h). */
#include "store/blocks.h"
#include "core/error.h"
#include "core/log.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <uv.h>

struct mw__blk {
  _Atomic int64_t commit_seq;
  uv_rwlock_t lock;
};

mw__blk *mw__blk_new(void) {
  mw__blk *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  if (uv_rwlock_init(&b->lock) != 0) {
    free(b);
    return NULL;
  }
  return b;
}

void mw__blk_free(mw__blk *b) {
  if (!b) return;
  uv_rwlock_destroy(&b->lock);
  free(b);
}

int64_t mw__blk_seq(mw__blk *b) { return b ? atomic_load(&b->commit_seq) : 0; }
