/* graph_inputs.c — graph inputs with static shapes.
 *
 * Exported models leave some input dims symbolic ("batch", "height") or missing. A shape binding names
 * an input and gives its whole shape; it must agree with every static dim the model declares. Dims still
 * unknown after that become 1 (batch 1). The symbolic names are kept in vitc_tensor.dim_param. */
#include <string.h>

#include "frontend_internal.h"

static size_t binding_name_len(const vitc_shape_binding *b) {
  return b->input_len > 0 ? (size_t)b->input_len : strlen(b->input);
}

static bool binding_names(const vitc_shape_binding *b, const char *name) {
  size_t n = binding_name_len(b);
  return strlen(name) == n && !strncmp(b->input, name, n);
}

/* "[N,3,224,224]" with symbolic dims by name and missing ones as '?'. */
static const char *declared_shape_str(const Onnx__TensorShapeProto *sp, char *buf, size_t n) {
  size_t k = (size_t)snprintf(buf, n, "[");
  for (size_t i = 0; i < sp->n_dim && k < n; i++) {
    const Onnx__TensorShapeProto__Dimension *d = sp->dim[i];
    const char *sep = i ? "," : "";
    if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
      k += (size_t)snprintf(buf + k, n - k, "%s%lld", sep, (long long)d->dim_value);
    else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
      k += (size_t)snprintf(buf + k, n - k, "%s%s", sep, fe_str(d->dim_param));
    else
      k += (size_t)snprintf(buf + k, n - k, "%s?", sep);
  }
  if (k < n) snprintf(buf + k, n - k, "]");
  return buf;
}

static const char *binding_shape_str(const vitc_shape_binding *b, char *buf, size_t n) {
  vitc_value v = {.dtype = VITC_F32, .rank = b->rank};
  memcpy(v.dims, b->dims, sizeof v.dims);
  vitc_value_type_str(&v, buf, n);
  return buf + 3; /* drop "f32" */
}

/* A dim the model fixes; exporters write -1 or leave the field empty for "unknown". */
static bool dim_is_static(const Onnx__TensorShapeProto__Dimension *d) {
  return d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && d->dim_value >= 0;
}

static vitc_status bind_shape(fe_loader *ld, const Onnx__ValueInfoProto *vi, const Onnx__TensorShapeProto *sp,
                              const vitc_shape_binding *b, vitc_tensor *t, vitc_error *err) {
  const char *name = fe_str(vi->name);
  char declared[512], given[512];
  if (!sp && !b)
    return vitc_fail(err, VITC_ERR_INVALID, "graph input '%s' has no shape in the model; give one with a shape binding",
                     name);
  if (sp && sp->n_dim > VITC_MAX_RANK)
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "graph input '%s' has rank %zu; vitc supports rank up to %d", name,
                     sp->n_dim, VITC_MAX_RANK);
  if (sp && b) {
    bool agree = (size_t)b->rank == sp->n_dim;
    for (int i = 0; agree && i < b->rank; i++)
      agree = !dim_is_static(sp->dim[i]) || sp->dim[i]->dim_value == b->dims[i];
    if (!agree)
      return vitc_fail(err, VITC_ERR_INVALID, "shape binding %s for graph input '%s' does not match its declared shape %s",
                       binding_shape_str(b, given, sizeof given), name, declared_shape_str(sp, declared, sizeof declared));
  }
  t->v.rank = b ? b->rank : (int)sp->n_dim;
  for (int i = 0; i < t->v.rank; i++) {
    const Onnx__TensorShapeProto__Dimension *d = sp ? sp->dim[i] : NULL;
    t->v.dims[i] = b ? b->dims[i] : dim_is_static(d) ? d->dim_value : 1;
    if (d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
        !(t->dim_param[i] = vitc_arena_strdup(ld->g->arena, fe_str(d->dim_param))))
      return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  }
  int64_t numel;
  if (!vitc_checked_numel(t->v.dims, t->v.rank, &numel)) {
    char ty[160];
    return vitc_fail(err, VITC_ERR_INVALID, "graph input '%s' has shape %s: a dim is negative or the element count overflows",
                     name, vitc_value_type_str(&t->v, ty, sizeof ty));
  }
  t->shape_known = true;
  return VITC_OK;
}

static vitc_status add_input(fe_loader *ld, const Onnx__ValueInfoProto *vi, const vitc_shape_binding *b,
                             vitc_error *err) {
  const char *name = fe_str(vi->name);
  const Onnx__TypeProto *tp = vi->type;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "graph input '%s' is not a tensor", name);
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  int32_t code = tt->has_elem_type ? tt->elem_type : 0;
  char dt[48];
  if (!vitc_dtype_size((vitc_dtype)code))
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "graph input '%s' has data type %s, which vitc does not support", name,
                     fe_dtype_label(code, dt, sizeof dt));
  if (fe_find_tensor(ld, name) >= 0)
    return vitc_fail(err, VITC_ERR_INVALID, "graph input '%s' is declared twice", name);
  int id = fe_tensor_id(ld, name);
  if (id < 0) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  vitc_tensor *t = &ld->g->tensors[id];
  t->v.dtype = (vitc_dtype)code;
  vitc_status st = bind_shape(ld, vi, tt->shape, b, t, err);
  if (st) return st;
  ld->g->inputs[ld->g->ninputs++] = id;
  return VITC_OK;
}

static const vitc_shape_binding *find_binding(const vitc_load_options *opts, const char *name) {
  for (int k = 0; opts && k < opts->nbindings; k++)
    if (binding_names(&opts->bindings[k], name)) return &opts->bindings[k];
  return NULL;
}

vitc_status fe_add_graph_inputs(fe_loader *ld, const vitc_load_options *opts, vitc_error *err) {
  const Onnx__GraphProto *gp = ld->model->graph;
  vitc_graph *g = ld->g;
  if (!(g->inputs = vitc_arena_alloc(g->arena, sizeof(int) * (gp->n_input + 1))))
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < gp->n_input; i++) {
    const char *name = fe_str(gp->input[i]->name);
    int id = fe_find_tensor(ld, name);
    /* An input with an initializer is a constant: IR < 4 lists every initializer as an input. */
    if (id >= 0 && g->tensors[id].v.data) continue;
    vitc_status st = add_input(ld, gp->input[i], find_binding(opts, name), err);
    if (st) return st;
  }
  for (int k = 0; opts && k < opts->nbindings; k++) {
    const vitc_shape_binding *b = &opts->bindings[k];
    bool found = false;
    for (int i = 0; i < g->ninputs && !found; i++) found = binding_names(b, g->tensors[g->inputs[i]].name);
    if (!found)
      return vitc_fail(err, VITC_ERR_INVALID, "shape binding names '%.*s', which is not a graph input",
                       (int)binding_name_len(b), b->input);
  }
  return VITC_OK;
}
