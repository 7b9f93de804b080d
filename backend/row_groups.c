/* row_groups.c — which runs of row-wise nodes NAME_run takes a group of rows at a time (plan.h).
 *
 * Every node runs over all rows of its tensors before the next starts. When a run of row-wise nodes
 * (ops.def's ROWWISE along the last axis, each row of the output from the same row of its row operands
 * and from inputs every row shares) has rows wider than the cache, each node streams its operands from
 * memory: Swin-T's and ConvNeXt-T's first-stage MLP hidden of 8 images is 38.5 MB, above the 32 MB L3,
 * and at batch 8 those products ran at 120-160 GFLOP/s against ~250 at batch 1. Run group by group,
 *
 *   x ─▶ LayerNorm ─▶ FusedGemm(gelu) ─▶ FusedGemm(+x) ─▶ …      all over rows [0, R)
 *
 * becomes, for each group g of R/G rows, every node of the run over rows [g·R/G, (g+1)·R/G): what one
 * node writes the next reads while it is still in cache, and a tensor that only the run reads holds one
 * group's rows (the same ones for every group). The run's weights are read once per group, so runs whose
 * weights would not stay in cache across the groups are left whole. */
#include <stdlib.h>

#include "plan.h"

/* A run whose widest tensor has more bytes than this (vitc_target_options.row_group_bytes, by default)
 * runs in groups: its tensors would no longer stay in L3 (32 MB here, shared) from node to node. Batch 1
 * of Swin-T and ConvNeXt-T (MLP hidden 4.8 MB) stays whole: in groups of rows it ran no faster. */
#define WHOLE_BYTES (16u << 20)
/* A run's constants at most this many bytes, read again for each group (from L2 or L3). */
#define RUN_WEIGHT_BYTES (2u << 20)
/* Rows per group at least: a product over fewer wastes its tiles and the pool's hand-over. */
#define MIN_GROUP_ROWS 64

bool vitc_tensor_is_constant(const vitc_graph *g, int t) { return g->tensors[t].producer < 0 && g->tensors[t].v.data; }

static int64_t rows_of(const vitc_value *v) {
  return v->rank && v->dims[v->rank - 1] ? vitc_numel(v) / v->dims[v->rank - 1] : 0;
}

/* The rows node i maps to rows (0 when it is not such a node): a ROWWISE op along its last axis with one
 * output, whose every input is a tensor of those rows or a constant every row shares (a product's matrix,
 * else a row vector). *weights gets its constants' bytes. */
static int64_t row_local_rows(const vitc_graph *g, int i, size_t *weights) {
  const vitc_node *n = &g->nodes[i];
  if (n->dead || !vitc_op_has(n->op, VITC_OPF_ROWWISE) || vitc_op_has(n->op, VITC_OPF_FLAT_ROWS) || n->nin < 1 ||
      n->out[0] < 0 || vitc_view_base(g, i) >= 0 || vitc_attr_int(n, "transA", 0))
    return 0;
  for (int k = 1; k < n->nout; k++)
    if (n->out[k] >= 0) return 0;
  const vitc_value *y = &g->tensors[n->out[0]].v;
  int64_t axis = vitc_attr_int(n, "axis", -1), rows = rows_of(y);
  if (y->data || y->rank < 2 || (axis != -1 && axis != y->rank - 1) || rows < 2) return 0;
  *weights = 0;
  for (int k = 0; k < n->nin; k++) {
    int t = n->in[k];
    if (t < 0) continue;
    const vitc_value *v = &g->tensors[t].v;
    if (!vitc_tensor_is_constant(g, t)) {
      if (v->rank < 1 || rows_of(v) != rows) return 0;
      continue;
    }
    *weights += vitc_nbytes(v);
    if (k == 1 && vitc_op_has(n->op, VITC_OPF_PRODUCT)) {
      if (v->rank != 2) return 0;
      continue;
    }
    if (k == 0 || rows_of(v) > 1) return 0; /* a row operand, or a constant that differs by row */
  }
  return rows;
}

/* The widest row (bytes) among node i's tensors that are not constants. */
static size_t row_bytes(const vitc_graph *g, int i) {
  const vitc_node *n = &g->nodes[i];
  size_t widest = 0;
  for (int k = 0; k < n->nin + n->nout; k++) {
    int t = k < n->nin ? n->in[k] : n->out[k - n->nin];
    if (t < 0 || vitc_tensor_is_constant(g, t)) continue;
    const vitc_value *v = &g->tensors[t].v;
    size_t bytes = vitc_nbytes(v) / (size_t)rows_of(v);
    if (bytes > widest) widest = bytes;
  }
  return widest;
}

/* The fewest groups dividing `rows` whose widest tensor has at most a quarter of `whole` bytes (Swin-T at
 * batch 8, one thread, CPU time summed over its nodes: 40.4 ms an image whole, 38.9-39.5 in groups of
 * 1 MB, 38.6-39.3 of 4 MB); 1 when the run fits `whole` or no such groups exist. */
static int64_t group_count(int64_t rows, size_t widest_row, size_t whole) {
  if ((size_t)rows * widest_row <= whole) return 1;
  for (int64_t gcount = 2; rows / gcount >= MIN_GROUP_ROWS; gcount++)
    if (rows % gcount == 0 && (size_t)(rows / gcount) * widest_row <= whole / 4) return gcount;
  return 1;
}

vitc_status vitc_plan_row_groups(const vitc_graph *g, size_t whole_bytes, vitc_row_groups *rg, vitc_error *err) {
  size_t whole = whole_bytes ? whole_bytes : WHOLE_BYTES;
  rg->first = malloc(sizeof *rg->first * ((size_t)g->nnodes + 1));
  rg->last = malloc(sizeof *rg->last * ((size_t)g->nnodes + 1));
  rg->groups = malloc(sizeof *rg->groups * ((size_t)g->nnodes + 1));
  rg->one_group = calloc((size_t)g->ntensors + 1, sizeof *rg->one_group);
  if (!rg->first || !rg->last || !rg->groups || !rg->one_group) {
    vitc_row_groups_free(rg);
    return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory planning row groups", g->path);
  }
  for (int i = 0; i < g->nnodes; i++) rg->first[i] = rg->last[i] = i, rg->groups[i] = 1;
  for (int i = 0; i < g->nnodes;) {
    size_t weights = 0, w;
    int64_t rows = row_local_rows(g, i, &weights);
    int j = i + 1;
    size_t widest = rows ? row_bytes(g, i) : 0;
    while (rows && j < g->nnodes && row_local_rows(g, j, &w) == rows) {
      weights += w;
      size_t bytes = row_bytes(g, j);
      if (bytes > widest) widest = bytes;
      j++;
    }
    int64_t gcount = j - i >= 2 && weights <= RUN_WEIGHT_BYTES ? group_count(rows, widest, whole) : 1;
    for (int k = i; gcount > 1 && k < j; k++) rg->first[k] = i, rg->last[k] = j - 1, rg->groups[k] = gcount;
    i = j;
  }
  /* a tensor made in a run and read only there holds one group's rows */
  for (int t = 0; t < g->ntensors; t++) {
    int p = g->tensors[t].producer;
    rg->one_group[t] = p >= 0 && rg->groups[p] > 1 && vitc_is_scratch_tensor(g, t);
  }
  for (int i = 0; i < g->nnodes; i++)
    for (int k = 0; k < g->nodes[i].nin; k++) {
      int t = g->nodes[i].in[k];
      if (t >= 0 && rg->one_group[t] && rg->first[i] != rg->first[g->tensors[t].producer]) rg->one_group[t] = false;
    }
  return VITC_OK;
}

void vitc_row_groups_free(vitc_row_groups *rg) {
  free(rg->first);
  free(rg->last);
  free(rg->groups);
  free(rg->one_group);
  *rg = (vitc_row_groups){0};
}
