/* Writing runtime batches (runtime_write.c), on the writer's connection and
 * inside its transaction. */
#ifndef MW_STORE_RUNTIME_WRITE_H
#define MW_STORE_RUNTIME_WRITE_H
#include <sqlite3.h>

#include "core/bmap.h"
#include "model/runtime_batch.h"
#include "store/minutes.h"

struct mw__blk;
struct mw__truns_rd;
struct ZSTD_DCtx_s;

/* Statements of runtime ingest, prepared on first use. */
enum { MW__RT_STMTS = 24 };

typedef struct mw__rt_writer {
  sqlite3 *db;            /* the writer's connection */
  mw_bmap *stacks;        /* stack text -> id, the writer's cache */
  mw_bmap *sources;       /* the span writer's resource -> source id cache: cleared when a source goes */
  struct mw_rules *rules; /* fed each batch once its source is known; NULL: no rules */
  /* the span store with blocks on (mw_store_opts.blocks), else NULL: the
   * writer's open blocks and partition, for learned_source */
  struct mw__blk *blk;
  struct mw__truns_rd *truns; /* trace runs on this connection, opened on first use */
  struct ZSTD_DCtx_s *dctx;   /* ZSTD_DCtx for the sealed blocks it reads, made on first use */
  sqlite3_stmt *st[MW__RT_STMTS];
  mw__minutes_stmts minutes; /* the rollups' (prepared on first use) */
  uint32_t *hist;            /* MW_PH_KEYS counts: a minute's pauses being added */
} mw__rt_writer;

/* Writes one runtime batch (sets b->source_id, b->snapshot_id) and adds
 * the rows it inserted to the source's minutes (store/minutes.h). Returns 0 or
 * an error (MW_EIO, MW_EFULL, MW_ENOMEM). */
int mw__rt_write(mw__rt_writer *w, mw_runtime_batch *b);
/* Finalizes the statements. */
void mw__rt_writer_close(mw__rt_writer *w);

#endif
