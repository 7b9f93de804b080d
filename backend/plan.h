/* plan.h — scratch memory planning (plan_memory.c). Internal to backend/. */
#ifndef VITC_PLAN_H
#define VITC_PLAN_H

#include "ir/ir.h"

/* True for tensors that live in scratch: produced by a node and not a graph output. */
bool vitc_is_scratch_tensor(const vitc_graph *g, int t);
/* Node i is a view when it only reinterprets its input's bytes under another shape (a VIEW op in
 * ir/ops.def: Reshape, Flatten, Squeeze, Unsqueeze, Identity) and both its input and its output are scratch tensors: the output then
 * shares the input's memory and the node runs no kernel. Returns the input tensor, or -1 when node i
 * must copy: its input is a graph input or a constant (the caller's or the weights' memory) or a graph
 * output, its output a graph output (the caller's buffer), or its result is known at compile time. */
int vitc_view_base(const vitc_graph *g, int i);
/* Places the scratch tensors and the nodes' work spaces (node_scratch[i] bytes, 0 for none, live during
 * node i only) in one arena: tensor_offset[ntensors] receives each scratch tensor's offset (0 for the
 * others; a view's is its base's, and the base lives until the last read of any view of it, through
 * chains of views), node_offset[nnodes] each node's work space, *total the arena size. */
vitc_status vitc_plan_memory(const vitc_graph *g, const size_t *node_scratch, size_t *tensor_offset,
                             size_t *node_offset, size_t *total, vitc_error *err);

#endif
