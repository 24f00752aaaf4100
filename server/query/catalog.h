/* What is stored, listed: services, a service's operations with their
 * duration percentiles, and sources (service instances), each in pages
 * (docs/API.md, "Pages"). */
#ifndef MW_QUERY_CATALOG_H
#define MW_QUERY_CATALOG_H
#include <stdint.h>

#include "query/query.h"

/* GET /api/v1/services: services with spans, by name; name non-NULL: only it. */
int mw__q_services(mw_query *q, const char *name, const mw_page *pg, mw_answer *out);

typedef struct mw_operations_query {
  const char *service;
  int64_t start_ns, end_ns; /* spans starting in [start, end) */
  mw_page page;
  int hist; /* a federated sub-request: each operation's duration histogram too (docs/FEDERATION.md) */
} mw_operations_query;

/* GET /api/v1/services/{service}/operations. MW_ENOTFOUND for a service
 * without spans. */
int mw__q_operations(mw_query *q, const mw_operations_query *p, mw_answer *out);

/* GET /api/v1/sources. */
int mw__q_sources(mw_query *q, const mw_page *pg, mw_answer *out);

#endif
