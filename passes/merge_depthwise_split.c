/* merge_depthwise_split — depthwise convolutions of different kernel sizes over consecutive channel
 * groups of one image (CoaT's convolutional relative position encoding, timm coat.ConvRelPosEnc: 3×3,
 * 5×5 and 7×7 over split head groups of V) become one depthwise Conv whose smaller kernels sit zero-padded
 * in the centre of the largest:
 *
 *   %a, %b, %c = Split(%x) {axis = 1}
 *   %ya = Conv(%a, Wa [Ca, 1, ka, ka], ba) {group = Ca, stride 1, pads (ka-1)/2}   (and %yb, %yc)
 *   %y  = Concat(%ya, %yb, %yc) {axis = 1}      ─→   %y = Conv(%x, W [C, 1, K, K], b) {group = C, pads (K-1)/2}
 *
 * A "same" convolution of odd size k equals one of size K > k with its taps centred and zeros around
 * them, so every output channel is unchanged; the Split and Concat copies go, for more (zero) taps in the
 * smaller groups. Each Split output is read by its Conv alone, each Conv by the Concat alone. */
#include <stdlib.h>

#include "passes/pattern.h"

enum { MAX_GROUPS = 8 };

typedef struct dw_group {
  vitc_node *conv;
  int64_t channels, kh, kw;
} dw_group;

/* conv is a depthwise, stride-1, "same" Conv of odd kernel over channels of x, weights and bias known. */
static bool same_depthwise(const vitc_graph *g, const vitc_node *conv, dw_group *d) {
  const vitc_value *x = &g->tensors[conv->in[0]].v, *w = &g->tensors[conv->in[1]].v;
  if (!g->tensors[conv->in[0]].shape_known || !vitc_match_known(g, conv->in[1]) || (conv->nin > 2 && conv->in[2] >= 0 && !vitc_match_known(g, conv->in[2])) ||
      x->rank != 4 || w->rank != 4 || w->dtype != VITC_F32 || w->dims[0] != x->dims[1] || w->dims[1] != 1 ||
      vitc_attr_int(conv, "group", 1) != x->dims[1] || !vitc_match_all_ones(conv, "strides") ||
      !vitc_match_centred_window(conv, w->dims[2], w->dims[3]))
    return false;
  *d = (dw_group){.conv = (vitc_node *)conv, .channels = w->dims[0], .kh = w->dims[2], .kw = w->dims[3]};
  return true;
}

/* W [C, 1, KH, KW] with each group's taps centred, and b [C]. */
static void merged_weights(const vitc_graph *g, const dw_group *d, int n, int64_t kh, int64_t kw, float *w, float *b) {
  for (int i = 0, c0 = 0; i < n; c0 += (int)d[i++].channels) {
    const vitc_node *conv = d[i].conv;
    const vitc_value *wi = &g->tensors[conv->in[1]].v;
    int64_t dy = (kh - d[i].kh) / 2, dx = (kw - d[i].kw) / 2;
    for (int64_t c = 0; c < d[i].channels; c++) {
      b[c0 + c] = conv->nin > 2 && conv->in[2] >= 0 ? (float)vitc_load_f(&g->tensors[conv->in[2]].v, c) : 0.0f;
      for (int64_t y = 0; y < d[i].kh; y++)
        for (int64_t x = 0; x < d[i].kw; x++)
          w[((c0 + c) * kh + y + dy) * kw + x + dx] = (float)vitc_load_f(wi, (c * d[i].kh + y) * d[i].kw + x);
    }
  }
}

static vitc_status visit(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  const vitc_graph *g = rw->g;
  vitc_node *cat = &g->nodes[i], *split = NULL;
  if (cat->op != VITC_OP_Concat || cat->nin < 2 || cat->nin > MAX_GROUPS || !g->tensors[cat->out[0]].shape_known ||
      g->tensors[cat->out[0]].v.rank != 4 || vitc_attr_int(cat, "axis", 0) != 1)
    return VITC_OK;
  dw_group d[MAX_GROUPS];
  int64_t kh = 1, kw = 1, channels = 0;
  for (int k = 0; k < cat->nin; k++) {
    vitc_node *conv = vitc_match_inner(rw, cat->in[k], VITC_OP_Conv, 1);
    vitc_node *s = conv ? vitc_match_inner(rw, conv->in[0], VITC_OP_Split, 1) : NULL;
    if (!s || (split && s != split) || s->nout != cat->nin || s->out[k] != conv->in[0] || !same_depthwise(g, conv, &d[k]))
      return VITC_OK;
    split = s;
    kh = d[k].kh > kh ? d[k].kh : kh;
    kw = d[k].kw > kw ? d[k].kw : kw;
    channels += d[k].channels;
  }
  int64_t axis = vitc_attr_int(split, "axis", 0);
  if ((axis != 1 && axis != -3) || g->tensors[split->in[0]].v.dims[1] != channels) return VITC_OK;
  float *w = calloc((size_t)(channels * kh * kw + channels), sizeof(float));
  if (!w) return vitc_fail(err, VITC_ERR_NOMEM, "merge_depthwise_split: out of memory for %lld channels", (long long)channels);
  merged_weights(g, d, cat->nin, kh, kw, w, w + channels * kh * kw);
  vitc_value wv = {.dtype = VITC_F32, .rank = 4, .dims = {channels, 1, kh, kw}, .data = w};
  vitc_value bv = {.dtype = VITC_F32, .rank = 1, .dims = {channels}, .data = w + channels * kh * kw};
  const char *base = g->tensors[cat->out[0]].name;
  int in[3] = {split->in[0], vitc_rewrite_constant(rw, base, "weight", &wv, err), vitc_rewrite_constant(rw, base, "bias", &bv, err)};
  free(w);
  if (in[1] < 0 || in[2] < 0) return err->status;
  int64_t ones[2] = {1, 1}, kernel[2] = {kh, kw}, pads[4];
  vitc_attr attrs[5] = {{.name = "dilations", .type = VITC_ATTR_INTS, .n = 2, .ints = ones},
                        {.name = "group", .type = VITC_ATTR_INT, .i = channels},
                        {.name = "kernel_shape", .type = VITC_ATTR_INTS, .n = 2, .ints = kernel},
                        vitc_centred_pads(kh, kw, pads),
                        {.name = "strides", .type = VITC_ATTR_INTS, .n = 2, .ints = ones}};
  vitc_node *matched[MAX_GROUPS + 2];
  int n = 0;
  matched[n++] = split;
  for (int k = 0; k < cat->nin; k++) matched[n++] = d[k].conv;
  matched[n++] = cat;
  return vitc_rewrite(rw, matched, n, VITC_OP_Conv, in, 3, cat->out[0], attrs, 5, err);
}

vitc_status vitc_merge_depthwise_split(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "merge_depthwise_split", false, visit, NULL, err);
}
