/* sink_row_gathers — moves movement chains that only reorder whole rows (Swin's window partition and
 * cyclic shift, its window reverse, roll back and crop) across the row-wise ops between them and an
 * Attention, so that they meet the attention (which can read and write through row maps) and leave the
 * linear layers next to the LayerNorm and the residual Add they belong with.
 *
 * A row-wise op R computes each row of its output (the last axis) from the same row of its operand
 * alone, so it commutes with any gather of rows: R(P x) = P R(x). R is an op ops.def marks ROWWISE whose
 * other inputs are known and the same for every row: a MatMul or FusedGemm without residual (constant
 * weight), a LayerNormalization or Softmax over the last axis, a unary elementwise op, or an elementwise
 * op with a known vector along the last axis (a bias, a LayerScale).
 *
 *   sink (the chain reaches R's operand; R's output goes on, through movement and row-wise ops, to an
 *   Attention — Swin's qkv projection):
 *     %x = chain(%l)                           %p = R(%l, ..)
 *     %y = R(%x, ..)                    ─→     %y = Reshape(Gather(Reshape(%p, [rows(%l), N]), rows), dims(%y))
 *
 *   hoist (the chain reads R's output and nothing else does; R's operand comes, through movement and
 *   row-wise ops, from an Attention — Swin's output projection before the residual Add):
 *     %p = R(%y, ..)                           %g = Reshape(Gather(Reshape(%y, [rows(%y), K]), rows), ..)
 *     %z = chain(%p)                    ─→     %z = R(%g, ..)
 *
 * A chain is the movement-only nodes between a tensor and the non-movement producer found by walking
 * up; vitc_probe_origins says where each element comes from, and the chain qualifies when every output
 * row is one whole row of its base (same width), in an order that is not the identity. A Pad that adds
 * rows (Swin's windows over a map they do not tile) cuts the chain: the part after it sinks and the
 * row-wise op runs on the padded map. Chains that mix channels or rows of other widths stay. Sinks run first, then hoists, each
 * to a fixpoint, so a chain never travels back. The old chain goes when nothing else reads it; the
 * Gather written here is what passes/absorb_attention_layout folds into the attention's row maps, and the
 * residual Add then joins the projection in fuse_gemm_epilogue, which runs after this pass. */
#include <stdlib.h>
#include <string.h>

#include "passes/pattern.h"

enum { MAX_DEPTH = 64, MAX_ROUNDS = 64 };

static bool is_known(const vitc_graph *g, int t) { return t >= 0 && g->tensors[t].v.data; }

static const vitc_value *value(const vitc_graph *g, int t) { return &g->tensors[t].v; }

static int64_t last_dim(const vitc_graph *g, int t) { return value(g, t)->dims[value(g, t)->rank - 1]; }

/* A known value of at most `rank` dims, all 1 but the last, which is 1 or `len`. */
static bool is_row_vector(const vitc_graph *g, int t, int rank, int64_t len) {
  if (!is_known(g, t)) return false;
  const vitc_value *v = value(g, t);
  if (v->rank > rank || (v->rank && v->dims[v->rank - 1] != len && v->dims[v->rank - 1] != 1)) return false;
  for (int d = 0; d + 1 < v->rank; d++)
    if (v->dims[d] != 1) return false;
  return true;
}

/* Whether a ROWWISE node works along its row operand's last axis: its axis attribute names that axis,
 * and it does not read the operand transposed (a Gemm with transA reads columns as rows). */
static bool over_last_axis(const vitc_graph *g, const vitc_node *n) {
  int rank = value(g, n->in[0])->rank;
  int64_t axis = vitc_attr_int(n, "axis", -1);
  return rank >= 1 && (axis == -1 || axis == rank - 1) && !vitc_attr_int(n, "transA", 0);
}

/* Whether input j of row-wise node n is the same for every row of a `rank`-dim operand `width` wide: a
 * known row vector, or a product's known weight matrix. */
static bool shared_by_rows(const vitc_graph *g, const vitc_node *n, int j, int rank, int64_t width) {
  if (n->in[j] < 0) return true;
  if (j == 1 && vitc_op_has(n->op, VITC_OPF_PRODUCT)) return is_known(g, n->in[1]) && value(g, n->in[1])->rank == 2;
  return is_row_vector(g, n->in[j], rank, width);
}

/* The input R acts on row by row, or -1 when n is not row-wise (ops.def's ROWWISE, with every other
 * input shared by all rows; any input of an elementwise op may be the row operand). */
int vitc_match_row_operand(const vitc_graph *g, const vitc_node *n) {
  if (n->dead || n->nout != 1 || n->nin < 1 || n->in[0] < 0 || !g->tensors[n->in[0]].shape_known ||
      !g->tensors[n->out[0]].shape_known)
    return -1;
  if (!vitc_op_has(n->op, VITC_OPF_ROWWISE) || !over_last_axis(g, n)) return -1;
  int min_rank = vitc_op_has(n->op, VITC_OPF_PRODUCT) ? 2 : 1;
  for (int k = 0; k < (vitc_op_has(n->op, VITC_OPF_ELEMWISE) ? n->nin : 1); k++) {
    int x = n->in[k], j = 0;
    if (x < 0 || is_known(g, x) || !g->tensors[x].shape_known || value(g, x)->rank < min_rank) continue;
    /* a shared row vector spans the output's row: a product's bias has its N columns, not its K */
    while (j < n->nin && (j == k || shared_by_rows(g, n, j, value(g, x)->rank, last_dim(g, n->out[0])))) j++;
    if (j == n->nin) return k;
  }
  return -1;
}

/* The inputs of n whose rows line up with its output's, as a bit mask; 0 when n mixes rows: the row
 * operand of a row-wise node, every input of an elementwise node whose inputs all have the output's
 * type, and the row operand and residual (of the output's type) of a FusedGemm or LayerNormResidual. */
unsigned vitc_match_aligned_inputs(const vitc_graph *g, const vitc_node *n) {
  if (n->dead || n->nout != 1 || n->out[0] < 0) return 0;
  int k = vitc_match_row_operand(g, n);
  if (k >= 0) return 1u << k;
  bool all = vitc_op_has(n->op, VITC_OPF_ELEMWISE);
  for (int j = 0; all && j < n->nin; j++)
    all = n->in[j] >= 0 && !is_known(g, n->in[j]) && vitc_match_same_type(g, n->in[j], n->out[0]);
  if (all) return (1u << n->nin) - 1;
  bool residual = n->nin > 3 && n->in[3] >= 0 && vitc_match_same_type(g, n->in[3], n->out[0]);
  switch (n->op) {
  case VITC_OP_FusedGemm: /* a known weight */
    return residual && is_known(g, n->in[1]) ? 1u | 1u << 3 : 0;
  case VITC_OP_LayerNormResidual:
    return residual && vitc_match_same_type(g, n->in[0], n->out[0]) && over_last_axis(g, n) ? 1u | 1u << 3 : 0;
  default:
    return 0;
  }
}

/* Whether input k of n is moved by it (n only moves elements). */
static bool moves(const vitc_graph *g, const vitc_node *n, int k) {
  return !n->dead && (vitc_moved_inputs(g, n) >> k & 1) && n->in[k] >= 0 && !is_known(g, n->in[k]);
}

static const vitc_node *producer(const vitc_graph *g, int t) {
  int p = g->tensors[t].producer;
  return p >= 0 && !g->nodes[p].dead ? &g->nodes[p] : NULL;
}

/* Whether an Attention reads t (downstream) or computed t (upstream) through movement and row-wise ops. */
static bool meets_attention(const vitc_graph *g, int t, bool downstream, int depth) {
  if (depth > MAX_DEPTH) return false;
  if (!downstream) {
    const vitc_node *n = producer(g, t);
    if (!n) return false;
    if (n->op == VITC_OP_Attention) return true;
    int r = vitc_match_row_operand(g, n);
    if (r >= 0) return meets_attention(g, n->in[r], false, depth + 1);
    for (int k = 0; k < n->nin; k++)
      if (moves(g, n, k) && meets_attention(g, n->in[k], false, depth + 1)) return true;
    return false;
  }
  for (int i = 0; i < g->nnodes; i++) {
    const vitc_node *n = &g->nodes[i];
    for (int k = 0; !n->dead && k < n->nin; k++) {
      if (n->in[k] != t) continue;
      if (n->op == VITC_OP_Attention) return true;
      if (!moves(g, n, k) && vitc_match_row_operand(g, n) != k) continue;
      for (int j = 0; j < n->nout; j++)
        if (n->out[j] >= 0 && meets_attention(g, n->out[j], true, depth + 1)) return true;
    }
  }
  return false;
}

/* rows[r] = the row of base that row r of t copies, when t gathers whole rows of base (same width) in
 * an order other than the identity; *rows is NULL otherwise. malloc'd, *nrows its length. The rows are
 * checked on one image when the images move alike (vitc_probe_images), each then repeating image 0's. */
static vitc_status row_gather(const vitc_graph *g, int base, int t, int64_t **rows, int64_t *nrows,
                              vitc_error *err) {
  *rows = NULL;
  const vitc_value *b = value(g, base), *v = value(g, t);
  if (base == t || b->rank < 1 || v->rank < 1 || b->dims[b->rank - 1] != v->dims[v->rank - 1]) return VITC_OK;
  int64_t width = v->dims[v->rank - 1];
  if (width < 1) return VITC_OK;
  vitc_origins o;
  vitc_status st = vitc_probe_images(g, base, t, &o, err);
  if (st != VITC_OK || !o.first) return st;
  int64_t n = vitc_numel(v) / width, *map = malloc(sizeof(int64_t) * (size_t)(n + 1));
  int64_t image_rows = o.block / width, base_rows = o.base_block / width; /* a block's rows, per image */
  bool ok = map && o.block % width == 0 && o.base_block % width == 0, identity = n == vitc_numel(b) / width;
  for (int64_t a = 0; ok && a < o.outer; a++)
    for (int64_t r = 0; ok && r < image_rows; r++) {
      const int64_t *at = o.first + (a * image_rows + r) * width;
      ok = at[0] >= 0 && at[0] % width == 0;
      for (int64_t c = 1; ok && c < width; c++) ok = at[c] == at[0] + c;
      int64_t row = vitc_origin_offset(&o, at[0]) / width;
      for (int64_t i = 0; ok && i < o.batch; i++) {
        int64_t to = (a * o.batch + i) * image_rows + r;
        map[to] = row + i * base_rows;
        identity &= map[to] == to;
      }
    }
  vitc_origins_free(&o);
  if (!map) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory in sink_row_gathers", g->path);
  if (ok && !identity) {
    *rows = map;
    *nrows = n;
  } else {
    free(map);
  }
  return VITC_OK;
}

/* The row gather ending at t from its movement chain's source or, when rows of t come from no row there,
 * from the output of the Pad furthest up the chain from which they all do (Swin's window padding: the
 * chain from the padded map on only reorders its rows, and the row-wise op then runs on the padded map,
 * its padded rows as the windows read them). *rows is NULL when neither gathers rows. Other cuts of the
 * chain stay whole for passes/absorb_partitions (MaxViT's channels-first partitions). */
static vitc_status longest_row_gather(const vitc_graph *g, int t, int *base, int64_t **rows, int64_t *nrows,
                                      vitc_error *err) {
  int chain[64], len = 0;
  for (int up = t; len < 64 && (len == 0 || up != chain[len - 1]); up = vitc_match_movement_step(g, up))
    chain[len++] = up;
  *rows = NULL;
  vitc_status st = VITC_OK;
  for (int c = len - 1; c > 0 && st == VITC_OK && !*rows; c--) {
    const vitc_node *p = producer(g, chain[c]);
    if (c == len - 1 || (p && p->op == VITC_OP_Pad)) st = row_gather(g, *base = chain[c], t, rows, nrows, err);
  }
  return st;
}

/* A new tensor of the given dtype and dims named "<base>.<suffix>"; -1 with err set. */
static int new_tensor(vitc_graph *g, const char *base, const char *suffix, vitc_dtype dtype, int rank,
                      const int64_t *dims, vitc_error *err) {
  char name[512];
  snprintf(name, sizeof name, "%s.%s", base, suffix);
  int t = vitc_graph_add_tensor(g, name);
  if (t < 0) {
    vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory for tensor '%s'", g->path, name);
    return -1;
  }
  g->tensors[t].v = (vitc_value){.dtype = dtype, .rank = rank};
  if (rank) memcpy(g->tensors[t].v.dims, dims, sizeof(int64_t) * (size_t)rank);
  g->tensors[t].shape_known = true;
  return t;
}

static vitc_status add_node(vitc_graph *g, vitc_op op, const char *name, const int *in, int nin, int out,
                            const vitc_attr *attrs, int nattr, vitc_error *err) {
  if (vitc_graph_add_node(g, op, name, in, nin, &out, 1, attrs, nattr) < 0)
    return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory adding %s", g->path, vitc_ops[op].name);
  return VITC_OK;
}

/* out (dims already set) = Reshape(src, dims(out)). */
static vitc_status reshape_to(vitc_rewriter *rw, int src, int out, vitc_error *err) {
  vitc_graph *g = rw->g;
  vitc_value ov = *value(g, out);
  vitc_value out_shape = {.dtype = VITC_I64, .rank = 1, .dims = {ov.rank}, .data = ov.dims};
  int in[2] = {src, vitc_rewrite_constant(rw, g->tensors[out].name, "gathered_shape", &out_shape, err)};
  if (in[1] < 0) return VITC_ERR_NOMEM;
  return add_node(g, VITC_OP_Reshape, g->tensors[out].name, in, 2, out, NULL, 0, err);
}

/* out (dims already set) = Reshape(Gather(Reshape(src, [rows of src, width]), rows), dims(out)). */
static vitc_status gather_rows(vitc_rewriter *rw, int src, const int64_t *rows, int64_t nrows, int out,
                               vitc_error *err) {
  vitc_graph *g = rw->g;
  const char *base = g->tensors[out].name;
  vitc_value sv = *value(g, src);
  int64_t width = sv.dims[sv.rank - 1], flat[2] = {vitc_numel(&sv) / width, width}, picked[2] = {nrows, width};
  vitc_value flat_shape = {.dtype = VITC_I64, .rank = 1, .dims = {2}, .data = flat};
  vitc_value index = {.dtype = VITC_I64, .rank = 1, .dims = {nrows}, .data = (void *)rows};
  int in[2] = {src, vitc_rewrite_constant(rw, base, "row_shape", &flat_shape, err)};
  int idx = vitc_rewrite_constant(rw, base, "row_index", &index, err);
  int by_rows = new_tensor(g, base, "by_rows", sv.dtype, 2, flat, err);
  int gathered = new_tensor(g, base, "gathered", sv.dtype, 2, picked, err);
  if (in[1] < 0 || idx < 0 || by_rows < 0 || gathered < 0) return VITC_ERR_NOMEM;
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = 0};
  vitc_status st = add_node(g, VITC_OP_Reshape, g->tensors[by_rows].name, in, 2, by_rows, NULL, 0, err);
  in[0] = by_rows;
  in[1] = idx;
  if (st == VITC_OK) st = add_node(g, VITC_OP_Gather, g->tensors[gathered].name, in, 2, gathered, &axis, 1, err);
  return st == VITC_OK ? reshape_to(rw, gathered, out, err) : st;
}

/* Node i with `operand` at input k: its inputs into in[] and, from the op's shape rule, the type of its
 * output into *out. False when the rule refuses, or the node has more inputs than in[] holds. */
static bool row_op_with(const vitc_graph *g, int i, int k, int operand, const vitc_value *operand_type, int *in,
                        vitc_value *out) {
  vitc_node n = g->nodes[i];
  const vitc_value *vals[8];
  if (n.nin > 8) return false;
  for (int j = 0; j < n.nin; j++) {
    in[j] = j == k ? operand : n.in[j];
    vals[j] = j == k ? operand_type : in[j] >= 0 ? value(g, in[j]) : NULL;
  }
  n.in = in;
  vitc_error ignored;
  *out = (vitc_value){0};
  return vitc_ops[n.op].shape(&n, vals, out, &ignored) == VITC_OK;
}

static bool same_dims(const vitc_value *a, const vitc_value *b) {
  return a->rank == b->rank && !memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank);
}

static bool is_read(const vitc_graph *g, int t) {
  if (vitc_graph_is_output(g, t)) return true;
  for (int i = 0; i < g->nnodes; i++)
    for (int k = 0; !g->nodes[i].dead && k < g->nodes[i].nin; k++)
      if (g->nodes[i].in[k] == t) return true;
  return false;
}

/* Marks dead the producer of t when nothing reads its outputs, and so on upwards: the chain a sink
 * left behind, which would otherwise count as a second reader of what it reads. */
static void drop_unread(vitc_graph *g, int t) {
  int p = g->tensors[t].producer;
  if (p < 0 || g->nodes[p].dead) return;
  for (int j = 0; j < g->nodes[p].nout; j++)
    if (g->nodes[p].out[j] >= 0 && is_read(g, g->nodes[p].out[j])) return;
  g->nodes[p].dead = true;
  for (int k = 0; k < g->nodes[p].nin; k++)
    if (g->nodes[p].in[k] >= 0 && !is_known(g, g->nodes[p].in[k])) drop_unread(g, g->nodes[p].in[k]);
}

/* Sinks the row gather feeding node i past it, when it qualifies. */
static vitc_status try_sink(vitc_rewriter *rw, int i, vitc_error *err) {
  vitc_graph *g = rw->g;
  const vitc_node *n = &g->nodes[i];
  int k = vitc_match_row_operand(g, n);
  if (k < 0) return VITC_OK;
  int x = n->in[k], y = n->out[0];
  if (vitc_match_movement_source(g, x) == x || !meets_attention(g, y, true, 0)) return VITC_OK;
  int64_t *rows, nrows;
  int base;
  vitc_status st = longest_row_gather(g, x, &base, &rows, &nrows, err);
  if (st != VITC_OK || !rows) return st;
  int in[8], p = -1;
  vitc_value pv;
  if (row_op_with(g, i, k, base, value(g, base), in, &pv) && pv.rank >= 1 &&
      pv.dims[pv.rank - 1] == value(g, y)->dims[value(g, y)->rank - 1]) {
    p = new_tensor(g, g->tensors[y].name, "unordered", pv.dtype, pv.rank, pv.dims, err);
    if (p < 0) st = VITC_ERR_NOMEM;
    else st = add_node(g, g->nodes[i].op, g->nodes[i].name, in, g->nodes[i].nin, p, g->nodes[i].attrs,
                       g->nodes[i].nattr, err);
  }
  if (st == VITC_OK && p >= 0) {
    g->nodes[i].dead = true;
    rw->changed = true;
    st = gather_rows(rw, p, rows, nrows, y, err);
    if (st == VITC_OK) drop_unread(g, x);
  }
  free(rows);
  return st;
}

/* Marks in `chain` the nodes between base and t (movement nodes, through their moved inputs). */
static void mark_chain(const vitc_graph *g, int base, int t, bool *chain) {
  if (t == base) return;
  const vitc_node *n = producer(g, t);
  if (!n || chain[n - g->nodes] || !vitc_moved_inputs(g, n)) return;
  chain[n - g->nodes] = true;
  for (int k = 0; k < n->nin; k++)
    if (moves(g, n, k)) mark_chain(g, base, n->in[k], chain);
}

/* Whether only chain nodes read base and the chain's inner tensors (t, its end, may have any readers). */
static bool chain_is_private(const vitc_graph *g, int base, int t, const bool *chain) {
  if (vitc_graph_is_output(g, base)) return false;
  for (int i = 0; i < g->nnodes; i++) {
    const vitc_node *n = &g->nodes[i];
    if (n->dead || chain[i]) continue;
    for (int k = 0; k < n->nin; k++) {
      int u = n->in[k];
      if (u < 0 || u == t) continue;
      const vitc_node *p = producer(g, u);
      if (u == base || (p && chain[p - g->nodes])) return false;
    }
  }
  for (int o = 0; o < g->noutputs; o++) {
    const vitc_node *p = producer(g, g->outputs[o]);
    if (g->outputs[o] != t && p && chain[p - g->nodes]) return false;
  }
  return true;
}

/* Hoists the row gather that input j of node i reads before the row-wise op computing its base. */
static vitc_status try_hoist(vitc_rewriter *rw, int i, int j, vitc_error *err) {
  vitc_graph *g = rw->g;
  int t = g->nodes[i].in[j];
  if (t < 0 || !producer(g, t) || !vitc_moved_inputs(g, producer(g, t))) return VITC_OK;
  int base = vitc_match_movement_source(g, t);
  const vitc_node *r = producer(g, base);
  int k = r ? vitc_match_row_operand(g, r) : -1;
  if (k < 0 || !meets_attention(g, r->in[k], false, 0)) return VITC_OK;
  int ri = (int)(r - g->nodes), y = r->in[k], nn = g->nnodes;
  bool *chain = calloc((size_t)nn + 1, sizeof *chain);
  if (!chain) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory in sink_row_gathers", g->path);
  mark_chain(g, base, t, chain);
  int64_t *rows = NULL, nrows;
  vitc_status st = chain_is_private(g, base, t, chain) ? row_gather(g, base, t, &rows, &nrows, err) : VITC_OK;
  int in[8];
  const vitc_value *tt = value(g, t);
  vitc_value gv = *tt, tv; /* a row gather: t has rank >= 1 */
  bool fits = false, as_matrix = false;
  if (st == VITC_OK && rows) {
    gv.dtype = value(g, y)->dtype;
    gv.dims[gv.rank - 1] = last_dim(g, y);
    fits = row_op_with(g, ri, k, -1, &gv, in, &tv) && tv.dtype == tt->dtype && same_dims(&tv, tt);
    if (!fits) { /* R takes matrices only (Gemm) */
      gv = (vitc_value){.dtype = gv.dtype, .rank = 2, .dims = {nrows, last_dim(g, y)}};
      as_matrix = fits = row_op_with(g, ri, k, -1, &gv, in, &tv) && tv.dtype == tt->dtype && tv.rank == 2 &&
                         tv.dims[0] == nrows && tv.dims[1] == tt->dims[tt->rank - 1];
    }
  }
  if (fits) {
    int gathered = new_tensor(g, g->tensors[y].name, "rows", gv.dtype, gv.rank, gv.dims, err);
    int out = as_matrix ? new_tensor(g, g->tensors[t].name, "matrix", tv.dtype, 2, tv.dims, err) : t;
    st = gathered < 0 || out < 0 ? VITC_ERR_NOMEM : gather_rows(rw, y, rows, nrows, gathered, err);
    for (int c = 0; st == VITC_OK && c < nn; c++)
      if (chain[c]) g->nodes[c].dead = true;
    g->nodes[ri].dead = true;
    rw->changed = true;
    in[k] = gathered;
    if (st == VITC_OK) st = add_node(g, g->nodes[ri].op, g->nodes[ri].name, in, g->nodes[ri].nin, out,
                                     g->nodes[ri].attrs, g->nodes[ri].nattr, err);
    if (st == VITC_OK && as_matrix) st = reshape_to(rw, out, t, err);
  }
  free(rows);
  free(chain);
  return st;
}

/* *progress (ctx) records whether a node was added. */
static vitc_status visit_sink(vitc_rewriter *rw, int i, void *progress, vitc_error *err) {
  int before = rw->g->nnodes;
  vitc_status st = try_sink(rw, i, err);
  *(bool *)progress |= rw->g->nnodes != before;
  return st;
}

/* Tries every input of a consumer; the nodes a hoist adds are tried in the next round. */
static vitc_status visit_hoist(vitc_rewriter *rw, int i, void *progress, vitc_error *err) {
  vitc_graph *g = rw->g;
  vitc_status st = VITC_OK;
  if (vitc_moved_inputs(g, &g->nodes[i])) return VITC_OK;
  for (int j = 0; st == VITC_OK && !g->nodes[i].dead && j < g->nodes[i].nin; j++) {
    int before = g->nnodes;
    st = try_hoist(rw, i, j, err);
    *(bool *)progress |= g->nnodes != before;
  }
  return st;
}

vitc_status vitc_sink_row_gathers(vitc_graph *g, vitc_error *err) {
  vitc_rewriter rw;
  vitc_status st = vitc_rewriter_begin(&rw, g, "sink_row_gathers", err);
  bool progress = true;
  for (int round = 0; st == VITC_OK && progress && round < MAX_ROUNDS; round++) {
    progress = false;
    st = vitc_rewriter_sweep(&rw, false, visit_sink, &progress, err);
  }
  progress = true;
  for (int round = 0; st == VITC_OK && progress && round < MAX_ROUNDS; round++) {
    progress = false;
    st = vitc_rewriter_sweep(&rw, true, visit_hoist, &progress, err);
  }
  vitc_status end = vitc_rewriter_end(&rw, err);
  return st != VITC_OK ? st : end;
}
