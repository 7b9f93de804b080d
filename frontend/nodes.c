/* nodes.c — NodeProto to vitc_node: the op through the op table, tensor ids by name, attributes, the
 * newest opset form, and arity against the op table. */
#include <stdlib.h>
#include <string.h>

#include "frontend_internal.h"

static bool is_default_domain(const char *domain) { return !*domain || !strcmp(domain, "ai.onnx"); }

static bool same_domain(const char *a, const char *b) {
  return is_default_domain(a) ? is_default_domain(b) : !strcmp(a, b);
}

/* The model's opset import of a domain, 0 when it imports none. */
static int domain_opset(const fe_loader *ld, const char *domain) {
  for (size_t i = 0; i < ld->model->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *imp = ld->model->opset_import[i];
    if (same_domain(fe_str(imp->domain), domain)) return (int)imp->version;
  }
  return 0;
}

static bool is_model_function(const fe_loader *ld, const char *domain, const char *op_type) {
  for (size_t i = 0; i < ld->model->n_functions; i++) {
    const Onnx__FunctionProto *f = ld->model->functions[i];
    if (!strcmp(fe_str(f->name), op_type) && same_domain(fe_str(f->domain), domain)) return true;
  }
  return false;
}

/* Ids of a node's tensors: "" is an absent optional (-1); outputs must not be defined yet. */
static vitc_status bind_tensors(fe_loader *ld, const Onnx__NodeProto *np, fe_node *nd, vitc_error *err) {
  for (size_t i = 0; i < np->n_input; i++) {
    const char *name = fe_str(np->input[i]);
    int id = *name ? fe_tensor_id(ld, name) : -1;
    if (*name && id < 0) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
    nd->in[nd->nin++] = id;
  }
  for (size_t i = 0; i < np->n_output; i++) {
    const char *name = fe_str(np->output[i]);
    int id = *name ? fe_tensor_id(ld, name) : -1;
    if (*name && id < 0) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
    if (id >= 0 && fe_tensor_defined(ld, id))
      return vitc_fail(err, VITC_ERR_INVALID, "output '%s' is already defined by a node, an initializer or an input",
                       name);
    nd->out[nd->nout++] = id;
  }
  /* Unused trailing outputs (Dropout's mask, LayerNormalization's statistics) are simply not there. */
  while (nd->nout > 0 && nd->out[nd->nout - 1] < 0) nd->nout--;
  return VITC_OK;
}

static vitc_status check_arity(const fe_node *nd, vitc_error *err) {
  const vitc_op_info *info = &vitc_ops[nd->op];
  if (nd->nin < info->min_in || nd->nin > info->max_in)
    return vitc_fail(err, VITC_ERR_INVALID, "has %d inputs; %s takes %d to %d", nd->nin, info->name, info->min_in,
                     info->max_in);
  if (nd->nout < info->min_out || nd->nout > info->max_out)
    return vitc_fail(err, VITC_ERR_INVALID, "has %d outputs; %s gives %d to %d", nd->nout, info->name,
                     info->min_out, info->max_out);
  return VITC_OK;
}

static vitc_status build_node(fe_loader *ld, const Onnx__NodeProto *np, fe_node *nd, vitc_error *err) {
  vitc_status st = VITC_OK;
  for (size_t i = 0; i < np->n_attribute && !st; i++) st = fe_convert_attr(ld, np->attribute[i], &nd->attrs[nd->nattr++], err);
  if (!st && is_default_domain(fe_str(np->domain)))
    st = fe_check_attributes(fe_str(np->op_type), ld->opset, nd->attrs, nd->nattr, err);
  if (st || (st = bind_tensors(ld, np, nd, err)) || (st = fe_normalize_versioned(ld, nd, err)) ||
      (st = check_arity(nd, err)))
    return st;
  if (vitc_graph_add_node(ld->g, nd->op, nd->name, nd->in, nd->nin, nd->out, nd->nout, nd->attrs, nd->nattr) < 0)
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  return VITC_OK;
}

vitc_status fe_add_node(fe_loader *ld, const Onnx__NodeProto *np, vitc_error *err) {
  const char *op_type = fe_str(np->op_type), *domain = fe_str(np->domain);
  /* The name vitc_graph_add_node gives an unnamed node, so messages and dumps agree. */
  char name[512];
  if (*fe_str(np->name)) snprintf(name, sizeof name, "%s", np->name);
  else snprintf(name, sizeof name, "%s_%d", op_type, ld->g->nnodes);

  bool function = is_model_function(ld, domain, op_type);
  if (!function && is_default_domain(domain) && !strcmp(op_type, "Constant"))
    return fe_add_constant_node(ld, np, name, err);
  fe_node nd = {.name = name};
  if (function || !vitc_op_lookup(domain, op_type, &nd.op))
    return vitc_fail(err, VITC_ERR_UNSUPPORTED, "node '%s' (%s, domain '%s', opset %d): unsupported op%s", name,
                     op_type, domain, domain_opset(ld, domain), function ? " (a model-local function)" : "");
  nd.in = malloc(sizeof(int) * (np->n_input + 2));
  nd.out = malloc(sizeof(int) * (np->n_output + 1));
  nd.attrs = malloc(sizeof(vitc_attr) * (np->n_attribute + 1));
  vitc_status st = nd.in && nd.out && nd.attrs ? build_node(ld, np, &nd, err)
                                               : vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  if (st) vitc_error_prefix(err, "node '%s' (%s)", name, op_type);
  free(nd.in);
  free(nd.out);
  free(nd.attrs);
  return st;
}
