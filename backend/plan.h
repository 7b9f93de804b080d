/* plan.h — scratch memory planning (plan_memory.c). Internal to backend/. */
#ifndef VITC_PLAN_H
#define VITC_PLAN_H

#include "ir/ir.h"

/* True for tensors that live in scratch: produced by a node and not a graph output. */
bool vitc_is_scratch_tensor(const vitc_graph *g, int t);
/* offsets[ntensors] receives each scratch tensor's offset; *total the arena size. */
vitc_status vitc_plan_memory(const vitc_graph *g, size_t *offsets, size_t *total, vitc_error *err);

#endif
