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

vitc_status vitc_chain_decode(const vitc_node *n, vitc_chain *c, vitc_error *err) {
  const char *names = vitc_attr_str(n, "ops", "");
  int nargs = 0;
  const int64_t *args = vitc_attr_ints(n, "args", &nargs);
  c->nin = n->nin;
  c->nsteps = 0;
  for (const char *s = names; *s; s += *s == ',') {
    char name[64];
    size_t len = strcspn(s, ",");
    snprintf(name, sizeof name, "%.*s", (int)len, s);
    s += len;
    if (c->nsteps == VITC_CHAIN_MAX_STEPS)
      return vitc_fail(err, VITC_ERR_INVALID, "ElementwiseChain has more than %d ops", VITC_CHAIN_MAX_STEPS);
    vitc_op op;
    if ((!vitc_op_lookup("", name, &op) && !vitc_op_lookup("vitc", name, &op)) || !vitc_chain_op(op))
      return vitc_fail(err, VITC_ERR_INVALID, "ElementwiseChain op '%s' is not an elementwise op of one or two inputs",
                       name);
    c->ops[c->nsteps++] = op;
  }
  if (c->nsteps < 1 || nargs != 2 * c->nsteps)
    return vitc_fail(err, VITC_ERR_INVALID, "ElementwiseChain needs ops and two args per op (%d ops, %d args)", c->nsteps,
                     nargs);
  for (int a = 0; a < nargs; a++) {
    if (args[a] >= n->nin || -args[a] - 1 >= a / 2)
      return vitc_fail(err, VITC_ERR_INVALID, "ElementwiseChain step %d reads operand %lld, neither an input nor an "
                       "earlier step", a / 2, (long long)args[a]);
    c->arg[a / 2][a % 2] = (int)(args[a] >= 0 ? args[a] : n->nin - args[a] - 1);
  }
  return VITC_OK;
}

vitc_status shape_elementwise_chain(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                    vitc_error *err) {
  vitc_chain c;
  vitc_status st = vitc_chain_decode(n, &c, err);
  if (st) return st;
  for (int k = 0; k < n->nin; k++)
    if (in[k]->dtype != VITC_F32)
      return vitc_fail(err, VITC_ERR_UNSUPPORTED, "ElementwiseChain input %d is %s: chains are float32", k,
                       vitc_dtype_name(in[k]->dtype));
  return shape_broadcast(n, in, out, err);
}

vitc_status eval_ElementwiseChain(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                  vitc_error *err) {
  vitc_chain c;
  vitc_status st = vitc_chain_decode(n, &c, err);
  int made = 0;
  vitc_value steps[VITC_CHAIN_MAX_STEPS];
  for (int s = 0; s < c.nsteps && !st; s++) {
    steps[s] = out[0];
    steps[s].data = s == c.nsteps - 1 ? out[0].data : malloc(vitc_nbytes(&out[0]));
    if (!steps[s].data) {
      st = vitc_fail(err, VITC_ERR_NOMEM, "ElementwiseChain: out of memory for step %d", s);
      break;
    }
    made = s + 1;
    vitc_node member = {.op = c.ops[s], .name = n->name, .opset = n->opset, .nin = vitc_ops[c.ops[s]].max_in, .nout = 1};
    const vitc_value *x[2];
    for (int j = 0; j < 2; j++) x[j] = c.arg[s][j] < c.nin ? in[c.arg[s][j]] : &steps[c.arg[s][j] - c.nin];
    st = vitc_ops[member.op].eval(&member, x, &steps[s], err);
  }
  for (int s = 0; s < made && s < c.nsteps - 1; s++) free(steps[s].data);
  return st;
}

/* One operation per element for each step, as the nodes it replaced counted. */
double flops_elementwise_chain(const vitc_node *n, const vitc_value *const *in, const vitc_value *out) {
  vitc_chain c;
  return vitc_chain_decode(n, &c, NULL) ? 0 : (double)c.nsteps * (double)vitc_numel(&out[0]);
}
