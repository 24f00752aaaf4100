/* The protobuf wire format, read by hand where a whole generated message would
 * be too much: the agent sums a goroutine profile's samples, the CLI reads the
 * server's small protobuf answers. Internal to the clients (names are mw__). */
#ifndef MW_PBWIRE_H
#define MW_PBWIRE_H

#include <stdint.h>

/* Reads a varint at *p (not past end) into *v and moves *p past it: 0, or -1
 * when it runs past end or over 10 bytes. */
int mw__pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);

/* Moves *p past one value of wire type wt (0 varint, 1 fixed64, 2 length-
 * delimited, 5 fixed32): 0, or -1 when the value runs past end or wt is a
 * group or unknown. */
int mw__pb_skip(const uint8_t **p, const uint8_t *end, unsigned wt);

#endif
