/* emit_grn.c — vitc.GRN (ir/ops/grn.c) on float32 X [N, P, C] (P the spatial positions), a sample at a time:
 *
 *   pass 1    g[c] = sqrt(Σ_p x[p, c]²)                  a task per block of W channels: <W x double>
 *                                                        sums walking down the positions
 *   between   k[c] = gamma[c] · g[c] / (Σ_c g / C + eps)   on the calling thread, C values, in double
 *   pass 2    y[p, c] = (x[p, c] · k[c] + beta[c]) + x[p, c]   a task per position, W channels at a time
 *
 * Each pass runs across the runtime pool when the sample is large (emit_rows.h's row loop). The last block
 * of channels, when C is not a multiple of W (vec_width), is loaded and stored under a lane mask. g and k are
 * C-float arrays on the calling thread's stack, which the tasks read through pointers: 45 KB each for the
 * widest GRN of ConvNeXt V2 (4 · 2816 channels). */
#include "emit_rows.h"
#include "emitters.h"

typedef struct grn_shape {
  int64_t positions, channels;
  int w;              /* lanes: vec_width */
  LLVMTypeRef vf, vd; /* <w x float>, <w x double> */
} grn_shape;

/* Lanes c0 + i < C of the block at channel c0; NULL when every block is full. */
static LLVMValueRef block_mask(vitc_cg *cg, const grn_shape *s, LLVMValueRef c0) {
  if (s->channels % s->w == 0) return NULL;
  return vec_mask_dyn(cg, s->w, ix_sub(cg, cg_i64(cg, s->channels), c0));
}

/* w floats from p[at], the lanes outside mask read as 0; stored under the mask. */
static LLVMValueRef load_block(vitc_cg *cg, const grn_shape *s, LLVMValueRef p, LLVMValueRef at, LLVMValueRef mask) {
  LLVMValueRef ptr = gep_f32(cg, p, at);
  return mask ? vec_load_masked(cg, s->vf, ptr, mask) : vec_load(cg, s->vf, ptr, s->w);
}

static void store_block(vitc_cg *cg, const grn_shape *s, LLVMValueRef v, LLVMValueRef p, LLVMValueRef at,
                        LLVMValueRef mask) {
  LLVMValueRef ptr = gep_f32(cg, p, at);
  if (mask) vec_store_masked(cg, v, ptr, mask);
  else vec_store(cg, v, ptr, s->w);
}

/* Pass 1: g[c] for the block of channels each task row names. */
static void emit_norms(vitc_cg *cg, const grn_shape *s, LLVMValueRef x, LLVMValueRef g) {
  int64_t blocks = (s->channels + s->w - 1) / s->w;
  LLVMValueRef ptrs[2] = {x, g};
  row_loop rl;
  LLVMValueRef c0 = ix_mulk(cg, rows_begin(cg, &rl, blocks, s->positions * s->channels, ptrs, 2), s->w);
  LLVMValueRef mask = block_mask(cg, s, c0), acc = cg_var(cg, s->vd, LLVMConstNull(s->vd));
  cg_loop p = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, s->positions), 1);
  LLVMValueRef at = ix_add(cg, ix_mulk(cg, p.iv, s->channels), c0);
  LLVMValueRef v = vec_fcast(cg, load_block(cg, s, ptrs[0], at, mask), s->vd);
  LLVMValueRef sum = vec_add(cg, vec_load1(cg, s->vd, acc), vec_mul(cg, v, v));
  vec_store1(cg, sum, acc);
  cg_loop_end(cg, &p);
  LLVMValueRef norm = vec_sqrt(cg, vec_load1(cg, s->vd, acc));
  store_block(cg, s, vec_fcast(cg, norm, s->vf), ptrs[1], c0, mask);
  rows_end(cg, &rl);
}

/* Between the passes: k[c] = gamma[c] · g[c] / (mean g + eps). */
static void emit_gains(vitc_cg *cg, const grn_shape *s, LLVMValueRef g, LLVMValueRef gamma, double eps,
                       LLVMValueRef k) {
  LLVMValueRef sum = cg_var(cg, cg->f64, cg_const(cg, cg->f64, 0));
  cg_loop c = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, s->channels), 1);
  LLVMValueRef gc = load_f64(cg, g, c.iv, VITC_F32);
  vec_store1(cg, vec_add(cg, vec_load1(cg, cg->f64, sum), gc), sum);
  cg_loop_end(cg, &c);
  LLVMValueRef mean = vec_div(cg, vec_load1(cg, cg->f64, sum), cg_const(cg, cg->f64, (double)s->channels));
  LLVMValueRef inv = vec_div(cg, cg_const(cg, cg->f64, 1), vec_add(cg, mean, cg_const(cg, cg->f64, eps)));
  c = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, s->channels), 1);
  LLVMValueRef nx = vec_mul(cg, load_f64(cg, g, c.iv, VITC_F32), inv);
  store_f64(cg, k, c.iv, VITC_F32, vec_mul(cg, load_f64(cg, gamma, c.iv, VITC_F32), nx));
  cg_loop_end(cg, &c);
}

/* Pass 2: y = (x · k + beta) + x, a position per task row. */
static void emit_scale(vitc_cg *cg, const grn_shape *s, LLVMValueRef x, LLVMValueRef k, LLVMValueRef beta,
                       LLVMValueRef y) {
  LLVMValueRef ptrs[4] = {x, k, beta, y};
  row_loop rl;
  LLVMValueRef p = rows_begin(cg, &rl, s->positions, s->positions * s->channels, ptrs, 4);
  LLVMValueRef row = ix_mulk(cg, p, s->channels);
  cg_loop c = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, s->channels), s->w);
  LLVMValueRef mask = block_mask(cg, s, c.iv), at = ix_add(cg, row, c.iv);
  LLVMValueRef xv = load_block(cg, s, ptrs[0], at, mask);
  LLVMValueRef v = vec_muladd(cg, xv, load_block(cg, s, ptrs[1], c.iv, mask), load_block(cg, s, ptrs[2], c.iv, mask));
  store_block(cg, s, vec_add(cg, v, xv), ptrs[3], at, mask);
  cg_loop_end(cg, &c);
  rows_end(cg, &rl);
}

vitc_status emit_GRN(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *x = cg_in_value(cg, 0);
  if (x->dtype != VITC_F32 || x->rank < 3)
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "GRN is compiled for float32 [N, spatial.., C] only");
  grn_shape s = {.positions = 1, .channels = x->dims[x->rank - 1]};
  for (int d = 1; d < x->rank - 1; d++) s.positions *= x->dims[d];
  if (vitc_numel(x) == 0) return VITC_OK;
  s.w = vec_width(cg);
  s.vf = vec_of(cg, cg->f32, s.w);
  s.vd = vec_of(cg, cg->f64, s.w);
  LLVMTypeRef per_channel = LLVMArrayType(cg->f32, (unsigned)s.channels);
  LLVMValueRef g = cg_var(cg, per_channel, NULL), k = cg_var(cg, per_channel, NULL);
  int64_t sample = s.positions * s.channels;
  cg_loop b = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, x->dims[0]), 1);
  LLVMValueRef first = ix_mulk(cg, b.iv, sample);
  LLVMValueRef xs = cg_gep(cg, cg->f32, cg_in(cg, 0), first), ys = cg_gep(cg, cg->f32, cg_out(cg, 0), first);
  emit_norms(cg, &s, xs, g);
  emit_gains(cg, &s, g, cg_in(cg, 1), vitc_attr_float(n, "epsilon", 1e-6), k);
  emit_scale(cg, &s, xs, k, cg_in(cg, 2), ys);
  cg_loop_end(cg, &b);
  return VITC_OK;
}
