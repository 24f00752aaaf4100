/* The protobuf wire format by hand: see pbwire.h. */
#include "pbwire.h"

int mw__pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    uint8_t b = *(*p)++;
    r |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = r;
      return 0;
    }
  }
  return -1;
}

int mw__pb_skip(const uint8_t **p, const uint8_t *end, unsigned wt) {
  uint64_t v;
  switch (wt) {
  case 0: return mw__pb_varint(p, end, &v);
  case 1:
    if (end - *p < 8) return -1;
    *p += 8;
    return 0;
  case 2:
    if (mw__pb_varint(p, end, &v) || v > (uint64_t)(end - *p)) return -1;
    *p += v;
    return 0;
  case 5:
    if (end - *p < 4) return -1;
    *p += 4;
    return 0;
  default: return -1;
  }
}
