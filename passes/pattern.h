/* pattern.h — what the passes that rewrite matched subgraphs share: the driver that visits every node,
 * walking from a node up to the producers of its inputs, recognising known constants, and replacing a
 * matched subgraph by one node. Internal to passes/.
 *
 * A rewrite keeps the tensor the matched subgraph computed: the new node writes it, so its uses and a
 * graph output naming it are untouched. Inner tensors of a match must be read only inside it, which the
 * use counts taken when the pass starts decide. */
#ifndef VITC_PASSES_PATTERN_H
#define VITC_PASSES_PATTERN_H

#include "passes/passes.h"

/* Relative tolerance for the constants a pattern expects (0.5, √2, 0.044715, ...). */
#define VITC_PATTERN_RTOL 1e-4

typedef struct vitc_rewriter {
  vitc_graph *g;
  int *uses;    /* node inputs and graph outputs reading each tensor, counted when the pass started */
  int counted;  /* tensors those counts cover: constants a rewrite adds come after them */
  bool changed; /* some subgraph was replaced: the graph needs compacting and sorting */
} vitc_rewriter;

vitc_status vitc_rewriter_begin(vitc_rewriter *rw, vitc_graph *g, const char *pass, vitc_error *err);
/* Frees the counts; when something changed, drops dead nodes and restores topological order (a new node
 * is appended after every node, and may be read by nodes before it). */
vitc_status vitc_rewriter_end(vitc_rewriter *rw, vitc_error *err);

/* A pass's turn at live node i: rewrites it (through rw) when its pattern matches there. Node pointers
 * into the graph are invalid after a rewrite, hence the index. */
typedef vitc_status (*vitc_node_visitor)(vitc_rewriter *rw, int i, void *ctx, vitc_error *err);
/* Visits each node that existed when the sweep began and is still live, first to last or (backwards,
 * for patterns recognised from their last node, which must be seen before the nodes it ends) last to
 * first; stops at the first error. */
vitc_status vitc_rewriter_sweep(vitc_rewriter *rw, bool backwards, vitc_node_visitor visit, void *ctx,
                                vitc_error *err);
/* A pass that is one sweep: vitc_rewriter_begin, vitc_rewriter_sweep, vitc_rewriter_end. */
vitc_status vitc_rewrite_each_node(vitc_graph *g, const char *pass, bool backwards, vitc_node_visitor visit,
                                   void *ctx, vitc_error *err);

/* reader[t] = the last live node reading tensor t, -1 for none: malloc'd (the caller frees it), NULL when
 * out of memory. Tells a pass whether a tensor has one reader and which. */
int *vitc_last_readers(const vitc_graph *g);

/* The live node that computes t with op `op`, or NULL (also for t < 0). */
vitc_node *vitc_match_op(const vitc_rewriter *rw, int t, vitc_op op);
/* As vitc_match_op, when t is also read exactly `uses` times: an inner tensor of a match. */
vitc_node *vitc_match_inner(const vitc_rewriter *rw, int t, vitc_op op, int uses);
/* t = DequantizeLinear(QuantizeLinear(%x, s, z), s, z): a float32 %x rounded to one per-tensor grid, s a known
 * float32 scalar and z a known int8 or uint8 scalar, equal in both nodes; with uses > 0 the Quantize's output
 * and t are inner tensors read `uses` times (0: any readers). *x, *s, *z receive %x and the Quantize's s, z;
 * nodes (NULL or room for two) the Dequantize and the Quantize. */
bool vitc_match_fake_quant(const vitc_rewriter *rw, int t, int uses, int *x, int *s, int *z, vitc_node **nodes);
/* The input of binary node n other than t (n->in[0] when both are t), or -1 if t is not an input. */
int vitc_match_other(const vitc_node *n, int t);
/* Whether t holds a known single floating-point value; *out receives it. */
bool vitc_match_scalar_value(const vitc_graph *g, int t, double *out);
/* Whether t holds a known single floating-point value within VITC_PATTERN_RTOL of want. */
bool vitc_match_scalar(const vitc_graph *g, int t, double want);
/* Whether t is a known value (a constant after fold_constants). */
bool vitc_match_known(const vitc_graph *g, int t);
/* The tensor a chain of movement-only nodes ending at t starts from: up through the first moved input
 * (not a known value) of each producer that only moves elements; t itself when its producer computes. */
int vitc_match_movement_source(const vitc_graph *g, int t);
/* One step of that walk: the first moved input (not a known value) of t's producer when it only moves
 * elements; t itself otherwise. */
int vitc_match_movement_step(const vitc_graph *g, int t);
/* Whether tensors a and b have known, equal dtypes and shapes. */
bool vitc_match_same_type(const vitc_graph *g, int a, int b);
/* Whether r (known shape) is y's type, or repeats over y's leading dims in runs of `unit` elements
 * (vitc_repeat_period: a fused op's residual that is a [1, T, C] position embedding on a batch). */
bool vitc_match_repeats(const vitc_graph *g, int r, int y, int64_t unit);
/* Whether n is a Transpose that keeps the elements in memory order (the dims it moves are all 1): a
 * Reshape in effect. */
bool vitc_match_order_keeping_transpose(const vitc_graph *g, const vitc_node *n);

/* Whether t is a known value of x's dtype holding one value per index of x's axis `axis` and 1 along every
 * other axis as broadcasting lines it up with x (right-aligned, no higher in rank than x): an operand that
 * scales or shifts each channel of x and keeps x's shape — [C], [C, 1, 1] or [1, C, 1, 1] for axis 1 of a
 * 4-D x; [C], [1, C] or [1, 1, C] for its last axis of a 3-D one. */
bool vitc_match_channel_constant(const vitc_graph *g, int t, const vitc_value *x, int axis);

/* Whether every entry of n's ints attribute `name` is 1 (true when it is absent: strides, dilations). */
bool vitc_match_all_ones(const vitc_node *n, const char *name);
/* Whether conv's windows are centred on their pixel: an odd kh × kw kernel, dilation 1, auto_pad NOTSET and
 * pads kh/2, kw/2 on each side (absent for a 1 × 1 kernel). At stride 1 the output has the input's size:
 * a "same" conv, and kernels of different odd sizes line up (centred in the larger one). */
bool vitc_match_centred_window(const vitc_node *conv, int64_t kh, int64_t kw);
/* The "pads" attribute of a centred kh × kw window, in pads[4]. */
vitc_attr vitc_centred_pads(int64_t kh, int64_t kw, int64_t pads[4]);
/* A 4-D view of a base tensor: element (a0, a1, a2, a3) sits at offset + Σ a_d·strides[d] in base, except
 * the first `blank` along dim 2, which come from no element of base (a pad). */
typedef struct vitc_view4 {
  int64_t dims[4], strides[4], offset, blank;
} vitc_view4;
/* *yes: t, with as many elements as the view (in its row-major order), is computed from base by movement
 * nodes alone and copies exactly the elements the view names (vitc_probe_origins). */
vitc_status vitc_match_view(const vitc_graph *g, int base, int t, const vitc_view4 *v, bool *yes, vitc_error *err);

/* The input a row-wise node n acts on row by row (passes/sink_row_gathers.c: each row of the output from
 * the same row of that input and constants alone), or -1 when n is not row-wise. */
int vitc_match_row_operand(const vitc_graph *g, const vitc_node *n);
/* The inputs of n whose rows line up with its output's (row r of each feeds row r of the output), as a
 * bit mask: its row operand, an elementwise op's inputs of the output's type, a FusedGemm's or
 * LayerNormResidual's residual; 0 when n mixes rows. */
unsigned vitc_match_aligned_inputs(const vitc_graph *g, const vitc_node *n);

/* Whether bn is an inference BatchNormalization of one output over `channels` channels, its γ, β, μ, σ²
 * known (passes/fold_batch_norm.c). */
bool vitc_match_batch_norm(const vitc_graph *g, const vitc_node *bn, int64_t channels);
/* The per-channel affine bn computes, y = g·x + h with g = γ / √(σ² + ε), h = β − μ·g: g[channels]
 * followed by h[channels], malloc'd (the caller frees it), NULL when out of memory. */
double *vitc_batch_norm_affine(const vitc_graph *g, const vitc_node *bn, int64_t channels);

/* Marks the matched nodes dead and adds node `op` computing tensor `out` (which one of them computed)
 * from in; its name is the name of the node that computed `out`. Node pointers into the graph are
 * invalid afterwards. */
vitc_status vitc_rewrite(vitc_rewriter *rw, vitc_node *const *matched, int nmatched, vitc_op op, const int *in,
                         int nin, int out, const vitc_attr *attrs, int nattr, vitc_error *err);
/* Adds node op(in), named "<base>/<suffix>", writing a new tensor "<base>.<suffix>" of type's dtype and
 * dims (its data ignored); returns the tensor's id or -1 with err set. The rewriter's end restores the
 * topological order. */
int vitc_rewrite_node(vitc_rewriter *rw, vitc_op op, const int *in, int nin, const vitc_value *type,
                      const vitc_attr *attrs, int nattr, const char *base, const char *suffix, vitc_error *err);
/* Adds a constant holding v (copied) named "<base>.<suffix>"; returns its id or -1 with err set. */
int vitc_rewrite_constant(vitc_rewriter *rw, const char *base, const char *suffix, const vitc_value *v,
                          vitc_error *err);

#endif
