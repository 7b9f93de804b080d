/* fused_conv.c — vitc.FusedConv, a float32 Conv with its epilogue, built by passes/fuse_gemm_epilogue for
 * a Conv that stays channels-first (a stem, a strided or grouped conv):
 *
 *   inputs  X, W, bias (optional) as Conv's; R (optional, Y's shape): the residual
 *   attrs   Conv's; activation ∈ {"none", "relu", "gelu_erf", "gelu_tanh", "silu"}
 *
 *   Y = R + act(Conv(X, W, bias))          R 0 when absent
 *
 * The reference: Conv's evaluator, then the epilogue element by element in double. The backend runs it
 * through Conv's emitter, whose GEMM applies the epilogue to its tiles. */
#include <string.h>

#include "ops.h"

enum { IN_R = 3 };

vitc_status shape_fused_conv(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  vitc_status st = vitc_check_f32_inputs(n, in, err);
  if (st != VITC_OK) return st;
  vitc_status act = vitc_check_epilogue_activation(n, "FusedConv", err);
  if (act) return act;
  st = shape_conv(n, in, out, err);
  const vitc_value *r = n->nin > IN_R ? in[IN_R] : NULL;
  if (st == VITC_OK && r && (r->rank != out->rank || memcmp(r->dims, out->dims, sizeof(int64_t) * (size_t)r->rank)))
    return vitc_fail(err, VITC_ERR_INVALID, "FusedConv residual must have the output's shape");
  return st;
}

vitc_status eval_FusedConv(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  vitc_status st = eval_Conv(n, in, out, err);
  if (st != VITC_OK) return st;
  const float *r = n->nin > IN_R && in[IN_R] ? in[IN_R]->data : NULL;
  float *y = out->data;
  int act = vitc_epilogue_activation(n);
  for (int64_t e = 0; e < vitc_numel(out); e++) y[e] = (float)(vitc_epilogue_activate(act, y[e]) + (r ? r[e] : 0));
  return VITC_OK;
}

/* The convolution, plus one operation per output element for each epilogue step. */
double flops_fused_conv(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  double steps = (vitc_epilogue_activation(n) > ACT_NONE) + (n->nin > IN_R && in[IN_R]);
  return flops_conv(n, in, out) + steps * (double)vitc_numel(&out[0]);
}
