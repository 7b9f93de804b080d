/* test_fusion_attention.c — fuse_attention on tiny graphs: the ways exporters spell scaled dot-product
 * attention, and near misses that must stay. Each case checks the histogram, the evaluator before/after
 * the pass and the JIT of the whole pipeline (fusion_harness.h).
 *
 * Shapes exercise the kernel's edges: Nq = Nk = 21 keys (a full vector of scores and a masked one),
 * D = 20 and Dv = 36 (partial vectors along both head dims), batch dims [2, 3]. The Swin cases read the
 * batch dims as [B*nW, H] with B = 1, nW = 2. Class attention has Nq = 1, spatial-reduction attention
 * Nk = 5 keys for 21 queries; CaiT's talking heads (head mixing around the Softmax) must stay unfused.
 * Channels-first attention (timm's Attention2d) ends with Vᵀ · Transpose(P).
 *
 * Cases absorbing F.normalize (normalize_qk) run checks 1 and 2 of fusion_harness.h only: the backend's
 * normalize_qk kernel is not merged yet, and the JIT refuses the attribute until it is. */
#include "fusion_harness.h"

enum { B = 2, H = 3, NQ = 21, D = 20, DV = 36 };

enum {
  A_TRANSPOSE,      /* MatMul(Q, Transpose(K)) · c, Softmax, ·V: the Transpose is absorbed */
  A_KT_SCALED_Q,    /* Kᵀ given, Div(Q, c) before the product */
  A_REL_BIAS,       /* Div after the product, Add(rel-pos bias [H, N, N] constant) */
  A_MASK_INPUT,     /* Add(mask [B, 1, N, N] graph input), scalar scale on K */
  A_LARGE_D,        /* D = Dv = 160: P·V in two passes of accumulators; no scale */
  A_WINDOW,         /* Swin shifted window: rel-pos bias, Reshape [1, nW, H, N, N], Add(mask), Reshape back */
  A_WINDOW_NO_BIAS, /* the same without the rel-pos bias */
  A_HEAD_SCALE,     /* Swin V2: Mul(per-head scale [H, 1, 1] constant), Add(rel-pos bias) */
  A_HEAD_SCALE_ONLY, /* Mul(per-head scale, scores), no bias: the bias input stays absent */
  A_WINDOW_HEAD_SCALE, /* shifted window with the per-head scale */
  MISS_AXIS,        /* Softmax over axis 2 */
  MISS_SCALE_VECTOR, /* Mul by a [N] constant */
  MISS_SCALE_KEYS,  /* Mul by a [H, 1, N] constant: varies along the key axis */
  MISS_BIAS_AFTER,  /* Add after the Softmax */
  MISS_WINDOW_INPUT, /* window mask a graph input */
  MISS_WINDOW_BIAS_INPUT, /* window mask constant, rel-pos bias a graph input */
  MISS_WINDOW_LAST_DIMS, /* the Reshape to windows regroups the last two dims: [1, nW, H, 7, 63] */
};

static int scalar(test_graph *t, float f) {
  vitc_value v = {.dtype = VITC_F32, .rank = 0, .data = &f};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

/* Swin V2's exp(clamp(logit_scale)) [H, 1, 1], large enough to sharpen the softmax. */
static int head_scale(test_graph *t) {
  float f[H] = {4.5f, 0.7f, 9.0f};
  vitc_value v = {.dtype = VITC_F32, .rank = 3, .dims = {H, 1, 1}, .data = f};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

static int shape(test_graph *t, int rank, const int64_t *dims) {
  vitc_value v = {.dtype = VITC_I64, .rank = 1, .dims = {rank}, .data = (void *)dims};
  return vitc_graph_add_constant(t->g, NULL, &v);
}

/* s [B*nW, H, N, N] → Reshape [1, nW, H, ..] → Add(mask [1, nW, 1, ..]) → Reshape back. */
static int add_window_mask(test_graph *t, int s, int variant) {
  bool last = variant == MISS_WINDOW_LAST_DIMS;
  const int64_t windows[] = {1, B, H, last ? 7 : NQ, last ? 63 : NQ}, mask[] = {1, B, 1, windows[3], windows[4]},
                scores[] = {B, H, NQ, NQ};
  int w = fh_op(t, VITC_OP_Reshape, s, shape(t, 5, windows));
  int m = variant == MISS_WINDOW_INPUT ? tg_input(t, VITC_F32, 5, mask) : tg_const(t, VITC_F32, 5, mask, 7);
  return fh_op(t, VITC_OP_Reshape, fh_op(t, VITC_OP_Add, w, m), shape(t, 4, scores));
}

static void build(test_graph *t, int variant) {
  bool large = variant == A_LARGE_D;
  int64_t d = large ? 160 : D, dv = large ? 160 : DV;
  const int64_t qd[] = {B, H, NQ, d}, kt[] = {B, H, d, NQ}, vd[] = {B, H, NQ, dv}, rel[] = {H, NQ, NQ},
                mask[] = {B, 1, NQ, NQ}, row[] = {NQ}, keys[] = {H, 1, NQ};
  int q = tg_input(t, VITC_F32, 4, qd), k = tg_input(t, VITC_F32, 4, variant == A_KT_SCALED_Q ? kt : qd);
  int v = tg_input(t, VITC_F32, 4, vd);
  if (variant == A_KT_SCALED_Q) q = fh_op(t, VITC_OP_Div, q, scalar(t, 4.47f));
  if (variant == A_MASK_INPUT) k = fh_op(t, VITC_OP_Mul, scalar(t, 0.3f), k);
  if (variant != A_KT_SCALED_Q) {
    static int64_t swap[] = {0, 1, 3, 2}; /* the graph keeps the pointer */
    vitc_attr perm = {.name = "perm", .type = VITC_ATTR_INTS, .n = 4, .ints = swap};
    k = tg_node(t, VITC_OP_Transpose, &k, 1, 1, &perm, 1);
  }
  int s = fh_op(t, VITC_OP_MatMul, q, k);
  bool window = variant == A_WINDOW || variant == A_WINDOW_NO_BIAS || variant == A_WINDOW_HEAD_SCALE ||
                variant >= MISS_WINDOW_INPUT;
  if (variant == A_HEAD_SCALE || variant == A_WINDOW_HEAD_SCALE) s = fh_op(t, VITC_OP_Mul, s, head_scale(t));
  else if (variant == A_HEAD_SCALE_ONLY) s = fh_op(t, VITC_OP_Mul, head_scale(t), s);
  else if (variant == A_TRANSPOSE || variant == MISS_AXIS || variant == MISS_BIAS_AFTER || window)
    s = fh_op(t, VITC_OP_Mul, s, scalar(t, 0.22f));
  if (variant == A_REL_BIAS) s = fh_op(t, VITC_OP_Div, s, scalar(t, 4.47f));
  if (variant == MISS_SCALE_VECTOR) s = fh_op(t, VITC_OP_Mul, s, tg_const(t, VITC_F32, 1, row, 5));
  if (variant == MISS_SCALE_KEYS) s = fh_op(t, VITC_OP_Mul, s, tg_const(t, VITC_F32, 3, keys, 5));
  if (variant == A_REL_BIAS || variant == A_HEAD_SCALE || (window && variant != A_WINDOW_NO_BIAS)) {
    int bias = variant == MISS_WINDOW_BIAS_INPUT ? tg_input(t, VITC_F32, 3, rel) : tg_const(t, VITC_F32, 3, rel, 6);
    s = fh_op(t, VITC_OP_Add, bias, s);
  }
  if (window) s = add_window_mask(t, s, variant);
  if (variant == A_MASK_INPUT) s = fh_op(t, VITC_OP_Add, s, tg_input(t, VITC_F32, 4, mask));
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = variant == MISS_AXIS ? 2 : -1};
  int p = tg_node(t, VITC_OP_Softmax, &s, 1, 1, &axis, 1);
  if (variant == MISS_BIAS_AFTER) p = fh_op(t, VITC_OP_Add, p, tg_const(t, VITC_F32, 3, rel, 6));
  tg_output(t, fh_op(t, VITC_OP_MatMul, p, v));
}

static void test_fuses(void) {
  static const struct {
    const char *what;
    int variant;
    double scale;
    int k_transposed, inputs;
  } cases[] = {
      {"transposed K, scale after", A_TRANSPOSE, 0.22, 0, 3},
      {"Kt input, Q divided", A_KT_SCALED_Q, 1 / 4.47, 1, 3},
      {"relative-position bias", A_REL_BIAS, 1 / 4.47, 0, 4},
      {"mask input, K scaled", A_MASK_INPUT, 0.3, 0, 4},
      {"head dim 160", A_LARGE_D, 1, 0, 3},
      {"shifted window", A_WINDOW, 0.22, 0, 4},
      {"shifted window, no rel-pos bias", A_WINDOW_NO_BIAS, 0.22, 0, 4},
      {"per-head scale, rel-pos bias", A_HEAD_SCALE, 1, 0, 5},
      {"per-head scale, no bias", A_HEAD_SCALE_ONLY, 1, 0, 5},
      {"shifted window, per-head scale", A_WINDOW_HEAD_SCALE, 1, 0, 5},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    const fh_count want[] = {{VITC_OP_Attention, 1}, {VITC_OP_MatMul, 0}, {VITC_OP_Softmax, 0},
                             {VITC_OP_Transpose, 0}, {VITC_OP_Mul, 0},    {VITC_OP_Div, 0},
                             {VITC_OP_Reshape, 0},   {VITC_OP_Add, 0}};
    vitc_graph *g = fh_check(cases[c].what, build, cases[c].variant, vitc_fuse_attention, want, 8);
    const vitc_node *n = fh_find_op(g, VITC_OP_Attention);
    CHECK(n != NULL);
    if (n) {
      CHECK_NEAR(vitc_attr_float(n, "scale", 0), cases[c].scale, 1e-6);
      CHECK(vitc_attr_int(n, "k_transposed", -1) == cases[c].k_transposed);
      CHECK(n->nin == cases[c].inputs);
      if (n->nin == 5) CHECK(g->tensors[n->in[4]].v.rank == 3 && g->tensors[n->in[4]].v.dims[0] == H);
      if (cases[c].variant == A_HEAD_SCALE_ONLY) CHECK(n->in[3] < 0);
    }
    vitc_graph_free(g);
  }
}

static void test_near_misses(void) {
  const fh_count untouched[] = {{VITC_OP_Attention, 0}, {VITC_OP_MatMul, 2}, {VITC_OP_Softmax, 1}};
  vitc_graph_free(fh_check("softmax over axis 2", build, MISS_AXIS, vitc_fuse_attention, untouched, 3));
  vitc_graph_free(fh_check("scale [N]", build, MISS_SCALE_VECTOR, vitc_fuse_attention, untouched, 3));
  vitc_graph_free(fh_check("scale [H, 1, N]", build, MISS_SCALE_KEYS, vitc_fuse_attention, untouched, 3));
  vitc_graph_free(fh_check("bias after softmax", build, MISS_BIAS_AFTER, vitc_fuse_attention, untouched, 3));
  const fh_count window[] = {{VITC_OP_Attention, 0}, {VITC_OP_MatMul, 2}, {VITC_OP_Reshape, 2}, {VITC_OP_Add, 2}};
  vitc_graph_free(fh_check("window mask input", build, MISS_WINDOW_INPUT, vitc_fuse_attention, window, 4));
  vitc_graph_free(fh_check("window, bias input", build, MISS_WINDOW_BIAS_INPUT, vitc_fuse_attention, window, 4));
  vitc_graph_free(fh_check("window regrouping N, N", build, MISS_WINDOW_LAST_DIMS, vitc_fuse_attention, window, 4));
}

/* ---------------------------------------------------------------- Nq != Nk: class and reduced attention */

enum { NK_REDUCED = 5 };
enum { S_CLASS, S_REDUCED, MISS_S_K_BROADCAST, MISS_S_TALKING_HEADS };

/* CaiT's head mixing, proj_l or proj_w: Linear([H, H] + bias) over a head-last view of the scores. */
static int mix_heads(test_graph *t, int s) {
  static int64_t last[] = {0, 2, 3, 1}, back[] = {0, 3, 1, 2};
  const int64_t w[] = {H, H}, b[] = {H};
  vitc_attr perm = {.name = "perm", .type = VITC_ATTR_INTS, .n = 4, .ints = last};
  s = tg_node(t, VITC_OP_Transpose, &s, 1, 1, &perm, 1);
  s = fh_op(t, VITC_OP_MatMul, s, tg_const(t, VITC_F32, 2, w, 8));
  s = fh_op(t, VITC_OP_Add, s, tg_const(t, VITC_F32, 1, b, 9));
  perm.ints = back;
  return tg_node(t, VITC_OP_Transpose, &s, 1, 1, &perm, 1);
}

static void build_sizes(test_graph *t, int variant) {
  int64_t nq = variant == S_CLASS ? 1 : NQ, nk = variant == S_REDUCED ? NK_REDUCED : NQ;
  const int64_t qd[] = {B, H, nq, D}, kd[] = {variant == MISS_S_K_BROADCAST ? 1 : B, H, nk, D}, vd[] = {B, H, nk, DV};
  int q = fh_op(t, VITC_OP_Mul, tg_input(t, VITC_F32, 4, qd), scalar(t, 0.22f));
  int k = tg_input(t, VITC_F32, 4, kd), v = tg_input(t, VITC_F32, 4, vd);
  static int64_t swap[] = {0, 1, 3, 2};
  vitc_attr perm = {.name = "perm", .type = VITC_ATTR_INTS, .n = 4, .ints = swap};
  k = tg_node(t, VITC_OP_Transpose, &k, 1, 1, &perm, 1);
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = -1};
  int s = fh_op(t, VITC_OP_MatMul, q, k);
  if (variant == MISS_S_TALKING_HEADS) s = mix_heads(t, s);
  int p = tg_node(t, VITC_OP_Softmax, &s, 1, 1, &axis, 1);
  if (variant == MISS_S_TALKING_HEADS) p = mix_heads(t, p);
  tg_output(t, fh_op(t, VITC_OP_MatMul, p, v));
}

static void test_sizes(void) {
  const fh_count fused[] = {{VITC_OP_Attention, 1}, {VITC_OP_MatMul, 0}, {VITC_OP_Mul, 0}, {VITC_OP_Transpose, 0}};
  vitc_graph_free(fh_check("class attention, Nq = 1", build_sizes, S_CLASS, vitc_fuse_attention, fused, 4));
  vitc_graph_free(fh_check("reduced keys, Nk = 5", build_sizes, S_REDUCED, vitc_fuse_attention, fused, 4));
  const fh_count untouched[] = {{VITC_OP_Attention, 0}, {VITC_OP_MatMul, 2}, {VITC_OP_Softmax, 1}};
  vitc_graph_free(fh_check("K broadcast over the batch", build_sizes, MISS_S_K_BROADCAST, vitc_fuse_attention,
                           untouched, 3));
  const fh_count talking[] = {{VITC_OP_Attention, 0}, {VITC_OP_MatMul, 4}, {VITC_OP_Softmax, 1}, {VITC_OP_Mul, 1}};
  vitc_graph_free(fh_check("talking heads", build_sizes, MISS_S_TALKING_HEADS, vitc_fuse_attention, talking, 4));
}

/* ---------------------------------------------------------------- F.normalize on Q and K: normalize_qk */

enum {
  N_COSINE,     /* Swin V2: normalised Q, K [B, H, N, D], per-head scale, rel-pos bias */
  N_XCA,        /* XCiT: Q, K, V [B, H, D, N] (attention over D rows), normalised along N, temperature */
  N_NO_EXPAND,  /* Div(x, Clip(ReduceL2(x))) broadcasting without the Expand */
  N_LP,         /* LpNormalization {axis = -1, p = 2} */
  N_SCALED,     /* Mul(normalize(q), c): the scale outside the normalisation */
  MISS_N_EPS,   /* Clip(min = 1e-6) */
  MISS_N_CLIP_MAX, /* Clip with a max */
  MISS_N_AXIS,  /* ReduceL2 over axis -2 */
  MISS_N_Q_ONLY, /* only Q normalised */
  MISS_N_KT,    /* Kᵀ given and normalised along its last axis (K's columns) */
  MISS_N_LP1,   /* LpNormalization with p = 1 */
};

/* F.normalize(x, dim=-1) as torch exports it (or a near miss of it). */
static int l2_normalize(test_graph *t, int x, int variant) {
  const vitc_value *xv = &t->g->tensors[x].v;
  if (variant == N_LP || variant == MISS_N_LP1) {
    vitc_attr a[2] = {{.name = "axis", .type = VITC_ATTR_INT, .i = -1},
                      {.name = "p", .type = VITC_ATTR_INT, .i = variant == N_LP ? 2 : 1}};
    return tg_node(t, VITC_OP_LpNormalization, &x, 1, 1, a, 2);
  }
  const int64_t axes[] = {variant == MISS_N_AXIS ? -2 : -1};
  vitc_value av = {.dtype = VITC_I64, .rank = 1, .dims = {1}, .data = (void *)axes};
  vitc_attr keep = {.name = "keepdims", .type = VITC_ATTR_INT, .i = 1};
  int in[3] = {x, vitc_graph_add_constant(t->g, NULL, &av)};
  int n = tg_node(t, VITC_OP_ReduceL2, in, 2, 1, &keep, 1);
  in[0] = n;
  in[1] = scalar(t, variant == MISS_N_EPS ? 1e-6f : 1e-12f);
  in[2] = scalar(t, 1e6f);
  int c = tg_node(t, VITC_OP_Clip, in, variant == MISS_N_CLIP_MAX ? 3 : 2, 1, NULL, 0);
  if (variant != N_NO_EXPAND) c = fh_op(t, VITC_OP_Expand, c, shape(t, xv->rank, xv->dims));
  return fh_op(t, VITC_OP_Div, x, c);
}

static void build_normalized(test_graph *t, int variant) {
  bool xca = variant == N_XCA, kt = variant == MISS_N_KT;
  const int64_t rows[] = {B, H, NQ, D}, cols[] = {B, H, D, NQ}, vd[] = {B, H, NQ, DV}, xv[] = {B, H, D, DV},
                rel[] = {H, NQ, NQ};
  int q = tg_input(t, VITC_F32, 4, xca ? cols : rows), k = tg_input(t, VITC_F32, 4, xca || kt ? cols : rows);
  int v = tg_input(t, VITC_F32, 4, xca ? xv : vd);
  q = l2_normalize(t, q, variant);
  if (variant == N_SCALED) q = fh_op(t, VITC_OP_Mul, q, scalar(t, 3.0f));
  if (variant != MISS_N_Q_ONLY) k = l2_normalize(t, k, variant);
  if (!kt) {
    static int64_t swap[] = {0, 1, 3, 2};
    vitc_attr perm = {.name = "perm", .type = VITC_ATTR_INTS, .n = 4, .ints = swap};
    k = tg_node(t, VITC_OP_Transpose, &k, 1, 1, &perm, 1);
  }
  int s = fh_op(t, VITC_OP_Mul, fh_op(t, VITC_OP_MatMul, q, k), head_scale(t));
  if (variant == N_COSINE) s = fh_op(t, VITC_OP_Add, s, tg_const(t, VITC_F32, 3, rel, 6));
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = -1};
  int p = tg_node(t, VITC_OP_Softmax, &s, 1, 1, &axis, 1);
  tg_output(t, fh_op(t, VITC_OP_MatMul, p, v));
}

static void test_normalized(void) {
  static const struct {
    const char *what;
    int variant;
    double scale;
  } cases[] = {
      {"cosine attention", N_COSINE, 1},       {"cross-covariance attention", N_XCA, 1},
      {"normalize without Expand", N_NO_EXPAND, 1}, {"LpNormalization", N_LP, 1},
      {"scale after normalize", N_SCALED, 3},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    const fh_count want[] = {{VITC_OP_Attention, 1}, {VITC_OP_ReduceL2, 0}, {VITC_OP_Clip, 0}, {VITC_OP_Expand, 0},
                             {VITC_OP_Div, 0},       {VITC_OP_LpNormalization, 0}, {VITC_OP_Transpose, 0},
                             {VITC_OP_Mul, 0},       {VITC_OP_MatMul, 0}};
    vitc_graph *g = fh_check(cases[c].what, build_normalized, cases[c].variant, vitc_fuse_attention, want, 9);
    const vitc_node *n = fh_find_op(g, VITC_OP_Attention);
    CHECK(n != NULL);
    if (n) {
      CHECK(vitc_attr_int(n, "normalize_qk", 0) == 1);
      CHECK(vitc_attr_int(n, "k_transposed", -1) == 0);
      CHECK_NEAR(vitc_attr_float(n, "scale", 0), cases[c].scale, 1e-6);
      CHECK(n->nin == 5 && g->tensors[n->in[4]].v.dims[0] == H);
    }
    vitc_graph_free(g);
  }
}

/* The attention still fuses, over the normalised tensors: normalize_qk stays 0 and the JIT compiles it. */
static void test_normalized_near_misses(void) {
  static const struct {
    const char *what;
    int variant, kept; /* ReduceL2 or LpNormalization nodes left */
  } cases[] = {
      {"eps 1e-6", MISS_N_EPS, 2},         {"Clip with a max", MISS_N_CLIP_MAX, 2},
      {"ReduceL2 over axis -2", MISS_N_AXIS, 2}, {"Q alone normalised", MISS_N_Q_ONLY, 1},
      {"Kt normalised by columns", MISS_N_KT, 2}, {"LpNormalization p = 1", MISS_N_LP1, 2},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    vitc_op norm = cases[c].variant == MISS_N_LP1 ? VITC_OP_LpNormalization : VITC_OP_ReduceL2;
    const fh_count want[] = {{VITC_OP_Attention, 1}, {norm, cases[c].kept}};
    vitc_graph *g = fh_check(cases[c].what, build_normalized, cases[c].variant, vitc_fuse_attention, want, 2);
    const vitc_node *n = fh_find_op(g, VITC_OP_Attention);
    CHECK(n && vitc_attr_int(n, "normalize_qk", 0) == 0);
    vitc_graph_free(g);
  }
}

/* ---------------------------------------------------------------- channels-first attention */

enum { C_FIRST, MISS_C_PROBS_READ, MISS_C_PERM };

/* timm's Attention2d (CoAtNet rw): q, k, v [B, H, D, N]; MatMul(Transpose(q), k) · c, Softmax, then
 * MatMul(v, Transpose(P)) = Yᵀ [B, H, Dv, N]. */
static void build_channels_first(test_graph *t, int variant) {
  static int64_t swap[] = {0, 1, 3, 2}, heads[] = {1, 0, 2, 3}; /* the graph keeps the pointers */
  const int64_t qd[] = {B, H, D, NQ}, vd[] = {variant == MISS_C_PERM ? H : B, variant == MISS_C_PERM ? B : H, DV, NQ};
  vitc_attr perm = {.name = "perm", .type = VITC_ATTR_INTS, .n = 4, .ints = swap};
  int q = tg_input(t, VITC_F32, 4, qd), k = tg_input(t, VITC_F32, 4, qd), v = tg_input(t, VITC_F32, 4, vd);
  int s = fh_op(t, VITC_OP_Mul, fh_op(t, VITC_OP_MatMul, tg_node(t, VITC_OP_Transpose, &q, 1, 1, &perm, 1), k),
                scalar(t, 0.22f));
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = -1};
  int p = tg_node(t, VITC_OP_Softmax, &s, 1, 1, &axis, 1);
  if (variant == MISS_C_PROBS_READ) tg_output(t, p);
  if (variant == MISS_C_PERM) perm.ints = heads; /* [H, B, N, N]: not Pᵀ */
  tg_output(t, fh_op(t, VITC_OP_MatMul, v, tg_node(t, VITC_OP_Transpose, &p, 1, 1, &perm, 1)));
}

static void test_channels_first(void) {
  /* Q's Transpose stays (Attention reads Q as given), V's and the result's are the rewrite's */
  const fh_count want[] = {{VITC_OP_Attention, 1}, {VITC_OP_MatMul, 0}, {VITC_OP_Softmax, 0}, {VITC_OP_Transpose, 3}};
  vitc_graph *g = fh_check("channels-first", build_channels_first, C_FIRST, vitc_fuse_attention, want, 4);
  const vitc_node *n = fh_find_op(g, VITC_OP_Attention);
  CHECK(n && vitc_attr_int(n, "k_transposed", -1) == 1 && g->tensors[n->in[2]].v.dims[3] == DV);
  CHECK(n && g->tensors[n->out[0]].v.dims[2] == NQ && g->tensors[n->out[0]].v.dims[3] == DV);
  vitc_graph_free(g);
  const fh_count untouched[] = {{VITC_OP_Attention, 0}, {VITC_OP_MatMul, 2}, {VITC_OP_Softmax, 1}};
  vitc_graph_free(fh_check("channels-first, P read", build_channels_first, MISS_C_PROBS_READ, vitc_fuse_attention,
                           untouched, 3));
  vitc_graph_free(fh_check("channels-first, heads swapped", build_channels_first, MISS_C_PERM, vitc_fuse_attention,
                           untouched, 3));
}

int main(void) {
  test_channels_first();
  test_fuses();
  test_near_misses();
  test_sizes();
  test_normalized();
  test_normalized_near_misses();
  CHECK_DONE();
}
