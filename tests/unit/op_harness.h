/* op_harness.h — runs one op of the table on values built in a test, through vitc_eval_node (shape rule,
 * then evaluator), as the graph evaluator does: the one run_op of the op unit tests. */
#ifndef VITC_TEST_OP_HARNESS_H
#define VITC_TEST_OP_HARNESS_H

#include <stdlib.h>

#include "ir/ir.h"

static inline vitc_attr attr_int(const char *name, int64_t v) {
  return (vitc_attr){.name = name, .type = VITC_ATTR_INT, .i = v};
}
static inline vitc_attr attr_float(const char *name, double v) {
  return (vitc_attr){.name = name, .type = VITC_ATTR_FLOAT, .f = v};
}
static inline vitc_attr attr_str(const char *name, const char *v) {
  return (vitc_attr){.name = name, .type = VITC_ATTR_STRING, .s = v};
}
static inline vitc_attr attr_ints(const char *name, int n, const int64_t *v) {
  return (vitc_attr){.name = name, .type = VITC_ATTR_INTS, .n = n, .ints = (int64_t *)v};
}

/* A value over caller-owned data: F32(data, 2, 3) is a float32 [2, 3]; F32(data) a scalar. */
static inline vitc_value value(vitc_dtype t, void *data, int rank, const int64_t *dims) {
  vitc_value v = {.dtype = t, .rank = rank, .data = data};
  for (int d = 0; d < rank; d++) v.dims[d] = dims[d];
  return v;
}
#define VALUE(t, data, ...) \
  value(t, data, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})
#define F32(data, ...) VALUE(VITC_F32, data, __VA_ARGS__)
#define I64(data, ...) VALUE(VITC_I64, data, __VA_ARGS__)

/* Runs op at opset on in[0..nin) (NULL for an absent optional input) into out[0..nout); on success
 * the caller frees out[k].data with free_outputs. The error message goes to err. */
static inline vitc_status run_op(vitc_op op, int opset, const vitc_value *const *in, int nin, vitc_value *out, int nout,
                                 const vitc_attr *attrs, int nattr, vitc_error *err) {
  static vitc_graph *g;
  if (!g) g = vitc_graph_new("test.onnx");
  int in_ids[64], out_ids[64];
  for (int i = 0; i < nin; i++) in_ids[i] = in[i] ? i : -1;
  for (int k = 0; k < nout; k++) out_ids[k] = nin + k;
  vitc_node n = {.op = op, .name = "n", .opset = opset, .nin = nin, .nout = nout, .in = in_ids, .out = out_ids,
                 .nattr = nattr, .attrs = (vitc_attr *)attrs};
  err->msg[0] = 0;
  return vitc_eval_node(g, &n, in, out, err);
}

static inline void free_outputs(vitc_value *out, int nout) {
  for (int k = 0; k < nout; k++) {
    free(out[k].data);
    out[k].data = NULL;
  }
}

#endif
