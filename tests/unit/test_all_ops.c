/* test_all_ops.c — every op with an emitter (ir/ops.def), JIT-compiled as a one-node graph on awkward
 * shapes and compared with the reference evaluator at 1 and 3 threads, and at 1 thread compiled for an
 * AVX2 and an SSE2-only x86-64 CPU as well (other_cpus).
 *
 * The cases below give each op its operands, attributes and input domains; an elementwise op without a
 * case runs on default_inputs, and any other op with an emitter but no case fails the test. Operands
 * are written as
 *
 *   f32[3,5,7]        a graph input of that type, random in [-1, 1) (integers in [-4, 4), bools half true)
 *   f32[3,5,7]:pos    ... restricted to a domain (see `domains`)
 *   c:f32[7]          a constant of random values
 *   i64{1,2}          a 1-D constant holding these values; i64(3) a scalar constant
 *   -                 an absent optional input
 *
 * and attributes as "name=value" words: an integer, a float (with a '.'), a list of integers (with a
 * ','), or else a string. The pipeline runs at -O0 so that no pass removes the node under test. First,
 * the op table's flags are checked against its emitter column. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "backend/emitters.h"
#include "backend_harness.h"

typedef struct op_case {
  vitc_op op;
  const char *inputs;
  const char *attrs;
  int nout;          /* 0: the op's min_out */
  double rtol, atol; /* 0: 1e-5 and 1e-6 */
} op_case;

static const op_case cases[] = {
    /* unary math; the other one-input elementwise ops take f32[3,5,7] (default_inputs) */
    {VITC_OP_Sqrt, "f32[3,5,7]:pos"},
    {VITC_OP_Log, "f32[3,5,7]:pos"},
    {VITC_OP_Reciprocal, "f32[3,5,7]:nonzero"},
    {VITC_OP_Asin, "f32[3,5,7]:unit"},
    {VITC_OP_Acos, "f32[3,5,7]:unit"},
    {VITC_OP_Atanh, "f32[3,5,7]:unit"},
    {VITC_OP_Acosh, "f32[3,5,7]:ge1"},
    {VITC_OP_Abs, "i32[3,5,7]"},
    {VITC_OP_Neg, "i64[1,13]"},
    {VITC_OP_Sign, "f32[1,13]"},
    {VITC_OP_IsNaN, "f32[3,5,7]:special"},
    {VITC_OP_IsInf, "f32[3,5,7]:special"},
    {VITC_OP_Not, "bool[3,5,7]"},
    /* float64 unary math (inline double kernels, vmath.c) on sizes that leave vector tails, and 4099 elements
     * (one row of 4096 and a short one) */
    {VITC_OP_Exp, "f64[3,5,7]:mid"},
    {VITC_OP_Log, "f64[2,9,11]:pos"},
    {VITC_OP_Sin, "f64[3,5,7]:wide"},
    {VITC_OP_Cos, "f64[2,9,11]:wide"},
    {VITC_OP_Tan, "f64[3,5,7]:mid"},
    {VITC_OP_Asin, "f64[3,5,7]:unit"},
    {VITC_OP_Acos, "f64[2,9,11]:unit"},
    {VITC_OP_Atan, "f64[3,5,7]:wide"},
    {VITC_OP_Sinh, "f64[3,5,7]:mid"},
    {VITC_OP_Cosh, "f64[2,9,11]:mid"},
    {VITC_OP_Tanh, "f64[4099]:mid"},
    {VITC_OP_Asinh, "f64[3,5,7]:wide"},
    {VITC_OP_Acosh, "f64[2,9,11]:ge1"},
    {VITC_OP_Atanh, "f64[3,5,7]:unit"},
    {VITC_OP_Erf, "f64[4099]:mid"},
    {VITC_OP_Sigmoid, "f64[3,5,7]:mid"},
    {VITC_OP_Gelu, "f64[2,9,11]:mid"},
    /* activations */
    {VITC_OP_ThresholdedRelu, "f32[3,5,7]", "alpha=0.25"},
    {VITC_OP_LeakyRelu, "f32[3,5,7]", "alpha=0.3"},
    {VITC_OP_Gelu, "f32[3,5,7]", "approximate=tanh"},
    {VITC_OP_Shrink, "f32[3,5,7]", "lambd=0.4 bias=0.1"},
    {VITC_OP_PRelu, "f32[3,5,7] c:f32[7]"},
    {VITC_OP_Clip, "f32[3,5,7] f32(-0.5) f32(0.25)"},
    {VITC_OP_SwiGLU, "f32[3,5,14]", "silu_half=1"},
    /* binary and variadic, broadcasting */
    {VITC_OP_Add, "f32[3,5,7] f32[5,1]"},
    {VITC_OP_Sub, "f32[1,13] f32[3,1,13]"},
    {VITC_OP_Mul, "i32[3,5,7] i32[7]"},
    {VITC_OP_Div, "f32[3,5,7] f32[5,7]:nonzero"},
    {VITC_OP_Pow, "f32[3,5,7]:pos f32[5,1]"},
    {VITC_OP_Pow, "f64[3,5,7]:pos f64[5,1]:mid"},
    {VITC_OP_Pow, "f64[2,9,11] i64[11]"},           /* negative bases, integer exponents */
    {VITC_OP_Pow, "i64[3,5,7] i64[5,7]"},           /* negative exponents: truncated 1/b^-e */
    {VITC_OP_Pow, "i32[2,9,11]:wide i32[11]:bits"}, /* wrapping */
    {VITC_OP_Pow, "u8[4099]:bits u8[1]:bits"},
    /* exponents known when the kernel is built (vm_pow_known), bases with NaN, ±inf, 0 and negatives */
    {VITC_OP_Pow, "f32[3,5,4099]:special f32(3)"},
    {VITC_OP_Pow, "f32[2,9,11]:special f32(-2)"},
    {VITC_OP_Pow, "f32[4099]:special i64(-7)"},
    {VITC_OP_Pow, "f32[3,37]:special f32(0)"},
    {VITC_OP_Pow, "f32[4099]:special f32(0.5)"},
    {VITC_OP_Pow, "f32[7,13]:special f32(-0.5)"},
    {VITC_OP_Pow, "f32[3,5,7]:special f32(1.7)"},        /* the general path: NaN for negative bases */
    {VITC_OP_Pow, "f32[2,9,11]:special f32[11]:halves"}, /* integer and half exponents up to ±300 */
    {VITC_OP_Mod, "i64[3,5,7] i64[5,7]:nonzero"},
    {VITC_OP_Mod, "f64[3,5,7]:wide f64[5,7]:nonzero", "fmod=1"},
    {VITC_OP_Mod, "f32[2,9,11]:wide f32[11]:nonzero", "fmod=1"},
    {VITC_OP_Mod, "f32[4099]:wide f32[1]:nonzero"},
    {VITC_OP_BitShift, "u32[3,5,7]:bits u32[7]:bits", "direction=LEFT"},
    {VITC_OP_Min, "f32[3,5,7] f32[5,7] f32[1]"},
    {VITC_OP_Max, "f32[3,5,7] f32[5,1] f32[7]"},
    {VITC_OP_Sum, "f32[3,5,7] f32[5,7] f32[1]"},
    {VITC_OP_Mean, "f32[3,5,7] f32[3,1,7]"},
    {VITC_OP_Equal, "i64[3,5,7] i64[7]"},
    {VITC_OP_Less, "f32[3,5,7] f32[5,1]"},
    {VITC_OP_LessOrEqual, "i32[3,5,7] i32[5,1]"},
    {VITC_OP_Greater, "f32[3,5,7] f32[7]"},
    {VITC_OP_GreaterOrEqual, "i64[3,5,7] i64[5,7]"},
    {VITC_OP_And, "bool[3,5,7] bool[5,7]"},
    {VITC_OP_Or, "bool[3,5,7] bool[7]"},
    {VITC_OP_Xor, "bool[3,5,7] bool[5,1]"},
    {VITC_OP_Where, "bool[3,5,7] f32[5,7] f32[3,1,7]"},
    {VITC_OP_Cast, "f32[3,5,7]:wide", "to=6"},
    {VITC_OP_CastLike, "i32[3,5,7] c:f32[]"},
    /* chains (passes/fuse_elementwise_chains): inputs broadcast along each axis, a row tail, rows of the pool */
    {VITC_OP_ElementwiseChain, "f32[3,5,7] f32[5,1] c:f32[7]", "ops=Sub,Mul,Sigmoid,Add args=0,1,-1,2,-2,-2,-3,0"},
    {VITC_OP_ElementwiseChain, "f32[3,1,4099] f32[3,5,1]", "ops=Mul,Relu,Div args=0,1,-1,-1,-2,1"},
    /* products, convolutions, pools */
    {VITC_OP_MatMul, "f32[3,5,7] f32[7,13]", NULL, 0, 1e-4, 1e-5},
    {VITC_OP_Gemm, "f32[5,7] c:f32[13,7] c:f32[13]", "transB=1 alpha=0.5", 0, 1e-4, 1e-5},
    {VITC_OP_Einsum, "f32[3,5,7] f32[3,7,13]", "equation=bij,bjk->bik", 0, 1e-4, 1e-5},
    {VITC_OP_FusedGemm, "f32[3,5,7] c:f32[7,13] c:f32[13] f32[3,5,13] c:f32[13]", "activation=gelu_erf", 0, 1e-4, 1e-5},
    {VITC_OP_Attention, "f32[2,3,13,8] f32[2,3,13,8] f32[2,3,13,5] c:f32[3,13,13]", "scale=0.35", 0, 1e-4, 1e-5},
    {VITC_OP_PatchMerging, "f32[1,6,10,3] c:f32[12,5] c:f32[12] c:f32[12] c:f32[5]", NULL, 0, 1e-4, 1e-5},
    {VITC_OP_Conv, "f32[1,3,7,9] c:f32[4,3,3,3] c:f32[4]", "pads=1,0,1,2 strides=1,2", 0, 1e-4, 1e-5},
    {VITC_OP_ConvTranspose, "f32[1,3,5,6] c:f32[3,2,3,3] c:f32[2]", "strides=2,1", 0, 1e-4, 1e-5},
    /* NCHW depthwise: band kernels, a channel multiplier with stride 2, stride 3, dilation, rows wide
     * enough for the inner vector loop and rows narrower than a vector */
    {VITC_OP_Conv, "f32[2,5,9,43] c:f32[5,1,1,11] c:f32[5]", "pads=0,5,0,5 group=5", 0, 1e-4, 1e-5},
    {VITC_OP_Conv, "f32[1,4,12,6] c:f32[4,1,11,1]", "pads=5,0,5,0 group=4", 0, 1e-4, 1e-5},
    {VITC_OP_Conv, "f32[1,3,13,47] c:f32[6,1,7,7] c:f32[6]", "pads=3,3,3,3 strides=2,2 group=3", 0, 1e-4, 1e-5},
    {VITC_OP_Conv, "f32[1,2,10,40] c:f32[2,1,3,5]", "pads=2,1,0,3 strides=3,3 group=2", 0, 1e-4, 1e-5},
    {VITC_OP_Conv, "f32[1,3,5,53] c:f32[3,1,3,3] c:f32[3]", "pads=1,1,1,1 dilations=1,2 group=3", 0, 1e-4, 1e-5},
    {VITC_OP_Conv, "f32[1,3,4,3] c:f32[3,1,5,5] c:f32[3]", "pads=2,2,2,2 group=3", 0, 1e-4, 1e-5},
    {VITC_OP_FusedConv, "f32[1,4,9,37] c:f32[4,1,7,7] c:f32[4] f32[1,4,5,19]",
     "pads=3,3,3,3 strides=2,2 group=4 activation=gelu_erf", 0, 1e-4, 1e-5},
    {VITC_OP_DepthwiseConvNHWC, "f32[1,7,9,5] c:f32[3,3,5] c:f32[5]", "pads=1,1,1,1", 0, 1e-4, 1e-5},
    {VITC_OP_DepthwiseConvNHWC, "f32[2,5,11,19] c:f32[7,7,19] - c:f32[19] c:f32[19]", "pads=3,3,3,3 epsilon=0.00001", 0, 1e-4, 1e-5},
    {VITC_OP_DepthwiseConvNHWC, "f32[2,22,5] c:f32[3,5,5] c:f32[5]", "pads=1,2,1,2 image=4,5", 0, 1e-4, 1e-5},
    {VITC_OP_DepthwiseConvNHWC, "f32[2,22,5] c:f32[3,5,5] c:f32[5] c:f32[5] c:f32[5]", "pads=1,2,1,2 image=4,5 epsilon=0.00001", 0, 1e-4, 1e-5},
    {VITC_OP_PatchConvNHWC, "f32[2,6,10,7] c:f32[42,19] c:f32[19]", "kernel_shape=3,2 strides=3,2", 0, 1e-4, 1e-5},
    {VITC_OP_PatchConvNHWC, "f32[1,4,4,5] f32[20,3]", "kernel_shape=2,2 strides=2,2", 0, 1e-4, 1e-5},
    {VITC_OP_PatchConvNHWC, "f32[1,9,8,6] c:f32[54,10] c:f32[10]", "kernel_shape=3,3 strides=2,2 pads=1,1,1,1", 0, 1e-4, 1e-5},
    {VITC_OP_FusedConv, "f32[1,3,7,9] c:f32[4,3,3,3] c:f32[4] f32[1,4,7,5]",
     "pads=1,0,1,2 strides=1,2 activation=gelu_erf", 0, 1e-4, 1e-5},
    {VITC_OP_GlobalAveragePoolNHWC, "f32[2,7,9,19]", NULL, 0, 1e-5, 1e-6},
    {VITC_OP_AveragePool, "f32[1,3,7,9]", "kernel_shape=3,2 strides=2,1 pads=1,0,1,1", 0, 1e-5, 1e-6},
    {VITC_OP_MaxPool, "f32[1,3,7,9]", "kernel_shape=3,3 strides=2,2"},
    {VITC_OP_GlobalAveragePool, "f32[1,3,7,9]"},
    {VITC_OP_GlobalMaxPool, "f32[2,3,5,7]"},
    /* normalisations */
    {VITC_OP_BatchNormalization, "f32[2,3,5,7] c:f32[3] c:f32[3] c:f32[3] f32[3]:pos", NULL, 0, 1e-4, 1e-5},
    {VITC_OP_LayerNormalization, "f32[3,5,7] c:f32[7] c:f32[7]", NULL, 0, 1e-4, 1e-5},
    {VITC_OP_InstanceNormalization, "f32[2,3,5,7] c:f32[3] c:f32[3]", NULL, 0, 1e-4, 1e-5},
    {VITC_OP_GroupNormalization, "f32[2,6,5,7] c:f32[3] c:f32[3]", "num_groups=3", 0, 1e-4, 1e-5},
    {VITC_OP_LpNormalization, "f32[3,5,7]", NULL, 0, 1e-4, 1e-5},
    {VITC_OP_MeanVarianceNormalization, "f32[2,3,5,7]", NULL, 0, 1e-4, 1e-5},
    {VITC_OP_LayerNormChannels, "f32[2,3,5,7] c:f32[3] c:f32[3]", NULL, 0, 1e-4, 1e-5},
    {VITC_OP_LayerNormChannels, "f32[3,37,5,9] c:f32[37] c:f32[37]", "epsilon=0.001", 0, 1e-4, 1e-5},
    {VITC_OP_LayerNormChannels, "f32[1,5,3] c:f32[5] c:f32[5]", NULL, 0, 1e-4, 1e-5},
    {VITC_OP_RMSNorm, "f32[3,5,7] c:f32[7]", NULL, 0, 1e-4, 1e-5},
    {VITC_OP_LayerNormResidual, "f32[3,5,7] c:f32[7] c:f32[7] f32[3,5,7]", NULL, 0, 1e-4, 1e-5},
    {VITC_OP_GRN, "f32[2,3,5,7] c:f32[7] c:f32[7]", NULL, 0, 1e-4, 1e-5},
    {VITC_OP_Rope, "f32[2,3,13,6] c:f32[12,6] c:f32[12,6]", "offset=1 interleaved=1", 0, 1e-5, 1e-6},
    {VITC_OP_TalkingHeads, "f32[2,7,27] c:f32[3,3] c:f32[3] c:f32[3,3] c:f32[3]", "heads=3 scale=0.4", 0, 1e-4, 1e-5},
    {VITC_OP_FactorizedContext, "f32[2,3,13,5] f32[2,3,13,7]", "", 0, 1e-5, 1e-6},
    {VITC_OP_FactorizedAttention, "f32[2,13,30] c:f32[3,5,10] c:f32[10]", "heads=2 scale=0.4 image=3,4", 0, 1e-4, 1e-5},
    /* D a masked tail; images that cut across the leading dims, y_shape regrouping the rows, one head of 20 */
    {VITC_OP_ChannelAttention, "f32[2,13,30] c:f32[2,1,1]", "heads=2 tokens=13 scale=0.7 y_shape=2,13,10", 0, 1e-4, 1e-5},
    {VITC_OP_ChannelAttention, "f32[3,4,5,60] c:f32[1]", "heads=1 tokens=6 y_shape=10,6,20", 0, 1e-4, 1e-5},
    /* reductions */
    {VITC_OP_ReduceMean, "f32[3,5,7] i64{1}", NULL, 0, 1e-5, 1e-6},
    {VITC_OP_ReduceSum, "f32[3,5,7] i64{0,2}", "keepdims=0", 0, 1e-5, 1e-6},
    {VITC_OP_ReduceMax, "f32[3,5,7] i64{-1}"},
    {VITC_OP_ReduceMin, "i32[3,5,7] i64{0}"},
    {VITC_OP_ReduceProd, "f32[3,5,7] i64{1}"},
    {VITC_OP_ReduceL1, "f32[3,5,7] i64{2}", NULL, 0, 1e-5, 1e-6},
    {VITC_OP_ReduceL2, "f32[3,5,7] i64{1}", NULL, 0, 1e-5, 1e-6},
    {VITC_OP_ReduceSumSquare, "f32[3,5,7] i64{2}", NULL, 0, 1e-5, 1e-6},
    {VITC_OP_ReduceLogSum, "f32[3,5,7]:pos i64{1}", NULL, 0, 1e-5, 1e-6},
    {VITC_OP_ReduceLogSumExp, "f32[3,5,7] i64{2}", NULL, 0, 1e-5, 1e-6},
    {VITC_OP_ArgMax, "f32[3,5,7]", "axis=1"},
    {VITC_OP_ArgMin, "f32[3,5,7]", "axis=2 keepdims=0"},
    {VITC_OP_Softmax, "f32[3,5,7]", NULL, 0, 1e-5, 1e-6},
    {VITC_OP_LogSoftmax, "f32[3,5,7]", "axis=1", 0, 1e-5, 1e-6},
    {VITC_OP_Hardmax, "f32[3,5,7]"},
    {VITC_OP_TopK, "f32[3,5,7] i64{3}", "axis=1", 2},
    {VITC_OP_CumSum, "f32[3,5,7] i64(1)", "reverse=1", 0, 1e-5, 1e-6},
    /* movement */
    {VITC_OP_Identity, "f32[3,5,7]"},
    {VITC_OP_Dropout, "f32[3,5,7]"},
    {VITC_OP_Transpose, "f32[3,5,7]", "perm=2,0,1"},
    {VITC_OP_Reshape, "f32[3,5,7] i64{7,-1}"},
    {VITC_OP_Flatten, "f32[3,5,7]", "axis=2"},
    {VITC_OP_Squeeze, "f32[3,1,7] i64{1}"},
    {VITC_OP_Unsqueeze, "f32[3,5,7] i64{0,3}"},
    {VITC_OP_Concat, "f32[3,5,7] f32[3,2,7] f32[3,1,7]", "axis=1"},
    {VITC_OP_Split, "f32[3,5,7] i64{2,3}", "axis=1", 2},
    {VITC_OP_Slice, "f32[3,5,13] i64{1,-1} i64{5,1} i64{1,2} i64{2,-3}"},
    /* pieces large enough for the pool: the outer loop's rows (a transpose, each input of a concat) and a
     * single loop's chunks of 4096 with a shorter last one (a slice that is one run) */
    {VITC_OP_Transpose, "f32[3,97,233]", "perm=2,0,1"},
    {VITC_OP_Concat, "f32[3,151,149] f32[3,2,149]", "axis=1"},
    {VITC_OP_Slice, "f32[9,8300] i64{1} i64{9} i64{0}"},
    {VITC_OP_Expand, "f32[5,1] i64{3,5,7}"},
    {VITC_OP_Tile, "f32[3,5,7] i64{1,2,3}"},
    {VITC_OP_Pad, "f32[3,5,7] i64{0,1,2,0,2,1} f32(0.5)"},
    {VITC_OP_Trilu, "f32[3,5,7] i64(1)", "upper=0"},
    {VITC_OP_DepthToSpace, "f32[1,8,3,5]", "blocksize=2 mode=CRD"},
    {VITC_OP_SpaceToDepth, "f32[1,3,6,10]", "blocksize=2"},
    /* gathers and scatters: with known indices (the movement kernel) and with run-time ones */
    {VITC_OP_Gather, "f32[5,7] i64{4,0,-1,2}"},
    {VITC_OP_Gather, "f32[3,5,7] i64[2,4]:index5", "axis=1"},
    {VITC_OP_GatherElements, "f32[3,5,7] i64[3,2,7]:index5", "axis=1"},
    {VITC_OP_GatherND, "f32[3,5,7] i64[4,2]:index3"},
    {VITC_OP_ScatterND, "f32[3,5,7] i64{2,0} f32[7]"},
    {VITC_OP_ScatterND, "f32[3,5,7] i64[4,1]:index3 f32[4,5,7]", "reduction=add"},
    {VITC_OP_ScatterElements, "f32[3,5,7] i64[3,1,7]:index5 f32[3,1,7]", "axis=1"},
    {VITC_OP_ScatterElements, "f32[3,5,7] i64[3,4,7]:index5 f32[3,4,7]", "axis=1 reduction=max"},
    {VITC_OP_OneHot, "i64[3,5]:index7 i64(7) f32{-1,2}"},
    {VITC_OP_ResizeTokens, "f32[2,21,19]", "image=4,5 size=8,10"},
    {VITC_OP_ResizeTokens, "f32[1,31,7]", "image=5,6 size=3,2"},
    {VITC_OP_Resize, "f32[1,2,5,7] - f32{1,1,2,1.5}", "mode=linear", 0, 1e-5, 1e-6},
    {VITC_OP_Resize, "f32[1,2,5,7] - f32{1,1,0.6,2}", "mode=nearest"},
    /* quantisation: saturating at both ends, per tensor and along the last axis */
    {VITC_OP_QuantizeLinear, "f32[3,5,7]:wide f32(1.7) u8(3)"},
    {VITC_OP_QuantizeLinear, "f32[3,5,7]:wide f32{0.5,1,2,3,4,5,6} i8{-5,0,1,2,3,4,127}", "axis=2"},
    {VITC_OP_QuantizeLinear, "f32[1,13] f32(0.01)"},
    /* per tensor in vectors: ties, saturation, NaN and infinities; rows of the pool and a tail */
    {VITC_OP_QuantizeLinear, "f32[3,1500,7]:halves f32(1) i8(-3)"},
    {VITC_OP_QuantizeLinear, "f32[2,4100]:special f32(0.5) u8(128)"},
    {VITC_OP_QuantizeLinear, "f32[4099]:halves f32(2) u8(0)"},
    {VITC_OP_DequantizeLinear, "i8[3,1500,7] f32(0.3) i8(-7)"},
    {VITC_OP_DequantizeLinear, "u8[4099] f32(0.7)"},
    {VITC_OP_DequantizeLinear, "u8[3,5,7] f32(0.3) u8(7)"},
    {VITC_OP_DequantizeLinear, "i8[3,5,7] f32{0.5,1,2,3,4,5,6} i8{-5,0,1,2,3,4,127}", "axis=-1"},
    {VITC_OP_DequantizeLinear, "i32[5,7] f32(0.25)"},
    /* int8 GEMM: K not a multiple of 4, N across panels with a ragged last one, M across row blocks and 1 */
    {VITC_OP_Int8Gemm, "f32[3,5,7] f32(0.005) u8(130) c:i8[7,13] c:f32[13] c:f32[13]"},
    {VITC_OP_Int8Gemm, "f32[1,70] f32(0.02) i8(-3) c:i8[70,130] f32(0.5)"},
    {VITC_OP_Int8Gemm, "f32[2,9,33] f32(0.003) i8(0) c:i8[33,64] c:f32[64]"},
    /* with the output quantised and dequantised (no bias before, a bias after) */
    {VITC_OP_Int8Gemm, "f32[3,5,7] f32(0.005) u8(130) c:i8[7,13] c:f32[13] - f32(0.3) i8(2) c:f32[13]"},
    /* with the epilogue fuse_gemm_epilogue joins: an activation, a residual (whole, and repeating down the rows) */
    {VITC_OP_Int8Gemm, "f32[3,5,7] f32(0.005) u8(130) c:i8[7,13] c:f32[13] - f32(0.3) i8(2) c:f32[13]", "activation=gelu_erf", 0, 1e-4, 1e-5},
    {VITC_OP_Int8Gemm, "f32[2,9,70] f32(0.02) i8(-3) c:i8[70,130] f32(0.5) c:f32[130] - - - f32[2,9,130]", "activation=relu"},
    {VITC_OP_Int8Gemm, "f32[3,7,33] f32(0.003) i8(0) c:i8[33,64] c:f32[64] c:f32[64] f32(0.1) u8(128) - f32[1,7,64]", "activation=gelu_tanh", 0, 1e-4, 1e-5},
};

/* ------------------------------------------------------------------ operands */

static vitc_dtype dtype_named(const char *s, int len) {
  static const struct {
    const char *name;
    vitc_dtype t;
  } names[] = {{"f32", VITC_F32}, {"f64", VITC_F64}, {"f16", VITC_F16}, {"i64", VITC_I64},
               {"i32", VITC_I32}, {"u32", VITC_U32}, {"u8", VITC_U8},   {"i8", VITC_I8}, {"bool", VITC_BOOL}};
  for (size_t k = 0; k < sizeof names / sizeof *names; k++)
    if ((int)strlen(names[k].name) == len && !strncmp(s, names[k].name, (size_t)len)) return names[k].t;
  return VITC_UNDEFINED;
}

/* Moves the random value x in [-1, 1) into the domain an operand needs (integer operands take its
 * floor). */
static double in_domain(const char *domain, double x, int64_t i) {
  if (!strcmp(domain, "pos")) return 0.1 + fabs(x) * 2;            /* Sqrt, Log, Pow's base, variances */
  if (!strcmp(domain, "ge1")) return 1 + fabs(x) * 3;              /* Acosh */
  if (!strcmp(domain, "unit")) return x * 0.95;                    /* Asin, Acos, Atanh */
  if (!strcmp(domain, "wide")) return x * 300;                     /* Cast to a narrower integer */
  if (!strcmp(domain, "mid")) return x * 7;                        /* erf's and tanh's whole range */
  if (!strcmp(domain, "halves")) return floor(x * 600) / 2;       /* round-half-to-even's ties, saturating */
  if (!strcmp(domain, "nonzero")) return x < 0 ? x * 4 - 1 : x * 4 + 1; /* divisors: integers too */
  if (!strcmp(domain, "bits")) return floor((x + 1) * 4);          /* shift counts in [0, 8) */
  if (!strcmp(domain, "bool")) return x >= 0;
  if (!strcmp(domain, "special")) {
    static const double specials[] = {NAN, INFINITY, -INFINITY, 0};
    return i % 5 == 0 ? specials[i / 5 % 4] : x;
  }
  if (!strncmp(domain, "index", 5)) { /* indices in [-n, n) */
    double n = atof(domain + 5);
    return floor((x + 1) / 2 * 2 * n) - n;
  }
  return x;
}

static int parse_dims(const char **s, char close, int64_t *dims) {
  int rank = 0;
  while (**s && **s != close) {
    dims[rank++] = strtoll(*s, (char **)s, 10);
    if (**s == ',') (*s)++;
  }
  if (**s) (*s)++;
  return rank;
}

/* One operand word of a case; returns its tensor id (-1 absent, -2 malformed), and the domain of a graph
 * input into domain[]. */
static int add_operand(test_graph *t, const char *w, char *domain) {
  domain[0] = 0;
  if (!strcmp(w, "-")) return -1;
  bool random_const = !strncmp(w, "c:", 2);
  if (random_const) w += 2;
  int len = (int)strcspn(w, "[{(");
  vitc_dtype dt = dtype_named(w, len);
  const char *s = w + len;
  if (dt == VITC_UNDEFINED || !*s) return -2;
  char open = *s++;
  if (open == '[') {
    int64_t dims[VITC_MAX_RANK];
    int rank = parse_dims(&s, ']', dims);
    if (*s == ':') snprintf(domain, 32, "%s", s + 1);
    else if (dt == VITC_BOOL) snprintf(domain, 32, "bool");
    return random_const ? tg_const(t, dt, rank, dims, 7) : tg_input(t, dt, rank, dims);
  }
  double vals[64];
  int n = 0;
  while (*s && *s != '}' && *s != ')' && n < 64) {
    vals[n++] = strtod(s, (char **)&s);
    if (*s == ',') s++;
  }
  vitc_value v = {.dtype = dt, .rank = open == '{', .dims = {n}};
  v.data = calloc((size_t)n + 1, vitc_dtype_size(dt));
  for (int k = 0; k < n; k++)
    if (vitc_dtype_is_float(dt)) vitc_store_f(&v, k, vals[k]);
    else vitc_store_i(&v, k, (int64_t)vals[k]);
  int id = vitc_graph_add_constant(t->g, NULL, &v);
  free(v.data);
  return id;
}

/* "name=value" words into attrs (strings point into buf); the number of attributes. */
static int parse_attrs(const char *spec, char *buf, size_t cap, vitc_attr *attrs, int64_t (*ints)[8]) {
  int n = 0;
  snprintf(buf, cap, "%s", spec ? spec : "");
  for (char *w = strtok(buf, " "); w && n < 8; w = strtok(NULL, " ")) {
    char *eq = strchr(w, '='), *end;
    if (!eq) continue;
    *eq = 0;
    const char *val = eq + 1;
    vitc_attr *a = &attrs[n];
    *a = (vitc_attr){.name = w};
    long long i = strtoll(val, &end, 10);
    if (!*end) {
      *a = (vitc_attr){.name = w, .type = VITC_ATTR_INT, .i = i};
    } else if (*end == '.' && (strtod(val, &end), !*end)) {
      *a = (vitc_attr){.name = w, .type = VITC_ATTR_FLOAT, .f = strtod(val, NULL)};
    } else if (*end == ',') {
      *a = (vitc_attr){.name = w, .type = VITC_ATTR_INTS, .ints = ints[n]};
      for (const char *s = val; *s && a->n < 8; s += *s == ',') a->ints[a->n++] = strtoll(s, (char **)&s, 10);
    } else {
      *a = (vitc_attr){.name = w, .type = VITC_ATTR_STRING, .s = val};
    }
    n++;
  }
  return n;
}

/* What a one-input or two-input elementwise op without a case runs on. */
static const char *default_inputs(vitc_op op) {
  if (!vitc_op_has(op, VITC_OPF_ELEMWISE)) return NULL;
  return vitc_ops[op].min_in == 1 ? "f32[3,5,7]" : vitc_ops[op].min_in == 2 ? "f32[3,5,7] f32[5,1]" : NULL;
}

/* ------------------------------------------------------------------ running a case */

/* The targets each case is also compiled for and run on, at one thread, beside this machine as it is: LLVM's
 * instruction selection differs by vector width, and a kernel's tails by lanes (a float kernel's one-lane
 * tail on AVX2 once crashed it, unseen on AVX-512). Every x86-64 CPU with AVX2 runs both. */
#if defined(__x86_64__)
static const char *const other_cpus[] = {"x86-64-v3", "x86-64"}; /* AVX2 + FMA; SSE2 only */
#else
static const char *const other_cpus[] = {NULL};
#endif

/* Builds the case, compiles it for cpu (NULL: this machine) and checks it at 1 thread, and for this machine
 * at 3 threads too; true when it ran and matched. */
static bool run_case_for(const op_case *c, const char *inputs, const char *cpu) {
  char what[256], words[512], domains[TG_MAX_IO][32], abuf[512];
  int64_t ints[8][8];
  vitc_attr attrs[8];
  int in[16], nin = 0;
  snprintf(what, sizeof what, "%s(%s)%s%s%s%s", vitc_ops[c->op].name, inputs, c->attrs ? " " : "",
           c->attrs ? c->attrs : "", cpu ? " for " : "", cpu ? cpu : "");
  test_graph t = tg_new();
  t.opt_level = 0;
  snprintf(words, sizeof words, "%s", inputs);
  char *save;
  for (char *w = strtok_r(words, " ", &save); w && nin < 16; w = strtok_r(NULL, " ", &save)) {
    int before = t.g->ninputs;
    if ((in[nin++] = add_operand(&t, w, domains[before])) == -2) {
      fprintf(stderr, "%s: malformed operand '%s'\n", what, w);
      tg_free(&t);
      return false;
    }
  }
  int nattr = parse_attrs(c->attrs, abuf, sizeof abuf, attrs, ints);
  int nout = c->nout ? c->nout : vitc_ops[c->op].min_out;
  int out = tg_node(&t, c->op, in, nin, nout, attrs, nattr);
  for (int k = 0; k < nout; k++) tg_output(&t, out + k);

  vitc_error err = {0};
  vitc_target_options to = {.cpu = cpu, .opt_level = 3};
  vitc_status st = tg_compile_for(&t, &to, 1, &err);
  if (st) fprintf(stderr, "%s: %s\n", what, err.msg);
  if (cpu && st == VITC_ERR_UNSUPPORTED) { /* refused, naming what that CPU lacks: no kernel to check */
    tg_free(&t);
    return true;
  }
  bool ok = st == VITC_OK;
  for (int i = 0; ok && i < t.g->ninputs; i++)
    for (int64_t e = 0; domains[i][0] && e < vitc_numel(&t.in[i]); e++) {
      bool real = vitc_dtype_is_float(t.in[i].dtype);
      double x = in_domain(domains[i], vitc_load_f(&t.in[i], e) / (real ? 1 : 4), e); /* tg_fill: [-4, 4) */
      if (real) vitc_store_f(&t.in[i], e, x);
      else vitc_store_i(&t.in[i], e, (int64_t)floor(x));
    }
  bool kept = false; /* the node under test still runs: no pass took it away */
  for (int i = 0; ok && i < t.g->nnodes; i++) kept |= !t.g->nodes[i].dead && t.g->nodes[i].op == c->op;
  if (ok && !kept) fprintf(stderr, "%s: the compiled graph lost the node\n", what);
  ok = ok && kept;
  double rtol = c->rtol ? c->rtol : 1e-5, atol = c->atol ? c->atol : 1e-6;
  for (int threads = 1; ok && threads <= (cpu ? 1 : 3); threads += 2) {
    if (threads > 1 && (st = tg_set_threads(&t, threads, &err))) fprintf(stderr, "%s: %s\n", what, err.msg);
    char label[300];
    snprintf(label, sizeof label, "%s at %d threads", what, threads);
    ok = st == VITC_OK && tg_compare(&t, label, rtol, atol) == 0;
  }
  tg_free(&t);
  return ok;
}

static bool run_case(const op_case *c, const char *inputs) {
  bool ok = run_case_for(c, inputs, NULL);
  for (size_t k = 0; k < sizeof other_cpus / sizeof *other_cpus; k++)
    if (other_cpus[k]) ok &= run_case_for(c, inputs, other_cpus[k]);
  return ok;
}

/* The flags column agrees with itself and with the emitter column: a movement op runs the movement
 * kernel, the flags that refine MOVE come with it, an elementwise op is row-wise. */
static void test_flags_agree(void) {
  for (int op = 0; op < VITC_OP_COUNT; op++) {
    bool move = vitc_op_has((vitc_op)op, VITC_OPF_MOVE);
    bool ok = move == (vitc_emitters[op] == vitc_emitters[VITC_OP_Transpose]); /* the one movement kernel */
    ok &= move || !(vitc_ops[op].flags & (VITC_OPF_MOVE_ALL | VITC_OPF_MOVE_IN2 | VITC_OPF_INDEXED | VITC_OPF_VIEW));
    ok &= !vitc_op_has((vitc_op)op, VITC_OPF_ELEMWISE) || vitc_op_has((vitc_op)op, VITC_OPF_ROWWISE);
    if (!ok) fprintf(stderr, "%s: flags and emitter disagree\n", vitc_ops[op].name);
    CHECK(ok);
  }
}

int main(void) {
  test_flags_agree();
  bool has_case[VITC_OP_COUNT] = {0};
  int ran = 0;
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    bool ok = run_case(&cases[k], cases[k].inputs);
    CHECK(ok);
    has_case[cases[k].op] = true;
    ran++;
  }
  for (int op = 0; op < VITC_OP_COUNT; op++) {
    if (!vitc_emitters[op] || has_case[op]) continue;
    const char *inputs = default_inputs((vitc_op)op);
    if (!inputs) {
      fprintf(stderr, "%s has an emitter but no case here\n", vitc_ops[op].name);
      CHECK(!"every op with an emitter is tested here");
      continue;
    }
    op_case c = {.op = (vitc_op)op, .inputs = inputs};
    CHECK(run_case(&c, inputs));
    ran++;
  }
  printf("%d op cases\n", ran);
  CHECK_DONE();
}
