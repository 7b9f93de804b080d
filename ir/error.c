/* error.c — errors as values, and the per-thread last error behind vitc_last_error(). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ir.h"

static _Thread_local char last_error[sizeof(((vitc_error *)0)->msg)];

vitc_status vitc_fail(vitc_error *err, vitc_status st, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->status = st;
  }
  return st;
}

void vitc_error_prefix(vitc_error *err, const char *fmt, ...) {
  if (!err) return;
  char prefix[512], old[sizeof err->msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, err->msg, sizeof old);
  snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
}

vitc_status vitc_set_last_error(const vitc_error *err) {
  snprintf(last_error, sizeof last_error, "%s", err->status ? err->msg : "");
  return err->status;
}

const char *vitc_last_error(void) { return last_error; }

const char *vitc_status_name(vitc_status s) {
  static const char *const names[] = {
      [VITC_OK] = "ok",
      [VITC_ERR_IO] = "i/o error",
      [VITC_ERR_PARSE] = "parse error",
      [VITC_ERR_INVALID] = "invalid model",
      [VITC_ERR_UNSUPPORTED] = "unsupported",
      [VITC_ERR_NOMEM] = "out of memory",
      [VITC_ERR_INTERNAL] = "internal error",
      [VITC_ERR_DATA_DEPENDENT] = "data-dependent shape",
  };
  return (unsigned)s < sizeof names / sizeof *names ? names[s] : "unknown status";
}
