/* lower_einsum — an Einsum of two float32 operands that is a product becomes a MatMul, so the GEMM
 * kernels run it and fuse_attention sees the Q·Kᵀ and P·V of an attention written with einsum (MaxViT):
 *
 *     %s = Einsum(%q, %k) {"bghid,bghjd->bghij"}    ─→   %kt = Transpose(%k) {perm [0,1,2,4,3]}
 *                                                         %s  = MatMul(%q, %kt)
 *     %y = Einsum(%p, %v) {"bghij,bghjd->bghid"}    ─→   %y  = MatMul(%p, %v)
 *
 * Every label must be one of
 *     batch (in A, B and the output)   m (A and output)   n (B and output)   k (A and B, summed)
 * with the same size wherever it appears (no size-1 broadcasting) and at most once per term (no
 * diagonals). A is moved to [batch.., m.., k..] and B to [batch.., k.., n..] (batch, m and n in the
 * output's order, k in A's), the m, k and n labels each merged into one dim; the MatMul's
 * [batch.., M, N] is split back into the m and n labels and moved into the output's order. A Transpose
 * or Reshape is added only where the order or the dims change, so the common forms need none or one. */
#include <stdlib.h>
#include <string.h>

#include "passes/pattern.h"

enum { BATCH, M, N, K };

typedef struct product {
  int rank[4];                /* labels of each class */
  int label[4][VITC_MAX_RANK]; /* batch, m, n in the output's order; k in A's */
  int64_t size[4];            /* product of the sizes of each class's labels */
} product;

static bool is_f32(const vitc_graph *g, int t) {
  return t >= 0 && g->tensors[t].shape_known && g->tensors[t].v.dtype == VITC_F32;
}

static int position(const int *labels, int rank, int l) {
  for (int d = 0; d < rank; d++)
    if (labels[d] == l) return d;
  return -1;
}

/* Classifies the labels of two-operand equation e, whose operands have dims a and b; false when one
 * does not fit the product (header). */
static bool classify(const vitc_einsum *e, const vitc_value *a, const vitc_value *b, product *p) {
  *p = (product){.size = {1, 1, 1, 1}};
  const vitc_value *op[2] = {a, b};
  for (int t = 0; t < 2; t++)
    for (int d = 0; d < e->term_rank[t]; d++) {
      int l = e->term_label[t][d];
      if (op[t]->dims[d] != e->size[l] || position(e->term_label[t], d, l) >= 0) return false;
      bool other = position(e->term_label[1 - t], e->term_rank[1 - t], l) >= 0;
      if (!other && position(e->out_label, e->out_rank, l) < 0) return false; /* summed within one operand */
    }
  for (int d = 0; d < e->out_rank; d++) {
    int l = e->out_label[d];
    bool in_a = position(e->term_label[0], e->term_rank[0], l) >= 0;
    bool in_b = position(e->term_label[1], e->term_rank[1], l) >= 0;
    int c = in_a && in_b ? BATCH : in_a ? M : N;
    p->label[c][p->rank[c]++] = l;
    p->size[c] *= e->size[l];
  }
  for (int d = 0; d < e->term_rank[0]; d++) {
    int l = e->term_label[0][d];
    if (position(e->out_label, e->out_rank, l) < 0) {
      p->label[K][p->rank[K]++] = l;
      p->size[K] *= e->size[l];
    }
  }
  return p->rank[BATCH] + 2 <= VITC_MAX_RANK;
}

typedef struct lowering {
  vitc_rewriter *rw;
  const vitc_einsum *e;
  const product *p;
  const char *base; /* the Einsum's output tensor's name */
  vitc_error *err;
} lowering;

/* The labels of classes c0, c1 (c1 < 0: none) after the batch labels, into out; returns their count. */
static int order(const product *p, int c0, int c1, int *out) {
  int r = 0;
  const int classes[3] = {BATCH, c0, c1};
  for (int i = 0; i < 3; i++)
    for (int j = 0; classes[i] >= 0 && j < p->rank[classes[i]]; j++) out[r++] = p->label[classes[i]][j];
  return r;
}

/* x Transposed so its labels (`from`) come in the order `to`; x itself when they already do. */
static int moved(lowering *lw, int x, const int *from, const int *to, int rank, const char *suffix) {
  int64_t perm[VITC_MAX_RANK];
  bool identity = true;
  vitc_value type = lw->rw->g->tensors[x].v;
  for (int d = 0; d < rank; d++) {
    perm[d] = position(from, rank, to[d]);
    type.dims[d] = lw->e->size[to[d]];
    identity &= perm[d] == d;
  }
  if (identity) return x;
  vitc_attr a = {.name = "perm", .type = VITC_ATTR_INTS, .n = rank, .ints = perm};
  return vitc_rewrite_node(lw->rw, VITC_OP_Transpose, &x, 1, &type, &a, 1, lw->base, suffix, lw->err);
}

/* x Reshaped to dims; x itself when it has them. */
static int reshaped(lowering *lw, int x, int rank, const int64_t *dims, const char *suffix) {
  vitc_value type = lw->rw->g->tensors[x].v;
  if (type.rank == rank && !memcmp(type.dims, dims, sizeof(int64_t) * (size_t)rank)) return x;
  type.rank = rank;
  memcpy(type.dims, dims, sizeof(int64_t) * (size_t)rank);
  char shape_suffix[64];
  snprintf(shape_suffix, sizeof shape_suffix, "%s_shape", suffix);
  vitc_value shape = {.dtype = VITC_I64, .rank = 1, .dims = {rank}, .data = type.dims};
  int in[2] = {x, vitc_rewrite_constant(lw->rw, lw->base, shape_suffix, &shape, lw->err)};
  return in[1] < 0 ? -1 : vitc_rewrite_node(lw->rw, VITC_OP_Reshape, in, 2, &type, NULL, 0, lw->base, suffix, lw->err);
}

/* Operand t (0: A as [batch.., M, K], 1: B as [batch.., K, N]) as the MatMul reads it. */
static int matrix(lowering *lw, int x, int t) {
  const product *p = lw->p;
  int to[VITC_MAX_RANK], r = order(p, t ? K : M, t ? N : K, to);
  x = moved(lw, x, lw->e->term_label[t], to, r, t ? "b_moved" : "a_moved");
  int64_t dims[VITC_MAX_RANK];
  int rank = p->rank[BATCH];
  for (int d = 0; d < rank; d++) dims[d] = lw->e->size[p->label[BATCH][d]];
  dims[rank++] = p->size[t ? K : M];
  dims[rank++] = p->size[t ? N : K];
  return x < 0 ? -1 : reshaped(lw, x, rank, dims, t ? "b_matrix" : "a_matrix");
}

/* Lowers Einsum i (already checked): the last node added writes its output. */
static vitc_status lower(vitc_rewriter *rw, int i, const vitc_einsum *e, const product *p, vitc_error *err) {
  vitc_graph *g = rw->g;
  int y = g->nodes[i].out[0], a = g->nodes[i].in[0], b = g->nodes[i].in[1];
  const char *name = g->nodes[i].name;
  lowering lw = {.rw = rw, .e = e, .p = p, .base = g->tensors[y].name, .err = err};
  g->nodes[i].dead = true;
  int in[2] = {matrix(&lw, a, 0), -1};
  if (in[0] >= 0) in[1] = matrix(&lw, b, 1);
  if (in[1] < 0) return VITC_ERR_NOMEM;
  int labels[VITC_MAX_RANK], rank = order(p, M, N, labels);
  vitc_value type = g->tensors[y].v;
  type.rank = p->rank[BATCH] + 2;
  for (int d = 0; d < p->rank[BATCH]; d++) type.dims[d] = e->size[p->label[BATCH][d]];
  type.dims[type.rank - 2] = p->size[M];
  type.dims[type.rank - 1] = p->size[N];
  int x = vitc_rewrite_node(rw, VITC_OP_MatMul, in, 2, &type, NULL, 0, lw.base, "product", err);
  int64_t dims[VITC_MAX_RANK];
  for (int d = 0; d < rank; d++) dims[d] = e->size[labels[d]];
  if (x >= 0) x = reshaped(&lw, x, rank, dims, "split");
  if (x >= 0) x = moved(&lw, x, labels, e->out_label, rank, "ordered");
  if (x < 0) return VITC_ERR_NOMEM;
  /* The Einsum's output keeps its name and readers: an Identity bridge would be another node, so the
   * last node added takes the output over instead. */
  vitc_node *last = &g->nodes[g->nnodes - 1];
  g->tensors[last->out[0]].producer = -1; /* the tensor it was given stays behind, unused */
  last->out[0] = y;
  last->name = name;
  g->tensors[y].producer = g->nnodes - 1;
  return VITC_OK;
}

static vitc_status visit(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  const vitc_graph *g = rw->g;
  const vitc_node *n = &g->nodes[i];
  if (n->op != VITC_OP_Einsum || n->nin != 2 || !is_f32(g, n->in[0]) || !is_f32(g, n->in[1]) || !is_f32(g, n->out[0]))
    return VITC_OK;
  const vitc_value *in[2] = {&g->tensors[n->in[0]].v, &g->tensors[n->in[1]].v};
  vitc_einsum e;
  vitc_error ignored;
  product p;
  if (vitc_einsum_parse(n, in, &e, &ignored) != VITC_OK || !classify(&e, in[0], in[1], &p)) return VITC_OK;
  return lower(rw, i, &e, &p, err);
}

vitc_status vitc_lower_einsum(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "lower_einsum", false, visit, NULL, err);
}
