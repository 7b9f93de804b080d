/* einsum.c — Einsum with numpy's rules: implicit output (labels seen once, in ASCII order, after the
 * ellipsis dims), "..." broadcasting, repeated labels within a term (diagonals), sums over labels absent
 * from the output, size-1 dims broadcasting against their label.
 *
 * Every label gets, per operand, the element stride that moves along it (the sum of the strides of its
 * dims when it repeats; 0 where the operand lacks or broadcasts it). With that, the general evaluator is
 * one loop nest over all labels. Two float32 operands whose labels each fall into one of
 *     batch (A, B, out)   m (A, out)   n (B, out)   k (A, B)
 * are instead a batched GEMM — "bhid,bhjd->bhij" is q k^T per head — run on gemm_kernel.c; an operand
 * whose m/k (or k/n) labels do not merge into one stride is first copied into [batch, m, k] order.
 * The equation parser, vitc_einsum_parse (ir.h), also serves the backend's emitter. */
#include <stdlib.h>
#include <string.h>

#include "gemm_kernel.h"
#include "linalg_util.h"
#include "ops.h"

static int letter_id(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return 26 + c - 'a';
  return -1;
}

static char label_char(int id) { return id < 26 ? (char)('A' + id) : (char)('a' + id - 26); }

/* Counts the letters of a term and whether it holds "..."; rejects anything else. */
static vitc_status scan_term(const char *s, size_t len, int *letters, bool *ellipsis, vitc_error *err) {
  *letters = 0;
  *ellipsis = false;
  for (size_t i = 0; i < len; i++) {
    if (letter_id(s[i]) >= 0) {
      ++*letters;
    } else if (s[i] == '.' && i + 2 < len && s[i + 1] == '.' && s[i + 2] == '.' && !*ellipsis) {
      *ellipsis = true;
      i += 2;
    } else {
      return vitc_fail(err, VITC_ERR_INVALID, "einsum term '%.*s' has an unexpected '%c' at position %zu",
                       (int)len, s, s[i], i);
    }
  }
  return VITC_OK;
}

/* Writes the label ids of a term, expanding its "..." into the last `own_ell` of the `ell_rank` ellipsis
 * dims (ellipsis dims broadcast right-aligned, like numpy's). */
static int expand_term(const char *s, size_t len, int own_ell, int ell_rank, int *labels) {
  int r = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '.') {
      for (int e = 0; e < own_ell; e++) labels[r++] = VITC_EINSUM_LETTERS + ell_rank - own_ell + e;
      i += 2;
    } else {
      labels[r++] = letter_id(s[i]);
    }
  }
  return r;
}

/* The equation without spaces into eq (of `cap` bytes). */
static vitc_status read_equation(const vitc_node *n, char *eq, size_t cap, vitc_error *err) {
  const char *eq_attr = vitc_attr_str(n, "equation", NULL);
  if (!eq_attr) return vitc_fail(err, VITC_ERR_INVALID, "einsum has no equation attribute");
  size_t len = 0;
  for (const char *c = eq_attr; *c; c++)
    if (*c != ' ') {
      if (len + 1 >= cap) return vitc_fail(err, VITC_ERR_UNSUPPORTED, "einsum equation is too long");
      eq[len++] = *c;
    }
  eq[len] = 0;
  return VITC_OK;
}

/* The comma-separated input terms of eq[0..lhs_len): term t is term_at[t][0..term_len[t]). */
static vitc_status split_terms(const char *eq, size_t lhs_len, const char **term_at, size_t *term_len, int *nterms,
                               vitc_error *err) {
  *nterms = 0;
  for (size_t start = 0;;) {
    size_t end = start;
    while (end < lhs_len && eq[end] != ',') end++;
    if (*nterms == VITC_EINSUM_MAX_TERMS)
      return vitc_fail(err, VITC_ERR_UNSUPPORTED, "einsum has more than %d terms", VITC_EINSUM_MAX_TERMS);
    term_at[*nterms] = eq + start;
    term_len[(*nterms)++] = end - start;
    if (end >= lhs_len) return VITC_OK;
    start = end + 1;
  }
}

/* Gives every dim of every operand its label (sp->term_label, with "..." expanded over *ell_rank
 * broadcast dims) and every label its size, counting in count[l] the dims that carry label l. */
static vitc_status bind_input_labels(const vitc_value *const *in, const char **term_at, const size_t *term_len,
                                     vitc_einsum *sp, int *count, int *ell_rank, vitc_error *err) {
  int own_ell[VITC_EINSUM_MAX_TERMS];
  *ell_rank = 0;
  for (int t = 0; t < sp->nterms; t++) {
    int letters;
    bool ellipsis;
    vitc_status st = scan_term(term_at[t], term_len[t], &letters, &ellipsis, err);
    if (st != VITC_OK) return st;
    int rank = in[t]->rank;
    own_ell[t] = rank - letters;
    if (ellipsis ? own_ell[t] < 0 : own_ell[t] != 0)
      return vitc_fail(err, VITC_ERR_INVALID, "einsum term '%.*s' does not fit input %d of rank %d",
                       (int)term_len[t], term_at[t], t, rank);
    if (own_ell[t] > *ell_rank) *ell_rank = own_ell[t];
  }
  for (int l = 0; l < VITC_EINSUM_MAX_LABELS; l++) sp->size[l] = -1;
  for (int t = 0; t < sp->nterms; t++) {
    sp->term_rank[t] = expand_term(term_at[t], term_len[t], own_ell[t], *ell_rank, sp->term_label[t]);
    for (int d = 0; d < sp->term_rank[t]; d++) {
      int l = sp->term_label[t][d];
      int64_t dim = in[t]->dims[d];
      count[l]++;
      if (sp->size[l] < 0 || sp->size[l] == 1) sp->size[l] = dim;
      else if (dim != 1 && dim != sp->size[l]) {
        if (l >= VITC_EINSUM_LETTERS)
          return vitc_fail(err, VITC_ERR_INVALID, "einsum ellipsis dimensions do not broadcast (%lld vs %lld)",
                           (long long)sp->size[l], (long long)dim);
        return vitc_fail(err, VITC_ERR_INVALID, "einsum label '%c' has sizes %lld and %lld", label_char(l),
                         (long long)sp->size[l], (long long)dim);
      }
    }
  }
  return VITC_OK;
}

/* The output's labels: those written after "->" (out, or NULL), else numpy's implicit output (the
 * ellipsis dims, then the labels seen once, in ASCII order). */
static vitc_status bind_output_labels(const char *out, const int *count, int ell_rank, vitc_einsum *sp,
                                      vitc_error *err) {
  sp->out_rank = 0;
  if (!out) {
    for (int e = 0; e < ell_rank; e++) sp->out_label[sp->out_rank++] = VITC_EINSUM_LETTERS + e;
    for (int l = 0; l < VITC_EINSUM_LETTERS; l++)
      if (count[l] == 1) {
        if (sp->out_rank == VITC_MAX_RANK)
          return vitc_fail(err, VITC_ERR_UNSUPPORTED, "einsum output has more than %d dims", VITC_MAX_RANK);
        sp->out_label[sp->out_rank++] = l;
      }
    return VITC_OK;
  }
  size_t olen = strlen(out);
  int letters;
  bool ellipsis;
  vitc_status st = scan_term(out, olen, &letters, &ellipsis, err);
  if (st != VITC_OK) return st;
  if (ell_rank > 0 && !ellipsis)
    return vitc_fail(err, VITC_ERR_INVALID, "einsum output '%s' lacks the '...' its inputs have", out);
  sp->out_rank = expand_term(out, olen, ell_rank, ell_rank, sp->out_label);
  for (int d = 0; d < sp->out_rank; d++) {
    int l = sp->out_label[d];
    if (sp->size[l] < 0)
      return vitc_fail(err, VITC_ERR_INVALID, "einsum output label '%c' appears in no input", label_char(l));
    for (int e = 0; e < d; e++)
      if (sp->out_label[e] == l)
        return vitc_fail(err, VITC_ERR_INVALID, "einsum output label '%c' repeats", label_char(l));
  }
  return VITC_OK;
}

vitc_status vitc_einsum_parse(const vitc_node *n, const vitc_value *const *in, vitc_einsum *sp, vitc_error *err) {
  char eq[256];
  vitc_status st = read_equation(n, eq, sizeof eq, err);
  if (st != VITC_OK) return st;
  const char *arrow = strstr(eq, "->");
  const char *term_at[VITC_EINSUM_MAX_TERMS];
  size_t term_len[VITC_EINSUM_MAX_TERMS];
  if ((st = split_terms(eq, arrow ? (size_t)(arrow - eq) : strlen(eq), term_at, term_len, &sp->nterms, err)))
    return st;
  if (sp->nterms != n->nin)
    return vitc_fail(err, VITC_ERR_INVALID, "einsum equation '%s' has %d input terms for %d inputs", eq, sp->nterms,
                     n->nin);
  int count[VITC_EINSUM_MAX_LABELS] = {0}, ell_rank;
  if ((st = bind_input_labels(in, term_at, term_len, sp, count, &ell_rank, err)) ||
      (st = bind_output_labels(arrow ? arrow + 2 : NULL, count, ell_rank, sp, err)))
    return st;
  for (int t = 0; t < sp->nterms; t++) {
    int64_t own[VITC_MAX_RANK];
    vitc_contiguous_strides(in[t]->dims, in[t]->rank, own);
    for (int l = 0; l < VITC_EINSUM_MAX_LABELS; l++) sp->stride[t][l] = 0;
    for (int d = 0; d < sp->term_rank[t]; d++)
      if (in[t]->dims[d] != 1) sp->stride[t][sp->term_label[t][d]] += own[d];
  }
  return VITC_OK;
}

vitc_status shape_einsum(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  for (int t = 0; t < n->nin; t++) {
    vitc_status st = vitc_check_same_dtype(in[0], in[t], err);
    if (st == VITC_OK) st = vitc_check_arith_dtype(in[t], "einsum input", err);
    if (st != VITC_OK) return st;
  }
  vitc_einsum *sp = malloc(sizeof *sp);
  if (!sp) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  vitc_status st = vitc_einsum_parse(n, in, sp, err);
  if (st == VITC_OK) {
    out->dtype = in[0]->dtype;
    out->rank = sp->out_rank;
    for (int d = 0; d < sp->out_rank; d++) out->dims[d] = sp->size[sp->out_label[d]];
  }
  free(sp);
  return st;
}

/* ---------------------------------------------------------------- general evaluator */

/* out[o] = sum over the summed labels of the product of all operands: one odometer over the output
 * labels (so o runs in order) and, inside, one over the summed labels. */
static void einsum_general(const vitc_einsum *sp, const vitc_value *const *in, vitc_value *out) {
  int sum_label[VITC_EINSUM_MAX_LABELS], nsum = 0;
  for (int l = 0; l < VITC_EINSUM_MAX_LABELS; l++) {
    bool in_out = false;
    for (int d = 0; d < sp->out_rank; d++) in_out |= sp->out_label[d] == l;
    if (sp->size[l] >= 0 && !in_out) sum_label[nsum++] = l;
  }
  bool empty_sum = false; /* a sum over a size-0 label is 0 and reads nothing */
  for (int s = 0; s < nsum; s++) empty_sum |= sp->size[sum_label[s]] == 0;
  int64_t nout = vitc_numel(out), base[VITC_EINSUM_MAX_TERMS] = {0}, oidx[VITC_MAX_RANK] = {0};
  for (int64_t o = 0; o < nout && empty_sum; o++) vitc_store_f(out, o, 0);
  for (int64_t o = 0; o < nout && !empty_sum; o++) {
    double total = 0;
    int64_t sidx[VITC_EINSUM_MAX_LABELS] = {0}, off[VITC_EINSUM_MAX_TERMS];
    memcpy(off, base, sizeof off);
    for (bool more = true; more;) {
      double prod = 1;
      for (int t = 0; t < sp->nterms; t++) prod *= vitc_load_f(in[t], off[t]);
      total += prod;
      more = false;
      for (int s = nsum - 1; s >= 0 && !more; s--) {
        int l = sum_label[s];
        for (int t = 0; t < sp->nterms; t++) off[t] += sp->stride[t][l];
        if (++sidx[s] < sp->size[l]) {
          more = true;
        } else {
          for (int t = 0; t < sp->nterms; t++) off[t] -= sp->stride[t][l] * sp->size[l];
          sidx[s] = 0;
        }
      }
    }
    vitc_store_f(out, o, total);
    for (int d = sp->out_rank - 1; d >= 0; d--) {
      int l = sp->out_label[d];
      for (int t = 0; t < sp->nterms; t++) base[t] += sp->stride[t][l];
      if (++oidx[d] < sp->size[l]) break;
      for (int t = 0; t < sp->nterms; t++) base[t] -= sp->stride[t][l] * sp->size[l];
      oidx[d] = 0;
    }
  }
}

/* ---------------------------------------------------------------- batched-GEMM evaluator */

enum { GROUP_BATCH, GROUP_M, GROUP_N, GROUP_K, NGROUPS };

typedef struct gemm_plan {
  int label[NGROUPS][VITC_MAX_RANK]; /* batch, m, n in output order; k in A's order */
  int count[NGROUPS];
  int64_t extent[NGROUPS];
} gemm_plan;

/* Sorts the labels of "A,B->out" into the four groups; false when some label fits none (a repeated label,
 * a label summed within one operand only). */
static bool plan_gemm(const vitc_einsum *sp, gemm_plan *p) {
  memset(p, 0, sizeof *p);
  for (int g = 0; g < NGROUPS; g++) p->extent[g] = 1;
  bool in_a[VITC_EINSUM_MAX_LABELS] = {0}, in_b[VITC_EINSUM_MAX_LABELS] = {0};
  for (int t = 0; t < 2; t++)
    for (int d = 0; d < sp->term_rank[t]; d++) {
      bool *seen = t ? in_b : in_a;
      if (seen[sp->term_label[t][d]]) return false;
      seen[sp->term_label[t][d]] = true;
    }
  for (int d = 0; d < sp->out_rank; d++) {
    int l = sp->out_label[d], g = in_a[l] && in_b[l] ? GROUP_BATCH : in_a[l] ? GROUP_M : GROUP_N;
    p->label[g][p->count[g]++] = l;
    p->extent[g] *= sp->size[l];
    in_a[l] = in_b[l] = false;
  }
  for (int d = 0; d < sp->term_rank[0]; d++) {
    int l = sp->term_label[0][d];
    if (!in_a[l]) continue;
    if (!in_b[l]) return false;
    p->label[GROUP_K][p->count[GROUP_K]++] = l;
    p->extent[GROUP_K] *= sp->size[l];
    in_b[l] = false;
  }
  for (int l = 0; l < VITC_EINSUM_MAX_LABELS; l++)
    if (in_b[l]) return false;
  return true;
}

/* The single stride that walks group g's labels of an operand as one index, or -1 if they do not merge. */
static int64_t merged_stride(const vitc_einsum *sp, const gemm_plan *p, int g, const int64_t *stride) {
  int64_t s = 0, expect = -1; /* expect: the stride the next outer label must have */
  for (int i = p->count[g] - 1; i >= 0; i--) {
    int l = p->label[g][i];
    if (sp->size[l] == 1) continue;
    if (expect >= 0 && stride[l] != expect) return -1;
    if (expect < 0) s = stride[l];
    expect = stride[l] * sp->size[l];
  }
  return s;
}

/* dst (dense, in the order of `labels`) = src viewed through per-label strides. */
static void gather_dense(float *dst, const float *src, const vitc_einsum *sp, const int *labels, int nlabels,
                         const int64_t *stride) {
  int64_t idx[3 * VITC_MAX_RANK] = {0}, off = 0, total = 1;
  for (int i = 0; i < nlabels; i++) total *= sp->size[labels[i]];
  for (int64_t o = 0; o < total; o++) {
    dst[o] = src[off];
    for (int i = nlabels - 1; i >= 0; i--) {
      int l = labels[i];
      off += stride[l];
      if (++idx[i] < sp->size[l]) break;
      off -= stride[l] * sp->size[l];
      idx[i] = 0;
    }
  }
}

/* Copies operand t into [batch, first, second] label order and points *data and stride at the copy. */
static bool densify(const vitc_einsum *sp, const gemm_plan *p, int first, int second, const float **data,
                    int64_t *stride, float **owned) {
  int labels[3 * VITC_MAX_RANK], nl = 0;
  int groups[3] = {GROUP_BATCH, first, second};
  for (int gi = 0; gi < 3; gi++)
    for (int i = 0; i < p->count[groups[gi]]; i++) labels[nl++] = p->label[groups[gi]][i];
  int64_t total = p->extent[GROUP_BATCH] * p->extent[first] * p->extent[second];
  *owned = malloc(sizeof(float) * (size_t)(total ? total : 1));
  if (!*owned) return false;
  gather_dense(*owned, *data, sp, labels, nl, stride);
  *data = *owned;
  int64_t s = 1;
  for (int i = nl - 1; i >= 0; i--) {
    stride[labels[i]] = sp->size[labels[i]] == 1 ? 0 : s;
    s *= sp->size[labels[i]];
  }
  return true;
}

static vitc_status einsum_gemm(const vitc_einsum *sp, const gemm_plan *p, const vitc_value *const *in,
                               vitc_value *out, vitc_error *err) {
  int64_t sa[VITC_EINSUM_MAX_LABELS], sb[VITC_EINSUM_MAX_LABELS];
  memcpy(sa, sp->stride[0], sizeof sa);
  memcpy(sb, sp->stride[1], sizeof sb);
  const float *a = in[0]->data, *b = in[1]->data;
  float *a_copy = NULL, *b_copy = NULL, *c_tmp = NULL;
  vitc_status st = VITC_OK;
  if ((merged_stride(sp, p, GROUP_M, sa) < 0 || merged_stride(sp, p, GROUP_K, sa) < 0) &&
      !densify(sp, p, GROUP_M, GROUP_K, &a, sa, &a_copy))
    goto nomem;
  if ((merged_stride(sp, p, GROUP_K, sb) < 0 || merged_stride(sp, p, GROUP_N, sb) < 0) &&
      !densify(sp, p, GROUP_K, GROUP_N, &b, sb, &b_copy))
    goto nomem;

  /* The GEMMs write [batch, m, n]: the output itself when its labels come grouped in that order. */
  int grouped[3 * VITC_MAX_RANK], ngrouped = 0;
  for (int g = GROUP_BATCH; g <= GROUP_N; g++)
    for (int i = 0; i < p->count[g]; i++) grouped[ngrouped++] = p->label[g][i];
  bool out_grouped = ngrouped == sp->out_rank && !memcmp(grouped, sp->out_label, sizeof(int) * (size_t)ngrouped);
  int64_t m = p->extent[GROUP_M], nn = p->extent[GROUP_N], k = p->extent[GROUP_K];
  float *c = out->data;
  if (!out_grouped && !(c = c_tmp = malloc(sizeof(float) * (size_t)(vitc_numel(out) ? vitc_numel(out) : 1))))
    goto nomem;

  vitc_fmat am = {NULL, merged_stride(sp, p, GROUP_M, sa), merged_stride(sp, p, GROUP_K, sa)};
  vitc_fmat bm = {NULL, merged_stride(sp, p, GROUP_K, sb), merged_stride(sp, p, GROUP_N, sb)};
  int64_t bidx[VITC_MAX_RANK] = {0}, a_off = 0, b_off = 0;
  for (int64_t r = 0; r < p->extent[GROUP_BATCH]; r++) {
    am.p = a + a_off;
    bm.p = b + b_off;
    if (!vitc_sgemm(m, nn, k, 1.0f, am, bm, 0.0f, c + r * m * nn, nn)) goto nomem;
    for (int i = p->count[GROUP_BATCH] - 1; i >= 0; i--) {
      int l = p->label[GROUP_BATCH][i];
      a_off += sa[l];
      b_off += sb[l];
      if (++bidx[i] < sp->size[l]) break;
      a_off -= sa[l] * sp->size[l];
      b_off -= sb[l] * sp->size[l];
      bidx[i] = 0;
    }
  }
  if (c_tmp) { /* scatter [batch, m, n] into the output's label order */
    int64_t tmp_stride[VITC_EINSUM_MAX_LABELS] = {0}, step = 1;
    for (int i = ngrouped - 1; i >= 0; i--) {
      tmp_stride[grouped[i]] = step;
      step *= sp->size[grouped[i]];
    }
    gather_dense(out->data, c_tmp, sp, sp->out_label, sp->out_rank, tmp_stride);
  }
  goto done;
nomem:
  st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory in einsum");
done:
  free(a_copy);
  free(b_copy);
  free(c_tmp);
  return st;
}

vitc_status eval_Einsum(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  vitc_einsum *sp = malloc(sizeof *sp);
  if (!sp) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  vitc_status st = vitc_einsum_parse(n, in, sp, err);
  gemm_plan plan;
  if (st == VITC_OK) {
    if (sp->nterms == 2 && in[0]->dtype == VITC_F32 && plan_gemm(sp, &plan)) st = einsum_gemm(sp, &plan, in, out, err);
    else einsum_general(sp, in, out);
  }
  free(sp);
  return st;
}

/* 2 flops per term of the sum for a contraction of two operands (multiply-add), one per term otherwise. */
double flops_einsum(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  vitc_einsum *sp = malloc(sizeof *sp);
  double total = 0;
  if (sp && vitc_einsum_parse(n, in, sp, NULL) == VITC_OK) {
    total = 1;
    for (int l = 0; l < VITC_EINSUM_MAX_LABELS; l++)
      if (sp->size[l] >= 0) total *= (double)sp->size[l];
    total *= n->nin > 1 ? 2.0 * (n->nin - 1) : 1.0;
  }
  free(sp);
  return total;
}
