/* The span a block sref names (sref_read.h). */
#include "store/sref_read.h"
#include "core/error.h"
#include "store/span_block.h"
#include "store/sref.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

typedef struct open_blk {
  int64_t id; /* 0: empty */
  int64_t source_id;
  mw_arena *arena; /* the data and everything the block decodes */
  mw__sb_block *b; /* NULL: the block is gone */
} open_blk;

typedef struct op_name {
  int64_t op;
  char *name; /* malloc'd */
} op_name;

enum { OP_NAMES = 16 };

struct mw__sref_rd {
  mw_read *r;
  sqlite3_stmt *block, *name;
  ZSTD_DCtx *dctx;
  open_blk open[MW__SREF_BLOCKS];
  size_t next; /* the slot to reuse next */
  op_name names[OP_NAMES];
  size_t next_name;
};

int mw__sref_rd_new(mw_read *r, mw__sref_rd **out) {
  *out = calloc(1, sizeof **out);
  if (!*out) return MW_ENOMEM;
  (*out)->r = r;
  return MW_OK;
}

void mw__sref_rd_free(mw__sref_rd *s) {
  if (!s) return;
  sqlite3_finalize(s->block);
  sqlite3_finalize(s->name);
  ZSTD_freeDCtx(s->dctx);
  for (size_t i = 0; i < MW__SREF_BLOCKS; i++) mw__arena_free(s->open[i].arena);
  for (size_t i = 0; i < OP_NAMES; i++) free(s->names[i].name);
  free(s);
}

/* The open block of id, opening it (and pushing out the oldest) if needed. */
static int open_block(mw__sref_rd *s, int64_t id, open_blk **out) {
  for (size_t i = 0; i < MW__SREF_BLOCKS; i++)
    if (s->open[i].id == id) {
      *out = &s->open[i];
      return MW_OK;
    }
  if (!s->block && !(s->block = mw__prepare(s->r, MW__SREF_BLOCK_SQL))) return MW_EIO;
  if (!s->dctx && !(s->dctx = ZSTD_createDCtx())) return MW_ENOMEM;
  open_blk *o = &s->open[s->next];
  s->next = (s->next + 1) % MW__SREF_BLOCKS;
  mw__arena_free(o->arena);
  memset(o, 0, sizeof *o);
  if (!(o->arena = mw__arena_new(0))) return MW_ENOMEM;
  sqlite3_bind_int64(s->block, 1, id);
  int step = sqlite3_step(s->block), rc = MW_OK;
  if (step == SQLITE_ROW) {
    size_t len;
    const uint8_t *data = mw__col_blob(o->arena, s->block, 1, &len);
    o->source_id = sqlite3_column_int64(s->block, 0);
    rc = data ? mw__sb_open(o->arena, s->dctx, data, len, &o->b) : MW_ENOMEM;
  } else if (step != SQLITE_DONE) rc = mw__read_failed(s->r, step);
  sqlite3_reset(s->block);
  if (rc) {
    mw__arena_free(o->arena);
    memset(o, 0, sizeof *o);
    return rc;
  }
  o->id = id; /* a block that is gone is remembered as such (b NULL) */
  *out = o;
  return MW_OK;
}

/* The operation's name, copied into a. */
static int op_name_of(mw__sref_rd *s, mw_arena *a, int64_t op, const char **out) {
  op_name *hit = NULL;
  for (size_t i = 0; i < OP_NAMES && !hit; i++)
    if (s->names[i].name && s->names[i].op == op) hit = &s->names[i];
  if (!hit) {
    if (!s->name && !(s->name = mw__prepare(s->r, MW__SREF_NAME_SQL))) return MW_EIO;
    sqlite3_bind_int64(s->name, 1, op);
    int step = sqlite3_step(s->name);
    const char *t = step == SQLITE_ROW ? (const char *)sqlite3_column_text(s->name, 0) : NULL;
    char *copy = strdup(t ? t : ""); /* an operation that is gone reads as "" */
    sqlite3_reset(s->name);
    if (step != SQLITE_ROW && step != SQLITE_DONE) {
      free(copy);
      return mw__read_failed(s->r, step);
    }
    if (!copy) return MW_ENOMEM;
    hit = &s->names[s->next_name];
    s->next_name = (s->next_name + 1) % OP_NAMES;
    free(hit->name);
    hit->op = op, hit->name = copy;
  }
  return (*out = mw__arena_strndup(a, hit->name, strlen(hit->name))) ? MW_OK : MW_ENOMEM;
}

int mw__sref_get(mw__sref_rd *s, mw_arena *a, int64_t sref, enum mw__sref_what what, mw_stored_span *out) {
  memset(out, 0, sizeof *out);
  if (mw__sref_is_row(sref) || !sref) return MW_EINVAL;
  int64_t id;
  uint32_t index;
  mw__sref_split(sref, &id, &index);
  open_blk *o;
  int rc = open_block(s, id, &o);
  if (rc) return rc;
  if (!o->b) return MW_ENOTFOUND;
  mw__sb_info info;
  mw__sb_info_get(o->b, &info);
  if (index >= info.n) return MW_EIO; /* not a span of this block: not an sref we wrote */
  if (what == MW__SREF_IDS) {
    rc = mw__sb_get_ids(o->b, index, out->trace_id, out->span_id, &out->start_ns, &out->dur_ns, &out->op_id);
  } else {
    mw_stored_span sp;
    if (!(rc = mw__sb_get(o->b, index, &sp))) {
      *out = sp;
      out->body = sp.body_len ? mw__arena_memdup(a, sp.body, sp.body_len) : (const uint8_t *)"";
      if (!out->body) rc = MW_ENOMEM;
      if (!rc) rc = op_name_of(s, a, out->op_id, &out->name);
    }
  }
  out->source_id = o->source_id;
  return rc == MW_EINVAL ? MW_EIO : rc;
}
