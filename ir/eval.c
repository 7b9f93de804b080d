/* eval.c — the reference evaluator: runs a graph node by node in portable C. It is the oracle for the
 * backend and the engine of constant folding, so it favours plainness over speed (the heavy kernels in
 * ir/ops/ are cache-blocked nonetheless). */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

vitc_status vitc_eval_node(const vitc_graph *g, const vitc_node *n, const vitc_value *const *in,
                           vitc_value *out, vitc_error *err) {
  const vitc_op_info *info = &vitc_ops[n->op];
  memset(out, 0, sizeof(vitc_value) * (size_t)n->nout);
  vitc_status st = info->shape(n, in, out, err);
  for (int k = 0; st == VITC_OK && k < n->nout; k++) {
    int64_t count;
    if (!vitc_checked_numel(out[k].dims, out[k].rank, &count) || !vitc_dtype_size(out[k].dtype)) {
      st = vitc_fail(err, VITC_ERR_INVALID, "output %d has an invalid shape or dtype", k);
      break;
    }
    size_t bytes = (size_t)count * vitc_dtype_size(out[k].dtype);
    if (!(out[k].data = malloc(bytes ? bytes : 1))) st = vitc_fail(err, VITC_ERR_NOMEM, "out of memory for output %d", k);
  }
  if (st == VITC_OK) st = info->eval(n, in, out, err);
  if (st != VITC_OK) {
    for (int k = 0; k < n->nout; k++) {
      free(out[k].data);
      out[k].data = NULL;
    }
    vitc_node_error_prefix(g, n, err);
  }
  return st;
}

vitc_status vitc_eval_graph(const vitc_graph *g, const vitc_value *inputs, vitc_value *outputs,
                            vitc_error *err) {
  int nt = g->ntensors;
  vitc_value *vals = calloc((size_t)nt + 1, sizeof *vals); /* runtime values of non-constant tensors */
  int *last_use = malloc(sizeof(int) * ((size_t)nt + 1));
  bool *keep = calloc((size_t)nt + 1, sizeof *keep); /* graph inputs and outputs are not freed early */
  const vitc_value **in = NULL;
  vitc_value *out = NULL;
  vitc_status st = VITC_OK;
  memset(outputs, 0, sizeof *outputs * (size_t)g->noutputs);
  if (!vals || !last_use || !keep) {
    st = vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory", g->path);
    goto done;
  }
  int max_in = 1, max_out = 1;
  for (int t = 0; t < nt; t++) last_use[t] = -1;
  for (int i = 0; i < g->nnodes; i++) {
    const vitc_node *n = &g->nodes[i];
    if (n->nin > max_in) max_in = n->nin;
    if (n->nout > max_out) max_out = n->nout;
    for (int j = 0; j < n->nin; j++)
      if (n->in[j] >= 0) last_use[n->in[j]] = i;
  }
  in = malloc(sizeof *in * (size_t)max_in);
  out = malloc(sizeof *out * (size_t)max_out);
  if (!in || !out) {
    st = vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory", g->path);
    goto done;
  }
  for (int k = 0; k < g->ninputs; k++) {
    vals[g->inputs[k]] = inputs[k];
    keep[g->inputs[k]] = true;
  }
  for (int k = 0; k < g->noutputs; k++) keep[g->outputs[k]] = true;

  for (int i = 0; i < g->nnodes && st == VITC_OK; i++) {
    const vitc_node *n = &g->nodes[i];
    for (int j = 0; j < n->nin; j++) {
      int t = n->in[j];
      in[j] = t < 0 ? NULL : g->tensors[t].producer < 0 && g->tensors[t].v.data ? &g->tensors[t].v : &vals[t];
      if (in[j] && !in[j]->data && vitc_numel(in[j]) > 0) {
        st = vitc_fail(err, VITC_ERR_INVALID, "input '%s' has no value", g->tensors[t].name);
        vitc_node_error_prefix(g, n, err);
      }
    }
    if (st != VITC_OK) break;
    st = vitc_eval_node(g, n, in, out, err);
    if (st != VITC_OK) break;
    for (int k = 0; k < n->nout; k++) {
      if (n->out[k] >= 0 && !vals[n->out[k]].data) vals[n->out[k]] = out[k];
      else free(out[k].data); /* an unused optional output, or one produced twice by a bad graph */
    }
    for (int j = 0; j < n->nin; j++) {
      int t = n->in[j];
      if (t >= 0 && last_use[t] == i && !keep[t] && g->tensors[t].producer >= 0) {
        free(vals[t].data);
        vals[t].data = NULL;
      }
    }
  }
  for (int k = 0; k < g->noutputs && st == VITC_OK; k++) {
    int t = g->outputs[k];
    const vitc_value *src = vals[t].data ? &vals[t] : g->tensors[t].v.data ? &g->tensors[t].v : NULL;
    if (!src) {
      st = vitc_fail(err, VITC_ERR_INVALID, "%s: output '%s' was not computed", g->path, g->tensors[t].name);
      break;
    }
    /* Outputs get their own copy: one tensor may be several outputs, or a graph input or constant. */
    size_t bytes = vitc_nbytes(src);
    outputs[k] = *src;
    if (!(outputs[k].data = malloc(bytes ? bytes : 1))) {
      st = vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory", g->path);
      break;
    }
    memcpy(outputs[k].data, src->data, bytes);
  }
  if (st != VITC_OK)
    for (int k = 0; k < g->noutputs; k++) {
      free(outputs[k].data);
      outputs[k].data = NULL;
    }
done:
  if (vals) {
    for (int t = 0; t < nt; t++) {
      bool is_input = false;
      for (int k = 0; k < g->ninputs; k++) is_input |= g->inputs[k] == t;
      if (!is_input) free(vals[t].data);
    }
  }
  free(vals);
  free(last_use);
  free(keep);
  free(in);
  free(out);
  return st;
}
