/* attr_schema.c — a node's attributes against the ONNX schema of its opset (frontend/onnx_schema.inc,
 * generated from onnx's own definitions): every attribute must be one the op takes at that opset, of its
 * type, and every required one must be there. Ranges (axes, perms, kernel sizes) need shapes and are the
 * shape rules' to check (ir/ops/). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "frontend_internal.h"

#define VITC_ATTR_OTHER (-1) /* graphs, sparse tensors, type protos: no op in vitc's table takes them */

typedef struct schema_row {
  const char *name; /* op name on a schema row, attribute name on the rows after it */
  int since;        /* > 0 on a schema row */
  int type;         /* attribute rows: vitc_attr_type or VITC_ATTR_OTHER; schema rows: attribute count */
  bool required;
} schema_row;

static const schema_row rows[] = {
#define SCHEMA(op, since_version, nattrs) {op, since_version, nattrs, false},
#define ATTR(name, type, required) {name, 0, type, required},
#include "onnx_schema.inc"
#undef SCHEMA
#undef ATTR
};
enum { NROWS = sizeof rows / sizeof *rows };

/* Indices of the schema rows, in the table's order (by op name, then version), for binary search. */
static int schema_index[NROWS], nschemas;
static void index_schemas(void) {
  for (int r = 0; r < NROWS; r++)
    if (rows[r].since > 0) schema_index[nschemas++] = r;
}

/* The schema row of op at opset (the newest version not above it), or -1. */
static int find_schema(const char *op, int opset) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, index_schemas);
  int lo = 0, hi = nschemas; /* first schema whose name is >= op */
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (strcmp(rows[schema_index[mid]].name, op) < 0) lo = mid + 1;
    else hi = mid;
  }
  int found = -1;
  for (int s = lo; s < nschemas && !strcmp(rows[schema_index[s]].name, op); s++)
    if (rows[schema_index[s]].since <= opset) found = schema_index[s];
  return found;
}

static const char *type_name(int t) {
  static const char *const names[] = {"int", "float", "string", "ints", "floats", "strings", "tensor"};
  return t >= 0 && t < (int)(sizeof names / sizeof *names) ? names[t] : "a graph or sparse tensor";
}

vitc_status fe_check_attributes(const char *op, int opset, const vitc_attr *attrs, int nattr, vitc_error *err) {
  int s = find_schema(op, opset);
  if (s < 0) return VITC_OK; /* not an ONNX op (vitc's own domain) or older than any schema: the op table decides */
  const schema_row *schema = &rows[s], *first = schema + 1, *end = first + schema->type;
  for (int i = 0; i < nattr; i++) {
    const schema_row *a = first;
    while (a < end && strcmp(a->name, attrs[i].name)) a++;
    if (a == end)
      return vitc_fail(err, VITC_ERR_INVALID, "'%s' is not an attribute of %s-%d", attrs[i].name, op, schema->since);
    if (a->type != (int)attrs[i].type)
      return vitc_fail(err, VITC_ERR_INVALID, "attribute '%s' must be %s, not %s (%s-%d)", attrs[i].name,
                       type_name(a->type), type_name((int)attrs[i].type), op, schema->since);
    for (int j = 0; j < i; j++)
      if (!strcmp(attrs[j].name, attrs[i].name))
        return vitc_fail(err, VITC_ERR_INVALID, "attribute '%s' is given twice", attrs[i].name);
  }
  for (const schema_row *a = first; a < end; a++) {
    bool present = false;
    for (int i = 0; i < nattr && !present; i++) present = !strcmp(attrs[i].name, a->name);
    if (a->required && !present)
      return vitc_fail(err, VITC_ERR_INVALID, "required attribute '%s' of %s-%d is missing", a->name, op,
                       schema->since);
  }
  return VITC_OK;
}
