/* The SQL of the span queries (reader.c), in one place so that their plans
 * can be checked: tests/unit/test_store_search.c runs EXPLAIN QUERY PLAN on
 * every statement here and fails on any scan of `spans`. A statement that
 * reads spans names the index it must use (INDEXED BY), so that a plan the
 * planner might prefer one day fails at prepare instead of scanning. */
#ifndef MW_STORE_READER_SQL_H
#define MW_STORE_READER_SQL_H

/* A search, in the four shapes given by which of service (?1) and name (?2)
 * are set: the operations the search may match are found through an index
 * of `operations` (an unknown service or name ends the query there), then
 * their spans through spans_by_op (op_id, start_ns, dur_ns), which answers
 * the window (?5, ?6), the duration bounds (?3, ?4) and the order without
 * reading a span's row. The answer is the ?7 longest matching spans (row id
 * and duration); CROSS JOIN keeps `operations` the outer loop. */
#define MW__SEARCH_SPANS(ops)                                                                             \
  "SELECT s.rowid, s.dur_ns FROM operations o CROSS JOIN spans s INDEXED BY spans_by_op ON s.op_id = o.id " \
  "WHERE " ops "s.start_ns >= ?5 AND s.start_ns < ?6 AND s.dur_ns >= ?3 AND s.dur_ns <= ?4 "               \
  "ORDER BY s.dur_ns DESC, s.rowid LIMIT ?7"

enum mw__search_shape { MW_SEARCH_ANY, MW_SEARCH_SERVICE, MW_SEARCH_NAME, MW_SEARCH_BOTH, MW_SEARCH__COUNT };

static const char *const mw__search_sql[MW_SEARCH__COUNT] = {
    [MW_SEARCH_ANY] = MW__SEARCH_SPANS(""),
    [MW_SEARCH_SERVICE] = MW__SEARCH_SPANS("o.service = ?1 AND "),
    [MW_SEARCH_NAME] = MW__SEARCH_SPANS("o.name = ?2 AND "),
    [MW_SEARCH_BOTH] = MW__SEARCH_SPANS("o.service = ?1 AND o.name = ?2 AND "),
};

/* The trace of a span found by a search (?1 its row id). */
#define MW__SEARCH_TRACE_SQL "SELECT trace_id FROM spans WHERE rowid = ?1"
/* A trace's root span: its service and name (?1 trace id). */
#define MW__SEARCH_ROOT_SQL                                                                      \
  "SELECT o.service, o.name FROM spans s INDEXED BY spans_by_trace JOIN operations o ON o.id = s.op_id " \
  "WHERE s.trace_id = ?1 AND s.parent_id IS NULL ORDER BY s.start_ns LIMIT 1"
/* A trace's extent (?1 trace id). */
#define MW__SEARCH_EXTENT_SQL \
  "SELECT min(start_ns), max(start_ns + dur_ns) FROM spans INDEXED BY spans_by_trace WHERE trace_id = ?1"

/* Services with spans, by name (?1 offset, ?2 rows), or only the one named ?3.
 * Listings read `operations` (one row per service and span name, with its
 * span count), never spans. */
#define MW__SERVICES_COLS                                                                  \
  "SELECT o.service, sum(o.span_count), count(*), "                                        \
  "(SELECT count(*) FROM sources src WHERE src.service = o.service) FROM operations o "
#define MW__SERVICES_SQL \
  MW__SERVICES_COLS "WHERE o.span_count > 0 GROUP BY o.service ORDER BY o.service LIMIT ?2 OFFSET ?1"
#define MW__SERVICE_SQL \
  MW__SERVICES_COLS "WHERE o.service = ?3 AND o.span_count > 0 GROUP BY o.service LIMIT ?2 OFFSET ?1"

/* A service's operations with spans, by name, from the ?2-th on (?1 service). */
#define MW__OPERATIONS_SQL \
  "SELECT id, name FROM operations WHERE service = ?1 AND span_count > 0 ORDER BY name LIMIT -1 OFFSET ?2"
/* The durations of an operation's spans starting in [?2, ?3) (?1 op id). */
#define MW__OP_DURATIONS_SQL \
  "SELECT dur_ns FROM spans INDEXED BY spans_by_op WHERE op_id = ?1 AND start_ns >= ?2 AND start_ns < ?3"

#endif
