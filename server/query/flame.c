/* Differential flame graphs (see flame.h). Children are a linked list: a
 * node rarely has more than a handful, MW_FLAME_MAX_CHILDREN bounds the
 * walk, and the line number is compared first, so that most siblings are
 * passed over without a string comparison. Names are formatted only when
 * written. */
#include "query/flame.h"
#include "core/error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int same_frame(const mw_frame *a, const mw_frame *b) {
  return a->line == b->line && (a->func == b->func || !strcmp(a->func, b->func)) &&
         (a->file == b->file || !strcmp(a->file, b->file));
}

/* n's child for frame f, created when new; NULL with *full set when n has
 * MW_FLAME_MAX_CHILDREN already, NULL alone when memory ran out. */
static mw_flame_node *child(mw_arena *a, mw_flame_node *n, const mw_frame *f, int *full) {
  size_t count = 0;
  for (mw_flame_node *k = n->kids; k; k = k->next, count++)
    if (same_frame(&k->frame, f)) return k;
  if (count >= MW_FLAME_MAX_CHILDREN) {
    *full = 1;
    return NULL;
  }
  mw_flame_node *k = mw__arena_calloc(a, 1, sizeof *k);
  if (!k) return NULL;
  k->frame = *f;
  k->next = n->kids;
  n->kids = k;
  return k;
}

int mw__flame_add(mw_arena *a, mw_flame_node *root, const mw_frame *frames, size_t n, double w0, double w1) {
  root->w[0] += w0;
  root->w[1] += w1;
  mw_flame_node *at = root;
  for (size_t i = n, depth = 0; i-- > 0 && depth < MW_FLAME_MAX_DEPTH; depth++) {
    int full = 0;
    if (!(at = child(a, at, &frames[i], &full))) return full ? MW_OK : MW_ENOMEM;
    at->w[0] += w0;
    at->w[1] += w1;
  }
  return MW_OK;
}

static double r4(double v) { return round(v * 10000) / 10000; }

static void write_node(mw_jsonw *w, const mw_flame_node *n, const char *k0, const char *k1, double scale,
                       double floor) {
  mw__jw_obj(w);
  if (n->name) {
    mw__jw_kstr(w, "name", n->name);
  } else {
    char buf[600];
    int m = snprintf(buf, sizeof buf, "%s (%s:%lld)", n->frame.func, n->frame.file, (long long)n->frame.line);
    mw__jw_key(w, "name");
    mw__jw_strn(w, buf, m < 0 ? 0 : (size_t)m < sizeof buf ? (size_t)m : sizeof buf - 1);
  }
  mw__jw_kdouble(w, k0, r4(n->w[0] * scale));
  mw__jw_kdouble(w, k1, r4(n->w[1] * scale));
  mw__jw_kdouble(w, "delta", r4((n->w[0] - n->w[1]) * scale));
  mw__jw_key(w, "children");
  mw__jw_arr(w);
  for (const mw_flame_node *k = n->kids; k; k = k->next)
    if (fabs(k->w[0]) >= floor || fabs(k->w[1]) >= floor || fabs(k->w[0] - k->w[1]) >= floor)
      write_node(w, k, k0, k1, scale, floor);
  mw__jw_arr_end(w);
  mw__jw_obj_end(w);
}

void mw__flame_write(mw_jsonw *w, const mw_flame_node *root, const char *k0, const char *k1, double scale,
                     double min_share) {
  double top = fmax(fabs(root->w[0]), fabs(root->w[1]));
  /* depth is bounded by mw__flame_add */
  write_node(w, root, k0, k1, scale, top * min_share);
}
