/* The goroutine count and time of a goroutine profile, read without a whole
 * protobuf decoder: the agent learns both from every scrape (the count feeds
 * the growth trigger, the time places the snapshot). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "agent.h"
#include "pbwire.h"

enum { MAX_PROFILE_BYTES = 64 << 20 }; /* inflated: a goroutine profile of a million goroutines is far less */

/* Profile.sample = 2, Sample.value = 2 (packed, or not); Profile.time_nanos = 9. */
static int sum_samples(const uint8_t *p, const uint8_t *end, uint64_t *total, int64_t *time_ns) {
  uint64_t sum = 0, key, n;
  *time_ns = 0;
  while (p < end) {
    if (mw__pb_varint(&p, end, &key)) return -1;
    if (key == (9 << 3 | 0)) {
      uint64_t t;
      if (mw__pb_varint(&p, end, &t)) return -1;
      *time_ns = (int64_t)t;
      continue;
    }
    if (key >> 3 != 2 || (key & 7) != 2) {
      if (mw__pb_skip(&p, end, key & 7)) return -1;
      continue;
    }
    if (mw__pb_varint(&p, end, &n) || n > (uint64_t)(end - p)) return -1;
    const uint8_t *s = p, *se = p + n;
    p = se;
    int first = 1;
    while (s < se && first) {
      uint64_t k, v;
      if (mw__pb_varint(&s, se, &k)) return -1;
      if (k >> 3 == 2 && (k & 7) == 0) {
        if (mw__pb_varint(&s, se, &v)) return -1;
        sum += v, first = 0;
      } else if (k >> 3 == 2 && (k & 7) == 2) {
        uint64_t l;
        if (mw__pb_varint(&s, se, &l) || l > (uint64_t)(se - s)) return -1;
        const uint8_t *vp = s;
        if (l && mw__pb_varint(&vp, s + l, &v) == 0) sum += v;
        first = 0;
      } else if (mw__pb_skip(&s, se, k & 7)) {
        return -1;
      }
    }
  }
  *total = sum;
  return 0;
}

int agent_goroutine_total(const uint8_t *body, size_t len, uint64_t *total, int64_t *time_ns) {
  if (len < 2 || body[0] != 0x1f || body[1] != 0x8b) return sum_samples(body, body + len, total, time_ns);
  int rc = -1;
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return -1;
  size_t cap = len * 4 + 4096, n = 0;
  uint8_t *out = malloc(cap);
  if (!out) goto out;
  z.next_in = (Bytef *)body;
  z.avail_in = (uInt)len;
  for (;;) {
    if (n == cap) {
      if (cap >= MAX_PROFILE_BYTES) goto out;
      uint8_t *p = realloc(out, cap * 2);
      if (!p) goto out;
      out = p;
      cap *= 2;
    }
    z.next_out = out + n;
    z.avail_out = (uInt)(cap - n);
    int zr = inflate(&z, Z_NO_FLUSH);
    n = cap - z.avail_out;
    if (zr == Z_STREAM_END) break;
    if (zr != Z_OK && zr != Z_BUF_ERROR) goto out;
    if (zr == Z_BUF_ERROR && z.avail_in == 0) goto out; /* truncated */
  }
  rc = sum_samples(out, out + n, total, time_ns);
out:
  free(out);
  inflateEnd(&z);
  return rc;
}
