/* When to take an extra capture: the goroutine count (from the goroutine
 * profiles' totals) or the live heap (from gctrace) grew more than --trigger-
 * factor times within --trigger-window, or gctrace's GC CPU percentage went
 * over --trigger-gc-cpu. Growth is measured against the smallest value seen in
 * the window, floored (one goroutine, 1 MiB). A service's heap grows from
 * nothing as it starts (caches, pools), and the GC CPU percentage is a share
 * since the start: gc lines of the service's first --trigger-warmup (by the
 * uptime they carry) fire nothing and are not part of the heap's baseline,
 * which is so taken from the settled heap. One cooldown covers every reason:
 * a storm that grows goroutines and heap together yields one dump. A gc line
 * is read by the collector's own parser (decode/runtime_text.h, linked as
 * mwruntimetext): the agent judges exactly the lines the collector keeps. */
#include <stdlib.h>

#include "agent.h"

enum { RING = 1024 };

typedef struct ring {
  int64_t t[RING];
  uint64_t v[RING];
  size_t head, n; /* entries head..head+n, oldest first */
} ring;

struct trigger_state {
  double factor;
  int64_t window_ms, cooldown_ms, warmup_ms;
  double gc_cpu;
  uint64_t heap_min, goroutines_min;
  int64_t last_fire_ms;
  int fired;
  ring goroutines, heap;
};

trigger_state *trigger_new(const agent_config *cfg) {
  trigger_state *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->factor = cfg->trigger_factor;
  t->window_ms = cfg->trigger_window_ms;
  t->cooldown_ms = cfg->trigger_cooldown_ms;
  t->warmup_ms = cfg->trigger_warmup_ms;
  t->gc_cpu = cfg->trigger_gc_cpu;
  t->heap_min = cfg->trigger_heap_min;
  t->goroutines_min = cfg->trigger_goroutines_min;
  return t;
}

void trigger_free(trigger_state **t) {
  if (!t) return;
  free(*t);
  *t = NULL;
}

/* Adds (now, v), forgets what left the window, returns the smallest value in it. */
static uint64_t ring_add_min(ring *r, int64_t now, int64_t window, uint64_t v) {
  while (r->n && (now - r->t[r->head] > window || r->n == RING)) {
    r->head = (r->head + 1) % RING;
    r->n--;
  }
  size_t at = (r->head + r->n) % RING;
  r->t[at] = now;
  r->v[at] = v;
  r->n++;
  uint64_t min = v;
  for (size_t i = 0; i < r->n; i++) {
    uint64_t x = r->v[(r->head + i) % RING];
    if (x < min) min = x;
  }
  return min;
}

static const char *fire(trigger_state *t, int64_t now, const char *reason) {
  if (t->fired && now - t->last_fire_ms < t->cooldown_ms) return NULL;
  t->fired = 1;
  t->last_fire_ms = now;
  return reason;
}

const char *trigger_goroutines(trigger_state *t, int64_t now_ms, uint64_t count) {
  uint64_t min = ring_add_min(&t->goroutines, now_ms, t->window_ms, count);
  if (t->factor <= 1 || count < t->goroutines_min) return NULL;
  if ((double)count > t->factor * (double)(min ? min : 1)) return fire(t, now_ms, "goroutines");
  return NULL;
}

const char *trigger_gc(trigger_state *t, int64_t now_ms, uint64_t heap_live_bytes, int gc_pct, double uptime_s) {
  if (uptime_s * 1e3 < (double)t->warmup_ms) return NULL; /* warming up: neither a trigger nor a baseline */
  uint64_t min = ring_add_min(&t->heap, now_ms, t->window_ms, heap_live_bytes);
  if (t->factor > 1 && heap_live_bytes >= t->heap_min &&
      (double)heap_live_bytes > t->factor * (double)(min > (1u << 20) ? min : (1u << 20)))
    return fire(t, now_ms, "heap");
  if (t->gc_cpu > 0 && gc_pct > t->gc_cpu) return fire(t, now_ms, "gc_cpu");
  return NULL;
}

int trigger_gc_line(trigger_state *t, int64_t now_ms, const char *line, size_t len, mw_gc_cycle *gc,
                    const char **reason) {
  const char *why;
  size_t at;
  *reason = NULL;
  if (mw__gctrace_parse_line(line, len, gc, &why, &at) != 0) return -1;
  *reason = trigger_gc(t, now_ms, (uint64_t)gc->heap_live, gc->cpu_percent, (double)gc->offset_ns / 1e9);
  return 0;
}
