/* normalize_opset.c — older opsets' forms of an op rewritten to the newest ONNX form.
 *
 * Over opsets 11–21 several ops moved an attribute into an input. The op table has one shape rule and
 * one evaluator per op, reading the newest form; this is the one place that knows which version changed
 * what. Each rule turns the attribute into a constant at the input's position:
 *
 *   Squeeze(x) {axes=[0]}   opset 11   ──▶   Squeeze(x, axes_const)   axes_const = int64 [0]
 */
#include <string.h>

#include "frontend_internal.h"

typedef struct versioned_form {
  vitc_op op;
  int changed_in; /* first opset taking the input; older opsets use the attribute */
  const char *attr;
  int input;
} versioned_form;

static const versioned_form forms[] = {
    {VITC_OP_Squeeze, 13, "axes", 1},        {VITC_OP_Unsqueeze, 13, "axes", 1},
    {VITC_OP_Split, 13, "split", 1},         {VITC_OP_ReduceSum, 13, "axes", 1},
    {VITC_OP_ReduceMean, 18, "axes", 1},     {VITC_OP_ReduceMax, 18, "axes", 1},
    {VITC_OP_ReduceMin, 18, "axes", 1},      {VITC_OP_ReduceProd, 18, "axes", 1},
    {VITC_OP_ReduceL1, 18, "axes", 1},       {VITC_OP_ReduceL2, 18, "axes", 1},
    {VITC_OP_ReduceSumSquare, 18, "axes", 1}, {VITC_OP_ReduceLogSum, 18, "axes", 1},
    {VITC_OP_ReduceLogSumExp, 18, "axes", 1}, {VITC_OP_Dropout, 12, "ratio", 1},
};

/* The attribute's value as a constant tensor: ints as a 1-D int64, a float as a float32 scalar. */
static vitc_status attr_constant(fe_loader *ld, const fe_node *nd, const vitc_attr *a, int *id,
                                 vitc_error *err) {
  vitc_value v = {0};
  float f;
  if (a->type == VITC_ATTR_INTS) {
    v = (vitc_value){.dtype = VITC_I64, .rank = 1, .dims = {a->n}, .data = a->ints};
  } else if (a->type == VITC_ATTR_FLOAT) {
    f = (float)a->f;
    v = (vitc_value){.dtype = VITC_F32, .rank = 0, .data = &f};
  } else {
    return vitc_fail(err, VITC_ERR_INVALID, "attribute '%s' has the wrong type", a->name);
  }
  char hint[512];
  snprintf(hint, sizeof hint, "%s_%s", nd->name, a->name);
  if ((*id = fe_fresh_tensor(ld, hint)) < 0) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  vitc_tensor *t = &ld->g->tensors[*id];
  size_t bytes = vitc_nbytes(&v);
  t->v = v;
  t->shape_known = true;
  if (!(t->v.data = vitc_arena_alloc(ld->g->arena, bytes ? bytes : 1)))
    return vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  if (bytes) memcpy(t->v.data, v.data, bytes);
  return VITC_OK;
}

vitc_status fe_normalize_versioned(fe_loader *ld, fe_node *nd, vitc_error *err) {
  for (size_t r = 0; r < sizeof forms / sizeof *forms; r++) {
    const versioned_form *form = &forms[r];
    if (form->op != nd->op || ld->opset >= form->changed_in) continue;
    int k = 0;
    while (k < nd->nattr && strcmp(nd->attrs[k].name, form->attr)) k++;
    if (k == nd->nattr) return VITC_OK; /* absent attribute: absent input, same meaning */
    if (form->input < nd->nin && nd->in[form->input] >= 0)
      return vitc_fail(err, VITC_ERR_INVALID, "opset %d takes '%s' as an attribute, but input %d is given too",
                       ld->opset, form->attr, form->input);
    int id;
    vitc_status st = attr_constant(ld, nd, &nd->attrs[k], &id, err);
    if (st) return st;
    while (nd->nin <= form->input) nd->in[nd->nin++] = -1;
    nd->in[form->input] = id;
    nd->attrs[k] = nd->attrs[--nd->nattr];
    return VITC_OK;
  }
  return VITC_OK;
}
