/* test_fusion_channels_last.c — to_channels_last on tiny graphs: a ConvNeXt stage as exported (patchify
 * stem, LayerNorm2d, a block with its Transposes, LayerScale and residual, the pooled head), ViT's patch
 * embedding, MaxViT's MBConv block (1x1 → GELU → depthwise → GELU → squeeze-excitation → 1x1 → residual,
 * entered from NCHW), the stems before such blocks (3x3 convs with GELU between, also XCiT's, to tokens),
 * MaxViT's pooled shortcut (AveragePool → 1x1 beside a stride-2 block), StarNet's ReLU6 star (Clip with
 * scalar bounds of one channels-last map times another), CAFormer's Pow by 2, PoolFormer's GroupNorm and
 * pool mixer, InceptionNeXt's and FocalNet's channel Splits, CoAtNeXt's depthwise conv with a channel
 * multiplier and its stem's LayerNorm2d, MobileViT's Concat before its fusion conv, and near misses that must stay NCHW. Each case
 * checks the histogram, the evaluator before/after the pass and the JIT of the whole pipeline (fusion_harness.h).
 *
 * C = 20 channels (a vector and a masked tail in the depthwise kernel), spatial dims 9 x 11 (H != W, odd). */
#include "fusion_harness.h"

enum { B = 2, C = 20, H = 9, W = 11, HIDDEN = 24 };

enum {
  S_STAGE,          /* stem Conv 2x2/2 → LayerNormChannels → block → GlobalAveragePool */
  S_BLOCK_OUT,      /* the same stage, its output the block's NCHW residual sum */
  S_DEPTHWISE_READ, /* NCHW x → depthwise Conv → Transpose [0, 2, 3, 1]: the conv moves channels-last */
  S_MUL_ALONG_W,    /* NHWC z → Transpose → Mul(c [1, 1, W]) varying along W: c is permuted too */
  S_POINTWISE,      /* NHWC z → Transpose → 1x1 Conv: a GEMM on z */
  S_VIT_PATCH,      /* ViT: Conv 3x3/3 on NCHW → Reshape [N, C, P] → Transpose [0, 2, 1]: one Reshape */
  MISS_PERM,        /* NCHW x → depthwise Conv → Transpose [0, 3, 2, 1] */
  MISS_PATCH_PADS,  /* Conv 2x2/2 with pads 1 on an NCHW input: stays */
  S_PATCH_STRIDE,   /* NHWC z → Transpose → Conv 2x2 stride 1: PatchConvNHWC on overlapping patches of z */
  MISS_GROUPED,     /* NHWC z → Transpose → Conv 3x3 group 2 (not depthwise) */
  MISS_POINTWISE_NCHW, /* 1x1 Conv of an NCHW input: stays the pointwise Conv */
  MISS_ADD_NCHW,    /* NHWC z → Transpose → Add(graph input in NCHW) */
  S_MBCONV,         /* NCHW x → MBConv, depthwise stride 1, residual Add(x): one Transpose in, one out */
  S_MBCONV_DOWN,    /* the same with a stride-2 depthwise conv and no residual */
  MISS_MB_GROUPED,  /* NCHW x → 1x1 → GELU → 3x3 group 2 (not depthwise): both convs stay */
  MISS_MB_SHARED,   /* NCHW x → 1x1 → GELU (also a graph output) → depthwise: the 1x1 stays NCHW */
  MISS_MB_DW_READ,  /* S_MBCONV_DOWN with the depthwise conv's output also a graph output: its GELU stays */
  S_TOKENS_DW,      /* PVT v2: tokens [B, H·W, C] → Transpose → Reshape [B, C, H, W] → depthwise → back to tokens */
  S_TOKENS_SR,      /* PVT's spatial reduction: the same tokens → Conv 2x2/2 (patchify) → back to tokens:
                       PatchConvNHWC reading the tokens' patches in place */
  MISS_TOKENS_RAW,  /* tokens → Reshape [B, C, H, W] without the Transpose: not the image of the tokens */
  MISS_TOKENS_GROUPED, /* tokens → Transpose → Reshape → Conv 3x3 group 2: the conv stays, and the moves */
  MISS_TOKENS_SHARED,  /* S_TOKENS_DW with the image also a graph output */
  S_TOKENS_PADDED,  /* tokens → Conv 2x2/2 with pads 1 above and left: PatchConvNHWC gathering padded patches */
  S_TOKENS_GELU,    /* S_TOKENS_DW, then GELU on the tokens (PVT v2's MLP): the conv takes the GELU */
  MISS_TOKENS_GELU_READ, /* the same with the tokens before the GELU also a graph output: the GELU stays */
  S_HEADS_DW,       /* CoaT: V [B, heads, H·W, C/heads] → Transpose [0, 1, 3, 2] → Reshape [B, C, H, W] →
                       depthwise → Reshape → Transpose back to heads */
  MISS_HEADS_GROUPED, /* the same with Conv 3x3 group 2: the conv stays, and the moves */
  MISS_HEADS_RAW,   /* V → Reshape [B, C, H, W] without the Transpose: no one Transpose makes it channels-last */
  S_REDUCE_HW,      /* NHWC z → Transpose → ReduceMean [2, 3] keepdims 0 (PVT's head): the mean of z over [1, 2] */
  S_REDUCE_C,       /* the same over C, axis -3 */
  MISS_REDUCE_KEEPDIMS, /* ReduceMean [2, 3] keeping its dims: [B, C, 1, 1] is not z's order */
  MISS_REDUCE_W,    /* ReduceMean [3] keepdims 0: C before H in the result, after it in z */
  S_STEM,           /* NCHW image → 3x3/2 pads 1 → GELU → 3x3 pads 1 → MBConv: the stem's convs run channels-last */
  S_STEM_TOKENS,    /* XCiT: the same stem, its result flattened to tokens: a Reshape of the channels-last result */
  MISS_STEM_GROUPED, /* the stem with its second conv grouped (group 2): nothing gains, both stay */
  MISS_STEM_OUT,    /* the same stem with its GELU also a graph output: the first conv stays, the second goes */
  MISS_POINTWISE_CHAIN, /* NCHW x → 1x1 → GELU → 1x1: a GEMM either way, no copy made for it */
  S_POOLED,         /* MaxViT's downsampling MBConv: AveragePool 3x3/2 pads 1 (counting them) → 1x1 beside the
                       block, summed: the pool is a depthwise conv on the copy the block makes */
  S_POOLED_TILES,   /* the same with a 2x2/2 pool without pads (ceil_mode 1, and no window hangs over) */
  S_POOLED_EXCLUDE_PAD, /* AveragePool with pads not counted: a depthwise conv of ones, times 1 / taps inside */
  MISS_POOLED_CEIL, /* AveragePool 2x2/2 with ceil_mode 1 on an odd size: its last window hangs over */
  MISS_POOLED_ALONE, /* AveragePool → 1x1 on an NCHW x nothing else takes channels-last: both stay */
  S_OVERLAP_TOKENS, /* PVT v2's stem: NCHW x → Conv 3x3/2 pads 1 → Reshape [N, C, P] → Transpose [0, 2, 1] */
  MISS_OVERLAP_RAW, /* the same without the Transpose: tokens [N, C, P] are NCHW's order, the conv stays */
  MISS_OVERLAP_SHARED, /* S_OVERLAP_TOKENS with the Reshape's result also a graph output: the conv stays */
  S_CLIP_STAR,      /* StarNet: NHWC a, b → Transpose each → Clip(a', 0, 6) · b': the Clip and Mul run on a, b */
  MISS_CLIP_BOUND_INPUT, /* NHWC z → Transpose → Clip(·, 0, max a graph input): the bound is not known */
  S_POW,            /* CAFormer's StarReLU: NHWC z → Transpose → Pow(·, 2): the Pow runs on z */
  S_POOLFORMER,     /* NCHW image → 3x3/2 stem → GroupNorm(1) as Reshape → InstanceNorm → Reshape, scale, shift →
                       AveragePool 3x3 without its pads − x → residual: all channels-last from the image's copy */
  MISS_POOLFORMER_GROUPS, /* the same with GroupNorm(2): [B, 2, ·] holds channel groups, not the whole image */
  S_SPLIT_BRANCHES, /* InceptionNeXt: NHWC z → Transpose → Split over C → identity / depthwise 3x3 / depthwise
                       3x3 stride 1 → Concat over C */
  S_SPLIT_GATES,    /* FocalNet: NHWC z → Transpose → Split over C into ctx, gates → depthwise(ctx) · Slice(gates, C) */
  S_SLICE_NO_AXES,  /* NHWC z → Transpose → Slice(starts [0, 1], ends [1, C]): dims 0 and 1 without an axes input */
  MISS_SPLIT_NCHW,  /* Split over C of an NCHW input → depthwise → Concat: nothing reads it channels-last */
  MISS_CONCAT_MIXED, /* Concat over C of T(z) and an NCHW input: the Concat stays, T(z) with it */
  S_DW_MULTIPLIER,  /* CoAtNeXt: NHWC z → Transpose → Conv 7x7/2 group C, C → 2C: a depthwise conv of z's
                       channels repeated (Gather) */
  MISS_DW_MULTIPLIER_NCHW, /* the same conv 3x3 on an NCHW input, read NCHW: it stays */
  MISS_ONE_CHANNEL, /* NHWC z of one channel → Transpose → Conv 3x3 group 1, 1 → C: a patch GEMM, no Gather */
  S_NORM_STEM,      /* CoAtNeXt's stem: NCHW image → 3x3/2 → LayerNormChannels → GELU → 3x3: channels-last from the
                       image's copy */
  MISS_NORM_STEM_OUT, /* the same with the norm's result also a graph output: all stays NCHW */
  S_CONCAT_CARRIES, /* MobileViT's fusion: Concat over C of T(z) and 1x1(NCHW x) → 3x3: the 1x1 starts the trunk */
  MISS_CONCAT_CARRIES_NCHW, /* the same with an NCHW graph input in place of T(z): all stays NCHW */
};

static int transpose(test_graph *t, int x, const int64_t *perm) {
  vitc_attr a = {.name = "perm", .type = VITC_ATTR_INTS, .n = 4, .ints = (int64_t *)perm};
  return tg_node(t, VITC_OP_Transpose, &x, 1, 1, &a, 1);
}

static int conv_padded(test_graph *t, int x, int64_t cin, int64_t cout, int64_t k, int64_t stride, const int64_t *pads,
                       int64_t group) {
  int64_t kernel[2] = {k, k}, strides[2] = {stride, stride};
  const int64_t wd[] = {cout, cin / group, k, k}, bd[] = {cout};
  vitc_attr a[4] = {{.name = "kernel_shape", .type = VITC_ATTR_INTS, .n = 2, .ints = kernel},
                    {.name = "strides", .type = VITC_ATTR_INTS, .n = 2, .ints = strides},
                    {.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = (int64_t *)pads},
                    {.name = "group", .type = VITC_ATTR_INT, .i = group}};
  int in[3] = {x, tg_const(t, VITC_F32, 4, wd, 11), tg_const(t, VITC_F32, 1, bd, 12)};
  return tg_node(t, VITC_OP_Conv, in, 3, 1, a, 4);
}

static int conv(test_graph *t, int x, int64_t cin, int64_t cout, int64_t k, int64_t stride, int64_t pad, int64_t group) {
  const int64_t pads[4] = {pad, pad, pad, pad};
  return conv_padded(t, x, cin, cout, k, stride, pads, group);
}

static int linear(test_graph *t, int x, int64_t k, int64_t n, unsigned seed) {
  const int64_t wd[] = {k, n}, bd[] = {n};
  return fh_op(t, VITC_OP_Add, fh_op(t, VITC_OP_MatMul, x, tg_const(t, VITC_F32, 2, wd, seed)),
               tg_const(t, VITC_F32, 1, bd, seed + 1));
}

static int norm(test_graph *t, vitc_op op, int x, unsigned seed) {
  const int64_t cd[] = {C};
  vitc_attr a[2] = {{.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = 1e-6},
                    {.name = "axis", .type = VITC_ATTR_INT, .i = -1}};
  int in[3] = {x, tg_const(t, VITC_F32, 1, cd, seed), tg_const(t, VITC_F32, 1, cd, seed + 1)};
  return tg_node(t, op, in, 3, 1, a, op == VITC_OP_LayerNormalization ? 2 : 1);
}

static const int64_t to_last[] = {0, 2, 3, 1}, to_first[] = {0, 3, 1, 2}, swap_hw[] = {0, 3, 2, 1};

/* ConvNeXt's block on NCHW x as torchvision exports it. */
static int block(test_graph *t, int x) {
  const int64_t ls[] = {C, 1, 1};
  int h = transpose(t, conv(t, x, C, C, 7, 1, 3, C), to_last);
  h = fh_op(t, VITC_OP_Gelu, linear(t, norm(t, VITC_OP_LayerNormalization, h, 21), C, HIDDEN, 23), -1);
  h = transpose(t, linear(t, h, HIDDEN, C, 25), to_first);
  return fh_op(t, VITC_OP_Add, fh_op(t, VITC_OP_Mul, tg_const(t, VITC_F32, 3, ls, 27), h), x);
}

enum { SQUEEZE = 8 };

/* MaxViT's MBConv body on NCHW x (C channels, HIDDEN inside): the output before the residual. */
static int mbconv(test_graph *t, int x, int64_t stride, int variant) {
  int h = fh_op(t, VITC_OP_Gelu, conv(t, x, C, HIDDEN, 1, 1, 0, 1), -1);
  if (variant == MISS_MB_GROUPED) return conv(t, h, HIDDEN, HIDDEN, 3, 1, 1, 2);
  if (variant == MISS_MB_SHARED) tg_output(t, h);
  int d = conv(t, h, HIDDEN, HIDDEN, 3, stride, 1, HIDDEN);
  if (variant == MISS_MB_DW_READ) tg_output(t, d);
  h = fh_op(t, VITC_OP_Gelu, d, -1);
  int s = fh_op(t, VITC_OP_Silu, conv(t, fh_op(t, VITC_OP_GlobalAveragePool, h, -1), HIDDEN, SQUEEZE, 1, 1, 0, 1), -1);
  s = fh_op(t, VITC_OP_Sigmoid, conv(t, s, SQUEEZE, HIDDEN, 1, 1, 0, 1), -1);
  return conv(t, fh_op(t, VITC_OP_Mul, s, h), HIDDEN, C, 1, 1, 0, 1);
}

static int nhwc_input(test_graph *t) {
  const int64_t zd[] = {B, H, W, C};
  return transpose(t, tg_input(t, VITC_F32, 4, zd), to_first);
}

static int reshape(test_graph *t, int x, int rank, const int64_t *dims) {
  vitc_value v = {.dtype = VITC_I64, .rank = 1, .dims = {rank}, .data = (void *)dims};
  return fh_op(t, VITC_OP_Reshape, x, vitc_graph_add_constant(t->g, NULL, &v));
}

static int swap_last(test_graph *t, int x) {
  static const int64_t swap[] = {0, 2, 1};
  vitc_attr a = {.name = "perm", .type = VITC_ATTR_INTS, .n = 3, .ints = (int64_t *)swap};
  return tg_node(t, VITC_OP_Transpose, &x, 1, 1, &a, 1);
}

/* tokens [B, (2)H·(2)W, C] as an image through a conv and back, as PVT v2's MLP and PVT's attention do */
static int tokens_conv(test_graph *t, int variant) {
  int64_t s = variant == S_TOKENS_SR || variant == S_TOKENS_PADDED ? 2 : 1, ih = s * H, iw = s * W;
  const int64_t td[] = {B, ih * iw, C}, image[] = {B, C, ih, iw}, back[] = {B, C, H * W};
  int y = tg_input(t, VITC_F32, 3, td);
  int x = reshape(t, variant == MISS_TOKENS_RAW ? y : swap_last(t, y), 4, image);
  if (variant == MISS_TOKENS_SHARED) tg_output(t, x);
  static const int64_t above_left[4] = {1, 1, 0, 0};
  if (variant == S_TOKENS_SR || variant == S_TOKENS_PADDED)
    x = variant == S_TOKENS_SR ? conv(t, x, C, C, 2, 2, 0, 1) : conv_padded(t, x, C, C, 2, 2, above_left, 1);
  else
    x = conv(t, x, C, C, 3, 1, 1, variant == MISS_TOKENS_GROUPED ? 2 : C);
  x = swap_last(t, reshape(t, x, 3, back));
  if (variant == MISS_TOKENS_GELU_READ) tg_output(t, x);
  return variant >= S_TOKENS_GELU ? fh_op(t, VITC_OP_Gelu, x, -1) : x;
}

/* V split into heads [B, HEADS, H·W, C/HEADS] as an image through a conv and back, as CoaT's
 * convolutional relative position encoding does */
enum { HEADS = 4 };
static int heads_conv(test_graph *t, int variant) {
  static const int64_t swap[] = {0, 1, 3, 2};
  const int64_t vd[] = {B, HEADS, H * W, C / HEADS}, image[] = {B, C, H, W}, back[] = {B, HEADS, C / HEADS, H * W};
  int v = tg_input(t, VITC_F32, 4, vd);
  int x = reshape(t, variant == MISS_HEADS_RAW ? v : transpose(t, v, swap), 4, image);
  x = conv(t, x, C, C, 3, 1, 1, variant == MISS_HEADS_GROUPED ? 2 : C);
  return transpose(t, reshape(t, x, 4, back), swap);
}

/* y = Conv(..) with its weight scaled by 1/sqrt(its K): sums of O(1), which the evaluator's float32 Conv
 * (an sgemm) and the double sums of the channels-last ops agree on to the tolerance. */
static int scaled(test_graph *t, int y) {
  vitc_value *w = &t->g->tensors[t->g->nodes[t->g->tensors[y].producer].in[1]].v;
  int64_t k = vitc_numel(w) / w->dims[0];
  for (int64_t i = 0; i < vitc_numel(w); i++) ((float *)w->data)[i] /= sqrtf((float)k);
  return y;
}

/* MaxViT's and TinyViT's stem on an NCHW image [B, 3, 2H, 2W]: 3x3/2 → GELU → 3x3, C channels at H x W. */
static int stem(test_graph *t, int variant) {
  const int64_t image[] = {B, 3, 2 * H, 2 * W};
  int h = fh_op(t, VITC_OP_Gelu, scaled(t, conv(t, tg_input(t, VITC_F32, 4, image), 3, C, 3, 2, 1, 1)), -1);
  if (variant == MISS_STEM_OUT) tg_output(t, h);
  return scaled(t, conv(t, h, C, C, 3, 1, 1, variant == MISS_STEM_GROUPED ? 2 : 1));
}

/* MaxViT's downsampling MBConv on NCHW x: the block at stride 2 plus its shortcut, AveragePool → 1x1. */
static int pooled_mbconv(test_graph *t, int variant) {
  const int64_t xd[] = {B, C, H, W};
  int64_t k = variant == S_POOLED_TILES || variant == MISS_POOLED_CEIL ? 2 : 3, pad = k == 3;
  int64_t kernel[2] = {k, k}, strides[2] = {2, 2}, pads[4] = {pad, pad, pad, pad};
  vitc_attr a[5] = {{.name = "kernel_shape", .type = VITC_ATTR_INTS, .n = 2, .ints = kernel},
                    {.name = "strides", .type = VITC_ATTR_INTS, .n = 2, .ints = strides},
                    {.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = pads},
                    {.name = "count_include_pad", .type = VITC_ATTR_INT, .i = variant != S_POOLED_EXCLUDE_PAD},
                    {.name = "ceil_mode", .type = VITC_ATTR_INT, .i = k == 2}};
  /* 2x2/2 with ceil_mode: on H + 1 = 10 rows every window lies inside; on H = 9 the last hangs over */
  const int64_t even[] = {B, C, H + 1, W + 1};
  int x = tg_input(t, VITC_F32, 4, variant == S_POOLED_TILES ? even : xd);
  int pooled = conv(t, tg_node(t, VITC_OP_AveragePool, &x, 1, 1, a, 5), C, C, 1, 1, 0, 1);
  if (variant == MISS_POOLED_ALONE) return pooled;
  return fh_op(t, VITC_OP_Add, pooled, mbconv(t, x, 2, variant));
}

/* PoolFormer's stage on an NCHW image [B, 3, 2H, 2W]: its stem, torch's GroupNorm (Reshape → InstanceNorm →
 * Reshape, then the per-channel scale and shift), the pool mixer x + ls·(pool(n) − n). */
static int poolformer(test_graph *t, int variant) {
  const int64_t image[] = {B, 3, 2 * H, 2 * W}, one[] = {1}, cd[] = {C, 1, 1};
  int64_t groups = variant == MISS_POOLFORMER_GROUPS ? 2 : 1, flat[] = {B, groups, C * H * W / groups},
          xd[] = {B, C, H, W}, kernel[2] = {3, 3}, strides[2] = {1, 1}, pads[4] = {1, 1, 1, 1};
  int x = scaled(t, conv(t, tg_input(t, VITC_F32, 4, image), 3, C, 3, 2, 1, 1));
  const int64_t gd[] = {groups};
  vitc_attr eps = {.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = 1e-5};
  int in[3] = {reshape(t, x, 3, flat), tg_const(t, VITC_F32, 1, groups > 1 ? gd : one, 41),
               tg_const(t, VITC_F32, 1, groups > 1 ? gd : one, 42)};
  int n = reshape(t, tg_node(t, VITC_OP_InstanceNormalization, in, 3, 1, &eps, 1), 4, xd);
  n = fh_op(t, VITC_OP_Add, fh_op(t, VITC_OP_Mul, n, tg_const(t, VITC_F32, 3, cd, 43)), tg_const(t, VITC_F32, 3, cd, 44));
  vitc_attr a[3] = {{.name = "kernel_shape", .type = VITC_ATTR_INTS, .n = 2, .ints = kernel},
                    {.name = "strides", .type = VITC_ATTR_INTS, .n = 2, .ints = strides},
                    {.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = pads}};
  int mixed = fh_op(t, VITC_OP_Sub, tg_node(t, VITC_OP_AveragePool, &n, 1, 1, a, 3), n);
  return fh_op(t, VITC_OP_Add, fh_op(t, VITC_OP_Mul, mixed, tg_const(t, VITC_F32, 3, cd, 45)), x);
}

/* Split of x over C into `parts` (sizes C/2, C/4, C/4 or C - 2, 2), each output id the one before + 1. */
static int split_channels(test_graph *t, int x, int parts) {
  const int64_t three[] = {C / 2, C / 4, C / 4}, two[] = {C - 2, 2};
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = 1};
  int in[2] = {x, fh_i64s(t, parts, parts == 3 ? three : two)};
  return tg_node(t, VITC_OP_Split, in, 2, parts, &axis, 1);
}

static int concat_channels(test_graph *t, const int *in, int nin) {
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = -3};
  return tg_node(t, VITC_OP_Concat, in, nin, 1, &axis, 1);
}

static int split_branches(test_graph *t, int variant) {
  const int64_t xd[] = {B, C, H, W};
  int x = variant == MISS_SPLIT_NCHW ? tg_input(t, VITC_F32, 4, xd) : nhwc_input(t), s = split_channels(t, x, 3);
  int parts[3] = {s, conv(t, s + 1, C / 4, C / 4, 3, 1, 1, C / 4), conv(t, s + 2, C / 4, C / 4, 5, 1, 2, C / 4)};
  return concat_channels(t, parts, 3);
}

static int split_gates(test_graph *t) {
  const int64_t start[] = {1}, end[] = {2}, axis[] = {1};
  int s = split_channels(t, nhwc_input(t), 2);
  int in[4] = {s + 1, fh_i64s(t, 1, start), fh_i64s(t, 1, end), fh_i64s(t, 1, axis)};
  return fh_op(t, VITC_OP_Mul, conv(t, s, C - 2, C - 2, 3, 1, 1, C - 2), tg_node(t, VITC_OP_Slice, in, 4, 1, NULL, 0));
}

static void build(test_graph *t, int variant) {
  const int64_t image[] = {B, 3, 2 * H, 2 * W}, xd[] = {B, C, H, W}, along_w[] = {1, 1, W}, vit[] = {B, 3, 3 * H, 3 * W},
                tokens[] = {B, C, H * W};
  int y;
  switch (variant) {
  case S_STAGE:
  case S_BLOCK_OUT:
    y = block(t, norm(t, VITC_OP_LayerNormChannels, conv(t, tg_input(t, VITC_F32, 4, image), 3, C, 2, 2, 0, 1), 31));
    if (variant == S_STAGE) y = fh_op(t, VITC_OP_GlobalAveragePool, y, -1);
    break;
  case S_DEPTHWISE_READ: y = transpose(t, conv(t, tg_input(t, VITC_F32, 4, xd), C, C, 7, 2, 3, C), to_last); break;
  case S_MUL_ALONG_W: y = fh_op(t, VITC_OP_Mul, nhwc_input(t), tg_const(t, VITC_F32, 3, along_w, 5)); break;
  case S_POINTWISE: y = conv(t, nhwc_input(t), C, 2 * C, 1, 1, 0, 1); break;
  case S_VIT_PATCH: {
    vitc_value v = {.dtype = VITC_I64, .rank = 1, .dims = {3}, .data = (void *)tokens};
    static const int64_t swap[] = {0, 2, 1};
    vitc_attr a = {.name = "perm", .type = VITC_ATTR_INTS, .n = 3, .ints = (int64_t *)swap};
    y = conv(t, tg_input(t, VITC_F32, 4, vit), 3, C, 3, 3, 0, 1);
    y = fh_op(t, VITC_OP_Reshape, y, vitc_graph_add_constant(t->g, NULL, &v));
    y = tg_node(t, VITC_OP_Transpose, &y, 1, 1, &a, 1);
    break;
  }
  case MISS_PERM: y = transpose(t, conv(t, tg_input(t, VITC_F32, 4, xd), C, C, 7, 1, 3, C), swap_hw); break;
  case MISS_PATCH_PADS: y = conv(t, tg_input(t, VITC_F32, 4, xd), C, C, 2, 2, 1, 1); break;
  case S_PATCH_STRIDE: y = conv(t, nhwc_input(t), C, C, 2, 1, 0, 1); break;
  case MISS_GROUPED: y = conv(t, nhwc_input(t), C, C, 3, 1, 1, 2); break;
  case MISS_POINTWISE_NCHW: y = conv(t, tg_input(t, VITC_F32, 4, xd), C, C, 1, 1, 0, 1); break;
  case MISS_ADD_NCHW: y = fh_op(t, VITC_OP_Add, nhwc_input(t), tg_input(t, VITC_F32, 4, xd)); break;
  case S_MBCONV: {
    int x = tg_input(t, VITC_F32, 4, xd);
    y = fh_op(t, VITC_OP_Add, x, mbconv(t, x, 1, variant));
    break;
  }
  case S_TOKENS_DW: case S_TOKENS_SR: case MISS_TOKENS_RAW: case MISS_TOKENS_GROUPED: case MISS_TOKENS_SHARED:
  case S_TOKENS_PADDED:
  case S_TOKENS_GELU: case MISS_TOKENS_GELU_READ:
    y = tokens_conv(t, variant);
    break;
  case S_HEADS_DW: case MISS_HEADS_GROUPED: case MISS_HEADS_RAW: y = heads_conv(t, variant); break;
  case S_REDUCE_HW: case S_REDUCE_C: case MISS_REDUCE_KEEPDIMS: case MISS_REDUCE_W: {
    static const int64_t hw[] = {2, 3}, c[] = {-3}, w[] = {3};
    const int64_t *axes = variant == S_REDUCE_C ? c : variant == MISS_REDUCE_W ? w : hw;
    vitc_value v = {.dtype = VITC_I64, .rank = 1, .dims = {variant == S_REDUCE_HW || variant == MISS_REDUCE_KEEPDIMS ? 2 : 1},
                    .data = (void *)axes};
    vitc_attr keep = {.name = "keepdims", .type = VITC_ATTR_INT, .i = variant == MISS_REDUCE_KEEPDIMS};
    int in[2] = {nhwc_input(t), vitc_graph_add_constant(t->g, NULL, &v)};
    y = tg_node(t, VITC_OP_ReduceMean, in, 2, 1, &keep, 1);
    break;
  }
  case S_STEM: case MISS_STEM_OUT: y = mbconv(t, stem(t, variant), 1, variant); break;
  case S_STEM_TOKENS: y = swap_last(t, reshape(t, stem(t, variant), 3, tokens)); break;
  case MISS_STEM_GROUPED: y = stem(t, variant); break;
  case MISS_POINTWISE_CHAIN:
    y = conv(t, fh_op(t, VITC_OP_Gelu, conv(t, tg_input(t, VITC_F32, 4, xd), C, HIDDEN, 1, 1, 0, 1), -1), HIDDEN, C, 1, 1, 0, 1);
    break;
  case S_POOLFORMER: case MISS_POOLFORMER_GROUPS: y = poolformer(t, variant); break;
  case S_SPLIT_BRANCHES: case MISS_SPLIT_NCHW: y = split_branches(t, variant); break;
  case S_SPLIT_GATES: y = split_gates(t); break;
  case S_SLICE_NO_AXES: {
    const int64_t starts[] = {0, 1}, ends[] = {1, C};
    int in[3] = {nhwc_input(t), fh_i64s(t, 2, starts), fh_i64s(t, 2, ends)};
    y = tg_node(t, VITC_OP_Slice, in, 3, 1, NULL, 0);
    break;
  }
  case MISS_CONCAT_MIXED: {
    int in[2] = {nhwc_input(t), tg_input(t, VITC_F32, 4, xd)};
    y = concat_channels(t, in, 2);
    break;
  }
  case S_POOLED: case S_POOLED_TILES: case S_POOLED_EXCLUDE_PAD: case MISS_POOLED_CEIL: case MISS_POOLED_ALONE:
    y = pooled_mbconv(t, variant);
    break;
  case S_OVERLAP_TOKENS: case MISS_OVERLAP_RAW: case MISS_OVERLAP_SHARED: {
    static const int64_t strided[] = {B, C, (H + 1) / 2 * ((W + 1) / 2)};
    y = reshape(t, conv(t, tg_input(t, VITC_F32, 4, xd), C, C, 3, 2, 1, 1), 3, strided);
    if (variant == MISS_OVERLAP_SHARED) tg_output(t, y);
    if (variant != MISS_OVERLAP_RAW) y = swap_last(t, y);
    break;
  }
  case S_CLIP_STAR: case MISS_CLIP_BOUND_INPUT: {
    static const float zero = 0, six = 6;
    vitc_value lo = {.dtype = VITC_F32, .data = (void *)&zero}, hi = {.dtype = VITC_F32, .data = (void *)&six};
    int in[3] = {nhwc_input(t), vitc_graph_add_constant(t->g, NULL, &lo),
                 variant == S_CLIP_STAR ? vitc_graph_add_constant(t->g, NULL, &hi) : tg_input(t, VITC_F32, 0, NULL)};
    y = tg_node(t, VITC_OP_Clip, in, 3, 1, NULL, 0);
    if (variant == S_CLIP_STAR) y = fh_op(t, VITC_OP_Mul, y, nhwc_input(t));
    break;
  }
  case S_POW: {
    static const float two = 2;
    vitc_value e = {.dtype = VITC_F32, .data = (void *)&two};
    y = fh_op(t, VITC_OP_Pow, nhwc_input(t), vitc_graph_add_constant(t->g, NULL, &e));
    break;
  }
  case S_DW_MULTIPLIER: y = conv(t, nhwc_input(t), C, 2 * C, 7, 2, 3, C); break;
  case MISS_DW_MULTIPLIER_NCHW: y = conv(t, tg_input(t, VITC_F32, 4, xd), C, 2 * C, 3, 1, 1, C); break;
  case MISS_ONE_CHANNEL: {
    const int64_t zd[] = {B, H, W, 1};
    y = conv(t, transpose(t, tg_input(t, VITC_F32, 4, zd), to_first), 1, C, 3, 1, 1, 1);
    break;
  }
  case S_CONCAT_CARRIES: case MISS_CONCAT_CARRIES_NCHW: {
    int in[2] = {variant == S_CONCAT_CARRIES ? nhwc_input(t) : tg_input(t, VITC_F32, 4, xd),
                 scaled(t, conv(t, tg_input(t, VITC_F32, 4, xd), C, C, 1, 1, 0, 1))};
    y = scaled(t, conv(t, concat_channels(t, in, 2), 2 * C, C, 3, 1, 1, 1));
    break;
  }
  case S_NORM_STEM: case MISS_NORM_STEM_OUT: {
    const int64_t image[] = {B, 3, 2 * H, 2 * W};
    int h = norm(t, VITC_OP_LayerNormChannels, scaled(t, conv(t, tg_input(t, VITC_F32, 4, image), 3, C, 3, 2, 1, 1)), 41);
    if (variant == MISS_NORM_STEM_OUT) tg_output(t, h);
    y = scaled(t, conv(t, fh_op(t, VITC_OP_Gelu, h, -1), C, C, 3, 1, 1, 1));
    break;
  }
  default: y = mbconv(t, tg_input(t, VITC_F32, 4, xd), 2, variant); break;
  }
  tg_output(t, y);
}

static void test_convnext_stage(void) {
  /* one Transpose orders the stem's patches, one returns the result to NCHW at the output */
  const fh_count want[] = {{VITC_OP_Transpose, 2},         {VITC_OP_Conv, 0},
                           {VITC_OP_DepthwiseConvNHWC, 1}, {VITC_OP_LayerNormChannels, 0},
                           {VITC_OP_LayerNormalization, 2}, {VITC_OP_MatMul, 3},
                           {VITC_OP_GlobalAveragePool, 0}, {VITC_OP_GlobalAveragePoolNHWC, 1}};
  vitc_graph *g = fh_check("stage", build, S_STAGE, vitc_to_channels_last, want, 8);
  const vitc_node *mul = fh_find_op(g, VITC_OP_Mul);
  CHECK(mul != NULL);
  if (mul) { /* LayerScale [C, 1, 1] became [C], ready for the GEMM epilogue */
    const vitc_value *ls = &g->tensors[mul->in[g->tensors[mul->in[0]].v.data ? 0 : 1]].v;
    CHECK(ls->rank == 1 && ls->dims[0] == C);
  }
  vitc_graph_free(g);
  const fh_count block_out[] = {{VITC_OP_Transpose, 2}, {VITC_OP_DepthwiseConvNHWC, 1}, {VITC_OP_Conv, 0}};
  vitc_graph_free(fh_check("block output", build, S_BLOCK_OUT, vitc_to_channels_last, block_out, 3));
}

static void test_rewrites(void) {
  const fh_count dw[] = {{VITC_OP_Transpose, 1}, {VITC_OP_DepthwiseConvNHWC, 1}, {VITC_OP_Conv, 0}};
  vitc_graph_free(fh_check("depthwise read channels-last", build, S_DEPTHWISE_READ, vitc_to_channels_last, dw, 3));
  const fh_count mul[] = {{VITC_OP_Transpose, 1}, {VITC_OP_Mul, 1}};
  vitc_graph *g = fh_check("constant along W", build, S_MUL_ALONG_W, vitc_to_channels_last, mul, 2);
  const vitc_node *n = fh_find_op(g, VITC_OP_Mul);
  CHECK(n && g->tensors[n->in[1]].v.rank == 2 && g->tensors[n->in[1]].v.dims[0] == W);
  vitc_graph_free(g);
  const fh_count pw[] = {{VITC_OP_Transpose, 1}, {VITC_OP_MatMul, 1}, {VITC_OP_Conv, 0}, {VITC_OP_Reshape, 0}};
  vitc_graph_free(fh_check("pointwise", build, S_POINTWISE, vitc_to_channels_last, pw, 4));
  const fh_count vit[] = {{VITC_OP_Transpose, 1}, {VITC_OP_MatMul, 1}, {VITC_OP_Conv, 0}, {VITC_OP_Reshape, 3}};
  vitc_graph_free(fh_check("vit patches", build, S_VIT_PATCH, vitc_to_channels_last, vit, 4));
}

static void test_near_misses(void) {
  const fh_count conv_stays[] = {{VITC_OP_Conv, 1}, {VITC_OP_DepthwiseConvNHWC, 0}, {VITC_OP_MatMul, 0}};
  vitc_graph_free(fh_check("other perm", build, MISS_PERM, vitc_to_channels_last, conv_stays, 3));
  vitc_graph_free(fh_check("patch pads", build, MISS_PATCH_PADS, vitc_to_channels_last, conv_stays, 3));
  /* the output is NCHW: one Transpose returns it */
  const fh_count overlapping[] = {{VITC_OP_Transpose, 1}, {VITC_OP_PatchConvNHWC, 1}, {VITC_OP_Conv, 0}};
  vitc_graph_free(fh_check("patch stride", build, S_PATCH_STRIDE, vitc_to_channels_last, overlapping, 3));
  vitc_graph_free(fh_check("grouped", build, MISS_GROUPED, vitc_to_channels_last, conv_stays, 3));
  vitc_graph_free(fh_check("pointwise NCHW", build, MISS_POINTWISE_NCHW, vitc_to_channels_last, conv_stays, 3));
  const fh_count add_stays[] = {{VITC_OP_Transpose, 1}, {VITC_OP_Add, 1}};
  vitc_graph *g = fh_check("add of NCHW", build, MISS_ADD_NCHW, vitc_to_channels_last, add_stays, 2);
  const vitc_node *n = fh_find_op(g, VITC_OP_Transpose);
  CHECK(n && g->tensors[n->out[0]].v.dims[1] == C); /* still the NHWC → NCHW move before the Add */
  vitc_graph_free(g);
}

static void test_heads(void) {
  /* one Transpose brings the heads next to their channels, one takes them back: the views' own two go */
  const fh_count dw[] = {{VITC_OP_Transpose, 2}, {VITC_OP_DepthwiseConvNHWC, 1}, {VITC_OP_Conv, 0}};
  vitc_graph *g = fh_check("heads depthwise", build, S_HEADS_DW, vitc_to_channels_last, dw, 3);
  for (int i = 0; i < g->nnodes; i++) { /* both are [0, 2, 1, 3]: heads and tokens swap */
    int len;
    const int64_t *perm = vitc_attr_ints(&g->nodes[i], "perm", &len);
    if (g->nodes[i].op == VITC_OP_Transpose) CHECK(perm && len == 4 && perm[1] == 2 && perm[2] == 1 && perm[3] == 3);
  }
  vitc_graph_free(g);
  const fh_count grouped[] = {{VITC_OP_Transpose, 2}, {VITC_OP_Conv, 1}, {VITC_OP_DepthwiseConvNHWC, 0}};
  vitc_graph_free(fh_check("heads grouped", build, MISS_HEADS_GROUPED, vitc_to_channels_last, grouped, 3));
  const fh_count raw[] = {{VITC_OP_Transpose, 1}, {VITC_OP_Conv, 1}, {VITC_OP_DepthwiseConvNHWC, 0}};
  vitc_graph_free(fh_check("heads reshaped raw", build, MISS_HEADS_RAW, vitc_to_channels_last, raw, 3));
}

/* to_channels_last, then the GEMM epilogues: what the pipeline makes of an MBConv block. */
static vitc_status channels_last_fused(vitc_graph *g, vitc_error *err) {
  vitc_status st = vitc_to_channels_last(g, err);
  return st != VITC_OK ? st : vitc_fuse_gemm_epilogue(g, err);
}

static void test_mbconv(void) {
  const fh_count mb[] = {{VITC_OP_Transpose, 2},         {VITC_OP_Conv, 0},       {VITC_OP_MatMul, 4},
                         {VITC_OP_DepthwiseConvNHWC, 1}, {VITC_OP_GlobalAveragePoolNHWC, 1}, {VITC_OP_GlobalAveragePool, 0},
                         {VITC_OP_Add, 5}};
  vitc_graph_free(fh_check("mbconv", build, S_MBCONV, vitc_to_channels_last, mb, 7));
  vitc_graph_free(fh_check("mbconv stride 2", build, S_MBCONV_DOWN, vitc_to_channels_last, mb, 6));
  /* the expansion takes its GELU, the depthwise conv its GELU, the projection its bias and residual */
  const fh_count fused[] = {{VITC_OP_FusedGemm, 4}, {VITC_OP_Gelu, 0}, {VITC_OP_Add, 0}, {VITC_OP_Transpose, 2}};
  vitc_graph *g = fh_check("mbconv fused", build, S_MBCONV, channels_last_fused, fused, 4);
  const vitc_node *dw = fh_find_op(g, VITC_OP_DepthwiseConvNHWC);
  CHECK(dw && !strcmp(vitc_attr_str(dw, "activation", "none"), "gelu_erf"));
  vitc_graph_free(g);
}

static void test_mbconv_near_misses(void) {
  const fh_count grouped[] = {{VITC_OP_Conv, 2}, {VITC_OP_Transpose, 0}, {VITC_OP_MatMul, 0}};
  vitc_graph_free(fh_check("mbconv grouped", build, MISS_MB_GROUPED, vitc_to_channels_last, grouped, 3));
  /* no seed: the 1x1's GELU is read twice, and nothing reads the depthwise conv channels-last */
  const fh_count shared[] = {{VITC_OP_Conv, 5}, {VITC_OP_DepthwiseConvNHWC, 0}, {VITC_OP_Transpose, 0}};
  vitc_graph_free(fh_check("mbconv shared", build, MISS_MB_SHARED, vitc_to_channels_last, shared, 3));
  const fh_count dw_read[] = {{VITC_OP_Gelu, 1}, {VITC_OP_DepthwiseConvNHWC, 1}, {VITC_OP_FusedGemm, 4}};
  vitc_graph *g = fh_check("mbconv depthwise read", build, MISS_MB_DW_READ, channels_last_fused, dw_read, 3);
  const vitc_node *dw = fh_find_op(g, VITC_OP_DepthwiseConvNHWC);
  CHECK(dw && !strcmp(vitc_attr_str(dw, "activation", "none"), "none"));
  vitc_graph_free(g);
}

static void test_reduce(void) {
  const fh_count moved[] = {{VITC_OP_Transpose, 0}, {VITC_OP_ReduceMean, 1}};
  vitc_graph_free(fh_check("mean over H and W", build, S_REDUCE_HW, vitc_to_channels_last, moved, 2));
  vitc_graph_free(fh_check("mean over C", build, S_REDUCE_C, vitc_to_channels_last, moved, 2));
  const fh_count kept[] = {{VITC_OP_Transpose, 1}, {VITC_OP_ReduceMean, 1}};
  vitc_graph_free(fh_check("mean keeping its dims", build, MISS_REDUCE_KEEPDIMS, vitc_to_channels_last, kept, 2));
  vitc_graph_free(fh_check("mean over W", build, MISS_REDUCE_W, vitc_to_channels_last, kept, 2));
}

static void test_tokens(void) {
  /* no Transpose left: the conv reads the tokens as [B, H, W, C] and its result is tokens again */
  const fh_count dw[] = {{VITC_OP_Transpose, 0}, {VITC_OP_DepthwiseConvNHWC, 1}, {VITC_OP_Conv, 0}};
  vitc_graph_free(fh_check("tokens depthwise", build, S_TOKENS_DW, vitc_to_channels_last, dw, 3));
  /* the tokens seen as [B, 2H, 2W, C] and the result seen as tokens: two Reshapes, no Transpose */
  const fh_count sr[] = {{VITC_OP_Transpose, 0}, {VITC_OP_PatchConvNHWC, 1}, {VITC_OP_Conv, 0}, {VITC_OP_Reshape, 2}};
  vitc_graph_free(fh_check("tokens patchify", build, S_TOKENS_SR, vitc_to_channels_last, sr, 4));
  const fh_count padded[] = {{VITC_OP_Transpose, 0}, {VITC_OP_PatchConvNHWC, 1}, {VITC_OP_Conv, 0}, {VITC_OP_Reshape, 2}};
  vitc_graph_free(fh_check("tokens padded patches", build, S_TOKENS_PADDED, vitc_to_channels_last, padded, 4));
  const fh_count raw[] = {{VITC_OP_Transpose, 1}, {VITC_OP_Conv, 1}, {VITC_OP_DepthwiseConvNHWC, 0}};
  vitc_graph_free(fh_check("tokens reshaped raw", build, MISS_TOKENS_RAW, vitc_to_channels_last, raw, 3));
  const fh_count grouped[] = {{VITC_OP_Transpose, 2}, {VITC_OP_Conv, 1}, {VITC_OP_Reshape, 2}};
  vitc_graph_free(fh_check("tokens grouped", build, MISS_TOKENS_GROUPED, vitc_to_channels_last, grouped, 3));
  const fh_count shared[] = {{VITC_OP_Transpose, 2}, {VITC_OP_Conv, 1}, {VITC_OP_DepthwiseConvNHWC, 0}};
  vitc_graph_free(fh_check("tokens image shared", build, MISS_TOKENS_SHARED, vitc_to_channels_last, shared, 3));
}

/* to_channels_last, then the GEMM epilogues: the depthwise conv on tokens takes the GELU after its views. */
static vitc_status channels_last_fused(vitc_graph *g, vitc_error *err);

static void test_tokens_gelu(void) {
  const fh_count fused[] = {{VITC_OP_Gelu, 0}, {VITC_OP_DepthwiseConvNHWC, 1}, {VITC_OP_Transpose, 0}};
  vitc_graph *g = fh_check("tokens depthwise gelu", build, S_TOKENS_GELU, channels_last_fused, fused, 3);
  const vitc_node *dw = fh_find_op(g, VITC_OP_DepthwiseConvNHWC);
  CHECK(dw && !strcmp(vitc_attr_str(dw, "activation", "none"), "gelu_erf"));
  vitc_graph_free(g);
  const fh_count kept[] = {{VITC_OP_Gelu, 1}, {VITC_OP_DepthwiseConvNHWC, 1}};
  g = fh_check("tokens read before the gelu", build, MISS_TOKENS_GELU_READ, channels_last_fused, kept, 2);
  dw = fh_find_op(g, VITC_OP_DepthwiseConvNHWC);
  CHECK(dw && !strcmp(vitc_attr_str(dw, "activation", "none"), "none"));
  vitc_graph_free(g);
}

static void test_stem(void) {
  /* the image's channels-last copy in, the block's result back out: no other Transpose */
  const fh_count stem_nhwc[] = {{VITC_OP_Transpose, 2}, {VITC_OP_Conv, 0}, {VITC_OP_PatchConvNHWC, 2},
                                {VITC_OP_DepthwiseConvNHWC, 1}, {VITC_OP_Gelu, 3}};
  vitc_graph_free(fh_check("stem", build, S_STEM, vitc_to_channels_last, stem_nhwc, 5));
  /* the first stem conv takes its GELU as the expansion and the depthwise conv take theirs */
  const fh_count fused[] = {{VITC_OP_PatchConvNHWC, 2}, {VITC_OP_Gelu, 0}, {VITC_OP_Transpose, 2}};
  vitc_graph *g = fh_check("stem fused", build, S_STEM, channels_last_fused, fused, 3);
  int activated = 0;
  for (int i = 0; i < g->nnodes; i++)
    activated += g->nodes[i].op == VITC_OP_PatchConvNHWC && !strcmp(vitc_attr_str(&g->nodes[i], "activation", "none"), "gelu_erf");
  CHECK(activated == 1);
  vitc_graph_free(g);
  /* the image's copy in; the tokens are the second conv's channels-last result, reshaped */
  const fh_count tokens[] = {{VITC_OP_Conv, 0}, {VITC_OP_PatchConvNHWC, 2}, {VITC_OP_Transpose, 1}, {VITC_OP_Reshape, 1}};
  vitc_graph_free(fh_check("stem to tokens", build, S_STEM_TOKENS, vitc_to_channels_last, tokens, 4));
  const fh_count grouped[] = {{VITC_OP_Conv, 2}, {VITC_OP_PatchConvNHWC, 0}, {VITC_OP_Transpose, 0}};
  vitc_graph_free(fh_check("stem grouped", build, MISS_STEM_GROUPED, vitc_to_channels_last, grouped, 3));
  /* the GELU is an output: the first conv stays NCHW, the second reads its channels-last copy */
  const fh_count out[] = {{VITC_OP_Conv, 1}, {VITC_OP_PatchConvNHWC, 1}, {VITC_OP_Transpose, 2}};
  vitc_graph_free(fh_check("stem read between", build, MISS_STEM_OUT, vitc_to_channels_last, out, 3));
  const fh_count chain[] = {{VITC_OP_Conv, 2}, {VITC_OP_MatMul, 0}, {VITC_OP_Transpose, 0}};
  vitc_graph_free(fh_check("pointwise chain", build, MISS_POINTWISE_CHAIN, vitc_to_channels_last, chain, 3));
  /* the image's copy in; the tokens a Reshape of the conv's channels-last result */
  const fh_count overlap[] = {{VITC_OP_Conv, 0}, {VITC_OP_PatchConvNHWC, 1}, {VITC_OP_Transpose, 1}, {VITC_OP_Reshape, 1}};
  vitc_graph_free(fh_check("overlapping stem to tokens", build, S_OVERLAP_TOKENS, vitc_to_channels_last, overlap, 4));
  const fh_count stays[] = {{VITC_OP_Conv, 1}, {VITC_OP_PatchConvNHWC, 0}};
  vitc_graph_free(fh_check("overlapping stem, NCHW tokens", build, MISS_OVERLAP_RAW, vitc_to_channels_last, stays, 2));
  vitc_graph_free(fh_check("overlapping stem, view shared", build, MISS_OVERLAP_SHARED, vitc_to_channels_last, stays, 2));
}

static void test_pooled_shortcut(void) {
  /* the pool a depthwise conv beside the block's, one Transpose in and one out; fused, the shortcut's
   * GEMM takes the block's result as its residual */
  const fh_count pooled[] = {{VITC_OP_AveragePool, 0}, {VITC_OP_DepthwiseConvNHWC, 2}, {VITC_OP_Conv, 0},
                             {VITC_OP_Transpose, 2}};
  vitc_graph_free(fh_check("pooled shortcut", build, S_POOLED, vitc_to_channels_last, pooled, 4));
  vitc_graph_free(fh_check("pooled shortcut 2x2", build, S_POOLED_TILES, vitc_to_channels_last, pooled, 4));
  const fh_count fused[] = {{VITC_OP_FusedGemm, 5}, {VITC_OP_Add, 0}, {VITC_OP_Transpose, 2}};
  vitc_graph_free(fh_check("pooled shortcut fused", build, S_POOLED, channels_last_fused, fused, 3));
  /* the corners and edges scaled by 1 / the taps inside the image */
  const fh_count excluded[] = {{VITC_OP_AveragePool, 0}, {VITC_OP_DepthwiseConvNHWC, 2}, {VITC_OP_Conv, 0},
                               {VITC_OP_Transpose, 2}, {VITC_OP_Mul, 2}};
  vitc_graph_free(fh_check("pool without its pads", build, S_POOLED_EXCLUDE_PAD, vitc_to_channels_last, excluded, 5));
  /* the pool stays, and so do its 1x1 and the Add: the block's result goes back to NCHW before it */
  const fh_count stays[] = {{VITC_OP_AveragePool, 1}, {VITC_OP_DepthwiseConvNHWC, 1}, {VITC_OP_Conv, 1},
                            {VITC_OP_Transpose, 2}};
  vitc_graph_free(fh_check("pool hanging over", build, MISS_POOLED_CEIL, vitc_to_channels_last, stays, 4));
  const fh_count alone[] = {{VITC_OP_AveragePool, 1}, {VITC_OP_Conv, 1}, {VITC_OP_Transpose, 0}};
  vitc_graph_free(fh_check("pool alone", build, MISS_POOLED_ALONE, vitc_to_channels_last, alone, 3));
}

static void test_clip(void) {
  /* the product's one Transpose back to NCHW at the output is all that is left */
  const fh_count star[] = {{VITC_OP_Transpose, 1}, {VITC_OP_Clip, 1}, {VITC_OP_Mul, 1}};
  vitc_graph *g = fh_check("clip star", build, S_CLIP_STAR, vitc_to_channels_last, star, 3);
  const vitc_node *clip = fh_find_op(g, VITC_OP_Clip);
  CHECK(clip && g->tensors[clip->out[0]].v.dims[3] == C); /* runs on [B, H, W, C] */
  vitc_graph_free(g);
  const fh_count stays[] = {{VITC_OP_Transpose, 1}, {VITC_OP_Clip, 1}};
  g = fh_check("clip bound an input", build, MISS_CLIP_BOUND_INPUT, vitc_to_channels_last, stays, 2);
  clip = fh_find_op(g, VITC_OP_Clip);
  CHECK(clip && g->tensors[clip->out[0]].v.dims[1] == C); /* still NCHW, after the Transpose */
  vitc_graph_free(g);
  const fh_count pow[] = {{VITC_OP_Transpose, 1}, {VITC_OP_Pow, 1}};
  g = fh_check("pow", build, S_POW, vitc_to_channels_last, pow, 2);
  const vitc_node *p = fh_find_op(g, VITC_OP_Pow);
  CHECK(p && g->tensors[p->out[0]].v.dims[3] == C);
  vitc_graph_free(g);
}

static void test_poolformer(void) {
  /* the image's copy in, the result out; the norm on the channels-last image, the pool a depthwise conv */
  const fh_count nhwc[] = {{VITC_OP_Transpose, 2}, {VITC_OP_Conv, 0}, {VITC_OP_PatchConvNHWC, 1},
                           {VITC_OP_InstanceNormalization, 1}, {VITC_OP_AveragePool, 0}, {VITC_OP_DepthwiseConvNHWC, 1}};
  vitc_graph_free(fh_check("poolformer", build, S_POOLFORMER, vitc_to_channels_last, nhwc, 6));
  const fh_count stays[] = {{VITC_OP_Transpose, 0}, {VITC_OP_Conv, 1}, {VITC_OP_AveragePool, 1}};
  vitc_graph_free(fh_check("poolformer, two groups", build, MISS_POOLFORMER_GROUPS, vitc_to_channels_last, stays, 3));
}

static void test_split(void) {
  /* only the Concat's result goes back to NCHW */
  const fh_count branches[] = {{VITC_OP_Transpose, 1}, {VITC_OP_Split, 1}, {VITC_OP_Concat, 1},
                               {VITC_OP_DepthwiseConvNHWC, 2}, {VITC_OP_Conv, 0}};
  vitc_graph *g = fh_check("split branches", build, S_SPLIT_BRANCHES, vitc_to_channels_last, branches, 5);
  const vitc_node *n = fh_find_op(g, VITC_OP_Concat);
  CHECK(n && vitc_attr_int(n, "axis", 0) == 3);
  n = fh_find_op(g, VITC_OP_Split);
  CHECK(n && vitc_attr_int(n, "axis", 0) == 3);
  vitc_graph_free(g);
  const fh_count gates[] = {{VITC_OP_Transpose, 1}, {VITC_OP_Split, 1}, {VITC_OP_Slice, 1}, {VITC_OP_DepthwiseConvNHWC, 1}};
  g = fh_check("split gates", build, S_SPLIT_GATES, vitc_to_channels_last, gates, 4);
  n = fh_find_op(g, VITC_OP_Slice);
  CHECK(n && n->nin >= 4 && vitc_load_i(&g->tensors[n->in[3]].v, 0) == 3);
  vitc_graph_free(g);
  const fh_count sliced[] = {{VITC_OP_Transpose, 1}, {VITC_OP_Slice, 1}};
  g = fh_check("slice without axes", build, S_SLICE_NO_AXES, vitc_to_channels_last, sliced, 2);
  n = fh_find_op(g, VITC_OP_Slice);
  CHECK(n && n->nin == 4 && g->tensors[n->in[0]].v.dims[3] == C &&
        vitc_load_i(&g->tensors[n->in[3]].v, 0) == 0 && vitc_load_i(&g->tensors[n->in[3]].v, 1) == 3);
  vitc_graph_free(g);
  const fh_count nchw[] = {{VITC_OP_Transpose, 0}, {VITC_OP_Conv, 2}, {VITC_OP_DepthwiseConvNHWC, 0}};
  vitc_graph_free(fh_check("split of NCHW", build, MISS_SPLIT_NCHW, vitc_to_channels_last, nchw, 3));
  const fh_count mixed[] = {{VITC_OP_Transpose, 1}, {VITC_OP_Concat, 1}};
  g = fh_check("concat with NCHW", build, MISS_CONCAT_MIXED, vitc_to_channels_last, mixed, 2);
  n = fh_find_op(g, VITC_OP_Concat);
  CHECK(n && vitc_attr_int(n, "axis", 0) == -3);
  vitc_graph_free(g);
}

static void test_coatnext(void) {
  /* z's channels repeated, convolved depthwise, and one Transpose back to the NCHW output */
  const fh_count repeated[] = {{VITC_OP_Gather, 1}, {VITC_OP_DepthwiseConvNHWC, 1}, {VITC_OP_Conv, 0}, {VITC_OP_Transpose, 1}};
  vitc_graph *g = fh_check("depthwise with multiplier", build, S_DW_MULTIPLIER, vitc_to_channels_last, repeated, 4);
  const vitc_node *n = fh_find_op(g, VITC_OP_Gather);
  CHECK(n && g->tensors[n->out[0]].v.dims[3] == 2 * C && vitc_load_i(&g->tensors[n->in[1]].v, 3) == 1);
  vitc_graph_free(g);
  const fh_count stays[] = {{VITC_OP_Conv, 1}, {VITC_OP_Gather, 0}, {VITC_OP_Transpose, 0}};
  vitc_graph_free(fh_check("multiplier on NCHW", build, MISS_DW_MULTIPLIER_NCHW, vitc_to_channels_last, stays, 3));
  const fh_count one[] = {{VITC_OP_PatchConvNHWC, 1}, {VITC_OP_Gather, 0}, {VITC_OP_DepthwiseConvNHWC, 0}};
  vitc_graph_free(fh_check("one channel", build, MISS_ONE_CHANNEL, vitc_to_channels_last, one, 3));
  /* the image's channels-last copy in, the result back out: the norm runs over z's last axis */
  const fh_count stem_nhwc[] = {{VITC_OP_Transpose, 2}, {VITC_OP_Conv, 0}, {VITC_OP_PatchConvNHWC, 2},
                                {VITC_OP_LayerNormChannels, 0}, {VITC_OP_LayerNormalization, 1}};
  vitc_graph_free(fh_check("norm stem", build, S_NORM_STEM, vitc_to_channels_last, stem_nhwc, 5));
  /* the norm's result is an output: the first conv and the norm stay, and the second, read NCHW, with them */
  const fh_count out[] = {{VITC_OP_Conv, 2}, {VITC_OP_LayerNormChannels, 1}, {VITC_OP_PatchConvNHWC, 0}, {VITC_OP_Transpose, 0}};
  vitc_graph_free(fh_check("norm stem read between", build, MISS_NORM_STEM_OUT, vitc_to_channels_last, out, 4));
  /* the 1x1 a GEMM on its input's one Transpose, the Concat and the 3x3 on channels-last maps, one Transpose out */
  const fh_count fusion[] = {{VITC_OP_Conv, 0}, {VITC_OP_MatMul, 1}, {VITC_OP_PatchConvNHWC, 1}, {VITC_OP_Transpose, 2}};
  vitc_graph_free(fh_check("concat carries", build, S_CONCAT_CARRIES, vitc_to_channels_last, fusion, 4));
  const fh_count nchw[] = {{VITC_OP_Conv, 2}, {VITC_OP_MatMul, 0}, {VITC_OP_PatchConvNHWC, 0}, {VITC_OP_Transpose, 0}};
  vitc_graph_free(fh_check("concat of NCHW carries nothing", build, MISS_CONCAT_CARRIES_NCHW, vitc_to_channels_last, nchw, 4));
}

int main(void) {
  test_coatnext();
  test_clip();
  test_poolformer();
  test_split();
  test_reduce();
  test_tokens();
  test_heads();
  test_tokens_gelu();
  test_convnext_stage();
  test_mbconv();
  test_mbconv_near_misses();
  test_rewrites();
  test_near_misses();
  test_stem();
  test_pooled_shortcut();
  CHECK_DONE();
}
