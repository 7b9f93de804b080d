/* test_fused_op_errors.c — the shape rules of vitc.PatchMerging, vitc.LayerNormResidual,
 * vitc.FactorizedAttention, vitc.ChannelAttention, vitc.Attention's grids, vitc.Int8Gemm's epilogue and
 * vitc.ElementwiseChain's program refuse
 * operands of the wrong shape or dtype with a message naming what is wrong (their good paths are in
 * test_fusion_swin.c, test_fusion_norm_residual.c, test_fusion_factorized_context.c and
 * test_fusion_channel_attention.c). */
#include "check.h"
#include "op_harness.h"

static float data[4 * 4 * 4 * 8];

static void expect_error(vitc_op op, const vitc_value *const *in, int nin, vitc_attr *attrs, int nattr,
                         vitc_status want, const char *msg) {
  vitc_value out[1] = {0};
  vitc_error err = {0};
  vitc_status st = run_op(op, 17, in, nin, out, 1, attrs, nattr, &err);
  CHECK(st == want);
  CHECK_MSG(err.msg, msg);
  if (st == VITC_OK) free_outputs(out, 1);
}

static void test_patch_merging(void) {
  vitc_value x = F32(data, 1, 4, 4, 2), odd = F32(data, 1, 3, 4, 2), w = F32(data, 8, 6), w_bad = F32(data, 6, 8);
  vitc_value g8 = F32(data, 8), g6 = F32(data, 6), b5 = F32(data, 5);
  vitc_value xi = I64(data, 1, 4, 4, 2);
  expect_error(VITC_OP_PatchMerging, (const vitc_value *[]){&xi, &w}, 2, NULL, 0, VITC_ERR_UNSUPPORTED,
               "PatchMerging runs on float32 only (input 0)");
  expect_error(VITC_OP_PatchMerging, (const vitc_value *[]){&odd, &w}, 2, NULL, 0, VITC_ERR_INVALID,
               "with H and W even");
  expect_error(VITC_OP_PatchMerging, (const vitc_value *[]){&x, &w_bad}, 2, NULL, 0, VITC_ERR_INVALID,
               "reduction weight [8, N]");
  /* gamma over 4C before the reduction, over N after it (norm_after) */
  expect_error(VITC_OP_PatchMerging, (const vitc_value *[]){&x, &w, &g6, &g6}, 4, NULL, 0, VITC_ERR_INVALID,
               "gamma and beta must be [8]");
  vitc_attr after = attr_int("norm_after", 1);
  expect_error(VITC_OP_PatchMerging, (const vitc_value *[]){&x, &w, &g8, &g8}, 4, &after, 1, VITC_ERR_INVALID,
               "gamma and beta must be [6]");
  expect_error(VITC_OP_PatchMerging, (const vitc_value *[]){&x, &w, NULL, &g8}, 4, NULL, 0, VITC_ERR_INVALID,
               "beta only with gamma");
  expect_error(VITC_OP_PatchMerging, (const vitc_value *[]){&x, &w, NULL, NULL, &b5}, 5, NULL, 0, VITC_ERR_INVALID,
               "bias must be [6]");
}

static void test_layer_norm_residual(void) {
  vitc_value x = F32(data, 2, 8), scale = F32(data, 8), r_shape = F32(data, 2, 4), r_dtype = I64(data, 2, 8);
  expect_error(VITC_OP_LayerNormResidual, (const vitc_value *[]){&x, &scale, &scale, &r_shape}, 4, NULL, 0,
               VITC_ERR_INVALID, "residual must have X's dtype and shape");
  expect_error(VITC_OP_LayerNormResidual, (const vitc_value *[]){&x, &scale, &scale, &r_dtype}, 4, NULL, 0,
               VITC_ERR_INVALID, "residual must have X's dtype and shape");
}

static void test_factorized_attention(void) {
  vitc_value qkv = F32(data, 1, 5, 12), qkv13 = F32(data, 1, 5, 13), qkv_i = I64(data, 1, 5, 12);
  vitc_value w = F32(data, 3, 3, 4), w_even = F32(data, 2, 3, 4), b = F32(data, 4);
  const int64_t image[2] = {2, 2}, too_big[2] = {3, 2};
  vitc_attr good[2] = {attr_int("heads", 2), attr_ints("image", 2, image)};
  vitc_attr three[2] = {attr_int("heads", 3), attr_ints("image", 2, image)};
  vitc_attr big[2] = {attr_int("heads", 2), attr_ints("image", 2, too_big)};
  expect_error(VITC_OP_FactorizedAttention, (const vitc_value *[]){&qkv_i, &w, &b}, 3, good, 2, VITC_ERR_UNSUPPORTED,
               "FactorizedAttention runs on float32 only");
  expect_error(VITC_OP_FactorizedAttention, (const vitc_value *[]){&qkv13, &w, &b}, 3, good, 2, VITC_ERR_INVALID,
               "needs qkv [B, N, 3·C] and image = [IH, IW]");
  expect_error(VITC_OP_FactorizedAttention, (const vitc_value *[]){&qkv, &w, &b}, 3, good, 1, VITC_ERR_INVALID,
               "needs qkv [B, N, 3·C] and image = [IH, IW]");
  expect_error(VITC_OP_FactorizedAttention, (const vitc_value *[]){&qkv, &w, &b}, 3, three, 2, VITC_ERR_INVALID,
               "needs heads dividing C = 4 and an image of at most N = 5 tokens");
  expect_error(VITC_OP_FactorizedAttention, (const vitc_value *[]){&qkv, &w, &b}, 3, big, 2, VITC_ERR_INVALID,
               "an image of at most N = 5 tokens");
  expect_error(VITC_OP_FactorizedAttention, (const vitc_value *[]){&qkv, &w_even, &b}, 3, good, 2, VITC_ERR_INVALID,
               "needs w [KH, KW, 4] with KH, KW odd and bias [4]");
}

static void test_channel_attention(void) {
  vitc_value qkv = F32(data, 2, 5, 12), qkv13 = F32(data, 2, 5, 13), qkv_i = I64(data, 2, 5, 12);
  vitc_value t = F32(data, 2, 1, 1), t3 = F32(data, 3);
  const int64_t y[3] = {2, 5, 4}, y_wide[3] = {2, 5, 2}, y_short[2] = {5, 4};
  vitc_attr good[3] = {attr_int("heads", 2), attr_int("tokens", 5), attr_ints("y_shape", 3, y)};
  vitc_attr three[3] = {attr_int("heads", 3), attr_int("tokens", 5), attr_ints("y_shape", 3, y)};
  vitc_attr uneven[3] = {attr_int("heads", 2), attr_int("tokens", 3), attr_ints("y_shape", 3, y)};
  vitc_attr wide[3] = {attr_int("heads", 2), attr_int("tokens", 5), attr_ints("y_shape", 3, y_wide)};
  vitc_attr short_y[3] = {attr_int("heads", 2), attr_int("tokens", 5), attr_ints("y_shape", 2, y_short)};
  expect_error(VITC_OP_ChannelAttention, (const vitc_value *[]){&qkv_i, &t}, 2, good, 3, VITC_ERR_UNSUPPORTED,
               "ChannelAttention runs on float32 only");
  expect_error(VITC_OP_ChannelAttention, (const vitc_value *[]){&qkv13, &t}, 2, good, 3, VITC_ERR_INVALID,
               "needs qkv [.., 3·C] with heads dividing C and tokens dividing its 10 rows");
  expect_error(VITC_OP_ChannelAttention, (const vitc_value *[]){&qkv, &t}, 2, three, 3, VITC_ERR_INVALID,
               "with heads dividing C");
  expect_error(VITC_OP_ChannelAttention, (const vitc_value *[]){&qkv, &t}, 2, uneven, 3, VITC_ERR_INVALID,
               "tokens dividing its 10 rows");
  expect_error(VITC_OP_ChannelAttention, (const vitc_value *[]){&qkv, &t3}, 2, good, 3, VITC_ERR_INVALID,
               "needs 2 temperatures (one per head), got 3");
  expect_error(VITC_OP_ChannelAttention, (const vitc_value *[]){&qkv, &t}, 2, wide, 3, VITC_ERR_INVALID,
               "needs a y_shape of 10 rows of 4");
  expect_error(VITC_OP_ChannelAttention, (const vitc_value *[]){&qkv, &t}, 2, short_y, 3, VITC_ERR_INVALID,
               "needs a y_shape of 10 rows of 4");
  expect_error(VITC_OP_ChannelAttention, (const vitc_value *[]){&qkv, &t}, 2, good, 2, VITC_ERR_INVALID,
               "needs a y_shape of 10 rows of 4");
}

/* A grid attribute (q_quant .. p_quant) that is not [scale > 0, zero_point, lo, hi] with the zero point in
 * range; a good one passes. */
static void test_attention_grids(void) {
  vitc_value q = F32(data, 2, 3, 4);
  static double good[4] = {0.01, 128, 0, 255}, zero_scale[4] = {0, 128, 0, 255}, zp_out[4] = {0.01, 300, 0, 255},
                three[3] = {0.01, 128, 0};
  const char *msg = "Attention s_quant must be [scale > 0, zero_point, lo, hi] with lo <= zero_point <= hi";
  double *bad[] = {zero_scale, zp_out, three};
  for (int i = 0; i < 3; i++) {
    vitc_attr g = {.name = "s_quant", .type = VITC_ATTR_FLOATS, .n = i == 2 ? 3 : 4, .floats = bad[i]};
    expect_error(VITC_OP_Attention, (const vitc_value *[]){&q, &q, &q}, 3, &g, 1, VITC_ERR_INVALID, msg);
  }
  vitc_attr g = {.name = "s_quant", .type = VITC_ATTR_FLOATS, .n = 4, .floats = good};
  expect_error(VITC_OP_Attention, (const vitc_value *[]){&q, &q, &q}, 3, &g, 1, VITC_OK, "");
}

/* Int8Gemm's epilogue (fuse_gemm_epilogue's activation attribute and residual input 9): an unknown
 * activation and a residual that does not repeat down the output are refused; a GELU with a residual
 * broadcast over the rows passes. */
static void test_int8_gemm_epilogue(void) {
  static int8_t w8[8 * 4];
  static uint8_t zp;
  vitc_value x = F32(data, 2, 8), scale = F32(data), x_zp = VALUE(VITC_U8, &zp), w = VALUE(VITC_I8, w8, 8, 4);
  vitc_value r_bad = F32(data, 3, 4), r_row = F32(data, 1, 4);
  vitc_attr swish = attr_str("activation", "swish"), gelu = attr_str("activation", "gelu_erf");
  expect_error(VITC_OP_Int8Gemm, (const vitc_value *[]){&x, &scale, &x_zp, &w, &scale}, 5, &swish, 1, VITC_ERR_INVALID,
               "Int8Gemm activation \"swish\" is none of none, relu, gelu_erf, gelu_tanh, silu");
  expect_error(VITC_OP_Int8Gemm,
               (const vitc_value *[]){&x, &scale, &x_zp, &w, &scale, NULL, NULL, NULL, NULL, &r_bad}, 10, &gelu, 1,
               VITC_ERR_INVALID, "Int8Gemm residual must have the output's shape (leading dims may be 1)");
  expect_error(VITC_OP_Int8Gemm,
               (const vitc_value *[]){&x, &scale, &x_zp, &w, &scale, NULL, NULL, NULL, NULL, &r_row}, 10, &gelu, 1,
               VITC_OK, "");
}

static void test_elementwise_chain(void) {
  vitc_value x = F32(data, 2, 8), xi = I64(data, 2, 8);
  const int64_t two_steps[4] = {0, 1, -1, 0}, later[4] = {0, -2, -1, 0}, input_2[2] = {0, 2};
  vitc_attr good[2] = {attr_str("ops", "Sub,Mul"), attr_ints("args", 4, two_steps)};
  vitc_attr softmax[2] = {attr_str("ops", "Softmax,Mul"), attr_ints("args", 4, two_steps)};
  vitc_attr short_args[2] = {attr_str("ops", "Sub,Mul"), attr_ints("args", 2, two_steps)};
  vitc_attr forward[2] = {attr_str("ops", "Sub,Mul"), attr_ints("args", 4, later)};
  vitc_attr absent[2] = {attr_str("ops", "Sub"), attr_ints("args", 2, input_2)};
  vitc_attr many[2] = {attr_str("ops", "Add,Add,Add,Add,Add,Add,Add,Add,Add,Add,Add,Add,Add,Add,Add,Add,Add"),
                       attr_ints("args", 4, two_steps)};
  expect_error(VITC_OP_ElementwiseChain, (const vitc_value *[]){&x, &x}, 2, softmax, 2, VITC_ERR_INVALID,
               "ElementwiseChain op 'Softmax' is not an elementwise op of one or two inputs");
  expect_error(VITC_OP_ElementwiseChain, (const vitc_value *[]){&x, &x}, 2, short_args, 2, VITC_ERR_INVALID,
               "ElementwiseChain needs ops and two args per op (2 ops, 2 args)");
  expect_error(VITC_OP_ElementwiseChain, (const vitc_value *[]){&x, &x}, 2, forward, 2, VITC_ERR_INVALID,
               "ElementwiseChain step 0 reads operand -2, neither an input nor an earlier step");
  expect_error(VITC_OP_ElementwiseChain, (const vitc_value *[]){&x, &x}, 2, absent, 2, VITC_ERR_INVALID,
               "ElementwiseChain step 0 reads operand 2, neither an input nor an earlier step");
  expect_error(VITC_OP_ElementwiseChain, (const vitc_value *[]){&x, &x}, 2, many, 2, VITC_ERR_INVALID,
               "ElementwiseChain has more than 16 ops");
  expect_error(VITC_OP_ElementwiseChain, (const vitc_value *[]){&x, &xi}, 2, good, 2, VITC_ERR_UNSUPPORTED,
               "ElementwiseChain input 1 is int64: chains are float32");
  expect_error(VITC_OP_ElementwiseChain, (const vitc_value *[]){&x, &x}, 2, good, 2, VITC_OK, "");
}

int main(void) {
  test_elementwise_chain();
  test_int8_gemm_epilogue();
  test_attention_grids();
  test_patch_merging();
  test_layer_norm_residual();
  test_factorized_attention();
  test_channel_attention();
  CHECK_DONE();
}
