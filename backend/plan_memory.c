/* plan_memory.c — offsets of every intermediate tensor and of every node's work space in one scratch
 * arena, planned once at compile time so that running never allocates. A tensor lives from the node that
 * produces it to its last use, a node's work space during that node only; ranges whose lifetimes overlap
 * are disjoint. Placement is greedy: largest first, each at the lowest offset that fits beside the
 * already placed ranges it overlaps in time. */
#include <stdlib.h>
#include <string.h>

#include "plan.h"

typedef struct interval {
  int id; /* a tensor, or ntensors + the node whose work space it is */
  int first, last; /* node indices */
  size_t bytes, offset;
} interval;

static int by_size_desc(const void *a, const void *b) {
  const interval *x = a, *y = b;
  if (x->bytes != y->bytes) return x->bytes < y->bytes ? 1 : -1;
  return x->id - y->id;
}

static int by_offset(const void *a, const void *b) {
  const interval *x = *(const interval *const *)a, *y = *(const interval *const *)b;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

bool vitc_is_scratch_tensor(const vitc_graph *g, int t) {
  if (g->tensors[t].producer < 0) return false; /* graph input or constant */
  for (int k = 0; k < g->noutputs; k++)
    if (g->outputs[k] == t) return false; /* written straight into the caller's buffer */
  return true;
}

vitc_status vitc_plan_memory(const vitc_graph *g, const size_t *node_scratch, size_t *tensor_offset,
                             size_t *node_offset, size_t *total, vitc_error *err) {
  int nt = g->ntensors, n = nt + g->nnodes;
  interval *iv = malloc(sizeof *iv * ((size_t)n + 1));
  interval **placed = malloc(sizeof *placed * ((size_t)n + 1));
  int *index = malloc(sizeof *index * ((size_t)nt + 1));
  if (!iv || !placed || !index) {
    free(iv);
    free(placed);
    free(index);
    return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory planning memory", g->path);
  }
  int count = 0;
  for (int t = 0; t < nt; t++) {
    tensor_offset[t] = 0;
    index[t] = -1;
    if (!vitc_is_scratch_tensor(g, t)) continue;
    index[t] = count;
    size_t bytes = (vitc_nbytes(&g->tensors[t].v) + 63) & ~(size_t)63;
    iv[count++] = (interval){t, g->tensors[t].producer, g->tensors[t].producer, bytes, 0};
  }
  for (int i = 0; i < g->nnodes; i++)
    for (int j = 0; j < g->nodes[i].nin; j++) {
      int t = g->nodes[i].in[j];
      if (t >= 0 && index[t] >= 0 && iv[index[t]].last < i) iv[index[t]].last = i;
    }
  for (int i = 0; i < g->nnodes; i++) {
    node_offset[i] = 0;
    if (node_scratch[i]) iv[count++] = (interval){nt + i, i, i, (node_scratch[i] + 63) & ~(size_t)63, 0};
  }
  qsort(iv, (size_t)count, sizeof *iv, by_size_desc);
  size_t end = 0;
  for (int k = 0; k < count; k++) {
    int nplaced = 0;
    for (int m = 0; m < k; m++)
      if (iv[m].first <= iv[k].last && iv[k].first <= iv[m].last) placed[nplaced++] = &iv[m];
    qsort(placed, (size_t)nplaced, sizeof *placed, by_offset);
    size_t at = 0;
    for (int m = 0; m < nplaced; m++) {
      if (placed[m]->offset >= at + iv[k].bytes) break; /* the gap before it fits */
      if (placed[m]->offset + placed[m]->bytes > at) at = placed[m]->offset + placed[m]->bytes;
    }
    iv[k].offset = at;
    if (iv[k].id < nt) tensor_offset[iv[k].id] = at;
    else node_offset[iv[k].id - nt] = at;
    if (at + iv[k].bytes > end) end = at + iv[k].bytes;
  }
  *total = end;
  free(iv);
  free(placed);
  free(index);
  return VITC_OK;
}
