/* emitters.h — declarations of the op emitters that ops.def names (its last column). Internal to
 * backend/. An emitter generates the body of the current node's function (cg.h). */
#ifndef VITC_EMITTERS_H
#define VITC_EMITTERS_H

#include "cg.h"

/* Ops built by emit_elementwise.c from a scalar builder each. */
#define VITC_ELEMENTWISE_EMITTERS(X)                                                                    \
  X(Abs) X(Neg) X(Sqrt) X(Reciprocal) X(Exp) X(Log) X(Erf) X(Tanh) X(Sigmoid) X(Floor) X(Ceil) X(Round)   \
  X(Sign) X(Sin) X(Cos) X(Tan) X(Asin) X(Acos) X(Atan) X(Sinh) X(Cosh) X(Asinh) X(Acosh) X(Atanh)        \
  X(IsNaN) X(IsInf) X(Not) X(Relu) X(LeakyRelu) X(PRelu) X(Elu) X(Selu) X(Celu) X(ThresholdedRelu)       \
  X(HardSigmoid) X(HardSwish) X(Softplus) X(Softsign) X(Mish) X(Gelu) X(QuickGelu) X(Silu) X(Shrink)     \
  X(Clip) X(Add) X(Sub)                                                                                 \
  X(Mul) X(Div) X(Pow) X(Mod) X(BitShift) X(Min) X(Max) X(Sum) X(Mean) X(Equal) X(Less) X(LessOrEqual)   \
  X(Greater) X(GreaterOrEqual) X(And) X(Or) X(Xor) X(Where) X(Cast)

/* Data-movement ops built by emit_probe.c from the evaluator's own index map. */
#define VITC_PROBE_EMITTERS(X) \
  X(Identity) X(Dropout) X(Transpose) X(Reshape) X(Flatten) X(Squeeze) X(Unsqueeze) X(Concat) X(Split) X(Slice) X(Expand) X(Tile) X(Pad) X(Trilu) X(DepthToSpace) X(SpaceToDepth) X(Gather) X(GatherElements) X(GatherND) X(ScatterND) X(ScatterElements)

/* Matrix products, convolutions and pools: emit_gemm.c, emit_attention.c, emit_conv.c, emit_pool.c. */
#define VITC_LINALG_EMITTERS(X) \
  X(MatMul) X(Gemm) X(FusedGemm) X(Attention) X(Conv) X(AveragePool) X(MaxPool) X(GlobalAveragePool) X(GlobalMaxPool)

/* Reductions, the softmax family, TopK and CumSum (emit_reduce.c); normalisations (emit_norm.c). */
#define VITC_REDUCE_EMITTERS(X)                                                                         \
  X(ReduceMean) X(ReduceSum) X(ReduceMax) X(ReduceMin) X(ReduceProd) X(ReduceL1) X(ReduceL2)             \
  X(ReduceSumSquare) X(ReduceLogSum) X(ReduceLogSumExp) X(ArgMax) X(ArgMin) X(Softmax) X(LogSoftmax)     \
  X(Hardmax) X(TopK) X(CumSum)
#define VITC_NORM_EMITTERS(X)                                                                           \
  X(LayerNormalization) X(BatchNormalization) X(InstanceNormalization) X(GroupNormalization)             \
  X(LpNormalization) X(MeanVarianceNormalization) X(LayerNormChannels) X(RMSNorm) X(LayerNormResidual)

/* OneHot (emit_gather.c), Einsum (emit_einsum.c), Resize (emit_resize.c), SwiGLU (emit_swiglu.c), GRN
 * (emit_grn.c). */
#define VITC_MISC_EMITTERS(X) X(OneHot) X(Einsum) X(Resize) X(SwiGLU) X(GRN)

/* Gathers and scatters whose indices are known only at run time, and reducing scatters: emit_probe.c
 * hands them to emit_gather.c. */
vitc_status emit_indexed(vitc_cg *cg, const vitc_node *n, vitc_error *err);
/* ConvTranspose (emit_conv_transpose.c). */
vitc_status emit_ConvTranspose(vitc_cg *cg, const vitc_node *n, vitc_error *err);
/* vitc.PatchMerging (emit_patch_merging.c). */
vitc_status emit_PatchMerging(vitc_cg *cg, const vitc_node *n, vitc_error *err);
/* vitc.DepthwiseConvNHWC (emit_depthwise_nhwc.c). */
vitc_status emit_DepthwiseConvNHWC(vitc_cg *cg, const vitc_node *n, vitc_error *err);
/* vitc.GlobalAveragePoolNHWC (emit_pool.c). */
vitc_status emit_GlobalAveragePoolNHWC(vitc_cg *cg, const vitc_node *n, vitc_error *err);

#define DECLARE_EMITTER(Op) vitc_status emit_##Op(vitc_cg *cg, const vitc_node *n, vitc_error *err);
VITC_ELEMENTWISE_EMITTERS(DECLARE_EMITTER)
VITC_PROBE_EMITTERS(DECLARE_EMITTER)
VITC_LINALG_EMITTERS(DECLARE_EMITTER)
VITC_REDUCE_EMITTERS(DECLARE_EMITTER)
VITC_NORM_EMITTERS(DECLARE_EMITTER)
VITC_MISC_EMITTERS(DECLARE_EMITTER)
#undef DECLARE_EMITTER

#endif
