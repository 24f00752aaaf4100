/* Names for the error codes of error.h. */
#include "core/error.h"

const char *mw__strerror(int err) {
  switch (err) {
  case MW_OK: return "ok";
  case MW_ENOMEM: return "out of memory";
  case MW_EINVAL: return "invalid input";
  case MW_ETOOBIG: return "over a limit";
  case MW_EBUSY: return "overloaded";
  case MW_EIO: return "I/O error";
  case MW_ENOTFOUND: return "not found";
  case MW_EUNSUPPORTED: return "unsupported";
  case MW_ESHUTDOWN: return "shutting down";
  case MW_EFULL: return "disk full";
  case MW_ETIMEDOUT: return "timed out";
  case MW_EUNAUTHORIZED: return "unauthorized";
  case MW_EFORBIDDEN: return "forbidden";
  case MW_EMETHOD: return "method not allowed";
  case MW_ETOOSLOW: return "request too slow";
  case MW_ETOOLONG: return "request line too long";
  case MW_ENOTIMPL: return "not implemented";
  case MW_EUNAVAILABLE: return "not installed";
  }
  return "unknown error";
}
