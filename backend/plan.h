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
/* Runs of row-wise nodes that NAME_run takes a group of rows at a time (row_groups.c; a run whose widest
 * tensor has more than whole_bytes, 0 for the default: vitc_target_options.row_group_bytes): node i runs in
 * the run of nodes [first[i], last[i]], cut into groups[i] groups of rows (1, and [i, i]: it runs whole);
 * one_group[t]: tensor t is made and read only inside its run, so it holds one group's rows, the same
 * for every group (its first bytes / groups). */
typedef struct vitc_row_groups {
  int *first, *last;
  int64_t *groups;
  bool *one_group;
} vitc_row_groups;
vitc_status vitc_plan_row_groups(const vitc_graph *g, size_t whole_bytes, vitc_row_groups *rg, vitc_error *err);
void vitc_row_groups_free(vitc_row_groups *rg);
/* Tensor t holds a constant (no producer, data): its whole value serves every group of rows. */
bool vitc_tensor_is_constant(const vitc_graph *g, int t);

/* Places the scratch tensors and the nodes' work spaces (node_scratch[i] bytes, 0 for none, live during
 * node i only) in one arena: tensor_offset[ntensors] receives each scratch tensor's offset (0 for the
 * others; a view's is its base's, and the base lives until the last read of any view of it, through
 * chains of views), node_offset[nnodes] each node's work space, *total the arena size. With row groups
 * (rg, or NULL) a node runs from its run's first node to its last, so what it reads and writes and its
 * work space live across the whole run; a one-group tensor takes one group's bytes. */
vitc_status vitc_plan_memory(const vitc_graph *g, const size_t *node_scratch, const vitc_row_groups *rg,
                             size_t *tensor_offset, size_t *node_offset, size_t *total, vitc_error *err);

#endif
