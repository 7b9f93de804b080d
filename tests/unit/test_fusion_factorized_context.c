/* test_fusion_factorized_context.c — fuse_factorized_context on tiny graphs shaped as CoaT's factorized
 * attention is when the pass runs (softmax of k over the tokens, transposed, times v), the near misses
 * that must stay; then vitc.FactorizedContext's kernel against the evaluator on awkward sizes at 1 and 3
 * threads; then fuse_factorized_attention on the whole attention as the export leaves it around the
 * FactorizedContext (head split, class token, V as an image, head merge), and its near misses. */
#include "fusion_harness.h"

enum { HEADS = 3, TOKENS = 11, DK = 5, DV = 4 };

enum {
  FC_COAT,          /* Softmax {axis = 2}, Transpose {perm = [0, 1, 3, 2]}, MatMul(·, v) */
  FC_NEGATIVE_AXIS, /* Softmax {axis = -2} */
  FC_MISS_AXIS,     /* softmax over the channels (the last axis) */
  FC_MISS_PERM,     /* the Transpose swaps the heads and the tokens instead */
  FC_MISS_READER,   /* the softmax is read twice */
  FC_MISS_BROADCAST, /* v [T, DV] shared by the heads (MatMul broadcasts) */
};

static int transpose(test_graph *t, int x, const int64_t *perm) {
  vitc_attr pa = {.name = "perm", .type = VITC_ATTR_INTS, .n = 4, .ints = (int64_t *)perm};
  return tg_node(t, VITC_OP_Transpose, &x, 1, 1, &pa, 1);
}

static void build(test_graph *t, int variant) {
  static const int64_t last_two[] = {0, 1, 3, 2}, heads_tokens[] = {0, 2, 1, 3};
  const int64_t kd[] = {1, HEADS, TOKENS, DK}, vd[] = {1, HEADS, TOKENS, DV}, vshared[] = {TOKENS, DV},
                vtokens[] = {1, TOKENS, DK, DV}; /* [1, T, H, DK] · [1, T, DK, DV] when the heads and tokens swap */
  int k = tg_input(t, VITC_F32, 4, kd);
  int v = variant == FC_MISS_BROADCAST ? tg_input(t, VITC_F32, 2, vshared)
          : variant == FC_MISS_PERM    ? tg_input(t, VITC_F32, 4, vtokens)
                                       : tg_input(t, VITC_F32, 4, vd);
  int axis = variant == FC_NEGATIVE_AXIS ? -2 : variant == FC_MISS_AXIS ? 3 : 2;
  vitc_attr sa = {.name = "axis", .type = VITC_ATTR_INT, .i = axis};
  int p = tg_node(t, VITC_OP_Softmax, &k, 1, 1, &sa, 1);
  int y = fh_op(t, VITC_OP_MatMul, transpose(t, p, variant == FC_MISS_PERM ? heads_tokens : last_two), v);
  tg_output(t, y);
  if (variant == FC_MISS_READER) tg_output(t, p);
}

static void test_pass(void) {
  const fh_count fused[] = {{VITC_OP_FactorizedContext, 1}, {VITC_OP_Softmax, 0}, {VITC_OP_Transpose, 0},
                            {VITC_OP_MatMul, 0}};
  vitc_graph_free(fh_check("CoaT's softmax of k, transposed, times v", build, FC_COAT, vitc_fuse_factorized_context, fused, 4));
  vitc_graph_free(fh_check("softmax axis -2", build, FC_NEGATIVE_AXIS, vitc_fuse_factorized_context, fused, 4));
  const fh_count kept[] = {{VITC_OP_FactorizedContext, 0}, {VITC_OP_Softmax, 1}, {VITC_OP_MatMul, 1}};
  vitc_graph_free(fh_check("softmax over the channels", build, FC_MISS_AXIS, vitc_fuse_factorized_context, kept, 3));
  vitc_graph_free(fh_check("heads and tokens swapped", build, FC_MISS_PERM, vitc_fuse_factorized_context, kept, 3));
  vitc_graph_free(fh_check("softmax read twice", build, FC_MISS_READER, vitc_fuse_factorized_context, kept, 3));
  vitc_graph_free(fh_check("v broadcast over the heads", build, FC_MISS_BROADCAST, vitc_fuse_factorized_context, kept, 3));
}

static void check_kernel(int64_t batch, int64_t tokens, int64_t dk, int64_t dv, int nthreads) {
  test_graph t = tg_new();
  const int64_t kd[] = {batch, tokens, dk}, vd[] = {batch, tokens, dv};
  int in[2] = {tg_input(&t, VITC_F32, 3, kd), tg_input(&t, VITC_F32, 3, vd)};
  tg_output(&t, tg_node(&t, VITC_OP_FactorizedContext, in, 2, 1, NULL, 0));
  char what[96];
  snprintf(what, sizeof what, "FactorizedContext B %lld N %lld D %lld E %lld, %d threads", (long long)batch,
           (long long)tokens, (long long)dk, (long long)dv, nthreads);
  tg_check(&t, what, nthreads, 1e-5, 1e-6);
}

static void test_kernel(void) {
  for (int threads = 1; threads <= 3; threads += 2) {
    check_kernel(2, 13, 3, 5, threads);
    check_kernel(1, 1, 1, 1, threads);    /* one token: every weight 1 */
    check_kernel(3, 197, 7, 9, threads);  /* across the pool */
    check_kernel(5, 4, 6, 2, threads);    /* more channels than tokens */
    check_kernel(2, 37, 4, 20, threads);  /* E: a whole vector and a masked tail */
  }
}

/* The whole attention from qkv [B, N, 3·C] (C = FA_HEADS·FA_D) over an FA_IH × FA_IW image. */
enum { FA_B = 2, FA_HEADS = 2, FA_D = 3, FA_C = FA_HEADS * FA_D, FA_IH = 2, FA_IW = 3 };

enum {
  FA_COAT,         /* a class token (L = 1), the gate Mul(q_img, conv) */
  FA_GATE_SWAPPED, /* Mul(conv, q_img) */
  FA_NO_CLASS,     /* L = 0: no Slice, no Pad */
  FA_MISS_KV,      /* FactorizedContext(v, k): the context of the wrong operands */
  FA_MISS_PAD_END, /* the zero row padded after the image rows, not before */
  FA_MISS_IMAGE,   /* V's image from rows 0 .. N-2 (the class token in, the last pixel out) */
  FA_MISS_GATE_K,  /* the image rows of k gate the conv instead of q's */
  FA_MISS_PADS,    /* the conv padded on one side: shifted, not "same" */
};

/* x[:, :, first : first + FA_IH·FA_IW] */
static int image_rows(test_graph *t, int x, int64_t first) {
  static const int64_t axes[] = {2}, steps[] = {1};
  int64_t starts[] = {first}, ends[] = {first + FA_IH * FA_IW};
  int in[5] = {x, fh_i64s(t, 1, starts), fh_i64s(t, 1, ends), fh_i64s(t, 1, axes), fh_i64s(t, 1, steps)};
  return tg_node(t, VITC_OP_Slice, in, 5, 1, NULL, 0);
}

static void build_attention(test_graph *t, int variant) {
  int64_t lead = variant == FA_NO_CLASS ? 0 : 1, n = lead + FA_IH * FA_IW;
  const int64_t qkvd[] = {FA_B, n, 3 * FA_C}, split5[] = {FA_B, n, 3, FA_HEADS, FA_D}, qkv_perm[] = {2, 0, 3, 1, 4},
                ones[] = {1, 1, 1}, axis0[] = {0}, swap12[] = {0, 2, 1, 3}, wd[] = {3, 3, FA_C}, bd[] = {FA_C},
                img[] = {FA_B, FA_IH, FA_IW, FA_C}, heads_img[] = {FA_B, FA_IH * FA_IW, FA_HEADS, FA_D},
                rows[] = {FA_B, n, FA_C};
  int qkv = tg_input(t, VITC_F32, 3, qkvd);
  int split_in[2] = {fh_permute(t, fh_reshape(t, qkv, 5, split5), 5, qkv_perm), fh_i64s(t, 3, ones)};
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = 0};
  int first = tg_node(t, VITC_OP_Split, split_in, 2, 3, &axis, 1), qkv3[3];
  for (int x = 0; x < 3; x++) qkv3[x] = fh_op(t, VITC_OP_Squeeze, first + x, fh_i64s(t, 1, axis0));
  int q = qkv3[0], k = qkv3[1], v = qkv3[2];
  int ctx = variant == FA_MISS_KV ? fh_op(t, VITC_OP_FactorizedContext, v, k) : fh_op(t, VITC_OP_FactorizedContext, k, v);
  vitc_value sv = {.dtype = VITC_F32, .rank = 0, .data = &(float){0.3f}};
  int att = fh_op(t, VITC_OP_Mul, fh_op(t, VITC_OP_MatMul, q, ctx), vitc_graph_add_constant(t->g, NULL, &sv));

  int v_img = lead ? image_rows(t, v, variant == FA_MISS_IMAGE ? 0 : lead) : v;
  int64_t pads[4] = {1, 1, 1, 1}, shifted[4] = {0, 0, 2, 2}, unit[2] = {1, 1};
  vitc_attr ca[3] = {{.name = "strides", .type = VITC_ATTR_INTS, .n = 2, .ints = unit},
                     {.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = variant == FA_MISS_PADS ? shifted : pads},
                     {.name = "dilations", .type = VITC_ATTR_INTS, .n = 2, .ints = unit}};
  int conv_in[3] = {fh_reshape(t, fh_permute(t, v_img, 4, swap12), 4, img), tg_const(t, VITC_F32, 3, wd, 5), tg_const(t, VITC_F32, 1, bd, 6)};
  int conv = tg_node(t, VITC_OP_DepthwiseConvNHWC, conv_in, 3, 1, ca, 3);
  int conv_heads = fh_permute(t, fh_reshape(t, conv, 4, heads_img), 4, swap12);
  int gate_src = variant == FA_MISS_GATE_K ? k : q, q_img = lead ? image_rows(t, gate_src, lead) : gate_src;
  int crpe = variant == FA_GATE_SWAPPED ? fh_op(t, VITC_OP_Mul, conv_heads, q_img) : fh_op(t, VITC_OP_Mul, q_img, conv_heads);
  if (lead) {
    const int64_t before[] = {0, 0, 1, 0, 0, 0, 0, 0}, after[] = {0, 0, 0, 0, 0, 0, 1, 0};
    int pad_in[2] = {crpe, fh_i64s(t, 8, variant == FA_MISS_PAD_END ? after : before)};
    crpe = tg_node(t, VITC_OP_Pad, pad_in, 2, 1, NULL, 0);
  }
  tg_output(t, fh_reshape(t, fh_permute(t, fh_op(t, VITC_OP_Add, att, crpe), 4, swap12), 3, rows));
}

/* The pass and then the sweep of what it disconnected. */
static vitc_status fuse_attention_and_sweep(vitc_graph *g, vitc_error *err) {
  vitc_status st = vitc_fuse_factorized_attention(g, err);
  return st == VITC_OK ? vitc_eliminate_dead(g, err) : st;
}

static void test_attention_pass(void) {
  const fh_count fused[] = {{VITC_OP_FactorizedAttention, 1}, {VITC_OP_FactorizedContext, 0}, {VITC_OP_Transpose, 0},
                            {VITC_OP_Reshape, 0}, {VITC_OP_Slice, 0}, {VITC_OP_Pad, 0}, {VITC_OP_DepthwiseConvNHWC, 0}};
  vitc_graph_free(fh_check("CoaT's factorized attention with a class token", build_attention, FA_COAT, fuse_attention_and_sweep, fused, 7));
  vitc_graph_free(fh_check("the gate's operands swapped", build_attention, FA_GATE_SWAPPED, fuse_attention_and_sweep, fused, 7));
  vitc_graph_free(fh_check("no class token", build_attention, FA_NO_CLASS, fuse_attention_and_sweep, fused, 7));
  const fh_count kept[] = {{VITC_OP_FactorizedAttention, 0}, {VITC_OP_FactorizedContext, 1}, {VITC_OP_DepthwiseConvNHWC, 1}};
  vitc_graph_free(fh_check("context of v and k", build_attention, FA_MISS_KV, fuse_attention_and_sweep, kept, 3));
  vitc_graph_free(fh_check("class row padded at the end", build_attention, FA_MISS_PAD_END, fuse_attention_and_sweep, kept, 3));
  vitc_graph_free(fh_check("image from the wrong rows", build_attention, FA_MISS_IMAGE, fuse_attention_and_sweep, kept, 3));
  vitc_graph_free(fh_check("k's rows gate the conv", build_attention, FA_MISS_GATE_K, fuse_attention_and_sweep, kept, 3));
  vitc_graph_free(fh_check("conv padded on one side", build_attention, FA_MISS_PADS, fuse_attention_and_sweep, kept, 3));
}

static void check_attention_kernel(int64_t batch, int64_t lead, int64_t ih, int64_t iw, int64_t heads, int64_t d,
                                   int64_t kernel, int nthreads) {
  test_graph t = tg_new();
  int64_t c = heads * d, image[2] = {ih, iw};
  const int64_t qkvd[] = {batch, lead + ih * iw, 3 * c}, wd[] = {kernel, kernel, c}, bd[] = {c};
  int in[3] = {tg_input(&t, VITC_F32, 3, qkvd), tg_const(&t, VITC_F32, 3, wd, 7), tg_const(&t, VITC_F32, 1, bd, 8)};
  vitc_attr at[3] = {{.name = "heads", .type = VITC_ATTR_INT, .i = heads},
                     {.name = "scale", .type = VITC_ATTR_FLOAT, .f = 0.37},
                     {.name = "image", .type = VITC_ATTR_INTS, .n = 2, .ints = image}};
  tg_output(&t, tg_node(&t, VITC_OP_FactorizedAttention, in, 3, 1, at, 3));
  char what[128];
  snprintf(what, sizeof what, "FactorizedAttention B %lld L %lld image %lldx%lld H %lld D %lld K %lld, %d threads",
           (long long)batch, (long long)lead, (long long)ih, (long long)iw, (long long)heads, (long long)d,
           (long long)kernel, nthreads);
  tg_check(&t, what, nthreads, 1e-4, 1e-5);
}

static void test_attention_kernel(void) {
  for (int threads = 1; threads <= 3; threads += 2) {
    check_attention_kernel(2, 1, 3, 4, 2, 5, 3, threads);   /* a class token, D a masked tail */
    check_attention_kernel(1, 0, 5, 3, 3, 4, 5, threads);   /* no class token, taps cut by every edge */
    check_attention_kernel(1, 1, 14, 14, 8, 8, 7, threads); /* CoaT-Lite's last stage: across the pool */
    check_attention_kernel(1, 1, 1, 1, 2, 20, 7, threads);  /* a 1x1 image: only the centre tap; D a vector and a tail */
    check_attention_kernel(3, 2, 2, 5, 1, 3, 1, threads);   /* two leading rows, one head, a 1x1 kernel */
  }
}

int main(void) {
  test_pass();
  test_kernel();
  test_attention_pass();
  test_attention_kernel();
  CHECK_DONE();
}
