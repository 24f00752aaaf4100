/* A hash map from byte strings to int64, open addressing with linear probing.
 * Used for the writer's id caches (source, operation, scope -> row id). Keys
 * are copied. Not thread-safe: one owner. */
#ifndef MW_CORE_BMAP_H
#define MW_CORE_BMAP_H
#include <stddef.h>
#include <stdint.h>

typedef struct mw_bmap mw_bmap;

/* max_entries bounds the map: past it, mw__bmap_put() clears the map first
 * (a cache, so forgetting is always safe). */
mw_bmap *mw__bmap_new(size_t max_entries);
void mw__bmap_free(mw_bmap *m);
/* Returns 1 and sets *val when found, else 0. */
int mw__bmap_get(const mw_bmap *m, const void *key, size_t len, int64_t *val);
/* Returns 0 or MW_ENOMEM. */
int mw__bmap_put(mw_bmap *m, const void *key, size_t len, int64_t val);
void mw__bmap_clear(mw_bmap *m);
size_t mw__bmap_count(const mw_bmap *m);
/* A fast 64-bit hash of a byte string (not for hostile keys' sake: bucket
 * collisions only cost time, lookups always compare the keys). */
uint64_t mw__hash(const void *key, size_t len);

#endif
