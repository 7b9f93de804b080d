/* plan_memory.c — offsets of every intermediate tensor and of every node's work space in one scratch
 * arena, planned once at compile time so that running never allocates. A tensor lives from the node that
 * produces it to its last use, a node's work space during that node only; ranges whose lifetimes overlap
 * are disjoint. Placement is greedy: largest first, each at the lowest offset that fits beside the
 * already placed ranges it overlaps in time.
 *
 * A view (vitc_view_base) gets no range of its own: it is its base's bytes, so the base's range runs to
 * the last read of the view. No kernel writes over a view: every tensor is written only by its producer,
 * a view's base before the view exists, and a node's outputs and work space are placed apart from all
 * it reads (the kernels take their pointers as noalias).
 *
 * A node of a run of row groups (row_groups.c) runs group after group, between the other nodes of its run:
 * what it reads and writes and its work space live from the run's first node to its last. */
#include <stdlib.h>
#include <string.h>

#include "plan.h"

/* Ranges over more nodes than this are few; they are checked against every new range. */
#define SHORT_SPAN 16

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
  return !vitc_graph_is_output(g, t); /* an output is written straight into the caller's buffer */
}

int vitc_view_base(const vitc_graph *g, int i) {
  const vitc_node *n = &g->nodes[i];
  if (!vitc_op_has(n->op, VITC_OPF_VIEW)) return -1;
  int in = n->in[0], out = n->out[0];
  if (in < 0 || out < 0 || !vitc_is_scratch_tensor(g, in) || !vitc_is_scratch_tensor(g, out)) return -1;
  if (g->tensors[out].v.data) return -1; /* without constant folding its kernel copies the known values */
  if (vitc_nbytes(&g->tensors[in].v) != vitc_nbytes(&g->tensors[out].v)) return -1;
  return in;
}

vitc_status vitc_plan_memory(const vitc_graph *g, const size_t *node_scratch, const vitc_row_groups *rg,
                             size_t *tensor_offset, size_t *node_offset, size_t *total, vitc_error *err) {
  int nt = g->ntensors, n = nt + g->nnodes;
  interval *iv = malloc(sizeof *iv * ((size_t)n + 1));
  interval **placed = malloc(sizeof *placed * ((size_t)n + 1));
  int *index = malloc(sizeof *index * ((size_t)nt + 1));
  int *base = malloc(sizeof *base * ((size_t)nt + 1)); /* the tensor whose memory t is, t itself if no view */
  int *starting = malloc(sizeof *starting * ((size_t)g->nnodes + 1)); /* placed short ranges by first node */
  int *next = malloc(sizeof *next * ((size_t)n + 1));                 /* next in the same list */
  vitc_status st = VITC_OK;
  if (!iv || !placed || !index || !base || !starting || !next) {
    st = vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory planning memory", g->path);
    goto done;
  }
  for (int t = 0; t < nt; t++) base[t] = t;
  for (int i = 0; i < g->nnodes; i++) { /* in order, so a view's input already knows its base */
    int in = vitc_view_base(g, i);
    if (in >= 0) base[g->nodes[i].out[0]] = base[in];
  }
  int count = 0;
  for (int t = 0; t < nt; t++) {
    tensor_offset[t] = 0;
    index[t] = -1;
    if (!vitc_is_scratch_tensor(g, t) || base[t] != t) continue;
    index[t] = count;
    int p = g->tensors[t].producer;
    size_t bytes = vitc_nbytes(&g->tensors[t].v);
    if (rg && rg->one_group[t]) bytes = (bytes + (size_t)rg->groups[p] - 1) / (size_t)rg->groups[p];
    iv[count++] = (interval){t, rg ? rg->first[p] : p, rg ? rg->last[p] : p, (bytes + 63) & ~(size_t)63, 0};
  }
  for (int i = 0; i < g->nnodes; i++)
    for (int j = 0; j < g->nodes[i].nin; j++) {
      int t = g->nodes[i].in[j] >= 0 ? base[g->nodes[i].in[j]] : -1, last = rg ? rg->last[i] : i;
      if (t >= 0 && index[t] >= 0 && iv[index[t]].last < last) iv[index[t]].last = last;
    }
  for (int i = 0; i < g->nnodes; i++) {
    node_offset[i] = 0;
    size_t bytes = (node_scratch[i] + 63) & ~(size_t)63;
    if (node_scratch[i]) iv[count++] = (interval){nt + i, rg ? rg->first[i] : i, rg ? rg->last[i] : i, bytes, 0};
  }
  qsort(iv, (size_t)count, sizeof *iv, by_size_desc);
  /* The placed ranges a new one must avoid are those overlapping it in time. Short ones (the most:
   * a tensor is mostly read by the next few nodes) are found through lists by first node, looking back
   * at most SHORT_SPAN nodes; the long ones are all checked. Linear in the graph's size, not quadratic. */
  for (int i = 0; i < g->nnodes; i++) starting[i] = -1;
  int long_ones = -1;
  size_t end = 0;
  for (int k = 0; k < count; k++) {
    int nplaced = 0;
    for (int m = long_ones; m >= 0; m = next[m])
      if (iv[m].first <= iv[k].last && iv[k].first <= iv[m].last) placed[nplaced++] = &iv[m];
    for (int i = iv[k].first > SHORT_SPAN ? iv[k].first - SHORT_SPAN : 0; i <= iv[k].last; i++)
      for (int m = starting[i]; m >= 0; m = next[m])
        if (iv[k].first <= iv[m].last) placed[nplaced++] = &iv[m];
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
    int *list = iv[k].last - iv[k].first > SHORT_SPAN ? &long_ones : &starting[iv[k].first];
    next[k] = *list;
    *list = k;
  }
  for (int t = 0; t < nt; t++) tensor_offset[t] = tensor_offset[base[t]];
  *total = end;
  /* Refused here, before a context allocates it (vitc_rt_ctx_new): a run could never start. */
  int64_t limit = vitc_graph_memory_limit(g);
  if (end > (uint64_t)limit)
    st = vitc_fail(err, VITC_ERR_INVALID, "%s: the planned activations need %zu bytes, above the memory limit of %lld "
                   "bytes", g->path, end, (long long)limit);
done:
  free(iv);
  free(placed);
  free(index);
  free(base);
  free(starting);
  free(next);
  return st;
}
