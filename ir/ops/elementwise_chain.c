/* elementwise_chain.c — vitc.ElementwiseChain: a connected group of float32 elementwise nodes as one node
 * (passes/fuse_elementwise_chains builds it), so that the group is one pass over memory:
 *
 *   inputs x0, x1, …  (each broadcast to the output's shape)
 *   step s = ops[s](a, b)     ops: the op names, comma-separated ("Sub,Mul,Add")
 *                             a, b = args[2s], args[2s+1]: k ≥ 0 input k, k < 0 step −k−1
 *                             (an op of one input, max_in 1 in ops.def, reads a alone: b = a)
 *   output = the last step
 *
 * Every step's result has the output's shape and dtype. The evaluator runs each step's own evaluator on
 * whole tensors, so the chain computes what the nodes it replaced computed. */
#include <stdlib.h>
#include <string.h>

#include "ops.h"

vitc_status vitc_chain_program(const vitc_node *n, vitc_op *ops, const int64_t **args, int *nsteps, vitc_error *err) {
  const char *names = vitc_attr_str(n, "ops", "");
  int nargs = 0;
  *args = vitc_attr_ints(n, "args", &nargs);
  *nsteps = 0;
  for (const char *s = names; *s; s += *s == ',') {
    char name[64];
    size_t len = strcspn(s, ",");
    snprintf(name, sizeof name, "%.*s", (int)len, s);
    s += len;
    if (*nsteps == VITC_CHAIN_MAX_STEPS)
      return vitc_fail(err, VITC_ERR_INVALID, "ElementwiseChain has more than %d ops", VITC_CHAIN_MAX_STEPS);
    vitc_op op;
    if ((!vitc_op_lookup("", name, &op) && !vitc_op_lookup("vitc", name, &op)) || !vitc_chain_op(op))
      return vitc_fail(err, VITC_ERR_INVALID, "ElementwiseChain op '%s' is not an elementwise op of one or two inputs",
                       name);
    ops[(*nsteps)++] = op;
  }
  if (*nsteps < 1 || nargs != 2 * *nsteps)
    return vitc_fail(err, VITC_ERR_INVALID, "ElementwiseChain needs ops and two args per op (%d ops, %d args)", *nsteps,
                     nargs);
  for (int a = 0; a < nargs; a++)
    if ((*args)[a] >= n->nin || -(*args)[a] - 1 >= a / 2)
      return vitc_fail(err, VITC_ERR_INVALID, "ElementwiseChain step %d reads operand %lld, neither an input nor an "
                       "earlier step", a / 2, (long long)(*args)[a]);
  return VITC_OK;
}

vitc_status shape_elementwise_chain(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                    vitc_error *err) {
  vitc_op ops[VITC_CHAIN_MAX_STEPS];
  const int64_t *args;
  int nsteps;
  vitc_status st = vitc_chain_program(n, ops, &args, &nsteps, err);
  if (st) return st;
  for (int k = 0; k < n->nin; k++)
    if (in[k]->dtype != VITC_F32)
      return vitc_fail(err, VITC_ERR_UNSUPPORTED, "ElementwiseChain input %d is %s: chains are float32", k,
                       vitc_dtype_name(in[k]->dtype));
  return shape_broadcast(n, in, out, err);
}

/* Operand a of a step: an input, or an earlier step's result. */
static const vitc_value *operand(int64_t a, const vitc_value *const *in, const vitc_value *steps) {
  return a >= 0 ? in[a] : &steps[-a - 1];
}

vitc_status eval_ElementwiseChain(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                  vitc_error *err) {
  vitc_op ops[VITC_CHAIN_MAX_STEPS];
  const int64_t *args;
  int nsteps, made = 0;
  vitc_status st = vitc_chain_program(n, ops, &args, &nsteps, err);
  vitc_value steps[VITC_CHAIN_MAX_STEPS];
  for (int s = 0; s < nsteps && !st; s++) {
    steps[s] = out[0];
    steps[s].data = s == nsteps - 1 ? out[0].data : malloc(vitc_nbytes(&out[0]));
    if (!steps[s].data) {
      st = vitc_fail(err, VITC_ERR_NOMEM, "ElementwiseChain: out of memory for step %d", s);
      break;
    }
    made = s + 1;
    vitc_node member = {.op = ops[s], .name = n->name, .opset = n->opset, .nin = vitc_ops[ops[s]].max_in, .nout = 1};
    const vitc_value *x[2] = {operand(args[2 * s], in, steps), operand(args[2 * s + 1], in, steps)};
    st = vitc_ops[member.op].eval(&member, x, &steps[s], err);
  }
  for (int s = 0; s < made && s < nsteps - 1; s++) free(steps[s].data);
  return st;
}

/* One operation per element for each step, as the nodes it replaced counted. */
double flops_elementwise_chain(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  vitc_op ops[VITC_CHAIN_MAX_STEPS];
  const int64_t *args;
  int nsteps;
  return vitc_chain_program(n, ops, &args, &nsteps, NULL) ? 0 : (double)nsteps * (double)vitc_numel(&out[0]);
}
