/* The agent's counters, per kind of capture, kept from every thread (the
 * loop, the CPU profile thread, the sender), and written as JSON for whoever
 * watches the agent (--stats-file) and in its last log line. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

static const char *const kinds[] = {"gctrace", "goroutine", "cpu", "heap", "goroutineleak", "exectrace"};
enum { N_KINDS = sizeof kinds / sizeof kinds[0] };
static const char *const stat_names[STAT_N] = {"captured",       "delivered", "spooled",       "rejected",
                                               "dropped",        "failed",    "queue_dropped", "scrape_errors",
                                               "scrape_skipped", "triggered"};
static const char *const reasons[] = {"goroutines", "heap", "gc_cpu"};
enum { N_REASONS = sizeof reasons / sizeof reasons[0] };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t counts[N_KINDS + 1][STAT_N]; /* the last row: any other kind */
static uint64_t lines_gc, lines_sched, lines_other;
static uint64_t triggers[N_REASONS];

static int kind_index(const char *kind) {
  for (int i = 0; i < N_KINDS; i++)
    if (kind && !strcmp(kind, kinds[i])) return i;
  return N_KINDS;
}

void agent_stats_add(const char *kind, int stat, uint64_t n) {
  if (stat < 0 || stat >= STAT_N) return;
  pthread_mutex_lock(&mu);
  counts[kind_index(kind)][stat] += n;
  pthread_mutex_unlock(&mu);
}

void agent_stats_lines(uint64_t gc, uint64_t sched, uint64_t other) {
  pthread_mutex_lock(&mu);
  lines_gc += gc;
  lines_sched += sched;
  lines_other += other;
  pthread_mutex_unlock(&mu);
}

void agent_stats_trigger(const char *reason) {
  pthread_mutex_lock(&mu);
  for (int i = 0; i < N_REASONS; i++)
    if (!strcmp(reason, reasons[i])) triggers[i]++;
  pthread_mutex_unlock(&mu);
}

int agent_stats_write(const char *path, const mw_client_stats *cs) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) return -1;
  pthread_mutex_lock(&mu);
  fprintf(f, "{\"time_ns\":%" PRId64 ",\"pid\":%ld,\"kinds\":{", agent_now_ns(), (long)getpid());
  for (int k = 0; k <= N_KINDS; k++) {
    fprintf(f, "%s\"%s\":{", k ? "," : "", k < N_KINDS ? kinds[k] : "other");
    for (int s = 0; s < STAT_N; s++) fprintf(f, "%s\"%s\":%" PRIu64, s ? "," : "", stat_names[s], counts[k][s]);
    fputc('}', f);
  }
  fprintf(f, "},\"lines\":{\"gc\":%" PRIu64 ",\"sched\":%" PRIu64 ",\"other\":%" PRIu64 "},\"triggers\":{", lines_gc,
          lines_sched, lines_other);
  for (int r = 0; r < N_REASONS; r++) fprintf(f, "%s\"%s\":%" PRIu64, r ? "," : "", reasons[r], triggers[r]);
  pthread_mutex_unlock(&mu);
  fprintf(f,
          "},\"client\":{\"pushed\":%" PRIu64 ",\"delivered\":%" PRIu64 ",\"rejected\":%" PRIu64 ",\"failed\":%" PRIu64
          ",\"spooled\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"retries\":%" PRIu64 ",\"bytes_delivered\":%" PRIu64
          ",\"spool_files\":%" PRIu64 ",\"spool_bytes\":%" PRIu64 ",\"backoff_ms\":%ld}}\n",
          cs->pushed, cs->delivered, cs->rejected, cs->failed, cs->spooled, cs->dropped, cs->retries,
          cs->bytes_delivered, cs->spool_files, cs->spool_bytes, cs->backoff_ms);
  int bad = ferror(f);
  if (fclose(f) || bad || rename(tmp, path)) {
    unlink(tmp);
    return -1;
  }
  return 0;
}

void agent_stats_summary(char *buf, size_t size) {
  size_t n = 0;
  pthread_mutex_lock(&mu);
  for (int k = 0; k < N_KINDS && n < size; k++)
    n += (size_t)snprintf(buf + n, size - n, "%s%s=%" PRIu64 "/%" PRIu64, k ? " " : "", kinds[k],
                          counts[k][STAT_CAPTURED], counts[k][STAT_DELIVERED]);
  if (n < size)
    snprintf(buf + n, size - n, " gc_lines=%" PRIu64 " sched_lines=%" PRIu64 " triggers=%" PRIu64, lines_gc,
             lines_sched, triggers[0] + triggers[1] + triggers[2]);
  pthread_mutex_unlock(&mu);
}
