/* emitters.h — declarations of the op emitters that ops.def names (its emitter column), taken from the
 * table itself. Internal to backend/. An emitter generates the body of the current node's function
 * (cg.h). */
#ifndef VITC_EMITTERS_H
#define VITC_EMITTERS_H

#include "cg.h"

/* One declaration per row; rows sharing an emitter (emit_movement) redeclare it, and emit_none, the name
 * of rows without one, is declared but never defined (codegen.c's table maps it to NULL). */
#define X(id, domain, name, min_in, max_in, min_out, max_out, shape_fn, eval_fn, flops_fn, emit_fn, flags) \
  vitc_status emit_fn(vitc_cg *cg, const vitc_node *n, vitc_error *err);
#include "ir/ops.def"
#undef X

/* Gathers and scatters whose indices are known only at run time, and reducing scatters: emit_movement
 * hands them to emit_gather.c. */
vitc_status emit_indexed(vitc_cg *cg, const vitc_node *n, vitc_error *err);

#endif
