/* ops.h — what the op implementations in ir/ops/ share: the declarations of every shape rule, evaluator
 * and flops function named in ops.def, and the helpers for broadcasting and axes. Internal to ir/. */
#ifndef VITC_IR_OPS_H
#define VITC_IR_OPS_H

#include "../ir.h"

#define X(id, domain, name, min_in, max_in, min_out, max_out, shape_fn, eval_fn, flops_fn, emit_fn, flags)       \
  vitc_status shape_fn(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err); \
  vitc_status eval_fn(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err);
#include "../ops.def"
#undef X
/* flops functions are declared one by one: NULL entries in ops.def cannot go through the macro. */
double flops_elementwise(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);
double flops_elementwise_chain(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);
double flops_input(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);
double flops_matmul(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);
double flops_gemm(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);
double flops_einsum(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);
double flops_conv(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);
double flops_conv_transpose(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);
double flops_fused_conv(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);
double flops_depthwise_conv_nhwc(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);
double flops_patch_conv_nhwc(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);
double flops_pool(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);
double flops_norm(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);
double flops_softmax(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);
double flops_fused_gemm(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);
double flops_attention(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);
double flops_grn(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);
double flops_patch_merging(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);
double flops_talking_heads(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);
double flops_factorized_context(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);
double flops_factorized_attention(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);
double flops_channel_attention(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);
double flops_quant_product(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);

/* The activation a fused op applies in its epilogue (FusedGemm, FusedConv, DepthwiseConvNHWC, PatchConvNHWC,
 * Int8Gemm): attribute "activation" ∈ {"none", "relu", "gelu_erf", "gelu_tanh", "silu"} as ACT_* (-1 when it
 * names none of them), and its value at x. vitc_check_epilogue_activation is the shape rules' refusal of
 * another name, naming the op and the names it takes. */
enum { ACT_NONE, ACT_RELU, ACT_GELU_ERF, ACT_GELU_TANH, ACT_SILU };
int vitc_epilogue_activation(const vitc_node *n);
vitc_status vitc_check_epilogue_activation(const vitc_node *n, const char *op, vitc_error *err);
double vitc_epilogue_activate(int act, double x);
/* Whether v is one-dimensional of n elements: a fused op's per-channel bias, scale or shift. */
static inline bool vitc_is_vector(const vitc_value *v, int64_t n) { return v->rank == 1 && v->dims[0] == n; }
/* The fused ops' refusal of a present input other than float32: "OP runs on float32 only (input k)". */
vitc_status vitc_check_f32_inputs(const vitc_node *n, const vitc_value *const *in, vitc_error *err);

/* Normalises x[start, start + len) into y (y may be x), then applies y = y * scale[j / period] + bias[j / period];
 * statistics in double, two-pass. Stores the row's mean and 1/sqrt(var + eps) when asked (non-NULL). */
void vitc_normalize_row(const vitc_value *x, vitc_value *y, int64_t start, int64_t len, double eps, const double *scale,
                        const double *bias, int64_t period, double *mean_out, double *inv_std_out);

/* Numpy broadcasting of a and b into out_dims/out_rank; fails with a message naming both shapes. */
vitc_status vitc_broadcast_shape(const vitc_value *a, const vitc_value *b, int64_t *out_dims, int *out_rank,
                                 vitc_error *err);
/* Element strides of v viewed at the broadcast shape (out_rank dims): 0 along broadcast dims. */
void vitc_broadcast_strides(const vitc_value *v, int out_rank, const int64_t *out_dims, int64_t *strides);
/* Row-major element strides of a shape. */
void vitc_contiguous_strides(const int64_t *dims, int rank, int64_t *strides);
/* Normalises axis (negative counts from the end) into [0, rank); fails when out of range. */
vitc_status vitc_normalize_axis(int64_t axis, int rank, int *out, vitc_error *err);
/* Reads a 1-D (or scalar) int32/int64 input into an int64 array (at most cap entries); fails with
 * "data-dependent" when v->data is NULL, naming what. */
vitc_status vitc_read_int_list(const vitc_value *v, const char *what, int64_t *out, int cap, int *len,
                               vitc_error *err);
/* Sets out to in's dtype and shape. */
void vitc_copy_type(vitc_value *out, const vitc_value *in);

#endif
