/* vitc.h — the public contract of vitc, a compiler from ONNX vision-transformer models to native code.
 *
 * Every function returns a vitc_status; on failure the message naming file, node and op is kept per
 * thread and read with vitc_last_error(). The library never prints and never exits. */
#ifndef VITC_H
#define VITC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum vitc_status {
  VITC_OK = 0,
  VITC_ERR_IO,          /* a file could not be opened, read, mapped or written */
  VITC_ERR_PARSE,       /* malformed protobuf or text */
  VITC_ERR_INVALID,     /* well-formed input that breaks a rule: bad shape, bad attribute, cycle */
  VITC_ERR_UNSUPPORTED, /* valid ONNX that vitc does not implement: op, dtype, opset, attribute value */
  VITC_ERR_NOMEM,
  VITC_ERR_INTERNAL,
  VITC_ERR_DATA_DEPENDENT, /* a shape, or an operand the code generator needs (axes, indices, scales),
                              depends on a value only known at run time: the evaluator can run the model,
                              compiled code cannot without specialising on that value */
} vitc_status;

/* Element types carry ONNX TensorProto.DataType numbers so the frontend needs no translation table. */
#define VITC_DTYPES(X)                  \
  X(F32, 1, 4, "float32")               \
  X(U8, 2, 1, "uint8")                  \
  X(I8, 3, 1, "int8")                   \
  X(U16, 4, 2, "uint16")                \
  X(I16, 5, 2, "int16")                 \
  X(I32, 6, 4, "int32")                 \
  X(I64, 7, 8, "int64")                 \
  X(BOOL, 9, 1, "bool")                 \
  X(F16, 10, 2, "float16")              \
  X(F64, 11, 8, "float64")              \
  X(U32, 12, 4, "uint32")               \
  X(U64, 13, 8, "uint64")               \
  X(BF16, 16, 2, "bfloat16")

typedef enum vitc_dtype {
  VITC_UNDEFINED = 0,
#define X(id, code, size, name) VITC_##id = code,
  VITC_DTYPES(X)
#undef X
} vitc_dtype;

#define VITC_MAX_RANK 8
#define VITC_MAX_THREADS 1024 /* as runtime/vitc_rt.h's VITC_RT_MAX_THREADS */

const char *vitc_status_name(vitc_status s);
const char *vitc_dtype_name(vitc_dtype t); /* "float32", …; NULL for an unknown code */
size_t vitc_dtype_size(vitc_dtype t);      /* 0 for an unknown code */

/* The library's version, "MAJOR.MINOR.PATCH"; the shared library's SONAME carries MAJOR. */
const char *vitc_version(void);

/* The message of the last failure on the calling thread ("" if none). */
const char *vitc_last_error(void);

/* ---------------------------------------------------------------- compiling and running a model
 *
 *   vitc_model *m;  vitc_context *c;
 *   if (vitc_model_load("vit.onnx", NULL, &m)) { fprintf(stderr, "%s\n", vitc_last_error()); … }
 *   vitc_context_new(m, &c);
 *   vitc_run(c, (const void *[]){image}, (void *[]){logits});
 *   vitc_context_free(c); vitc_model_free(m);
 *
 * A model is immutable once loaded and may be shared by threads; a context belongs to one thread at a
 * time (it owns the activations and a thread pool). Buffers are the caller's: dense, row-major, of the
 * dtype and shape vitc_model_input/output report, and must not overlap. */

typedef struct vitc_model vitc_model;
typedef struct vitc_context vitc_context;

/* The graph optimisation level has one meaning everywhere (vitc_options, the tool's -O0/-O1/-O2):
 * 0 runs only the required passes (shape inference, which compiled code needs), 1 and 2 run the whole
 * pipeline. A NULL vitc_options gets VITC_OPT_DEFAULT; a zeroed one asks for 0, so start a struct from
 * VITC_OPTIONS_DEFAULT. */
enum { VITC_OPT_REQUIRED = 0, VITC_OPT_DEFAULT = 2 };

/* Arithmetic of the products (MatMul, Gemm, FusedGemm) whose weight is a compile-time constant.
 * BF16 rounds both operands to bfloat16 (round to nearest even) and accumulates in float32
 * (AVX512-BF16's vdpbf16ps; compiling for a target without avx512bf16 fails). Everything else
 * (normalisations, softmax, epilogues, activations) stays float32 either way. */
typedef enum vitc_precision { VITC_PRECISION_FP32 = 0, VITC_PRECISION_BF16 = 1 } vitc_precision;
/* How a model loaded for a batch of N > 1 images (every input's symbolic first dim bound to N) runs.
 * FOLD compiles the graph of N images, folded into the products' rows; PER_IMAGE compiles the graph of
 * one image and runs it N times over the consecutive per-image blocks of each buffer (only when no op
 * mixes the images; else the batch folds). AUTO runs image by image when the products of one image
 * already have rows enough for the matrix kernels (ViT-B/16, Swin-T, ConvNeXt-T at 224: faster per
 * image and compiled as fast as batch 1) and folds otherwise (ViT-B/32). */
typedef enum vitc_batch_mode { VITC_BATCH_AUTO = 0, VITC_BATCH_FOLD = 1, VITC_BATCH_PER_IMAGE = 2 } vitc_batch_mode;
#define VITC_OPTIONS_DEFAULT {.opt_level = VITC_OPT_DEFAULT}

typedef struct vitc_options {
  const char *const *shapes; /* "input=1x3x224x224" bindings of symbolic dims (others default to 1) */
  int nshapes;
  int opt_level;   /* 0..2, see VITC_OPT_DEFAULT; anything else fails with VITC_ERR_INVALID */
  int interpret;   /* non-zero: run with the reference evaluator instead of JIT-compiled code */
  int nthreads;    /* threads per context: 0 = one per CPU, at most VITC_MAX_THREADS */
  const char *cpu; /* JIT target CPU and features; NULL = this machine's */
  const char *features;
  int64_t max_memory; /* bytes one tensor, the planned activations or the weights may take, refused at load
                         or compile time when above it; 0 = this machine's physical memory */
  vitc_precision precision; /* 0 (VITC_PRECISION_FP32) by default */
  int no_cache; /* non-zero: compile every time. By default JIT-compiled code is kept in a compile cache,
                   $VITC_CACHE_DIR, else $XDG_CACHE_HOME/vitc, else ~/.cache/vitc: loading the same model
                   with the same options on the same CPU again maps the code and the packed weights from
                   there instead of compiling. Entries are checked (a damaged one is compiled again) and
                   written atomically; a directory that cannot be written only means no caching. */
  vitc_batch_mode batch; /* VITC_BATCH_AUTO by default */
} vitc_options;

typedef struct vitc_io_info {
  const char *name;
  vitc_dtype dtype;
  int rank;
  int64_t dims[VITC_MAX_RANK];
  size_t bytes;
} vitc_io_info;

/* Loads, optimises and (unless interpret) JIT-compiles an ONNX model. opts may be NULL.
 * Every function below checks its arguments: a NULL pointer, an index or count out of range, an option
 * out of range (opt_level, nthreads beyond VITC_MAX_THREADS, a negative max_memory) or a wrong buffer
 * size returns VITC_ERR_INVALID with a message, and changes nothing. */
vitc_status vitc_model_load(const char *path, const vitc_options *opts, vitc_model **out);
void vitc_model_free(vitc_model *m);
/* -1 (and the thread's last error) for a NULL model. */
int vitc_model_num_inputs(const vitc_model *m);
int vitc_model_num_outputs(const vitc_model *m);
/* Fills info for input/output i; the name stays valid while m lives. */
vitc_status vitc_model_input(const vitc_model *m, int i, vitc_io_info *info);
vitc_status vitc_model_output(const vitc_model *m, int i, vitc_io_info *info);

vitc_status vitc_context_new(const vitc_model *m, vitc_context **out);
void vitc_context_free(vitc_context *c);
/* One inference: inputs[i] and outputs[k] in the order of vitc_model_input/output. Bad input data (an
 * index out of range for the axis it indexes) fails with VITC_ERR_INVALID naming the node, the index and
 * the bound; the outputs are then undefined. */
vitc_status vitc_run(vitc_context *c, const void *const *inputs, void *const *outputs);
/* vitc_run that also checks what the caller says it passes: nin and nout buffers, of input_bytes[i] and
 * output_bytes[k] bytes, which must equal vitc_io_info.bytes. */
vitc_status vitc_run_checked(vitc_context *c, const void *const *inputs, const size_t *input_bytes, int nin,
                             void *const *outputs, const size_t *output_bytes, int nout);

/* n images through a model loaded for one image of its symbolic batch (every input's first dim symbolic
 * and bound to 1, as it is without opts->shapes; every output's first dim 1; VITC_ERR_INVALID otherwise),
 * each image a run of the model as loaded, its sizes those vitc_model_input/output report: inputs[i] and
 * outputs[k] hold n consecutive blocks of vitc_io_info.bytes each, image j's at j·bytes. The images run
 * one after another; the first that fails stops the call with its status. */
vitc_status vitc_run_batch(vitc_context *c, int64_t n, const void *const *inputs, void *const *outputs);

/* Tracing: after vitc_context_trace_start, each vitc_run on c records one event per node (its name, op,
 * start, duration and thread) into a buffer of max_events allocated now, so runs still never allocate;
 * events past it are dropped. vitc_context_trace_write writes the events so far as Chrome trace-event
 * JSON (ui.perfetto.dev and chrome://tracing open it), replacing path atomically; recording goes on
 * until the context is freed or tracing starts again. An interpreting model (interpret) cannot be
 * traced: VITC_ERR_UNSUPPORTED. */
vitc_status vitc_context_trace_start(vitc_context *c, size_t max_events);
vitc_status vitc_context_trace_write(const vitc_context *c, const char *path);

#ifdef __cplusplus
}
#endif
#endif
