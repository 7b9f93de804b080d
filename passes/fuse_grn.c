/* fuse_grn — ConvNeXt V2's global response normalisation, as torch 1.13 exports it at opsets 13 and 17,
 * into one vitc.GRN:
 *
 *     %g = ReduceL2(%x, axes)       %x float32 [N, spatial.., C]; axes exactly the spatial ones, keepdims
 *     %m = ReduceMean(%g, axes')    the channel axis only (-1 or rank-1), keepdims
 *     %e = Add(%m, eps)
 *     %n = Div(%g, %e)
 *     %p = Mul(%x, %n)
 *     %q = Mul(%gamma, %p)
 *     %r = Add(%q, %beta)
 *     %y = Add(%r, %x)              ─→   %y = vitc.GRN(%x, gamma', beta') {epsilon = eps}
 *
 * %gamma and %beta must be known and hold one value per channel, in any shape that broadcasts along the
 * channel axis only (the exported [1, 1, 1, C]); GRN gets [C] copies. Binary ops match in either operand
 * order; every inner tensor is read only inside the pattern (%g twice). The pass runs before
 * fuse_gemm_epilogue, which still fuses the GELU producing %x into its FusedGemm: GRN then reads that.
 *
 * The channels-first form (timm's conv_mlp ConvNeXt V2: %x [N, C, spatial..], the mean over axis 1,
 * %gamma [1, C, 1, 1]) becomes the same GRN between two Transposes,
 *
 *     %y = Transpose(vitc.GRN(Transpose(%x) {perm [0, 2.., 1]}, gamma', beta')) {perm [0, rank-1, 1..]}
 *
 * which to_channels_last, running later, cancels against the layout changes of the trunk around it: the
 * whole block then runs channels-last, where the seven nodes had kept it channels-first. */
#include "passes/pattern.h"

#define GRN_NODES 8

typedef struct grn_match {
  vitc_node *nodes[GRN_NODES];
  int nnodes;
  int x, gamma, beta;
  int channel; /* x's channel axis: rank-1, or 1 channels-first */
  double eps;
} grn_match;

static void take(grn_match *m, vitc_node *n) { m->nodes[m->nnodes++] = n; }

/* Whether reduction r keeps dims and reduces exactly the axes [first, last] of its input. */
static bool reduces_exactly(const vitc_graph *g, const vitc_node *r, int first, int last) {
  int rank = g->tensors[r->in[0]].v.rank, axes = r->nin > 1 ? r->in[1] : -1;
  if (!vitc_attr_int(r, "keepdims", 1) || axes < 0 || !vitc_match_known(g, axes)) return false;
  const vitc_value *a = &g->tensors[axes].v;
  if (vitc_dtype_is_float(a->dtype) || vitc_numel(a) != last - first + 1) return false;
  bool reduced[VITC_MAX_RANK] = {false};
  for (int64_t i = 0; i < vitc_numel(a); i++) {
    int64_t axis = vitc_load_i(a, i);
    if (axis < 0) axis += rank;
    if (axis < first || axis > last || reduced[axis]) return false;
    reduced[axis] = true;
  }
  return true;
}

/* %n = Div(ReduceL2(%x), Add(ReduceMean(ReduceL2(%x)), eps)): the response of each channel of x. */
static bool match_response(const vitc_rewriter *rw, int n, grn_match *m) {
  const vitc_graph *g = rw->g;
  int rank = g->tensors[m->x].v.rank, spatial = m->channel == 1 ? 2 : 1;
  vitc_node *div = vitc_match_inner(rw, n, VITC_OP_Div, 1);
  vitc_node *l2 = div ? vitc_match_inner(rw, div->in[0], VITC_OP_ReduceL2, 2) : NULL;
  vitc_node *add = div ? vitc_match_inner(rw, div->in[1], VITC_OP_Add, 1) : NULL, *mean = NULL;
  if (!l2 || !add || l2->in[0] != m->x || !reduces_exactly(g, l2, spatial, spatial + rank - 3)) return false;
  for (int k = 0; k < 2 && !mean; k++)
    if (vitc_match_scalar_value(g, add->in[1 - k], &m->eps))
      mean = vitc_match_inner(rw, add->in[k], VITC_OP_ReduceMean, 1);
  if (!mean || mean->in[0] != l2->out[0] || !reduces_exactly(g, mean, m->channel, m->channel)) return false;
  if (!vitc_match_same_type(g, add->out[0], mean->out[0])) return false;
  take(m, div);
  take(m, l2);
  take(m, add);
  take(m, mean);
  return true;
}

/* %q = Mul(%gamma, Mul(%x, response)). */
static bool match_scaled(const vitc_rewriter *rw, int q, grn_match *m) {
  vitc_node *mul = vitc_match_inner(rw, q, VITC_OP_Mul, 1);
  for (int k = 0; mul && k < 2; k++) {
    vitc_node *mx = vitc_match_inner(rw, mul->in[k], VITC_OP_Mul, 1);
    int n = mx ? vitc_match_other(mx, m->x) : -1;
    m->nnodes = 0;
    if (n >= 0 && vitc_match_channel_constant(rw->g, mul->in[1 - k], &rw->g->tensors[m->x].v, m->channel) && match_response(rw, n, m)) {
      m->gamma = mul->in[1 - k];
      take(m, mx);
      take(m, mul);
      return true;
    }
  }
  return false;
}

/* The whole pattern ending at the residual Add a, its channels last or first. */
static bool match_grn(const vitc_rewriter *rw, vitc_node *a, grn_match *m) {
  const vitc_graph *g = rw->g;
  for (int k = 0; a->op == VITC_OP_Add && k < 2; k++) {
    m->x = a->in[1 - k];
    const vitc_value *x = &g->tensors[m->x].v;
    vitc_node *bias = vitc_match_inner(rw, a->in[k], VITC_OP_Add, 1);
    if (!bias || x->dtype != VITC_F32 || x->rank < 3 || !vitc_match_same_type(g, m->x, a->out[0])) continue;
    for (int layout = 0; layout < 2; layout++) {
      m->channel = layout ? 1 : x->rank - 1;
      for (int j = 0; j < 2; j++) {
        if (!vitc_match_channel_constant(g, bias->in[1 - j], x, m->channel) || !match_scaled(rw, bias->in[j], m)) continue;
        m->beta = bias->in[1 - j];
        take(m, bias);
        take(m, a);
        return true;
      }
    }
  }
  return false;
}

/* A [C] copy of the known per-channel parameter p. */
static int channel_vector(vitc_rewriter *rw, int p, const char *suffix, vitc_error *err) {
  vitc_value v = rw->g->tensors[p].v;
  v.dims[0] = vitc_numel(&v);
  v.rank = 1;
  return vitc_rewrite_constant(rw, rw->g->tensors[p].name, suffix, &v, err);
}

/* perm moving x's channel axis last (to_last) or back to 1. */
static vitc_attr channel_perm(int rank, bool to_last, int64_t *perm) {
  for (int d = 0; d < rank; d++)
    perm[d] = d == 0 ? 0 : to_last ? (d == rank - 1 ? 1 : d + 1) : (d == 1 ? rank - 1 : d - 1);
  return (vitc_attr){.name = "perm", .type = VITC_ATTR_INTS, .n = rank, .ints = perm};
}

static vitc_status rewrite_grn(vitc_rewriter *rw, grn_match *m, int y, vitc_error *err) {
  int in[3] = {m->x, channel_vector(rw, m->gamma, "grn_gamma", err), -1};
  if (in[1] < 0 || (in[2] = channel_vector(rw, m->beta, "grn_beta", err)) < 0) return err->status;
  vitc_attr eps = {.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = m->eps};
  vitc_value x = rw->g->tensors[m->x].v;
  if (m->channel == x.rank - 1) return vitc_rewrite(rw, m->nodes, m->nnodes, VITC_OP_GRN, in, 3, y, &eps, 1, err);
  int64_t perm[VITC_MAX_RANK];
  vitc_attr to_last = channel_perm(x.rank, true, perm);
  vitc_value last = x;
  for (int d = 0; d < x.rank; d++) last.dims[d] = x.dims[perm[d]];
  const char *base = rw->g->tensors[y].name;
  if ((in[0] = vitc_rewrite_node(rw, VITC_OP_Transpose, &m->x, 1, &last, &to_last, 1, base, "grn_nhwc", err)) < 0 ||
      (in[0] = vitc_rewrite_node(rw, VITC_OP_GRN, in, 3, &last, &eps, 1, base, "grn", err)) < 0)
    return err->status;
  vitc_attr to_first = channel_perm(x.rank, false, perm);
  return vitc_rewrite(rw, m->nodes, m->nnodes, VITC_OP_Transpose, in, 1, y, &to_first, 1, err);
}

static vitc_status visit(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  grn_match m = {0};
  vitc_node *n = &rw->g->nodes[i];
  return match_grn(rw, n, &m) ? rewrite_grn(rw, &m, n->out[0], err) : VITC_OK;
}

vitc_status vitc_fuse_grn(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "fuse_grn", false, visit, NULL, err);
}
