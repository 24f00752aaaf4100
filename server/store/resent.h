/* The writer's memory of recent request bodies (docs/STORAGE-WIRING.md §4
 * "Re-sent spans"): a ring of (hash, time) in arrival order plus an
 * open-addressing set of the same hashes, so that a request body seen in the
 * last window_ns is found in O(1). Bounded: at most `cap` hashes (a power of
 * two); past it the oldest is forgotten early. Memory: 16 B per ring entry +
 * 8 B per set slot (2 x cap slots), 2 MiB for cap 65,536. Not persisted.
 * Not thread-safe: the writer thread owns it. Hash 0 is never stored (a job's
 * body_hash 0 means "do not check"). */
#ifndef MW_STORE_RESENT_H
#define MW_STORE_RESENT_H
#include <stddef.h>
#include <stdint.h>

typedef struct mw__resent mw__resent;

enum { MW_RESENT_CAP = 65536 };
#define MW_RESENT_WINDOW_NS (600LL * 1000000000LL) /* 10 minutes */

/* cap: a power of two >= 2. Returns NULL when out of memory. */
mw__resent *mw__resent_new(size_t cap, int64_t window_ns);
void mw__resent_free(mw__resent *r);
/* Forgets the hashes older than now - window_ns, then answers 1 when h is held. */
int mw__resent_seen(mw__resent *r, uint64_t h, int64_t now_ns);
/* Holds h from now_ns (h != 0, not held already: check with _seen first);
 * forgets the oldest when full. */
void mw__resent_add(mw__resent *r, uint64_t h, int64_t now_ns);
/* Hashes held now. */
size_t mw__resent_count(const mw__resent *r);

#endif
