/* attr.c — node attribute lookup with defaults. */
#include <string.h>

#include "ir.h"

const vitc_attr *vitc_attr_find(const vitc_node *n, const char *name) {
  for (int i = 0; i < n->nattr; i++)
    if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
  return NULL;
}

int64_t vitc_attr_int(const vitc_node *n, const char *name, int64_t dflt) {
  const vitc_attr *a = vitc_attr_find(n, name);
  return a && a->type == VITC_ATTR_INT ? a->i : dflt;
}

double vitc_attr_float(const vitc_node *n, const char *name, double dflt) {
  const vitc_attr *a = vitc_attr_find(n, name);
  if (a && a->type == VITC_ATTR_FLOAT) return a->f;
  if (a && a->type == VITC_ATTR_INT) return (double)a->i;
  return dflt;
}

const char *vitc_attr_str(const vitc_node *n, const char *name, const char *dflt) {
  const vitc_attr *a = vitc_attr_find(n, name);
  return a && a->type == VITC_ATTR_STRING ? a->s : dflt;
}

const int64_t *vitc_attr_ints(const vitc_node *n, const char *name, int *len) {
  const vitc_attr *a = vitc_attr_find(n, name);
  if (a && a->type == VITC_ATTR_INTS) {
    *len = a->n;
    return a->ints;
  }
  *len = 0;
  return NULL;
}

const double *vitc_attr_floats(const vitc_node *n, const char *name, int *len) {
  const vitc_attr *a = vitc_attr_find(n, name);
  if (a && a->type == VITC_ATTR_FLOATS) {
    *len = a->n;
    return a->floats;
  }
  *len = 0;
  return NULL;
}
