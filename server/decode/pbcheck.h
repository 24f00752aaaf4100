/* A non-recursive pre-pass over protobuf wire data, guided by the protobuf-c
 * descriptors: checks that the bytes are well-formed (varints, lengths, wire
 * types) and that nested messages are no deeper than a limit, BEFORE
 * protobuf_c_message_unpack() recurses into them. Without it, a few MB of
 * nested AnyValue arrays would overflow the stack of a server thread. */
#ifndef MW_DECODE_PBCHECK_H
#define MW_DECODE_PBCHECK_H
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

/* Returns 0, or MW_EINVAL with a message naming the byte offset and the problem. */
int mw__pb_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                 size_t max_depth, char *err, size_t errsz);

#endif
