/* optable.c — the op table built from ops.def, and lookup by name. */
#include <string.h>

#include "ops/ops.h"

/* The short flag names ops.def's last column uses. */
enum {
  ELEMWISE = VITC_OPF_ELEMWISE,
  ROWWISE = VITC_OPF_ROWWISE,
  PRODUCT = VITC_OPF_PRODUCT,
  MOVE = VITC_OPF_MOVE,
  MOVE_ALL = VITC_OPF_MOVE_ALL,
  MOVE_IN2 = VITC_OPF_MOVE_IN2,
  INDEXED = VITC_OPF_INDEXED,
  VIEW = VITC_OPF_VIEW,
  SHAPE_ONLY = VITC_OPF_SHAPE_ONLY,
  PER_SAMPLE = VITC_OPF_PER_SAMPLE,
  FLAT_ROWS = VITC_OPF_FLAT_ROWS,
  VECTORISED = VITC_OPF_VECTORISED,
  BF16 = VITC_OPF_BF16,
  BF16_ROWS = VITC_OPF_BF16_ROWS,
  BF16_ACTS = VITC_OPF_BF16_ACTS,
  AXES = VITC_OPF_AXES,
  BF16_CONV = VITC_OPF_BF16_CONV,
};

const vitc_op_info vitc_ops[VITC_OP_COUNT] = {
#define X(id, domain, name, min_in, max_in, min_out, max_out, shape_fn, eval_fn, flops_fn, emit_fn, flags) \
  [VITC_OP_##id] = {domain, name, min_in, max_in, min_out, max_out, shape_fn, eval_fn, flops_fn, flags},
#include "ops.def"
#undef X
};

bool vitc_op_lookup(const char *domain, const char *name, vitc_op *out) {
  if (!domain || !strcmp(domain, "ai.onnx")) domain = "";
  for (int i = 0; i < VITC_OP_COUNT; i++)
    if (!strcmp(vitc_ops[i].name, name) && !strcmp(vitc_ops[i].domain, domain)) {
      *out = (vitc_op)i;
      return true;
    }
  return false;
}
