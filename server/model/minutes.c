/* Per-minute and per-step sums of runtime data (see minutes.h). */
#include "model/minutes.h"
#include "core/sat.h"

#include <string.h>

static const char *const cap_names[MW_CAP__N] = {"goroutine", "dump",  "goroutineleak", "cpu",      "heap",
                                                 "allocs",    "mutex", "block",         "exectrace"};

const char *mw__capture_name(int c) { return c >= 0 && c < MW_CAP__N ? cap_names[c] : "other"; }

int mw__capture_of(const char *kind, const char *format) {
  if (!kind) return -1;
  if (strcmp(kind, "goroutine") == 0)
    return format && strncmp(format, "debug=", 6) == 0 ? MW_CAP_DUMP : MW_CAP_GOROUTINE;
  for (int c = MW_CAP_GOROUTINELEAK; c < MW_CAP__N; c++)
    if (strcmp(kind, cap_names[c]) == 0) return c;
  return -1;
}

/* Keys: 0..99 the values 0..99; then for each power e = 1..17, the values
 * m x 10^e with m = 10..99 at 100 + (e - 1) x 90 + (m - 10). */
int mw__ph_key(int64_t ns) {
  if (ns < 100) return ns < 0 ? 0 : (int)ns;
  int e = 0;
  while (ns >= 100) ns /= 10, e++;
  int k = 100 + (e - 1) * 90 + (int)(ns - 10);
  return k < MW_PH_KEYS ? k : MW_PH_KEYS - 1;
}

int64_t mw__ph_value(int key) {
  if (key < 100) return key < 0 ? 0 : key;
  int e = (key - 100) / 90 + 1;
  int64_t v = 10 + (key - 100) % 90;
  while (e-- > 0) v *= 10;
  return v;
}

int64_t mw__ph_add(uint32_t *hist, const uint8_t *blob, size_t len) {
  int64_t n = 0;
  for (size_t i = 0; blob && i + 6 <= len; i += 6) {
    unsigned key = (unsigned)blob[i] | (unsigned)blob[i + 1] << 8;
    uint32_t c =
        (uint32_t)blob[i + 2] | (uint32_t)blob[i + 3] << 8 | (uint32_t)blob[i + 4] << 16 | (uint32_t)blob[i + 5] << 24;
    if (key >= MW_PH_KEYS) continue;
    hist[key] += c;
    n += c;
  }
  return n;
}

size_t mw__ph_encode(const uint32_t *hist, uint8_t *out, size_t cap) {
  size_t n = 0;
  for (int k = 0; k < MW_PH_KEYS && n + 6 <= cap; k++) {
    if (!hist[k]) continue;
    uint32_t c = hist[k];
    out[n++] = (uint8_t)(k & 0xff);
    out[n++] = (uint8_t)(k >> 8);
    for (int b = 0; b < 4; b++) out[n++] = (uint8_t)(c >> (8 * b));
  }
  return n;
}

int64_t mw__ph_quantile(const uint32_t *hist, int64_t n, double q) {
  if (n <= 0) return 0;
  int64_t rank = (int64_t)(q * (double)n + 0.999999999); /* nearest rank, as gc_pressure.c */
  if (rank < 1) rank = 1;
  int64_t seen = 0;
  for (int k = 0; k < MW_PH_KEYS; k++) {
    seen += hist[k];
    if (seen >= rank) return mw__ph_value(k);
  }
  return 0;
}

int64_t mw__gc_cycle_end(const mw_gc_cycle *g) {
  return mw__sat_add(mw__sat_add(mw__sat_add(g->start_ns, g->stw_sweep_term_ns), g->concurrent_mark_ns),
                     g->stw_mark_term_ns);
}

void mw__minute_add_cycle(mw_minute *m, const mw_gc_cycle *g, const mw_gc_cycle *prev) {
  m->gc_cycles++;
  m->gc_cpu_ns += g->stw1_cpu_ns + g->assist_cpu_ns + g->background_cpu_ns + g->stw2_cpu_ns;
  m->assist_cpu_ns += g->assist_cpu_ns;
  int64_t p[2] = {g->stw_sweep_term_ns, g->stw_mark_term_ns};
  for (int i = 0; i < 2; i++) {
    m->pauses++;
    if (p[i] > m->pause_max_ns) m->pause_max_ns = p[i];
    if (m->hist) m->hist[mw__ph_key(p[i])]++;
  }
  if (m->gc_cycles == 1 || g->start_ns >= m->gc_last_ns) {
    m->gc_last_ns = g->start_ns;
    m->procs = g->procs;
    m->heap_live = g->heap_live;
    m->heap_goal = g->goal;
  }
  if (g->heap_live > m->heap_live_max) m->heap_live_max = g->heap_live;
  if (prev && g->n == prev->n + 1) {
    int64_t grown = g->heap_after - prev->heap_live;
    m->alloc_bytes += grown > 0 ? grown : 0;
    m->alloc_ns += mw__gc_cycle_end(g) - mw__gc_cycle_end(prev);
  }
}

void mw__minute_add_snapshot(mw_minute *m, const char *kind, const char *format, int64_t at_ns, int64_t total,
                             int triggered) {
  int c = mw__capture_of(kind, format);
  if (c >= 0) m->captures[c]++;
  m->triggered += triggered != 0;
  if (c != MW_CAP_GOROUTINE && c != MW_CAP_DUMP) return;
  if (!m->snapshots || at_ns >= m->goroutines_ns) m->goroutines = total, m->goroutines_ns = at_ns;
  if (!m->snapshots || total > m->goroutines_max) m->goroutines_max = total;
  m->snapshots++;
}

void mw__minute_add_exectrace(mw_minute *m, int triggered) {
  m->captures[MW_CAP_EXECTRACE]++;
  m->triggered += triggered != 0;
}

void mw__minute_merge(mw_minute *into, const mw_minute *m) {
  if (m->gc_cycles) {
    if (!into->gc_cycles || m->gc_last_ns >= into->gc_last_ns) {
      into->gc_last_ns = m->gc_last_ns;
      into->procs = m->procs;
      into->heap_live = m->heap_live;
      into->heap_goal = m->heap_goal;
    }
    if (!into->gc_cycles || m->heap_live_max > into->heap_live_max) into->heap_live_max = m->heap_live_max;
    if (m->pause_max_ns > into->pause_max_ns) into->pause_max_ns = m->pause_max_ns;
    into->gc_cycles += m->gc_cycles;
    into->gc_cpu_ns += m->gc_cpu_ns;
    into->assist_cpu_ns += m->assist_cpu_ns;
    into->pauses += m->pauses;
  }
  into->alloc_bytes += m->alloc_bytes;
  into->alloc_ns += m->alloc_ns;
  if (m->snapshots) {
    if (!into->snapshots || m->goroutines_ns >= into->goroutines_ns)
      into->goroutines = m->goroutines, into->goroutines_ns = m->goroutines_ns;
    if (!into->snapshots || m->goroutines_max > into->goroutines_max) into->goroutines_max = m->goroutines_max;
    into->snapshots += m->snapshots;
  }
  for (int c = 0; c < MW_CAP__N; c++) into->captures[c] += m->captures[c];
  into->triggered += m->triggered;
}
