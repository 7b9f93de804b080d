/* shape_binding.c — "name=1x3x224x224" as given on the command line. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frontend_internal.h"

vitc_status vitc_parse_shape_binding(const char *spec, vitc_shape_binding *b, vitc_error *err) {
  memset(b, 0, sizeof *b);
  /* The last '=' splits: input names may contain '=', dims never do. */
  const char *eq = strrchr(spec, '=');
  if (!eq)
    return vitc_fail(err, VITC_ERR_INVALID, "shape binding '%s' has no '=': write NAME=DIMS, e.g. input=1x3x224x224",
                     spec);
  if (eq == spec) return vitc_fail(err, VITC_ERR_INVALID, "shape binding '%s' names no input", spec);
  if (!eq[1]) return vitc_fail(err, VITC_ERR_INVALID, "shape binding '%s' gives no dims", spec);
  b->input = spec;
  b->input_len = (int)(eq - spec);
  for (const char *p = eq + 1;;) {
    size_t len = strcspn(p, "x");
    if (b->rank == VITC_MAX_RANK)
      return vitc_fail(err, VITC_ERR_INVALID, "shape binding '%s' has more than %d dims", spec, VITC_MAX_RANK);
    char *end;
    errno = 0;
    long long d = isdigit((unsigned char)*p) ? strtoll(p, &end, 10) : -1;
    if (d < 0 || errno || end != p + len)
      return vitc_fail(err, VITC_ERR_INVALID, "shape binding '%s': dim '%.*s' is not a non-negative integer", spec,
                       (int)len, p);
    b->dims[b->rank++] = d;
    if (!p[len]) break;
    p += len + 1;
  }
  return VITC_OK;
}
