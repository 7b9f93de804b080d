/* graph.c — building and editing graphs: tensors, nodes, constants, compaction, topological order; whether a
 * graph is one image of a batch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim */
#endif

#include "ir.h"

vitc_graph *vitc_graph_new(const char *path) {
  vitc_arena *a = vitc_arena_new();
  if (!a) return NULL;
  vitc_graph *g = vitc_arena_alloc(a, sizeof *g);
  if (!g || !(g->path = vitc_arena_strdup(a, path ? path : "<graph>"))) {
    vitc_arena_free(a);
    return NULL;
  }
  g->arena = a;
  return g;
}

void vitc_graph_free(vitc_graph *g) {
  if (!g) return;
  for (vitc_mapping *m = g->mappings; m; m = m->next) munmap(m->addr, m->len);
  vitc_arena_free(g->arena);
}

void vitc_graph_drop_mapped_pages(const vitc_graph *g) {
  for (const vitc_mapping *m = g->mappings; m; m = m->next) madvise(m->addr, m->len, MADV_DONTNEED);
}

void vitc_drop_pages(const void *data, size_t bytes) {
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), start = ((uintptr_t)data + page - 1) & ~(page - 1);
  uintptr_t end = ((uintptr_t)data + bytes) & ~(page - 1);
  if (end > start) madvise((void *)start, end - start, MADV_DONTNEED);
}

void vitc_give_back_heap(void) {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

/* Grows an arena array to hold at least need elements (old storage stays in the arena). */
static bool grow(vitc_arena *a, void **arr, int *cap, int need, size_t elem) {
  if (need <= *cap) return true;
  int cap2 = *cap ? *cap * 2 : 64;
  while (cap2 < need) cap2 *= 2;
  void *fresh = vitc_arena_alloc(a, (size_t)cap2 * elem);
  if (!fresh) return false;
  if (*arr) memcpy(fresh, *arr, (size_t)*cap * elem);
  *arr = fresh;
  *cap = cap2;
  return true;
}

int vitc_graph_add_tensor(vitc_graph *g, const char *name) {
  if (!grow(g->arena, (void **)&g->tensors, &g->cap_tensors, g->ntensors + 1, sizeof(vitc_tensor))) return -1;
  char fresh[32];
  if (!name) {
    snprintf(fresh, sizeof fresh, "t%d", g->ntensors);
    name = fresh;
  }
  vitc_tensor *t = &g->tensors[g->ntensors];
  memset(t, 0, sizeof *t);
  if (!(t->name = vitc_arena_strdup(g->arena, name))) return -1;
  t->producer = -1;
  return g->ntensors++;
}

/* Copies an attribute with everything it points to into the arena: the graph owns its attributes. */
static bool copy_attr(vitc_arena *a, vitc_attr *dst, const vitc_attr *src) {
  *dst = *src;
  if (!(dst->name = vitc_arena_strdup(a, src->name))) return false;
  if (src->s && !(dst->s = vitc_arena_strdup(a, src->s))) return false;
  if (src->ints) {
    if (!(dst->ints = vitc_arena_alloc(a, sizeof(int64_t) * (size_t)(src->n ? src->n : 1)))) return false;
    memcpy(dst->ints, src->ints, sizeof(int64_t) * (size_t)src->n);
  }
  if (src->floats) {
    if (!(dst->floats = vitc_arena_alloc(a, sizeof(double) * (size_t)(src->n ? src->n : 1)))) return false;
    memcpy(dst->floats, src->floats, sizeof(double) * (size_t)src->n);
  }
  if (src->strings) {
    const char **strings = vitc_arena_alloc(a, sizeof(char *) * (size_t)(src->n ? src->n : 1));
    if (!strings) return false;
    for (int i = 0; i < src->n; i++)
      if (!(strings[i] = vitc_arena_strdup(a, src->strings[i]))) return false;
    dst->strings = strings;
  }
  if (src->t.data) {
    size_t bytes = vitc_nbytes(&src->t);
    if (!(dst->t.data = vitc_arena_alloc(a, bytes))) return false;
    memcpy(dst->t.data, src->t.data, bytes);
  }
  return true;
}

int vitc_graph_add_node(vitc_graph *g, vitc_op op, const char *name, const int *in, int nin, const int *out,
                        int nout, const vitc_attr *attrs, int nattr) {
  if (!grow(g->arena, (void **)&g->nodes, &g->cap_nodes, g->nnodes + 1, sizeof(vitc_node))) return -1;
  vitc_node *n = &g->nodes[g->nnodes];
  memset(n, 0, sizeof *n);
  char fresh[64];
  if (!name || !*name) {
    snprintf(fresh, sizeof fresh, "%s_%d", vitc_ops[op].name, g->nnodes);
    name = fresh;
  }
  n->op = op;
  n->opset = g->opset;
  n->nin = nin;
  n->nout = nout;
  n->nattr = nattr;
  if (!(n->name = vitc_arena_strdup(g->arena, name))) return -1;
  n->in = vitc_arena_alloc(g->arena, sizeof(int) * (size_t)(nin ? nin : 1));
  n->out = vitc_arena_alloc(g->arena, sizeof(int) * (size_t)(nout ? nout : 1));
  n->attrs = vitc_arena_alloc(g->arena, sizeof(vitc_attr) * (size_t)(nattr ? nattr : 1));
  if (!n->in || !n->out || !n->attrs) return -1;
  if (nin) memcpy(n->in, in, sizeof(int) * (size_t)nin);
  if (nout) memcpy(n->out, out, sizeof(int) * (size_t)nout);
  for (int a = 0; a < nattr; a++)
    if (!copy_attr(g->arena, &n->attrs[a], &attrs[a])) return -1;
  for (int k = 0; k < nout; k++)
    if (out[k] >= 0) g->tensors[out[k]].producer = g->nnodes;
  return g->nnodes++;
}

int vitc_graph_add_constant(vitc_graph *g, const char *name, const vitc_value *v) {
  int id = vitc_graph_add_tensor(g, name);
  if (id < 0) return -1;
  vitc_tensor *t = &g->tensors[id];
  t->v = *v;
  t->shape_known = true;
  size_t bytes = vitc_nbytes(v);
  if (!(t->v.data = vitc_arena_alloc(g->arena, bytes))) return -1;
  if (bytes) memcpy(t->v.data, v->data, bytes);
  return id;
}

void vitc_graph_compact(vitc_graph *g) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++)
    if (!g->nodes[i].dead) g->nodes[k++] = g->nodes[i];
  g->nnodes = k;
  for (int t = 0; t < g->ntensors; t++) g->tensors[t].producer = -1;
  for (int i = 0; i < g->nnodes; i++)
    for (int j = 0; j < g->nodes[i].nout; j++)
      if (g->nodes[i].out[j] >= 0) g->tensors[g->nodes[i].out[j]].producer = i;
}

bool vitc_graph_is_output(const vitc_graph *g, int t) {
  for (int k = 0; k < g->noutputs; k++)
    if (g->outputs[k] == t) return true;
  return false;
}

void vitc_graph_replace_uses(vitc_graph *g, int from, int to) {
  for (int i = 0; i < g->nnodes; i++)
    for (int j = 0; j < g->nodes[i].nin; j++)
      if (g->nodes[i].in[j] == from) g->nodes[i].in[j] = to;
  for (int k = 0; k < g->noutputs; k++)
    if (g->outputs[k] == from) g->outputs[k] = to;
}

void vitc_graph_use_counts(const vitc_graph *g, int *counts) {
  memset(counts, 0, sizeof(int) * (size_t)g->ntensors);
  for (int i = 0; i < g->nnodes; i++)
    if (!g->nodes[i].dead)
      for (int j = 0; j < g->nodes[i].nin; j++)
        if (g->nodes[i].in[j] >= 0) counts[g->nodes[i].in[j]]++;
  for (int k = 0; k < g->noutputs; k++) counts[g->outputs[k]]++;
}

/* Kahn's algorithm, choosing the earliest ready node so an already sorted graph keeps its order. */
/* A binary min-heap of node indices. */
static void heap_push(int *h, int *n, int v) {
  int i = (*n)++;
  for (; i > 0 && h[(i - 1) / 2] > v; i = (i - 1) / 2) h[i] = h[(i - 1) / 2];
  h[i] = v;
}

static int heap_pop(int *h, int *n) {
  int top = h[0], v = h[--*n], i = 0;
  for (int c; (c = 2 * i + 1) < *n; i = c) {
    if (c + 1 < *n && h[c + 1] < h[c]) c++;
    if (v <= h[c]) break;
    h[i] = h[c];
  }
  h[i] = v;
  return top;
}

/* Fills order[0..*k) (see vitc_graph_toposort); pending[i] counts node i's inputs produced by a node. */
static vitc_status sort_in_scan_order(const vitc_graph *g, const int *producer, int *pending, int *order, int *k,
                                      vitc_error *err) {
  int nn = g->nnodes, nt = g->ntensors, nuses = 0;
  for (int i = 0; i < nn; i++) nuses += g->nodes[i].nin;
  int *first = calloc((size_t)nt + 2, sizeof(int)), *user = malloc(sizeof(int) * ((size_t)nuses + 1));
  int *now = malloc(sizeof(int) * ((size_t)nn + 1)), *later = malloc(sizeof(int) * ((size_t)nn + 1));
  vitc_status st = VITC_OK;
  if (!first || !user || !now || !later) {
    st = vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory sorting the graph", g->path);
    goto out;
  }
  for (int i = 0; i < nn; i++)
    for (int j = 0; j < g->nodes[i].nin; j++)
      if (g->nodes[i].in[j] >= 0 && producer[g->nodes[i].in[j]] >= 0) first[g->nodes[i].in[j] + 1]++;
  for (int t = 0; t < nt; t++) first[t + 1] += first[t];
  for (int i = 0; i < nn; i++) /* first[t] moves to t's end, then everything shifts down by one */
    for (int j = 0; j < g->nodes[i].nin; j++)
      if (g->nodes[i].in[j] >= 0 && producer[g->nodes[i].in[j]] >= 0) user[first[g->nodes[i].in[j]]++] = i;
  for (int t = nt; t > 0; t--) first[t] = first[t - 1];
  first[0] = 0; /* users of t: user[first[t] .. first[t + 1]) */
  int nnow = 0, nlater = 0;
  for (int i = 0; i < nn; i++)
    if (!pending[i]) heap_push(now, &nnow, i);
  while (nnow) {
    while (nnow) {
      int i = heap_pop(now, &nnow);
      order[(*k)++] = i;
      for (int j = 0; j < g->nodes[i].nout; j++) {
        int t = g->nodes[i].out[j];
        for (int u = t >= 0 ? first[t] : 0; t >= 0 && u < first[t + 1]; u++)
          if (!--pending[user[u]]) heap_push(user[u] > i ? now : later, user[u] > i ? &nnow : &nlater, user[u]);
      }
    }
    int *swap = now;
    now = later, nnow = nlater;
    later = swap, nlater = 0;
  }
out:
  free(first);
  free(user);
  free(now);
  free(later);
  return st;
}

vitc_status vitc_graph_toposort(vitc_graph *g, vitc_error *err) {
  int nn = g->nnodes, nt = g->ntensors;
  vitc_status st = VITC_OK;
  int *pending = calloc((size_t)nn + 1, sizeof(int));   /* unresolved inputs per node */
  int *producer = malloc(sizeof(int) * ((size_t)nt + 1)); /* node producing each tensor, -1 if none */
  int *order = malloc(sizeof(int) * ((size_t)nn + 1));
  char *done = calloc((size_t)nn + 1, 1);
  vitc_node *sorted = malloc(sizeof(vitc_node) * ((size_t)nn + 1));
  if (!pending || !producer || !order || !done || !sorted) {
    st = vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory sorting the graph", g->path);
    goto out;
  }
  for (int t = 0; t < nt; t++) producer[t] = -1;
  for (int i = 0; i < nn; i++)
    for (int j = 0; j < g->nodes[i].nout; j++) {
      int t = g->nodes[i].out[j];
      if (t < 0) continue;
      if (producer[t] >= 0) {
        st = vitc_fail(err, VITC_ERR_INVALID, "%s: node '%s' (%s): output '%s' is also produced by node '%s'",
                       g->path, g->nodes[i].name, vitc_ops[g->nodes[i].op].name, g->tensors[t].name,
                       g->nodes[producer[t]].name);
        goto out;
      }
      producer[t] = i;
    }
  for (int i = 0; i < nn; i++)
    for (int j = 0; j < g->nodes[i].nin; j++) {
      int t = g->nodes[i].in[j];
      if (t < 0) continue;
      if (producer[t] >= 0) pending[i]++;
      else if (!g->tensors[t].v.data && !g->tensors[t].shape_known) {
        bool is_input = false;
        for (int k = 0; k < g->ninputs; k++) is_input |= g->inputs[k] == t;
        if (!is_input) {
          st = vitc_fail(err, VITC_ERR_INVALID, "%s: node '%s' (%s): input '%s' is not defined by any node, input or initializer",
                         g->path, g->nodes[i].name, vitc_ops[g->nodes[i].op].name, g->tensors[t].name);
          goto out;
        }
      }
    }
  /* The order of repeated scans in index order, each taking every ready node it passes (so an already
   * sorted graph keeps its order), found in O(E log N): a node made ready behind the scan waits for the
   * next one. Consumers come from per-tensor lists (CSR), not from scanning all nodes per output. */
  int k = 0;
  if (!(st = sort_in_scan_order(g, producer, pending, order, &k, err)))
    for (int i = 0; i < k; i++) done[order[i]] = 1;
  if (st) goto out;
  if (k < nn) {
    int i = 0;
    while (done[i]) i++;
    st = vitc_fail(err, VITC_ERR_INVALID, "%s: node '%s' (%s): graph has a cycle through this node", g->path,
                   g->nodes[i].name, vitc_ops[g->nodes[i].op].name);
    goto out;
  }
  for (int i = 0; i < nn; i++) sorted[i] = g->nodes[order[i]];
  if (nn) memcpy(g->nodes, sorted, sizeof(vitc_node) * (size_t)nn); /* g->nodes is NULL in a graph without nodes */
  vitc_graph_compact(g);
out:
  free(pending);
  free(producer);
  free(order);
  free(done);
  free(sorted);
  return st;
}

void vitc_node_error_prefix(const vitc_graph *g, const vitc_node *n, vitc_error *err) {
  vitc_error_prefix(err, "%s: node '%s' (%s)", g->path, n->name, vitc_ops[n->op].name);
}

int64_t vitc_default_memory_limit(void) {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? (int64_t)pages * page : INT64_MAX;
}

int64_t vitc_graph_memory_limit(const vitc_graph *g) {
  return g->memory_limit > 0 ? g->memory_limit : vitc_default_memory_limit();
}

bool vitc_graph_per_image(const vitc_graph *g) {
  const char *batch = NULL;
  for (int k = 0; k < g->ninputs; k++) {
    const vitc_tensor *t = &g->tensors[g->inputs[k]];
    if (t->v.rank < 1 || t->v.dims[0] != 1 || !t->dim_param[0] || (batch && strcmp(batch, t->dim_param[0])))
      return false;
    batch = t->dim_param[0];
  }
  for (int k = 0; k < g->noutputs; k++) {
    const vitc_value *v = &g->tensors[g->outputs[k]].v;
    if (v->rank < 1 || v->dims[0] != 1) return false;
  }
  return batch != NULL;
}
