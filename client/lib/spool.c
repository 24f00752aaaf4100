/* The spool of libmeanwhile: payloads that could not be delivered yet, one
 * file per payload in a directory, oldest first.
 *
 * A file is named <seq>-<created ns>-<kind>.mwp (seq: 20 digits, so names sort
 * as numbers do) and holds a small text header, then the body as it will be
 * sent:
 *
 *   MWSPOOL 1
 *   kind goroutine
 *   target /api/v1/ingest/goroutine?service=checkout&time=1795334476463613272
 *   content-type application/octet-stream
 *   content-encoding zstd          ("identity" when none)
 *   created 1795334476463613272
 *   length 48213
 *   <empty line>
 *   <48213 bytes>
 *
 * A file is written as <seq>.tmp and renamed, so a crash leaves either the
 * whole payload or a .tmp that the next open removes. The directory is locked
 * (flock on .lock) by one process at a time. The index in memory holds only
 * names and sizes, bounded by max_files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client_int.h"

enum { HEADER_MAX = 8192 };

typedef struct entry {
  uint64_t seq;
  int64_t created_ns;
  uint64_t bytes; /* the file's size */
  char kind[MW__KIND_MAX];
} entry;

struct mw__spool {
  char *dir;
  int lock_fd;
  int do_fsync;
  uint64_t max_bytes, bytes;
  size_t max_files;
  entry *items; /* items[head .. n) are in the spool, oldest first */
  size_t head, n, cap;
  uint64_t next_seq;
};

static int entry_cmp(const void *a, const void *b) {
  const entry *x = a, *y = b;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void entry_path(const mw__spool *s, const entry *e, char *buf, size_t size) {
  snprintf(buf, size, "%s/%020" PRIu64 "-%019" PRId64 "-%s.mwp", s->dir, e->seq, e->created_ns, e->kind);
}

/* Parses "<seq>-<created>-<kind>.mwp"; 0 or -1. */
static int parse_name(const char *name, entry *e) {
  size_t n = strlen(name);
  if (n < 5 || strcmp(name + n - 4, ".mwp") != 0) return -1;
  char *end;
  errno = 0;
  unsigned long long seq = strtoull(name, &end, 10);
  if (errno || end == name || *end != '-') return -1;
  long long created = strtoll(end + 1, &end, 10);
  if (errno || *end != '-') return -1;
  const char *kind = end + 1;
  size_t kl = (size_t)(name + n - 4 - kind);
  if (kl == 0 || kl >= sizeof e->kind) return -1;
  e->seq = seq;
  e->created_ns = created;
  memcpy(e->kind, kind, kl);
  e->kind[kl] = '\0';
  return 0;
}

static int push_entry(mw__spool *s, const entry *e) {
  if (s->head > 0 && s->n == s->cap) { /* reuse the room of popped entries */
    memmove(s->items, s->items + s->head, (s->n - s->head) * sizeof *s->items);
    s->n -= s->head;
    s->head = 0;
  }
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    entry *p = realloc(s->items, cap * sizeof *p);
    if (!p) return MW_ERR_NOMEM;
    s->items = p;
    s->cap = cap;
  }
  s->items[s->n++] = *e;
  s->bytes += e->bytes;
  return 0;
}

size_t mw__spool_files(const mw__spool *s) { return s ? s->n - s->head : 0; }

uint64_t mw__spool_bytes(const mw__spool *s) { return s ? s->bytes : 0; }

void mw__spool_close(mw__spool **sp) {
  mw__spool *s = sp ? *sp : NULL;
  if (!s) return;
  if (s->lock_fd >= 0) close(s->lock_fd); /* releases the flock */
  free(s->items);
  free(s->dir);
  free(s);
  *sp = NULL;
}

int mw__spool_open(const char *dir, uint64_t max_bytes, size_t max_files, int do_fsync, mw__spool **out) {
  int rc = MW_ERR_NOMEM;
  DIR *d = NULL;
  char path[4096];
  if (!dir || !*dir || strlen(dir) > 3000 || !max_files || !max_bytes) return MW_ERR_INVAL;
  mw__spool *s = calloc(1, sizeof *s);
  if (!s) return MW_ERR_NOMEM;
  s->lock_fd = -1;
  s->max_bytes = max_bytes;
  s->max_files = max_files;
  s->do_fsync = do_fsync;
  s->next_seq = 1;
  if (!(s->dir = strdup(dir))) goto out;

  rc = MW_ERR_SPOOL;
  if (mkdir(dir, 0700) && errno != EEXIST) goto out;
  snprintf(path, sizeof path, "%s/.lock", dir);
  s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (s->lock_fd < 0) goto out;
  if (flock(s->lock_fd, LOCK_EX | LOCK_NB)) {
    rc = errno == EWOULDBLOCK ? MW_ERR_LOCKED : MW_ERR_SPOOL;
    goto out;
  }
  if (!(d = opendir(dir))) goto out;
  struct dirent *de;
  while ((de = readdir(d))) {
    size_t n = strlen(de->d_name);
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    if (n > 4 && strcmp(de->d_name + n - 4, ".tmp") == 0) { /* a write that a crash cut short */
      unlink(path);
      continue;
    }
    entry e = {0};
    struct stat st;
    if (parse_name(de->d_name, &e) || stat(path, &st) || !S_ISREG(st.st_mode)) continue;
    e.bytes = (uint64_t)st.st_size;
    if (push_entry(s, &e)) {
      rc = MW_ERR_NOMEM;
      goto out;
    }
    if (e.seq >= s->next_seq) s->next_seq = e.seq + 1;
  }
  if (s->n) qsort(s->items, s->n, sizeof *s->items, entry_cmp);
  *out = s;
  s = NULL;
  rc = 0;
out:
  if (d) closedir(d);
  mw__spool_close(&s);
  return rc;
}

static void drop_oldest(mw__spool *s, mw__spool_drop_fn drop, void *user) {
  entry *e = &s->items[s->head];
  if (drop) drop(user, e->kind, (size_t)e->bytes, e->created_ns);
  mw__spool_pop(s);
}

/* write(2) all of buf; 0 or -1. */
static int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

int mw__spool_add(mw__spool *s, const mw__payload *p, mw__spool_drop_fn drop, void *user) {
  char hdr[HEADER_MAX], tmp[4096], path[4096];
  int n = snprintf(hdr, sizeof hdr,
                   "MWSPOOL 1\nkind %s\ntarget %s\ncontent-type %s\ncontent-encoding %s\ncreated %" PRId64
                   "\nlength %zu\n\n",
                   p->kind, p->target, p->ctype, p->encoding[0] ? p->encoding : "identity", p->created_ns, p->len);
  if (n < 0 || (size_t)n >= sizeof hdr || strchr(p->target, '\n') || strchr(p->kind, '/') || !p->kind[0])
    return MW_ERR_INVAL;
  entry e = {.seq = s->next_seq, .created_ns = p->created_ns, .bytes = (uint64_t)n + p->len};
  snprintf(e.kind, sizeof e.kind, "%s", p->kind);
  if (e.bytes > s->max_bytes) {
    if (drop) drop(user, p->kind, p->len, p->created_ns);
    return MW_ERR_TOOBIG;
  }
  while (mw__spool_files(s) && (mw__spool_files(s) + 1 > s->max_files || s->bytes + e.bytes > s->max_bytes))
    drop_oldest(s, drop, user);

  snprintf(tmp, sizeof tmp, "%s/%020" PRIu64 ".tmp", s->dir, e.seq);
  entry_path(s, &e, path, sizeof path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return MW_ERR_SPOOL;
  int bad = write_all(fd, hdr, (size_t)n) || write_all(fd, p->body, p->len) || (s->do_fsync && fsync(fd));
  if (close(fd)) bad = 1;
  if (bad || rename(tmp, path)) {
    unlink(tmp);
    return MW_ERR_SPOOL;
  }
  if (s->do_fsync) { /* the rename too */
    int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
  }
  if (push_entry(s, &e)) {
    unlink(path);
    return MW_ERR_NOMEM;
  }
  s->next_seq++;
  return 0;
}

/* Reads the header field `key` at *pos in buf[0..len): "key value\n". The
 * value is copied into val (size bytes). 0 or -1. */
static int header_field(const char *buf, size_t len, size_t *pos, const char *key, char *val, size_t size) {
  size_t kl = strlen(key), i = *pos;
  if (len - i < kl + 1 || memcmp(buf + i, key, kl) != 0 || buf[i + kl] != ' ') return -1;
  i += kl + 1;
  const char *nl = memchr(buf + i, '\n', len - i);
  if (!nl) return -1;
  size_t vl = (size_t)(nl - (buf + i));
  if (vl >= size) return -1;
  memcpy(val, buf + i, vl);
  val[vl] = '\0';
  *pos = (size_t)(nl - buf) + 1;
  return 0;
}

/* Reads a spool file's bytes into *out (the body keeps buf). 0, 1 when the
 * file is malformed, MW_ERR_NOMEM. */
static int parse_file(char *buf, size_t len, mw__payload *out) {
  char v[HEADER_MAX];
  size_t pos = 0;
  if (len < 10 || memcmp(buf, "MWSPOOL 1\n", 10) != 0) return 1;
  pos = 10;
  if (header_field(buf, len, &pos, "kind", out->kind, sizeof out->kind)) return 1;
  if (header_field(buf, len, &pos, "target", v, sizeof v) || v[0] != '/') return 1;
  if (!(out->target = strdup(v))) return MW_ERR_NOMEM;
  if (header_field(buf, len, &pos, "content-type", out->ctype, sizeof out->ctype)) return 1;
  if (header_field(buf, len, &pos, "content-encoding", out->encoding, sizeof out->encoding)) return 1;
  if (strcmp(out->encoding, "identity") == 0) out->encoding[0] = '\0';
  if (header_field(buf, len, &pos, "created", v, sizeof v)) return 1;
  out->created_ns = strtoll(v, NULL, 10);
  if (header_field(buf, len, &pos, "length", v, sizeof v)) return 1;
  char *end;
  errno = 0;
  unsigned long long body_len = strtoull(v, &end, 10);
  if (errno || *end || pos >= len || buf[pos] != '\n') return 1;
  pos++;
  if (body_len != len - pos) return 1; /* cut short, or something appended */
  out->len = (size_t)body_len;
  memmove(buf, buf + pos, out->len); /* the body keeps the file's buffer */
  out->body = (uint8_t *)buf;
  return 0;
}

int mw__spool_peek(mw__spool *s, mw__payload *out) {
  char path[4096], bad[4200];
  mw__payload_clear(out);
  if (!mw__spool_files(s)) return MW_ERR_AGAIN;
  entry *e = &s->items[s->head];
  entry_path(s, e, path, sizeof path);
  int rc = MW_ERR_SPOOL;
  char *buf = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) || st.st_size < 0 || (uint64_t)st.st_size > s->max_bytes) goto out;
  size_t len = (size_t)st.st_size, got = 0;
  if (!(buf = malloc(len ? len : 1))) {
    rc = MW_ERR_NOMEM;
    goto out;
  }
  while (got < len) {
    ssize_t r = read(fd, buf + got, len - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) goto out;
    got += (size_t)r;
  }
  int prc = parse_file(buf, len, out);
  if (prc == MW_ERR_NOMEM) {
    rc = prc;
    goto out;
  }
  if (prc) goto out;
  buf = NULL; /* out->body owns it */
  rc = 0;
out:
  if (fd >= 0) close(fd);
  free(buf);
  if (rc == MW_ERR_SPOOL) { /* set it aside: one unreadable file must not block the spool */
    mw__payload_clear(out);
    snprintf(bad, sizeof bad, "%s.bad", path);
    rename(path, bad);
    mw__spool_pop(s);
  } else if (rc) {
    mw__payload_clear(out);
  }
  return rc;
}

void mw__spool_pop(mw__spool *s) {
  char path[4096];
  if (!mw__spool_files(s)) return;
  entry_path(s, &s->items[s->head], path, sizeof path);
  unlink(path); /* gone already when peek set it aside */
  s->bytes -= s->items[s->head].bytes;
  s->head++;
  if (s->head == s->n) s->head = s->n = 0;
}
