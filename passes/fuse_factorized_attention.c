/* fuse_factorized_attention — CoaT's factorized attention with its convolutional relative position
 * encoding (timm coat.FactorAttnConvRelPosEnc), from the qkv projection's rows to the token rows the
 * output projection reads, becomes one vitc.FactorizedAttention (ir/ops/factorized_context.c): the head
 * split, the class token sliced off and padded back, V seen as an image and back, and the head merge are
 * all index arithmetic inside the op instead of copies.
 *
 *   %qkv                                               [B, N, 3C]          (N = L + IH·IW)
 *   %q, %k, %v = Reshape, Transpose, Split, Squeeze ..(%qkv)               [B, H, N, D] each
 *   %ctx  = FactorizedContext(%k, %v)                                      [B, H, D, D]
 *   %att  = Mul(MatMul(%q, %ctx), scale)
 *   %vimg = Slice, Transpose, Reshape ..(%qkv)         V's image rows      [B, IH, IW, C]
 *   %conv = DepthwiseConvNHWC(%vimg, W, b) {stride 1, "same"}              [B, IH, IW, C]
 *   %crpe = Pad ..(Mul(Slice ..(%qkv), Reshape, Transpose ..(%conv)))      q's image rows times the conv,
 *                                                                          0 on the L leading rows
 *   %sum  = Add(%att, %crpe)                                               [B, H, N, D]
 *   %y    = Transpose, Reshape ..(%sum)                                    [B, N, C]
 *                        ─→   %y = vitc.FactorizedAttention(%qkv, W, b) {heads = H, scale, image = [IH, IW]}
 *
 * Each movement chain is recognised by where its elements come from (vitc_probe_origins), not by its ops:
 * a tensor must copy exactly the elements the op reads in its place. Tensors in between that others read
 * stay for them; eliminate_dead sweeps the rest. */
#include <string.h>

#include "passes/pattern.h"

/* The sizes the pattern fixes, from q [B, H, N, D] and qkv [B, N, 3C]. */
typedef struct fa_shape {
  int64_t b, h, n, d, c, ih, iw, lead;
} fa_shape;

/* x (a view of qkv's rows at channel offset `channel`, heads split) as the op reads q, k or v. */
static vitc_view4 heads_view(const fa_shape *s, int64_t channel, int64_t first_row, int64_t rows) {
  return (vitc_view4){{s->b, s->h, rows, s->d}, {s->n * 3 * s->c, s->d, 3 * s->c, 1}, first_row * 3 * s->c + channel, 0};
}

static vitc_status check_view(const vitc_graph *g, int base, int t, vitc_view4 v, bool *ok, vitc_error *err) {
  if (!*ok) return VITC_OK;
  return vitc_match_view(g, base, t, &v, ok, err);
}

/* conv is a stride-1 "same" DepthwiseConvNHWC of odd kernel with a bias and no activation. */
static bool same_conv(const vitc_graph *g, const vitc_node *conv) {
  if (conv->nin < 3 || conv->in[2] < 0 || !vitc_match_known(g, conv->in[1]) || !vitc_match_known(g, conv->in[2]) ||
      strcmp(vitc_attr_str(conv, "activation", "none"), "none") || !vitc_match_all_ones(conv, "strides"))
    return false;
  const vitc_value *w = &g->tensors[conv->in[1]].v;
  return w->rank == 3 && vitc_match_centred_window(conv, w->dims[0], w->dims[1]);
}

/* The operand of binary node n produced by op, with the other in *other; NULL if neither is. */
static vitc_node *operand_by(const vitc_rewriter *rw, const vitc_node *n, vitc_op op, int *other) {
  for (int k = 0; k < 2; k++) {
    vitc_node *p = vitc_match_op(rw, n->in[k], op);
    if (p) return *other = n->in[1 - k], p;
  }
  return NULL;
}

static vitc_status visit(vitc_rewriter *rw, int i, void *ctx, vitc_error *err) {
  (void)ctx;
  vitc_graph *g = rw->g;
  vitc_node *last = &g->nodes[i], *add, *mul, *mm, *fc, *gate, *conv;
  int y = last->out[0], crpe, scale_t, q_img, conv_img;
  double scale;
  if (!vitc_moved_inputs(g, last) || !g->tensors[y].shape_known || g->tensors[y].v.rank != 3 ||
      !(add = vitc_match_op(rw, vitc_match_movement_source(g, y), VITC_OP_Add)) ||
      !(mul = operand_by(rw, add, VITC_OP_Mul, &crpe)) || !(mm = operand_by(rw, mul, VITC_OP_MatMul, &scale_t)) ||
      !vitc_match_scalar_value(g, scale_t, &scale) || !(fc = vitc_match_op(rw, mm->in[1], VITC_OP_FactorizedContext)) ||
      !(gate = vitc_match_op(rw, vitc_match_movement_source(g, crpe), VITC_OP_Mul)))
    return VITC_OK;
  /* The gate multiplies q's image rows by the conv's output, either way round. */
  conv = vitc_match_op(rw, vitc_match_movement_source(g, gate->in[1]), VITC_OP_DepthwiseConvNHWC);
  q_img = gate->in[0], conv_img = gate->in[1];
  if (!conv) {
    conv = vitc_match_op(rw, vitc_match_movement_source(g, gate->in[0]), VITC_OP_DepthwiseConvNHWC);
    q_img = gate->in[1], conv_img = gate->in[0];
  }
  int qkv = vitc_match_movement_source(g, mm->in[0]);
  const vitc_value *q = &g->tensors[mm->in[0]].v, *base = &g->tensors[qkv].v, *img = &g->tensors[conv ? conv->in[0] : qkv].v;
  if (!conv || !same_conv(g, conv) || qkv == mm->in[0] || !g->tensors[qkv].shape_known || base->dtype != VITC_F32 ||
      base->rank != 3 || q->rank != 4 || img->rank != 4 || !vitc_match_same_type(g, q_img, conv_img))
    return VITC_OK;
  fa_shape s = {.b = base->dims[0], .h = q->dims[1], .n = base->dims[1], .d = q->dims[3], .c = base->dims[2] / 3,
                .ih = img->dims[1], .iw = img->dims[2]};
  s.lead = s.n - s.ih * s.iw;
  if (base->dims[2] != 3 * s.c || s.h * s.d != s.c || s.lead < 0 || img->dims[0] != s.b || img->dims[3] != s.c ||
      vitc_numel(&g->tensors[y].v) != s.b * s.n * s.c || g->tensors[y].v.dims[0] != s.b || g->tensors[y].v.dims[1] != s.n)
    return VITC_OK;
  int64_t pixels = s.ih * s.iw;
  bool ok = true;
  vitc_status st = check_view(g, qkv, mm->in[0], heads_view(&s, 0, 0, s.n), &ok, err);
  if (st == VITC_OK) st = check_view(g, qkv, fc->in[0], heads_view(&s, s.c, 0, s.n), &ok, err);
  if (st == VITC_OK) st = check_view(g, qkv, fc->in[1], heads_view(&s, 2 * s.c, 0, s.n), &ok, err);
  if (st == VITC_OK) st = check_view(g, qkv, q_img, heads_view(&s, 0, s.lead, pixels), &ok, err);
  if (st == VITC_OK) /* V's image rows, channels last */
    st = check_view(g, qkv, conv->in[0], (vitc_view4){{s.b, s.ih, s.iw, s.c}, {s.n * 3 * s.c, s.iw * 3 * s.c, 3 * s.c, 1}, s.lead * 3 * s.c + 2 * s.c, 0}, &ok, err);
  if (st == VITC_OK) /* the conv's pixels split into heads */
    st = check_view(g, conv->out[0], conv_img, (vitc_view4){{s.b, s.h, pixels, s.d}, {pixels * s.c, s.d, s.c, 1}, 0, 0}, &ok, err);
  if (st == VITC_OK) /* the gated rows padded with the leading rows' zeros */
    st = check_view(g, gate->out[0], crpe, (vitc_view4){{s.b, s.h, s.n, s.d}, {s.h * pixels * s.d, pixels * s.d, s.d, 1}, -s.lead * s.d, s.lead}, &ok, err);
  if (st == VITC_OK) /* the heads merged back into token rows: y[b, n, h·D + j] */
    st = check_view(g, add->out[0], y, (vitc_view4){{s.b, s.n, s.h, s.d}, {s.h * s.n * s.d, s.d, s.n * s.d, 1}, 0, 0}, &ok, err);
  if (st != VITC_OK || !ok) return st;
  int64_t image[2] = {s.ih, s.iw};
  vitc_attr attrs[3] = {{.name = "heads", .type = VITC_ATTR_INT, .i = s.h},
                        {.name = "scale", .type = VITC_ATTR_FLOAT, .f = scale},
                        {.name = "image", .type = VITC_ATTR_INTS, .n = 2, .ints = image}};
  int in[3] = {qkv, conv->in[1], conv->in[2]};
  vitc_node *matched[1] = {last};
  return vitc_rewrite(rw, matched, 1, VITC_OP_FactorizedAttention, in, 3, y, attrs, 3, err);
}

vitc_status vitc_fuse_factorized_attention(vitc_graph *g, vitc_error *err) {
  return vitc_rewrite_each_node(g, "fuse_factorized_attention", true, visit, NULL, err);
}
