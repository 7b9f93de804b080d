/* test_fusion_swin.c — sink_row_gathers and fuse_patch_merging on tiny Swin blocks (sink_row_gathers
 * also on torchvision's attention at batch 2, whose out-projection rows come in token order), padded
 * windows through the whole pipeline (absorb_row_padding, Ymap's crop), and the vitc.PatchMerging kernel
 * against the evaluator. Each pass case checks the histogram, the evaluator before/after the pass and the
 * JIT of the whole pipeline (fusion_harness.h).
 *
 * The block: x [1, 6, 6, C = 10] → LayerNorm → roll by 1 on H and W (Slice + Concat, as exported) →
 * windows of 3x3 (Reshape, Transpose, Reshape [4, 9, C]) → qkv MatMul + bias → head split (2 heads of 5)
 * → Attention → head merge → proj MatMul + bias → window reverse → roll back → Add(x). Nine tokens per
 * window and head dims of 5 keep every kernel on its masked edges. */
#include "fusion_harness.h"

enum { S = 6, WIN = 3, C = 10, HEADS = 2, NWIN = 4, TOK = 9 };

enum {
  S_SHIFTED,          /* the shifted-window block */
  S_PLAIN,            /* no roll */
  S_POST_NORM,        /* Swin V2: a LayerNorm between the rolled-back output and the residual Add */
  S_SOFTMAX_LAST,     /* a Softmax over the last axis between the windows and the qkv MatMul: both sink */
  MISS_SOFTMAX_AXIS0, /* the same Softmax over axis 0 mixes rows: the input side stays */
  MISS_CHANNELS,      /* the window Transpose also swaps C with a window dim: not a row gather */
  MISS_RESIDUAL_GEMM, /* qkv is a FusedGemm with a residual input: not row-wise */
  S_PADDED,           /* H = 5 padded to 6 before the windows (rows from nowhere), cropped after: the
                       * windows sink past the qkv MatMul, which runs on the padded map */
  MISS_NO_ATTENTION,  /* a roll before a MatMul whose output meets no attention */
  S_ELEMENTWISE,      /* a HardSwish (any unary elementwise op is row-wise) before the qkv MatMul: both sink */
  MISS_ADD_PLANE,     /* an Add of a known [TOK, C] plane, which differs row by row: the input side stays */
  MISS_PAD_VALUE,     /* S_PADDED padding with 0.5: a padded qkv row is no longer the bias, the Pad stays */
  MISS_QKV_READ,      /* S_PADDED with the qkv projection also a graph output: the Pad stays */
};

static int ints(test_graph *t, int n, const int64_t *v) {
  vitc_value x = {.dtype = VITC_I64, .rank = 1, .dims = {n}, .data = (void *)v};
  return vitc_graph_add_constant(t->g, NULL, &x);
}

static int reshape(test_graph *t, int x, int rank, const int64_t *dims) {
  return fh_op(t, VITC_OP_Reshape, x, ints(t, rank, dims));
}

static int transpose(test_graph *t, int x, int rank, int64_t *perm) {
  vitc_attr a = {.name = "perm", .type = VITC_ATTR_INTS, .n = rank, .ints = perm};
  return tg_node(t, VITC_OP_Transpose, &x, 1, 1, &a, 1);
}

static int slice(test_graph *t, int x, int64_t start, int64_t end, int64_t axis, int64_t step) {
  int in[5] = {x, ints(t, 1, &start), ints(t, 1, &end), ints(t, 1, &axis), ints(t, 1, &step)};
  return tg_node(t, VITC_OP_Slice, in, 5, 1, NULL, 0);
}

/* torch.roll(x, shift, axis) as exported: the last `shift` entries first. */
static int roll(test_graph *t, int x, int64_t shift, int64_t axis, int64_t len) {
  int in[2] = {slice(t, x, len - shift, INT64_MAX, axis, 1), slice(t, x, 0, len - shift, axis, 1)};
  vitc_attr a = {.name = "axis", .type = VITC_ATTR_INT, .i = axis};
  return tg_node(t, VITC_OP_Concat, in, 2, 1, &a, 1);
}

static int softmax(test_graph *t, int x, int64_t axis) {
  vitc_attr a = {.name = "axis", .type = VITC_ATTR_INT, .i = axis};
  return tg_node(t, VITC_OP_Softmax, &x, 1, 1, &a, 1);
}

static int layer_norm(test_graph *t, int x, int64_t axis, int rank, const int64_t *pdims) {
  int in[3] = {x, tg_const(t, VITC_F32, rank, pdims, 11), tg_const(t, VITC_F32, rank, pdims, 12)};
  vitc_attr a = {.name = "axis", .type = VITC_ATTR_INT, .i = axis};
  return tg_node(t, VITC_OP_LayerNormalization, in, 3, 1, &a, 1);
}

/* x [1, S, S, C] → [NWIN, TOK, C] (variant MISS_CHANNELS: with C swapped into the window). */
static int partition(test_graph *t, int x, int variant) {
  static int64_t perm[] = {0, 1, 3, 2, 4, 5}, mix[] = {0, 1, 3, 2, 5, 4};
  const int64_t split[] = {1, S / WIN, WIN, S / WIN, WIN, C}, windows[] = {NWIN, TOK, C};
  x = transpose(t, reshape(t, x, 6, split), 6, variant == MISS_CHANNELS ? mix : perm);
  return reshape(t, x, 3, windows);
}

static int reverse(test_graph *t, int x) {
  static int64_t perm[] = {0, 1, 3, 2, 4, 5};
  const int64_t split[] = {1, S / WIN, S / WIN, WIN, WIN, C}, image[] = {1, S, S, C};
  return reshape(t, transpose(t, reshape(t, x, 6, split), 6, perm), 4, image);
}

/* Attention of q, k, v = s[0], s[1], s[2] (Gathers along axis 0 of [3, …]), scale 0.45. */
static int qkv_attention(test_graph *t, int s) {
  int in[3];
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = 0};
  for (int64_t k = 0; k < 3; k++) {
    vitc_value idx = {.dtype = VITC_I64, .rank = 0, .data = &k};
    int gin[2] = {s, vitc_graph_add_constant(t->g, NULL, &idx)};
    in[k] = tg_node(t, VITC_OP_Gather, gin, 2, 1, &axis, 1);
  }
  vitc_attr scale = {.name = "scale", .type = VITC_ATTR_FLOAT, .f = 0.45};
  return tg_node(t, VITC_OP_Attention, in, 3, 1, &scale, 1);
}

/* [NWIN, TOK, 3C] → q, k, v [NWIN, HEADS, TOK, C/HEADS] → Attention → head merge [NWIN, TOK, C]. */
static int attention(test_graph *t, int qkv) {
  static int64_t split_perm[] = {2, 0, 3, 1, 4}, merge_perm[] = {0, 2, 1, 3};
  const int64_t heads[] = {NWIN, TOK, 3, HEADS, C / HEADS}, merged[] = {NWIN, TOK, C};
  int y = qkv_attention(t, transpose(t, reshape(t, qkv, 5, heads), 5, split_perm));
  return reshape(t, transpose(t, y, 4, merge_perm), 3, merged);
}

static int linear(test_graph *t, int x, int64_t k, int64_t n, unsigned seed) {
  const int64_t w[] = {k, n}, b[] = {n};
  return fh_op(t, VITC_OP_Add, fh_op(t, VITC_OP_MatMul, x, tg_const(t, VITC_F32, 2, w, seed)),
               tg_const(t, VITC_F32, 1, b, seed + 1));
}

static void build_no_attention(test_graph *t) {
  const int64_t xd[] = {1, S, S, C}, w[] = {C, 7};
  int x = roll(t, tg_input(t, VITC_F32, 4, xd), 1, 1, S);
  tg_output(t, fh_op(t, VITC_OP_MatMul, x, tg_const(t, VITC_F32, 2, w, 3)));
}

static void build_block(test_graph *t, int variant) {
  if (variant == MISS_NO_ATTENTION) return build_no_attention(t);
  bool padded = variant == S_PADDED || variant == MISS_PAD_VALUE || variant == MISS_QKV_READ;
  int64_t rows = padded ? S - 1 : S;
  const int64_t xd[] = {1, rows, S, C}, cd[] = {C}, pads[] = {0, 0, 0, 0, 0, 1, 0, 0}, rd[] = {NWIN, TOK, 3 * C},
                wd[] = {C, 3 * C}, bd[] = {3 * C};
  int x = tg_input(t, VITC_F32, 4, xd), h = layer_norm(t, x, -1, 1, cd);
  bool shifted = variant != S_PLAIN && !padded;
  if (padded) {
    float half = 0.5f;
    vitc_value value = {.dtype = VITC_F32, .rank = 0, .data = &half};
    int in[3] = {h, ints(t, 8, pads), variant == MISS_PAD_VALUE ? vitc_graph_add_constant(t->g, NULL, &value) : -1};
    h = tg_node(t, VITC_OP_Pad, in, variant == MISS_PAD_VALUE ? 3 : 2, 1, NULL, 0);
  }
  if (shifted) h = roll(t, roll(t, h, S - 1, 1, S), S - 1, 2, S);
  h = partition(t, h, variant);
  if (variant == S_SOFTMAX_LAST) h = softmax(t, h, -1);
  if (variant == MISS_SOFTMAX_AXIS0) h = softmax(t, h, 0);
  if (variant == S_ELEMENTWISE) h = fh_op(t, VITC_OP_HardSwish, h, -1);
  if (variant == MISS_ADD_PLANE) h = fh_op(t, VITC_OP_Add, h, tg_const(t, VITC_F32, 2, (const int64_t[]){TOK, C}, 9));
  int qkv;
  if (variant == MISS_RESIDUAL_GEMM) {
    int in[4] = {h, tg_const(t, VITC_F32, 2, wd, 5), tg_const(t, VITC_F32, 1, bd, 6), tg_input(t, VITC_F32, 3, rd)};
    qkv = tg_node(t, VITC_OP_FusedGemm, in, 4, 1, NULL, 0);
  } else {
    qkv = linear(t, h, C, 3 * C, 5);
  }
  if (variant == MISS_QKV_READ) tg_output(t, qkv);
  int y = reverse(t, linear(t, attention(t, qkv), C, C, 8));
  if (shifted) y = roll(t, roll(t, y, 1, 1, S), 1, 2, S);
  if (padded) y = slice(t, y, 0, S - 1, 1, 1);
  if (variant == S_POST_NORM) y = layer_norm(t, y, -1, 1, cd);
  tg_output(t, fh_op(t, VITC_OP_Add, x, y));
}

/* The pass, then dead code: what the histograms count is what the pipeline keeps. */
static vitc_status sink_and_sweep(vitc_graph *g, vitc_error *err) {
  vitc_status st = vitc_sink_row_gathers(g, err);
  return st ? st : vitc_eliminate_dead(g, err);
}

/* The whole pipeline: the residual Add and both biases join the projections. */
static void check_pipeline(const char *what, int variant) {
  test_graph t = tg_new();
  build_block(&t, variant);
  vitc_error err = {0};
  vitc_pass_options po = {.opt_level = 2, .verify_each = true};
  vitc_status st = vitc_run_passes(t.g, &po, &err);
  if (st) fprintf(stderr, "%s: %s\n", what, err.msg);
  CHECK(st == VITC_OK);
  if (count_op(t.g, VITC_OP_FusedGemm) != 2 || count_op(t.g, VITC_OP_Add) != 0)
    fprintf(stderr, "%s: %d FusedGemm, %d Add after the pipeline\n", what, count_op(t.g, VITC_OP_FusedGemm),
            count_op(t.g, VITC_OP_Add));
  CHECK(count_op(t.g, VITC_OP_FusedGemm) == 2);
  CHECK(count_op(t.g, VITC_OP_Add) == 0);
  CHECK(count_op(t.g, VITC_OP_Slice) == 0 && count_op(t.g, VITC_OP_Concat) == 0);
  tg_free(&t);
}

static void test_sinks(void) {
  /* head split and merge stay; the windows, rolls and their reverse become two row Gathers */
  const fh_count moved[] = {{VITC_OP_Slice, 0},  {VITC_OP_Concat, 0},    {VITC_OP_Gather, 5},
                            {VITC_OP_Transpose, 2}, {VITC_OP_Attention, 1}, {VITC_OP_MatMul, 2}};
  vitc_graph_free(fh_check("shifted windows", build_block, S_SHIFTED, sink_and_sweep, moved, 6));
  vitc_graph_free(fh_check("windows, no shift", build_block, S_PLAIN, sink_and_sweep, moved, 6));
  vitc_graph_free(fh_check("post-norm block", build_block, S_POST_NORM, sink_and_sweep, moved, 6));
  const fh_count softmax_too[] = {{VITC_OP_Slice, 0}, {VITC_OP_Gather, 5}, {VITC_OP_Transpose, 2},
                                  {VITC_OP_Softmax, 1}};
  vitc_graph_free(fh_check("softmax over rows", build_block, S_SOFTMAX_LAST, sink_and_sweep, softmax_too, 4));
  const fh_count hard_swish_too[] = {{VITC_OP_Slice, 0}, {VITC_OP_Gather, 5}, {VITC_OP_Transpose, 2},
                                     {VITC_OP_HardSwish, 1}};
  vitc_graph_free(fh_check("hard swish", build_block, S_ELEMENTWISE, sink_and_sweep, hard_swish_too, 4));
  check_pipeline("shifted windows, pipeline", S_SHIFTED);
  /* the Pad stays; the window Transpose after it sinks past the qkv MatMul as a Gather */
  const fh_count padded[] = {{VITC_OP_Pad, 1}, {VITC_OP_Slice, 0}, {VITC_OP_Gather, 5}, {VITC_OP_Transpose, 2}};
  vitc_graph_free(fh_check("padded windows", build_block, S_PADDED, sink_and_sweep, padded, 4));
  check_pipeline("padded windows, pipeline", S_PADDED);
}

/* The whole pipeline: with a zero Pad the qkv projection runs on the 5 x 6 tokens and the Attention reads
 * the padded rows from its bias (absorb_row_padding) and drops them from Y (absorb_attention_layout's
 * crop); no Pad, Slice or Gather is left. */
static vitc_status all_passes(vitc_graph *g, vitc_error *err) { return vitc_run_passes(g, NULL, err); }

static void test_padding(void) {
  const fh_count none[] = {{VITC_OP_Pad, 0}, {VITC_OP_Slice, 0}, {VITC_OP_Gather, 0}, {VITC_OP_Attention, 1},
                           {VITC_OP_FusedGemm, 2}};
  vitc_graph *g = fh_check("padded windows, all passes", build_block, S_PADDED, all_passes, none, 5);
  const vitc_node *a = fh_find_op(g, VITC_OP_Attention);
  CHECK(a && a->nin == 10 && a->in[9] >= 0 && g->tensors[a->in[9]].v.data);
  vitc_graph_free(g);
  /* the crop still goes into Ymap; the Pad stays in front of the projection */
  const fh_count pad_stays[] = {{VITC_OP_Pad, 1}, {VITC_OP_Slice, 0}, {VITC_OP_Gather, 0}, {VITC_OP_Attention, 1}};
  vitc_graph_free(fh_check("padded with 0.5, all passes", build_block, MISS_PAD_VALUE, all_passes, pad_stays, 4));
  /* the graph output keeps the window order: a row Gather makes it */
  const fh_count read_twice[] = {{VITC_OP_Pad, 1}, {VITC_OP_Slice, 0}, {VITC_OP_Gather, 1}, {VITC_OP_Attention, 1}};
  vitc_graph_free(fh_check("qkv read twice, all passes", build_block, MISS_QKV_READ, all_passes, read_twice, 4));
}

static void test_near_misses(void) {
  /* the input side stays (its rolls and window Transpose), the output side still moves */
  const fh_count input_stays[] = {{VITC_OP_Slice, 4}, {VITC_OP_Concat, 2}, {VITC_OP_Gather, 4},
                                  {VITC_OP_Transpose, 3}};
  vitc_graph_free(fh_check("softmax over axis 0", build_block, MISS_SOFTMAX_AXIS0, sink_and_sweep, input_stays, 4));
  vitc_graph_free(fh_check("channels moved", build_block, MISS_CHANNELS, sink_and_sweep, input_stays, 4));
  vitc_graph_free(fh_check("qkv with residual", build_block, MISS_RESIDUAL_GEMM, sink_and_sweep, input_stays, 4));
  vitc_graph_free(fh_check("add of a plane", build_block, MISS_ADD_PLANE, sink_and_sweep, input_stays, 4));
  const fh_count untouched[] = {{VITC_OP_Slice, 2}, {VITC_OP_Concat, 1}, {VITC_OP_Gather, 0}};
  vitc_graph_free(fh_check("no attention", build_block, MISS_NO_ATTENTION, sink_and_sweep, untouched, 3));
}

/* ---------------------------------------------------------------- torchvision attention at batch 2 */

/* nn.MultiheadAttention as torchvision's ViT exports it, at batch MB: x [MB, TOK, C] → Transpose to
 * [TOK, MB, C] → qkv linear → heads → Attention → [TOK·MB, C] rows in (token, image) order → out-projection
 * Gemm {transB} → Reshape [TOK, MB, C] → Transpose back → Add(x). The Gemm's rows are gathered into image
 * order before it, and the gather meets the Attention's Y map. */
enum { MB = 2 };

enum {
  M_GEMM,             /* the out-projection hoists across the reorder */
  MISS_GEMM_TRANS_A,  /* the Gemm reads A transposed (TOK·MB = C keeps it square): it stays */
  MISS_GEMM_BIAS_ROWS /* a bias [TOK·MB, C] that differs row by row: it stays */
};

static void build_mha(test_graph *t, int variant) {
  static int64_t to_tokens[] = {1, 0, 2}, split_perm[] = {2, 1, 3, 0, 4}, merge_perm[] = {2, 0, 1, 3};
  const int64_t xd[] = {MB, C / MB, C}, heads[] = {C / MB, MB, 3, HEADS, C / HEADS}, rows[] = {C, C},
                wd[] = {C, C}, bd[] = {C}, tokens[] = {C / MB, MB, C};
  int x = tg_input(t, VITC_F32, 3, xd);
  int qkv = linear(t, transpose(t, x, 3, to_tokens), C, 3 * C, 5);
  int y = qkv_attention(t, transpose(t, reshape(t, qkv, 5, heads), 5, split_perm));
  y = reshape(t, transpose(t, y, 4, merge_perm), 2, rows);
  vitc_attr attrs[2] = {{.name = "transB", .type = VITC_ATTR_INT, .i = 1},
                        {.name = "transA", .type = VITC_ATTR_INT, .i = variant == MISS_GEMM_TRANS_A}};
  int gin[3] = {y, tg_const(t, VITC_F32, 2, wd, 8),
                variant == MISS_GEMM_BIAS_ROWS ? tg_const(t, VITC_F32, 2, rows, 9) : tg_const(t, VITC_F32, 1, bd, 9)};
  y = transpose(t, reshape(t, tg_node(t, VITC_OP_Gemm, gin, 3, 1, attrs, 2), 3, tokens), 3, to_tokens);
  tg_output(t, fh_op(t, VITC_OP_Add, x, y));
}

static void test_mha(void) {
  /* the Gemm reads a row Gather of the head merge; its output only changes shape on the way to the Add */
  const fh_count hoisted[] = {{VITC_OP_Gemm, 1}, {VITC_OP_Gather, 5}, {VITC_OP_Transpose, 2}};
  vitc_graph_free(fh_check("attention at batch 2", build_mha, M_GEMM, sink_and_sweep, hoisted, 3));
  const fh_count stays[] = {{VITC_OP_Gemm, 1}, {VITC_OP_Gather, 4}, {VITC_OP_Transpose, 3}};
  vitc_graph_free(fh_check("gemm with transA", build_mha, MISS_GEMM_TRANS_A, sink_and_sweep, stays, 3));
  vitc_graph_free(fh_check("gemm with a bias per row", build_mha, MISS_GEMM_BIAS_ROWS, sink_and_sweep, stays, 3));
  /* the whole pipeline: both projections FusedGemm, the residual in the second, no movement left */
  test_graph t = tg_new();
  build_mha(&t, M_GEMM);
  vitc_error err = {0};
  vitc_pass_options po = {.opt_level = 2, .verify_each = true};
  vitc_status st = vitc_run_passes(t.g, &po, &err);
  if (st) fprintf(stderr, "attention at batch 2, pipeline: %s\n", err.msg);
  CHECK(st == VITC_OK);
  const vitc_node *n = fh_find_op(t.g, VITC_OP_Gemm);
  if (n || count_op(t.g, VITC_OP_Add) || count_op(t.g, VITC_OP_Transpose) || count_op(t.g, VITC_OP_Gather))
    fprintf(stderr, "attention at batch 2, pipeline: %d Gemm, %d Add, %d Transpose, %d Gather left\n",
            count_op(t.g, VITC_OP_Gemm), count_op(t.g, VITC_OP_Add), count_op(t.g, VITC_OP_Transpose),
            count_op(t.g, VITC_OP_Gather));
  CHECK(count_op(t.g, VITC_OP_FusedGemm) == 2 && !n && count_op(t.g, VITC_OP_Add) == 0);
  CHECK(count_op(t.g, VITC_OP_Transpose) == 0 && count_op(t.g, VITC_OP_Gather) == 0);
  tg_free(&t);
}

/* ---------------------------------------------------------------- patch merging */

enum { PB = 2, PH = 6, PW = 4, PC = 5, PN = 10 };

enum {
  P_V1,         /* Pad by nothing, four strided Slice pairs, Concat, LayerNorm, MatMul (torchvision V1) */
  P_V2,         /* Concat, MatMul, LayerNorm over N (V2: the LayerNorm after the reduction) */
  P_BIAS,       /* V1 with a bias Add after the MatMul */
  P_V2_BIAS,    /* V2 with a bias Add between the MatMul and the LayerNorm */
  MISS_ORDER,   /* Concat(x0, x2, x1, x3) */
  MISS_STEP,    /* x0 = x[0:3, 0::2]: step 1 along H */
  MISS_LN_AXIS, /* LayerNorm over the last two axes */
  MISS_V2_AXIS, /* V2 with its LayerNorm over the last two axes: only the gather and MatMul fuse */
  MISS_V2_READ, /* V2 with the MatMul's output also a graph output: only the gather and MatMul fuse */
  P_TIMM,       /* V2 from tokens: image view, reshape [B, H/2, 2, W/2, 2, C], permute (0, 1, 3, 4, 2, 5),
                   flatten (timm) */
  MISS_TIMM_ORDER, /* the same permuted (0, 1, 3, 2, 4, 5): the neighbours in another order */
};

static void build_merge(test_graph *t, int variant) {
  const int64_t xd[] = {PB, PH, PW, PC}, pads[8] = {0}, wd[] = {4 * PC, PN}, nd[] = {PN}, cd[] = {4 * PC},
                wide[] = {PW / 2, 4 * PC}, wide_n[] = {PW / 2, PN};
  bool v2 = variant == P_V2 || variant == P_V2_BIAS || variant == MISS_V2_AXIS || variant == MISS_V2_READ;
  if (variant == P_TIMM || variant == MISS_TIMM_ORDER) {
    static int64_t timm[] = {0, 1, 3, 4, 2, 5}, other[] = {0, 1, 3, 2, 4, 5};
    const int64_t tokens[] = {PB, PH * PW, PC}, split[] = {PB, PH / 2, 2, PW / 2, 2, PC},
                  merged[] = {PB, PH / 2, PW / 2, 4 * PC};
    int image = reshape(t, tg_input(t, VITC_F32, 3, tokens), 4, xd);
    int m = transpose(t, reshape(t, image, 6, split), 6, variant == P_TIMM ? timm : other);
    int y = fh_op(t, VITC_OP_MatMul, reshape(t, m, 4, merged), tg_const(t, VITC_F32, 2, wd, 21));
    tg_output(t, layer_norm(t, y, -1, 1, nd));
    return;
  }
  int x = fh_op(t, VITC_OP_Pad, tg_input(t, VITC_F32, 4, xd), ints(t, 8, pads));
  int even = slice(t, x, 0, INT64_MAX, 1, 2), odd = slice(t, x, 1, INT64_MAX, 1, 2);
  if (variant == MISS_STEP) even = slice(t, x, 0, PH / 2, 1, 1);
  int q[4] = {slice(t, even, 0, INT64_MAX, 2, 2), slice(t, odd, 0, INT64_MAX, 2, 2),
              slice(t, even, 1, INT64_MAX, 2, 2), slice(t, odd, 1, INT64_MAX, 2, 2)};
  if (variant == MISS_ORDER) {
    int swap = q[1];
    q[1] = q[2];
    q[2] = swap;
  }
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = -1};
  int m = tg_node(t, VITC_OP_Concat, q, 4, 1, &axis, 1);
  if (variant == MISS_LN_AXIS) m = layer_norm(t, m, -2, 2, wide);
  else if (!v2) m = layer_norm(t, m, -1, 1, cd);
  int y = fh_op(t, VITC_OP_MatMul, m, tg_const(t, VITC_F32, 2, wd, 21));
  if (variant == P_BIAS || variant == P_V2_BIAS) y = fh_op(t, VITC_OP_Add, y, tg_const(t, VITC_F32, 1, nd, 22));
  if (variant == MISS_V2_READ) tg_output(t, y);
  if (v2) y = variant == MISS_V2_AXIS ? layer_norm(t, y, -2, 2, wide_n) : layer_norm(t, y, -1, 1, nd);
  tg_output(t, y);
}

static vitc_status merge_and_sweep(vitc_graph *g, vitc_error *err) {
  vitc_status st = vitc_fuse_patch_merging(g, err);
  return st ? st : vitc_eliminate_dead(g, err);
}

static void test_patch_merging(void) {
  const fh_count fused[] = {{VITC_OP_PatchMerging, 1}, {VITC_OP_Slice, 0}, {VITC_OP_Concat, 0},
                            {VITC_OP_MatMul, 0},       {VITC_OP_Add, 0},   {VITC_OP_LayerNormalization, 0}};
  vitc_graph *g = fh_check("patch merging V1", build_merge, P_V1, merge_and_sweep, fused, 6);
  const vitc_node *n = fh_find_op(g, VITC_OP_PatchMerging);
  CHECK(n && n->nin == 4 && g->tensors[n->in[0]].v.rank == 4 && g->tensors[n->in[0]].v.dims[1] == PH);
  vitc_graph_free(g);
  g = fh_check("patch merging with bias", build_merge, P_BIAS, merge_and_sweep, fused, 6);
  n = fh_find_op(g, VITC_OP_PatchMerging);
  CHECK(n && n->nin == 5 && n->in[4] >= 0);
  vitc_graph_free(g);
  g = fh_check("patch merging V2", build_merge, P_V2, merge_and_sweep, fused, 6);
  n = fh_find_op(g, VITC_OP_PatchMerging);
  CHECK(n && n->nin == 4 && vitc_attr_int(n, "norm_after", 0) == 1 && g->tensors[n->in[2]].v.dims[0] == PN);
  vitc_graph_free(g);
  g = fh_check("patch merging V2 with bias", build_merge, P_V2_BIAS, merge_and_sweep, fused, 6);
  n = fh_find_op(g, VITC_OP_PatchMerging);
  CHECK(n && n->nin == 5 && n->in[4] >= 0 && vitc_attr_int(n, "norm_after", 0) == 1);
  vitc_graph_free(g);
  /* the LayerNorm stays after a PatchMerging without one */
  const fh_count norm_stays[] = {{VITC_OP_PatchMerging, 1}, {VITC_OP_MatMul, 0}, {VITC_OP_LayerNormalization, 1}};
  const char *misses[] = {"V2, LayerNorm over two axes", "V2, product read twice"};
  for (int k = 0; k < 2; k++) {
    g = fh_check(misses[k], build_merge, k ? MISS_V2_READ : MISS_V2_AXIS, merge_and_sweep, norm_stays, 3);
    n = fh_find_op(g, VITC_OP_PatchMerging);
    CHECK(n && n->nin == 2 && vitc_attr_int(n, "norm_after", 0) == 0);
    vitc_graph_free(g);
  }
  const fh_count stays[] = {{VITC_OP_PatchMerging, 0}, {VITC_OP_Concat, 1}, {VITC_OP_MatMul, 1}};
  vitc_graph_free(fh_check("neighbours out of order", build_merge, MISS_ORDER, merge_and_sweep, stays, 3));
  vitc_graph_free(fh_check("step 1 along H", build_merge, MISS_STEP, merge_and_sweep, stays, 3));
  vitc_graph_free(fh_check("LayerNorm over two axes", build_merge, MISS_LN_AXIS, merge_and_sweep, stays, 3));

  const fh_count timm[] = {{VITC_OP_PatchMerging, 1}, {VITC_OP_Transpose, 0}, {VITC_OP_Reshape, 1},
                           {VITC_OP_MatMul, 0},       {VITC_OP_LayerNormalization, 0}};
  g = fh_check("patch merging, timm's views", build_merge, P_TIMM, merge_and_sweep, timm, 5);
  n = fh_find_op(g, VITC_OP_PatchMerging);
  CHECK(n && vitc_attr_int(n, "norm_after", 0) == 1 && g->tensors[n->in[0]].v.rank == 4 &&
        g->tensors[n->in[0]].v.dims[1] == PH);
  vitc_graph_free(g);
  const fh_count timm_stays[] = {{VITC_OP_PatchMerging, 0}, {VITC_OP_Transpose, 1}, {VITC_OP_MatMul, 1}};
  vitc_graph_free(fh_check("timm's views, other order", build_merge, MISS_TIMM_ORDER, merge_and_sweep, timm_stays, 3));
}

enum { NO_NORM, NORM_BEFORE, NORM_AFTER };

/* The kernel alone: X [lead.., H, W, C] with or without the LayerNorm (before or after the reduction) and
 * the bias, on one thread and on three (the merged rows are one buffer in the node's work space, filled by
 * all tasks). With bf16, in BF16 precision against the evaluator rounding the same merged rows and weight
 * (tg_check_bf16): X and Y pass through tg_same_values, so that the product is neither on the input nor
 * computing the output (ir/precision.c). */
static void check_kernel(const char *what, int rank, const int64_t *xd, int64_t n, int norm, bool bias, bool bf16) {
  for (int nthreads = 1; nthreads <= 3; nthreads += 2) {
    test_graph t = tg_new();
    int64_t c4 = 4 * xd[rank - 1];
    const int64_t wd[] = {c4, n}, cd[] = {norm == NORM_AFTER ? n : c4}, nd[] = {n};
    int x = tg_input(&t, VITC_F32, rank, xd);
    int in[5] = {bf16 ? tg_same_values(&t, x) : x, tg_const(&t, VITC_F32, 2, wd, 31), -1, -1, -1};
    if (norm) {
      in[2] = tg_const(&t, VITC_F32, 1, cd, 32);
      in[3] = tg_const(&t, VITC_F32, 1, cd, 33);
    }
    if (bias) in[4] = tg_const(&t, VITC_F32, 1, nd, 34);
    int nin = bias ? 5 : norm ? 4 : 2;
    vitc_attr attrs[2] = {{.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = 1e-5},
                          {.name = "norm_after", .type = VITC_ATTR_INT, .i = norm == NORM_AFTER}};
    int y = tg_node(&t, VITC_OP_PatchMerging, in, nin, 1, attrs, 2);
    tg_output(&t, bf16 ? tg_same_values(&t, y) : y);
    if (bf16) tg_check_bf16(&t, what, nthreads, 1e-4, 1e-5);
    else tg_check(&t, what, nthreads, 1e-4, 1e-5);
  }
}

static void test_kernel(void) {
  const int64_t small[] = {PB, PH, PW, PC}, lead[] = {2, 3, 2, 6, 7}, slabs[] = {1, 6, 10926, 64};
  check_kernel("kernel, LayerNorm", 4, small, PN, NORM_BEFORE, false, false);
  check_kernel("kernel, bias only", 4, small, 3, NO_NORM, true, false);
  check_kernel("kernel, two leading dims, both", 5, lead, 50, NORM_BEFORE, true, false);
  check_kernel("kernel, a full slab and a tail", 4, slabs, 8, NORM_BEFORE, false, false); /* 16389 rows of 256 */
  check_kernel("kernel, LayerNorm after", 4, small, 7, NORM_AFTER, false, false);
  check_kernel("kernel, LayerNorm after, two leading dims, bias", 5, lead, 50, NORM_AFTER, true, false);
  check_kernel("kernel, LayerNorm after, a full slab and a tail", 4, slabs, 37, NORM_AFTER, true, false);
  /* The LayerNorm before the product on few rows only: the kernel's LayerNorm (float32 vectors) and the
   * evaluator's (double) may differ in a value's last bit, which a value next to a bfloat16 rounding
   * boundary turns into a bfloat16 step (25 of the 4.2M merged values of the slab case). The slabs are
   * checked on rows the kernel copies from X, with the LayerNorm after the product and without one. */
  check_kernel("bf16 kernel, LayerNorm", 4, small, PN, NORM_BEFORE, false, true);
  check_kernel("bf16 kernel, bias only", 4, small, 3, NO_NORM, true, true);
  check_kernel("bf16 kernel, two leading dims, both", 5, lead, 50, NORM_BEFORE, true, true);
  check_kernel("bf16 kernel, a full slab and a tail, bias", 4, slabs, 8, NO_NORM, true, true);
  check_kernel("bf16 kernel, LayerNorm after, two leading dims, bias", 5, lead, 50, NORM_AFTER, true, true);
  check_kernel("bf16 kernel, LayerNorm after, a full slab and a tail", 4, slabs, 37, NORM_AFTER, true, true);
}

int main(void) {
  test_padding();
  test_sinks();
  test_near_misses();
  test_mha();
  test_patch_merging();
  test_kernel();
  CHECK_DONE();
}
