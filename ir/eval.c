/* eval.c — the reference evaluator: runs a graph node by node in portable C. It is the oracle for the
 * backend and the engine of constant folding, so it favours plainness over speed (the heavy kernels in
 * ir/ops/ are cache-blocked nonetheless). */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

/* Copies of a bf16 product's inputs first..1 rounded to bfloat16, in place of those inputs in `rounded`
 * (copy[k].data NULL for an input not copied). */
static vitc_status round_to_bf16(const vitc_value *const *in, int first, const vitc_value **rounded,
                                 vitc_value copy[2], vitc_error *err) {
  for (int k = first; k < 2; k++) {
    int64_t count = vitc_numel(in[k]);
    float *data = malloc(sizeof(float) * (size_t)(count ? count : 1));
    if (!data) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory rounding operands to bfloat16");
    const float *src = in[k]->data;
    for (int64_t e = 0; e < count; e++) data[e] = vitc_bf16_round(src[e]);
    copy[k] = *in[k];
    copy[k].data = data;
    rounded[k] = &copy[k];
  }
  return VITC_OK;
}

/* The shape rule, the outputs' memory and the evaluator; on failure the outputs are freed. */
static vitc_status eval_as_is(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
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
  if (st != VITC_OK)
    for (int k = 0; k < n->nout; k++) {
      free(out[k].data);
      out[k].data = NULL;
    }
  return st;
}

enum { PRODUCT_MAX_IN = 10 }; /* Attention's 10 inputs are the most a BF16 op takes */

/* n evaluated as a bf16 product (vitc_bf16_product): its weight rounded, and its input 0 too unless the op
 * makes its rows from it (BF16_ROWS: the op's evaluator rounds them, told by the attribute bf16 = 1); an op
 * multiplying activations (BF16_ACTS) gets every input as it is and rounds its operands itself. */
static vitc_status eval_bf16(const vitc_node *n, const vitc_value *const *in, vitc_value *out, vitc_error *err) {
  bool own_all = vitc_op_has(n->op, VITC_OPF_BF16_ACTS), own_rows = own_all || vitc_op_has(n->op, VITC_OPF_BF16_ROWS);
  const vitc_value *rounded[PRODUCT_MAX_IN];
  vitc_value copy[2] = {{0}};
  vitc_node marked = *n;
  vitc_attr *attrs = own_rows ? malloc(sizeof *attrs * (size_t)(n->nattr + 1)) : NULL;
  if (own_rows && !attrs) return vitc_fail(err, VITC_ERR_NOMEM, "out of memory rounding operands to bfloat16");
  if (own_rows) {
    if (n->nattr) memcpy(attrs, n->attrs, sizeof *attrs * (size_t)n->nattr);
    attrs[n->nattr] = (vitc_attr){.name = "bf16", .type = VITC_ATTR_INT, .i = 1};
    marked.attrs = attrs;
    marked.nattr = n->nattr + 1;
  }
  for (int k = 0; k < n->nin; k++) rounded[k] = in[k];
  vitc_status st = round_to_bf16(in, own_all ? 2 : own_rows ? 1 : 0, rounded, copy, err);
  if (!st) st = eval_as_is(&marked, rounded, out, err);
  free(copy[0].data);
  free(copy[1].data);
  free(attrs);
  return st;
}

static vitc_status eval_any(const vitc_graph *g, const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                            vitc_error *err) {
  return vitc_bf16_product(g, n) && n->nin <= PRODUCT_MAX_IN ? eval_bf16(n, in, out, err) : eval_as_is(n, in, out, err);
}

/* The op evaluators read typed arrays: an input read in place from the model file unaligned for its dtype
 * (ir.h) is copied for this node only. */
static vitc_status eval_aligned(const vitc_graph *g, const vitc_node *n, const vitc_value *const *in,
                                vitc_value *out, vitc_error *err) {
  bool all_aligned = true;
  for (int k = 0; k < n->nin; k++) all_aligned &= !in[k] || !in[k]->data || vitc_value_is_aligned(in[k]);
  if (all_aligned) return eval_any(g, n, in, out, err); /* nearly always: no copy, no allocation */
  vitc_value *copies = malloc(sizeof *copies * ((size_t)n->nin + 1));
  const vitc_value **aligned = malloc(sizeof *aligned * ((size_t)n->nin + 1));
  vitc_copy_buf buf = {0};
  vitc_status st = copies && aligned ? vitc_aligned_inputs(in, n->nin, copies, aligned, &buf, err)
                                     : vitc_fail(err, VITC_ERR_NOMEM, "out of memory");
  if (!st) st = eval_any(g, n, aligned, out, err);
  free(buf.data);
  free(copies);
  free(aligned);
  return st;
}

vitc_status vitc_eval_node(const vitc_graph *g, const vitc_node *n, const vitc_value *const *in,
                           vitc_value *out, vitc_error *err) {
  vitc_status st = eval_aligned(g, n, in, out, err);
  if (st != VITC_OK) vitc_node_error_prefix(g, n, err);
  return st;
}

/* What a graph's evaluation holds between nodes. */
typedef struct eval_state {
  vitc_value *vals;      /* runtime values of non-constant tensors */
  int *last_use;         /* per tensor: the last node reading it, -1 if none */
  bool *keep;            /* graph inputs and outputs are not freed early */
  const vitc_value **in; /* one node's inputs and outputs */
  vitc_value *out;
} eval_state;

/* Allocates the state and finds each tensor's last reader, so its value can be freed right after. */
static vitc_status eval_begin(const vitc_graph *g, const vitc_value *inputs, eval_state *s, vitc_error *err) {
  int nt = g->ntensors, max_in = 1, max_out = 1;
  s->vals = calloc((size_t)nt + 1, sizeof *s->vals);
  s->last_use = malloc(sizeof(int) * ((size_t)nt + 1));
  s->keep = calloc((size_t)nt + 1, sizeof *s->keep);
  if (!s->vals || !s->last_use || !s->keep) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory", g->path);
  for (int t = 0; t < nt; t++) s->last_use[t] = -1;
  for (int i = 0; i < g->nnodes; i++) {
    const vitc_node *n = &g->nodes[i];
    if (n->nin > max_in) max_in = n->nin;
    if (n->nout > max_out) max_out = n->nout;
    for (int j = 0; j < n->nin; j++)
      if (n->in[j] >= 0) s->last_use[n->in[j]] = i;
  }
  s->in = malloc(sizeof *s->in * (size_t)max_in);
  s->out = malloc(sizeof *s->out * (size_t)max_out);
  if (!s->in || !s->out) return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory", g->path);
  for (int k = 0; k < g->ninputs; k++) {
    s->vals[g->inputs[k]] = inputs[k];
    s->keep[g->inputs[k]] = true;
  }
  for (int k = 0; k < g->noutputs; k++) s->keep[g->outputs[k]] = true;
  return VITC_OK;
}

/* Evaluates node i, keeps its outputs and frees the inputs no later node reads. */
static vitc_status eval_step(const vitc_graph *g, int i, eval_state *s, vitc_error *err) {
  const vitc_node *n = &g->nodes[i];
  for (int j = 0; j < n->nin; j++) {
    int t = n->in[j];
    bool constant = t >= 0 && g->tensors[t].producer < 0 && g->tensors[t].v.data;
    const vitc_value *v = s->in[j] = t < 0 ? NULL : constant ? &g->tensors[t].v : &s->vals[t];
    if (v && !v->data && vitc_numel(v) > 0) {
      vitc_status st = vitc_fail(err, VITC_ERR_INVALID, "input '%s' has no value", g->tensors[t].name);
      vitc_node_error_prefix(g, n, err);
      return st;
    }
  }
  vitc_status st = vitc_eval_node(g, n, s->in, s->out, err);
  if (st != VITC_OK) return st;
  for (int k = 0; k < n->nout; k++) {
    if (n->out[k] >= 0 && !s->vals[n->out[k]].data) s->vals[n->out[k]] = s->out[k];
    else free(s->out[k].data); /* an unused optional output, or one produced twice by a bad graph */
  }
  for (int j = 0; j < n->nin; j++) {
    int t = n->in[j];
    if (t >= 0 && s->last_use[t] == i && !s->keep[t] && g->tensors[t].producer >= 0) {
      free(s->vals[t].data);
      s->vals[t].data = NULL;
    }
  }
  return VITC_OK;
}

/* Outputs get their own copy: one tensor may be several outputs, or a graph input or constant. */
static vitc_status copy_outputs(const vitc_graph *g, const eval_state *s, vitc_value *outputs, vitc_error *err) {
  for (int k = 0; k < g->noutputs; k++) {
    int t = g->outputs[k];
    const vitc_value *src = s->vals[t].data ? &s->vals[t] : g->tensors[t].v.data ? &g->tensors[t].v : NULL;
    if (!src)
      return vitc_fail(err, VITC_ERR_INVALID, "%s: output '%s' was not computed", g->path, g->tensors[t].name);
    size_t bytes = vitc_nbytes(src);
    outputs[k] = *src;
    if (!(outputs[k].data = malloc(bytes ? bytes : 1)))
      return vitc_fail(err, VITC_ERR_NOMEM, "%s: out of memory", g->path);
    memcpy(outputs[k].data, src->data, bytes);
  }
  return VITC_OK;
}

static void eval_end(const vitc_graph *g, eval_state *s) {
  for (int t = 0; s->vals && t < g->ntensors; t++) {
    bool is_input = false;
    for (int k = 0; k < g->ninputs; k++) is_input |= g->inputs[k] == t;
    if (!is_input) free(s->vals[t].data);
  }
  free(s->vals);
  free(s->last_use);
  free(s->keep);
  free(s->in);
  free(s->out);
}

vitc_status vitc_eval_graph(const vitc_graph *g, const vitc_value *inputs, vitc_value *outputs,
                            vitc_error *err) {
  eval_state s = {0};
  memset(outputs, 0, sizeof *outputs * (size_t)g->noutputs);
  vitc_status st = eval_begin(g, inputs, &s, err);
  for (int i = 0; i < g->nnodes && st == VITC_OK; i++) st = eval_step(g, i, &s, err);
  if (st == VITC_OK) st = copy_outputs(g, &s, outputs, err);
  if (st != VITC_OK)
    for (int k = 0; k < g->noutputs; k++) {
      free(outputs[k].data);
      outputs[k].data = NULL;
    }
  eval_end(g, &s);
  return st;
}
