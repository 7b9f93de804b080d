/* test_fusion_layout.c — simplify_layout and absorb_attention_layout on tiny attention graphs: the head
 * splits and merges exporters write (torchvision's Slice + Reshape + Transpose, timm's Reshape +
 * Transpose + Gather, Swin's window partition and reverse), and near misses whose chains must stay.
 * Each case checks the histogram, the evaluator on the rewritten graph against the graph left alone, and
 * the JIT-compiled pipeline (the Attention kernel's row maps) against the evaluator (fusion_harness.h).
 *
 * Sizes: N = 5 tokens, H = 3 heads of D = 4; batch 2 where the case has one; Swin: a 4 × 4 image in
 * 2 × 2 windows. */
#include "fusion_harness.h"

enum { N = 5, H = 3, D = 4, E = H * D, B = 2 };

enum {
  L_MHA,            /* torchvision MHA, batch 1: LN's Transpose {1,0,2}, qkv Slices, Reshape, Transposes */
  L_MHA_BATCH,      /* the same with batch 2: batch·heads one dim, read as H heads a group per image */
  L_TIMM,           /* Reshape [B, N, 3, H, D], Transpose {2,0,3,1,4}, Gather 0/1/2 */
  L_SWIN,           /* window partition of a 4 × 4 image, rel-pos bias, window reverse */
  L_SWIN_COSINE,    /* the same with Swin V2's cosine attention: normalize_qk, per-head scale S */
  MISS_RELU,        /* a Relu inside Q's chain: Q is read from the Relu's output */
  MISS_SWAP,        /* Transposes that make D and N trade places: rows are not contiguous */
  MISS_EXPAND,      /* Y expanded: its elements duplicated */
  MISS_SLICE,       /* Y sliced: elements dropped */
  MISS_TWO_READERS, /* Y read by the head merge and by a Relu */
};

static int i64s(test_graph *t, int n, const int64_t *v) {
  vitc_value c = {.dtype = VITC_I64, .rank = 1, .dims = {n}, .data = (void *)v};
  return vitc_graph_add_constant(t->g, NULL, &c);
}

static int transpose(test_graph *t, int x, int n, const int64_t *perm) {
  vitc_attr a = {.name = "perm", .type = VITC_ATTR_INTS, .n = n, .ints = (int64_t *)perm};
  return tg_node(t, VITC_OP_Transpose, &x, 1, 1, &a, 1);
}

static int reshape(test_graph *t, int x, int n, const int64_t *dims) {
  return fh_op(t, VITC_OP_Reshape, x, i64s(t, n, dims));
}

/* x[.., start:end] along the last axis. */
static int slice_last(test_graph *t, int x, int64_t start, int64_t end) {
  int in[4] = {x, i64s(t, 1, &start), i64s(t, 1, &end), i64s(t, 1, (int64_t[]){-1})};
  return tg_node(t, VITC_OP_Slice, in, 4, 1, NULL, 0);
}

static int gather0(test_graph *t, int x, int64_t index) {
  vitc_value c = {.dtype = VITC_I64, .rank = 0, .data = &index};
  return fh_op(t, VITC_OP_Gather, x, vitc_graph_add_constant(t->g, NULL, &c));
}

/* Attention(q, k, v, bias, s) with scale 0.5; bias and s absent when -1; s turns on normalize_qk. */
static int attention(test_graph *t, int q, int k, int v, int bias, int s, bool k_transposed) {
  vitc_attr a[3] = {{.name = "scale", .type = VITC_ATTR_FLOAT, .f = 0.5},
                    {.name = "k_transposed", .type = VITC_ATTR_INT, .i = k_transposed},
                    {.name = "normalize_qk", .type = VITC_ATTR_INT, .i = s >= 0}};
  int in[5] = {q, k, v, bias, s};
  return tg_node(t, VITC_OP_Attention, in, s >= 0 ? 5 : bias >= 0 ? 4 : 3, 1, a, 3);
}

/* FusedGemm(a, W [E, cols], bias, residual) with random weights. */
static int linear(test_graph *t, int a, int64_t cols, int residual) {
  int in[4] = {a, tg_const(t, VITC_F32, 2, (int64_t[]){E, cols}, 3), tg_const(t, VITC_F32, 1, &cols, 4), residual};
  return tg_node(t, VITC_OP_FusedGemm, in, residual < 0 ? 3 : 4, 1, NULL, 0);
}

static const int64_t swap01[] = {1, 0, 2}, to_kt[] = {1, 2, 0};

/* torchvision: x [b, N, E] → Transpose → qkv projection [N, b, 3E] → Slices → [N, b·H, D] → [b·H, N, D]
 * (K [b·H, D, N]) → Attention → Transpose, Reshape [N, b, E] → Transpose → out-projection. */
static void build_mha(test_graph *t, int variant) {
  int64_t b = variant == L_MHA_BATCH ? B : 1;
  int x = tg_input(t, VITC_F32, 3, (int64_t[]){b, N, E});
  int qkv = linear(t, transpose(t, x, 3, swap01), 3 * E, -1), qkv_in[3];
  for (int i = 0; i < 3; i++) {
    int s = slice_last(t, qkv, i * E, (i + 1) * E);
    if (variant == MISS_RELU && i == 0) s = fh_op(t, VITC_OP_Relu, s, -1);
    qkv_in[i] = transpose(t, reshape(t, s, 3, (int64_t[]){N, b * H, D}), 3, i == 1 ? to_kt : swap01);
  }
  int y = attention(t, qkv_in[0], qkv_in[1], qkv_in[2], -1, -1, true);
  int merged = reshape(t, transpose(t, y, 3, swap01), 3, (int64_t[]){N, b, E});
  if (variant == MISS_TWO_READERS) tg_output(t, fh_op(t, VITC_OP_Relu, y, -1));
  tg_output(t, linear(t, transpose(t, merged, 3, swap01), E, x));
}

/* timm: qkv [B, N, 3E] → Reshape [B, N, 3, H, D] → Transpose {2,0,3,1,4} → Gather → [B, H, N, D]. */
static void build_timm(test_graph *t) {
  static const int64_t split[] = {2, 0, 3, 1, 4}, kt[] = {0, 1, 3, 2}, merge[] = {0, 2, 1, 3};
  int x = tg_input(t, VITC_F32, 3, (int64_t[]){B, N, E});
  int heads = transpose(t, reshape(t, linear(t, x, 3 * E, -1), 5, (int64_t[]){B, N, 3, H, D}), 5, split);
  int q = gather0(t, heads, 0), k = transpose(t, gather0(t, heads, 1), 4, kt), v = gather0(t, heads, 2);
  int y = attention(t, q, k, v, -1, -1, true);
  tg_output(t, linear(t, reshape(t, transpose(t, y, 4, merge), 3, (int64_t[]){B, N, E}), E, x));
}

/* Swin: a [1, 4, 4, 3E] image of packed q, k, v in 2 × 2 windows → [4 windows, H, 4, D], with a
 * rel-pos bias [H, 4, 4] (and V2's S [H, 1, 1]); Y back through window reverse to [1, 16, E], Relu. */
static void build_swin(test_graph *t, int variant) {
  static const int64_t win[] = {0, 1, 3, 2, 4, 5}, split[] = {2, 0, 3, 1, 4}, merge[] = {0, 2, 1, 3};
  int img = tg_input(t, VITC_F32, 4, (int64_t[]){1, 4, 4, 3 * E});
  int w = transpose(t, reshape(t, img, 6, (int64_t[]){1, 2, 2, 2, 2, 3 * E}), 6, win);
  int heads = transpose(t, reshape(t, w, 5, (int64_t[]){4, 4, 3, H, D}), 5, split);
  int bias = tg_const(t, VITC_F32, 3, (int64_t[]){H, 4, 4}, 8);
  int s = variant == L_SWIN_COSINE ? tg_const(t, VITC_F32, 3, (int64_t[]){H, 1, 1}, 9) : -1;
  int y = attention(t, gather0(t, heads, 0), gather0(t, heads, 1), gather0(t, heads, 2), bias, s, false);
  int rows = reshape(t, transpose(t, y, 4, merge), 6, (int64_t[]){1, 2, 2, 2, 2, E});
  tg_output(t, fh_op(t, VITC_OP_Relu, reshape(t, transpose(t, rows, 6, win), 3, (int64_t[]){1, 16, E}), -1));
}

/* Q, K, V inputs [H, N, D] (or [N, H, D] moved by Transposes that swap D and N); Y expanded, sliced or
 * given as it is. */
static void build_dense(test_graph *t, int variant) {
  bool swap = variant == MISS_SWAP;
  const int64_t dims[] = {swap ? N : H, swap ? H : N, D};
  int in[3];
  for (int i = 0; i < 3; i++) {
    in[i] = tg_input(t, VITC_F32, 3, dims);
    if (swap) in[i] = transpose(t, in[i], 3, to_kt);
  }
  int y = attention(t, in[0], in[1], in[2], -1, -1, false);
  if (variant == MISS_EXPAND) y = fh_op(t, VITC_OP_Expand, y, i64s(t, 4, (int64_t[]){2, H, N, D}));
  if (variant == MISS_SLICE) y = slice_last(t, y, 1, D);
  tg_output(t, y);
}

static void build(test_graph *t, int variant) {
  if (variant == L_TIMM) build_timm(t);
  else if (variant == L_SWIN || variant == L_SWIN_COSINE) build_swin(t, variant);
  else if (variant == MISS_SWAP || variant == MISS_EXPAND || variant == MISS_SLICE) build_dense(t, variant);
  else build_mha(t, variant);
}

/* The layout passes as the pipeline runs them. */
static vitc_status layout_passes(vitc_graph *g, vitc_error *err) {
  vitc_status st = vitc_simplify_layout(g, err);
  if (st == VITC_OK) st = vitc_absorb_attention_layout(g, err);
  if (st == VITC_OK) st = vitc_eliminate_dead(g, err);
  return st;
}

static void check_mapped(const vitc_graph *g, int64_t heads, int64_t q_stride, const char *what) {
  const vitc_node *n = fh_find_op(g, VITC_OP_Attention);
  CHECK(n != NULL);
  if (!n) return;
  int len;
  const int64_t *hs = vitc_attr_ints(n, "head_strides", &len);
  if (n->nin != 9 || vitc_attr_int(n, "heads", 0) != heads || !hs || hs[0] != q_stride)
    fprintf(stderr, "%s: %d inputs, heads %lld, Q head stride %lld\n", what, n->nin,
            (long long)vitc_attr_int(n, "heads", 0), (long long)(hs ? hs[0] : -1));
  CHECK(n->nin == 9 && vitc_attr_int(n, "heads", 0) == heads && hs && hs[0] == q_stride);
  CHECK(vitc_attr_int(n, "k_transposed", 0) == 0);
  CHECK(n->in[0] == n->in[1] && n->in[1] == n->in[2]); /* one packed base */
}

/* Whether a FusedGemm reads graph input 0 as its rows: simplify_layout moved it above the input's view. */
static bool gemm_reads_input(const vitc_graph *g) {
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i].op == VITC_OP_FusedGemm && g->nodes[i].in[0] == g->inputs[0]) return true;
  return false;
}

static void test_absorbs(void) {
  const fh_count mha[] = {{VITC_OP_Attention, 1}, {VITC_OP_Slice, 0}, {VITC_OP_Reshape, 0},
                          {VITC_OP_Transpose, 0}, {VITC_OP_FusedGemm, 2}};
  vitc_graph *g = fh_check("torchvision MHA", build, L_MHA, layout_passes, mha, 5);
  const vitc_node *n;
  check_mapped(g, H, D, "torchvision MHA");
  CHECK(gemm_reads_input(g));
  vitc_graph_free(g);

  /* batch 2: the input Transpose moves a dim of 2 and stays; the head merge's last Transpose goes. Q's
   * [2·H, N, D] is read as batch 1 reads it, H heads a group and a group per image (maps [2, N], not
   * [2·H, N] with one head a group) */
  const fh_count batch[] = {{VITC_OP_Attention, 1}, {VITC_OP_Slice, 0}, {VITC_OP_Reshape, 0}, {VITC_OP_Transpose, 1}};
  g = fh_check("torchvision MHA, batch 2", build, L_MHA_BATCH, layout_passes, batch, 4);
  check_mapped(g, H, D, "torchvision MHA, batch 2");
  n = fh_find_op(g, VITC_OP_Attention);
  CHECK(n && g->tensors[n->in[5]].v.dims[0] == B && g->tensors[n->in[8]].v.dims[0] == B);
  CHECK(!gemm_reads_input(g));
  vitc_graph_free(g);

  const fh_count timm[] = {{VITC_OP_Attention, 1}, {VITC_OP_Gather, 0}, {VITC_OP_Reshape, 0}, {VITC_OP_Transpose, 0}};
  g = fh_check("timm", build, L_TIMM, layout_passes, timm, 4);
  check_mapped(g, H, D, "timm");
  vitc_graph_free(g);

  const fh_count swin[] = {{VITC_OP_Attention, 1}, {VITC_OP_Gather, 0}, {VITC_OP_Reshape, 0}, {VITC_OP_Transpose, 0},
                           {VITC_OP_Relu, 1}};
  g = fh_check("Swin windows", build, L_SWIN, layout_passes, swin, 5);
  check_mapped(g, H, D, "Swin windows");
  n = fh_find_op(g, VITC_OP_Attention);
  CHECK(n && n->in[3] >= 0 && g->tensors[n->out[0]].v.rank == 3); /* bias kept; writes [1, 16, E] */
  vitc_graph_free(g);

  g = fh_check("Swin V2 windows", build, L_SWIN_COSINE, layout_passes, swin, 5);
  check_mapped(g, H, D, "Swin V2 windows");
  n = fh_find_op(g, VITC_OP_Attention);
  CHECK(n && n->in[4] >= 0 && vitc_attr_int(n, "normalize_qk", 0) == 1);
  vitc_graph_free(g);
}

static void test_near_misses(void) {
  /* Q's chain ends at the Relu; K, V and Y are still absorbed */
  const fh_count relu[] = {{VITC_OP_Attention, 1}, {VITC_OP_Relu, 1}, {VITC_OP_Slice, 1}, {VITC_OP_Reshape, 1},
                           {VITC_OP_Transpose, 0}};
  vitc_graph *g = fh_check("Relu in Q's chain", build, MISS_RELU, layout_passes, relu, 5);
  const vitc_node *n = fh_find_op(g, VITC_OP_Attention), *r = fh_find_op(g, VITC_OP_Relu);
  CHECK(n && r && n->nin == 9 && n->in[0] == r->out[0] && n->in[1] == n->in[2]);
  vitc_graph_free(g);

  const fh_count swap[] = {{VITC_OP_Attention, 1}, {VITC_OP_Transpose, 3}};
  g = fh_check("D and N swapped", build, MISS_SWAP, layout_passes, swap, 2);
  CHECK(fh_find_op(g, VITC_OP_Attention)->nin == 3);
  vitc_graph_free(g);

  const fh_count expand[] = {{VITC_OP_Attention, 1}, {VITC_OP_Expand, 1}};
  g = fh_check("Y expanded", build, MISS_EXPAND, layout_passes, expand, 2);
  CHECK(fh_find_op(g, VITC_OP_Attention)->nin == 3);
  vitc_graph_free(g);

  const fh_count slice[] = {{VITC_OP_Attention, 1}, {VITC_OP_Slice, 1}};
  g = fh_check("Y sliced", build, MISS_SLICE, layout_passes, slice, 2);
  CHECK(fh_find_op(g, VITC_OP_Attention)->nin == 3);
  vitc_graph_free(g);

  /* the inputs are absorbed, Y's chain stays (its last Transpose, of a dim of 1, a Reshape now, one with
   * the Reshape before it): the Attention writes Y [H, N, D] through an identity map */
  const fh_count two[] = {{VITC_OP_Attention, 1}, {VITC_OP_Slice, 0}, {VITC_OP_Reshape, 1}, {VITC_OP_Transpose, 1}};
  g = fh_check("Y read twice", build, MISS_TWO_READERS, layout_passes, two, 4);
  n = fh_find_op(g, VITC_OP_Attention);
  CHECK(n && n->nin == 9 && g->tensors[n->out[0]].v.rank == 3 && g->tensors[n->out[0]].v.dims[0] == H);
  vitc_graph_free(g);
}

int main(void) {
  test_absorbs();
  test_near_misses();
  CHECK_DONE();
}
