/* test_fusion_token_image.c — fuse_token_image on tiny graphs shaped as CoaT's conv position encoding
 * (class token sliced off, image rows to NCHW, depthwise 3×3 "same" conv plus its input, back to token
 * rows, class token concatenated back) and as its parallel blocks' bilinear interpolation between scales
 * (the same round trip around a Resize), and the near misses that must stay. The fused nodes run
 * DepthwiseConvNHWC's kernel on token rows and ResizeTokens', so the harness's JIT check covers them
 * too; then ResizeTokens' kernel against the evaluator on awkward sizes at 1 and 3 threads. */
#include "fusion_harness.h"

enum { B = 2, LEAD = 1, H = 3, W = 4, C = 5, N = LEAD + H * W };

enum {
  TC_COAT,          /* FusedConv with its input as the residual */
  TC_CONV,          /* a plain Conv: no residual */
  TC_MISS_ORDER,    /* Concat(image rows, class token) */
  TC_MISS_RESIDUAL, /* the residual another tensor */
  TC_MISS_ROWS,     /* the image from rows 0 .. H·W-1 (the class token in, the last pixel out) */
  TC_MISS_LAYOUT,   /* the image rows reshaped to NCHW without the Transpose (channels mixed with pixels) */
  TC_MISS_PADS,     /* the conv padded on one side: shifted, not "same" */
  TC_RESIZE_UP,     /* Resize ×2 (scales) instead of the conv */
  TC_RESIZE_DOWN,   /* Resize to half the size (sizes) */
  TC_MISS_NEAREST,  /* Resize in nearest mode */
  TC_MISS_ALIGN,    /* Resize with align_corners */
};

static int i64s(test_graph *t, int n, const int64_t *v) {
  vitc_value c = {.dtype = VITC_I64, .rank = 1, .dims = {n}, .data = (void *)v};
  return vitc_graph_add_constant(t->g, NULL, &c);
}

static int rows(test_graph *t, int x, int64_t first, int64_t count) {
  int64_t starts[] = {first}, ends[] = {first + count}, axes[] = {1};
  int in[4] = {x, i64s(t, 1, starts), i64s(t, 1, ends), i64s(t, 1, axes)};
  return tg_node(t, VITC_OP_Slice, in, 4, 1, NULL, 0);
}

static int transpose_last_two(test_graph *t, int x) {
  static const int64_t perm[] = {0, 2, 1};
  vitc_attr pa = {.name = "perm", .type = VITC_ATTR_INTS, .n = 3, .ints = (int64_t *)perm};
  return tg_node(t, VITC_OP_Transpose, &x, 1, 1, &pa, 1);
}

static void build(test_graph *t, int variant) {
  const int64_t xd[] = {B, N, C}, nchw[] = {B, C, H, W}, flat[] = {B, C, H * W}, wd[] = {C, 1, 3, 3}, bd[] = {C};
  int x = tg_input(t, VITC_F32, 3, xd);
  int cls = rows(t, x, 0, LEAD), pixels = rows(t, x, variant == TC_MISS_ROWS ? 0 : LEAD, H * W);
  int img = fh_op(t, VITC_OP_Reshape, variant == TC_MISS_LAYOUT ? pixels : transpose_last_two(t, pixels), i64s(t, 4, nchw));
  int64_t kernel[2] = {3, 3}, pads[4] = {1, 1, 1, 1}, shifted[4] = {0, 0, 2, 2}, ones[2] = {1, 1};
  vitc_attr at[6] = {{.name = "group", .type = VITC_ATTR_INT, .i = C},
                     {.name = "kernel_shape", .type = VITC_ATTR_INTS, .n = 2, .ints = kernel},
                     {.name = "pads", .type = VITC_ATTR_INTS, .n = 4, .ints = variant == TC_MISS_PADS ? shifted : pads},
                     {.name = "strides", .type = VITC_ATTR_INTS, .n = 2, .ints = ones},
                     {.name = "dilations", .type = VITC_ATTR_INTS, .n = 2, .ints = ones},
                     {.name = "activation", .type = VITC_ATTR_STRING, .s = "none"}};
  int residual = variant == TC_MISS_RESIDUAL ? tg_input(t, VITC_F32, 4, nchw) : img;
  int in[4] = {img, tg_const(t, VITC_F32, 4, wd, 3), tg_const(t, VITC_F32, 1, bd, 4), residual};
  int conv, back;
  if (variant >= TC_RESIZE_UP) {
    bool down = variant == TC_RESIZE_DOWN;
    int64_t oh = down ? (H + 1) / 2 : 2 * H, ow = down ? W / 2 : 2 * W, sizes[4] = {B, C, oh, ow}, out_flat[3] = {B, C, oh * ow};
    static const float up[4] = {1, 1, 2, 2};
    vitc_value scales = {.dtype = VITC_F32, .rank = 1, .dims = {4}, .data = (void *)up};
    vitc_attr ra[2] = {{.name = "mode", .type = VITC_ATTR_STRING, .s = variant == TC_MISS_NEAREST ? "nearest" : "linear"},
                       {.name = "coordinate_transformation_mode", .type = VITC_ATTR_STRING,
                        .s = variant == TC_MISS_ALIGN ? "align_corners" : "half_pixel"}};
    int rin[4] = {img, -1, down ? -1 : vitc_graph_add_constant(t->g, NULL, &scales), down ? i64s(t, 4, sizes) : -1};
    conv = tg_node(t, VITC_OP_Resize, rin, 4, 1, ra, 2);
    back = transpose_last_two(t, fh_op(t, VITC_OP_Reshape, conv, i64s(t, 3, out_flat)));
  } else {
    conv = variant == TC_CONV ? tg_node(t, VITC_OP_Conv, in, 3, 1, at, 5) : tg_node(t, VITC_OP_FusedConv, in, 4, 1, at, 6);
    back = transpose_last_two(t, fh_op(t, VITC_OP_Reshape, conv, i64s(t, 3, flat)));
  }
  int parts[2] = {variant == TC_MISS_ORDER ? back : cls, variant == TC_MISS_ORDER ? cls : back};
  vitc_attr axis = {.name = "axis", .type = VITC_ATTR_INT, .i = 1};
  tg_output(t, tg_node(t, VITC_OP_Concat, parts, 2, 1, &axis, 1));
}

/* The pass and then the sweep of what it disconnected. */
static vitc_status fuse_and_sweep(vitc_graph *g, vitc_error *err) {
  vitc_status st = vitc_fuse_token_image(g, err);
  return st == VITC_OK ? vitc_eliminate_dead(g, err) : st;
}

static void test_pass(void) {
  const fh_count fused[] = {{VITC_OP_DepthwiseConvNHWC, 1}, {VITC_OP_FusedConv, 0}, {VITC_OP_Conv, 0},
                            {VITC_OP_Slice, 0}, {VITC_OP_Transpose, 0}, {VITC_OP_Reshape, 0}, {VITC_OP_Concat, 0}};
  vitc_graph *g = fh_check("CoaT's conv position encoding", build, TC_COAT, fuse_and_sweep, fused, 7);
  int len;
  const vitc_node *dw = fh_find_op(g, VITC_OP_DepthwiseConvNHWC);
  const int64_t *image = dw ? vitc_attr_ints(dw, "image", &len) : NULL;
  CHECK(image && len == 2 && image[0] == H && image[1] == W);
  vitc_graph_free(g);
  vitc_graph_free(fh_check("a plain Conv", build, TC_CONV, fuse_and_sweep, fused, 7));
  const fh_count kept[] = {{VITC_OP_DepthwiseConvNHWC, 0}, {VITC_OP_Concat, 1}};
  vitc_graph_free(fh_check("class token concatenated last", build, TC_MISS_ORDER, fuse_and_sweep, kept, 2));
  vitc_graph_free(fh_check("another residual", build, TC_MISS_RESIDUAL, fuse_and_sweep, kept, 2));
  vitc_graph_free(fh_check("image from the wrong rows", build, TC_MISS_ROWS, fuse_and_sweep, kept, 2));
  vitc_graph_free(fh_check("image rows not transposed", build, TC_MISS_LAYOUT, fuse_and_sweep, kept, 2));
  vitc_graph_free(fh_check("conv padded on one side", build, TC_MISS_PADS, fuse_and_sweep, kept, 2));
  const fh_count resized[] = {{VITC_OP_ResizeTokens, 1}, {VITC_OP_Resize, 0}, {VITC_OP_Slice, 0},
                              {VITC_OP_Transpose, 0}, {VITC_OP_Reshape, 0}, {VITC_OP_Concat, 0}};
  vitc_graph_free(fh_check("bilinear x2 between scales", build, TC_RESIZE_UP, fuse_and_sweep, resized, 6));
  vitc_graph_free(fh_check("bilinear to half the size", build, TC_RESIZE_DOWN, fuse_and_sweep, resized, 6));
  const fh_count resize_kept[] = {{VITC_OP_ResizeTokens, 0}, {VITC_OP_Resize, 1}, {VITC_OP_Concat, 1}};
  vitc_graph_free(fh_check("nearest resize", build, TC_MISS_NEAREST, fuse_and_sweep, resize_kept, 3));
  vitc_graph_free(fh_check("align_corners resize", build, TC_MISS_ALIGN, fuse_and_sweep, resize_kept, 3));
}

static void check_resize_kernel(int64_t batch, int64_t lead, int64_t ih, int64_t iw, int64_t oh, int64_t ow, int64_t c,
                                int nthreads) {
  test_graph t = tg_new();
  int64_t image[2] = {ih, iw}, size[2] = {oh, ow};
  const int64_t xd[] = {batch, lead + ih * iw, c};
  int x = tg_input(&t, VITC_F32, 3, xd);
  vitc_attr at[2] = {{.name = "image", .type = VITC_ATTR_INTS, .n = 2, .ints = image},
                     {.name = "size", .type = VITC_ATTR_INTS, .n = 2, .ints = size}};
  tg_output(&t, tg_node(&t, VITC_OP_ResizeTokens, &x, 1, 1, at, 2));
  char what[128];
  snprintf(what, sizeof what, "ResizeTokens B %lld L %lld %lldx%lld -> %lldx%lld C %lld, %d threads", (long long)batch,
           (long long)lead, (long long)ih, (long long)iw, (long long)oh, (long long)ow, (long long)c, nthreads);
  tg_check(&t, what, nthreads, 1e-5, 1e-6);
}

static void test_resize_kernel(void) {
  for (int threads = 1; threads <= 3; threads += 2) {
    check_resize_kernel(2, 1, 7, 7, 14, 14, 20, threads);   /* x2: a vector and a masked tail */
    check_resize_kernel(1, 1, 28, 28, 7, 7, 152, threads);  /* x1/4, CoaT-Tiny's channels */
    check_resize_kernel(1, 0, 5, 3, 4, 7, 5, threads);      /* no leading row, uneven ratios, a tail only */
    check_resize_kernel(3, 2, 1, 1, 3, 2, 16, threads);     /* one source pixel: every tap clamped to it */
    check_resize_kernel(1, 1, 56, 56, 28, 28, 152, threads); /* across the pool */
  }
}

int main(void) {
  test_pass();
  test_resize_kernel();
  CHECK_DONE();
}
