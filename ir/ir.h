/* ir.h — the contract of vitc's IR: values, the graph, the op table, errors, arenas, the evaluator.
 *
 * Every other folder includes this header and nothing else from ir/.
 *
 * A graph is a list of nodes in topological order over a table of tensors addressed by int id (ids stay
 * valid while the graph grows; pointers into the arrays do not). A tensor whose value is known at compile
 * time (initializer, folded result) has v.data != NULL. All graph memory belongs to the graph's arena.
 *
 * Shapes are static once a graph is bound: frontend binds symbolic input dims, passes/infer_shapes
 * computes every other shape (evaluating constant subgraphs on the way).
 */
#ifndef VITC_IR_H
#define VITC_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vitc.h"

/* ---------------------------------------------------------------- errors */

typedef struct vitc_error {
  vitc_status status;
  char msg[1024];
} vitc_error;

/* Sets err (if not NULL) and returns st: `return vitc_fail(err, VITC_ERR_INVALID, "axis %d", a);` */
vitc_status vitc_fail(vitc_error *err, vitc_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefixes err->msg with "PREFIX: " (used to add file / node context as an error travels up). */
void vitc_error_prefix(vitc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records err as the calling thread's last error (read by vitc_last_error) and returns its status. */
vitc_status vitc_set_last_error(const vitc_error *err);

/* ---------------------------------------------------------------- arena */

typedef struct vitc_arena vitc_arena;
vitc_arena *vitc_arena_new(void);
void vitc_arena_free(vitc_arena *a);
void *vitc_arena_alloc(vitc_arena *a, size_t n); /* zeroed, 64-byte aligned; NULL when out of memory */
char *vitc_arena_strdup(vitc_arena *a, const char *s);

/* ---------------------------------------------------------------- values */

/* A dense row-major tensor. dims[0..rank) are >= 0; rank 0 is a scalar with one element. */
typedef struct vitc_value {
  vitc_dtype dtype;
  int rank;
  int64_t dims[VITC_MAX_RANK];
  void *data;
} vitc_value;

int64_t vitc_numel(const vitc_value *v);
size_t vitc_nbytes(const vitc_value *v);
bool vitc_dtype_is_float(vitc_dtype t);  /* F16 BF16 F32 F64 */
bool vitc_dtype_is_signed(vitc_dtype t); /* I8 I16 I32 I64 */
/* A constant's data is aligned for its dtype, except a floating-point tensor of a page or more that the
 * frontend reads in place from the model file, wherever protobuf put its bytes (frontend/load_model.c):
 * such data is read through vitc_load_f, vitc_f32_at or memcpy, never through a typed pointer. The
 * evaluator (vitc_eval_node) and the backend's emitters (cg_in_value) are given aligned copies. */
bool vitc_value_is_aligned(const vitc_value *v);
/* Memory vitc_aligned_inputs reuses from call to call (no page is zeroed twice): free(data) when done. */
typedef struct vitc_copy_buf {
  void *data;
  size_t cap;
} vitc_copy_buf;
/* in[0..n) (NULL: absent) as typed code may read them: use[k] (the caller's n entries) is in[k], or, where
 * in[k] is not aligned for its dtype, copies[k]: in[k] with its data copied into buf, 64-byte aligned. */
vitc_status vitc_aligned_inputs(const vitc_value *const *in, int n, vitc_value *copies, const vitc_value **use,
                                vitc_copy_buf *buf, vitc_error *err);
static inline float vitc_f32_at(const void *p, int64_t i) {
  float x;
  memcpy(&x, (const char *)p + 4 * i, 4);
  return x;
}
/* Generic element access: floats through double, integers and bool through int64; loads take any
 * alignment. Evaluator kernels use these where speed does not matter, and typed loops where it does. */
double vitc_load_f(const vitc_value *v, int64_t i);
void vitc_store_f(vitc_value *v, int64_t i, double x);
int64_t vitc_load_i(const vitc_value *v, int64_t i);
void vitc_store_i(vitc_value *v, int64_t i, int64_t x);
float vitc_f16_to_f32(uint16_t h);
uint16_t vitc_f32_to_f16(float f);
float vitc_bf16_to_f32(uint16_t h);
uint16_t vitc_f32_to_bf16(float f);
/* Product of dims with overflow check: false if it exceeds INT64_MAX / 16 or a dim is negative. */
bool vitc_checked_numel(const int64_t *dims, int rank, int64_t *out);
/* The elements after which r repeats when it broadcasts onto y along y's leading dims only, as a [1, T, C]
 * position embedding does onto a batch [N, T, C]: numel(r) when r has y's dtype and rank, r's dims are
 * 1 before some dim and y's from there on (the last dim among them), and numel(r) is a multiple of
 * `unit` (> 0: the elements a kernel reads as one run); -1 otherwise. y's own shape repeats once. */
int64_t vitc_repeat_period(const vitc_value *r, const vitc_value *y, int64_t unit);
/* "f32[1,3,224,224]" into buf. */
const char *vitc_value_type_str(const vitc_value *v, char *buf, size_t n);

/* ---------------------------------------------------------------- op table */

typedef enum vitc_op {
#define X(id, domain, name, min_in, max_in, min_out, max_out, shape_fn, eval_fn, flops_fn, emit_fn, flags) VITC_OP_##id,
#include "ops.def"
#undef X
  VITC_OP_COUNT
} vitc_op;

typedef enum vitc_attr_type {
  VITC_ATTR_INT,
  VITC_ATTR_FLOAT,
  VITC_ATTR_STRING,
  VITC_ATTR_INTS,
  VITC_ATTR_FLOATS,
  VITC_ATTR_STRINGS,
  VITC_ATTR_TENSOR,
} vitc_attr_type;

typedef struct vitc_attr {
  const char *name;
  vitc_attr_type type;
  int64_t i;
  double f;
  const char *s;
  int n; /* length of ints / floats / strings */
  int64_t *ints;
  double *floats;
  const char **strings;
  vitc_value t;
} vitc_attr;

typedef struct vitc_node {
  vitc_op op;
  const char *name; /* never NULL; frontend names unnamed nodes "<op>_<index>" */
  int opset;        /* version of the node's domain in the model: ops whose meaning changed read it */
  int nin, nout;
  int *in;  /* tensor ids; -1 for an absent optional input */
  int *out; /* tensor ids; -1 for an unused optional output */
  int nattr;
  vitc_attr *attrs;
  bool dead; /* removed by a pass; vitc_graph_compact drops it */
} vitc_node;

/* Shape rule: fill out[0..n->nout) dtype, rank and dims from the inputs (in[i] NULL for an absent
 * optional input). An input's data is non-NULL when its value is known; a rule that needs a value it
 * does not have fails with VITC_ERR_UNSUPPORTED ("data-dependent shape"). Messages carry no node
 * context: the caller prefixes it. */
typedef vitc_status (*vitc_shape_fn)(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                     vitc_error *err);
/* Evaluator: compute out[k].data (allocated by the caller to the shape the rule gave) from in. */
typedef vitc_status (*vitc_eval_fn)(const vitc_node *n, const vitc_value *const *in, vitc_value *out,
                                    vitc_error *err);
/* Floating-point operations of one execution, from shapes only. */
typedef double (*vitc_flops_fn)(const vitc_node *n, const vitc_value *const *in, const vitc_value *out);

/* What passes and the backend ask of an op: the flags column of ops.def, whose header says what each
 * flag promises. */
enum {
  VITC_OPF_ELEMWISE = 1u << 0,
  VITC_OPF_ROWWISE = 1u << 1,
  VITC_OPF_PRODUCT = 1u << 2,
  VITC_OPF_MOVE = 1u << 3,
  VITC_OPF_MOVE_ALL = 1u << 4,
  VITC_OPF_MOVE_IN2 = 1u << 5,
  VITC_OPF_INDEXED = 1u << 6,
  VITC_OPF_VIEW = 1u << 7,
  VITC_OPF_SHAPE_ONLY = 1u << 8,
  VITC_OPF_PER_SAMPLE = 1u << 9,
  VITC_OPF_FLAT_ROWS = 1u << 10,
  VITC_OPF_VECTORISED = 1u << 11,
  VITC_OPF_BF16 = 1u << 12,
  VITC_OPF_BF16_ROWS = 1u << 13,
  VITC_OPF_BF16_ACTS = 1u << 14,
  VITC_OPF_AXES = 1u << 15,
  VITC_OPF_BF16_CONV = 1u << 16,
};

typedef struct vitc_op_info {
  const char *domain; /* "" for ONNX's default domain, "vitc" for fused ops */
  const char *name;
  int min_in, max_in, min_out, max_out;
  vitc_shape_fn shape;
  vitc_eval_fn eval;
  vitc_flops_fn flops; /* NULL: no arithmetic (data movement) */
  unsigned flags;      /* VITC_OPF_* */
} vitc_op_info;

extern const vitc_op_info vitc_ops[VITC_OP_COUNT];
/* A vitc.ElementwiseChain's program, decoded once from its attributes (ir/ops/elementwise_chain.c) for the
 * shape rule, the evaluator, the flop count and the emitter: step s applies ops[s] to the operands in slots
 * arg[s][0] and arg[s][1] of [input 0, .., input nin-1, step 0's result, ..] (slot nin + j: step j's). At most
 * VITC_CHAIN_MAX_STEPS steps: the pass building chains stops there. */
#define VITC_CHAIN_MAX_STEPS 16
typedef struct vitc_chain {
  int nin, nsteps;
  vitc_op ops[VITC_CHAIN_MAX_STEPS];
  int arg[VITC_CHAIN_MAX_STEPS][2];
} vitc_chain;
/* Decodes n's program into *c; fails naming what is wrong with the node's attributes. */
vitc_status vitc_chain_decode(const vitc_node *n, vitc_chain *c, vitc_error *err);
/* Whether op carries every flag in `flags` (VITC_OPF_*). */
static inline bool vitc_op_has(vitc_op op, unsigned flags) { return (vitc_ops[op].flags & flags) == flags; }
/* Whether op may be a step of an ElementwiseChain: elementwise, of one or two inputs. */
static inline bool vitc_chain_op(vitc_op op) { return vitc_op_has(op, VITC_OPF_ELEMWISE) && vitc_ops[op].max_in <= 2; }
/* Looks an op up by domain ("" and "ai.onnx" are the same) and name; false if unknown. */
bool vitc_op_lookup(const char *domain, const char *name, vitc_op *out);

/* Attribute access; a missing attribute yields the default. */
const vitc_attr *vitc_attr_find(const vitc_node *n, const char *name);
int64_t vitc_attr_int(const vitc_node *n, const char *name, int64_t dflt);
double vitc_attr_float(const vitc_node *n, const char *name, double dflt);
const char *vitc_attr_str(const vitc_node *n, const char *name, const char *dflt);
/* Returns the array (and its length in *len), or NULL with *len = 0 when absent. */
const int64_t *vitc_attr_ints(const vitc_node *n, const char *name, int *len);
const double *vitc_attr_floats(const vitc_node *n, const char *name, int *len);

/* ScatterND / ScatterElements "reduction" attribute, read once for the evaluator and the backend. */
typedef enum vitc_scatter_reduction {
  VITC_SCATTER_NONE,
  VITC_SCATTER_ADD,
  VITC_SCATTER_MUL,
  VITC_SCATTER_MAX,
  VITC_SCATTER_MIN
} vitc_scatter_reduction;
vitc_status vitc_scatter_reduction_of(const vitc_node *n, vitc_scatter_reduction *r, vitc_error *err);

/* ---------------------------------------------------------------- graph */

typedef struct vitc_tensor {
  const char *name;
  vitc_value v;       /* dtype and shape (once known); data when the value is known at compile time */
  bool shape_known;
  int producer;       /* node index, or -1 for graph inputs and constants */
  const char *dim_param[VITC_MAX_RANK]; /* symbolic dim names of graph inputs as exported (may be NULL) */
} vitc_tensor;

typedef struct vitc_mapping {
  void *addr;
  size_t len;
  struct vitc_mapping *next;
} vitc_mapping;

typedef struct vitc_graph {
  vitc_arena *arena; /* owns every node, tensor, name, attribute and constant below */
  const char *path;  /* model file, for messages */
  int opset;         /* default-domain opset import */
  vitc_tensor *tensors;
  int ntensors, cap_tensors;
  vitc_node *nodes;
  int nnodes, cap_nodes;
  int *inputs; /* graph inputs (non-constant), in declared order */
  int ninputs;
  int *outputs;
  int noutputs;
  vitc_mapping *mappings; /* mmapped model file and external data, unmapped by vitc_graph_free */
  /* No tensor, planned arena or weights blob may be larger: shape inference and compilation refuse it,
   * naming the node, before anything is allocated. 0 (the default) means vitc_default_memory_limit(). */
  int64_t memory_limit;
  /* Set by the driver after the passes: the evaluator and the backend read it through
   * vitc_bf16_product, so both round the same operands. */
  vitc_precision precision;
} vitc_graph;

/* Whether node n of g multiplies in bfloat16: g's precision is BF16 and n is a product (ops.def's BF16
 * column) of float32 operands whose weight (input 1) is a compile-time constant matrix, other than the
 * first product on the input image, a classifier head and the products computing the Q or K of an
 * attention whose scores are scaled well beyond 1/√D (ir/precision.c says why). Its product's
 * operands (inputs 0 and 1, or with BF16_ROWS the rows the op makes and input 1) are then rounded to
 * bfloat16 (vitc_bf16_bits) and the products summed in float32. An op with BF16_ACTS (Attention) has no
 * weight: it rounds all its products' operands, in float32 precision itself (ir/precision.c). */
bool vitc_bf16_product(const vitc_graph *g, const vitc_node *n);
/* The bfloat16 nearest x (ties to even; NaN stays a quiet NaN), as its 16 bits, and as a float. */
static inline uint16_t vitc_bf16_bits(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
}
/* The range [lo, hi] of a type ONNX quantises to or from (int8, uint8, int16, uint16; int32 for
 * DequantizeLinear's bias); false for any other. ir/ops/quant.c and the backend saturate to it. */
bool vitc_quant_range(vitc_dtype t, int64_t *lo, int64_t *hi);
/* A per-tensor quantisation grid: a QuantizeLinear-DequantizeLinear pair of one scale and zero point seen as
 * one float32 function, x -> (saturate(roundeven(x / scale) + zero_point) - zero_point) · scale. vitc.Attention
 * keeps its operands' grids as attributes [scale, zero_point, lo, hi] (q_quant .. p_quant). */
typedef struct vitc_qgrid {
  bool on; /* false: no grid (the attribute is absent) */
  float scale;
  double zp, lo, hi;
} vitc_qgrid;
/* vitc.Attention's grids (ir/ops/fused_attention.c): vitc_attention_grids[x] names the attribute of grid x. */
enum { VITC_GRID_Q, VITC_GRID_K, VITC_GRID_V, VITC_GRID_S, VITC_GRID_P, VITC_NGRIDS };
extern const char *const vitc_attention_grids[VITC_NGRIDS];
/* Attention node n's grids, g[x] off where its attribute is absent (the shape rule has checked the others). */
void vitc_attention_grids_of(const vitc_node *n, vitc_qgrid g[VITC_NGRIDS]);
/* x's grid index less the zero point, saturate(roundeven(x / scale) + zp) - zp, as QuantizeLinear rounds
 * (float32 division, ties to even): an integer, exact in float32. Times g->scale it is DequantizeLinear's
 * value. */
float vitc_qgrid_level(const vitc_qgrid *g, float x);
static inline float vitc_bf16_round(float x) {
  uint32_t u = (uint32_t)vitc_bf16_bits(x) << 16;
  float r;
  memcpy(&r, &u, sizeof r);
  return r;
}

/* The machine's physical memory in bytes: the memory limit of a graph that sets none. */
int64_t vitc_default_memory_limit(void);
/* g's memory limit (its own, or the default). */
int64_t vitc_graph_memory_limit(const vitc_graph *g);

vitc_graph *vitc_graph_new(const char *path); /* NULL when out of memory */
void vitc_graph_free(vitc_graph *g);
/* Lets the kernel drop the resident pages of g's mapped files (read-only file pages: a later read maps
 * them again from the file), so that constants the compiler has packed are not held twice. */
void vitc_graph_drop_mapped_pages(const vitc_graph *g);
/* Gives the whole pages inside [data, data + bytes) back to the kernel. Pages of a read-only file mapping
 * are read again from the file when next touched; any other memory reads as zeros afterwards, so only
 * bytes nobody reads again may be given back that way. */
void vitc_drop_pages(const void *data, size_t bytes);
/* Returns the heap's free memory to the kernel (glibc keeps what is freed for later allocations, and its
 * arenas only shrink from the top): after a stage that freed much of it, such as LLVM's IR and its
 * compilation's working memory, so that it does not stay resident beside the weights. */
void vitc_give_back_heap(void);
/* Adds a tensor (name copied; NULL name gets a fresh unique one) and returns its id, -1 when out of
 * memory. */
int vitc_graph_add_tensor(vitc_graph *g, const char *name);
/* Appends a node (ids and attributes, with the arrays and tensors they point to, copied into the
 * arena), sets producer of its outputs, returns its index or -1 when out of memory. */
int vitc_graph_add_node(vitc_graph *g, vitc_op op, const char *name, const int *in, int nin, const int *out,
                        int nout, const vitc_attr *attrs, int nattr);
/* Adds a constant tensor holding a copy of v; returns its id or -1. */
int vitc_graph_add_constant(vitc_graph *g, const char *name, const vitc_value *v);
/* Drops dead nodes and renumbers producers; tensor ids are unchanged. */
void vitc_graph_compact(vitc_graph *g);
/* Stable topological sort; fails naming a node on a cycle or on a use of an undefined tensor. */
vitc_status vitc_graph_toposort(vitc_graph *g, vitc_error *err);
/* Whether tensor t is one of the graph's outputs. */
bool vitc_graph_is_output(const vitc_graph *g, int t);
/* Replaces every use of tensor `from` (node inputs and graph outputs) with `to`. */
void vitc_graph_replace_uses(vitc_graph *g, int from, int to);
/* Number of node inputs (of live nodes) and graph outputs referring to each tensor, into counts[ntensors]. */
void vitc_graph_use_counts(const vitc_graph *g, int *counts);

/* Specialisation: graph input k with bind[k] set becomes a constant holding a copy of values[k] (which
 * must match its dtype and shape); the other inputs keep their order. */
vitc_status vitc_graph_bind_inputs(vitc_graph *g, const bool *bind, const vitc_value *values, vitc_error *err);

/* "model.onnx: node 'name' (Op): " context prefix for an error raised at node n. */
void vitc_node_error_prefix(const vitc_graph *g, const vitc_node *n, vitc_error *err);

/* Checks the structural invariants (ids in range, arity against the op table, defined-before-use,
 * one producer per tensor, known shapes if require_shapes). */
vitc_status vitc_verify(const vitc_graph *g, bool require_shapes, vitc_error *err);

/* Textual dump (vitc dump) and Graphviz. */
void vitc_print_graph(const vitc_graph *g, FILE *f);
void vitc_print_dot(const vitc_graph *g, FILE *f);

/* Parameters: elements and bytes of constant tensors referenced by live nodes. */
void vitc_graph_params(const vitc_graph *g, int64_t *count, int64_t *bytes);
/* -1 when every tensor live nodes use has a known shape; else the index of the first node that reads or
 * writes a tensor whose shape depends on run-time values. */
int vitc_graph_first_dynamic_node(const vitc_graph *g);
/* Whether g is one image of a symbolic batch: every input's first dim is the same symbolic dim, bound to
 * 1, and every output's first dim is 1. Its code then also runs n images (NAME_run_batch, vitc_run_batch)
 * as n runs over consecutive per-image slices of each buffer: in inference the images of a batch are
 * independent (no op of these models mixes them), which the shapes cannot show. */
bool vitc_graph_per_image(const vitc_graph *g);
/* Floating-point operations of one run (needs known shapes), and of node i alone (the op table's flops
 * column; 0 for a dead node or one with an unknown shape). */
double vitc_graph_flops(const vitc_graph *g);
double vitc_node_flops(const vitc_graph *g, int i);

/* Where a compilation's time goes: wall time and this process's CPU time (all its threads, so that work
 * done on helper threads counts) spent in a stage. `since = vitc_stage_clock()` before the stage, then
 * vitc_stage_add(&t, since) after it adds the elapsed times to t. */
typedef struct vitc_stage_time {
  double wall_ms, cpu_ms;
} vitc_stage_time;
vitc_stage_time vitc_stage_clock(void);
void vitc_stage_add(vitc_stage_time *t, vitc_stage_time since);

/* ---------------------------------------------------------------- window geometry (ir/ops/conv.c)
 *
 * The sliding window of Conv, ConvTranspose and the pools, resolved from the node's attributes
 * (kernel_shape, strides, dilations, pads, auto_pad, ceil_mode; output_padding and output_shape for
 * ConvTranspose). The evaluator and the backend's kernels both read it, so that they agree. */

/* Per spatial dim d: output position o and tap k meet input position o*stride - pad_begin + k*dilation
 * (for ConvTranspose the roles turn round: input position i feeds output i*stride - pad_begin +
 * k*dilation). in_plane, out_plane and taps are the products of in, out and kernel. */
typedef struct vitc_window {
  int nd; /* spatial dims */
  int64_t in[VITC_MAX_RANK], out[VITC_MAX_RANK], kernel[VITC_MAX_RANK];
  int64_t stride[VITC_MAX_RANK], dilation[VITC_MAX_RANK], pad_begin[VITC_MAX_RANK], pad_end[VITC_MAX_RANK];
  int64_t in_plane, out_plane, taps;
} vitc_window;

/* The pools' window: reads kernel_shape (or takes `kernel` when the attribute is absent and kernel !=
 * NULL), strides, dilations, pads and auto_pad of n for an input of spatial dims x->dims[2..], and
 * computes the output dims; ceil_mode rounds the output up as the pools allow (a last window must start
 * inside the input or its leading pad). */
vitc_status vitc_window_geometry(const vitc_node *n, const vitc_value *x, const int64_t *kernel, bool ceil_mode,
                                 vitc_window *w, vitc_error *err);

/* How many taps of w's window at output position o along dim d read inside [lo, hi) of the input
 * (lo <= o·stride - pad_begin + k·dilation < hi): an average pool's divisor along d, over the input
 * ([0, in)) or with its pads ([-pad_begin, in + pad_end)). */
int64_t vitc_window_taps_within(const vitc_window *w, int d, int64_t o, int64_t lo, int64_t hi);

/* Output position o of a bilinear resize of an axis from in_len to out_len (Resize linear, half_pixel,
 * no antialias): the two source positions *i0, *i1 (edges repeated) and the weight *w1 of *i1 (*i0's
 * is 1 - *w1). vitc.ResizeTokens' evaluator and kernel both read it (ir/ops/resize.c). */
void vitc_bilinear_taps(int64_t o, int64_t in_len, int64_t out_len, int64_t *i0, int64_t *i1, double *w1);

/* DepthwiseConvNHWC (ir/ops/depthwise_conv_nhwc.c) on in = {X, W [kh, kw, C], optional bias}: its window
 * over the image, and *lead, the rows before the image of token rows (attribute image; 0 for X [N, H, W, C]).
 * Fails naming what does not fit. */
vitc_status vitc_depthwise_nhwc_window(const vitc_node *n, const vitc_value *const *in, vitc_window *w,
                                       int64_t *lead, vitc_error *err);
/* PatchConvNHWC (ir/ops/patch_conv_nhwc.c) on in = {X [N, H, W, C], W [kh·kw·C, M], optional bias}: its
 * window over the image. Fails naming what does not fit. */
vitc_status vitc_patch_conv_window(const vitc_node *n, const vitc_value *const *in, vitc_window *w, vitc_error *err);

/* Conv (weights [M, C/group, kernel..]) or ConvTranspose (weights [C, M/group, kernel..]) on
 * in = {X [N, C, spatial..], W, optional bias [M]}: the window and the channels, per group cin_g of the
 * C inputs and cout_g of the M outputs. Fails naming what does not fit. */
typedef struct vitc_conv_geometry {
  vitc_window w;
  int64_t batch, cin, cout, group, cin_g, cout_g;
} vitc_conv_geometry;
vitc_status vitc_conv_geometry_of(const vitc_node *n, const vitc_value *const *in, vitc_conv_geometry *c,
                                  vitc_error *err);
/* Whether the conv is a GEMM on its input as it is: a kernel of one tap, stride 1, no pads. */
bool vitc_conv_pointwise(const vitc_conv_geometry *c);

/* ---------------------------------------------------------------- einsum equations (ir/ops/einsum.c)
 *
 * An Einsum equation read with numpy's rules: an implicit output (the ellipsis dims, then the labels seen
 * once, in ASCII order), "..." broadcasting right-aligned, repeated labels within a term (diagonals),
 * size-1 dims broadcasting against their label. */

#define VITC_EINSUM_LETTERS 52 /* label ids: 'A'..'Z' are 0..25, 'a'..'z' 26..51, then the ellipsis dims */
#define VITC_EINSUM_MAX_LABELS (VITC_EINSUM_LETTERS + VITC_MAX_RANK)
#define VITC_EINSUM_MAX_TERMS 16

typedef struct vitc_einsum {
  int nterms;
  int term_rank[VITC_EINSUM_MAX_TERMS];
  int term_label[VITC_EINSUM_MAX_TERMS][VITC_MAX_RANK]; /* label id of each dim of each operand */
  int out_rank;
  int out_label[VITC_MAX_RANK];
  int64_t size[VITC_EINSUM_MAX_LABELS]; /* broadcast size of each label, -1 when unused */
  /* element stride that moves operand t along label l: the sum over its dims with that label (a
   * diagonal), 0 where the operand lacks the label or broadcasts it */
  int64_t stride[VITC_EINSUM_MAX_TERMS][VITC_EINSUM_MAX_LABELS];
} vitc_einsum;

/* Reads n's equation against the operands in[0..n->nin); fails naming what does not fit. */
vitc_status vitc_einsum_parse(const vitc_node *n, const vitc_value *const *in, vitc_einsum *e, vitc_error *err);

/* ---------------------------------------------------------------- movement probes */

/* Which inputs of n carry moved elements (bit k for input k) when n only moves elements, copying them
 * from its inputs to its outputs without computing (Transpose, Reshape, Slice, Concat, Pad, Gather with
 * known indices, ...); 0 for an op that computes. The other inputs are indices, shapes or axes. */
unsigned vitc_moved_inputs(const vitc_graph *g, const vitc_node *n);

/* Where each element of tensor t comes from in tensor `base`, when t is computed from base by
 * movement-only nodes (whose index inputs are known): *origins (malloc'd, owned by the caller) gets,
 * for element i of t, the flat offset in base of the element it copies, or -1 for one that does not come
 * from base (a pad value, a known tensor concatenated in). *origins is NULL, with VITC_OK, when t is not
 * such a function of base. The probe runs the evaluator itself on int64 element offsets, so it has the
 * evaluator's exact semantics. */
vitc_status vitc_probe_origins(const vitc_graph *g, int base, int t, int64_t **origins, vitc_error *err);
/* The same, probing every element of the batch: what vitc_probe_origins falls back on when the images of
 * the graph's batch do not each move alike (ir/probe.c), and the reference its tests compare with. */
vitc_status vitc_probe_origins_whole(const vitc_graph *g, int base, int t, int64_t **origins, vitc_error *err);

/* Where the elements of t come from in base, told for one image when the graph's batch moves every image
 * alike (vitc_probe_images): element (a·B + b)·block + j of t copies element (a'·B + b)·base_block + j'
 * of base, where first[a·block + j] = a'·base_block + j', or -1 for one that does not come from base.
 * With batch 1, first holds every element of t (outer 1, block t's count) and offsets in base whole
 * (base_outer 1). Working on one image keeps the passes that read movement chains (absorb_attention_layout,
 * sink_row_gathers) from costing the batch times what one image tells. */
typedef struct vitc_origins {
  int64_t *first; /* outer·block entries, a probe buffer (vitc_origins_alloc, vitc_origins_free); NULL when t
                   * is no movement function of base */
  int64_t batch, outer, block, base_outer, base_block;
} vitc_origins;

/* The graph's batch: its first input's first dim (1 without one). */
int64_t vitc_graph_batch(const vitc_graph *g);
/* vitc_probe_origins in the per-image form above (batch 1 when the images do not each move alike). */
vitc_status vitc_probe_images(const vitc_graph *g, int base, int t, vitc_origins *o, vitc_error *err);
/* The flat offset in base of image 0's element that entry c of a vitc_origins' `first` names (-1 for -1);
 * image b's is b·o->base_block further. */
int64_t vitc_origin_offset(const vitc_origins *o, int64_t c);
/* Every element's origin, as vitc_probe_origins gives them (*whole malloc'd, owned by the caller). */
vitc_status vitc_origins_whole(const vitc_origins *o, int64_t **whole, vitc_error *err);
/* o->first for o->outer·o->block entries, a probe buffer: freed ones are kept for the next probe (ir/probe.c). */
vitc_status vitc_origins_alloc(vitc_origins *o, vitc_error *err);
void vitc_origins_free(vitc_origins *o);

/* Frees the buffers the probes keep for their next walk on this thread (ir/probe.c); the pass driver
 * calls it after each pass. */
void vitc_probe_release(void);

/* vitc_probe_images(base, t) along a path base → mid → t of which one part's origins are known:
 * `above` (mid's origins in base) or `below` (t's origins in mid); only the other part is probed and
 * the two composed, so walking a chain one node at a time costs the chain's length, not its square.
 * With both known they are only composed (per image when both are told per image alike). With neither
 * known, or when the other part is no movement function on its own (a node between that also reads
 * another path from base), t is probed from base whole. */
vitc_status vitc_probe_images_via(const vitc_graph *g, int base, int mid, int t, const vitc_origins *above,
                                  const vitc_origins *below, vitc_origins *o, vitc_error *err);

/* ---------------------------------------------------------------- evaluator */

/* Runs node n on values (shape rule with the data at hand, then the op's evaluator); out[k].data is
 * malloc'd and owned by the caller. Errors carry node context. */
vitc_status vitc_eval_node(const vitc_graph *g, const vitc_node *n, const vitc_value *const *in,
                           vitc_value *out, vitc_error *err);
/* Executes the graph: inputs[i] for g->inputs[i]; outputs[k] for g->outputs[k] get malloc'd data owned
 * by the caller (free with free()). Intermediates are freed after their last use. */
vitc_status vitc_eval_graph(const vitc_graph *g, const vitc_value *inputs, vitc_value *outputs,
                            vitc_error *err);

#endif
