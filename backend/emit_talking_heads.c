/* emit_talking_heads.c — vitc.TalkingHeads (ir/ops/talking_heads.c), a query row at a time:
 *
 *   for r = (b, i) < B·N:                       (across the runtime pool when large)
 *     s[h, j] = scale · q[r, h] · k[b, j, h]     every head's scores of the row, on the task's stack
 *     m[g, j] = softmax_j(Σ_h s[h, j] Wl[h, g] + bl[g])
 *     s[f, j] = Σ_g m[g, j] Ww[g, f] + bw[f]
 *     y[r, f, :] = Σ_j s[f, j] · v[b, j, f, :]
 *
 * The H × N scores of a row stay in two stack arrays (cache-resident) while the heads are mixed before
 * and after the softmax; nothing of them reaches memory the graph sees. In double like the evaluator. */
#include <math.h>

#include "emit_rows.h"
#include "emitters.h"
#include "vmath.h"

enum { P_QKV, P_WL, P_BL, P_WW, P_BW, P_Y, NPTRS };

typedef struct th_shape {
  int64_t heads, tokens, width, dh; /* width = H·Dh, a qkv row is 3·width */
} th_shape;

static LLVMValueRef idx2(vitc_cg *cg, LLVMValueRef a, int64_t n, LLVMValueRef b) {
  return vec_iadd(cg, vec_imul(cg, a, cg_i64(cg, n)), b);
}

static LLVMValueRef load_d(vitc_cg *cg, LLVMValueRef arr, LLVMValueRef i) {
  return vec_load1(cg, cg->f64, cg_gep(cg, cg->f64, arr, i));
}

static void store_d(vitc_cg *cg, LLVMValueRef arr, LLVMValueRef i, LLVMValueRef v) {
  vec_store1(cg, v, cg_gep(cg, cg->f64, arr, i));
}

/* acc += a · b */
static void accumulate(vitc_cg *cg, LLVMValueRef acc, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef sum = vec_add(cg, vec_load1(cg, cg->f64, acc), vec_mul(cg, a, b));
  vec_store1(cg, sum, acc);
}

/* to[o, j] = Σ_h from[h, j] · W[h, o] + bias[o]: the heads of every key's scores mixed by W. */
static void mix_heads(vitc_cg *cg, const th_shape *s, LLVMValueRef *ptrs, int w, int bias, LLVMValueRef from,
                      LLVMValueRef to) {
  LLVMValueRef acc = cg_var(cg, cg->f64, NULL);
  cg_loop o = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, s->heads), 1);
  cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, s->tokens), 1);
  vec_store1(cg, load_f64(cg, ptrs[bias], o.iv, VITC_F32), acc);
  cg_loop h = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, s->heads), 1);
  accumulate(cg, acc, load_d(cg, from, idx2(cg, h.iv, s->tokens, j.iv)),
             load_f64(cg, ptrs[w], idx2(cg, h.iv, s->heads, o.iv), VITC_F32));
  cg_loop_end(cg, &h);
  store_d(cg, to, idx2(cg, o.iv, s->tokens, j.iv), vec_load1(cg, cg->f64, acc));
  cg_loop_end(cg, &j);
  cg_loop_end(cg, &o);
}

/* m[g, :] = softmax(m[g, :]) for every head g. */
static void softmax_rows(vitc_cg *cg, const th_shape *s, LLVMValueRef m) {
  LLVMValueRef top = cg_var(cg, cg->f64, NULL), sum = cg_var(cg, cg->f64, NULL);
  cg_loop g = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, s->heads), 1);
  vec_store1(cg, cg_const(cg, cg->f64, -HUGE_VAL), top);
  vec_store1(cg, cg_const(cg, cg->f64, 0), sum);
  cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, s->tokens), 1);
  LLVMValueRef v = load_d(cg, m, idx2(cg, g.iv, s->tokens, j.iv)), t = vec_load1(cg, cg->f64, top);
  vec_store1(cg, vec_select(cg, vec_cmp(cg, LLVMRealOGT, v, t), v, t), top);
  cg_loop_end(cg, &j);
  j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, s->tokens), 1);
  LLVMValueRef at = idx2(cg, g.iv, s->tokens, j.iv);
  LLVMValueRef e = vm_exp(cg, vec_sub(cg, load_d(cg, m, at), vec_load1(cg, cg->f64, top)));
  store_d(cg, m, at, e);
  vec_store1(cg, vec_add(cg, vec_load1(cg, cg->f64, sum), e), sum);
  cg_loop_end(cg, &j);
  j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, s->tokens), 1);
  at = idx2(cg, g.iv, s->tokens, j.iv);
  store_d(cg, m, at, vec_div(cg, load_d(cg, m, at), vec_load1(cg, cg->f64, sum)));
  cg_loop_end(cg, &j);
  cg_loop_end(cg, &g);
}

vitc_status emit_TalkingHeads(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *qkv = cg_in_value(cg, 0), *y = cg_out_value(cg, 0);
  th_shape s = {.heads = vitc_attr_int(n, "heads", 0), .tokens = qkv->dims[1], .width = y->dims[2]};
  if (s.heads <= 0 || s.width % s.heads)
    return vitc_fail(err, VITC_ERR_INVALID, "TalkingHeads heads %lld does not divide %lld columns", (long long)s.heads,
                     (long long)s.width);
  s.dh = s.width / s.heads;
  if (vitc_numel(y) == 0) return VITC_OK;
  LLVMValueRef ptrs[NPTRS];
  for (int k = 0; k < P_Y; k++) ptrs[k] = cg_in(cg, k);
  ptrs[P_Y] = cg_out(cg, 0);
  row_loop rl;
  int64_t rows = qkv->dims[0] * s.tokens;
  LLVMValueRef r = rows_begin(cg, &rl, rows, rows * s.tokens * (2 * s.width + 2 * s.heads * s.heads), ptrs, NPTRS);
  LLVMTypeRef scores_t = LLVMArrayType(cg->f64, (unsigned)(s.heads * s.tokens));
  LLVMValueRef scores = cg_var(cg, scores_t, NULL), mixed = cg_var(cg, scores_t, NULL), acc = cg_var(cg, cg->f64, NULL);
  LLVMValueRef q_row = vec_imul(cg, r, cg_i64(cg, 3 * s.width));
  LLVMValueRef keys = vec_imul(cg, ix_div(cg, r, cg_i64(cg, s.tokens)), cg_i64(cg, s.tokens * 3 * s.width));
  LLVMValueRef scale = cg_const(cg, cg->f64, vitc_attr_float(n, "scale", 1.0));

  cg_loop h = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, s.heads), 1); /* scores */
  cg_loop j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, s.tokens), 1);
  LLVMValueRef k_at = vec_iadd(cg, vec_iadd(cg, keys, idx2(cg, j.iv, 3 * s.width, cg_i64(cg, s.width))), vec_imul(cg, h.iv, cg_i64(cg, s.dh)));
  LLVMValueRef q_at = vec_iadd(cg, q_row, vec_imul(cg, h.iv, cg_i64(cg, s.dh)));
  vec_store1(cg, cg_const(cg, cg->f64, 0), acc);
  cg_loop d = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, s.dh), 1);
  accumulate(cg, acc, load_f64(cg, ptrs[P_QKV], vec_iadd(cg, q_at, d.iv), VITC_F32),
             load_f64(cg, ptrs[P_QKV], vec_iadd(cg, k_at, d.iv), VITC_F32));
  cg_loop_end(cg, &d);
  store_d(cg, scores, idx2(cg, h.iv, s.tokens, j.iv), vec_mul(cg, scale, vec_load1(cg, cg->f64, acc)));
  cg_loop_end(cg, &j);
  cg_loop_end(cg, &h);

  mix_heads(cg, &s, ptrs, P_WL, P_BL, scores, mixed);
  softmax_rows(cg, &s, mixed);
  mix_heads(cg, &s, ptrs, P_WW, P_BW, mixed, scores);

  cg_loop f = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, s.heads), 1); /* weights times v */
  d = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, s.dh), 1);
  LLVMValueRef col = idx2(cg, f.iv, s.dh, d.iv);
  vec_store1(cg, cg_const(cg, cg->f64, 0), acc);
  j = cg_loop_begin(cg, cg_i64(cg, 0), cg_i64(cg, s.tokens), 1);
  LLVMValueRef v_at = vec_iadd(cg, vec_iadd(cg, keys, idx2(cg, j.iv, 3 * s.width, cg_i64(cg, 2 * s.width))), col);
  accumulate(cg, acc, load_d(cg, scores, idx2(cg, f.iv, s.tokens, j.iv)), load_f64(cg, ptrs[P_QKV], v_at, VITC_F32));
  cg_loop_end(cg, &j);
  store_f64(cg, ptrs[P_Y], idx2(cg, r, s.width, col), VITC_F32, vec_load1(cg, cg->f64, acc));
  cg_loop_end(cg, &d);
  cg_loop_end(cg, &f);
  rows_end(cg, &rl);
  return VITC_OK;
}
