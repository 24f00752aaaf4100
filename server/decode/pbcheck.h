/* A non-recursive pre-pass over protobuf wire data, guided by the protobuf-c
 * descriptors: checks that the bytes are well-formed (varints, lengths, wire
 * types) and that nested messages are no deeper than a limit, BEFORE
 * protobuf_c_message_unpack() recurses into them. Without it, a few MB of
 * nested AnyValue arrays would overflow the stack of a server thread. It also
 * shows the caller every string field with its exact bytes, which unpack does
 * not keep (a NUL ends the C string it makes). */
#ifndef MW_DECODE_PBCHECK_H
#define MW_DECODE_PBCHECK_H
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

/* One step of the path from the top message to a field: the message field
 * taken, and which element of it when it is repeated (elements are counted in
 * the order they come, as unpack fills the array; SIZE_MAX past the first
 * levels, where they are not counted). */
typedef struct mw_pb_step {
  const ProtobufCFieldDescriptor *field;
  size_t index;
} mw_pb_step;

typedef struct mw_pb_check_opts {
  size_t max_depth;                          /* messages nested inside the top one */
  const ProtobufCMessageDescriptor *counted; /* when set, at most max_counted of these */
  size_t max_counted;                        /* may be open at once (e.g. AnyValue) */
  /* Called for each string field of a known message: path[0..depth) leads to
   * the message holding it, f is the field. Returns 0 to go on, or an error
   * code that mw__pb_check returns (with the callback's own message in err). */
  int (*on_string)(void *user, const mw_pb_step *path, size_t depth, const ProtobufCFieldDescriptor *f,
                   const uint8_t *s, size_t len);
  void *user;
} mw_pb_check_opts;

/* Returns 0; MW_EINVAL with a message naming the byte offset and the problem;
 * MW_ETOOBIG when messages nest past max_depth or max_counted (message in err);
 * or what on_string returned. */
int mw__pb_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, const mw_pb_check_opts *opts,
                 char *err, size_t errsz);

/* The path to a string as text, "resource_spans[0].scope_spans[1].spans[2].", into
 * buf (always terminated); the length written, sz - 1 when cut. */
size_t mw__pb_path_put(char *buf, size_t sz, const mw_pb_step *path, size_t depth);

#endif
