/* Wire-format pre-check (see pbcheck.h). Walks the message with an explicit
 * stack of (descriptor, end offset) frames. */
#include "decode/pbcheck.h"
#include "core/error.h"

#include <stdio.h>

enum { MAX_STACK = 128 };

static int read_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*pos >= len) return -1;
    uint8_t b = p[(*pos)++];
    v |= (uint64_t)(b & 0x7F) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return 0;
    }
  }
  return -1;
}

int mw__pb_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                 size_t max_depth, char *err, size_t errsz) {
  struct { const ProtobufCMessageDescriptor *desc; size_t end; } stack[MAX_STACK];
  size_t depth = 0, pos = 0;
  if (max_depth >= MAX_STACK) max_depth = MAX_STACK - 1;
  stack[0].desc = desc;
  stack[0].end = len;
  for (;;) {
    while (depth > 0 && pos == stack[depth].end) depth--;
    if (pos == stack[depth].end) {
      if (depth == 0) return MW_OK;
    }
    size_t end = stack[depth].end;
    uint64_t key;
    if (read_varint(data, end, &pos, &key) < 0) {
      snprintf(err, errsz, "malformed protobuf: bad field key at byte %zu", pos);
      return MW_EINVAL;
    }
    uint32_t field = (uint32_t)(key >> 3), wire = key & 7;
    if (field == 0) {
      snprintf(err, errsz, "malformed protobuf: field number 0 at byte %zu", pos);
      return MW_EINVAL;
    }
    uint64_t v;
    switch (wire) {
    case 0:
      if (read_varint(data, end, &pos, &v) < 0) {
        snprintf(err, errsz, "malformed protobuf: bad varint at byte %zu", pos);
        return MW_EINVAL;
      }
      break;
    case 1:
    case 5: {
      size_t n = wire == 1 ? 8 : 4;
      if (end - pos < n) {
        snprintf(err, errsz, "malformed protobuf: truncated fixed field at byte %zu", pos);
        return MW_EINVAL;
      }
      pos += n;
      break;
    }
    case 2: {
      if (read_varint(data, end, &pos, &v) < 0 || v > end - pos) {
        snprintf(err, errsz, "malformed protobuf: length past the end of its message at byte %zu", pos);
        return MW_EINVAL;
      }
      const ProtobufCFieldDescriptor *f =
          stack[depth].desc ? protobuf_c_message_descriptor_get_field(stack[depth].desc, field) : NULL;
      if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && v > 0) {
        if (depth + 1 > max_depth) {
          snprintf(err, errsz, "protobuf nested deeper than %zu messages at byte %zu", max_depth, pos);
          return MW_EINVAL;
        }
        depth++;
        stack[depth].desc = f->descriptor;
        stack[depth].end = pos + (size_t)v;
      } else {
        pos += (size_t)v;
      }
      break;
    }
    default:
      snprintf(err, errsz, "malformed protobuf: wire type %u at byte %zu", wire, pos);
      return MW_EINVAL;
    }
  }
}
