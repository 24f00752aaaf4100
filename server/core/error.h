/* Error codes shared by every module: 0 is success, negatives are failures.
 * Only server/http/ turns them into HTTP statuses (mw__http_status). */
#ifndef MW_CORE_ERROR_H
#define MW_CORE_ERROR_H

enum mw__err {
  MW_OK = 0,
  MW_ENOMEM = -1,     /* allocation failed */
  MW_EINVAL = -2,     /* input is malformed: the caller's fault */
  MW_ETOOBIG = -3,    /* input exceeds a configured limit */
  MW_EBUSY = -4,      /* queue full or overloaded: retry later */
  MW_EIO = -5,        /* storage or system I/O failed */
  MW_ENOTFOUND = -6,  /* no such object */
  MW_EUNSUPPORTED = -7, /* a content type or encoding we do not speak */
  MW_ESHUTDOWN = -8,  /* the server is stopping */
  MW_EFULL = -9,      /* disk full */
  MW_ETIMEDOUT = -10, /* a query ran past its time limit (query_timeout) */
};

/* Returns a static, human-readable name for an error code. */
const char *mw__strerror(int err);

#endif
