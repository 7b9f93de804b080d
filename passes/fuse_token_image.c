/* fuse_token_image — an image op on the image rows of token rows, with the leading rows (a class token)
 * split off and concatenated back, runs on the token rows in place, channels-last: no Slice, Transpose,
 * Reshape or Concat copies. The image op is a depthwise "same" convolution (timm coat.ConvPosEnc: cls,
 * img = x[:, :1], x[:, 1:]; img → image → depthwise 3×3 conv + img → tokens; cat(cls, ·)), which becomes
 * vitc.DepthwiseConvNHWC {image}, or a bilinear Resize (coat.ParallelBlock's interpolate between the
 * scales), which becomes vitc.ResizeTokens:
 *
 *   %x                                                          [B, L + H·W, C]
 *   %cls = Slice ..(%x)                    rows [0, L)          [B, L, C]
 *   %img = Slice, Transpose, Reshape ..(%x) rows L .. as NCHW   [B, C, H, W]
 *   %c   = FusedConv(%img, W [C, 1, k, k], b, %img) {group = C, stride 1, "same"}   (or Conv, no residual)
 *   %y   = Concat(%cls, Reshape, Transpose ..(%c)) {axis = 1}   [B, L + H·W, C]
 *                  ─→   %y = DepthwiseConvNHWC(%x, W' [k, k, C], b) {image = [H, W], pads, strides 1}
 *
 *   %c   = Resize(%img) {linear, half_pixel}                   [B, C, OH, OW]
 *   %y   = Concat(%cls, Reshape, Transpose ..(%c)) {axis = 1}   [B, L + OH·OW, C]
 *                  ─→   %y = ResizeTokens(%x) {image = [H, W], size = [OH, OW]}
 *
 * The residual that is the conv's own input is a 1 added to the centre tap of each channel's kernel. The
 * chains are recognised by where their elements come from (vitc_match_view). Tensors in between that
 * others read stay for them; eliminate_dead sweeps the rest. */
#include <stdlib.h>
#include <string.h>

#include "passes/pattern.h"

/* conv is a depthwise, stride-1, "same" Conv or FusedConv of odd kernel with known weights and no
 * activation, over C channels; its residual, if any, is its input. */
static bool same_depthwise(const vitc_graph *g, const vitc_node *conv) {
  if ((conv->op != VITC_OP_Conv && conv->op != VITC_OP_FusedConv) || !g->tensors[conv->in[0]].shape_known ||
      !vitc_match_known(g, conv->in[1]) || (conv->nin > 2 && conv->in[2] >= 0 && !vitc_match_known(g, conv->in[2])) ||
      (conv->nin > 3 && conv->in[3] >= 0 && conv->in[3] != conv->in[0]) ||
      strcmp(vitc_attr_str(conv, "activation", "none"), "none") || !vitc_match_all_ones(conv, "strides"))
    return false;
  const vitc_value *x = &g->tensors[conv->in[0]].v, *w = &g->tensors[conv->in[1]].v;
  return x->rank == 4 && w->rank == 4 && w->dtype == VITC_F32 && w->dims[0] == x->dims[1] && w->dims[1] == 1 &&
         vitc_attr_int(conv, "group", 1) == x->dims[1] && vitc_match_centred_window(conv, w->dims[2], w->dims[3]);
}

/* The nearest tensor both a and b are moved from (through vitc_match_movement_step), other than a and b
 * themselves; -1 if none. Not the furthest: the token rows may themselves come from a Concat. */
static int nearest_common_source(const vitc_graph *g, int a, int b) {
  enum { MAX_UP = 16 };
  int up[MAX_UP], n = 0;
  for (int t = a, next; n < MAX_UP && (next = vitc_match_movement_step(g, t)) != t; t = next) up[n++] = next;
  for (int t = b, next, k = 0; k < MAX_UP && (next = vitc_match_movement_step(g, t)) != t; t = next, k++)
    for (int j = 0; j < n; j++)
      if (up[j] == next) return next;
  return -1;
}

/* r is a bilinear Resize of an NCHW image over H and W alone, as ResizeTokens computes it: linear,
 * half_pixel (or pytorch_half_pixel onto more than one pixel), no antialias, no excluded outside, the
 * scales (if given) exactly the size ratios. */
static bool bilinear_resize(const vitc_graph *g, const vitc_node *r) {
  const vitc_value *x = &g->tensors[r->in[0]].v, *y = &g->tensors[r->out[0]].v;
  const char *coord = vitc_attr_str(r, "coordinate_transformation_mode", "half_pixel");
  int naxes;
  if (!g->tensors[r->out[0]].shape_known || x->rank != 4 || y->rank != 4 || x->dtype != VITC_F32 ||
      x->dims[0] != y->dims[0] || x->dims[1] != y->dims[1] || strcmp(vitc_attr_str(r, "mode", "nearest"), "linear") ||
      vitc_attr_int(r, "antialias", 0) || vitc_attr_int(r, "exclude_outside", 0) || vitc_attr_ints(r, "axes", &naxes) ||
      !(!strcmp(coord, "half_pixel") || (!strcmp(coord, "pytorch_half_pixel") && y->dims[2] > 1 && y->dims[3] > 1)))
    return false;
  const vitc_value *scales = r->nin > 2 && r->in[2] >= 0 ? &g->tensors[r->in[2]].v : NULL;
  if (!scales || !vitc_numel(scales)) return true; /* sizes given: the ratios are the scales */
  if (!scales->data || vitc_numel(scales) != 4) return false;
  for (int d = 0; d < 4; d++)
    if (vitc_load_f(scales, d) != (double)y->dims[d] / (double)x->dims[d]) return false;
  return true;
}

/* The weight [kh, kw, C] of the DepthwiseConvNHWC that replaces conv, plus the residual's 1 at the centre
 * when conv adds its own input; its id, or -1 with err set. */
static int depthwise_weight(vitc_rewriter *rw, const vitc_node *conv, int y, vitc_error *err) {
  vitc_graph *g = rw->g;
  const vitc_value *wv = &g->tensors[conv->in[1]].v;
  int64_t c = wv->dims[0], kh = wv->dims[2], kw = wv->dims[3];
  bool residual = conv->nin > 3 && conv->in[3] >= 0;
  float *wt = malloc(sizeof(float) * (size_t)(kh * kw * c));
  if (!wt) {
    vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory for a depthwise weight", g->path);
    return -1;
  }
  for (int64_t ch = 0; ch < c; ch++)
    for (int64_t k = 0; k < kh * kw; k++)
      wt[k * c + ch] = vitc_load_f(wv, ch * kh * kw + k) + (residual && k == kh / 2 * kw + kw / 2 ? 1.0f : 0.0f);
  vitc_value hwc = {.dtype = VITC_F32, .rank = 3, .dims = {kh, kw, c}, .data = wt};
  int id = vitc_rewrite_constant(rw, g->tensors[y].name, "weight_hwc", &hwc, err);
  free(wt);
  return id;
}

static vitc_status visit(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  vitc_graph *g = rw->g;
  vitc_node *cat = &g->nodes[i], *op = NULL;
  int y = cat->out[0];
  if (cat->op != VITC_OP_Concat || cat->nin != 2 || !g->tensors[y].shape_known || g->tensors[y].v.rank != 3 ||
      g->tensors[y].v.dtype != VITC_F32 || (vitc_attr_int(cat, "axis", 0) != 1 && vitc_attr_int(cat, "axis", 0) != -2))
    return VITC_OK;
  static const vitc_op image_ops[] = {VITC_OP_Conv, VITC_OP_FusedConv, VITC_OP_Resize};
  for (int k = 0; k < 3 && !op; k++) op = vitc_match_op(rw, vitc_match_movement_source(g, cat->in[1]), image_ops[k]);
  int x = op ? nearest_common_source(g, cat->in[0], op->in[0]) : -1;
  if (x < 0 || !g->tensors[x].shape_known || !(op->op == VITC_OP_Resize ? bilinear_resize(g, op) : same_depthwise(g, op)))
    return VITC_OK;
  const vitc_value *img = &g->tensors[op->in[0]].v, *out = &g->tensors[op->out[0]].v, *xv = &g->tensors[x].v;
  int64_t b = xv->dims[0], n = xv->dims[1], c = xv->dims[2], h = img->dims[2], w = img->dims[3], lead = n - h * w;
  int64_t oh = out->dims[2], ow = out->dims[3];
  const vitc_value *yv = &g->tensors[y].v;
  if (xv->rank != 3 || xv->dtype != VITC_F32 || img->dims[0] != b || img->dims[1] != c || lead < 1 ||
      yv->dims[0] != b || yv->dims[1] != lead + oh * ow || yv->dims[2] != c)
    return VITC_OK;
  bool ok = true;
  vitc_status st = vitc_match_view(g, x, cat->in[0], &(vitc_view4){{b, lead, c, 1}, {n * c, c, 1, 0}, 0, 0}, &ok, err);
  if (st == VITC_OK && ok) /* the image rows as NCHW */
    st = vitc_match_view(g, x, op->in[0], &(vitc_view4){{b, c, h, w}, {n * c, 1, w * c, c}, lead * c, 0}, &ok, err);
  if (st == VITC_OK && ok) /* the op's pixels back as token rows */
    st = vitc_match_view(g, op->out[0], cat->in[1], &(vitc_view4){{b, oh * ow, c, 1}, {c * oh * ow, 1, oh * ow, 0}, 0, 0}, &ok, err);
  if (st != VITC_OK || !ok) return st;

  int64_t image[2] = {h, w}, size[2] = {oh, ow};
  vitc_attr image_attr = {.name = "image", .type = VITC_ATTR_INTS, .n = 2, .ints = image};
  vitc_node *matched[1] = {cat};
  if (op->op == VITC_OP_Resize) {
    vitc_attr attrs[2] = {image_attr, {.name = "size", .type = VITC_ATTR_INTS, .n = 2, .ints = size}};
    return vitc_rewrite(rw, matched, 1, VITC_OP_ResizeTokens, &x, 1, y, attrs, 2, err);
  }
  int64_t kh = g->tensors[op->in[1]].v.dims[2], kw = g->tensors[op->in[1]].v.dims[3];
  int bias = op->nin > 2 ? op->in[2] : -1, weight = depthwise_weight(rw, op, y, err);
  if (weight < 0) return VITC_ERR_NOMEM;
  int64_t ones[2] = {1, 1}, pads[4];
  vitc_attr attrs[4] = {{.name = "strides", .type = VITC_ATTR_INTS, .n = 2, .ints = ones},
                        vitc_centred_pads(kh, kw, pads),
                        {.name = "dilations", .type = VITC_ATTR_INTS, .n = 2, .ints = ones}, image_attr};
  int in[3] = {x, weight, bias};
  matched[0] = &g->nodes[i];
  return vitc_rewrite(rw, matched, 1, VITC_OP_DepthwiseConvNHWC, in, bias >= 0 ? 3 : 2, y, attrs, 4, err);
}

vitc_status vitc_fuse_token_image(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "fuse_token_image", true, visit, NULL, err);
}
