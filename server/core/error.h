/* Error codes shared by every module: 0 is success, negatives are failures.
 * Modules return them; only server/http/status.c turns them into HTTP
 * statuses (one table, mw__http_status), so that a handler says what went
 * wrong and the table says how HTTP puts it. */
#ifndef MW_CORE_ERROR_H
#define MW_CORE_ERROR_H

enum mw__err {
  MW_OK = 0,
  MW_ENOMEM = -1,         /* allocation failed */
  MW_EINVAL = -2,         /* input is malformed: the caller's fault */
  MW_ETOOBIG = -3,        /* input exceeds a configured limit */
  MW_EBUSY = -4,          /* queue full or overloaded: retry later */
  MW_EIO = -5,            /* storage or system I/O failed */
  MW_ENOTFOUND = -6,      /* no such object */
  MW_EUNSUPPORTED = -7,   /* a content type or encoding we do not speak */
  MW_ESHUTDOWN = -8,      /* the server is stopping */
  MW_EFULL = -9,          /* disk full */
  MW_ETIMEDOUT = -10,     /* a query ran past its time limit (query_timeout) */
  MW_EUNAUTHORIZED = -11, /* no credentials where they are needed */
  MW_EFORBIDDEN = -12,    /* credentials that do not allow this */
  MW_EMETHOD = -13,       /* a method the resource does not answer */
  MW_ETOOSLOW = -14,      /* the client took too long to send its request */
  MW_ETOOLONG = -15,      /* a request line (URI, parameters) past its limit */
  MW_ENOTIMPL = -16,      /* a request feature we do not implement (a Transfer-Encoding) */
  MW_EUNAVAILABLE = -17,  /* a part of the server is not installed (meanwhile-exectrace): retrying will not help */
};

/* Returns a static, human-readable name for an error code. */
const char *mw__strerror(int err);

#endif
