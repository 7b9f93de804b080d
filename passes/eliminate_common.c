/* eliminate_common — common subexpression elimination.
 *
 *     %a = Add(%x, %c)                 %a = Add(%x, %c)
 *     %b = Add(%x, %c)          ─→     (uses of %b read %a)
 *     const %k1 = [1, -1]              const %k1 = [1, -1]
 *     const %k2 = [1, -1]              (uses of %k2 read %k1)
 *
 * Small identical constants (at most SMALL_CONSTANT elements: the shape vectors and scalars exporters
 * repeat) merge first, so nodes that differ only in which copy they read become equal. Nodes then merge
 * in one forward walk: a node equal to an earlier one (op, opset, inputs, attributes compared deeply)
 * has its uses rewired, which may make later nodes equal in turn. Graph outputs are never rewired:
 * that would rename them. Every op in the table is deterministic, so no op is excluded. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "passes/passes.h"

#define SMALL_CONSTANT 64

static bool same_type(const vitc_value *a, const vitc_value *b) {
  if (a->dtype != b->dtype || a->rank != b->rank) return false;
  for (int d = 0; d < a->rank; d++)
    if (a->dims[d] != b->dims[d]) return false;
  return true;
}

static bool same_value(const vitc_value *a, const vitc_value *b) {
  if (!same_type(a, b) || !a->data != !b->data) return false;
  return !a->data || !memcmp(a->data, b->data, vitc_nbytes(a));
}

static uint64_t mix(uint64_t h, uint64_t x) { return (h ^ x) * 0x100000001b3ull; }

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n) {
  for (size_t i = 0; i < n; i++) h = mix(h, ((const unsigned char *)p)[i]);
  return h;
}

static bool same_double(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

static bool same_str(const char *a, const char *b) { return a == b || (a && b && !strcmp(a, b)); }

static bool same_attr(const vitc_attr *a, const vitc_attr *b) {
  if (a->type != b->type) return false;
  switch (a->type) {
  case VITC_ATTR_INT: return a->i == b->i;
  case VITC_ATTR_FLOAT: return same_double(a->f, b->f);
  case VITC_ATTR_STRING: return same_str(a->s, b->s);
  case VITC_ATTR_INTS: return a->n == b->n && (!a->n || !memcmp(a->ints, b->ints, sizeof(int64_t) * (size_t)a->n));
  case VITC_ATTR_FLOATS:
    if (a->n != b->n) return false;
    for (int k = 0; k < a->n; k++)
      if (!same_double(a->floats[k], b->floats[k])) return false;
    return true;
  case VITC_ATTR_STRINGS:
    if (a->n != b->n) return false;
    for (int k = 0; k < a->n; k++)
      if (!same_str(a->strings[k], b->strings[k])) return false;
    return true;
  case VITC_ATTR_TENSOR: return same_value(&a->t, &b->t);
  }
  return false;
}

/* Attributes compare as sets by name: their order in the model carries no meaning. */
static bool same_attrs(const vitc_node *a, const vitc_node *b) {
  if (a->nattr != b->nattr) return false;
  for (int k = 0; k < a->nattr; k++) {
    const vitc_attr *other = vitc_attr_find(b, a->attrs[k].name);
    if (!other || !same_attr(&a->attrs[k], other)) return false;
  }
  return true;
}

/* Whether `later` computes what `earlier` computes, and every output it defines has a counterpart. */
static bool same_computation(const vitc_node *earlier, const vitc_node *later) {
  if (earlier->op != later->op || earlier->opset != later->opset || earlier->nin != later->nin ||
      earlier->nout != later->nout)
    return false;
  if (earlier->nin && memcmp(earlier->in, later->in, sizeof(int) * (size_t)earlier->nin)) return false;
  for (int k = 0; k < later->nout; k++)
    if (later->out[k] >= 0 && earlier->out[k] < 0) return false;
  return same_attrs(earlier, later);
}

/* Open-addressing table of indices (nodes or tensors) keyed by a hash; slots hold index + 1, 0 is empty. */
typedef struct table {
  int *slot;
  uint64_t *key;
  size_t mask;
} table;

static bool table_init(table *tb, int n) {
  size_t cap = 16;
  while (cap < (size_t)n * 2) cap *= 2;
  tb->slot = calloc(cap, sizeof *tb->slot);
  tb->key = calloc(cap, sizeof *tb->key);
  tb->mask = cap - 1;
  return tb->slot && tb->key;
}

static void table_free(table *tb) {
  free(tb->slot);
  free(tb->key);
}

static uint64_t constant_hash(const vitc_value *v) {
  uint64_t h = mix(0xcbf29ce484222325ull, (uint64_t)v->dtype);
  h = hash_bytes(mix(h, (uint64_t)v->rank), v->dims, sizeof(int64_t) * (size_t)v->rank);
  return hash_bytes(h, v->data, vitc_nbytes(v));
}

static uint64_t node_hash(const vitc_node *n) {
  uint64_t h = mix(mix(0xcbf29ce484222325ull, (uint64_t)n->op), (uint64_t)n->nin);
  return hash_bytes(h, n->in, sizeof(int) * (size_t)n->nin);
}

static bool is_small_constant(const vitc_graph *g, int t, const int *uses) {
  const vitc_tensor *c = &g->tensors[t];
  return c->producer < 0 && c->v.data && uses[t] && vitc_numel(&c->v) <= SMALL_CONSTANT;
}

static void merge_constants(vitc_graph *g, const int *uses, table *tb) {
  for (int t = 0; t < g->ntensors; t++) {
    if (!is_small_constant(g, t, uses)) continue;
    uint64_t h = constant_hash(&g->tensors[t].v);
    size_t s = h & tb->mask;
    for (; tb->slot[s]; s = (s + 1) & tb->mask) {
      int first = tb->slot[s] - 1;
      if (tb->key[s] == h && same_value(&g->tensors[first].v, &g->tensors[t].v)) break;
    }
    if (!tb->slot[s]) {
      tb->slot[s] = t + 1;
      tb->key[s] = h;
    } else if (!vitc_graph_is_output(g, t)) {
      vitc_graph_replace_uses(g, t, tb->slot[s] - 1);
    }
  }
}

static bool merge_nodes(vitc_graph *g, table *tb) {
  bool changed = false;
  for (int i = 0; i < g->nnodes; i++) {
    vitc_node *n = &g->nodes[i];
    if (n->dead) continue;
    uint64_t h = node_hash(n);
    size_t s = h & tb->mask;
    for (; tb->slot[s]; s = (s + 1) & tb->mask)
      if (tb->key[s] == h && same_computation(&g->nodes[tb->slot[s] - 1], n)) break;
    bool defines_output = false;
    for (int k = 0; k < n->nout; k++) defines_output |= n->out[k] >= 0 && vitc_graph_is_output(g, n->out[k]);
    if (!tb->slot[s]) {
      tb->slot[s] = i + 1;
      tb->key[s] = h;
    } else if (!defines_output) {
      const vitc_node *first = &g->nodes[tb->slot[s] - 1];
      for (int k = 0; k < n->nout; k++)
        if (n->out[k] >= 0) vitc_graph_replace_uses(g, n->out[k], first->out[k]);
      n->dead = true;
      changed = true;
    }
  }
  return changed;
}

vitc_status vitc_eliminate_common(vitc_graph *g, vitc_error *err) {
  int *uses = malloc(sizeof(int) * ((size_t)g->ntensors + 1));
  table constants = {0}, nodes = {0};
  vitc_status st = VITC_OK;
  if (!uses || !table_init(&constants, g->ntensors) || !table_init(&nodes, g->nnodes)) {
    st = vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory eliminating common subexpressions", g->path);
  } else {
    vitc_graph_use_counts(g, uses);
    merge_constants(g, uses, &constants);
    if (merge_nodes(g, &nodes)) vitc_graph_compact(g);
  }
  free(uses);
  table_free(&constants);
  table_free(&nodes);
  return st;
}
