/* Wire-format pre-check (see pbcheck.h). Walks the message with an explicit
 * stack of (descriptor, end offset) frames. */
#include "decode/pbcheck.h"
#include "core/error.h"

#include <stdio.h>

/* Frames of the walk, the top message included; deeper input is refused
 * whatever the caller's limit. */
enum { MAX_STACK = 512 };
/* Repeated elements are counted in the first levels only (where a caller
 * names spans, scopes and resources), for the first few message fields. */
enum { INDEXED_LEVELS = 8, INDEXED_FIELDS = 6 };

typedef struct frame {
  const ProtobufCMessageDescriptor *desc;
  size_t end;
} frame;

typedef struct field_count {
  uint32_t field;
  size_t n;
} field_count;

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

/* The index of the next element of field in the message at level depth. */
static size_t next_index(field_count counts[][INDEXED_FIELDS], size_t depth, uint32_t field) {
  if (depth >= INDEXED_LEVELS) return SIZE_MAX;
  for (size_t i = 0; i < INDEXED_FIELDS; i++) {
    if (counts[depth][i].field == field) return counts[depth][i].n++;
    if (counts[depth][i].field == 0) {
      counts[depth][i].field = field;
      return counts[depth][i].n++;
    }
  }
  return SIZE_MAX;
}

int mw__pb_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, const mw_pb_check_opts *opts,
                 char *err, size_t errsz) {
  frame stack[MAX_STACK];
  mw_pb_step path[MAX_STACK];
  field_count counts[INDEXED_LEVELS][INDEXED_FIELDS] = {{{0, 0}}};
  size_t depth = 0, pos = 0, counted = 0;
  size_t max_depth = opts->max_depth < MAX_STACK ? opts->max_depth : MAX_STACK - 1;
  stack[0].desc = desc;
  stack[0].end = len;
  for (;;) {
    while (depth > 0 && pos == stack[depth].end) {
      if (opts->counted && stack[depth].desc == opts->counted) counted--;
      if (depth < INDEXED_LEVELS) /* the next message at this level counts afresh */
        for (size_t i = 0; i < INDEXED_FIELDS; i++) counts[depth][i] = (field_count){0, 0};
      depth--;
    }
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
      /* an empty message is an element too: count it, but there is nothing to enter */
      size_t index = f && f->type == PROTOBUF_C_TYPE_MESSAGE ? next_index(counts, depth, field) : SIZE_MAX;
      if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && v > 0) {
        int is_counted = opts->counted && f->descriptor == opts->counted;
        if (depth + 1 > max_depth || (is_counted && counted + 1 > opts->max_counted)) {
          snprintf(err, errsz, "protobuf nested deeper than %zu messages at byte %zu",
                   is_counted ? opts->max_counted : max_depth, pos);
          return MW_ETOOBIG;
        }
        counted += (size_t)is_counted;
        path[depth] = (mw_pb_step){f, index};
        depth++;
        stack[depth].desc = f->descriptor;
        stack[depth].end = pos + (size_t)v;
      } else {
        if (f && f->type == PROTOBUF_C_TYPE_STRING && opts->on_string) {
          int rc = opts->on_string(opts->user, path, depth, f, data + pos, (size_t)v);
          if (rc) return rc;
        }
        pos += (size_t)v;
      }
      break;
    }
    default: snprintf(err, errsz, "malformed protobuf: wire type %u at byte %zu", wire, pos); return MW_EINVAL;
    }
  }
}

size_t mw__pb_path_put(char *buf, size_t sz, const mw_pb_step *path, size_t depth) {
  size_t off = 0;
  if (!sz) return 0;
  buf[0] = '\0';
  for (size_t i = 0; i < depth && off < sz; i++) {
    int n = path[i].field->label == PROTOBUF_C_LABEL_REPEATED && path[i].index != SIZE_MAX
                ? snprintf(buf + off, sz - off, "%s[%zu].", path[i].field->name, path[i].index)
                : snprintf(buf + off, sz - off, "%s.", path[i].field->name);
    off = n < 0 ? sz : off + (size_t)n;
  }
  if (off >= sz) off = sz - 1;
  buf[off] = '\0';
  return off;
}
