/* emit_einsum.c — Einsum as one loop nest over its labels:
 *
 *   for each output label (in output order, the first one split across threads):
 *     acc = 0
 *     for each summed label (the one with the smallest strides innermost):
 *       acc += in0[Σ l·s0(l)] · in1[Σ l·s1(l)] · …
 *     out[o] = acc
 *
 * The equation is read at compile time with numpy's rules, as ir/ops/einsum.c reads it: an implicit
 * output (ellipsis dims, then the labels seen once, in ASCII order), "..." broadcasting right-aligned,
 * repeated labels within a term (diagonals: their strides add up), size-1 dims broadcasting against their
 * label (stride 0). Shape inference has already accepted the equation. Floats accumulate in double and
 * integers in i64, like the evaluator's general path. */
#include <string.h>

#include "emitters.h"

#define NLETTERS 52 /* 'A'..'Z' are 0..25, 'a'..'z' 26..51, then the ellipsis dims */
#define MAX_LABELS (NLETTERS + VITC_MAX_RANK)
#define MAX_TERMS 16
#define PARALLEL_MIN_WORK 65536 /* multiply-adds below which threads cost more than they save */

typedef struct einsum_loops {
  int nterms;
  int64_t size[MAX_LABELS]; /* -1: unused */
  int64_t stride[MAX_TERMS][MAX_LABELS];
  int out_rank, out_label[VITC_MAX_RANK];
  int nsum, sum_label[MAX_LABELS];
} einsum_loops;

static int letter_id(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return 26 + c - 'a';
  return -1;
}

/* Label ids of one term ("..." becomes the last `own_ell` of `ell_rank` ellipsis dims); returns the
 * count of letters alone when labels is NULL, -1 on a character that is neither. */
static int term_labels(const char *s, size_t len, int own_ell, int ell_rank, int *labels, bool *ellipsis) {
  int r = 0;
  *ellipsis = false;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '.' && i + 2 < len && s[i + 1] == '.' && s[i + 2] == '.') {
      for (int e = 0; labels && e < own_ell; e++) labels[r++] = NLETTERS + ell_rank - own_ell + e;
      *ellipsis = true;
      i += 2;
    } else if (letter_id(s[i]) >= 0) {
      if (labels) labels[r] = letter_id(s[i]);
      r++;
    } else {
      return -1;
    }
  }
  return r;
}

static vitc_status plan_loops(vitc_cg *cg, const vitc_node *n, einsum_loops *p, vitc_error *err) {
  const char *attr = vitc_attr_str(n, "equation", "");
  char eq[256];
  size_t len = 0;
  for (const char *c = attr; *c && len + 1 < sizeof eq; c++)
    if (*c != ' ') eq[len++] = *c;
  eq[len] = 0;
  const char *arrow = strstr(eq, "->");
  size_t lhs_len = arrow ? (size_t)(arrow - eq) : len;
  const char *at[MAX_TERMS];
  size_t tlen[MAX_TERMS];
  int own_ell[MAX_TERMS], ell_rank = 0, count[MAX_LABELS] = {0};
  p->nterms = 0;
  for (size_t start = 0; p->nterms < MAX_TERMS;) {
    size_t end = start;
    while (end < lhs_len && eq[end] != ',') end++;
    at[p->nterms] = eq + start;
    tlen[p->nterms++] = end - start;
    if (end >= lhs_len) break;
    start = end + 1;
  }
  if (p->nterms != n->nin) return vitc_fail(err, VITC_ERR_INVALID, "einsum '%s' has %d terms for %d inputs", eq, p->nterms, n->nin);
  for (int t = 0; t < p->nterms; t++) {
    bool ell;
    int letters = term_labels(at[t], tlen[t], 0, 0, NULL, &ell);
    if (letters < 0) return vitc_fail(err, VITC_ERR_INVALID, "einsum '%s' has an unexpected character", eq);
    own_ell[t] = cg_in_value(cg, t)->rank - letters;
    if (own_ell[t] > ell_rank) ell_rank = own_ell[t];
  }
  for (int l = 0; l < MAX_LABELS; l++) p->size[l] = -1;
  memset(p->stride, 0, sizeof p->stride);
  for (int t = 0; t < p->nterms; t++) {
    const vitc_value *v = cg_in_value(cg, t);
    int labels[VITC_MAX_RANK];
    bool ell;
    term_labels(at[t], tlen[t], own_ell[t], ell_rank, labels, &ell);
    int64_t own = 1;
    for (int d = v->rank - 1; d >= 0; d--) {
      int l = labels[d];
      count[l]++;
      if (p->size[l] < 0 || p->size[l] == 1) p->size[l] = v->dims[d];
      if (v->dims[d] != 1) p->stride[t][l] += own;
      own *= v->dims[d];
    }
  }
  p->out_rank = 0;
  if (arrow) {
    bool ell;
    p->out_rank = term_labels(arrow + 2, strlen(arrow + 2), ell_rank, ell_rank, p->out_label, &ell);
    if (p->out_rank < 0) return vitc_fail(err, VITC_ERR_INVALID, "einsum '%s' has an unexpected character", eq);
  } else {
    for (int e = 0; e < ell_rank; e++) p->out_label[p->out_rank++] = NLETTERS + e;
    for (int l = 0; l < NLETTERS && p->out_rank < VITC_MAX_RANK; l++)
      if (count[l] == 1) p->out_label[p->out_rank++] = l;
  }
  /* Summed labels, those with the largest strides outermost. */
  bool in_out[MAX_LABELS] = {false};
  int64_t reach[MAX_LABELS] = {0};
  for (int d = 0; d < p->out_rank; d++) in_out[p->out_label[d]] = true;
  p->nsum = 0;
  for (int l = 0; l < MAX_LABELS; l++) {
    if (p->size[l] < 0 || in_out[l]) continue;
    for (int t = 0; t < p->nterms; t++)
      if (p->stride[t][l] > reach[l]) reach[l] = p->stride[t][l];
    int i = p->nsum++;
    for (; i > 0 && reach[p->sum_label[i - 1]] < reach[l]; i--) p->sum_label[i] = p->sum_label[i - 1];
    p->sum_label[i] = l;
  }
  return VITC_OK;
}

vitc_status emit_Einsum(vitc_cg *cg, const vitc_node *n, vitc_error *err) {
  einsum_loops p;
  vitc_status st = plan_loops(cg, n, &p, err);
  if (st) return st;
  const vitc_value *out = cg_out_value(cg, 0);
  vitc_dtype work = vitc_dtype_is_float(out->dtype) ? VITC_F64 : VITC_I64;
  LLVMTypeRef wt = cg_compute_type(cg, work);
  bool fp = work == VITC_F64;
  if (!vitc_numel(out)) return VITC_OK;

  LLVMValueRef ptrs[MAX_TERMS + 1];
  for (int t = 0; t < p.nterms; t++) ptrs[t] = cg_in(cg, t);
  ptrs[p.nterms] = cg_out(cg, 0);
  double work_total = 1;
  for (int l = 0; l < MAX_LABELS; l++)
    if (p.size[l] > 0) work_total *= (double)p.size[l];
  bool parallel = p.out_rank > 0 && p.size[p.out_label[0]] > 1 && work_total >= PARALLEL_MIN_WORK &&
                  p.nterms + 1 <= CG_MAX_CAPTURE;
  cg_task task;
  if (parallel) {
    task = cg_task_begin(cg, ptrs, p.nterms + 1);
    memcpy(ptrs, task.vals, sizeof(LLVMValueRef) * (size_t)(p.nterms + 1));
  }

  cg_loop loops[VITC_MAX_RANK + MAX_LABELS];
  LLVMValueRef o = cg_i64(cg, 0), off[MAX_TERMS], acc = NULL;
  for (int t = 0; t < p.nterms; t++) off[t] = cg_i64(cg, 0);
  for (int d = 0; d < p.out_rank + p.nsum; d++) {
    bool summed = d >= p.out_rank;
    int l = summed ? p.sum_label[d - p.out_rank] : p.out_label[d];
    if (d == p.out_rank) acc = cg_var(cg, wt, cg_const(cg, wt, 0));
    bool split = d == 0 && parallel;
    loops[d] = cg_loop_begin(cg, split ? task.begin : cg_i64(cg, 0), split ? task.end : cg_i64(cg, p.size[l]), 1);
    if (!summed) o = LLVMBuildNSWAdd(cg->b, LLVMBuildNSWMul(cg->b, o, cg_i64(cg, p.size[l]), ""), loops[d].iv, "");
    for (int t = 0; t < p.nterms; t++)
      if (p.stride[t][l])
        off[t] = LLVMBuildNSWAdd(cg->b, off[t], LLVMBuildNSWMul(cg->b, loops[d].iv, cg_i64(cg, p.stride[t][l]), ""), "");
  }
  if (!acc) acc = cg_var(cg, wt, cg_const(cg, wt, 0)); /* nothing summed */
  LLVMValueRef prod = NULL;
  for (int t = 0; t < p.nterms; t++) {
    vitc_dtype dt = cg_in_value(cg, t)->dtype;
    LLVMValueRef v = cg_convert(cg, cg_load(cg, ptrs[t], off[t], dt), dt, work);
    prod = !prod ? v : fp ? LLVMBuildFMul(cg->b, prod, v, "") : LLVMBuildMul(cg->b, prod, v, "");
  }
  LLVMValueRef sum = LLVMBuildLoad2(cg->b, wt, acc, "");
  LLVMBuildStore(cg->b, fp ? LLVMBuildFAdd(cg->b, sum, prod, "") : LLVMBuildAdd(cg->b, sum, prod, ""), acc);
  for (int d = p.out_rank + p.nsum - 1; d >= p.out_rank; d--) cg_loop_end(cg, &loops[d]);
  cg_store(cg, ptrs[p.nterms], o, out->dtype, cg_convert(cg, LLVMBuildLoad2(cg->b, wt, acc, ""), work, out->dtype));
  for (int d = p.out_rank - 1; d >= 0; d--) cg_loop_end(cg, &loops[d]);
  if (parallel) cg_task_end(cg, &task, p.size[p.out_label[0]]);
  return VITC_OK;
}
