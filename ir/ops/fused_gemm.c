/* fused_gemm.c — vitc.FusedGemm, a linear layer with its epilogue, built by passes/fuse_gemm_epilogue:
 *
 *   inputs  A [.., M, K] f32, B [K, N] f32, bias [N] (optional), R (optional: Y's shape, or Y's with leading
 *           dims 1, repeated over them: a [1, T, C] position embedding on a batch), gamma [N] (optional)
 *   attr    activation ∈ {"none", "relu", "gelu_erf", "gelu_tanh", "silu"}
 *
 *   Y = R + gamma ⊙ act(A·B + bias)     R 0, gamma 1 when absent (gamma is LayerScale, R the residual)
 *
 * The reference: one float32 GEMM over all rows of A, then the epilogue element by element in double. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gemm_kernel.h"
#include "ops.h"

enum { IN_A, IN_B, IN_BIAS, IN_RESIDUAL, IN_GAMMA };

static const char *const activations[] = {"none", "relu", "gelu_erf", "gelu_tanh", "silu"}; /* in enum order */

int vitc_epilogue_activation(const vitc_node *n) {
  const char *a = vitc_attr_str(n, "activation", "none");
  for (int i = 0; i < (int)(sizeof activations / sizeof *activations); i++)
    if (!strcmp(a, activations[i])) return i;
  return -1;
}

vitc_status vitc_check_epilogue_activation(const vitc_node *n, const char *op, vitc_error *err) {
  if (vitc_epilogue_activation(n) >= 0) return VITC_OK;
  char names[64] = "";
  for (int i = 0; i < (int)(sizeof activations / sizeof *activations); i++)
    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", activations[i]);
  return vitc_fail(err, VITC_ERR_INVALID, "%s activation \"%s\" is none of %s", op, vitc_attr_str(n, "activation", "none"),
                   names);
}

vitc_status vitc_check_f32_inputs(const vitc_node *n, const vitc_value *const *in, vitc_error *err) {
  for (int k = 0; k < n->nin; k++)
    if (in[k] && in[k]->dtype != VITC_F32)
      return vitc_fail(err, VITC_ERR_UNSUPPORTED, "%s runs on float32 only (input %d)", vitc_ops[n->op].name, k);
  return VITC_OK;
}

vitc_status shape_fused_gemm(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *a = in[IN_A], *b = in[IN_B];
  vitc_status st = vitc_check_f32_inputs(n, in, err);
  if (st != VITC_OK) return st;
  if (a->rank < 2 || b->rank != 2 || b->dims[0] != a->dims[a->rank - 1])
    return vitc_fail(err, VITC_ERR_INVALID, "FusedGemm needs A [.., M, K] and B [K, N]; got ranks %d and %d", a->rank,
                     b->rank);
  st = vitc_check_epilogue_activation(n, "FusedGemm", err);
  if (st) return st;
  int64_t cols = b->dims[1];
  vitc_copy_type(&out[0], a);
  out->dims[out->rank - 1] = cols;
  const vitc_value *bias = n->nin > IN_BIAS ? in[IN_BIAS] : NULL, *gamma = n->nin > IN_GAMMA ? in[IN_GAMMA] : NULL;
  const vitc_value *r = n->nin > IN_RESIDUAL ? in[IN_RESIDUAL] : NULL;
  if ((bias && !vitc_is_vector(bias, cols)) || (gamma && !vitc_is_vector(gamma, cols)))
    return vitc_fail(err, VITC_ERR_INVALID, "FusedGemm bias and gamma must be [%lld]", (long long)cols);
  if (r && vitc_repeat_period(r, out, cols ? cols : 1) < 0)
    return vitc_fail(err, VITC_ERR_INVALID, "FusedGemm residual must have the output's shape (leading dims may be 1)");
  return VITC_OK;
}

double vitc_epilogue_activate(int act, double x) {
  switch (act) {
  case ACT_RELU: return x < 0 ? 0 : x;
  case ACT_GELU_ERF: return 0.5 * x * (1 + erf(x * 0.70710678118654752440));
  case ACT_GELU_TANH: return 0.5 * x * (1 + tanh(0.79788456080286535588 * (x + 0.044715 * x * x * x)));
  case ACT_SILU: return x / (1 + exp(-x));
  default: return x;
  }
}

vitc_status eval_FusedGemm(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  const vitc_value *a = in[IN_A], *b = in[IN_B];
  int64_t k = b->dims[0], cols = b->dims[1], rows = k ? vitc_numel(a) / k : vitc_numel(out) / (cols ? cols : 1);
  float *y = out->data;
  if (!vitc_sgemm(rows, cols, k, 1.0f, vitc_fmat_rows(a->data, k), vitc_fmat_rows(b->data, cols), 0.0f, y, cols))
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory for GEMM packing buffers");
  const float *bias = n->nin > IN_BIAS && in[IN_BIAS] ? in[IN_BIAS]->data : NULL;
  const float *r = n->nin > IN_RESIDUAL && in[IN_RESIDUAL] ? in[IN_RESIDUAL]->data : NULL;
  const float *gamma = n->nin > IN_GAMMA && in[IN_GAMMA] ? in[IN_GAMMA]->data : NULL;
  int64_t period = r ? vitc_numel(in[IN_RESIDUAL]) : 0; /* R repeats every `period` elements of Y */
  int act = vitc_epilogue_activation(n);
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < cols; j++) {
      int64_t e = i * cols + j;
      double v = vitc_epilogue_activate(act, (double)y[e] + (bias ? bias[j] : 0));
      if (gamma) v *= gamma[j];
      if (r) v += r[e % period];
      y[e] = (float)v;
    }
  return VITC_OK;
}

/* The product, plus one operation per output element for each epilogue step. */
double flops_fused_gemm(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  double steps = 0;
  for (int k = IN_BIAS; k < n->nin; k++) steps += in[k] != NULL;
  steps += vitc_epilogue_activation(n) != ACT_NONE;
  return (2.0 * (double)in[IN_B]->dims[0] + steps) * (double)vitc_numel(out);
}
