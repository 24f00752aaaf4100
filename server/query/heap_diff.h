/* Heap profiles compared stack by stack, the way `go tool pprof -base`
 * does: samples of Go heap profiles (alloc_objects, alloc_space,
 * inuse_objects, inuse_space) are merged by call stack (function, file and
 * line of every frame; labels such as Go's per-sample "bytes" are not part
 * of the key, so one stack's size classes are summed), each profile into one
 * of two sides, and a stack's difference is its target side minus its base
 * side. Also writes such a difference as a gzip'd profile.proto that `go tool
 * pprof` opens. Pure: profiles in, structs and bytes out; all memory from the
 * caller's arena. */
#ifndef MW_QUERY_HEAP_DIFF_H
#define MW_QUERY_HEAP_DIFF_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "decode/pprof.h"

/* The four values of a Go heap profile, in the order Go writes them. */
enum mw_heap_value { MW_HV_ALLOC_OBJECTS, MW_HV_ALLOC_SPACE, MW_HV_INUSE_OBJECTS, MW_HV_INUSE_SPACE, MW_HV_N };

/* "alloc_objects", ... for v; NULL out of range. */
const char *mw__heap_value_name(enum mw_heap_value v);
/* The value named s, or -1. */
int mw__heap_value_parse(const char *s);

typedef struct mw_heap_stack {
  const mw_frame *frames; /* leaf first; the merge's copy, whose func and file
                             are one pointer per distinct string */
  size_t n_frames;
  int64_t side[2][MW_HV_N]; /* [0] base, [1] target; saturating sums */
} mw_heap_stack;

typedef struct mw_heap_merge {
  mw_arena *arena;
  mw_heap_stack *stacks;
  size_t n, cap;
  uint32_t *slots; /* open addressing: index + 1 into stacks, 0 = empty */
  uint64_t *hashes;
  size_t n_slots;               /* a power of two */
  struct mw_heap_strings *strs; /* one pointer per distinct frame string */
  mw_frame *scratch;            /* a sample's frames with those pointers */
  size_t scratch_cap;
  int64_t total[2][MW_HV_N];
} mw_heap_merge;

/* An empty merge on a. Returns MW_OK or MW_ENOMEM. */
int mw__heap_merge_init(mw_heap_merge *m, mw_arena *a);

/* Adds every sample of p to side (0 base, 1 target). MW_EINVAL when p has
 * none of the four heap sample types (it is not a heap profile): nothing is
 * added then. A type p lacks counts 0. MW_ENOMEM. */
int mw__heap_merge_add(mw_heap_merge *m, const mw_profile *p, int side);

/* The difference of stack s in value v: target - base (saturating). */
int64_t mw__heap_delta(const mw_heap_stack *s, enum mw_heap_value v);

/* Sorts m's stacks by their delta in v, largest growth first (ties: the
 * larger target first). The merge takes no samples after this. */
void mw__heap_merge_sort(mw_heap_merge *m, enum mw_heap_value v);

/* Writes the difference (target - base of every stack whose difference is
 * not all zero) as a gzip'd profile.proto into out: the four heap sample
 * types, default_sample_type v, one location per frame (one line, its
 * function), period and period type from like (the target profile; may be
 * NULL), time_nanos = time_ns, duration_nanos = duration_ns. MW_ETOOBIG when
 * out's maximum is too small, MW_ENOMEM, MW_EIO when zlib fails. */
int mw__heap_diff_pprof(const mw_heap_merge *m, const mw_profile *like, enum mw_heap_value v, int64_t time_ns,
                        int64_t duration_ns, mw_buf *out);

#endif
