/* passes.h — graph-to-graph transformations and the pass manager that runs them in a fixed order.
 *
 * A pass is `vitc_status pass(vitc_graph *, vitc_error *)`: it rewrites the graph in place, keeps it
 * topologically ordered and verifiable, and leaves known shapes on every tensor it creates.
 * passes/pipeline.c lists all passes in order in one table; -O0 runs only the passes marked required
 * (shape inference, which every later stage needs). */
#ifndef VITC_PASSES_H
#define VITC_PASSES_H

#include "ir/ir.h"

typedef vitc_status (*vitc_pass_fn)(vitc_graph *g, vitc_error *err);

typedef struct vitc_pass {
  const char *name;
  vitc_pass_fn run;
  bool required; /* runs at -O0 too */
  const char *summary;
} vitc_pass;

/* The pipeline, in order; *count receives its length. */
const vitc_pass *vitc_pipeline(int *count);

typedef struct vitc_pass_options {
  int opt_level;               /* 0: required passes only; 1 and 2: all (VITC_OPT_DEFAULT, include/vitc.h) */
  const char *const *disabled; /* names of passes to skip */
  int ndisabled;
  const char *print_after; /* pass name whose result is printed, or "all"; NULL for none */
  FILE *print_to;          /* where --print-after goes (stderr if NULL) */
  bool verify_each;        /* run vitc_verify after every pass (on in tests) */
  vitc_stage_time *times;  /* if not NULL: time spent in each pipeline entry (indexed as vitc_pipeline's) is added here */
} vitc_pass_options;

/* Runs the pipeline. Fails on an unknown name in disabled/print_after, naming it. */
vitc_status vitc_run_passes(vitc_graph *g, const vitc_pass_options *opts, vitc_error *err);

/* The passes themselves, each in a file of its name. */
vitc_status vitc_infer_shapes(vitc_graph *g, vitc_error *err);     /* shapes everywhere; evaluates nodes whose inputs are all known */
vitc_status vitc_fold_constants(vitc_graph *g, vitc_error *err);   /* nodes with all outputs known become constants */
vitc_status vitc_remove_identity(vitc_graph *g, vitc_error *err);  /* Identity and inference-mode Dropout */
vitc_status vitc_eliminate_common(vitc_graph *g, vitc_error *err); /* CSE: same op, attributes and inputs */
vitc_status vitc_eliminate_dead(vitc_graph *g, vitc_error *err);   /* nodes and constants no output needs */
vitc_status vitc_lower_einsum(vitc_graph *g, vitc_error *err);     /* two-operand product Einsum → (Transpose, Reshape) MatMul */
vitc_status vitc_recompose_layer_norm(vitc_graph *g, vitc_error *err); /* decomposed LayerNorm → LayerNormalization */
vitc_status vitc_recompose_rms_norm(vitc_graph *g, vitc_error *err);   /* x / sqrt(mean(x²) + eps) · w → vitc.RMSNorm */
vitc_status vitc_recompose_gelu(vitc_graph *g, vitc_error *err);       /* GELU formulas → Gelu; x·σ(x), x·σ(1.702x) → Silu, QuickGelu; hard swish → HardSwish */
vitc_status vitc_fuse_swiglu(vitc_graph *g, vitc_error *err);          /* Silu(half) · other half of one tensor → SwiGLU */
vitc_status vitc_fuse_elementwise_chains(vitc_graph *g, vitc_error *err); /* groups of float32 elementwise ops → ElementwiseChain */
vitc_status vitc_fuse_swiglu_linears(vitc_graph *g, vitc_error *err); /* Silu(x·Wg + bg) · (x·Wx + bx) → one Linear + SwiGLU */
vitc_status vitc_fuse_rope(vitc_graph *g, vitc_error *err);            /* x·cos + rotate(x)·sin (rotate-half or pairs) → Rope */
vitc_status vitc_fuse_talking_heads(vitc_graph *g, vitc_error *err); /* CaiT talking-heads attention → TalkingHeads */
vitc_status vitc_fuse_factorized_context(vitc_graph *g, vitc_error *err); /* CoaT softmax(k over tokens)ᵀ·v → FactorizedContext */
vitc_status vitc_fuse_factorized_attention(vitc_graph *g, vitc_error *err); /* CoaT's attention with its conv position encoding, from qkv → FactorizedAttention */
vitc_status vitc_fuse_channel_attention(vitc_graph *g, vitc_error *err); /* XCiT's cross-covariance attention, from qkv → ChannelAttention */
vitc_status vitc_fuse_token_image(vitc_graph *g, vitc_error *err); /* conv or bilinear resize of token rows' image, class token around it → DepthwiseConvNHWC {image}, ResizeTokens */
vitc_status vitc_merge_depthwise_split(vitc_graph *g, vitc_error *err); /* depthwise Convs over Split channel groups → one Conv */
vitc_status vitc_merge_parallel_convs(vitc_graph *g, vitc_error *err); /* Conv ± Conv (or identity BatchNorm) of one image → one Conv */
vitc_status vitc_fuse_qdq(vitc_graph *g, vitc_error *err);             /* QDQ-quantised MatMul/Gemm (+ bias Add) → Int8Gemm */
vitc_status vitc_fuse_grn(vitc_graph *g, vitc_error *err);             /* ConvNeXt V2 global response normalisation → GRN */
vitc_status vitc_fold_batch_norm(vitc_graph *g, vitc_error *err);      /* BatchNormalization into the Conv/Gemm before it */
vitc_status vitc_fuse_channels_layer_norm(vitc_graph *g, vitc_error *err); /* Transpose, LayerNorm, Transpose → LayerNormChannels */
vitc_status vitc_fold_softmax_transposes(vitc_graph *g, vitc_error *err); /* Transpose, Softmax, inverse Transpose → Softmax along the moved axis */
vitc_status vitc_fold_pad_into_pool(vitc_graph *g, vitc_error *err);       /* zero Pad, AveragePool → AveragePool with pads, count_include_pad */
vitc_status vitc_lower_spatial_mean(vitc_graph *g, vitc_error *err);       /* ReduceMean over H, W (dims kept) → GlobalAveragePool */
vitc_status vitc_fuse_attention(vitc_graph *g, vitc_error *err);       /* softmax(scale·Q·Kᵀ + bias)·V → Attention */
vitc_status vitc_sink_row_gathers(vitc_graph *g, vitc_error *err);    /* row permutations (Swin windows, shifts) move across row-wise ops to the attention */
vitc_status vitc_fuse_patch_merging(vitc_graph *g, vitc_error *err);   /* 2x2 strided slices + Concat (+ LayerNorm) + MatMul → PatchMerging */
vitc_status vitc_to_channels_last(vitc_graph *g, vitc_error *err);    /* NCHW conv trunks run NHWC: depthwise conv, patchify GEMMs, no Transposes */
vitc_status vitc_fuse_gemm_epilogue(vitc_graph *g, vitc_error *err);   /* MatMul/Gemm + bias, act, γ, residual → FusedGemm */
vitc_status vitc_fuse_depthwise_norm(vitc_graph *g, vitc_error *err);   /* DepthwiseConvNHWC + LayerNorm → its epilogue */
vitc_status vitc_fuse_norm_residual(vitc_graph *g, vitc_error *err);   /* r + LayerNorm(x) → LayerNormResidual (post-norm blocks) */
vitc_status vitc_simplify_layout(vitc_graph *g, vitc_error *err);      /* order-keeping Transpose → Reshape; FusedGemm reads rows through Reshapes */
vitc_status vitc_absorb_attention_layout(vitc_graph *g, vitc_error *err); /* head split/merge chains → Attention row maps */
vitc_status vitc_absorb_partitions(vitc_graph *g, vitc_error *err);  /* window/grid partition and reverse around row-wise ops → image order, Attention maps */
vitc_status vitc_absorb_row_padding(vitc_graph *g, vitc_error *err); /* Pad → row-wise projection → mapped Attention: the projection on the unpadded rows, padded rows read from one constant row */
vitc_status vitc_lower_batch_norm(vitc_graph *g, vitc_error *err);   /* BatchNormalization folded into nothing → per-channel Mul and Add */
vitc_status vitc_merge_row_views(vitc_graph *g, vitc_error *err);   /* views that regroup rows between row-wise ops go: one leading shape per group */

#endif
