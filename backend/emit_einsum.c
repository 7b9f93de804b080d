/* emit_einsum.c — Einsum as one loop nest over its labels:
 *
 *   for each output label (in output order, the first one split across threads):
 *     acc = 0
 *     for each summed label (the one with the smallest strides innermost):
 *       acc += in0[Σ l·s0(l)] · in1[Σ l·s1(l)] · …
 *     out[o] = acc
 *
 * The equation is read at compile time by the evaluator's parser (vitc_einsum_parse, ir.h): labels,
 * their sizes and each operand's stride along each label (repeated labels add up, broadcast dims are 0).
 * Shape inference has already accepted the equation. Floats accumulate in double and integers in i64,
 * like the evaluator's general path. */
#include <string.h>

#include "emitters.h"
#include "vec.h"

#define PARALLEL_MIN_WORK 65536 /* multiply-adds below which threads cost more than they save */

/* The summed labels (those absent from the output), the ones with the largest strides outermost. */
static int summed_labels(const vitc_einsum *e, int *sum_label) {
  bool in_out[VITC_EINSUM_MAX_LABELS] = {false};
  int64_t reach[VITC_EINSUM_MAX_LABELS] = {0};
  for (int d = 0; d < e->out_rank; d++) in_out[e->out_label[d]] = true;
  int nsum = 0;
  for (int l = 0; l < VITC_EINSUM_MAX_LABELS; l++) {
    if (e->size[l] < 0 || in_out[l]) continue;
    for (int t = 0; t < e->nterms; t++)
      if (e->stride[t][l] > reach[l]) reach[l] = e->stride[t][l];
    int i = nsum++;
    for (; i > 0 && reach[sum_label[i - 1]] < reach[l]; i--) sum_label[i] = sum_label[i - 1];
    sum_label[i] = l;
  }
  return nsum;
}

vitc_status emit_Einsum(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  const vitc_value *in[VITC_EINSUM_MAX_TERMS]; /* ops.def bounds Einsum's inputs by it */
  for (int t = 0; t < n->nin; t++) in[t] = cg_in_value(cg, t);
  vitc_einsum p;
  vitc_status st = vitc_einsum_parse(n, in, &p, err);
  if (st) return st;
  int sum_label[VITC_EINSUM_MAX_LABELS], nsum = summed_labels(&p, sum_label);
  const vitc_value *out = cg_out_value(cg, 0);
  vitc_dtype work = vitc_dtype_is_float(out->dtype) ? VITC_F64 : VITC_I64;
  LLVMTypeRef wt = cg_compute_type(cg, work);
  bool fp = work == VITC_F64;
  if (!vitc_numel(out)) return VITC_OK;

  LLVMValueRef ptrs[VITC_EINSUM_MAX_TERMS + 1];
  for (int t = 0; t < p.nterms; t++) ptrs[t] = cg_in(cg, t);
  ptrs[p.nterms] = cg_out(cg, 0);
  double work_total = 1;
  for (int l = 0; l < VITC_EINSUM_MAX_LABELS; l++)
    if (p.size[l] > 0) work_total *= (double)p.size[l];
  bool parallel = p.out_rank > 0 && p.size[p.out_label[0]] > 1 && work_total >= PARALLEL_MIN_WORK &&
                  p.nterms + 1 <= CG_MAX_CAPTURE;
  cg_task task;
  if (parallel) {
    task = cg_task_begin(cg, ptrs, p.nterms + 1);
    memcpy(ptrs, task.vals, sizeof(LLVMValueRef) * (size_t)(p.nterms + 1));
  }

  cg_loop loops[VITC_MAX_RANK + VITC_EINSUM_MAX_LABELS];
  LLVMValueRef o = cg_i64(cg, 0), off[VITC_EINSUM_MAX_TERMS], acc = NULL;
  for (int t = 0; t < p.nterms; t++) off[t] = cg_i64(cg, 0);
  for (int d = 0; d < p.out_rank + nsum; d++) {
    bool summed = d >= p.out_rank;
    int l = summed ? sum_label[d - p.out_rank] : p.out_label[d];
    if (d == p.out_rank) acc = cg_var(cg, wt, cg_const(cg, wt, 0));
    bool split = d == 0 && parallel;
    loops[d] = cg_loop_begin(cg, split ? task.begin : cg_i64(cg, 0), split ? task.end : cg_i64(cg, p.size[l]), 1);
    if (!summed) o = ix_add(cg, ix_mulk(cg, o, p.size[l]), loops[d].iv);
    for (int t = 0; t < p.nterms; t++)
      if (p.stride[t][l]) {
        LLVMValueRef step = ix_mulk(cg, loops[d].iv, p.stride[t][l]);
        off[t] = ix_add(cg, off[t], step);
      }
  }
  if (!acc) acc = cg_var(cg, wt, cg_const(cg, wt, 0)); /* nothing summed */
  LLVMValueRef prod = NULL;
  for (int t = 0; t < p.nterms; t++) {
    vitc_dtype dt = cg_in_value(cg, t)->dtype;
    LLVMValueRef v = cg_convert(cg, cg_load(cg, ptrs[t], off[t], dt), dt, work);
    prod = !prod ? v : fp ? vec_mul(cg, prod, v) : vec_imul(cg, prod, v);
  }
  LLVMValueRef sum = vec_load1(cg, wt, acc);
  vec_store1(cg, fp ? vec_add(cg, sum, prod) : vec_iadd(cg, sum, prod), acc);
  for (int d = p.out_rank + nsum - 1; d >= p.out_rank; d--) cg_loop_end(cg, &loops[d]);
  cg_store(cg, ptrs[p.nterms], o, out->dtype, cg_convert(cg, vec_load1(cg, wt, acc), work, out->dtype));
  for (int d = p.out_rank - 1; d >= 0; d--) cg_loop_end(cg, &loops[d]);
  if (parallel) cg_task_end(cg, &task, p.size[p.out_label[0]]);
  return VITC_OK;
}
