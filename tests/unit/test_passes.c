/* test_passes.c — each pass on tiny hand-built graphs, the pipeline driver, verify, print and stats.
 *
 * Folded graphs are checked twice: structurally (which nodes remain, which constants they read) and
 * numerically (vitc_eval_graph on the folded graph against the same graph built again and left
 * unfolded, and against hand-computed numbers). */
#include <stdlib.h>

#include "check.h"
#include "graph_inputs.h"
#include "passes/passes.h"

/* ---------------------------------------------------------------- building graphs */

static int add_const(vitc_graph *g, const char *name, vitc_dtype dt, int rank, const int64_t *dims, void *data) {
  vitc_value v;
  set_type(&v, dt, rank, dims);
  v.data = data;
  return vitc_graph_add_constant(g, name, &v);
}

static int add_i64(vitc_graph *g, const char *name, int rank, int64_t len, const int64_t *vals) {
  return add_const(g, name, VITC_I64, rank, &len, (void *)vals);
}

static vitc_attr int_attr(const char *name, int64_t i) {
  return (vitc_attr){.name = name, .type = VITC_ATTR_INT, .i = i};
}

static bool is_constant(const vitc_graph *g, int t) {
  return t >= 0 && g->tensors[t].producer < 0 && g->tensors[t].v.data;
}

static vitc_status run_all(vitc_graph *g, vitc_error *err) {
  vitc_pass_options o = {.opt_level = 1, .verify_each = true};
  vitc_status st = vitc_run_passes(g, &o, err);
  if (st != VITC_OK) fprintf(stderr, "passes: %s\n", err->msg);
  return st;
}

/* Evaluates g on one f32 input and returns output 0's data (malloc'd), NULL on failure. */
static float *eval_one(const vitc_graph *g, const float *x, int rank, const int64_t *dims) {
  vitc_value in;
  set_type(&in, VITC_F32, rank, dims);
  in.data = (void *)x;
  vitc_value out[4];
  vitc_error err = {0};
  if (vitc_eval_graph(g, &in, out, &err) != VITC_OK) {
    fprintf(stderr, "eval: %s\n", err.msg);
    return NULL;
  }
  for (int k = 1; k < g->noutputs; k++) free(out[k].data);
  return out[0].data;
}

/* ---------------------------------------------------------------- folding */

/* PyTorch's flatten(x, 1) as exported:
 *   s = Shape(x); d0 = Gather(s, 0); u0 = Unsqueeze(d0, [0]); c = Concat(u0, [-1]); y = Reshape(x, c) */
static vitc_graph *build_shape_chain(void) {
  static const int64_t zero = 0, axes0[] = {0}, minus1[] = {-1};
  vitc_graph *g = vitc_graph_new("chain.onnx");
  g->opset = 17;
  int64_t xd[] = {2, 3, 4};
  int x = add_input(g, "x", VITC_F32, 3, xd);
  int s = add_node(g, VITC_OP_Shape, "shape", (int[]){x}, 1, NULL, 0);
  int d0 = add_node(g, VITC_OP_Gather, "gather", (int[]){s, add_i64(g, "zero", 0, 1, &zero)}, 2,
                    (vitc_attr[]){int_attr("axis", 0)}, 1);
  int u0 = add_node(g, VITC_OP_Unsqueeze, "unsqueeze", (int[]){d0, add_i64(g, "axes0", 1, 1, axes0)}, 2, NULL, 0);
  int c = add_node(g, VITC_OP_Concat, "concat", (int[]){u0, add_i64(g, "minus1", 1, 1, minus1)}, 2,
                   (vitc_attr[]){int_attr("axis", 0)}, 1);
  int y = add_node(g, VITC_OP_Reshape, "reshape", (int[]){x, c}, 2, NULL, 0);
  set_outputs(g, &y, 1);
  return g;
}

static void test_shape_chain_folds(void) {
  vitc_graph *g = build_shape_chain(), *plain = build_shape_chain();
  vitc_error err = {0};
  if (run_all(g, &err) == VITC_OK) {
    CHECK(g->nnodes == 1);
    CHECK(g->nodes[0].op == VITC_OP_Reshape);
    int shape = g->nodes[0].in[1];
    CHECK(is_constant(g, shape));
    if (is_constant(g, shape)) {
      const vitc_value *v = &g->tensors[shape].v;
      CHECK(v->dtype == VITC_I64 && v->rank == 1 && v->dims[0] == 2);
      CHECK(vitc_load_i(v, 0) == 2 && vitc_load_i(v, 1) == -1);
    }
    const vitc_tensor *y = &g->tensors[g->outputs[0]];
    CHECK(y->shape_known && y->v.rank == 2 && y->v.dims[0] == 2 && y->v.dims[1] == 12);

    int64_t xd[] = {2, 3, 4};
    float x[24];
    for (int i = 0; i < 24; i++) x[i] = (float)i * 0.5f - 3.0f;
    float *folded = eval_one(g, x, 3, xd), *unfolded = eval_one(plain, x, 3, xd);
    CHECK(folded && unfolded);
    if (folded && unfolded)
      for (int i = 0; i < 24; i++) {
        CHECK_NEAR(folded[i], unfolded[i], 0);
        CHECK_NEAR(folded[i], x[i], 0); /* a reshape keeps row-major order */
      }
    free(folded);
    free(unfolded);
  } else {
    CHECK(!"pipeline failed on the shape chain");
  }
  vitc_graph_free(g);
  vitc_graph_free(plain);
}

/* The other ops of exported shape arithmetic, all folding away once x's shape is static:
 *   w  = Where(Equal(Shape(x), [-1,-1,-1]), [1,1,1], Shape(x))       = [2,3,4]
 *   e  = Expand(0.5, ScatterND(w, [[1]], [1]))                       : f32[2,1,4] of 0.5
 *   mf = Cast(Mod(Range(0, Gather(Shape(x), 2), 1), 2), f32)         = [0,1,0,1]
 *   z  = ConstantOfShape(w) {value=0.25}
 *   y  = x + e + mf + z */
static vitc_graph *build_export_ops(void) {
  static const int64_t minus1s[] = {-1, -1, -1}, ones[] = {1, 1, 1}, idx[] = {1}, upd[] = {1}, two = 2,
                       zero = 0, one = 1;
  static float half = 0.5f, quarter = 0.25f;
  vitc_graph *g = vitc_graph_new("export.onnx");
  g->opset = 17;
  int64_t xd[] = {2, 3, 4}, idxd[] = {1, 1};
  int x = add_input(g, "x", VITC_F32, 3, xd);
  int s = add_node(g, VITC_OP_Shape, "shape", (int[]){x}, 1, NULL, 0);
  int eq = add_node(g, VITC_OP_Equal, "equal", (int[]){s, add_i64(g, "m1s", 1, 3, minus1s)}, 2, NULL, 0);
  int w = add_node(g, VITC_OP_Where, "where", (int[]){eq, add_i64(g, "ones", 1, 3, ones), s}, 3, NULL, 0);
  int sc = add_node(g, VITC_OP_ScatterND, "scatter",
                    (int[]){w, add_const(g, "idx", VITC_I64, 2, idxd, (void *)idx), add_i64(g, "upd", 1, 1, upd)}, 3,
                    NULL, 0);
  int e = add_node(g, VITC_OP_Expand, "expand", (int[]){add_const(g, "half", VITC_F32, 0, NULL, &half), sc}, 2,
                   NULL, 0);
  int k = add_node(g, VITC_OP_Gather, "gather", (int[]){s, add_i64(g, "two", 0, 1, &two)}, 2,
                   (vitc_attr[]){int_attr("axis", 0)}, 1);
  int r = add_node(g, VITC_OP_Range, "range", (int[]){add_i64(g, "zero", 0, 1, &zero), k, add_i64(g, "one", 0, 1, &one)},
                   3, NULL, 0);
  int m = add_node(g, VITC_OP_Mod, "mod", (int[]){r, add_i64(g, "two2", 0, 1, &two)}, 2, NULL, 0);
  int mf = add_node(g, VITC_OP_Cast, "cast", (int[]){m}, 1, (vitc_attr[]){int_attr("to", VITC_F32)}, 1);
  vitc_attr value = {.name = "value", .type = VITC_ATTR_TENSOR, .t = {.dtype = VITC_F32, .rank = 1, .dims = {1}, .data = &quarter}};
  int z = add_node(g, VITC_OP_ConstantOfShape, "cos", (int[]){w}, 1, &value, 1);
  int a1 = add_node(g, VITC_OP_Add, "add1", (int[]){x, e}, 2, NULL, 0);
  int a2 = add_node(g, VITC_OP_Add, "add2", (int[]){a1, mf}, 2, NULL, 0);
  int y = add_node(g, VITC_OP_Add, "add3", (int[]){a2, z}, 2, NULL, 0);
  set_outputs(g, &y, 1);
  return g;
}

static void test_export_ops_fold(void) {
  vitc_graph *g = build_export_ops(), *plain = build_export_ops();
  vitc_error err = {0};
  /* What folding leaves, before fuse_elementwise_chains joins the three Adds into one node. */
  const char *keep_adds[] = {"fuse_elementwise_chains"};
  vitc_pass_options o = {.opt_level = 1, .verify_each = true, .disabled = keep_adds, .ndisabled = 1};
  if (vitc_run_passes(g, &o, &err) == VITC_OK) {
    CHECK(g->nnodes == 3);
    CHECK(count_op(g, VITC_OP_Add) == 3);
    for (int i = 0; i < g->nnodes; i++) CHECK(is_constant(g, g->nodes[i].in[1]));
    int64_t xd[] = {2, 3, 4};
    float x[24];
    for (int i = 0; i < 24; i++) x[i] = (float)i;
    float *folded = eval_one(g, x, 3, xd), *unfolded = eval_one(plain, x, 3, xd);
    CHECK(folded && unfolded);
    if (folded && unfolded)
      for (int i = 0; i < 24; i++) {
        CHECK_NEAR(folded[i], (float)i + 0.75f + (float)(i % 2), 0);
        CHECK_NEAR(folded[i], unfolded[i], 0);
      }
    free(folded);
    free(unfolded);
  } else {
    CHECK(!"pipeline failed on the export ops");
  }
  vitc_graph_free(g);
  vitc_graph_free(plain);
}

/* infer_shapes twice changes nothing; outputs above the evaluation limit get a shape but no value. */
static void test_infer_shapes_idempotent_and_limit(void) {
  vitc_graph *g = vitc_graph_new("limit.onnx");
  static const int64_t big[] = {17 << 20}; /* 68 MiB of f32: over the 64 MiB limit */
  int64_t xd[] = {3};
  int x = add_input(g, "x", VITC_F32, 1, xd);
  int s = add_node(g, VITC_OP_Shape, "shape", (int[]){x}, 1, NULL, 0);
  int z = add_node(g, VITC_OP_ConstantOfShape, "huge", (int[]){add_i64(g, "big", 1, 1, big)}, 1, NULL, 0);
  set_outputs(g, (int[]){s, z}, 2);
  vitc_error err = {0};
  vitc_status st = vitc_infer_shapes(g, &err);
  CHECK(st == VITC_OK);
  if (st == VITC_OK) {
    const vitc_tensor *zt = &g->tensors[z], *st_ = &g->tensors[s];
    CHECK(zt->shape_known && zt->v.rank == 1 && zt->v.dims[0] == big[0] && zt->v.data == NULL);
    CHECK(st_->shape_known && st_->v.dtype == VITC_I64 && st_->v.dims[0] == 1 && st_->v.data);
    void *first = st_->v.data;
    CHECK(vitc_infer_shapes(g, &err) == VITC_OK);
    CHECK(g->tensors[s].v.data == first && vitc_load_i(&g->tensors[s].v, 0) == 3);
    CHECK(vitc_fold_constants(g, &err) == VITC_OK);
    CHECK(g->nnodes == 1 && g->nodes[0].op == VITC_OP_ConstantOfShape);
  }
  vitc_graph_free(g);
}

/* A shape rule failure is reported with the node's context. */
static void test_infer_shapes_error_context(void) {
  vitc_graph *g = vitc_graph_new("bad.onnx");
  int64_t ad[] = {2, 3}, bd[] = {4};
  int a = add_input(g, "a", VITC_F32, 2, ad), b = add_input(g, "b", VITC_F32, 1, bd);
  int y = add_node(g, VITC_OP_Add, "mismatch", (int[]){a, b}, 2, NULL, 0);
  set_outputs(g, &y, 1);
  vitc_error err = {0};
  CHECK(vitc_infer_shapes(g, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "bad.onnx: node 'mismatch' (Add): ");
  vitc_graph_free(g);
}

/* ---------------------------------------------------------------- remove_identity */

/* y = Relu(Dropout(Identity(x))) + Cast(mask); the mask of an inference Dropout is all ones. */
static void test_remove_identity(void) {
  vitc_graph *g = vitc_graph_new("ident.onnx");
  int64_t xd[] = {2, 2};
  int x = add_input(g, "x", VITC_F32, 2, xd);
  int id = add_node(g, VITC_OP_Identity, "ident", (int[]){x}, 1, NULL, 0);
  int d = vitc_graph_add_tensor(g, "drop.out"), mask = vitc_graph_add_tensor(g, "drop.mask");
  vitc_graph_add_node(g, VITC_OP_Dropout, "drop", (int[]){id}, 1, (int[]){d, mask}, 2, NULL, 0);
  int r = add_node(g, VITC_OP_Relu, "relu", (int[]){d}, 1, NULL, 0);
  int mf = add_node(g, VITC_OP_Cast, "cast", (int[]){mask}, 1, (vitc_attr[]){int_attr("to", VITC_F32)}, 1);
  int y = add_node(g, VITC_OP_Add, "add", (int[]){r, mf}, 2, NULL, 0);
  int kept = add_node(g, VITC_OP_Identity, "kept", (int[]){x}, 1, NULL, 0); /* a graph output: stays */
  set_outputs(g, (int[]){y, kept}, 2);
  vitc_error err = {0};
  CHECK(vitc_infer_shapes(g, &err) == VITC_OK);
  CHECK(vitc_remove_identity(g, &err) == VITC_OK);
  CHECK(count_op(g, VITC_OP_Dropout) == 0);
  CHECK(count_op(g, VITC_OP_Identity) == 1);
  CHECK(vitc_verify(g, true, &err) == VITC_OK);
  for (int i = 0; i < g->nnodes; i++) {
    const vitc_node *n = &g->nodes[i];
    if (n->op == VITC_OP_Relu) CHECK(n->in[0] == x);
    if (n->op == VITC_OP_Identity) CHECK(n->out[0] == kept);
    if (n->op == VITC_OP_Cast) {
      CHECK(is_constant(g, n->in[0]));
      if (is_constant(g, n->in[0])) {
        const vitc_value *m = &g->tensors[n->in[0]].v;
        CHECK(m->dtype == VITC_BOOL && m->rank == 2 && m->dims[0] == 2 && m->dims[1] == 2);
        for (int k = 0; k < 4; k++) CHECK(vitc_load_i(m, k) == 1);
      }
    }
  }
  float xv[] = {-1, 2, -3, 4};
  float *out = eval_one(g, xv, 2, xd);
  CHECK(out != NULL);
  if (out) {
    const float want[] = {1, 3, 1, 5}; /* relu(x) + 1 */
    for (int i = 0; i < 4; i++) CHECK_NEAR(out[i], want[i], 0);
  }
  free(out);
  vitc_graph_free(g);
}

/* Swin's F.dropout(p=0.0) exports training_mode true with ratio 0: still an identity. A non-zero ratio
 * in training mode is not. */
static void test_remove_training_dropout(void) {
  static float zero = 0, half = 0.5f;
  static uint8_t yes = 1;
  vitc_graph *g = vitc_graph_new("swin.onnx");
  int64_t xd[] = {2};
  int x = add_input(g, "x", VITC_F32, 1, xd);
  int train = add_const(g, "train", VITC_BOOL, 0, NULL, &yes);
  int r0 = add_const(g, "r0", VITC_F32, 0, NULL, &zero), r5 = add_const(g, "r5", VITC_F32, 0, NULL, &half);
  int d0 = vitc_graph_add_tensor(g, "d0"), m0 = vitc_graph_add_tensor(g, "m0");
  vitc_graph_add_node(g, VITC_OP_Dropout, "p_zero", (int[]){x, r0, train}, 3, (int[]){d0, m0}, 2, NULL, 0);
  int d5 = add_node(g, VITC_OP_Dropout, "p_half", (int[]){d0, r5, train}, 3, NULL, 0);
  set_outputs(g, &d5, 1);
  vitc_error err = {0};
  CHECK(vitc_remove_identity(g, &err) == VITC_OK);
  CHECK(g->nnodes == 1 && !strcmp(g->nodes[0].name, "p_half") && g->nodes[0].in[0] == x);
  vitc_graph_free(g);
}

/* ---------------------------------------------------------------- eliminate_common */

static void test_cse(void) {
  vitc_graph *g = vitc_graph_new("cse.onnx");
  int64_t xd[] = {3}, cd[] = {3};
  float c[] = {1, 2, 3};
  int x = add_input(g, "x", VITC_F32, 1, xd);
  int c1 = add_const(g, "c1", VITC_F32, 1, cd, c), c2 = add_const(g, "c2", VITC_F32, 1, cd, c);
  int a1 = add_node(g, VITC_OP_Add, "add1", (int[]){x, c1}, 2, NULL, 0);
  int a2 = add_node(g, VITC_OP_Add, "add2", (int[]){x, c2}, 2, NULL, 0); /* same once c2 merges into c1 */
  int m = add_node(g, VITC_OP_Mul, "mul", (int[]){a1, a2}, 2, NULL, 0);
  int s0 = add_node(g, VITC_OP_Softmax, "sm0", (int[]){m}, 1, (vitc_attr[]){int_attr("axis", 0)}, 1);
  int s1 = add_node(g, VITC_OP_Softmax, "sm1", (int[]){m}, 1, (vitc_attr[]){int_attr("axis", -1)}, 1);
  int s2 = add_node(g, VITC_OP_Softmax, "sm2", (int[]){m}, 1, (vitc_attr[]){int_attr("axis", 0)}, 1);
  int t0 = add_node(g, VITC_OP_Add, "sum01", (int[]){s0, s1}, 2, NULL, 0);
  int y = add_node(g, VITC_OP_Add, "sum2", (int[]){t0, s2}, 2, NULL, 0);
  set_outputs(g, &y, 1);
  vitc_error err = {0};
  CHECK(vitc_eliminate_common(g, &err) == VITC_OK);
  CHECK(g->nnodes == 6);
  CHECK(count_op(g, VITC_OP_Softmax) == 2);
  for (int i = 0; i < g->nnodes; i++) {
    const vitc_node *n = &g->nodes[i];
    if (n->op == VITC_OP_Mul) CHECK(n->in[0] == a1 && n->in[1] == a1);
    if (!strcmp(n->name, "sum2")) CHECK(n->in[1] == s0);
    CHECK(strcmp(n->name, "add2") && strcmp(n->name, "sm2"));
  }
  CHECK(vitc_verify(g, false, &err) == VITC_OK);
  vitc_graph_free(g);
}

/* Tensor attributes compare by value: ConstantOfShape with 1.0 and 2.0 stay apart, 1.0 twice merge. */
static void test_cse_tensor_attrs(void) {
  vitc_graph *g = vitc_graph_new("cse2.onnx");
  int64_t sd[] = {1};
  int s = add_input(g, "s", VITC_I64, 1, sd);
  float v1 = 1.0f, v2 = 2.0f, v1b = 1.0f;
  vitc_attr a1 = {.name = "value", .type = VITC_ATTR_TENSOR, .t = {.dtype = VITC_F32, .rank = 1, .dims = {1}, .data = &v1}};
  vitc_attr a2 = a1, a3 = a1;
  a2.t.data = &v2;
  a3.t.data = &v1b;
  int o1 = add_node(g, VITC_OP_ConstantOfShape, "one", (int[]){s}, 1, &a1, 1);
  int o2 = add_node(g, VITC_OP_ConstantOfShape, "two", (int[]){s}, 1, &a2, 1);
  int o3 = add_node(g, VITC_OP_ConstantOfShape, "one_again", (int[]){s}, 1, &a3, 1);
  int p = add_node(g, VITC_OP_Add, "p", (int[]){o1, o2}, 2, NULL, 0);
  int y = add_node(g, VITC_OP_Add, "y", (int[]){p, o3}, 2, NULL, 0);
  set_outputs(g, &y, 1);
  vitc_error err = {0};
  CHECK(vitc_eliminate_common(g, &err) == VITC_OK);
  CHECK(count_op(g, VITC_OP_ConstantOfShape) == 2);
  CHECK(g->nodes[g->nnodes - 1].in[1] == o1);
  vitc_graph_free(g);
}

/* ---------------------------------------------------------------- eliminate_dead */

static void test_dce(void) {
  vitc_graph *g = vitc_graph_new("dce.onnx");
  int64_t xd[] = {2};
  int x = add_input(g, "x", VITC_F32, 1, xd);
  int y = add_node(g, VITC_OP_Relu, "relu", (int[]){x}, 1, NULL, 0);
  int e = add_node(g, VITC_OP_Exp, "unused_exp", (int[]){x}, 1, NULL, 0);
  add_node(g, VITC_OP_Neg, "unused_neg", (int[]){e}, 1, NULL, 0);
  set_outputs(g, &y, 1);
  vitc_error err = {0};
  CHECK(vitc_eliminate_dead(g, &err) == VITC_OK);
  CHECK(g->nnodes == 1 && g->nodes[0].op == VITC_OP_Relu);
  CHECK(g->tensors[y].producer == 0);
  CHECK(vitc_verify(g, false, &err) == VITC_OK);
  vitc_graph_free(g);
}

/* ---------------------------------------------------------------- verify */

static void test_verify_errors(void) {
  int64_t xd[] = {2};
  vitc_error err = {0};

  vitc_graph *g = vitc_graph_new("order.onnx");
  int x = add_input(g, "x", VITC_F32, 1, xd);
  int later = vitc_graph_add_tensor(g, "later");
  int y = add_node(g, VITC_OP_Relu, "early", (int[]){later}, 1, NULL, 0);
  vitc_graph_add_node(g, VITC_OP_Neg, "producer", (int[]){x}, 1, &later, 1, NULL, 0);
  set_outputs(g, &y, 1);
  CHECK(vitc_verify(g, false, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "order.onnx: node 'early' (Relu): input 'later' is used before it is defined");
  vitc_graph_free(g);

  g = vitc_graph_new("arity.onnx");
  x = add_input(g, "x", VITC_F32, 1, xd);
  y = add_node(g, VITC_OP_Add, "lonely_add", (int[]){x}, 1, NULL, 0);
  set_outputs(g, &y, 1);
  CHECK(vitc_verify(g, false, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "arity.onnx: node 'lonely_add' (Add): has 1 inputs, Add takes 2 to 2");
  vitc_graph_free(g);

  g = vitc_graph_new("twice.onnx");
  x = add_input(g, "x", VITC_F32, 1, xd);
  y = vitc_graph_add_tensor(g, "y");
  vitc_graph_add_node(g, VITC_OP_Relu, "first", (int[]){x}, 1, &y, 1, NULL, 0);
  vitc_graph_add_node(g, VITC_OP_Neg, "second", (int[]){x}, 1, &y, 1, NULL, 0);
  set_outputs(g, &y, 1);
  CHECK(vitc_verify(g, false, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "twice.onnx: node 'second' (Neg): output 'y' is also produced by node 'first'");
  vitc_graph_free(g);

  g = vitc_graph_new("range.onnx");
  x = add_input(g, "x", VITC_F32, 1, xd);
  y = add_node(g, VITC_OP_Relu, "wild", (int[]){x}, 1, NULL, 0);
  g->nodes[0].in[0] = 99;
  set_outputs(g, &y, 1);
  CHECK(vitc_verify(g, false, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "node 'wild' (Relu): input 0 refers to tensor id 99, graph has 2 tensors");
  vitc_graph_free(g);

  g = vitc_graph_new("outputs.onnx");
  x = add_input(g, "x", VITC_F32, 1, xd);
  y = vitc_graph_add_tensor(g, "nowhere");
  set_outputs(g, &y, 1);
  CHECK(vitc_verify(g, false, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "graph output 'nowhere' is not defined");
  vitc_graph_free(g);

  g = vitc_graph_new("shapes.onnx");
  x = add_input(g, "x", VITC_F32, 1, xd);
  y = add_node(g, VITC_OP_Relu, "untyped", (int[]){x}, 1, NULL, 0);
  set_outputs(g, &y, 1);
  CHECK(vitc_verify(g, false, &err) == VITC_OK);
  CHECK(vitc_verify(g, true, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "node 'untyped' (Relu): tensor 'untyped.out' has no known shape and dtype");
  vitc_graph_free(g);
}

/* ---------------------------------------------------------------- print, stats, pipeline */

static char *print_to_string(const vitc_graph *g, bool dot) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (dot) vitc_print_dot(g, f);
  else vitc_print_graph(g, f);
  fclose(f);
  return buf;
}

static vitc_graph *build_printable(void) {
  static float c[] = {1, 2.5f, -3};
  static float big[16];
  vitc_graph *g = vitc_graph_new("print.onnx");
  g->opset = 17;
  int64_t xd[] = {2, 3}, cd[] = {3}, bd[] = {16};
  int x = add_input(g, "x", VITC_F32, 2, xd);
  int ct = add_const(g, "c", VITC_F32, 1, cd, c);
  add_const(g, "unused", VITC_F32, 1, cd, c);
  int bt = add_const(g, "big", VITC_F32, 1, bd, big);
  int a = add_node(g, VITC_OP_Add, "add0", (int[]){x, ct}, 2, NULL, 0);
  int cl = add_node(g, VITC_OP_Clip, "clip0", (int[]){a, -1, ct}, 3, NULL, 0);
  int sm = add_node(g, VITC_OP_Softmax, "sm0", (int[]){cl}, 1, (vitc_attr[]){int_attr("axis", -1)}, 1);
  static int64_t perm[] = {1, 0}; /* vitc_graph_add_node copies the attr struct, not its arrays */
  vitc_attr pa = {.name = "perm", .type = VITC_ATTR_INTS, .n = 2, .ints = perm};
  int tr = add_node(g, VITC_OP_Transpose, "tr0", (int[]){sm}, 1, &pa, 1);
  set_outputs(g, (int[]){tr, bt}, 2);
  return g;
}

static void test_print(void) {
  vitc_graph *g = build_printable();
  char *text = print_to_string(g, false);
  CHECK_MSG(text, "graph \"print.onnx\" opset 17\n");
  CHECK_MSG(text, "\ninput  %x : f32[2,3]\n");
  CHECK_MSG(text, "\nconst  %c : f32[3] = [1, 2.5, -3]\n");
  CHECK_MSG(text, "\nconst  %big : f32[16]\n");
  CHECK_MSG(text, "\n%add0.out : ? = Add(%x, %c)   # add0\n");
  CHECK_MSG(text, "= Clip(%add0.out, _, %c)   # clip0\n");
  CHECK_MSG(text, "= Softmax(%clip0.out) {axis=-1}   # sm0\n");
  CHECK_MSG(text, "= Transpose(%sm0.out) {perm=[1,0]}   # tr0\n");
  CHECK_MSG(text, "\noutput %tr0.out\noutput %big\n");
  CHECK(!strstr(text, "unused"));
  free(text);

  vitc_error err = {0};
  CHECK(vitc_infer_shapes(g, &err) == VITC_OK);
  text = print_to_string(g, false);
  CHECK_MSG(text, "\n%tr0.out : f32[3,2] = Transpose(%sm0.out) {perm=[1,0]}   # tr0\n");
  free(text);

  text = print_to_string(g, true);
  CHECK_MSG(text, "digraph vitc {");
  CHECK_MSG(text, "label=\"Add\\nadd0\\n+1 const\"");
  CHECK_MSG(text, "n0 -> n1 [label=\"f32[2,3]\"]");
  free(text);
  vitc_graph_free(g);
}

static void test_stats(void) {
  static float w[12], b[3];
  vitc_graph *g = vitc_graph_new("stats.onnx");
  int64_t xd[] = {2, 4}, wd[] = {4, 3}, bd[] = {3};
  int x = add_input(g, "x", VITC_F32, 2, xd);
  int wt = add_const(g, "w", VITC_F32, 2, wd, w), bt = add_const(g, "b", VITC_F32, 1, bd, b);
  add_const(g, "unused", VITC_F32, 2, wd, w);
  int m = add_node(g, VITC_OP_MatMul, "mm", (int[]){x, wt}, 2, NULL, 0);
  int a = add_node(g, VITC_OP_Add, "bias", (int[]){m, bt}, 2, NULL, 0);
  int m2 = add_node(g, VITC_OP_MatMul, "mm2", (int[]){x, wt}, 2, NULL, 0); /* w shared: counted once */
  int y = add_node(g, VITC_OP_Add, "sum", (int[]){a, m2}, 2, NULL, 0);
  set_outputs(g, &y, 1);
  int64_t count, bytes;
  vitc_graph_params(g, &count, &bytes);
  CHECK(count == 15 && bytes == 60);
  vitc_error err = {0};
  CHECK(vitc_infer_shapes(g, &err) == VITC_OK);
  /* two MatMuls of 2x4 by 4x3 (2*2*3*4 = 48 each) and two Adds of 6 elements */
  CHECK_NEAR(vitc_graph_flops(g), 2 * 48 + 2 * 6, 0);
  vitc_graph_free(g);
}

static void test_pipeline_options(void) {
  vitc_graph *g = build_printable();
  vitc_error err = {0};
  vitc_pass_options o = {.opt_level = 1, .print_after = "fold_constant"};
  CHECK(vitc_run_passes(g, &o, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "unknown pass 'fold_constant' (passes: infer_shapes, fuse_qdq, remove_identity, fold_constants, ");
  int npasses;
  const vitc_pass *listed = vitc_pipeline(&npasses);
  for (int i = 0; i < npasses; i++) CHECK_MSG(err.msg, listed[i].name); /* the message lists every pass */
  CHECK(!g->tensors[g->outputs[0]].shape_known); /* nothing ran */

  const char *disabled[] = {"cse"};
  o = (vitc_pass_options){.opt_level = 1, .disabled = disabled, .ndisabled = 1};
  CHECK(vitc_run_passes(g, &o, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "unknown pass 'cse'");
  disabled[0] = "infer_shapes";
  CHECK(vitc_run_passes(g, &o, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "pass 'infer_shapes' is required");

  int count;
  const vitc_pass *p = vitc_pipeline(&count);
  CHECK(count >= 5 && !strcmp(p[0].name, "infer_shapes") && p[0].required);
  CHECK(!strcmp(p[count - 1].name, "eliminate_dead"));
  for (int i = 1; i < count; i++) CHECK(!p[i].required);
  vitc_graph_free(g);
}

/* -O0 runs infer_shapes only; print_after "all" then prints once. */
static void test_o0(void) {
  vitc_graph *g = vitc_graph_new("o0.onnx");
  int64_t xd[] = {2};
  int x = add_input(g, "x", VITC_F32, 1, xd);
  int i = add_node(g, VITC_OP_Identity, "ident", (int[]){x}, 1, NULL, 0);
  int y = add_node(g, VITC_OP_Relu, "relu", (int[]){i}, 1, NULL, 0);
  add_node(g, VITC_OP_Exp, "dead", (int[]){x}, 1, NULL, 0);
  set_outputs(g, &y, 1);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  vitc_pass_options o = {.opt_level = 0, .print_after = "all", .print_to = f, .verify_each = true};
  vitc_error err = {0};
  CHECK(vitc_run_passes(g, &o, &err) == VITC_OK);
  fclose(f);
  CHECK(g->nnodes == 3 && count_op(g, VITC_OP_Identity) == 1);
  CHECK(g->tensors[y].shape_known && g->tensors[y].v.dims[0] == 2);
  CHECK_MSG(buf, "# after infer_shapes\ngraph \"o0.onnx\"");
  CHECK(!strstr(buf, "# after remove_identity"));
  free(buf);

  /* at -O1 the same graph loses the Identity and the dead Exp */
  buf = NULL;
  f = open_memstream(&buf, &len);
  o = (vitc_pass_options){.opt_level = 1, .print_after = "eliminate_dead", .print_to = f, .verify_each = true};
  CHECK(vitc_run_passes(g, &o, &err) == VITC_OK);
  fclose(f);
  CHECK(g->nnodes == 1 && g->nodes[0].op == VITC_OP_Relu && g->nodes[0].in[0] == x);
  CHECK_MSG(buf, "# after eliminate_dead\n");
  CHECK_MSG(buf, "\n%relu.out : f32[2] = Relu(%x)   # relu\n");
  free(buf);
  vitc_graph_free(g);
}

int main(void) {
  test_shape_chain_folds();
  test_export_ops_fold();
  test_infer_shapes_idempotent_and_limit();
  test_infer_shapes_error_context();
  test_remove_identity();
  test_remove_training_dropout();
  test_cse();
  test_cse_tensor_attrs();
  test_dce();
  test_verify_errors();
  test_print();
  test_stats();
  test_pipeline_options();
  test_o0();
  CHECK_DONE();
}
