/* Stack text (see explain_stack.h). */
#include "query/explain_stack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mw__frame_next(mw_frame_it *it) {
  if (!it->p || !*it->p) return 0;
  const char *nl = strchr(it->p, '\n');
  size_t n = nl ? (size_t)(nl - it->p) : strlen(it->p);
  const char *tab = memchr(it->p, '\t', n);
  it->func = it->p;
  it->func_len = tab ? (size_t)(tab - it->p) : n;
  it->file = tab ? tab + 1 : "";
  it->file_len = 0;
  it->line = 0;
  if (tab) {
    const char *loc = tab + 1, *end = it->p + n, *colon = NULL;
    for (const char *q = end; q > loc; q--)
      if (q[-1] == ':') {
        colon = q - 1;
        break;
      }
    it->file_len = colon ? (size_t)(colon - loc) : (size_t)(end - loc);
    it->line = colon ? strtoll(colon + 1, NULL, 10) : 0;
  }
  it->p += n + (nl ? 1 : 0);
  return 1;
}

int mw__frame_is_runtime(const char *f, size_t n) {
  return (n > 8 && strncmp(f, "runtime.", 8) == 0) || (n > 14 && strncmp(f, "internal/poll.", 14) == 0) ||
         (n > 23 && strncmp(f, "runtime/internal/atomic", 23) == 0);
}

int mw__stack_has(const char *frames, const char *func) {
  size_t n = strlen(func);
  mw_frame_it it = {.p = frames};
  while (mw__frame_next(&it))
    if (it.func_len == n && strncmp(it.func, func, n) == 0) return 1;
  return 0;
}

/* The standard library and common packages: a call into them is the blocking
 * call, not the program's own frame. */
static int is_library_frame(const char *f, size_t n) {
  static const char *const prefixes[] = {"sync.",  "time.",    "net.",      "net/",     "os.",           "io.",
                                         "bufio.", "syscall.", "internal/", "context.", "database/sql.", "crypto/"};
  for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
    size_t pl = strlen(prefixes[i]);
    if (n > pl && strncmp(f, prefixes[i], pl) == 0) return 1;
  }
  return 0;
}

const char *mw__stack_site(mw_arena *a, const char *frames) {
  mw_frame_it it = {.p = frames}, call = {0}, own = {0};
  while (mw__frame_next(&it)) {
    if (mw__frame_is_runtime(it.func, it.func_len)) continue;
    if (!call.func) call = it;
    if (!is_library_frame(it.func, it.func_len)) {
      own = it;
      break;
    }
  }
  char buf[640];
  if (!call.func) return "an unknown site";
  if (!own.func || own.func == call.func)
    snprintf(buf, sizeof buf, "%.*s (%.*s:%lld)", (int)call.func_len, call.func, (int)call.file_len, call.file,
             (long long)call.line);
  else
    snprintf(buf, sizeof buf, "%.*s in %.*s (%.*s:%lld)", (int)call.func_len, call.func, (int)own.func_len, own.func,
             (int)own.file_len, own.file, (long long)own.line);
  return mw__arena_strndup(a, buf, strlen(buf));
}
