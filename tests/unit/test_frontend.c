/* test_frontend.c — ONNX models built here with protobuf-c, written to a temp dir and loaded back.
 * Expected values are the ones written into each model (or computed by hand in comments). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "check.h"
#include "frontend/frontend.h"
#include "onnx/onnx.pb-c.h"
#include "passes/passes.h"

/* ---------------------------------------------------------------- building models */

static vitc_arena *pool; /* every proto struct below lives here */
static char tmpdir[256];

static void *P(size_t n) { return vitc_arena_alloc(pool, n); }
static char *S(const char *s) { return vitc_arena_strdup(pool, s); }

/* "a,b,,c" → {"a","b","","c"}; "" → no entries. */
static char **split(const char *list, size_t *n) {
  *n = 0;
  char **out = P(sizeof(char *) * 32);
  if (!*list) return out;
  char *copy = S(list), *p = copy;
  for (;;) {
    char *comma = strchr(p, ',');
    if (comma) *comma = 0;
    out[(*n)++] = p;
    if (!comma) break;
    p = comma + 1;
  }
  return out;
}

static Onnx__TensorProto *tensor(const char *name, int dtype, int rank, const int64_t *dims) {
  Onnx__TensorProto *t = P(sizeof *t);
  onnx__tensor_proto__init(t);
  t->name = S(name);
  t->has_data_type = 1;
  t->data_type = dtype;
  t->n_dims = (size_t)rank;
  t->dims = P(sizeof(int64_t) * 8);
  memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
  return t;
}

static Onnx__TensorProto *tensor_raw(const char *name, int dtype, int rank, const int64_t *dims, const void *data,
                                     size_t bytes) {
  Onnx__TensorProto *t = tensor(name, dtype, rank, dims);
  t->has_raw_data = 1;
  t->raw_data.len = bytes;
  t->raw_data.data = P(bytes);
  memcpy(t->raw_data.data, data, bytes);
  return t;
}

static Onnx__AttributeProto *attr(const char *name, Onnx__AttributeProto__AttributeType type) {
  Onnx__AttributeProto *a = P(sizeof *a);
  onnx__attribute_proto__init(a);
  a->name = S(name);
  a->has_type = 1;
  a->type = type;
  return a;
}
static Onnx__AttributeProto *attr_ints(const char *name, int n, const int64_t *v) {
  Onnx__AttributeProto *a = attr(name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  a->n_ints = (size_t)n;
  a->ints = P(sizeof(int64_t) * (size_t)(n + 1));
  memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
  return a;
}
static Onnx__AttributeProto *attr_int(const char *name, int64_t v) {
  Onnx__AttributeProto *a = attr(name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  a->has_i = 1;
  a->i = v;
  return a;
}
static Onnx__AttributeProto *attr_float(const char *name, float v) {
  Onnx__AttributeProto *a = attr(name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  a->has_f = 1;
  a->f = v;
  return a;
}

/* node("Add", "add1", "a,b", "c", attrs...) with a NULL-terminated attribute list. */
static Onnx__NodeProto *node(const char *op, const char *name, const char *ins, const char *outs, ...) {
  Onnx__NodeProto *n = P(sizeof *n);
  onnx__node_proto__init(n);
  n->op_type = S(op);
  n->name = S(name);
  n->input = split(ins, &n->n_input);
  n->output = split(outs, &n->n_output);
  n->attribute = P(sizeof(void *) * 8);
  va_list ap;
  va_start(ap, outs);
  for (Onnx__AttributeProto *a; (a = va_arg(ap, Onnx__AttributeProto *));) n->attribute[n->n_attribute++] = a;
  va_end(ap);
  return n;
}

/* A tensor value info; dims < 0 become the dim_param "N", dims == INT64_MIN are left unset. */
static Onnx__ValueInfoProto *value_info(const char *name, int dtype, int rank, const int64_t *dims) {
  Onnx__ValueInfoProto *vi = P(sizeof *vi);
  onnx__value_info_proto__init(vi);
  vi->name = S(name);
  Onnx__TypeProto *tp = P(sizeof *tp);
  onnx__type_proto__init(tp);
  Onnx__TypeProto__Tensor *tt = P(sizeof *tt);
  onnx__type_proto__tensor__init(tt);
  tt->has_elem_type = 1;
  tt->elem_type = dtype;
  if (rank >= 0) {
    Onnx__TensorShapeProto *sp = P(sizeof *sp);
    onnx__tensor_shape_proto__init(sp);
    sp->n_dim = (size_t)rank;
    sp->dim = P(sizeof(void *) * 8);
    for (int i = 0; i < rank; i++) {
      Onnx__TensorShapeProto__Dimension *d = P(sizeof *d);
      onnx__tensor_shape_proto__dimension__init(d);
      if (dims[i] == INT64_MIN) {
      } else if (dims[i] < 0) {
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
        d->dim_param = S("N");
      } else {
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        d->dim_value = dims[i];
      }
      sp->dim[i] = d;
    }
    tt->shape = sp;
  }
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  vi->type = tp;
  return vi;
}

typedef struct model {
  Onnx__ModelProto m;
  Onnx__GraphProto g;
} model;

static model *new_model(int opset) {
  model *md = P(sizeof *md);
  onnx__model_proto__init(&md->m);
  onnx__graph_proto__init(&md->g);
  md->m.has_ir_version = 1;
  md->m.ir_version = 8;
  md->m.graph = &md->g;
  md->m.opset_import = P(sizeof(void *) * 4);
  Onnx__OperatorSetIdProto *op = P(sizeof *op);
  onnx__operator_set_id_proto__init(op);
  op->domain = S("");
  op->has_version = 1;
  op->version = opset;
  md->m.opset_import[md->m.n_opset_import++] = op;
  md->g.name = S("g");
  md->g.node = P(sizeof(void *) * 16);
  md->g.initializer = P(sizeof(void *) * 16);
  md->g.input = P(sizeof(void *) * 8);
  md->g.output = P(sizeof(void *) * 8);
  return md;
}
static void add_opset(model *md, const char *domain, int version) {
  Onnx__OperatorSetIdProto *op = P(sizeof *op);
  onnx__operator_set_id_proto__init(op);
  op->domain = S(domain);
  op->has_version = 1;
  op->version = version;
  md->m.opset_import[md->m.n_opset_import++] = op;
}
static void add_node(model *md, Onnx__NodeProto *n) { md->g.node[md->g.n_node++] = n; }
static void add_init(model *md, Onnx__TensorProto *t) { md->g.initializer[md->g.n_initializer++] = t; }
static void add_input(model *md, Onnx__ValueInfoProto *v) { md->g.input[md->g.n_input++] = v; }
static void add_output(model *md, const char *name) {
  md->g.output[md->g.n_output++] = value_info(name, 1, -1, NULL);
}

static char *path_in_tmp(const char *file) {
  char *p = P(strlen(tmpdir) + strlen(file) + 2);
  sprintf(p, "%s/%s", tmpdir, file);
  return p;
}

static void write_bytes(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (n) fwrite(data, 1, n, f);
  fclose(f);
}

static const char *save(model *md, const char *file) {
  size_t n = onnx__model_proto__get_packed_size(&md->m);
  uint8_t *buf = P(n + 1);
  onnx__model_proto__pack(&md->m, buf);
  char *path = path_in_tmp(file);
  write_bytes(path, buf, n);
  return path;
}

/* Loads md (saved as file) and expects failure with status st and a message containing want. */
static void expect_load_error(model *md, const char *file, vitc_status st, const char *want) {
  const char *path = save(md, file);
  vitc_graph *g = (vitc_graph *)1;
  vitc_error err = {0};
  vitc_status got = vitc_load_onnx(path, NULL, &g, &err);
  CHECK(got == st);
  CHECK(g == NULL);
  CHECK_MSG(err.msg, want);
  CHECK(!strncmp(err.msg, path, strlen(path))); /* every message starts with the model path */
  if (got != st) fprintf(stderr, "  status %d, message: %s\n", got, err.msg);
}

static vitc_graph *load_ok(model *md, const char *file, const vitc_load_options *opts) {
  const char *path = save(md, file);
  vitc_graph *g = NULL;
  vitc_error err = {0};
  vitc_status st = vitc_load_onnx(path, opts, &g, &err);
  CHECK(st == VITC_OK);
  if (st) fprintf(stderr, "  load of %s failed: %s\n", file, err.msg);
  return g;
}

static int find(const vitc_graph *g, const char *name) {
  for (int i = 0; i < g->ntensors; i++)
    if (!strcmp(g->tensors[i].name, name)) return i;
  return -1;
}

static const int64_t D2x3[] = {2, 3}, D3[] = {3}, D1[] = {1};

/* ---------------------------------------------------------------- tests */

/* x[N,3] ─MatMul(W)─ h ─Reshape(c)─ r ─LeakyRelu(0.2)─ y, nodes written out of order. */
static model *small_mlp(void) {
  model *md = new_model(17);
  const float w[] = {1, 2, 3, 4, 5, 6};
  add_init(md, tensor_raw("W", 1, 2, (int64_t[]){3, 2}, w, sizeof w));
  add_input(md, value_info("x", 1, 2, (int64_t[]){-1, 3}));
  add_node(md, node("LeakyRelu", "", "r", "y", attr_float("alpha", 0.25f), NULL));
  add_node(md, node("MatMul", "mm", "x,W", "h", NULL));
  Onnx__AttributeProto *shape = attr_ints("value_ints", 2, (int64_t[]){-1, 4});
  add_node(md, node("Constant", "c", "", "c_out", shape, NULL));
  add_node(md, node("Reshape", "rs", "h,c_out", "r", attr_int("allowzero", 0), NULL));
  add_output(md, "y");
  return md;
}

static void test_two_node_model(void) {
  vitc_graph *g = load_ok(small_mlp(), "mlp.onnx", NULL);
  if (!g) return;
  CHECK(g->opset == 17);
  CHECK(g->nnodes == 3);
  CHECK(g->nodes[0].op == VITC_OP_MatMul && !strcmp(g->nodes[0].name, "mm"));
  CHECK(g->nodes[1].op == VITC_OP_Reshape);
  CHECK(g->nodes[2].op == VITC_OP_LeakyRelu && !strcmp(g->nodes[2].name, "LeakyRelu_0"));
  CHECK(g->nodes[2].opset == 17);
  CHECK_NEAR(vitc_attr_float(&g->nodes[2], "alpha", 0), 0.25, 0);
  CHECK(vitc_attr_int(&g->nodes[1], "allowzero", 7) == 0);
  CHECK(g->ninputs == 1 && g->noutputs == 1);
  const vitc_tensor *x = &g->tensors[g->inputs[0]];
  CHECK(!strcmp(x->name, "x") && x->shape_known && x->v.dtype == VITC_F32);
  CHECK(x->v.rank == 2 && x->v.dims[0] == 1 && x->v.dims[1] == 3); /* N unbound → 1 */
  CHECK(x->dim_param[0] && !strcmp(x->dim_param[0], "N") && !x->dim_param[1]);
  CHECK(!strcmp(g->tensors[g->outputs[0]].name, "y"));
  int w = find(g, "W"), c = find(g, "c_out");
  CHECK(w >= 0 && g->tensors[w].v.rank == 2 && g->tensors[w].v.dims[0] == 3);
  CHECK(w >= 0 && ((float *)g->tensors[w].v.data)[5] == 6.0f);
  CHECK(c >= 0 && g->tensors[c].v.dtype == VITC_I64 && g->tensors[c].v.dims[0] == 2);
  CHECK(c >= 0 && ((int64_t *)g->tensors[c].v.data)[0] == -1 && ((int64_t *)g->tensors[c].v.data)[1] == 4);
  CHECK(g->nodes[1].in[1] == c);
  vitc_graph_free(g);

  /* A binding fixes N. */
  vitc_shape_binding b;
  vitc_error err = {0};
  CHECK(vitc_parse_shape_binding("x=4x3", &b, &err) == VITC_OK);
  vitc_load_options opts = {&b, 1};
  g = load_ok(small_mlp(), "mlp.onnx", &opts);
  if (g) {
    CHECK(g->tensors[g->inputs[0]].v.dims[0] == 4);
    vitc_graph_free(g);
  }
}

static void test_binding_errors(void) {
  vitc_shape_binding b;
  vitc_error err = {0};
  CHECK(vitc_parse_shape_binding("input.1=1x3x224x224", &b, &err) == VITC_OK);
  CHECK(b.input_len == 7 && !strncmp(b.input, "input.1", 7) && b.rank == 4 && b.dims[3] == 224);
  CHECK(vitc_parse_shape_binding("x1x3", &b, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "has no '='");
  CHECK(vitc_parse_shape_binding("x=1xax3", &b, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "dim 'a' is not a non-negative integer");
  CHECK(vitc_parse_shape_binding("x=1x-2", &b, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "dim '-2'");
  CHECK(vitc_parse_shape_binding("x=1x2x", &b, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "dim ''");
  CHECK(vitc_parse_shape_binding("x=1x2x3x4x5x6x7x8x9", &b, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "more than 8 dims");
  CHECK(vitc_parse_shape_binding("=1x2", &b, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "names no input");
  CHECK(vitc_parse_shape_binding("x=99999999999999999999", &b, &err) == VITC_ERR_INVALID);

  const char *path = save(small_mlp(), "bind.onnx");
  vitc_graph *g = NULL;
  vitc_load_options opts = {&b, 1};
  vitc_parse_shape_binding("x=4x3x1", &b, &err);
  CHECK(vitc_load_onnx(path, &opts, &g, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "shape binding [4,3,1] for graph input 'x' does not match its declared shape [N,3]");
  vitc_parse_shape_binding("x=4x5", &b, &err);
  CHECK(vitc_load_onnx(path, &opts, &g, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "[4,5] for graph input 'x' does not match its declared shape [N,3]");
  vitc_parse_shape_binding("W=3x2", &b, &err); /* an initializer, not an input */
  CHECK(vitc_load_onnx(path, &opts, &g, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "shape binding names 'W', which is not a graph input");
  vitc_shape_binding plain = {.input = "nope", .rank = 1, .dims = {1}};
  opts.bindings = &plain;
  CHECK(vitc_load_onnx(path, &opts, &g, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "'nope', which is not a graph input");
}

static void test_normalise_opset11(void) {
  model *md = new_model(11);
  add_input(md, value_info("x", 1, 3, (int64_t[]){1, 4, 6}));
  add_node(md, node("Squeeze", "sq", "x", "s", attr_ints("axes", 1, (int64_t[]){0}), NULL));
  add_node(md, node("ReduceMean", "rm", "s", "m", attr_ints("axes", 2, (int64_t[]){-1, 0}), attr_int("keepdims", 0),
                    NULL));
  add_node(md, node("ReduceMax", "rmax", "s", "mx", NULL)); /* no axes: stays with one input */
  add_node(md, node("Split", "sp", "s", "a,b", attr_int("axis", 1), attr_ints("split", 2, (int64_t[]){2, 4}), NULL));
  add_node(md, node("Unsqueeze", "us", "m", "u", attr_ints("axes", 1, (int64_t[]){1}), NULL));
  add_node(md, node("Dropout", "dr", "u", "d,", attr_float("ratio", 0.5f), NULL));
  add_output(md, "d");
  add_output(md, "mx");
  add_output(md, "a");
  vitc_graph *g = load_ok(md, "opset11.onnx", NULL);
  if (!g) return;
  CHECK(g->nnodes == 6);
  const vitc_node *sq = &g->nodes[0], *rm = &g->nodes[1], *rmax = &g->nodes[2], *sp = &g->nodes[3],
                  *us = &g->nodes[4], *dr = &g->nodes[5];
  CHECK(sq->nin == 2 && sq->nattr == 0 && !vitc_attr_find(sq, "axes"));
  const vitc_tensor *ax = &g->tensors[sq->in[1]];
  CHECK(ax->v.dtype == VITC_I64 && ax->v.rank == 1 && ax->v.dims[0] == 1 && ((int64_t *)ax->v.data)[0] == 0);
  CHECK(rm->nin == 2 && rm->nattr == 1 && vitc_attr_int(rm, "keepdims", 1) == 0);
  ax = &g->tensors[rm->in[1]];
  CHECK(ax->v.dims[0] == 2 && ((int64_t *)ax->v.data)[0] == -1 && ((int64_t *)ax->v.data)[1] == 0);
  CHECK(rmax->nin == 1);
  CHECK(sp->nin == 2 && sp->nout == 2 && ((int64_t *)g->tensors[sp->in[1]].v.data)[1] == 4);
  CHECK(vitc_attr_int(sp, "axis", 0) == 1 && !vitc_attr_find(sp, "split"));
  CHECK(us->nin == 2 && ((int64_t *)g->tensors[us->in[1]].v.data)[0] == 1);
  CHECK(dr->nin == 2 && dr->nout == 1); /* the absent mask output is dropped */
  const vitc_tensor *ratio = &g->tensors[dr->in[1]];
  CHECK(ratio->v.dtype == VITC_F32 && ratio->v.rank == 0 && *(float *)ratio->v.data == 0.5f);
  vitc_graph_free(g);

  /* Opset 13: ReduceMean still takes the attribute (until 18), Squeeze already takes the input. */
  md = new_model(13);
  add_input(md, value_info("x", 1, 2, (int64_t[]){2, 3}));
  add_node(md, node("ReduceMean", "rm", "x", "m", attr_ints("axes", 1, (int64_t[]){1}), NULL));
  add_output(md, "m");
  g = load_ok(md, "opset13.onnx", NULL);
  if (g) {
    CHECK(g->nodes[0].nin == 2 && g->nodes[0].nattr == 0);
    vitc_graph_free(g);
  }
  /* Opset 18: the attribute is not ReduceMean's any more; it is left alone. */
  md = new_model(18);
  add_input(md, value_info("x", 1, 2, (int64_t[]){2, 3}));
  add_node(md, node("ReduceMean", "rm", "x", "m", attr_int("keepdims", 1), NULL));
  add_output(md, "m");
  g = load_ok(md, "opset18.onnx", NULL);
  if (g) {
    CHECK(g->nodes[0].nin == 1 && g->nodes[0].nattr == 1);
    vitc_graph_free(g);
  }
}

/* The same values through raw_data and through the typed field of each dtype. */
static void test_typed_vs_raw(void) {
  model *md = new_model(17);
  const float f[] = {1.5f, -2, 3, 0, 1e-3f, 7};
  add_init(md, tensor_raw("f_raw", 1, 2, D2x3, f, sizeof f));
  Onnx__TensorProto *t = tensor("f_typed", 1, 2, D2x3);
  t->n_float_data = 6;
  t->float_data = (float *)f;
  add_init(md, t);
  const int64_t i64[] = {-5, 1LL << 40, 3};
  add_init(md, tensor_raw("i_raw", 7, 1, D3, i64, sizeof i64));
  t = tensor("i_typed", 7, 1, D3);
  t->n_int64_data = 3;
  t->int64_data = (int64_t *)i64;
  add_init(md, t);
  const int8_t i8[] = {-128, 5, 127};
  add_init(md, tensor_raw("i8_raw", 3, 1, D3, i8, sizeof i8));
  t = tensor("i8_typed", 3, 1, D3);
  t->n_int32_data = 3;
  t->int32_data = (int32_t[]){-128, 5, 127};
  add_init(md, t);
  const uint32_t u32[] = {0, 4000000000u, 7};
  add_init(md, tensor_raw("u32_raw", 12, 1, D3, u32, sizeof u32));
  t = tensor("u32_typed", 12, 1, D3);
  t->n_uint64_data = 3;
  t->uint64_data = (uint64_t[]){0, 4000000000u, 7};
  add_init(md, t);
  const uint8_t bools[] = {1, 0, 1};
  add_init(md, tensor_raw("b_raw", 9, 1, D3, bools, sizeof bools));
  t = tensor("b_typed", 9, 1, D3);
  t->n_int32_data = 3;
  t->int32_data = (int32_t[]){1, 0, 1};
  add_init(md, t);
  /* float16 bit patterns: 1.0 = 0x3c00, -2.0 = 0xc000, 0.5 = 0x3800 */
  const uint16_t h[] = {0x3c00, 0xc000, 0x3800};
  add_init(md, tensor_raw("h_raw", 10, 1, D3, h, sizeof h));
  t = tensor("h_typed", 10, 1, D3);
  t->n_int32_data = 3;
  t->int32_data = (int32_t[]){0x3c00, 0xc000, 0x3800};
  add_init(md, t);
  const double d[] = {0.1, -1e300, 2};
  t = tensor("d_typed", 11, 1, D3);
  t->n_double_data = 3;
  t->double_data = (double *)d;
  add_init(md, t);
  add_input(md, value_info("x", 1, 1, D1));
  add_node(md, node("Identity", "id", "x", "y", NULL));
  add_output(md, "y");
  vitc_graph *g = load_ok(md, "typed.onnx", NULL);
  if (!g) return;
  static const char *const pairs[][2] = {{"f_raw", "f_typed"}, {"i_raw", "i_typed"},   {"i8_raw", "i8_typed"},
                                         {"u32_raw", "u32_typed"}, {"b_raw", "b_typed"}, {"h_raw", "h_typed"}};
  for (size_t k = 0; k < sizeof pairs / sizeof *pairs; k++) {
    const vitc_tensor *a = &g->tensors[find(g, pairs[k][0])], *b = &g->tensors[find(g, pairs[k][1])];
    CHECK(a->v.dtype == b->v.dtype && vitc_nbytes(&a->v) == vitc_nbytes(&b->v));
    CHECK(!memcmp(a->v.data, b->v.data, vitc_nbytes(&a->v)));
  }
  const vitc_value *hv = &g->tensors[find(g, "h_typed")].v;
  CHECK(hv->dtype == VITC_F16);
  CHECK_NEAR(vitc_load_f(hv, 0), 1.0, 0);
  CHECK_NEAR(vitc_load_f(hv, 1), -2.0, 0);
  CHECK_NEAR(vitc_load_f(hv, 2), 0.5, 0);
  CHECK(vitc_load_i(&g->tensors[find(g, "i8_typed")].v, 0) == -128);
  CHECK(vitc_load_i(&g->tensors[find(g, "u32_typed")].v, 1) == 4000000000LL);
  CHECK_NEAR(vitc_load_f(&g->tensors[find(g, "d_typed")].v, 1), -1e300, 0);
  CHECK(g->ninputs == 1);
  vitc_graph_free(g);
}

/* ---------------------------------------------------------------- external data */

static Onnx__TensorProto *external(const char *name, const char *location, const char *offset, const char *length) {
  Onnx__TensorProto *t = tensor(name, 1, 2, D2x3);
  t->has_data_location = 1;
  t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  t->external_data = P(sizeof(void *) * 3);
  const char *kv[3][2] = {{"location", location}, {"offset", offset}, {"length", length}};
  for (int i = 0; i < 3; i++) {
    if (!kv[i][1]) continue;
    Onnx__StringStringEntryProto *e = P(sizeof *e);
    onnx__string_string_entry_proto__init(e);
    e->key = S(kv[i][0]);
    e->value = S(kv[i][1]);
    t->external_data[t->n_external_data++] = e;
  }
  return t;
}

/* Whether p lies in one of the files g maps (the model, external data). */
static bool in_mapping(const vitc_graph *g, const void *p) {
  for (const vitc_mapping *m = g->mappings; m; m = m->next)
    if ((const char *)p >= (const char *)m->addr && (const char *)p < (const char *)m->addr + m->len) return true;
  return false;
}

static model *external_model(Onnx__TensorProto *w) {
  model *md = new_model(17);
  add_init(md, w);
  add_input(md, value_info("x", 1, 2, D2x3));
  add_node(md, node("Add", "add", "x,W", "y", NULL));
  add_output(md, "y");
  return md;
}

static void test_external_data(void) {
  /* weights.bin: 5000 bytes of padding (offset not page aligned), then six floats. */
  static uint8_t file[5000 + 24];
  const float w[] = {0.5f, 1, 2, 3, 4, -8};
  memset(file, 0xab, sizeof file);
  memcpy(file + 5000, w, sizeof w);
  write_bytes(path_in_tmp("weights.bin"), file, sizeof file);
  mkdir(path_in_tmp("sub"), 0755);
  write_bytes(path_in_tmp("sub/w.bin"), w, sizeof w);

  vitc_graph *g = load_ok(external_model(external("W", "weights.bin", "5000", "24")), "ext.onnx", NULL);
  if (g) {
    const vitc_tensor *t = &g->tensors[find(g, "W")];
    CHECK(t->v.data && !memcmp(t->v.data, w, sizeof w));
    CHECK(g->mappings != NULL);
    vitc_graph_free(g);
  }
  g = load_ok(external_model(external("W", "sub/w.bin", NULL, NULL)), "ext2.onnx", NULL);
  if (g) {
    CHECK(!memcmp(g->tensors[find(g, "W")].v.data, w, sizeof w));
    vitc_graph_free(g);
  }
  /* At an offset unaligned for float32, a tensor under a page is copied (aligned) and not kept mapped; a
   * weight of a page or more would be read in place (test_weights_unaligned_in_place). */
  static uint8_t odd[5001 + 24];
  memset(odd, 0xab, sizeof odd);
  memcpy(odd + 5001, w, sizeof w);
  write_bytes(path_in_tmp("odd.bin"), odd, sizeof odd);
  g = load_ok(external_model(external("W", "odd.bin", "5001", "24")), "ext_odd.onnx", NULL);
  if (g) {
    const vitc_value *v = &g->tensors[find(g, "W")].v;
    CHECK(v->data && !memcmp(v->data, w, sizeof w) && vitc_value_is_aligned(v));
    CHECK(!in_mapping(g, v->data));
    vitc_graph_free(g);
  }

  /* A symlink inside the directory to a file outside it. */
  char outside[256];
  snprintf(outside, sizeof outside, "%s", "/tmp/vitc_front_out_XXXXXX");
  CHECK(mkdtemp(outside) != NULL);
  char outside_file[300];
  snprintf(outside_file, sizeof outside_file, "%s/secret.bin", outside);
  write_bytes(outside_file, w, sizeof w);
  unlink(path_in_tmp("link.bin"));
  CHECK(symlink(outside_file, path_in_tmp("link.bin")) == 0);

  expect_load_error(external_model(external("W", "/etc/passwd", NULL, NULL)), "e1.onnx", VITC_ERR_INVALID,
                    "external data path '/etc/passwd' of tensor 'W' escapes the model directory");
  expect_load_error(external_model(external("W", "../weights.bin", NULL, NULL)), "e2.onnx", VITC_ERR_INVALID,
                    "external data path '../weights.bin' of tensor 'W' escapes the model directory");
  expect_load_error(external_model(external("W", "sub/../../x.bin", NULL, NULL)), "e3.onnx", VITC_ERR_INVALID,
                    "'sub/../../x.bin' of tensor 'W' escapes the model directory");
  expect_load_error(external_model(external("W", "link.bin", NULL, NULL)), "e4.onnx", VITC_ERR_INVALID,
                    "external data path 'link.bin' of tensor 'W' escapes the model directory");
  expect_load_error(external_model(external("W", "missing.bin", NULL, NULL)), "e5.onnx", VITC_ERR_IO,
                    "external data file 'missing.bin' of tensor 'W'");
  expect_load_error(external_model(external("W", "weights.bin", "5004", "24")), "e6.onnx", VITC_ERR_INVALID,
                    "external data of tensor 'W' (offset 5004, length 24) lies beyond the end of 'weights.bin' (5024 bytes)");
  expect_load_error(external_model(external("W", "weights.bin", "0", "20")), "e7.onnx", VITC_ERR_INVALID,
                    "tensor 'W' f32[2,3]: its external data has 20 bytes but its shape needs 24 bytes");
  expect_load_error(external_model(external("W", "weights.bin", "x", NULL)), "e8.onnx", VITC_ERR_INVALID,
                    "external data offset 'x', not a byte count");
  unlink(outside_file);
  rmdir(outside);
}

/* ---------------------------------------------------------------- malformed files */

static void test_malformed_files(void) {
  vitc_graph *g = (vitc_graph *)1;
  vitc_error err = {0};
  /* Truncated: the first half of a valid model. */
  size_t n = onnx__model_proto__get_packed_size(&small_mlp()->m);
  uint8_t *buf = P(n);
  onnx__model_proto__pack(&small_mlp()->m, buf);
  const char *path = path_in_tmp("trunc.onnx");
  write_bytes(path, buf, n / 2);
  CHECK(vitc_load_onnx(path, NULL, &g, &err) == VITC_ERR_PARSE);
  CHECK_MSG(err.msg, "trunc.onnx: not a valid ONNX model (protobuf parse failed)");
  CHECK(g == NULL);

  path = path_in_tmp("garbage.onnx");
  const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x07, 0x12};
  write_bytes(path, garbage, sizeof garbage);
  CHECK(vitc_load_onnx(path, NULL, &g, &err) == VITC_ERR_PARSE);
  CHECK_MSG(err.msg, "garbage.onnx: not a valid ONNX model (protobuf parse failed)");

  path = path_in_tmp("empty.onnx");
  write_bytes(path, "", 0);
  CHECK(vitc_load_onnx(path, NULL, &g, &err) == VITC_ERR_PARSE);
  CHECK_MSG(err.msg, "empty.onnx: not a valid ONNX model (protobuf parse failed)");

  path = path_in_tmp("does_not_exist.onnx");
  CHECK(vitc_load_onnx(path, NULL, &g, &err) == VITC_ERR_IO);
  CHECK_MSG(err.msg, "does_not_exist.onnx: cannot open: No such file or directory");
}

static void test_bad_tensors(void) {
  model *md = external_model(tensor_raw("W", 1, 2, D2x3, (float[5]){0}, 20));
  expect_load_error(md, "short.onnx", VITC_ERR_INVALID, "tensor 'W' f32[2,3]: its data has 20 bytes but its shape needs 24 bytes");
  md = external_model(tensor_raw("W", 1, 2, D2x3, (float[7]){0}, 28));
  expect_load_error(md, "long.onnx", VITC_ERR_INVALID, "its data has 28 bytes but its shape needs 24 bytes");
  Onnx__TensorProto *t = tensor("W", 1, 2, D2x3);
  t->n_float_data = 2;
  t->float_data = (float[]){1, 2};
  expect_load_error(external_model(t), "short_typed.onnx", VITC_ERR_INVALID, "its data has 8 bytes but its shape needs 24");
  md = external_model(tensor("W", 1, 3, (int64_t[]){1LL << 31, 1LL << 31, 1LL << 31}));
  expect_load_error(md, "overflow.onnx", VITC_ERR_INVALID,
                    "tensor 'W' has shape f32[2147483648,2147483648,2147483648]: a dim is negative or the element count overflows");
  md = external_model(tensor("W", 1, 2, (int64_t[]){-1, 3}));
  expect_load_error(md, "negative.onnx", VITC_ERR_INVALID, "f32[-1,3]: a dim is negative");
  md = external_model(tensor_raw("W", 8, 1, D1, "a", 1));
  expect_load_error(md, "string.onnx", VITC_ERR_UNSUPPORTED, "tensor 'W' has data type STRING, which vitc does not support");
  md = external_model(tensor_raw("W", 14, 1, D1, "abcdefgh", 8));
  expect_load_error(md, "complex.onnx", VITC_ERR_UNSUPPORTED, "tensor 'W' has data type COMPLEX64");
  md = external_model(tensor_raw("W", 17, 1, D1, "a", 1)); /* float8e4m3fn, newer than the schema */
  expect_load_error(md, "float8.onnx", VITC_ERR_UNSUPPORTED, "tensor 'W' has data type data type 17");
  md = new_model(17);
  add_input(md, value_info("x", 15, 1, D1));
  add_node(md, node("Identity", "id", "x", "y", NULL));
  add_output(md, "y");
  expect_load_error(md, "complex_in.onnx", VITC_ERR_UNSUPPORTED, "graph input 'x' has data type COMPLEX128");
}

static void test_unsupported_ops(void) {
  model *md = new_model(17);
  add_input(md, value_info("x", 1, 1, D1));
  add_node(md, node("FooBar", "weird", "x", "y", NULL));
  add_output(md, "y");
  expect_load_error(md, "unknown_op.onnx", VITC_ERR_UNSUPPORTED, "node 'weird' (FooBar, domain '', opset 17): unsupported op");

  md = new_model(17);
  add_opset(md, "com.microsoft", 1);
  add_input(md, value_info("x", 1, 1, D1));
  Onnx__NodeProto *n = node("FusedGemm", "", "x", "y", NULL);
  n->domain = S("com.microsoft");
  add_node(md, n);
  add_output(md, "y");
  expect_load_error(md, "unknown_domain.onnx", VITC_ERR_UNSUPPORTED,
                    "node 'FusedGemm_0' (FusedGemm, domain 'com.microsoft', opset 1): unsupported op");

  /* A model-local function, even one named like an ONNX op. */
  md = new_model(17);
  add_opset(md, "local", 1);
  add_input(md, value_info("x", 1, 1, D1));
  n = node("Relu", "f", "x", "y", NULL);
  n->domain = S("local");
  add_node(md, n);
  add_output(md, "y");
  Onnx__FunctionProto *fn = P(sizeof *fn);
  onnx__function_proto__init(fn);
  fn->name = S("Relu");
  fn->domain = S("local");
  md->m.functions = P(sizeof(void *));
  md->m.functions[md->m.n_functions++] = fn;
  expect_load_error(md, "function.onnx", VITC_ERR_UNSUPPORTED,
                    "node 'f' (Relu, domain 'local', opset 1): unsupported op (a model-local function)");

  /* If with subgraphs. */
  md = new_model(17);
  add_input(md, value_info("c", 9, 0, NULL));
  Onnx__AttributeProto *body = attr("then_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
  body->g = P(sizeof(Onnx__GraphProto));
  onnx__graph_proto__init(body->g);
  add_node(md, node("If", "branch", "c", "y", body, NULL));
  add_output(md, "y");
  expect_load_error(md, "if.onnx", VITC_ERR_UNSUPPORTED, "node 'branch' (If, domain '', opset 17): unsupported op");
  /* A subgraph attribute on an op vitc knows is refused as well. */
  md = new_model(17);
  add_input(md, value_info("x", 1, 1, D1));
  add_node(md, node("Relu", "r", "x", "y", body, NULL));
  add_output(md, "y");
  expect_load_error(md, "graph_attr.onnx", VITC_ERR_UNSUPPORTED, "node 'r' (Relu): attribute 'then_branch' holds a subgraph");

  md = new_model(10);
  add_input(md, value_info("x", 1, 1, D1));
  add_output(md, "x");
  expect_load_error(md, "opset10.onnx", VITC_ERR_UNSUPPORTED, "opset 10 of the default domain is not supported");
  md->m.opset_import[0]->version = 22;
  expect_load_error(md, "opset22.onnx", VITC_ERR_UNSUPPORTED, "opset 22 of the default domain is not supported");
  md->m.opset_import[0]->domain = S("ai.onnx");
  md->m.opset_import[0]->version = 21;
  vitc_graph *g = load_ok(md, "opset21.onnx", NULL);
  CHECK(g && g->opset == 21 && g->nnodes == 0);
  vitc_graph_free(g);
}

/* Attributes against the ONNX schema of the node's opset: name, type, required, given once; and the
 * shape rules' range checks. */
static void test_attribute_schema(void) {
  model *md = new_model(17);
  add_input(md, value_info("x", 1, 2, D2x3));
  Onnx__AttributeProto *perm = attr("perm", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
  perm->n_floats = 2;
  perm->floats = P(2 * sizeof(float));
  perm->floats[0] = 1, perm->floats[1] = 0;
  add_node(md, node("Transpose", "t", "x", "y", perm, NULL));
  add_output(md, "y");
  expect_load_error(md, "perm_floats.onnx", VITC_ERR_INVALID,
                    "node 't' (Transpose): attribute 'perm' must be ints, not floats (Transpose-13)");

  md = new_model(17);
  add_input(md, value_info("x", 1, 2, D2x3));
  add_node(md, node("Relu", "r", "x", "y", attr_float("alpha", 1), NULL));
  add_output(md, "y");
  expect_load_error(md, "relu_alpha.onnx", VITC_ERR_INVALID, "node 'r' (Relu): 'alpha' is not an attribute of Relu-14");
  md->m.opset_import[0]->version = 12; /* the schema in force at the model's opset is the one named */
  expect_load_error(md, "relu_alpha12.onnx", VITC_ERR_INVALID, "'alpha' is not an attribute of Relu-6");

  md = new_model(17);
  add_input(md, value_info("x", 1, 2, D2x3));
  add_node(md, node("Cast", "c", "x", "y", NULL));
  add_output(md, "y");
  expect_load_error(md, "cast_no_to.onnx", VITC_ERR_INVALID, "node 'c' (Cast): required attribute 'to' of Cast-13 is missing");

  md = new_model(17);
  add_input(md, value_info("x", 1, 2, D2x3));
  add_node(md, node("Softmax", "s", "x", "y", attr_int("axis", 0), attr_int("axis", 1), NULL));
  add_output(md, "y");
  expect_load_error(md, "axis_twice.onnx", VITC_ERR_INVALID, "node 's' (Softmax): attribute 'axis' is given twice");

  /* Near misses that must load: Split's num_outputs exists from opset 18 on, Softmax's axis within rank. */
  md = new_model(18);
  add_input(md, value_info("x", 1, 2, D2x3));
  add_node(md, node("Split", "sp", "x", "y,z", attr_int("axis", 1), attr_int("num_outputs", 2), NULL));
  add_output(md, "y");
  vitc_graph *g = load_ok(md, "split18.onnx", NULL);
  CHECK(g != NULL);
  vitc_graph_free(g);
  md = new_model(17);
  add_input(md, value_info("x", 1, 2, D2x3));
  add_node(md, node("Softmax", "s", "x", "y", attr_int("axis", -2), NULL));
  add_output(md, "y");
  g = load_ok(md, "softmax_axis.onnx", NULL);
  vitc_error err = {0};
  CHECK(g && vitc_infer_shapes(g, &err) == VITC_OK);
  vitc_graph_free(g);
  md->g.node[0]->attribute[0]->i = 7;
  g = load_ok(md, "softmax_axis7.onnx", NULL);
  CHECK(g && vitc_infer_shapes(g, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "node 's' (Softmax)");
  CHECK_MSG(err.msg, "axis 7");
  vitc_graph_free(g);
}

static void test_structure_errors(void) {
  model *md = new_model(17);
  add_input(md, value_info("x", 1, 1, D1));
  add_node(md, node("Add", "a", "x,b", "c", NULL));
  add_node(md, node("Relu", "b_from_c", "c", "b", NULL));
  add_output(md, "c");
  expect_load_error(md, "cycle.onnx", VITC_ERR_INVALID, "graph has a cycle through this node");

  md = new_model(17);
  add_input(md, value_info("x", 1, 1, D1));
  add_node(md, node("Add", "a", "x,nowhere", "c", NULL));
  add_output(md, "c");
  expect_load_error(md, "undefined.onnx", VITC_ERR_INVALID, "node 'a' (Add): input 'nowhere' is not defined");

  md = new_model(17);
  add_input(md, value_info("x", 1, 1, D1));
  add_node(md, node("Add", "one_input", "x", "c", NULL));
  add_output(md, "c");
  expect_load_error(md, "arity.onnx", VITC_ERR_INVALID, "node 'one_input' (Add): has 1 inputs; Add takes 2 to 2");

  md = new_model(17);
  add_input(md, value_info("x", 1, 1, D1));
  add_node(md, node("Relu", "r", "x", "y", NULL));
  add_output(md, "z");
  expect_load_error(md, "no_output.onnx", VITC_ERR_INVALID, "graph output 'z' is not produced by any node, input or initializer");

  md = new_model(17);
  add_input(md, value_info("x", 1, 1, D1));
  add_node(md, node("Relu", "r", "x", "x", NULL));
  add_output(md, "x");
  expect_load_error(md, "redefine.onnx", VITC_ERR_INVALID, "node 'r' (Relu): output 'x' is already defined");

  md = new_model(17);
  add_input(md, value_info("x", 1, -1, NULL));
  add_output(md, "x");
  expect_load_error(md, "no_shape.onnx", VITC_ERR_INVALID, "graph input 'x' has no shape in the model");
}

static void test_constants(void) {
  model *md = new_model(17);
  add_node(md, node("Constant", "c1", "", "f", attr_float("value_float", 2.5f), NULL));
  Onnx__AttributeProto *fl = attr("value_floats", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
  fl->n_floats = 2;
  fl->floats = (float[]){1, -1};
  add_node(md, node("Constant", "c2", "", "fs", fl, NULL));
  add_node(md, node("Constant", "c3", "", "i", attr_int("value_int", -7), NULL));
  Onnx__AttributeProto *tv = attr("value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
  tv->t = tensor_raw("", 7, 1, (int64_t[]){2}, (int64_t[]){3, 4}, 16);
  add_node(md, node("Constant", "c4", "", "t", tv, NULL));
  /* Initializer also listed as a graph input (IR < 4): a constant, not an input. */
  add_init(md, tensor_raw("bias", 1, 1, D1, (float[]){9}, 4));
  add_input(md, value_info("bias", 1, 1, D1));
  add_input(md, value_info("x", 1, 1, D1));
  add_node(md, node("Add", "add", "x,bias", "y", NULL));
  add_output(md, "y");
  add_output(md, "t");
  vitc_graph *g = load_ok(md, "constants.onnx", NULL);
  if (!g) return;
  CHECK(g->nnodes == 1 && g->ninputs == 1 && !strcmp(g->tensors[g->inputs[0]].name, "x"));
  const vitc_value *f = &g->tensors[find(g, "f")].v, *fs = &g->tensors[find(g, "fs")].v,
                   *i = &g->tensors[find(g, "i")].v, *t = &g->tensors[find(g, "t")].v;
  CHECK(f->dtype == VITC_F32 && f->rank == 0 && *(float *)f->data == 2.5f);
  CHECK(fs->dtype == VITC_F32 && fs->rank == 1 && fs->dims[0] == 2 && ((float *)fs->data)[1] == -1.0f);
  CHECK(i->dtype == VITC_I64 && i->rank == 0 && *(int64_t *)i->data == -7);
  CHECK(t->dtype == VITC_I64 && t->dims[0] == 2 && ((int64_t *)t->data)[1] == 4);
  CHECK(*(float *)g->tensors[find(g, "bias")].v.data == 9.0f);
  vitc_graph_free(g);

  md = new_model(17);
  Onnx__AttributeProto *s = attr("value_string", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  s->has_s = 1;
  s->s.len = 2;
  s->s.data = (uint8_t *)S("hi");
  add_node(md, node("Constant", "cs", "", "s", s, NULL));
  add_output(md, "s");
  expect_load_error(md, "const_string.onnx", VITC_ERR_UNSUPPORTED, "node 'cs' (Constant): a Constant given by 'value_string' is not supported");
}

/* ---------------------------------------------------------------- tensor files */

static void round_trip(vitc_dtype dtype, int rank, const int64_t *dims, const void *data, const char *name) {
  vitc_value v = {.dtype = dtype, .rank = rank, .data = (void *)data};
  if (rank) memcpy(v.dims, dims, sizeof(int64_t) * (size_t)rank);
  const char *path = path_in_tmp("t.pb");
  vitc_error err = {0};
  CHECK(vitc_write_tensor_file(path, name, &v, &err) == VITC_OK);
  vitc_value back;
  char *back_name;
  CHECK(vitc_read_tensor_file(path, &back, &back_name, &err) == VITC_OK);
  CHECK(back.dtype == dtype && back.rank == rank && !memcmp(back.dims, v.dims, sizeof(int64_t) * (size_t)rank));
  CHECK(back.data && !memcmp(back.data, data, vitc_nbytes(&v)));
  CHECK(back_name && !strcmp(back_name, name));
  free(back.data);
  free(back_name);
}

static void test_tensor_files(void) {
  round_trip(VITC_F32, 2, D2x3, (float[]){1, 2, 3, -4, 5.5f, 6}, "input_0");
  round_trip(VITC_I64, 1, D3, (int64_t[]){-1, 0, 1LL << 50}, "ids");
  round_trip(VITC_BOOL, 1, D3, (uint8_t[]){1, 0, 1}, "mask");
  round_trip(VITC_F16, 1, D3, (uint16_t[]){0x3c00, 0xc000, 0x7bff}, "");
  round_trip(VITC_F32, 0, NULL, (float[]){42}, "scalar");

  /* No temporary file is left behind. */
  int entries = 0;
  DIR *d = opendir(tmpdir);
  for (struct dirent *e; (e = readdir(d));) entries += !strncmp(e->d_name, "t.pb.tmp", 8);
  closedir(d);
  CHECK(entries == 0);

  /* A typed-field tensor file, as older ONNX test data has. */
  Onnx__TensorProto *t = tensor("typed", 7, 1, D3);
  t->n_int64_data = 3;
  t->int64_data = (int64_t[]){5, 6, 7};
  uint8_t buf[256];
  size_t n = onnx__tensor_proto__pack(t, buf);
  const char *path = path_in_tmp("typed.pb");
  write_bytes(path, buf, n);
  vitc_value v;
  vitc_error err = {0};
  CHECK(vitc_read_tensor_file(path, &v, NULL, &err) == VITC_OK);
  CHECK(v.dtype == VITC_I64 && v.dims[0] == 3 && ((int64_t *)v.data)[2] == 7);
  free(v.data);

  /* Errors: short data, garbage, a directory that does not exist (no partial file either). */
  t = tensor("short", 1, 1, D3);
  t->n_float_data = 1;
  t->float_data = (float[]){1};
  write_bytes(path, buf, onnx__tensor_proto__pack(t, buf));
  CHECK(vitc_read_tensor_file(path, &v, NULL, &err) == VITC_ERR_INVALID);
  CHECK_MSG(err.msg, "typed.pb: tensor 'short' f32[3]: its data has 4 bytes but its shape needs 12 bytes");
  write_bytes(path, "\xff\xff\xff", 3);
  CHECK(vitc_read_tensor_file(path, &v, NULL, &err) == VITC_ERR_PARSE);
  CHECK_MSG(err.msg, "typed.pb: not a valid TensorProto (protobuf parse failed)");
  vitc_value one = {.dtype = VITC_F32, .rank = 0, .data = (float[]){1}};
  CHECK(vitc_write_tensor_file("/nonexistent_dir_vitc/x.pb", "x", &one, &err) == VITC_ERR_IO);
  CHECK_MSG(err.msg, "/nonexistent_dir_vitc/x.pb: cannot create a temporary file");
}

/* Models and data written by python3-onnx (tests/graphs/make_frontend_graphs.py), not by protobuf-c. */
static void test_committed_graphs(void) {
  vitc_graph *g = NULL;
  vitc_error err = {0};
  CHECK(vitc_load_onnx("tests/graphs/reduce_opset11/model.onnx", NULL, &g, &err) == VITC_OK);
  if (g) {
    CHECK(g->opset == 11 && g->nnodes == 4); /* the Constant node became a tensor */
    CHECK(g->nodes[0].op == VITC_OP_Unsqueeze && g->nodes[0].nin == 2);
    CHECK(g->nodes[1].op == VITC_OP_ReduceMean && g->nodes[1].nin == 2 && vitc_attr_int(&g->nodes[1], "keepdims", 0) == 1);
    CHECK(((int64_t *)g->tensors[g->nodes[1].in[1]].v.data)[0] == 2);
    CHECK(g->nodes[3].op == VITC_OP_Squeeze && g->nodes[3].nin == 2);
    CHECK(*(float *)g->tensors[find(g, "k")].v.data == 3.0f);
    vitc_graph_free(g);
  }
  vitc_shape_binding b;
  vitc_parse_shape_binding("x=2x3", &b, &err);
  vitc_load_options opts = {&b, 1};
  CHECK(vitc_load_onnx("tests/graphs/mlp_dynamic_batch/model.onnx", &opts, &g, &err) == VITC_OK);
  if (g) {
    const vitc_tensor *x = &g->tensors[g->inputs[0]];
    CHECK(x->v.dims[0] == 2 && x->v.dims[1] == 3 && !strcmp(x->dim_param[0], "N"));
    CHECK_NEAR(((float *)g->tensors[find(g, "W")].v.data)[5], 0.25, 0);
    CHECK(g->nnodes == 3 && vitc_attr_int(&g->nodes[2], "axis", 0) == -1);
    vitc_graph_free(g);
  }
  /* External data written by onnx: W = arange(12)/4 at offset 0, v = [1,-1,2,-2] at offset 4096. */
  CHECK(vitc_load_onnx("tests/graphs/external_weights/model.onnx", NULL, &g, &err) == VITC_OK);
  if (g) {
    const vitc_value *w = &g->tensors[find(g, "W")].v, *vv = &g->tensors[find(g, "v")].v;
    CHECK(w->rank == 2 && w->dims[0] == 3 && w->dims[1] == 4);
    CHECK_NEAR(((float *)w->data)[11], 2.75, 0);
    CHECK_NEAR(((float *)vv->data)[3], -2, 0);
    vitc_graph_free(g);
  }
  vitc_value v;
  char *name;
  CHECK(vitc_read_tensor_file("tests/graphs/add_relu/test_data_set_0/output_0.pb", &v, &name, &err) == VITC_OK);
  if (v.data) {
    /* Relu([[1,2,-3],[-4,0.25,-1]] + [0.5,-1,2]) */
    const float want[] = {1.5f, 1, 0, 0, 0, 1};
    CHECK(v.dtype == VITC_F32 && v.rank == 2 && v.dims[0] == 2 && v.dims[1] == 3 && !strcmp(name, "y"));
    CHECK(!memcmp(v.data, want, sizeof want));
    free(v.data);
    free(name);
  }
}

/* ---------------------------------------------------------------- inline weights in place */

/* Initializers' raw_data is read where it lies in the mapped file when aligned for the dtype, copied
 * otherwise; values survive dropping the file's pages. A graph field given twice (protobuf merges them)
 * is left to the plain unpack, which holds no mapping. */
static void test_inline_weights_in_place(void) {
  model *md = new_model(17);
  float w[3][64];
  for (int k = 0; k < 3; k++)
    for (int i = 0; i < 64; i++) w[k][i] = (float)(k * 100 + i) * 0.5f - 3;
  const int8_t odd[] = {1, 2, 3};
  static const char *const names[] = {"w0", "w1", "w2"};
  for (int k = 0; k < 3; k++) { /* int8 tensors between them shift their offsets */
    add_init(md, tensor_raw(names[k], 1, 1, (int64_t[]){64}, w[k], sizeof w[k]));
    add_init(md, tensor_raw(k ? "odd2" : "odd", 3, 1, (int64_t[]){3 - k}, odd, 3 - (size_t)k));
  }
  md->g.n_initializer--; /* two int8 tensors suffice */
  add_input(md, value_info("x", 1, 1, D1));
  add_node(md, node("Identity", "id", "x", "y", NULL));
  add_output(md, "y");
  const char *path = save(md, "inline.onnx");
  size_t n = onnx__model_proto__get_packed_size(&md->m);
  uint8_t *file = P(n);
  FILE *f = fopen(path, "rb");
  CHECK(f && fread(file, 1, n, f) == n);
  if (f) fclose(f);
  vitc_graph *g = NULL;
  vitc_error err = {0};
  CHECK(vitc_load_onnx(path, NULL, &g, &err) == VITC_OK);
  if (!g) return;
  CHECK(g->mappings != NULL);
  for (int round = 0; round < 2; round++) {
    for (int k = 0; k < 3; k++) {
      const vitc_value *v = &g->tensors[find(g, names[k])].v;
      CHECK(vitc_nbytes(v) == sizeof w[k]);
      CHECK((uintptr_t)v->data % 4 == 0);
      CHECK(!memcmp(v->data, w[k], sizeof w[k]));
      size_t at = 0;
      while (at + sizeof w[k] <= n && memcmp(file + at, w[k], sizeof w[k])) at++;
      CHECK(at + sizeof w[k] <= n && in_mapping(g, v->data) == (at % 4 == 0)); /* in place exactly when aligned */
    }
    CHECK(!memcmp(g->tensors[find(g, "odd")].v.data, odd, 3));
    vitc_graph_drop_mapped_pages(g); /* the second round reads them from the file again */
  }
  vitc_graph_free(g);

  md = new_model(17);
  add_init(md, tensor_raw("w0", 1, 1, (int64_t[]){64}, w[0], sizeof w[0]));
  add_input(md, value_info("x", 1, 1, D1));
  add_node(md, node("Identity", "id", "x", "y", NULL));
  add_output(md, "y");
  n = onnx__model_proto__get_packed_size(&md->m);
  uint8_t *buf = P(n + 2);
  onnx__model_proto__pack(&md->m, buf);
  buf[n] = 7 << 3 | 2; /* field 7 (graph) again, empty: merged into the first by protobuf */
  buf[n + 1] = 0;
  path = path_in_tmp("two_graphs.onnx");
  write_bytes(path, buf, n + 2);
  g = NULL;
  CHECK(vitc_load_onnx(path, NULL, &g, &err) == VITC_OK);
  if (!g) return;
  CHECK(g->mappings == NULL);
  CHECK(!memcmp(g->tensors[find(g, "w0")].v.data, w[0], sizeof w[0]));
  vitc_graph_free(g);
}

/* Where bytes first occur in md packed (its size when nowhere). */
static size_t packed_offset(model *md, const void *bytes, size_t len) {
  size_t n = onnx__model_proto__get_packed_size(&md->m), at = 0;
  uint8_t *buf = malloc(n);
  if (!buf) return n;
  onnx__model_proto__pack(&md->m, buf);
  while (at + len <= n && memcmp(buf + at, bytes, len)) at++;
  free(buf);
  return at + len <= n ? at : n;
}

/* Weights of a page or more stay in the mapped file even where protobuf put them at an offset unaligned
 * for their dtype, so that a model's weights get no second copy in anonymous memory. The passes that
 * rewrite weights (a BatchNormalization folded into a Conv, a depthwise Conv's taps made channels-last, a
 * Gemm's transposed B), the evaluator and the compiled kernels read them, and the compiled model (passes
 * on) agrees with the evaluator on the model as written (passes off). An unaligned int64 tensor is
 * copied: passes and probes walk indices as typed arrays. Under UBSan (make test-sanitize) a typed read of
 * the unaligned weights fails. */
static void test_weights_unaligned_in_place(void) {
  enum { C = 32, HW = 8, FLAT = C * HW * HW, OUT = 10, NBIG = 4 };
  static float conv_w[C * 4 * 9], dw_w[C * 49], fc_w[OUT * FLAT], bn[4][C], conv_b[C], fc_b[OUT], x[4 * HW * HW];
  static int64_t perm[FLAT];
  for (size_t i = 0; i < sizeof conv_w / 4; i++) conv_w[i] = (float)((int)(i * 37 % 101) - 50) / 200.0f;
  for (size_t i = 0; i < sizeof dw_w / 4; i++) dw_w[i] = (float)((int)(i * 53 % 97) - 48) / 150.0f;
  for (size_t i = 0; i < sizeof fc_w / 4; i++) fc_w[i] = (float)((int)(i * 29 % 89) - 44) / 900.0f;
  for (size_t i = 0; i < sizeof x / 4; i++) x[i] = (float)((int)(i * 13 % 31) - 15) / 10.0f;
  for (int c = 0; c < C; c++) {
    conv_b[c] = (float)(c % 5) * 0.1f - 0.2f;
    bn[0][c] = 1 + (float)(c % 3) * 0.25f; /* scale, B, mean, var */
    bn[1][c] = (float)(c % 7) * 0.05f;
    bn[2][c] = (float)(c % 4) * 0.1f - 0.15f;
    bn[3][c] = 0.5f + (float)(c % 6) * 0.2f;
  }
  for (int i = 0; i < OUT; i++) fc_b[i] = (float)i * 0.01f;
  for (int i = 0; i < FLAT; i++) perm[i] = (int64_t)i * 517 % FLAT; /* 517 is odd: a permutation */
  const struct {
    const char *name;
    int dtype, rank;
    int64_t dims[4];
    const void *data;
    size_t bytes;
  } big[NBIG] = {{"conv_w", 1, 4, {C, 4, 3, 3}, conv_w, sizeof conv_w},
                 {"dw_w", 1, 4, {C, 1, 7, 7}, dw_w, sizeof dw_w},
                 {"fc_w", 1, 2, {OUT, FLAT}, fc_w, sizeof fc_w},
                 {"perm", 7, 1, {FLAT}, perm, sizeof perm}};
  model *md = new_model(17);
  static const uint8_t pad_bytes[4] = {0};
  Onnx__TensorProto *pads[NBIG];
  for (int k = 0; k < NBIG; k++) { /* a uint8 tensor of 1-4 bytes ahead of each moves it off alignment */
    char name[8];
    snprintf(name, sizeof name, "pad%d", k);
    add_init(md, pads[k] = tensor_raw(name, 2, 1, (int64_t[]){1}, pad_bytes, sizeof pad_bytes));
    add_init(md, tensor_raw(big[k].name, big[k].dtype, big[k].rank, big[k].dims, big[k].data, big[k].bytes));
  }
  add_init(md, tensor_raw("conv_b", 1, 1, (int64_t[]){C}, conv_b, sizeof conv_b));
  add_init(md, tensor_raw("fc_b", 1, 1, (int64_t[]){OUT}, fc_b, sizeof fc_b));
  static const char *const bn_names[4] = {"bn_scale", "bn_b", "bn_mean", "bn_var"};
  for (int j = 0; j < 4; j++) add_init(md, tensor_raw(bn_names[j], 1, 1, (int64_t[]){C}, bn[j], sizeof bn[j]));
  add_input(md, value_info("x", 1, 4, (int64_t[]){1, 4, HW, HW}));
  add_node(md, node("Conv", "conv", "x,conv_w,conv_b", "c", attr_ints("pads", 4, (int64_t[]){1, 1, 1, 1}), NULL));
  add_node(md, node("BatchNormalization", "bn", "c,bn_scale,bn_b,bn_mean,bn_var", "b", NULL));
  add_node(md, node("Conv", "dw", "b,dw_w", "d", attr_int("group", C), attr_ints("pads", 4, (int64_t[]){3, 3, 3, 3}),
                    NULL));
  add_node(md, node("Flatten", "flat", "d", "f", attr_int("axis", 1), NULL));
  add_node(md, node("Gather", "perm", "f,perm", "p", attr_int("axis", 1), NULL));
  add_node(md, node("Gemm", "fc", "p,fc_w,fc_b", "y", attr_int("transB", 1), NULL));
  add_output(md, "y");
  for (int k = 0; k < NBIG; k++) /* in file order, once all else is in place: nodes come before initializers */
    for (size_t len = 1; len <= 4; len++) {
      pads[k]->dims[0] = (int64_t)len;
      pads[k]->raw_data.len = len;
      if (packed_offset(md, big[k].data, big[k].bytes) % 4) break;
    }
  const char *path = save(md, "unaligned.onnx");

  vitc_graph *g = NULL;
  vitc_error err = {0};
  CHECK(vitc_load_onnx(path, NULL, &g, &err) == VITC_OK);
  if (!g) return;
  for (int k = 0; k < NBIG; k++) {
    const vitc_value *v = &g->tensors[find(g, big[k].name)].v;
    CHECK(packed_offset(md, big[k].data, big[k].bytes) % 4 != 0);
    CHECK(!memcmp(v->data, big[k].data, big[k].bytes));
    CHECK(in_mapping(g, v->data) == (k < 3) && vitc_value_is_aligned(v) == (k == 3)); /* floats in place */
  }
  vitc_graph_free(g);

  vitc_options compiled = {.opt_level = VITC_OPT_DEFAULT, .nthreads = 1, .no_cache = 1},
               written = {.opt_level = VITC_OPT_REQUIRED, .nthreads = 1, .interpret = 1};
  float got[OUT] = {0}, want[OUT] = {0};
  const vitc_options *opts[2] = {&compiled, &written};
  float *outs[2] = {got, want};
  for (int r = 0; r < 2; r++) {
    vitc_model *m = NULL;
    vitc_context *ctx = NULL;
    const void *in[1] = {x};
    void *out[1] = {outs[r]};
    CHECK(vitc_model_load(path, opts[r], &m) == VITC_OK && vitc_context_new(m, &ctx) == VITC_OK &&
          vitc_run(ctx, in, out) == VITC_OK);
    vitc_context_free(ctx);
    vitc_model_free(m);
  }
  for (int i = 0; i < OUT; i++) CHECK_NEAR(got[i], want[i], 1e-4 * (1 + fabs(want[i])));
  CHECK(fabs(want[0]) + fabs(want[OUT - 1]) > 0.01); /* the weights reached the result */
}

int main(void) {
  pool = vitc_arena_new();
  snprintf(tmpdir, sizeof tmpdir, "%s", "/tmp/vitc_front_XXXXXX");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 1;
  }
  test_two_node_model();
  test_attribute_schema();
  test_binding_errors();
  test_normalise_opset11();
  test_typed_vs_raw();
  test_inline_weights_in_place();
  test_weights_unaligned_in_place();
  test_external_data();
  test_malformed_files();
  test_bad_tensors();
  test_unsupported_ops();
  test_structure_errors();
  test_constants();
  test_tensor_files();
  test_committed_graphs();
  /* Remove what the tests wrote. */
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd)) fprintf(stderr, "could not remove %s\n", tmpdir);
  vitc_arena_free(pool);
  CHECK_DONE();
}
