/* plan.h — scratch memory planning (plan_memory.c). Internal to backend/. */
#ifndef VITC_PLAN_H
#define VITC_PLAN_H

#include "ir/ir.h"

/* True for tensors that live in scratch: produced by a node and not a graph output. */
bool vitc_is_scratch_tensor(const vitc_graph *g, int t);
/* Places the scratch tensors and the nodes' work spaces (node_scratch[i] bytes, 0 for none, live during
 * node i only) in one arena: tensor_offset[ntensors] receives each scratch tensor's offset (0 for the
 * others), node_offset[nnodes] each node's work space, *total the arena size. */
vitc_status vitc_plan_memory(const vitc_graph *g, const size_t *node_scratch, size_t *tensor_offset,
                             size_t *node_offset, size_t *total, vitc_error *err);

#endif
