/* The SQL of the span queries (reader.c), in one place so that their plans
 * can be checked: tests/unit/test_store_search.c runs EXPLAIN QUERY PLAN on
 * every statement here and fails on any scan of `spans`. A statement that
 * reads spans names the index it must use (INDEXED BY), so that a plan the
 * planner might prefer one day fails at prepare instead of scanning. */
#ifndef MW_STORE_READER_SQL_H
#define MW_STORE_READER_SQL_H

/* A search, in the four shapes given by which of service (?1) and name (?2)
 * are set, starts from the operations it may match, found through an index
 * of `operations` (an unknown service or name ends the query there): their
 * ids and span counts. */
#define MW__SEARCH_OPS(where) "SELECT id, span_count, slow_ns FROM operations WHERE " where "span_count > 0 ORDER BY id"

enum mw__search_shape { MW_SEARCH_ANY, MW_SEARCH_SERVICE, MW_SEARCH_NAME, MW_SEARCH_BOTH, MW_SEARCH__COUNT };

static const char *const mw__search_ops_sql[MW_SEARCH__COUNT] = {
    [MW_SEARCH_ANY] = MW__SEARCH_OPS(""),
    [MW_SEARCH_SERVICE] = MW__SEARCH_OPS("service = ?1 AND "),
    [MW_SEARCH_NAME] = MW__SEARCH_OPS("name = ?2 AND "),
    [MW_SEARCH_BOTH] = MW__SEARCH_OPS("service = ?1 AND name = ?2 AND "),
};

/* A search of any span over more operations than MW_SEARCH_MAX_OPS reads
 * the window of every operation's spans from spans_by_op and sorts them: a
 * pass over the window (bounded by --query-timeout), where thousands of small
 * per-operation reads would cost more. */
enum { MW_SEARCH_MAX_OPS = 2000 };
#define MW__SEARCH_ALL_SQL                                                                                             \
  "SELECT s.rowid, s.dur_ns FROM operations o CROSS JOIN spans s INDEXED BY spans_by_op ON s.op_id = o.id "            \
  "WHERE s.start_ns >= ?5 AND s.start_ns < ?6 AND s.dur_ns >= ?3 AND s.dur_ns <= ?4 "                                  \
  "ORDER BY s.dur_ns DESC, s.rowid LIMIT ?7"

/* The first and the last start of an operation's spans (?1 op id): one step
 * down each end of spans_by_op. */
#define MW__OP_FIRST_SQL "SELECT min(start_ns) FROM spans INDEXED BY spans_by_op WHERE op_id = ?1"
#define MW__OP_LAST_SQL "SELECT max(start_ns) FROM spans INDEXED BY spans_by_op WHERE op_id = ?1"

/* The ?7 longest spans (row id, duration) of one operation (?1) that start in
 * [?5, ?6) and last from ?3 to ?4 ns, in two plans. Among the operation's
 * slow spans (0004_slow_spans.sql), those that lasted at least its threshold
 * (?8) are every such span of it, longest first: when ?7 of them match, they
 * are the answer, and the walk stops there. Otherwise (a narrow window, or
 * shorter spans asked for) the window is read from spans_by_op and sorted.
 * Ties: the span stored first. */
#define MW__OP_LONGEST_SLOW_SQL                                                                                        \
  "SELECT span_rowid, dur_ns FROM slow_spans WHERE op_id = ?1 AND dur_ns >= max(?3, ?8) AND "                          \
  "dur_ns <= ?4 AND start_ns >= ?5 AND start_ns < ?6 ORDER BY dur_ns DESC, span_rowid LIMIT ?7"
#define MW__OP_LONGEST_BY_START_SQL                                                                                    \
  "SELECT rowid, dur_ns FROM spans INDEXED BY spans_by_op WHERE op_id = ?1 AND start_ns >= ?5 AND "                    \
  "start_ns < ?6 AND dur_ns >= ?3 AND dur_ns <= ?4 ORDER BY dur_ns DESC, rowid LIMIT ?7"

/* The trace of a span found by a search (?1 its row id). Since blocks
 * (block_read.h) the search reads it with the spans of blocks through
 * mw__store_sref_spans (MW__ROW_IDS_SQL); kept for the plan test. */
#define MW__SEARCH_TRACE_SQL "SELECT trace_id FROM spans WHERE rowid = ?1"
/* A trace's root span: its service, name and start (?1 trace id); the start
 * compares it with the roots of the trace's spans in blocks. */
#define MW__SEARCH_ROOT_SQL                                                                                            \
  "SELECT o.service, o.name, s.start_ns FROM spans s INDEXED BY spans_by_trace JOIN operations o ON o.id = s.op_id "   \
  "WHERE s.trace_id = ?1 AND s.parent_id IS NULL ORDER BY s.start_ns LIMIT 1"
/* A trace's extent (?1 trace id). */
#define MW__SEARCH_EXTENT_SQL                                                                                          \
  "SELECT min(start_ns), max(start_ns + dur_ns) FROM spans INDEXED BY spans_by_trace WHERE trace_id = ?1"

/* Services with spans, by name (?1 offset, ?2 rows), or only the one named ?3.
 * Listings read `operations` (one row per service and span name, with its
 * span count), never spans. */
#define MW__SERVICES_COLS                                                                                              \
  "SELECT o.service, sum(o.span_count), count(*), "                                                                    \
  "(SELECT count(*) FROM sources src WHERE src.service = o.service) FROM operations o "
#define MW__SERVICES_SQL                                                                                               \
  MW__SERVICES_COLS "WHERE o.span_count > 0 GROUP BY o.service ORDER BY o.service LIMIT ?2 OFFSET ?1"
#define MW__SERVICE_SQL                                                                                                \
  MW__SERVICES_COLS "WHERE o.service = ?3 AND o.span_count > 0 GROUP BY o.service LIMIT ?2 OFFSET ?1"

/* A service's operations with spans, by name, from the ?2-th on (?1 service),
 * with their span counts. */
#define MW__OPERATIONS_SQL                                                                                             \
  "SELECT id, name, span_count FROM operations WHERE service = ?1 AND span_count > 0 ORDER BY name "                   \
  "LIMIT -1 OFFSET ?2"
/* How many of an operation's spans (?1) start in [?2, ?3): a pass over the
 * window's entries of spans_by_op, only when the window does not hold all of
 * them (then the operation's span count says it). */
#define MW__OP_COUNT_SQL                                                                                               \
  "SELECT count(*) FROM spans INDEXED BY spans_by_op WHERE op_id = ?1 AND start_ns >= ?2 AND start_ns < ?3"
/* The durations of the latest ?4 spans of an operation (?1) starting in
 * [?2, ?3), with their starts (to merge them with the spans of blocks by
 * start): percentiles are exact up to ?4 spans, and beyond it describe the
 * latest ?4, so that a listing costs the same however much is kept. */
#define MW__OP_DURATIONS_SQL                                                                                           \
  "SELECT dur_ns, start_ns FROM spans INDEXED BY spans_by_op WHERE op_id = ?1 AND start_ns >= ?2 AND start_ns < ?3 "   \
  "ORDER BY start_ns DESC LIMIT ?4"
/* The longest of an operation's (?1) slow spans starting in [?2, ?3): walking
 * slow_spans down to the first in the window (none: the longest is under the
 * threshold, among the durations read). */
#define MW__OP_MAX_SQL                                                                                                 \
  "SELECT dur_ns FROM slow_spans WHERE op_id = ?1 AND start_ns >= ?2 AND start_ns < ?3 "                               \
  "ORDER BY dur_ns DESC LIMIT 1"

#endif
