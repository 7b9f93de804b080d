/* pipeline.c — the passes, in the order they run, and the driver behind -O, --disable-pass,
 * --print-after and --verify-each.
 *
 * Order: shapes first (every later pass and the backend need them; infer_shapes also computes the values
 * of constant subgraphs); identities go before folding so chains through them fold; folding turns known
 * values into constants; CSE then sees merged constants, and merges the repeated subexpressions some
 * exporters write inside a LayerNorm or GELU before the recomposing passes look for them; the fusing
 * passes come after those, so that the Gelu an epilogue absorbs exists; row gathers move once the
 * Attention they travel to exists, and before the epilogue pass, which then finds Swin's residual Add
 * right after its projection; patch merging takes its MatMul before the epilogue pass would; the
 * channels-last rewrite also precedes it, so ConvNeXt's LayerScale Mul and residual Add meet their GEMM
 * without Transposes between; a residual Add joins a LayerNorm only after the epilogue pass had the
 * chance to take it for a product; the layout passes come last among the fusions, since the row maps
 * describe the final producers of Q, K, V and the final readers of Y; row views merge after them, when
 * a mapped Attention reads its operands by flat rows whatever their dims; the elementwise ops no fusion took
 * then join into chains; dead code last sweeps what the
 * others disconnected. A depthwise conv takes its LayerNorm after the epilogue pass gave it its activation. */
#include <string.h>

#include "passes/passes.h"

static const vitc_pass pipeline[] = {
    {"infer_shapes", vitc_infer_shapes, true, "dtypes and shapes everywhere; evaluates nodes with known inputs"},
    {"fuse_qdq", vitc_fuse_qdq, false, "Dequantize(Quantize(x)) times a dequantized int8 weight (MatMul, Gemm, a bias Add) becomes Int8Gemm; a Quantize-Dequantize it repeats after movement goes"},
    {"remove_identity", vitc_remove_identity, false, "bypasses Identity and inference-mode Dropout"},
    {"fold_constants", vitc_fold_constants, false, "nodes whose outputs are all known become constants"},
    {"eliminate_common", vitc_eliminate_common, false, "merges equal nodes and equal small constants"},
    {"fold_pad_into_pool", vitc_fold_pad_into_pool, false, "a zero Pad of the spatial dims before an AveragePool (count_include_pad) or a Conv becomes its padding"},
    {"lower_einsum", vitc_lower_einsum, false, "an Einsum that is a (batched) product becomes MatMul, with Transposes where its operands need them"},
    {"recompose_layer_norm", vitc_recompose_layer_norm, false, "decomposed LayerNorm becomes LayerNormalization"},
    {"recompose_rms_norm", vitc_recompose_rms_norm, false, "x / sqrt(mean(x^2) + eps), scaled or not, becomes RMSNorm"},
    {"recompose_gelu", vitc_recompose_gelu, false, "erf and tanh GELU become Gelu; x*sigmoid(x), x*sigmoid(1.702x) Silu, QuickGelu; hard swish HardSwish"},
    {"fuse_swiglu_linears", vitc_fuse_swiglu_linears, false, "two Linears of one input, one gating the other through Silu, become one Linear and SwiGLU"},
    {"fuse_swiglu", vitc_fuse_swiglu, false, "Silu of one half of a tensor times its other half becomes SwiGLU"},
    {"fuse_grn", vitc_fuse_grn, false, "ConvNeXt V2's global response normalisation becomes GRN"},
    {"merge_parallel_convs", vitc_merge_parallel_convs, false, "Convs of one image added or subtracted (and an identity BatchNormalization) become one Conv: reparameterisable blocks (MobileOne, FastViT)"},
    {"fold_batch_norm", vitc_fold_batch_norm, false, "BatchNormalization folds into the Conv or Gemm before it"},
    {"lower_batch_norm", vitc_lower_batch_norm, false, "a BatchNormalization folded into nothing becomes its per-channel Mul and Add (which go channels-last)"},
    {"fuse_channels_layer_norm", vitc_fuse_channels_layer_norm, false, "LayerNorm of channels between Transposes becomes LayerNormChannels"},
    {"fold_softmax_transposes", vitc_fold_softmax_transposes, false, "Softmax between a Transpose and its inverse reads the untransposed tensor along the moved axis"},
    {"fuse_rope", vitc_fuse_rope, false, "rotary position embedding (rotate-half or interleaved pairs, class tokens skipped) becomes Rope"},
    {"fuse_attention", vitc_fuse_attention, false, "scaled dot-product attention becomes one streaming Attention (a QDQ model's Quantize-Dequantize pairs in it its grids)"},
    {"sink_row_gathers", vitc_sink_row_gathers, false, "row gathers (window partition, cyclic shift) move across row-wise ops to the attention"},
    {"fuse_patch_merging", vitc_fuse_patch_merging, false, "2x2 neighbourhood Concat, LayerNorm and reduction MatMul become PatchMerging"},
    {"merge_depthwise_split", vitc_merge_depthwise_split, false, "depthwise same-size Convs of odd kernels over a Split's channel groups, concatenated, become one depthwise Conv (smaller kernels centred in the largest)"},
    {"lower_spatial_mean", vitc_lower_spatial_mean, false, "a ReduceMean over the spatial dims of an image, dims kept, becomes GlobalAveragePool"},
    {"to_channels_last", vitc_to_channels_last, false, "convolutional trunks run channels-last: depthwise and patchify convs, Transposes cancelled"},
    {"fuse_gemm_epilogue", vitc_fuse_gemm_epilogue, false, "bias, activation, LayerScale and residual join their MatMul/Gemm; activation and residual an Int8Gemm; activation (and residual) a Conv or DepthwiseConvNHWC"},
    {"fuse_depthwise_norm", vitc_fuse_depthwise_norm, false, "the LayerNorm over the channels after a DepthwiseConvNHWC becomes its epilogue"},
    {"fuse_talking_heads", vitc_fuse_talking_heads, false, "talking-heads attention (heads mixed before and after the softmax) becomes TalkingHeads"},
    {"fuse_factorized_context", vitc_fuse_factorized_context, false, "softmax of k over the tokens, transposed, times v (CoaT's factorized attention) becomes FactorizedContext"},
    {"fuse_factorized_attention", vitc_fuse_factorized_attention, false, "CoaT's factorized attention with its conv position encoding, from the qkv rows to the token rows, becomes FactorizedAttention"},
    {"fuse_channel_attention", vitc_fuse_channel_attention, false, "XCiT's cross-covariance attention over the transposed q, k, v, from the qkv rows to the token rows, becomes ChannelAttention"},
    {"fuse_token_image", vitc_fuse_token_image, false, "a depthwise conv or bilinear Resize of token rows' image, the class token split off and concatenated back (CoaT), becomes DepthwiseConvNHWC or ResizeTokens on the token rows"},
    {"fuse_norm_residual", vitc_fuse_norm_residual, false, "post-norm residual Add joins the LayerNorm before it"},
    {"simplify_layout", vitc_simplify_layout, false, "Transposes of size-1 dims become Reshapes; FusedGemm reads rows through Reshapes"},
    {"absorb_attention_layout", vitc_absorb_attention_layout, false, "Attention reads Q, K, V and writes Y through row maps instead of movement chains"},
    {"absorb_partitions", vitc_absorb_partitions, false, "row-wise blocks between a window/grid partition and its reverse run in image order; the Attention's maps read the windows"},
    {"absorb_row_padding", vitc_absorb_row_padding, false, "a zero Pad before the row-wise projection feeding a mapped Attention goes: padded rows read the projection of a zero row"},
    {"merge_row_views", vitc_merge_row_views, false, "Reshapes that only regroup rows between row-wise ops go: each group of them runs on one leading shape"},
    {"fuse_elementwise_chains", vitc_fuse_elementwise_chains, false, "what elementwise float32 arithmetic the fusions left becomes one ElementwiseChain per connected group: one pass over memory"},
    {"eliminate_dead", vitc_eliminate_dead, false, "drops nodes no graph output depends on"},
};
enum { NPASSES = sizeof pipeline / sizeof *pipeline };

const vitc_pass *vitc_pipeline(int *count) {
  *count = NPASSES;
  return pipeline;
}

static const vitc_pass *find_pass(const char *name) {
  for (int p = 0; p < NPASSES; p++)
    if (!strcmp(pipeline[p].name, name)) return &pipeline[p];
  return NULL;
}

static vitc_status unknown_pass(const char *name, vitc_error *err) {
  char list[1024]; /* every pass name fits (the test of this message checks the last) */
  size_t k = 0;
  for (int p = 0; p < NPASSES && k < sizeof list; p++)
    k += (size_t)snprintf(list + k, sizeof list - k, p ? ", %s" : "%s", pipeline[p].name);
  return vitc_fail(err, VITC_ERR_INVALID, "unknown pass '%s' (passes: %s)", name, list);
}

/* Checks the names in opts before anything runs, so a typo fails fast instead of after a long pass. */
static vitc_status check_names(const vitc_pass_options *opts, vitc_error *err) {
  for (int d = 0; d < opts->ndisabled; d++) {
    const vitc_pass *p = find_pass(opts->disabled[d]);
    if (!p) return unknown_pass(opts->disabled[d], err);
    if (p->required)
      return vitc_fail(err, VITC_ERR_INVALID, "pass '%s' is required and cannot be disabled", p->name);
  }
  if (opts->print_after && strcmp(opts->print_after, "all") && !find_pass(opts->print_after))
    return unknown_pass(opts->print_after, err);
  return VITC_OK;
}

static bool is_disabled(const vitc_pass_options *opts, const vitc_pass *p) {
  for (int d = 0; d < opts->ndisabled; d++)
    if (!strcmp(opts->disabled[d], p->name)) return true;
  return false;
}

vitc_status vitc_run_passes(vitc_graph *g, const vitc_pass_options *opts, vitc_error *err) {
  static const vitc_pass_options defaults = {.opt_level = 1};
  if (!opts) opts = &defaults;
  vitc_status st = check_names(opts, err);
  bool static_shapes = false; /* once shape inference made every shape static, every pass keeps them */
  for (int i = 0; i < NPASSES && st == VITC_OK; i++) {
    const vitc_pass *p = &pipeline[i];
    if ((opts->opt_level < 1 && !p->required) || is_disabled(opts, p)) continue;
    vitc_stage_time since = vitc_stage_clock();
    st = p->run(g, err);
    vitc_probe_release();
    if (opts->times) vitc_stage_add(&opts->times[i], since);
    if (st != VITC_OK) break;
    if (p->run == vitc_infer_shapes) static_shapes = vitc_graph_first_dynamic_node(g) < 0;
    if (opts->verify_each && (st = vitc_verify(g, static_shapes, err)) != VITC_OK) {
      vitc_error_prefix(err, "after pass '%s'", p->name);
      break;
    }
    if (opts->print_after && (!strcmp(opts->print_after, "all") || !strcmp(opts->print_after, p->name))) {
      FILE *f = opts->print_to ? opts->print_to : stderr;
      fprintf(f, "# after %s\n", p->name);
      vitc_print_graph(g, f);
    }
  }
  return st;
}
