/* Files compiled into the binary (SQL migrations, web viewer); see cmake/embed.cmake. */
#ifndef MW_CORE_EMBED_H
#define MW_CORE_EMBED_H
#include <stddef.h>

struct mw__embedded {
  const char *path;          /* relative to the embedded folder, '/'-separated */
  const unsigned char *data; /* NUL-terminated copy of the file */
  size_t len;
};

extern const struct mw__embedded mw__sql_files[];
extern const size_t mw__sql_files_count;
extern const struct mw__embedded mw__web_files[];
extern const size_t mw__web_files_count;

#endif
