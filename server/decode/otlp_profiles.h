/* OTLP profiles decoding (profiles/v1development, opentelemetry-proto
 * v1.10.0, the Collector's from 0.148): a protobuf or JSON
 * ExportProfilesServiceRequest into protobuf-c structs, checks of its
 * dictionary, and the conversion of one Profile into a pprof profile (the
 * form the runtime ingest stores, decode/pprof.h): the dictionary's
 * functions, locations and mappings that the profile's samples use, its one
 * sample type, and per sample the stack, the values (or the count of its
 * timestamps), its attributes as labels and its link as the span_id and
 * trace_id labels. All memory comes from the caller's arena. Knows nothing
 * of HTTP or SQL. */
#ifndef MW_DECODE_OTLP_PROFILES_H
#define MW_DECODE_OTLP_PROFILES_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/limits.h"
#include "opentelemetry/proto/collector/profiles/v1development/profiles_service.pb-c.h"

typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceRequest mw_otlp_prof_request;
typedef Opentelemetry__Proto__Profiles__V1development__ProfilesDictionary mw_otlp_prof_dict;
typedef Opentelemetry__Proto__Profiles__V1development__ResourceProfiles mw_otlp_resource_profiles;
typedef Opentelemetry__Proto__Profiles__V1development__ScopeProfiles mw_otlp_scope_profiles;
typedef Opentelemetry__Proto__Profiles__V1development__Profile mw_otlp_profile;

/* Decodes a protobuf ExportProfilesServiceRequest. Returns 0; MW_EINVAL with
 * a message in err (not protobuf, or values nested past the attribute depth);
 * MW_ENOMEM when the arena is exhausted. */
int mw__otlp_prof_decode_pb(mw_arena *a, const uint8_t *data, size_t len, mw_otlp_prof_request **out, char *err,
                            size_t errsz);

/* Decodes an OTLP/JSON ExportProfilesServiceRequest (lowerCamelCase or
 * snake_case names, 64-bit integers as strings or numbers, trace and span ids
 * in hex, other bytes in base64, enums as numbers or names, unknown members
 * ignored). Same returns as mw__otlp_prof_decode_pb; err names the member. */
int mw__otlp_prof_decode_json(mw_arena *a, const char *data, size_t len, const mw_limits *limits,
                              mw_otlp_prof_request **out, char *err, size_t errsz);

/* Checks what every profile of the request relies on: string_table[0] is ""
 * (when there are strings), and each index inside the dictionary (a
 * location's mapping and its lines' functions, a function's or mapping's
 * strings, a stack's locations, an attribute's key) is in range; a link's ids
 * are 16 and 8 bytes (or empty). Returns 0, or MW_EINVAL with err naming the
 * first wrong one (e.g. "dictionary.location_table[3].lines[0].function_index
 * 12 is out of range (9 functions)"). */
int mw__otlp_prof_check_dict(const mw_otlp_prof_request *req, char *err, size_t errsz);

/* Scratch space for mw__otlp_prof_to_pprof, sized to the dictionary: create
 * once per request. Returns NULL when out of memory. */
typedef struct mw_otlp_prof_remap mw_otlp_prof_remap;
mw_otlp_prof_remap *mw__otlp_prof_remap_new(mw_arena *a, const mw_otlp_prof_dict *d);

/* Converts profiles ps[0..n) (n >= 1, of a request whose dictionary d passed
 * mw__otlp_prof_check_dict) into one serialized perftools.profiles.Profile in
 * the arena (*out, *len), with one sample type per profile: the profiles an
 * OTLP sender splits one pprof profile into (CPU: samples/count and
 * cpu/nanoseconds) come back together. Time, duration and period are
 * ps[0]'s. Samples of the same identity (stack, link, set of attributes) in
 * several of the profiles are one pprof sample with a value for each. A
 * sample's value is the sum of its values, or the number of its timestamps
 * when it has no values. Samples linked to a span (link_index naming a link
 * with a non-zero span id) get the labels span_id and, when the trace id is
 * non-zero, trace_id, both lowercase hex, ahead of the sample's attributes
 * (string, int, bool and double values; others are skipped).
 * Returns 0; MW_EINVAL with why naming what is wrong, and *bad the index in
 * ps of the profile it is in (an index out of range, a sample with neither
 * values nor timestamps, or with both but of different counts); MW_ENOMEM. */
int mw__otlp_prof_to_pprof(mw_arena *a, mw_otlp_prof_remap *m, const mw_otlp_prof_dict *d,
                           const mw_otlp_profile *const *ps, size_t n, uint8_t **out, size_t *len, size_t *bad,
                           char *why, size_t whysz);

#endif
