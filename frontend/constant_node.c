/* constant_node.c — ONNX Constant nodes become constant tensors, not nodes.
 *
 * Every later stage sees a known value as a tensor with data; a Constant node would only be a second
 * spelling of an initializer. */
#include <string.h>

#include "frontend_internal.h"

/* value_float(s) / value_int(s) as a float32 or int64 tensor of rank 0 or 1, data in the arena. */
static vitc_status list_value(fe_loader *ld, const Onnx__AttributeProto *ap, bool is_float, bool is_list,
                              vitc_value *v, vitc_error *err) {
  size_t n = !is_list ? 1 : is_float ? ap->n_floats : ap->n_ints;
  *v = (vitc_value){.dtype = is_float ? VITC_F32 : VITC_I64, .rank = is_list, .dims = {(int64_t)n}};
  if (!(v->data = vitc_arena_alloc(ld->g->arena, (n ? n : 1) * vitc_dtype_size(v->dtype))))
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  if (is_float) {
    if (is_list) memcpy(v->data, ap->floats, n * sizeof(float));
    else *(float *)v->data = ap->f;
  } else {
    if (is_list) memcpy(v->data, ap->ints, n * sizeof(int64_t));
    else *(int64_t *)v->data = ap->i;
  }
  return VITC_OK;
}

static vitc_status constant_value(fe_loader *ld, const Onnx__AttributeProto *ap, vitc_value *v, vitc_error *err) {
  const char *which = fe_str(ap->name);
  if (!strcmp(which, "value")) {
    if (!ap->t) return vitc_fail(err, VITC_ERR_INVALID, "attribute 'value' holds no tensor");
    return fe_load_tensor(ld, ap->t, "attribute 'value'", v, err);
  }
  if (!strcmp(which, "value_float")) return list_value(ld, ap, true, false, v, err);
  if (!strcmp(which, "value_floats")) return list_value(ld, ap, true, true, v, err);
  if (!strcmp(which, "value_int")) return list_value(ld, ap, false, false, v, err);
  if (!strcmp(which, "value_ints")) return list_value(ld, ap, false, true, v, err);
  return vitc_fail(err, VITC_ERR_UNSUPPORTED, "a Constant given by '%s' is not supported", which);
}

static vitc_status define_constant(fe_loader *ld, const Onnx__NodeProto *np, vitc_error *err) {
  if (np->n_output != 1 || !*fe_str(np->output[0]))
    return vitc_fail(err, VITC_ERR_INVALID, "a Constant has one named output; this one has %zu outputs", np->n_output);
  if (np->n_attribute != 1)
    return vitc_fail(err, VITC_ERR_INVALID, "a Constant has one value attribute; this one has %zu attributes",
                     np->n_attribute);
  vitc_value v;
  vitc_status st = constant_value(ld, np->attribute[0], &v, err);
  if (st) return st;
  const char *name = np->output[0];
  int id = fe_tensor_id(ld, name);
  if (id < 0) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  if (fe_tensor_defined(ld, id)) return vitc_fail(err, VITC_ERR_INVALID, "tensor '%s' is defined more than once", name);
  vitc_tensor *t = &ld->g->tensors[id];
  t->v = v;
  t->shape_known = true;
  return VITC_OK;
}

vitc_status fe_add_constant_node(fe_loader *ld, const Onnx__NodeProto *np, const char *node_name, vitc_error *err) {
  vitc_status st = define_constant(ld, np, err);
  if (st) vitc_error_prefix(err, "node '%s' (Constant)", node_name);
  return st;
}
