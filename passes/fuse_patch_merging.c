/* fuse_patch_merging — Swin's patch merging (torchvision PatchMerging / PatchMergingV2) becomes one
 * vitc.PatchMerging:
 *
 *   %x0..%x3 = movement of %x [.., H, W, C]       Pad (by nothing), Slice x[.., 0::2, 0::2, :],
 *                                                 x[.., 1::2, 0::2, :], x[.., 0::2, 1::2, :], x[.., 1::2, 1::2, :]
 *   %m = Concat(%x0, %x1, %x2, %x3) {axis -1}     [.., H/2, W/2, 4C]
 *   %n = LayerNormalization(%m, γ, β) {axis -1}   Swin V1, γ and β known [4C]
 *   %y = MatMul(%n, Wr)                           Wr known [4C, N] (the reduction, a Linear without bias)
 *   %z = Add(%y, b)                               optional, b known [N]
 *                                 ─→  %z = PatchMerging(%x, Wr, γ, β, b) {epsilon}
 *
 * Swin V2 normalises after the reduction instead:
 *
 *   %y = MatMul(%m, Wr)   %z = Add(%y, b) (optional)
 *   %o = LayerNormalization(%z, γ, β) {axis -1}   γ and β known [N]
 *                                 ─→  %o = PatchMerging(%x, Wr, γ, β, b) {epsilon, norm_after 1}
 *
 * timm gathers the neighbourhoods with views instead of slices (x.reshape(B, H/2, 2, W/2, 2, C)
 * .permute(0, 1, 3, 4, 2, 5).flatten(3)): %m is then the end of a movement chain, read from the furthest
 * tensor up it with the image's dims.
 *
 * What the merged tensor holds is checked element by element with vitc_probe_origins, not from the Slices'
 * spelling: every element must be the one of %x torchvision's order puts there (so a wrong order or step,
 * or a pad that adds elements, does not match). Inner tensors must be read once. Runs before
 * fuse_gemm_epilogue, which would otherwise take the MatMul and its bias; tries the longest tail first
 * (a LayerNorm after, then a bias Add, then the MatMul alone), so that no shorter match takes a part. */
#include <stdlib.h>

#include "passes/pattern.h"

typedef struct merge_match {
  vitc_node *nodes[4];
  int nnodes;
  int x, w, gamma, beta, bias, out;
  double eps;
  bool norm_after;
} merge_match;

enum { TAIL_NORM, TAIL_BIAS, TAIL_MATMUL, TAILS };

static bool is_f32(const vitc_graph *g, int t) { return t >= 0 && g->tensors[t].v.dtype == VITC_F32; }

static bool over_last_axis(const vitc_node *n, int rank) {
  int64_t axis = vitc_attr_int(n, "axis", -1);
  return axis == -1 || axis == rank - 1;
}

/* A known float32 vector [len] (an absent optional input passes). */
static bool is_vector_or_absent(const vitc_graph *g, int t, int64_t len) {
  if (t < 0) return true;
  const vitc_value *v = &g->tensors[t].v;
  return vitc_match_known(g, t) && is_f32(g, t) && v->rank == 1 && v->dims[0] == len;
}

/* Whether m [.., H/2, W/2, 4C] holds the 2x2 neighbourhoods of x [.., H, W, C] in torchvision's order. */
static vitc_status is_merged(const vitc_graph *g, int x, int m, bool *yes, vitc_error *err) {
  const vitc_value *xv = &g->tensors[x].v, *mv = &g->tensors[m].v;
  int r = mv->rank;
  *yes = false;
  if (x == m || xv->rank != r || r < 3 || mv->dims[r - 1] != 4 * xv->dims[r - 1]) return VITC_OK;
  for (int d = 0; d < r - 3; d++)
    if (xv->dims[d] != mv->dims[d]) return VITC_OK;
  int64_t h = xv->dims[r - 3], w = xv->dims[r - 2], c = xv->dims[r - 1];
  if (h != 2 * mv->dims[r - 3] || w != 2 * mv->dims[r - 2]) return VITC_OK;
  vitc_origins o;
  vitc_status st = vitc_probe_images(g, x, m, &o, err);
  if (st != VITC_OK || !o.first) return st;
  /* told per image, with x and m holding their images one after another alike: image 0's elements are
   * checked, image b's being image 0's b images (of whole maps) further in both */
  int64_t n = o.outer * o.block, *whole = NULL;
  if (o.batch > 1 && (o.outer != 1 || o.base_outer != 1 || o.base_block != o.block || o.block % (h * w * c))) {
    st = vitc_origins_whole(&o, &whole, err);
    n = vitc_numel(mv);
  }
  if (st != VITC_OK) {
    vitc_origins_free(&o);
    return st;
  }
  const int64_t *origins = whole ? whole : o.first;
  static const int dy[4] = {0, 1, 0, 1}, dx[4] = {0, 0, 1, 1};
  bool ok = true;
  const int64_t *at = origins; /* element (img, i, j, q, k) of m, in order: no division an element */
  for (int64_t img = 0; ok && img < n / (h * w * c); img++)
    for (int64_t i = 0; ok && i < h / 2; i++)
      for (int64_t j = 0; ok && j < w / 2; j++)
        for (int q = 0; ok && q < 4; q++, at += c) {
          int64_t from = ((img * h + 2 * i + dy[q]) * w + 2 * j + dx[q]) * c;
          for (int64_t k = 0; ok && k < c; k++) ok = at[k] == from + k;
        }
  free(whole);
  vitc_origins_free(&o);
  *yes = ok;
  return VITC_OK;
}

/* Whether ln is a LayerNorm over the last axis with only its first output read and known γ (β) [len]; takes
 * its parameters into mm. */
static bool match_norm(const vitc_graph *g, vitc_node *ln, int64_t len, merge_match *mm) {
  int beta = ln->nin > 2 ? ln->in[2] : -1;
  if (!over_last_axis(ln, g->tensors[ln->in[0]].v.rank) || (ln->nout > 1 && ln->out[1] >= 0) ||
      (ln->nout > 2 && ln->out[2] >= 0) || !is_vector_or_absent(g, ln->in[1], len) ||
      !is_vector_or_absent(g, beta, len))
    return false;
  mm->nodes[mm->nnodes++] = ln;
  mm->gamma = ln->in[1];
  mm->beta = beta;
  mm->eps = vitc_attr_float(ln, "epsilon", 1e-5);
  return true;
}

/* The furthest tensor up the movement chain ending at m [.., H/2, W/2, 4C] whose dims are the image's
 * [.., H, W, C], or -1. */
static int image_above(const vitc_graph *g, int m) {
  const vitc_value *mv = &g->tensors[m].v;
  int r = mv->rank, found = -1;
  for (int t = m, up = vitc_match_movement_step(g, t); up != t; t = up, up = vitc_match_movement_step(g, t)) {
    const vitc_value *v = &g->tensors[up].v;
    bool image = r >= 3 && v->rank == r && v->dims[r - 3] == 2 * mv->dims[r - 3] && v->dims[r - 2] == 2 * mv->dims[r - 2] &&
                 4 * v->dims[r - 1] == mv->dims[r - 1];
    for (int d = 0; image && d < r - 3; d++) image = v->dims[d] == mv->dims[d];
    if (image) found = up;
  }
  return found;
}

/* The chain up from the MatMul computing y: LayerNorm (optional, not with norm_after) and the Concat. */
static bool match_chain(const vitc_rewriter *rw, int y, merge_match *mm) {
  const vitc_graph *g = rw->g;
  vitc_node *mul = vitc_match_op(rw, y, VITC_OP_MatMul);
  if (!mul || !is_f32(g, mul->in[0]) || !is_f32(g, mul->in[1]) || !vitc_match_known(g, mul->in[1])) return false;
  const vitc_value *w = &g->tensors[mul->in[1]].v;
  if (w->rank != 2) return false;
  mm->nodes[mm->nnodes++] = mul;
  mm->w = mul->in[1];
  int m = mul->in[0];
  vitc_node *ln = mm->norm_after ? NULL : vitc_match_inner(rw, m, VITC_OP_LayerNormalization, 1);
  if (ln) {
    if (!match_norm(g, ln, w->dims[0], mm)) return false;
    m = ln->in[0];
  }
  if (!is_f32(g, m) || g->tensors[m].v.dims[g->tensors[m].v.rank - 1] != w->dims[0]) return false;
  vitc_node *cat = vitc_match_inner(rw, m, VITC_OP_Concat, 1);
  if (cat) {
    if (cat->nin != 4 || !over_last_axis(cat, g->tensors[m].v.rank)) return false;
    mm->x = vitc_match_movement_source(g, cat->in[0]);
  } else { /* timm's reshape, permute, flatten */
    int p = g->tensors[m].producer;
    if (p < 0 || vitc_match_movement_step(g, m) == m || !vitc_match_inner(rw, m, g->nodes[p].op, 1)) return false;
    cat = &g->nodes[p];
    mm->x = image_above(g, m);
  }
  mm->nodes[mm->nnodes++] = cat;
  return is_f32(g, mm->x);
}

/* When add is an Add of a known bias to a MatMul's output read only there: that output, else -1. */
static int match_bias(const vitc_rewriter *rw, vitc_node *add, merge_match *mm) {
  if (!add || add->op != VITC_OP_Add) return -1;
  for (int k = 0; k < 2; k++)
    if (vitc_match_inner(rw, add->in[k], VITC_OP_MatMul, 1) && vitc_match_known(rw->g, add->in[1 - k])) {
      mm->bias = add->in[1 - k];
      mm->nodes[mm->nnodes++] = add;
      return add->in[k];
    }
  return -1;
}

/* The MatMul output the tail ending at node n starts from (taking the tail's nodes into mm), or -1. */
static int match_tail(const vitc_rewriter *rw, vitc_node *n, int tail, merge_match *mm) {
  if (tail == TAIL_MATMUL) return n->op == VITC_OP_MatMul ? n->out[0] : -1;
  if (tail == TAIL_BIAS) return match_bias(rw, n, mm);
  if (n->op != VITC_OP_LayerNormalization) return -1;
  const vitc_value *z = &rw->g->tensors[n->in[0]].v;
  if (z->rank < 1 || !match_norm(rw->g, n, z->dims[z->rank - 1], mm)) return -1;
  mm->norm_after = true;
  if (vitc_match_inner(rw, n->in[0], VITC_OP_MatMul, 1)) return n->in[0];
  return match_bias(rw, vitc_match_inner(rw, n->in[0], VITC_OP_Add, 1), mm);
}

/* Tries the pattern ending at node i with the tail *ctx. */
static vitc_status try_fuse(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  vitc_graph *g = rw->g;
  vitc_node *n = &g->nodes[i];
  int tail = *(const int *)ctx;
  merge_match mm = {.gamma = -1, .beta = -1, .bias = -1, .out = n->out[0], .eps = 1e-5};
  int y = match_tail(rw, n, tail, &mm);
  if (y < 0 || !match_chain(rw, y, &mm)) return VITC_OK;
  if (!is_vector_or_absent(g, mm.bias, g->tensors[mm.w].v.dims[1])) return VITC_OK;
  bool merged;
  vitc_status st = is_merged(g, mm.x, mm.nodes[mm.nnodes - 1]->out[0], &merged, err);
  if (st != VITC_OK || !merged) return st;
  int in[5] = {mm.x, mm.w, mm.gamma, mm.beta, mm.bias}, nin = 5;
  while (nin > 2 && in[nin - 1] < 0) nin--;
  vitc_attr attrs[2] = {{.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = mm.eps},
                        {.name = "norm_after", .type = VITC_ATTR_INT, .i = 1}};
  int nattr = mm.gamma < 0 ? 0 : mm.norm_after ? 2 : 1;
  return vitc_rewrite(rw, mm.nodes, mm.nnodes, VITC_OP_PatchMerging, in, nin, mm.out, attrs, nattr, err);
}

vitc_status vitc_fuse_patch_merging(vitc_graph *g, vitc_error *err) {
  vitc_rewriter rw;
  vitc_status st = vitc_rewriter_begin(&rw, g, "fuse_patch_merging", err);
  if (st != VITC_OK) return st;
  for (int tail = 0; st == VITC_OK && tail < TAILS; tail++) st = vitc_rewriter_sweep(&rw, false, try_fuse, &tail, err);
  vitc_status end = vitc_rewriter_end(&rw, err);
  return st != VITC_OK ? st : end;
}
