/* Differential flame graphs: a tree of call paths, root first, where each
 * node carries two weights (one per side of a comparison) summed over the
 * stacks that pass through it. Built from decoded frames; written as the
 * tree /api/v1/compare answers ({"name", <side 0>, <side 1>, "delta",
 * "children"}), with the sides named by the caller. All memory comes from
 * the caller's arena. */
#ifndef MW_QUERY_FLAME_H
#define MW_QUERY_FLAME_H
#include <stddef.h>

#include "core/arena.h"
#include "core/jsonw.h"
#include "model/stack.h"

/* Children per node past which further ones are dropped; depth likewise. */
enum { MW_FLAME_MAX_CHILDREN = 64, MW_FLAME_MAX_DEPTH = 48 };

typedef struct mw_flame_node {
  const char *name; /* the root's, the caller's; NULL below it: the frame names the node */
  mw_frame frame;   /* below the root; its strings must outlive the tree */
  double w[2];
  struct mw_flame_node *kids, *next;
} mw_flame_node;

/* Adds w0 and w1 to the root and to every node on the path of frames
 * (leaf first, n of them), creating nodes as needed. Paths past
 * MW_FLAME_MAX_DEPTH are cut there; a node already holding
 * MW_FLAME_MAX_CHILDREN children takes no new one (the stack's weight then
 * stops at it). Returns MW_OK or MW_ENOMEM. */
int mw__flame_add(mw_arena *a, mw_flame_node *root, const mw_frame *frames, size_t n, double w0, double w1);

/* Writes root as {"name" ("func (file:line)" below the root), k0: w[0]*scale, k1: w[1]*scale, "delta": (w[0] - w[1])*scale,
 * "children": [...]}; a child whose |w0|, |w1| and |delta| are all under
 * min_share of the root's larger |weight| is left out (noise). Weights are
 * written rounded to 4 decimals. */
void mw__flame_write(mw_jsonw *w, const mw_flame_node *root, const char *k0, const char *k1, double scale,
                     double min_share);

#endif
