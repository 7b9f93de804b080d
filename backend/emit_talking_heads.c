/* emit_talking_heads.c — vitc.TalkingHeads (ir/ops/talking_heads.c), a query row at a time:
 *
 *   for r = (b, i) < B·N:                       (across the runtime pool when large)
 *     s[h, j] = scale · q[r, h] · k[b, j, h]     every head's scores of the row, on the task's stack
 *     m[g, j] = softmax_j(Σ_h s[h, j] Wl[h, g] + bl[g])
 *     s[f, j] = Σ_g m[g, j] Ww[g, f] + bw[f]
 *     y[r, f, :] = Σ_j s[f, j] · v[b, j, f, :]
 *
 * The H × N scores of a row stay in two stack arrays (cache-resident) while the heads are mixed before
 * and after the softmax; nothing of them reaches memory the graph sees. float32 in vectors of the
 * target's width (vec.h, vm_exp): each score is a dot product over Dh folded to a scalar, the mixing and
 * the softmax run along the keys j, the product with v along Dh. (A scalar loop in double ran CaiT-XXS24's
 * 24 talking-heads layers at under 1 GFLOP/s, 60% of the model's time.) */
#include <math.h>

#include "emit_rows.h"
#include "emitters.h"

enum { P_QKV, P_WL, P_BL, P_WW, P_BW, P_Y, NPTRS };

/* One query row's state, read by the vec_for bodies below. */
typedef struct th_row {
  int64_t heads, tokens, width, dh; /* width = H·Dh, a qkv row is 3·width */
  LLVMValueRef *ptrs;
  LLVMValueRef q_at, k_at;    /* scores: offsets of q[r, h] and k[b, j, h] in qkv */
  LLVMValueRef from, to;      /* mixing: score arrays [H, N] on the stack; to's row o */
  LLVMValueRef w, bias, o;    /* mixing: Wl or Ww, bl or bw, the output head */
  LLVMValueRef v_at, y_at;    /* product with v: offsets of v[b, 0, f] in qkv and y[r, f] in y */
  LLVMValueRef top, inv;      /* softmax: the row's maximum and 1 / its sum */
  cg_mut acc;
} th_row;

static LLVMTypeRef vt(vitc_cg *cg) { return vec_f32(cg); }

static LLVMValueRef load_at(vitc_cg *cg, LLVMValueRef base, LLVMValueRef i, int lanes) {
  return vec_load(cg, vt(cg), gep_f32(cg, base, i), lanes);
}

/* The lanes of a tail step are off past `lanes`; they take `fill` so a fold over whole vectors ignores them. */
static LLVMValueRef only_lanes(vitc_cg *cg, LLVMValueRef v, int lanes, double fill) {
  if (lanes == vec_width(cg)) return v;
  return vec_select(cg, vec_mask(cg, vec_width(cg), lanes), v, vec_const(cg, vt(cg), fill));
}

/* acc += q[r, h, d..] · k[b, j, h, d..] */
static void dot_step(vitc_cg *cg, LLVMValueRef d, int lanes, void *state) {
  th_row *t = state;
  LLVMValueRef q = load_at(cg, t->ptrs[P_QKV], ix_add(cg, t->q_at, d), lanes);
  LLVMValueRef k = load_at(cg, t->ptrs[P_QKV], ix_add(cg, t->k_at, d), lanes);
  cg_set(cg, t->acc, vec_fma(cg, q, k, cg_get(cg, t->acc)));
}

/* to[o, j..] = bias[o] + Σ_h from[h, j..] · W[h, o] */
static void mix_step(vitc_cg *cg, LLVMValueRef j, int lanes, void *state) {
  th_row *t = state;
  cg_set(cg, t->acc, vec_splat(cg, vec_load1(cg, cg->f32, gep_f32(cg, t->bias, t->o)), vt(cg)));
  cg_loop h = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, t->heads), 1);
  LLVMValueRef w = vec_load1(cg, cg->f32, gep_f32(cg, t->w, ix_add(cg, ix_mulk(cg, h.iv, t->heads), t->o)));
  LLVMValueRef x = load_at(cg, t->from, ix_add(cg, ix_mulk(cg, h.iv, t->tokens), j), lanes);
  cg_set(cg, t->acc, vec_fma(cg, vec_splat(cg, w, vt(cg)), x, cg_get(cg, t->acc)));
  cg_loop_end(cg, &h);
  vec_store(cg, cg_get(cg, t->acc), gep_f32(cg, t->to, ix_add(cg, ix_mulk(cg, t->o, t->tokens), j)), lanes);
}

/* softmax along row `to` of the stack array: its maximum, exp and sum, the scaling by 1 / sum */
static void max_step(vitc_cg *cg, LLVMValueRef j, int lanes, void *state) {
  th_row *t = state;
  LLVMValueRef x = only_lanes(cg, load_at(cg, t->to, j, lanes), lanes, -HUGE_VALF);
  cg_set(cg, t->acc, vec_max(cg, cg_get(cg, t->acc), x));
}

static void exp_step(vitc_cg *cg, LLVMValueRef j, int lanes, void *state) {
  th_row *t = state;
  LLVMValueRef e = vm_exp(cg, vec_sub(cg, load_at(cg, t->to, j, lanes), vec_splat(cg, t->top, vt(cg))));
  vec_store(cg, e, gep_f32(cg, t->to, j), lanes);
  cg_set(cg, t->acc, vec_add(cg, cg_get(cg, t->acc), only_lanes(cg, e, lanes, 0)));
}

static void scale_step(vitc_cg *cg, LLVMValueRef j, int lanes, void *state) {
  th_row *t = state;
  vec_store(cg, vec_mul(cg, load_at(cg, t->to, j, lanes), vec_splat(cg, t->inv, vt(cg))), gep_f32(cg, t->to, j), lanes);
}

/* y[r, f, d..] = Σ_j s[f, j] · v[b, j, f, d..] */
static void value_step(vitc_cg *cg, LLVMValueRef d, int lanes, void *state) {
  th_row *t = state;
  cg_set(cg, t->acc, vec_const(cg, vt(cg), 0));
  cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, t->tokens), 1);
  LLVMValueRef p = vec_load1(cg, cg->f32, gep_f32(cg, t->from, ix_add(cg, ix_mulk(cg, t->o, t->tokens), j.iv)));
  LLVMValueRef v = load_at(cg, t->ptrs[P_QKV], ix_add(cg, ix_add(cg, t->v_at, ix_mulk(cg, j.iv, 3 * t->width)), d), lanes);
  cg_set(cg, t->acc, vec_fma(cg, vec_splat(cg, p, vt(cg)), v, cg_get(cg, t->acc)));
  cg_loop_end(cg, &j);
  vec_store(cg, cg_get(cg, t->acc), gep_f32(cg, t->ptrs[P_Y], ix_add(cg, t->y_at, d)), lanes);
}

/* to[o, :] = bias[o] + Σ_h from[h, :] · W[h, o] for every head o. */
static void mix_heads(vitc_cg *cg, th_row *t, int w, int bias, LLVMValueRef from, LLVMValueRef to) {
  t->w = t->ptrs[w], t->bias = t->ptrs[bias], t->from = from, t->to = to;
  cg_loop o = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, t->heads), 1);
  t->o = o.iv;
  vec_for(cg, cg_i64(cg, 0), t->tokens, vec_width(cg), mix_step, t);
  cg_loop_end(cg, &o);
}

/* m[g, :] = softmax(m[g, :]) for every head g. */
static void softmax_rows(vitc_cg *cg, th_row *t, LLVMValueRef m) {
  cg_loop g = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, t->heads), 1);
  t->to = gep_f32(cg, m, ix_mulk(cg, g.iv, t->tokens));
  cg_set(cg, t->acc, vec_const(cg, vt(cg), -HUGE_VALF));
  vec_for(cg, cg_i64(cg, 0), t->tokens, vec_width(cg), max_step, t);
  t->top = vec_reduce(cg, VEC_MAX, cg_get(cg, t->acc));
  cg_set(cg, t->acc, vec_const(cg, vt(cg), 0));
  vec_for(cg, cg_i64(cg, 0), t->tokens, vec_width(cg), exp_step, t);
  t->inv = vec_div(cg, cg_const(cg, cg->f32, 1), vec_reduce(cg, VEC_SUM, cg_get(cg, t->acc)));
  vec_for(cg, cg_i64(cg, 0), t->tokens, vec_width(cg), scale_step, t);
  cg_loop_end(cg, &g);
}

vitc_status emit_TalkingHeads(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *qkv = cg_in_value(cg, 0), *y = cg_out_value(cg, 0);
  th_row t = {.heads = vitc_attr_int(n, "heads", 0), .tokens = qkv->dims[1], .width = y->dims[2]};
  if (t.heads <= 0 || t.width % t.heads)
    return vitc_fail(err, VITC_ERR_INVALID, "TalkingHeads heads %lld does not divide %lld columns", (long long)t.heads,
                     (long long)t.width);
  t.dh = t.width / t.heads;
  if (vitc_numel(y) == 0) return VITC_OK;
  LLVMValueRef ptrs[NPTRS];
  for (int k = 0; k < P_Y; k++) ptrs[k] = cg_in(cg, k);
  ptrs[P_Y] = cg_out(cg, 0);
  t.ptrs = ptrs;
  row_loop rl;
  int64_t rows = qkv->dims[0] * t.tokens;
  LLVMValueRef r = rows_begin(cg, &rl, rows, rows * t.tokens * (2 * t.width + 2 * t.heads * t.heads), ptrs, NPTRS);
  LLVMTypeRef scores_t = LLVMArrayType(cg->f32, (unsigned)(t.heads * t.tokens));
  LLVMValueRef scores = cg_var(cg, scores_t, NULL), mixed = cg_var(cg, scores_t, NULL);
  t.acc = cg_mut_new(cg, vt(cg), NULL);
  LLVMValueRef q_row = ix_mulk(cg, r, 3 * t.width);
  LLVMValueRef keys = ix_mulk(cg, ix_divk(cg, r, t.tokens), t.tokens * 3 * t.width);
  LLVMValueRef scale = cg_const(cg, cg->f32, vitc_attr_float(n, "scale", 1.0));

  cg_loop h = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, t.heads), 1); /* scores */
  t.q_at = ix_add(cg, q_row, ix_mulk(cg, h.iv, t.dh));
  cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, t.tokens), 1);
  t.k_at = ix_add(cg, ix_add(cg, keys, ix_mulk(cg, j.iv, 3 * t.width)), ix_addk(cg, ix_mulk(cg, h.iv, t.dh), t.width));
  cg_set(cg, t.acc, vec_const(cg, vt(cg), 0));
  vec_for(cg, cg_i64(cg, 0), t.dh, vec_width(cg), dot_step, &t);
  LLVMValueRef score = vec_mul(cg, scale, vec_reduce(cg, VEC_SUM, cg_get(cg, t.acc)));
  vec_store1(cg, score, gep_f32(cg, scores, ix_add(cg, ix_mulk(cg, h.iv, t.tokens), j.iv)));
  cg_loop_end(cg, &j);
  cg_loop_end(cg, &h);

  mix_heads(cg, &t, P_WL, P_BL, scores, mixed);
  softmax_rows(cg, &t, mixed);
  mix_heads(cg, &t, P_WW, P_BW, mixed, scores);

  cg_loop f = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, t.heads), 1); /* weights times v */
  t.from = scores, t.o = f.iv;
  t.v_at = ix_add(cg, keys, ix_addk(cg, ix_mulk(cg, f.iv, t.dh), 2 * t.width));
  t.y_at = ix_add(cg, ix_mulk(cg, r, t.width), ix_mulk(cg, f.iv, t.dh));
  vec_for(cg, cg_i64(cg, 0), t.dh, vec_width(cg), value_step, &t);
  cg_loop_end(cg, &f);
  rows_end(cg, &rl);
  return VITC_OK;
}
