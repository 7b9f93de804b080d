/* to_channels_last — runs a channels-first (NCHW) convolutional trunk channels-last (NHWC), where its
 * 1x1 and patchify convolutions are plain GEMMs over channels, its depthwise conv streams vectors along
 * channels, and ConvNeXt's block (exported as Conv → Transpose → LayerNorm → MLP → Transpose →
 * LayerScale → residual) keeps no Transpose at all.
 *
 * Layout changes travel as a Transpose {perm [0, 3, 1, 2]} (NHWC → NCHW) written after each op that now
 * runs channels-last; one forward sweep moves that Transpose down past the ops that follow, until it
 * meets its inverse or a reshape that undoes it:
 *
 *   Conv(x) depthwise 2-D                      → T(DepthwiseConvNHWC(z, W [kh, kw, C], b))
 *   Conv(x) depthwise, channel multiplier m    → T(DepthwiseConvNHWC(Gather(z, [0 ×m, 1 ×m, ..], axis 3),
 *                                                W [kh, kw, C·m], b))   (CoAtNeXt's downsampling 7x7)
 *   Conv(x) stride = kernel, no pads, group 1  → T(MatMul(patches(x), W [kh·kw·Cin, M]) + b)
 *                                                or, for x = T(z) and a kernel above 1x1,
 *                                                T(PatchConvNHWC(z, W [kh·kw·Cin, M], b)), which reads
 *                                                z's patches in place (PVT's spatial reduction)
 *   Conv(x) group 1, any other window          → T(PatchConvNHWC(z, W, b)) for x = T(z) (the patches
 *                                                gathered, padded: PVT v2's 3x3 stride-2 downsampling)
 *   LayerNormChannels(x, s, b)                 → T(LayerNormalization(z, s, b) {axis -1})
 *   GlobalAveragePool(x)                       → T(GlobalAveragePoolNHWC(z))
 *   Relu | Gelu | Sigmoid | ..(x)              → T(op(z))             any unary elementwise op
 *   Add | Sub | Mul | Div | Pow(x, y | c)      → T(op(z, y' | c'))    c' = c with its dims permuted; y'
 *                                                                     the NHWC form of y = T(z') (any
 *                                                                     broadcast), or of an NCHW y of the
 *                                                                     output's shape that already has a
 *                                                                     channels-last copy (a residual)
 *   Transpose(T(z)) {perm [0, 2, 3, 1]}        → z
 *   Reshape | Flatten | ..(views of T(z))      → Reshape(z)           when they put z's elements back
 *                                                                     in order (the movement probe says)
 *   AveragePool(x) counting its pads          → T(DepthwiseConvNHWC(z, 1/(kh·kw)))   (MaxViT's shortcut)
 *   AveragePool(x) not counting them          → T(Mul(DepthwiseConvNHWC(z, 1), 1/taps inside [Ho, Wo, 1]))
 *                                                (PoolFormer's and EfficientFormer's pool mixer)
 *   Split | Concat | Slice(x.., along C)      → T(op(z.., along the last dim))  any AXES op of ops.def
 *                                                (FocalNet's gates, InceptionNeXt's branches)
 *   Reshape(InstanceNorm(Reshape(x, [N, 1, M])), [N, C, H, W])   (torch's GroupNorm of one group)
 *                                             → T(Reshape(InstanceNorm(Reshape(z, [N, 1, M])), [N, H, W, C]))
 *   where x = T(z), except where a trunk starts from an NCHW x, which then gets one channels-last copy
 *   Transpose(x) {perm [0, 2, 3, 1]} that every rewrite reading x shares:
 *   - a depthwise conv whose result something reads channels-last;
 *   - a group-1 conv whose result leads (leads_channels_last: through unary ops and 1x1 convs) to a
 *     depthwise conv, a conv with a window or a pool that is a depthwise conv: MaxViT's MBConv
 *     (1x1 → GELU → depthwise 3x3 → GELU → squeeze-excitation → 1x1 → residual) runs channels-last from
 *     its first conv to its residual Add, and the 3x3 stems before such blocks (MaxViT, TinyViT, XCiT)
 *     from the image's copy on; or to views that read it channels-last: PVT v2's overlapping 7x7/4 stem,
 *     flattened to tokens, is PatchConvNHWC on the image's copy (the NCHW im2col ran at a fifth of it);
 *   - a pool that is a depthwise conv, when another reader of x takes it channels-last (MaxViT's pooled
 *     shortcut beside its downsampling block's 1x1);
 *   a 1x1 conv is a GEMM on x = T(z) itself, a patchify conv of an NCHW x gathers its patches through
 *   one Reshape → Transpose → Reshape.
 *
 * The GEMMs come out as MatMul + Add for fuse_gemm_epilogue, which runs after this pass and gives the
 * second GEMM of a ConvNeXt block its LayerScale and residual, an MBConv's GEMMs their GELU and residual,
 * and its depthwise conv its GELU. The pass ends by sweeping the Transposes
 * nothing reads any more. Float32, rank 4 only. */
#include <stdlib.h>
#include <string.h>

#include "passes/pattern.h"

static const int64_t to_last[4] = {0, 2, 3, 1}, to_first[4] = {0, 3, 1, 2};

typedef struct layout {
  vitc_graph *g;
  const char *node;   /* the node being replaced: names what replaces it */
  const char *tensor; /* its output's name */
  bool changed;
  vitc_error *err;
} layout;

static bool is_transpose(const vitc_node *n, const int64_t *perm) {
  int len;
  const int64_t *p = vitc_attr_ints(n, "perm", &len);
  return n->op == VITC_OP_Transpose && p && len == 4 && !memcmp(p, perm, sizeof(int64_t) * 4);
}

/* z when t = Transpose(z) {perm [0, 3, 1, 2]}, else -1. */
static int nhwc_source(const vitc_graph *g, int t) {
  if (t < 0 || g->tensors[t].producer < 0) return -1;
  const vitc_node *p = &g->nodes[g->tensors[t].producer];
  return !p->dead && is_transpose(p, to_first) ? p->in[0] : -1;
}

/* The output of a live Transpose {perm [0, 2, 3, 1]} reading t (t's channels-last copy), else -1. */
static int channels_last_copy(const vitc_graph *g, int t) {
  for (int i = 0; i < g->nnodes; i++)
    if (!g->nodes[i].dead && g->nodes[i].in[0] == t && is_transpose(&g->nodes[i], to_last)) return g->nodes[i].out[0];
  return -1;
}

/* A unary elementwise op (Relu's shape rule and flop count; inputs after the first absent or known
 * scalars: Clip's bounds, ReLU6 in StarNet and MobileNet blocks): it commutes with any permutation of
 * its input's dims. */
static bool is_unary_elementwise(const vitc_graph *g, const vitc_node *n) {
  const vitc_op_info *o = &vitc_ops[n->op], *relu = &vitc_ops[VITC_OP_Relu];
  if (n->nin > 3) return false; /* Clip's two bounds at most: unary() keeps them in an int[3] */
  for (int k = 1; k < n->nin; k++)
    if (n->in[k] >= 0 && !(vitc_match_known(g, n->in[k]) && vitc_numel(&g->tensors[n->in[k]].v) == 1)) return false;
  return n->nout == 1 && o->shape == relu->shape && o->flops == relu->flops;
}

static bool is_view(const vitc_node *n) { return vitc_op_has(n->op, VITC_OPF_VIEW) || n->op == VITC_OP_Transpose; }

/* The live node reading t, when exactly one does and t is no graph output; else NULL. */
static const vitc_node *only_reader(const vitc_graph *g, int t) {
  const vitc_node *found = NULL;
  if (vitc_graph_is_output(g, t)) return NULL;
  for (int i = 0; i < g->nnodes; i++) {
    const vitc_node *n = &g->nodes[i];
    for (int k = 0; k < n->nin && !n->dead; k++)
      if (n->in[k] == t) {
        if (found) return NULL;
        found = n;
      }
  }
  return found;
}

static bool is_f32_rank4(const vitc_graph *g, int t) {
  return t >= 0 && g->tensors[t].shape_known && g->tensors[t].v.dtype == VITC_F32 && g->tensors[t].v.rank == 4;
}

static vitc_value type_of(const vitc_graph *g, int t, int rank, const int64_t *dims) {
  vitc_value v = {.dtype = g->tensors[t].v.dtype, .rank = rank};
  memcpy(v.dims, dims, sizeof(int64_t) * (size_t)rank);
  return v;
}

/* Adds node op(in) writing `out`, or a new tensor of `type` named after the replaced output when out < 0;
 * returns the tensor written, or -1 (err set). */
static int add(layout *l, vitc_op op, const int *in, int nin, vitc_value type, int out, const vitc_attr *attrs,
               int nattr, const char *suffix) {
  vitc_graph *g = l->g;
  char name[512];
  if (out < 0) {
    snprintf(name, sizeof name, "%s.%s", l->tensor, suffix);
    if ((out = vitc_graph_add_tensor(g, name)) < 0) goto nomem;
    type.data = NULL;
    g->tensors[out].v = type;
    g->tensors[out].shape_known = true;
  }
  snprintf(name, sizeof name, suffix ? "%s/%s" : "%s", l->node, suffix);
  if (vitc_graph_add_node(g, op, name, in, nin, &out, 1, attrs, nattr) < 0) goto nomem;
  l->changed = true;
  return out;
nomem:
  vitc_fail(l->err, VITC_ERR_NOMEM, "%s: out of memory in to_channels_last at '%s'", g->path, l->node);
  return -1;
}

static int add_constant(layout *l, const char *suffix, const vitc_value *v) {
  char name[512];
  snprintf(name, sizeof name, "%s.%s", l->tensor, suffix);
  int id = vitc_graph_add_constant(l->g, name, v);
  if (id < 0) vitc_fail(l->err, VITC_ERR_NOMEM, "%s: out of memory for constant '%s'", l->g->path, name);
  return id;
}

static int add_shape(layout *l, const char *suffix, int rank, const int64_t *dims) {
  vitc_value v = {.dtype = VITC_I64, .rank = 1, .dims = {rank}, .data = (void *)dims};
  return add_constant(l, suffix, &v);
}

static int add_transpose(layout *l, int x, const int64_t *perm, int rank, int out, const char *suffix) {
  const vitc_value *v = &l->g->tensors[x].v;
  int64_t dims[VITC_MAX_RANK];
  for (int d = 0; d < rank; d++) dims[d] = v->dims[perm[d]];
  vitc_attr a = {.name = "perm", .type = VITC_ATTR_INTS, .n = rank, .ints = (int64_t *)perm};
  return add(l, VITC_OP_Transpose, &x, 1, type_of(l->g, x, rank, dims), out, &a, 1, suffix);
}

/* x [N, C, H, W] channels-last: z when x = T(z), else its channels-last copy, made once. */
static int nhwc_of(layout *l, int x) {
  int z = nhwc_source(l->g, x);
  if (z < 0) z = channels_last_copy(l->g, x);
  return z >= 0 ? z : add_transpose(l, x, to_last, 4, -1, "to_nhwc");
}

static int add_reshape(layout *l, int x, int rank, const int64_t *shape, int out, const char *suffix) {
  int64_t dims[VITC_MAX_RANK]; /* shape may point into the tensors, which adding the constant moves */
  memcpy(dims, shape, sizeof(int64_t) * (size_t)rank);
  char shape_suffix[64];
  snprintf(shape_suffix, sizeof shape_suffix, "%s_shape", suffix ? suffix : "view");
  int in[2] = {x, add_shape(l, shape_suffix, rank, dims)};
  return in[1] < 0 ? -1 : add(l, VITC_OP_Reshape, in, 2, type_of(l->g, x, rank, dims), out, NULL, 0, suffix);
}

/* Finishes a rewrite of node i, whose channels-last result is y: Transpose(y) writes its output. */
static vitc_status finish(layout *l, int i, int y) {
  if (y < 0) return VITC_ERR_NOMEM;
  int out = l->g->nodes[i].out[0];
  l->g->nodes[i].dead = true;
  return add_transpose(l, y, to_first, 4, out, NULL) < 0 ? VITC_ERR_NOMEM : VITC_OK;
}

/* n's inputs as values (NULL where absent), for the geometry helpers of ir.h. */
static void input_values(const vitc_graph *g, const vitc_node *n, const vitc_value **in) {
  for (int k = 0; k < n->nin; k++) in[k] = n->in[k] >= 0 ? &g->tensors[n->in[k]].v : NULL;
}

/* ---------------------------------------------------------------- convolutions */

/* W [C, 1, kh, kw] as [kh, kw, C]. */
static int depthwise_weight(layout *l, const vitc_value *w) {
  int64_t c = w->dims[0], taps = w->dims[2] * w->dims[3];
  float *data = malloc(sizeof(float) * (size_t)(c * taps + 1));
  if (!data) return vitc_fail(l->err, VITC_ERR_NOMEM, "%s: out of memory repacking a weight", l->g->path), -1;
  for (int64_t ch = 0; ch < c; ch++)
    for (int64_t k = 0; k < taps; k++) data[k * c + ch] = vitc_f32_at(w->data, ch * taps + k);
  vitc_value v = {.dtype = VITC_F32, .rank = 3, .dims = {w->dims[2], w->dims[3], c}, .data = data};
  int id = add_constant(l, "weight_hwc", &v);
  free(data);
  return id;
}

/* z [N, H, W, C] with each channel repeated m times in place, [N, H, W, C·m] (channel o is z's o / m):
 * the input a depthwise conv with channel multiplier m reads channel by channel. */
static int repeat_channels(layout *l, int z, int64_t m) {
  const vitc_value *v = &l->g->tensors[z].v;
  int64_t c = v->dims[3], dims[4] = {v->dims[0], v->dims[1], v->dims[2], v->dims[3] * m};
  int64_t *index = malloc(sizeof(int64_t) * (size_t)(c * m));
  if (!index) return vitc_fail(l->err, VITC_ERR_NOMEM, "%s: out of memory for a channel index", l->g->path), -1;
  for (int64_t o = 0; o < c * m; o++) index[o] = o / m;
  vitc_value iv = {.dtype = VITC_I64, .rank = 1, .dims = {c * m}, .data = index};
  int in[2] = {z, add_constant(l, "repeat_index", &iv)};
  free(index);
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = 3};
  return in[1] < 0 ? -1 : add(l, VITC_OP_Gather, in, 2, type_of(l->g, z, 4, dims), -1, &axis, 1, "repeated");
}

static vitc_status depthwise(layout *l, int i, const vitc_conv_geometry *p) {
  vitc_node *n = &l->g->nodes[i];
  int z = nhwc_of(l, n->in[0]), bias = n->nin > 2 ? n->in[2] : -1, w_in = n->in[1];
  int64_t pads[4] = {p->w.pad_begin[0], p->w.pad_begin[1], p->w.pad_end[0], p->w.pad_end[1]};
  vitc_attr attrs[3] = {{.name = "strides", .type = VITC_ATTR_INTS, .n = 2, .ints = (int64_t *)p->w.stride},
                        {.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = pads},
                        {.name = "dilations", .type = VITC_ATTR_INTS, .n = 2, .ints = (int64_t *)p->w.dilation}};
  if (z >= 0 && p->cout_g > 1) z = repeat_channels(l, z, p->cout_g);
  if (z < 0) return VITC_ERR_NOMEM;
  int in[3] = {z, depthwise_weight(l, &l->g->tensors[w_in].v), bias};
  if (in[1] < 0) return VITC_ERR_NOMEM;
  int64_t dims[4] = {p->batch, p->w.out[0], p->w.out[1], p->cout};
  return finish(l, i, add(l, VITC_OP_DepthwiseConvNHWC, in, bias >= 0 ? 3 : 2, type_of(l->g, z, 4, dims), -1,
                          attrs, 3, "nhwc"));
}

/* W [M, C, kh, kw] as the GEMM's [kh·kw·C, M] (rows in the patches' (ky, kx, c) order). */
static int patch_weight(layout *l, const vitc_value *w) {
  int64_t m = w->dims[0], c = w->dims[1], kh = w->dims[2], kw = w->dims[3], k = c * kh * kw;
  float *data = malloc(sizeof(float) * (size_t)(k * m + 1));
  if (!data) return vitc_fail(l->err, VITC_ERR_NOMEM, "%s: out of memory repacking a weight", l->g->path), -1;
  enum { TILE = 16 }; /* output channels a pass: each write fills a cache line, not one float of it (MaxViT's
                       * 1x1 weights strided by M made this loop most of to_channels_last); W may be read in
                       * place, unaligned (ir.h) */
  for (int64_t o0 = 0; o0 < m; o0 += TILE)
    for (int64_t ch = 0; ch < c; ch++)
      for (int64_t t = 0; t < kh * kw; t++)
        for (int64_t o = o0; o < m && o < o0 + TILE; o++)
          data[(t * c + ch) * m + o] = vitc_f32_at(w->data, (o * c + ch) * kh * kw + t);
  vitc_value v = {.dtype = VITC_F32, .rank = 2, .dims = {k, m}, .data = data};
  int id = add_constant(l, "weight_gemm", &v);
  free(data);
  return id;
}

/* The patches [N, Ho, Wo, kh·kw·C] of x: z [N, H, W, C] itself for a 1x1 kernel (z >= 0, else x's
 * channels-last copy), else gathered from x [N, C, H, W]. */
static int patches(layout *l, int x, int z, const vitc_conv_geometry *p) {
  int64_t n = p->batch, c = p->cin, kh = p->w.kernel[0], kw = p->w.kernel[1], oh = p->w.out[0], ow = p->w.out[1];
  int64_t out[4] = {n, oh, ow, kh * kw * c};
  if (kh == 1 && kw == 1) return z >= 0 ? z : nhwc_of(l, x);
  static const int64_t perm[6] = {0, 2, 4, 3, 5, 1}; /* [N, C, Ho, kh, Wo, kw] → [N, Ho, Wo, kh, kw, C] */
  int64_t split[6] = {n, c, oh, kh, ow, kw};
  int v = add_reshape(l, x, 6, split, -1, "patch_split");
  v = v < 0 ? -1 : add_transpose(l, v, perm, 6, -1, "patch_order");
  return v < 0 ? -1 : add_reshape(l, v, 4, out, -1, "patches");
}

/* Conv (group 1) of x = T(z) as PatchConvNHWC(z): one GEMM over z's patches, read in place when they
 * need no padding. */
static vitc_status patch_conv(layout *l, int i, const vitc_conv_geometry *p, int z) {
  vitc_node *n = &l->g->nodes[i];
  int bias = n->nin > 2 ? n->in[2] : -1, in[3] = {z, patch_weight(l, &l->g->tensors[n->in[1]].v), bias};
  int64_t dims[4] = {p->batch, p->w.out[0], p->w.out[1], p->cout};
  int64_t pads[4] = {p->w.pad_begin[0], p->w.pad_begin[1], p->w.pad_end[0], p->w.pad_end[1]};
  vitc_attr attrs[4] = {{.name = "kernel_shape", .type = VITC_ATTR_INTS, .n = 2, .ints = (int64_t *)p->w.kernel},
                        {.name = "strides", .type = VITC_ATTR_INTS, .n = 2, .ints = (int64_t *)p->w.stride},
                        {.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = pads},
                        {.name = "dilations", .type = VITC_ATTR_INTS, .n = 2, .ints = (int64_t *)p->w.dilation}};
  if (in[1] < 0) return VITC_ERR_NOMEM;
  return finish(l, i, add(l, VITC_OP_PatchConvNHWC, in, bias >= 0 ? 3 : 2, type_of(l->g, z, 4, dims), -1, attrs, 4,
                          "nhwc"));
}

static vitc_status patchify(layout *l, int i, const vitc_conv_geometry *p) {
  vitc_node *n = &l->g->nodes[i];
  int x = n->in[0], w_in = n->in[1], bias = n->nin > 2 ? n->in[2] : -1, z = nhwc_source(l->g, x);
  int64_t dims[4] = {p->batch, p->w.out[0], p->w.out[1], p->cout};
  if (z >= 0 && p->w.taps > 1) return patch_conv(l, i, p, z);
  int a = patches(l, x, z, p);
  int in[2] = {a, a < 0 ? -1 : patch_weight(l, &l->g->tensors[w_in].v)};
  if (in[1] < 0) return VITC_ERR_NOMEM;
  vitc_value type = type_of(l->g, a, 4, dims);
  int y = add(l, VITC_OP_MatMul, in, 2, type, -1, NULL, 0, "gemm");
  if (y >= 0 && bias >= 0) {
    int sum[2] = {y, bias};
    y = add(l, VITC_OP_Add, sum, 2, type, -1, NULL, 0, "bias");
  }
  return finish(l, i, y);
}

/* The patchify conv: windows that tile the input exactly (stride = kernel, no pads, no dilation). */
static bool tiles_input(const vitc_conv_geometry *p) {
  for (int d = 0; d < 2; d++)
    if (p->w.stride[d] != p->w.kernel[d] || p->w.dilation[d] != 1 || p->w.pad_begin[d] || p->w.pad_end[d] ||
        p->w.out[d] * p->w.kernel[d] != p->w.in[d])
      return false;
  return true;
}

/* n's geometry when it is a float32 2-D Conv with known weights (and bias). */
static bool conv_geometry(const vitc_graph *g, const vitc_node *n, vitc_conv_geometry *p) {
  const vitc_value *in[3] = {NULL, NULL, NULL};
  vitc_error ignored;
  if (!is_f32_rank4(g, n->in[0]) || !is_f32_rank4(g, n->out[0]) || !vitc_match_known(g, n->in[1])) return false;
  if (n->nin > 2 && n->in[2] >= 0 && !vitc_match_known(g, n->in[2])) return false;
  input_values(g, n, in);
  return vitc_conv_geometry_of(n, in, p, &ignored) == VITC_OK;
}

/* Whether AveragePool n (2-D) is a depthwise conv of equal weights, every window inside the padded input:
 * of weights 1/(kh·kw) when the padding counts (count_include_pad) or there is none, else of ones, each
 * output position then scaled by 1 / (its taps inside the input) (*excluded: PoolFormer's and
 * EfficientFormer's 3x3 pool). */
static bool average_is_depthwise(const vitc_graph *g, const vitc_node *n, vitc_window *w, bool *excluded) {
  vitc_error ignored;
  int t = n->in[0];
  if (n->op != VITC_OP_AveragePool || n->nout != 1 || !is_f32_rank4(g, t) || !is_f32_rank4(g, n->out[0]) ||
      vitc_window_geometry(n, &g->tensors[t].v, NULL, vitc_attr_int(n, "ceil_mode", 0) != 0, w, &ignored) != VITC_OK)
    return false;
  bool pads = false, inside = true;
  for (int d = 0; d < 2; d++) {
    pads |= w->pad_begin[d] || w->pad_end[d];
    inside &= (w->out[d] - 1) * w->stride[d] + (w->kernel[d] - 1) * w->dilation[d] < w->in[d] + w->pad_begin[d] + w->pad_end[d];
  }
  *excluded = pads && !vitc_attr_int(n, "count_include_pad", 0);
  return inside;
}

/* One input channel per group: a depthwise conv, or one with channel multiplier cout_g > 1 (CoAtNeXt's
 * stride-2 7x7 doubling the channels at a stage's start), which runs as a depthwise conv of its input's
 * channels repeated (repeat_channels). A group-1 conv of one channel stays a GEMM. */
static bool is_depthwise(const vitc_conv_geometry *p) {
  return p->group == p->cin && p->cin_g == 1 && (p->cout_g == 1 || p->group > 1);
}

/* InstanceNormalization of one channel holding a whole image (GroupNorm with one group, as torch exports
 * it: PoolFormer's norms) normalises the image's elements in any order, so it runs on z's:
 *
 *   Reshape(InstanceNorm(Reshape(T(z), [N, 1, M]), s, b), [N, C, H, W])
 *     →   T(Reshape(InstanceNorm(Reshape(z, [N, 1, M]), s, b), [N, H, W, C]))
 *
 * (s and b of one element each; the per-channel affine after it goes channels-last as elementwise ops).
 * Returns the index of the Reshape back, t (the image) in *z, or -1. */
static int whole_image_norm_view(const vitc_graph *g, const vitc_node *n, int *z) {
  if (n->nin != 3 || n->in[0] < 0 || !g->tensors[n->in[0]].shape_known) return -1;
  const vitc_value *v = &g->tensors[n->in[0]].v;
  int r = g->tensors[n->in[0]].producer;
  if (v->rank != 3 || v->dims[1] != 1 || r < 0 || g->nodes[r].dead || !vitc_op_has(g->nodes[r].op, VITC_OPF_VIEW))
    return -1;
  for (int k = 1; k < 3; k++)
    if (!vitc_match_known(g, n->in[k]) || vitc_numel(&g->tensors[n->in[k]].v) != 1) return -1;
  int t = g->nodes[r].in[0];
  const vitc_node *back = only_reader(g, n->out[0]);
  if (!is_f32_rank4(g, t) || v->dims[0] != g->tensors[t].v.dims[0] || !back || !vitc_op_has(back->op, VITC_OPF_VIEW) ||
      !vitc_match_same_type(g, back->out[0], t))
    return -1;
  *z = t;
  return (int)(back - g->nodes);
}

/* Whether views of t [N, C, H, W] alone (up to 4, each the only reader of the last) end in its elements
 * channels-last: the tokens [N, H·W, C] of flatten(2).transpose(1, 2) after PVT v2's overlapping stem, or
 * a Transpose [0, 2, 3, 1]. The views of T(z) then become a Reshape of z (`view`). */
static bool viewed_channels_last(const vitc_graph *g, int t) {
  const int64_t *d = g->tensors[t].v.dims;
  int64_t count = vitc_numel(&g->tensors[t].v), plane = d[2] * d[3];
  const vitc_node *v = only_reader(g, t);
  vitc_origins o = {0};
  vitc_error ignored;
  bool in_order = false, moved = true;
  for (int depth = 0, mid = t; depth < 4 && moved && !in_order && v && !v->dead && is_view(v) && v->nout == 1; depth++) {
    /* each view probed once, composed with the origins of the views above it */
    vitc_origins above = o;
    int64_t *origins = NULL;
    moved = vitc_probe_images_via(g, t, mid, v->out[0], above.first ? &above : NULL, NULL, &o, &ignored) == VITC_OK &&
            o.first;
    vitc_origins_free(&above);
    in_order = moved && vitc_numel(&g->tensors[v->out[0]].v) == count && vitc_origins_whole(&o, &origins, &ignored) == VITC_OK;
    /* element e of the channels-last order is (n·plane + q)·C + c, at (n·C + c)·plane + q in t */
    for (int64_t e = 0; in_order && e < count; e++)
      in_order = origins[e] == (e / (plane * d[1]) * d[1] + e % d[1]) * plane + e / d[1] % plane;
    free(origins);
    mid = v->out[0];
    v = only_reader(g, mid);
  }
  vitc_origins_free(&o);
  return in_order;
}

enum { MAX_CARRIED = 32, MAX_ATTRS = 8 }; /* inputs and outputs of a carried op (a moved-input mask has 32 bits) */

/* The result through which reader n of t carries a channels-last t on without gaining by it itself: a
 * unary op's, an elementwise op's with a constant (an affine norm's scale and shift), a norm over the
 * channels' (CoAtNeXt's stem: 3x3/2 → LayerNorm2d → GELU → 3x3), an AXES op's of one result whose other
 * moved inputs are channels-last already (MobileViT's Concat of its shortcut and its folded tokens'
 * 1x1 before the fusion 3x3), a whole-image norm's (PoolFormer's GroupNorm, from its first view); else -1. */
static int carried_on(const vitc_graph *g, const vitc_node *n, int t) {
  int image, back;
  if (is_unary_elementwise(g, n) || (n->op == VITC_OP_LayerNormChannels && n->in[0] == t)) return n->out[0];
  if (vitc_op_has(n->op, VITC_OPF_AXES) && n->nout == 1 && n->nin <= MAX_CARRIED) {
    unsigned moved = vitc_moved_inputs(g, n);
    bool others_last = true;
    for (int k = 0; k < n->nin; k++) others_last &= !(moved >> k & 1u) || n->in[k] == t || nhwc_source(g, n->in[k]) >= 0;
    if (others_last) return n->out[0];
  }
  if (vitc_op_has(n->op, VITC_OPF_ELEMWISE) && n->nin == 2 && vitc_match_known(g, n->in[n->in[0] == t])) return n->out[0];
  const vitc_node *norm = vitc_op_has(n->op, VITC_OPF_VIEW) && n->nout == 1 ? only_reader(g, n->out[0]) : NULL;
  if (norm && norm->op == VITC_OP_InstanceNormalization && (back = whole_image_norm_view(g, norm, &image)) >= 0 &&
      image == t)
    return g->nodes[back].out[0];
  return -1;
}

/* Whether t [N, C, H, W], no graph output, is read by something other than `skip` that gains by
 * running channels-last as soon as its input is: a depthwise conv (or a pool that is one), a group-1
 * conv with a window (PatchConvNHWC against the NCHW im2col), views that read it channels-last, or, up
 * to `depth` steps down, an op carrying it on (carried_on) or a 1x1 conv (a GEMM either way) whose result
 * leads there. Then an NCHW t is worth its channels-last copy, and a conv making t starts the trunk: MaxViT's
 * MBConv (1x1 → GELU → depthwise), the stems before it (MaxViT's, TinyViT's and XCiT's 3x3 convs with
 * GELU between), MaxViT's pooled shortcut beside it, PVT v2's overlapping 7x7/4 stem before its
 * tokens, and PoolFormer's 7x7/4 stem before its norm and pool. */
enum { TRUNK_DEPTH = 4 }; /* MaxViT's MBConv: 1x1 → GELU → depthwise; its stem: 3x3 → GELU → 3x3; PoolFormer's
                            * stem: 7x7/4 → GroupNorm → scale → shift → pool */
static bool leads_channels_last(const vitc_graph *g, int t, int depth, const vitc_node *skip) {
  if (depth < 1 || vitc_graph_is_output(g, t)) return false;
  if (viewed_channels_last(g, t)) return true;
  for (int i = 0; i < g->nnodes; i++) {
    const vitc_node *n = &g->nodes[i];
    vitc_conv_geometry p;
    vitc_window w;
    bool excluded;
    bool reads = false;
    for (int k = 0; k < n->nin; k++) reads |= n->in[k] == t;
    if (n->dead || n == skip || !reads) continue;
    int on = carried_on(g, n, t); /* t may be any input of a Concat */
    if (on >= 0 && leads_channels_last(g, on, depth - 1, NULL)) return true;
    if (n->in[0] != t) continue;
    if (average_is_depthwise(g, n, &w, &excluded)) return true;
    if (n->op != VITC_OP_Conv || !conv_geometry(g, n, &p)) continue;
    if (is_depthwise(&p) || (p.group == 1 && p.w.taps > 1)) return true;
    if (p.group == 1 && leads_channels_last(g, n->out[0], depth - 1, NULL)) return true;
  }
  return false;
}

/* Which channels-last form conv n takes, its input being channels-last already (nhwc) or not: any other
 * conv of a channels-last input (group 1: PVT v2's overlapping 3x3 stride-2 downsampling) gathers its
 * patches from it rather than going back to NCHW and forth. */
typedef enum conv_form { CONV_STAYS, CONV_DEPTHWISE, CONV_PATCHIFY, CONV_PATCHES } conv_form;
static conv_form channels_last_form(const vitc_graph *g, const vitc_node *n, const vitc_conv_geometry *p, bool nhwc) {
  if (is_depthwise(p) && (nhwc || channels_last_copy(g, n->out[0]) >= 0)) return CONV_DEPTHWISE;
  if (p->group != 1) return CONV_STAYS;
  bool leads = nhwc || leads_channels_last(g, n->out[0], TRUNK_DEPTH, NULL);
  if (tiles_input(p) && (leads || p->w.taps > 1)) return CONV_PATCHIFY;
  return leads ? CONV_PATCHES : CONV_STAYS;
}

static vitc_status conv(layout *l, int i) {
  vitc_conv_geometry p;
  if (!conv_geometry(l->g, &l->g->nodes[i], &p)) return VITC_OK;
  switch (channels_last_form(l->g, &l->g->nodes[i], &p, nhwc_source(l->g, l->g->nodes[i].in[0]) >= 0)) {
  case CONV_DEPTHWISE: return depthwise(l, i, &p);
  case CONV_PATCHIFY: return patchify(l, i, &p);
  case CONV_PATCHES: return patch_conv(l, i, &p, nhwc_of(l, l->g->nodes[i].in[0]));
  default: return VITC_OK;
  }
}

/* The constant [Ho, Wo, 1] scaling a sum of ones over each window to its mean over the taps inside the
 * input (count_include_pad = 0). */
static int mean_scale(layout *l, const vitc_window *w) {
  int64_t oh = w->out[0], ow = w->out[1];
  float *data = malloc(sizeof(float) * (size_t)(oh * ow));
  if (!data) return vitc_fail(l->err, VITC_ERR_NOMEM, "%s: out of memory for a pool's counts", l->g->path), -1;
  for (int64_t y = 0; y < oh; y++)
    for (int64_t x = 0; x < ow; x++)
      data[y * ow + x] = 1.0f / (float)(vitc_window_taps_within(w, 0, y, 0, w->in[0]) * vitc_window_taps_within(w, 1, x, 0, w->in[1]));
  vitc_value v = {.dtype = VITC_F32, .rank = 3, .dims = {oh, ow, 1}, .data = data};
  int id = add_constant(l, "window_scale", &v);
  free(data);
  return id;
}

/* AveragePool(T(z)) as the depthwise conv of equal weights it is (average_is_depthwise):
 * T(DepthwiseConvNHWC(z, W = 1/(kh·kw))), MaxViT's pooled shortcut of its downsampling MBConv, whose
 * 1x1 conv then runs channels-last too; of an NCHW x that another reader takes channels-last (that
 * block's 1x1 expansion), on the channels-last copy they share. A pool whose padding does not count
 * sums with weights 1 and scales each position by its own count:
 *
 *   AveragePool(T(z)) {count_include_pad 0}   →   T(Mul(DepthwiseConvNHWC(z, 1), 1 / counts [Ho, Wo, 1]))
 *
 * (the Mul joins the elementwise chain after it: PoolFormer's pool(x) - x, its LayerScale and residual). */
static vitc_status average_pool(layout *l, int i) {
  vitc_window w;
  bool excluded;
  int x = l->g->nodes[i].in[0], z = nhwc_source(l->g, x);
  if (!average_is_depthwise(l->g, &l->g->nodes[i], &w, &excluded)) return VITC_OK;
  if (z < 0 && !leads_channels_last(l->g, x, TRUNK_DEPTH, &l->g->nodes[i])) return VITC_OK;
  if (z < 0 && (z = nhwc_of(l, x)) < 0) return VITC_ERR_NOMEM;
  int64_t c = l->g->tensors[z].v.dims[3], n = l->g->tensors[z].v.dims[0], count = w.taps * c;
  float *ones = malloc(sizeof(float) * (size_t)(count + 1));
  if (!ones) return vitc_fail(l->err, VITC_ERR_NOMEM, "%s: out of memory for a pool's weight", l->g->path);
  for (int64_t k = 0; k < count; k++) ones[k] = excluded ? 1.0f : 1.0f / (float)w.taps;
  vitc_value v = {.dtype = VITC_F32, .rank = 3, .dims = {w.kernel[0], w.kernel[1], c}, .data = ones};
  int in[2] = {z, add_constant(l, "weight_hwc", &v)};
  free(ones);
  if (in[1] < 0) return VITC_ERR_NOMEM;
  int64_t pads[4] = {w.pad_begin[0], w.pad_begin[1], w.pad_end[0], w.pad_end[1]}, dims[4] = {n, w.out[0], w.out[1], c};
  vitc_attr attrs[3] = {{.name = "strides", .type = VITC_ATTR_INTS, .n = 2, .ints = w.stride},
                        {.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = pads},
                        {.name = "dilations", .type = VITC_ATTR_INTS, .n = 2, .ints = w.dilation}};
  vitc_value type = type_of(l->g, z, 4, dims);
  int y = add(l, VITC_OP_DepthwiseConvNHWC, in, 2, type, -1, attrs, 3, "nhwc");
  if (y >= 0 && excluded) {
    int scaled[2] = {y, mean_scale(l, &w)};
    y = scaled[1] < 0 ? -1 : add(l, VITC_OP_Mul, scaled, 2, type, -1, NULL, 0, "mean");
  }
  return finish(l, i, y);
}

/* ---------------------------------------------------------------- norms, pools, elementwise */

static vitc_status channels_norm(layout *l, int i) {
  vitc_node *n = &l->g->nodes[i];
  int z = nhwc_source(l->g, n->in[0]);
  if (z < 0) return VITC_OK;
  int in[3] = {z, n->in[1], n->in[2]};
  vitc_attr attrs[2] = {{.name = "axis", .type = VITC_ATTR_INT, .i = -1},
                        {.name = "epsilon", .type = VITC_ATTR_FLOAT, .f = vitc_attr_float(n, "epsilon", 1e-5)}};
  const vitc_value *v = &l->g->tensors[z].v;
  return finish(l, i, add(l, VITC_OP_LayerNormalization, in, 3, type_of(l->g, z, 4, v->dims), -1, attrs, 2, "nhwc"));
}

static vitc_status global_average(layout *l, int i) {
  vitc_node *n = &l->g->nodes[i];
  int z = nhwc_source(l->g, n->in[0]);
  if (z < 0 || !is_f32_rank4(l->g, z)) return VITC_OK;
  const vitc_value *v = &l->g->tensors[z].v;
  int64_t dims[4] = {v->dims[0], 1, 1, v->dims[3]};
  return finish(l, i, add(l, VITC_OP_GlobalAveragePoolNHWC, &z, 1, type_of(l->g, z, 4, dims), -1, NULL, 0, "nhwc"));
}

/* c (known, rank <= 4) broadcast against NCHW, as a value broadcasting against NHWC: its dims padded to
 * 4, permuted, leading 1s dropped. A scalar stays itself. Returns the tensor or -1 (err set if failed). */
static int channels_last_constant(layout *l, int c, int k) {
  const vitc_value *v = &l->g->tensors[c].v;
  if (vitc_numel(v) == 1) return c;
  int64_t dims4[4] = {1, 1, 1, 1}, strides4[4], at[4];
  for (int d = 0; d < v->rank; d++) dims4[4 - v->rank + d] = v->dims[d];
  for (int64_t d = 3, s = 1; d >= 0; s *= dims4[d], d--) strides4[d] = s;
  vitc_value t = {.dtype = v->dtype, .rank = 4};
  for (int d = 0; d < 4; d++) t.dims[d] = dims4[to_last[d]];
  size_t elem = vitc_nbytes(v) / (size_t)vitc_numel(v);
  unsigned char *data = malloc(vitc_nbytes(v) + 1);
  if (!data) return vitc_fail(l->err, VITC_ERR_NOMEM, "%s: out of memory permuting a constant", l->g->path), -1;
  int64_t count = vitc_numel(v);
  for (int64_t e = 0; e < count; e++) { /* e runs over t; at[] its index */
    int64_t r = e, src = 0;
    for (int d = 3; d >= 0; d--) {
      at[d] = r % t.dims[d];
      r /= t.dims[d];
    }
    for (int d = 0; d < 4; d++) src += at[d] * strides4[to_last[d]];
    memcpy(data + (size_t)e * elem, (const unsigned char *)v->data + (size_t)src * elem, elem);
  }
  int lead = 0;
  while (lead < 3 && t.dims[lead] == 1) lead++;
  t.rank = 4 - lead;
  memmove(t.dims, t.dims + lead, sizeof(int64_t) * (size_t)t.rank);
  t.data = data;
  char suffix[32];
  snprintf(suffix, sizeof suffix, "nhwc_in%d", k);
  int id = add_constant(l, suffix, &t);
  free(data);
  return id;
}

static vitc_status unary(layout *l, int i) {
  vitc_node *n = &l->g->nodes[i];
  int in[3] = {nhwc_source(l->g, n->in[0])}, z = in[0];
  if (z < 0) return VITC_OK;
  memcpy(in + 1, n->in + 1, sizeof(int) * (size_t)(n->nin - 1)); /* the scalars stay */
  return finish(l, i, add(l, n->op, in, n->nin, type_of(l->g, z, 4, l->g->tensors[z].v.dims), -1, n->attrs,
                          n->nattr, "nhwc"));
}

/* Both inputs T(z) (any broadcast: both are rank 4 and permute alike), or one input T(z) and the other
 * of the output's shape with a channels-last copy already made (a residual), or a constant. */
static vitc_status elementwise(layout *l, int i) {
  const vitc_graph *g = l->g;
  vitc_node *n = &l->g->nodes[i];
  int out = n->out[0], in[2];
  int sources = (nhwc_source(g, n->in[0]) >= 0) + (nhwc_source(g, n->in[1]) >= 0);
  if (!is_f32_rank4(g, out) || !sources) return VITC_OK;
  for (int k = 0; k < 2; k++) {
    int t = n->in[k], z = nhwc_source(g, t);
    bool same = vitc_match_same_type(g, t, out);
    if (z < 0 && same && !vitc_match_known(g, t)) z = channels_last_copy(g, t);
    if (z >= 0 && (sources == 2 || same)) {
      in[k] = z;
    } else if (vitc_match_known(g, t) && g->tensors[t].v.rank <= 4) {
      in[k] = -2 - t; /* a constant to permute once the match is certain */
    } else {
      return VITC_OK;
    }
  }
  for (int k = 0; k < 2; k++)
    if (in[k] < -1 && (in[k] = channels_last_constant(l, -2 - in[k], k)) < 0) return VITC_ERR_NOMEM;
  vitc_op op = n->op;
  const int64_t *d = g->tensors[out].v.dims;
  int64_t dims[4] = {d[0], d[2], d[3], d[1]};
  return finish(l, i, add(l, op, in, 2, type_of(g, out, 4, dims), -1, NULL, 0, "nhwc"));
}

/* A reduction of T(z) that drops the dims it folds and leaves the others in z's order (it folds C, or H
 * and W, or all but N) reads z itself, with its axes moved:
 *
 *   ReduceMean(T(z), [2, 3]) {keepdims 0}   →   ReduceMean(z, [1, 2]) {keepdims 0}     (PVT's head) */
static vitc_status reduce(layout *l, int i) {
  vitc_node *n = &l->g->nodes[i];
  int z = nhwc_source(l->g, n->in[0]);
  if (z < 0 || vitc_attr_int(n, "keepdims", 1) || n->nin < 2 || !vitc_match_known(l->g, n->in[1])) return VITC_OK;
  const vitc_value *a = &l->g->tensors[n->in[1]].v;
  int64_t naxes = vitc_numel(a), axes[4], last = -1;
  bool folded[4] = {false, false, false, false};
  if (naxes < 1 || naxes > 4) return VITC_OK;
  for (int64_t k = 0; k < naxes; k++) {
    int64_t d = vitc_load_i(a, k);
    d = d < 0 ? d + 4 : d;
    if (d < 0 || d > 3) return VITC_OK;
    folded[d] = true;
    axes[k] = to_first[d];
  }
  for (int d = 0; d < 4; d++) /* the dims kept, in order, must lie in z in the same order */
    if (!folded[d]) {
      if (to_first[d] < last) return VITC_OK;
      last = to_first[d];
    }
  vitc_value v = {.dtype = VITC_I64, .rank = 1, .dims = {naxes}, .data = axes};
  int in[2] = {z, add_constant(l, "nhwc_axes", &v)}, out = n->out[0];
  if (in[1] < 0) return VITC_ERR_NOMEM;
  n = &l->g->nodes[i];
  n->dead = true;
  return add(l, n->op, in, 2, l->g->tensors[out].v, out, n->attrs, n->nattr, NULL) < 0 ? VITC_ERR_NOMEM : VITC_OK;
}

/* An op cutting or joining along named dims (AXES) whose moved inputs are all T(z) runs on the z's, its
 * axes renamed to match:
 *
 *   Split(T(z), axis 1)              →   T(Split(z, axis 3)) for each output    (FocalNet's q, ctx, gates;
 *   Concat(T(a), T(b), .., axis 1)   →   T(Concat(a, b, .., axis 3))             InceptionNeXt's branches)
 *   Slice(T(z), axes [1])            →   T(Slice(z, axes [3]))
 *
 * Without an axes input Slice cuts dims 0, 1, .. in order: they are written out, renamed. */
static vitc_status axes_op(layout *l, int i) {
  vitc_graph *g = l->g;
  const vitc_node *n = &g->nodes[i];
  unsigned moved = vitc_moved_inputs(g, n);
  const vitc_attr *axis = vitc_attr_find(n, "axis");
  int nin = n->nin, nout = n->nout, in[MAX_CARRIED], out[MAX_CARRIED], axes_in = -1;
  int64_t axes[4];
  /* a Split without `axis` (dim 0) is left as it is */
  if (nin > MAX_CARRIED || nout > MAX_CARRIED || n->nattr > MAX_ATTRS || (!axis && nin < 3)) return VITC_OK;
  for (int k = 0; k < nin; k++) {
    in[k] = n->in[k];
    if (moved >> k & 1u && (in[k] = nhwc_source(g, n->in[k])) < 0) return VITC_OK;
  }
  for (int k = 0; k < nout; k++)
    if (!is_f32_rank4(g, n->out[k])) return VITC_OK;
  if (!axis) { /* axes input 3, or dims 0.. for each start (input 1) */
    bool given = nin > 3 && n->in[3] >= 0;
    int a = given ? n->in[3] : n->in[1];
    if (!vitc_match_known(g, a) || vitc_numel(&g->tensors[a].v) > 4) return VITC_OK;
    int64_t count = vitc_numel(&g->tensors[a].v);
    for (int64_t k = 0; k < count; k++) {
      int64_t d = given ? vitc_load_i(&g->tensors[a].v, k) : k;
      d = d < 0 ? d + 4 : d;
      if (d < 0 || d > 3) return VITC_OK;
      axes[k] = to_first[d];
    }
    vitc_value v = {.dtype = VITC_I64, .rank = 1, .dims = {count}, .data = axes};
    if ((axes_in = add_constant(l, "nhwc_axes", &v)) < 0) return VITC_ERR_NOMEM;
    if (nin < 4) in[nin++] = -1; /* Slice(data, starts, ends) gains its axes input */
    in[3] = axes_in;
  }
  n = &g->nodes[i];
  vitc_attr attrs[MAX_ATTRS];
  int nattr = n->nattr;
  for (int k = 0; k < nattr; k++) {
    attrs[k] = n->attrs[k];
    if (axis && !strcmp(attrs[k].name, "axis")) attrs[k].i = to_first[(attrs[k].i + 4) % 4];
  }
  char name[512];
  for (int k = 0; k < nout; k++) {
    const vitc_tensor *t = &g->tensors[n->out[k]];
    const int64_t *d = t->v.dims;
    int64_t dims[4] = {d[0], d[2], d[3], d[1]};
    vitc_value type = type_of(g, n->out[k], 4, dims);
    snprintf(name, sizeof name, "%s.nhwc", t->name);
    if ((out[k] = vitc_graph_add_tensor(g, name)) < 0) goto nomem;
    n = &g->nodes[i];
    g->tensors[out[k]].v = type;
    g->tensors[out[k]].shape_known = true;
  }
  snprintf(name, sizeof name, "%s/nhwc", n->name);
  if (vitc_graph_add_node(g, n->op, name, in, nin, out, nout, attrs, nattr) < 0) goto nomem;
  g->nodes[i].dead = true;
  l->changed = true;
  for (int k = 0; k < nout; k++) {
    l->tensor = g->tensors[g->nodes[i].out[k]].name;
    if (add_transpose(l, out[k], to_first, 4, g->nodes[i].out[k], NULL) < 0) return VITC_ERR_NOMEM;
  }
  return VITC_OK;
nomem:
  return vitc_fail(l->err, VITC_ERR_NOMEM, "%s: out of memory in to_channels_last at '%s'", g->path, l->node);
}

static vitc_status whole_image_norm(layout *l, int i) {
  int t, z, back = whole_image_norm_view(l->g, &l->g->nodes[i], &t);
  if (back < 0 || (z = nhwc_source(l->g, t)) < 0) return VITC_OK;
  const vitc_value *v = &l->g->tensors[l->g->nodes[i].in[0]].v;
  int64_t flat[3] = {v->dims[0], 1, v->dims[2]}, nhwc[4];
  memcpy(nhwc, l->g->tensors[z].v.dims, sizeof nhwc);
  int in[3] = {add_reshape(l, z, 3, flat, -1, "flat"), l->g->nodes[i].in[1], l->g->nodes[i].in[2]};
  if (in[0] < 0) return VITC_ERR_NOMEM;
  vitc_node *n = &l->g->nodes[i];
  int y = add(l, n->op, in, 3, type_of(l->g, in[0], 3, flat), -1, n->attrs, n->nattr, "nhwc");
  y = y < 0 ? -1 : add_reshape(l, y, 4, nhwc, -1, "image");
  l->g->nodes[i].dead = true;
  return finish(l, back, y);
}

/* ---------------------------------------------------------------- cancelling */

/* A graph output keeps its tensor (its name is the model's interface): a Reshape copies z into it. */
static vitc_status back_to_last(layout *l, int i) {
  vitc_node *n = &l->g->nodes[i];
  int z = nhwc_source(l->g, n->in[0]), out = n->out[0];
  if (z < 0) return VITC_OK;
  n->dead = true;
  l->changed = true;
  if (vitc_graph_is_output(l->g, out))
    return add_reshape(l, z, 4, l->g->tensors[z].v.dims, out, NULL) < 0 ? VITC_ERR_NOMEM : VITC_OK;
  vitc_graph_replace_uses(l->g, out, z);
  return VITC_OK;
}

/* Offset in z [N, H, W, C] of element e of T(z) [N, C, H, W] = image. */
static int64_t nhwc_offset(const int64_t *image, int64_t e) {
  int64_t plane = image[2] * image[3], c = e / plane % image[1], n = e / (plane * image[1]);
  return (n * plane + e % plane) * image[1] + c;
}

/* Offset in a (dims `dims`, rank r) of element f of Transpose(a, perm). */
static int64_t permuted_offset(const int64_t *dims, const int64_t *perm, int r, int64_t f) {
  int64_t stride[VITC_MAX_RANK], off = 0;
  for (int d = r - 1; d >= 0; d--) stride[d] = d == r - 1 ? 1 : stride[d + 1] * dims[d + 1];
  for (int d = r - 1; d >= 0; d--) {
    off += f % dims[perm[d]] * stride[perm[d]];
    f /= dims[perm[d]];
  }
  return off;
}

/* The next permutation of p[0..r) in lexicographic order; false after the last. */
static bool next_perm(int64_t *p, int r) {
  int i = r - 2;
  while (i >= 0 && p[i] >= p[i + 1]) i--;
  if (i < 0) return false;
  int j = r - 1;
  while (p[j] <= p[i]) j--;
  int64_t s = p[i];
  p[i] = p[j];
  p[j] = s;
  for (int a = i + 1, b = r - 1; a < b; a++, b--) s = p[a], p[a] = p[b], p[b] = s;
  return true;
}

/* Whether t, made by views from z, is z's elements moved by one Transpose (the identity alone unless
 * any_perm; other perms at rank ≤ 4 only), and which perm:
 *   image NULL:  t = Transpose(Reshape(z, w), perm), w the dims of t permuted back;
 *   image set:   t = T(Reshape(Transpose(z, perm), [N, H, W, C])), image t's dims [N, C, H, W].
 * *yes false when no perm fits. */
static vitc_status holds(const vitc_graph *g, int z, int t, const int64_t *image, bool any_perm, int64_t *perm,
                         bool *yes, vitc_error *err) {
  int64_t *origins, count = vitc_numel(&g->tensors[t].v);
  const vitc_value *tv = &g->tensors[t].v, *zv = &g->tensors[z].v;
  int r = image ? zv->rank : tv->rank;
  *yes = false;
  vitc_status st = vitc_probe_origins(g, z, t, &origins, err);
  if (st != VITC_OK || !origins || count != vitc_numel(zv)) {
    free(origins);
    return st;
  }
  for (int d = 0; d < r; d++) perm[d] = d;
  do {
    int64_t dims[VITC_MAX_RANK];
    for (int d = 0; d < r; d++) dims[image ? d : perm[d]] = image ? zv->dims[d] : tv->dims[d];
    *yes = true;
    for (int64_t e = 0; e < count && *yes; e++)
      *yes = origins[e] == permuted_offset(dims, perm, r, image ? nhwc_offset(image, e) : e);
  } while (!*yes && any_perm && r <= 4 && next_perm(perm, r));
  free(origins);
  return VITC_OK;
}

static bool is_identity(const int64_t *perm, int r) {
  for (int d = 0; d < r; d++)
    if (perm[d] != d) return false;
  return true;
}

/* Tokens [N, H·W, C] seen as an image by views, as PVT v2's and CoaT's depthwise convs and XCiT's LPI
 * read them:
 *
 *   x = Reshape(Transpose(y [N, H·W, C], [0, 2, 1]), [N, C, H, W])   →   x = T(Reshape(y, [N, H, W, C]))
 *
 * (any views up to 4 deep whose result the probe finds in that order). Tokens split into heads first,
 * as CoaT's convolutional relative position encoding reads V [N, heads, H·W, C/heads], are the same
 * image once their heads move next to their channels:
 *
 *   x = Reshape(Transpose(v, [0, 1, 3, 2]), [N, C, H, W])   →   x = T(Reshape(Transpose(v, [0, 2, 1, 3]), [N, H, W, C]))
 *
 * (the one Transpose the probe finds; it replaces the one the views had). Rewritten only for a Conv
 * that reads x alone and then runs channels-last on the view of y; its result's way back to tokens,
 * Transpose(Reshape(T(z), [N, C, H·W]), [0, 2, 1]), is a view of z that `view` turns into a Reshape of z,
 * or into a Transpose of one (back to heads). */
static vitc_status image_of_tokens(layout *l, int i) {
  const vitc_graph *g = l->g;
  int x = g->nodes[i].out[0], y = g->nodes[i].in[0];
  const vitc_node *reader = only_reader(g, x);
  vitc_conv_geometry p;
  if (!is_f32_rank4(g, x) || nhwc_source(g, x) >= 0 || !reader || reader->op != VITC_OP_Conv || reader->in[0] != x ||
      !conv_geometry(g, reader, &p) || channels_last_form(g, reader, &p, true) == CONV_STAYS)
    return VITC_OK;
  const int64_t *d = g->tensors[x].v.dims;
  int64_t image[4] = {d[0], d[1], d[2], d[3]}, nhwc[4] = {d[0], d[2], d[3], d[1]}, perm[VITC_MAX_RANK];
  /* a reading in order at any depth first (no Transpose added); else the deepest one moved by a
   * Transpose, so that the Transpose in the views goes */
  for (int any_perm = 0; any_perm < 2; any_perm++) {
    int found = -1;
    int64_t found_perm[VITC_MAX_RANK];
    for (int depth = 0, t = y; depth < 4 && t >= 0; depth++) {
      bool yes;
      vitc_status st = holds(g, t, x, image, any_perm, perm, &yes, l->err);
      if (st != VITC_OK) return st;
      if (yes) {
        found = t;
        memcpy(found_perm, perm, sizeof perm);
        if (!any_perm) break;
      }
      const vitc_node *q = g->tensors[t].producer >= 0 ? &g->nodes[g->tensors[t].producer] : NULL;
      t = !q || q->dead || !is_view(q) ? -1 : q->in[0];
    }
    if (found < 0) continue;
    int r = g->tensors[found].v.rank;
    l->g->nodes[i].dead = true;
    int v = is_identity(found_perm, r) ? found : add_transpose(l, found, found_perm, r, -1, "heads_to_channels");
    int z = v < 0 ? -1 : add_reshape(l, v, 4, nhwc, -1, "nhwc_view");
    return z < 0 || add_transpose(l, z, to_first, 4, x, NULL) < 0 ? VITC_ERR_NOMEM : VITC_OK;
  }
  return VITC_OK;
}

/* A view (up to 4 deep) of T(z) that puts z's elements back in order becomes a Reshape of z; a Transpose
 * whose result is z's elements moved by one Transpose becomes that Transpose of a Reshape of z. */
static vitc_status view(layout *l, int i) {
  const vitc_graph *g = l->g;
  int out = g->nodes[i].out[0];
  if (!g->tensors[out].shape_known) return VITC_OK;
  /* in order at any depth first; moved by a Transpose only in place of a Transpose (a Reshape replaced
   * so would add a copy) */
  for (int any_perm = 0; any_perm < 1 + (g->nodes[i].op == VITC_OP_Transpose); any_perm++)
    for (int depth = 0, t = g->nodes[i].in[0]; depth < 4 && t >= 0 && g->tensors[t].producer >= 0; depth++) {
      const vitc_node *p = &g->nodes[g->tensors[t].producer];
      int z = nhwc_source(g, t);
      int64_t perm[VITC_MAX_RANK], dims[VITC_MAX_RANK];
      bool yes;
      vitc_status st = z >= 0 ? holds(g, z, out, NULL, any_perm, perm, &yes, l->err) : VITC_OK;
      if (st != VITC_OK) return st;
      if (z >= 0 && yes) {
        const vitc_value *v = &g->tensors[out].v;
        l->g->nodes[i].dead = true;
        if (!any_perm) return add_reshape(l, z, v->rank, v->dims, out, NULL) < 0 ? VITC_ERR_NOMEM : VITC_OK;
        for (int d = 0; d < v->rank; d++) dims[perm[d]] = v->dims[d];
        int w = add_reshape(l, z, v->rank, dims, -1, "heads_view");
        return w < 0 || add_transpose(l, w, perm, v->rank, out, NULL) < 0 ? VITC_ERR_NOMEM : VITC_OK;
      }
      if (p->dead || !is_view(p)) break;
      t = p->in[0];
    }
  return image_of_tokens(l, i);
}

/* ---------------------------------------------------------------- the sweep */

static vitc_status visit(layout *l, int i) {
  vitc_node *n = &l->g->nodes[i];
  l->node = n->name;
  l->tensor = l->g->tensors[n->out[0]].name;
  if (is_unary_elementwise(l->g, n)) return unary(l, i);
  if (vitc_ops[n->op].shape == vitc_ops[VITC_OP_ReduceMean].shape) return reduce(l, i); /* any Reduce* */
  switch (n->op) {
  case VITC_OP_Conv: return conv(l, i);
  case VITC_OP_LayerNormChannels: return channels_norm(l, i);
  case VITC_OP_GlobalAveragePool: return global_average(l, i);
  case VITC_OP_AveragePool: return average_pool(l, i);
  case VITC_OP_Add: case VITC_OP_Sub: case VITC_OP_Mul: case VITC_OP_Div: case VITC_OP_Pow: return elementwise(l, i);
  case VITC_OP_InstanceNormalization: return whole_image_norm(l, i);
  case VITC_OP_Transpose:
    if (is_transpose(n, to_last)) return back_to_last(l, i);
    return view(l, i);
  default:
    if (vitc_op_has(n->op, VITC_OPF_AXES)) return axes_op(l, i);
    return vitc_op_has(n->op, VITC_OPF_VIEW) ? view(l, i) : VITC_OK;
  }
}

vitc_status vitc_to_channels_last(vitc_graph *g, vitc_error *err) {
  layout l = {.g = g, .err = err};
  vitc_status st = VITC_OK;
  int nn = g->nnodes;
  for (int i = 0; st == VITC_OK && i < nn; i++)
    if (!g->nodes[i].dead && g->nodes[i].nout >= 1 && g->nodes[i].out[0] >= 0) st = visit(&l, i);
  if (st != VITC_OK || !l.changed) return st;
  vitc_graph_compact(g);
  if ((st = vitc_graph_toposort(g, err)) != VITC_OK) return st;
  return vitc_eliminate_dead(g, err);
}
