/* test_api.c — the public API of include/vitc.h as a host uses it: load and JIT-compile a model, query its
 * inputs and outputs, run it from four threads at once, each with its own context and input, against the
 * reference evaluator (vitc_options.interpret); error messages through vitc_last_error(), which is kept
 * per thread; tracing a context's runs; n images at once (vitc_run_batch). Runs from the source directory (ctest's working directory). */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "vitc.h"

#define MODEL "tests/graphs/aot_two_io/model.onnx" /* pixel.values f32[4,64], residual f32[64,4] -> logits, both */
#define GATHER_MODEL "tests/graphs/gather_rows/model.onnx" /* y f32[2,3] = table f32[10,3][indices i64[2]] */
#define NTHREADS 4
#define RUNS 25

enum { X_COUNT = 4 * 64, Z_COUNT = 64 * 4, LOGITS_COUNT = 64 * 4, BOTH_COUNT = 64 * 8 };

typedef struct worker {
  const vitc_model *jit, *interp;
  pthread_barrier_t *errors_set;
  int index;
  /* results, checked by the main thread: CHECK's counters are not thread-safe */
  vitc_status status;
  char failed_at[64];
  double max_diff;
  int message_kept; /* after every thread recorded a failure, this thread's message is still its own */
  char message[512];
} worker;

/* A different input per thread, reproducible. */
static void fill(float *v, int n, int seed) {
  unsigned s = 2654435761u * (unsigned)(seed + 1);
  for (int i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    v[i] = (float)((int)(s >> 9) % 2001 - 1000) / 250.0f;
  }
}

static double max_diff(const float *a, const float *b, int n) {
  double worst = 0;
  for (int i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]);
    if (!(d <= worst)) worst = d;
  }
  return worst;
}

static void *work(void *arg) {
  worker *w = arg;
  static _Thread_local float x[X_COUNT], z[Z_COUNT], logits[LOGITS_COUNT], both[BOTH_COUNT];
  static _Thread_local float ref_logits[LOGITS_COUNT], ref_both[BOTH_COUNT];
  vitc_context *ctx = NULL, *ref_ctx = NULL;
  const void *inputs[] = {x, z};
  void *outputs[] = {logits, both}, *ref_outputs[] = {ref_logits, ref_both};

  /* Each thread fails in its own way, waits until all have, then reads its message back. */
  vitc_io_info info;
  w->status = vitc_model_input(w->jit, 10 + w->index, &info);
  pthread_barrier_wait(w->errors_set);
  char expected[64];
  snprintf(expected, sizeof expected, "input %d does not exist", 10 + w->index);
  snprintf(w->message, sizeof w->message, "%s", vitc_last_error());
  w->message_kept = w->status == VITC_ERR_INVALID && strstr(w->message, expected) != NULL;
  w->status = VITC_OK;

  if ((w->status = vitc_context_new(w->jit, &ctx)) || (w->status = vitc_context_new(w->interp, &ref_ctx))) {
    snprintf(w->failed_at, sizeof w->failed_at, "vitc_context_new");
  }
  for (int r = 0; r < RUNS && !w->status; r++) {
    fill(x, X_COUNT, w->index * RUNS + r);
    fill(z, Z_COUNT, 1000 + w->index * RUNS + r);
    if ((w->status = vitc_run(ctx, inputs, outputs)) || (w->status = vitc_run(ref_ctx, inputs, ref_outputs))) {
      snprintf(w->failed_at, sizeof w->failed_at, "vitc_run, run %d", r);
      break;
    }
    w->max_diff = fmax(w->max_diff, max_diff(logits, ref_logits, LOGITS_COUNT));
    w->max_diff = fmax(w->max_diff, max_diff(both, ref_both, BOTH_COUNT));
  }
  if (w->status) snprintf(w->message, sizeof w->message, "%s", vitc_last_error());
  vitc_context_free(ctx);
  vitc_context_free(ref_ctx);
  return NULL;
}

static void test_query(const vitc_model *m) {
  CHECK(vitc_model_num_inputs(m) == 2);
  CHECK(vitc_model_num_outputs(m) == 2);
  vitc_io_info in0, in1, out0, out1;
  CHECK(vitc_model_input(m, 0, &in0) == VITC_OK);
  CHECK(vitc_model_input(m, 1, &in1) == VITC_OK);
  CHECK(vitc_model_output(m, 0, &out0) == VITC_OK);
  CHECK(vitc_model_output(m, 1, &out1) == VITC_OK);
  CHECK(!strcmp(in0.name, "pixel.values") && in0.dtype == VITC_F32 && in0.rank == 2);
  CHECK(in0.dims[0] == 4 && in0.dims[1] == 64 && in0.bytes == X_COUNT * sizeof(float));
  CHECK(!strcmp(in1.name, "residual") && in1.dims[0] == 64 && in1.dims[1] == 4);
  CHECK(!strcmp(out0.name, "logits") && out0.bytes == LOGITS_COUNT * sizeof(float));
  CHECK(!strcmp(out1.name, "both") && out1.rank == 2 && out1.dims[0] == 64 && out1.dims[1] == 8);
  CHECK(out1.bytes == BOTH_COUNT * sizeof(float));
  CHECK(vitc_model_output(m, 2, &out0) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "output 2 does not exist (the model has 2)");
  CHECK(vitc_model_input(m, -1, &in0) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "input -1 does not exist");
}

static void test_threads(const vitc_model *jit, const vitc_model *interp) {
  /* The main thread's own failure must survive the workers' failures. */
  vitc_model *none = NULL;
  CHECK(vitc_model_load("tests/graphs/main_thread_missing.onnx", NULL, &none) == VITC_ERR_IO);
  char main_message[512];
  snprintf(main_message, sizeof main_message, "%s", vitc_last_error());
  CHECK_MSG(main_message, "main_thread_missing.onnx");

  pthread_barrier_t errors_set;
  pthread_barrier_init(&errors_set, NULL, NTHREADS);
  worker workers[NTHREADS];
  pthread_t threads[NTHREADS];
  for (int t = 0; t < NTHREADS; t++) {
    workers[t] = (worker){.jit = jit, .interp = interp, .errors_set = &errors_set, .index = t};
    if (pthread_create(&threads[t], NULL, work, &workers[t])) {
      fprintf(stderr, "cannot start thread %d\n", t); /* the others would wait at the barrier forever */
      exit(1);
    }
  }
  for (int t = 0; t < NTHREADS; t++) pthread_join(threads[t], NULL);
  pthread_barrier_destroy(&errors_set);
  for (int t = 0; t < NTHREADS; t++) {
    const worker *w = &workers[t];
    if (w->status) fprintf(stderr, "thread %d: %s failed: %s\n", t, w->failed_at, w->message);
    CHECK(w->status == VITC_OK);
    if (!w->message_kept) fprintf(stderr, "thread %d read \"%s\"\n", t, w->message);
    CHECK(w->message_kept);
    CHECK_NEAR(w->max_diff, 0, 1e-5);
  }
  CHECK(!strcmp(vitc_last_error(), main_message));
}

static void test_load_errors(void) {
  vitc_model *m = (vitc_model *)&m; /* not NULL: a failed load must reset it */
  CHECK(vitc_model_load("tests/graphs/no_such_model.onnx", NULL, &m) == VITC_ERR_IO);
  CHECK(m == NULL);
  CHECK_MSG(vitc_last_error(), "tests/graphs/no_such_model.onnx");
  CHECK(vitc_model_load("tests/graphs/cli_unknown_op.onnx", NULL, &m) != VITC_OK);
  CHECK_MSG(vitc_last_error(), "cli_unknown_op.onnx");
  const char *bad_shape[] = {"pixel.values=banana"};
  vitc_options opts = {.shapes = bad_shape, .nshapes = 1, .opt_level = VITC_OPT_DEFAULT};
  CHECK(vitc_model_load(MODEL, &opts, &m) != VITC_OK);
  CHECK(m == NULL);
  CHECK(strlen(vitc_last_error()) > 0);
  vitc_options bad_level = {.opt_level = -1}; /* -1 meant "shape inference only" before -O0 did */
  CHECK(vitc_model_load(MODEL, &bad_level, &m) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "opt_level -1: expected 0, 1 or 2");
}

/* Every function with each of its bad arguments: VITC_ERR_INVALID (or -1) and a message saying which. */
static void test_bad_arguments(vitc_model *m) {
  vitc_model *out = NULL;
  vitc_context *c = NULL;
  vitc_io_info info;
  CHECK(vitc_model_load(NULL, NULL, &out) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "vitc_model_load: path is NULL");
  CHECK(vitc_model_load(MODEL, NULL, NULL) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "vitc_model_load: out is NULL");
  struct {
    vitc_options o;
    const char *msg;
  } bad[] = {
      {{.opt_level = 7}, "opt_level 7: expected 0, 1 or 2"},
      {{.opt_level = 2, .nthreads = -3}, "nthreads -3: expected 0 (one per CPU) to 1024"},
      {{.opt_level = 2, .nthreads = 1 << 20}, "nthreads 1048576"},
      {{.opt_level = 2, .nshapes = -1}, "nshapes -1 is negative"},
      {{.opt_level = 2, .nshapes = 2}, "nshapes is 2 but shapes is NULL"},
      {{.opt_level = 2, .shapes = (const char *const[]){NULL}, .nshapes = 1}, "shapes[0] is NULL"},
      {{.opt_level = 2, .max_memory = -5}, "max_memory -5 is negative"},
      {{.opt_level = 2, .batch = (vitc_batch_mode)3}, "batch 3: expected VITC_BATCH_AUTO, VITC_BATCH_FOLD or"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
    out = (vitc_model *)&out;
    CHECK(vitc_model_load(MODEL, &bad[k].o, &out) == VITC_ERR_INVALID);
    CHECK(out == NULL);
    CHECK_MSG(vitc_last_error(), bad[k].msg);
  }
  CHECK(vitc_model_num_inputs(NULL) == -1);
  CHECK_MSG(vitc_last_error(), "vitc_model_num_inputs: the model is NULL");
  CHECK(vitc_model_num_outputs(NULL) == -1);
  CHECK_MSG(vitc_last_error(), "vitc_model_num_outputs: the model is NULL");
  CHECK(vitc_model_input(NULL, 0, &info) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "vitc_model_input: the model is NULL");
  CHECK(vitc_model_output(m, 0, NULL) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "vitc_model_output: info is NULL");
  CHECK(vitc_context_new(NULL, &c) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "vitc_context_new: the model is NULL");
  CHECK(vitc_context_new(m, NULL) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "vitc_context_new: out is NULL");
  /* A context with the default thread count reads VITC_NUM_THREADS: a typo there is an error, not a
   * silent fall-back to one thread per CPU. */
  vitc_options by_default = {.opt_level = VITC_OPT_DEFAULT};
  vitc_model *m0 = NULL;
  CHECK(vitc_model_load(MODEL, &by_default, &m0) == VITC_OK);
  setenv("VITC_NUM_THREADS", "many", 1);
  CHECK(vitc_context_new(m0, &c) == VITC_ERR_INVALID && c == NULL);
  CHECK_MSG(vitc_last_error(), "vitc_context_new: VITC_NUM_THREADS is 'many': expected a whole number from 1 to 1024");
  setenv("VITC_NUM_THREADS", "1", 1);
  CHECK(vitc_context_new(m0, &c) == VITC_OK && c);
  vitc_context_free(c);
  unsetenv("VITC_NUM_THREADS");
  vitc_model_free(m0);
  vitc_model_free(NULL);
  vitc_context_free(NULL);

  static float x[X_COUNT], z[Z_COUNT], logits[LOGITS_COUNT], both[BOTH_COUNT];
  const void *inputs[] = {x, z}, *one_null[] = {x, NULL};
  void *outputs[] = {logits, both}, *out_null[] = {NULL, both};
  size_t in_bytes[] = {sizeof x, sizeof z}, out_bytes[] = {sizeof logits, sizeof both};
  size_t short_out[] = {sizeof logits, sizeof both - 4};
  CHECK(vitc_context_new(m, &c) == VITC_OK);
  CHECK(vitc_run(NULL, inputs, outputs) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "vitc_run: the context is NULL");
  CHECK(vitc_run(c, NULL, NULL) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "vitc_run: inputs is NULL (the model has 2)");
  CHECK(vitc_run(c, one_null, outputs) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "vitc_run: inputs[1] is NULL");
  CHECK(vitc_run(c, inputs, NULL) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "vitc_run: outputs is NULL");
  CHECK(vitc_run(c, inputs, out_null) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "vitc_run: outputs[0] is NULL");
  CHECK(vitc_run_checked(NULL, inputs, in_bytes, 2, outputs, out_bytes, 2) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "vitc_run_checked: the context is NULL");
  CHECK(vitc_run_checked(c, inputs, in_bytes, 1, outputs, out_bytes, 2) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "1 inputs and 2 outputs given, the model has 2 and 2");
  CHECK(vitc_run_checked(c, inputs, in_bytes, 2, outputs, out_bytes, 3) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "2 inputs and 3 outputs given");
  CHECK(vitc_run_checked(c, inputs, NULL, 2, outputs, out_bytes, 2) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "vitc_run_checked: input_bytes is NULL");
  CHECK(vitc_run_checked(c, inputs, in_bytes, 2, outputs, NULL, 2) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "vitc_run_checked: output_bytes is NULL");
  CHECK(vitc_run_checked(c, one_null, in_bytes, 2, outputs, out_bytes, 2) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "vitc_run_checked: inputs[1] is NULL");
  CHECK(vitc_run_checked(c, inputs, in_bytes, 2, outputs, short_out, 2) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "outputs[1] ('both') has 2044 bytes, the model needs 2048");
  CHECK(vitc_run_checked(c, inputs, in_bytes, 2, outputs, out_bytes, 2) == VITC_OK);
  vitc_context_free(c);
}

/* An index out of range fed to compiled code stops the run with the evaluator's message; good indices
 * afterwards run. */
static void test_bad_index(int interpret) {
  vitc_options o = {.opt_level = VITC_OPT_DEFAULT, .interpret = interpret};
  vitc_model *m = NULL;
  vitc_context *c = NULL;
  CHECK(vitc_model_load(GATHER_MODEL, &o, &m) == VITC_OK);
  if (!m) return;
  CHECK(vitc_context_new(m, &c) == VITC_OK);
  int64_t indices[2] = {1000000000, 0};
  float y[6] = {0};
  CHECK(vitc_run(c, (const void *[]){indices}, (void *[]){y}) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "gather_rows/model.onnx: node 'rows' (Gather): index 1000000000 is out of range "
                               "for an axis of size 10");
  indices[0] = -11;
  CHECK(vitc_run(c, (const void *[]){indices}, (void *[]){y}) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "index -11 is out of range for an axis of size 10");
  indices[0] = -10;
  indices[1] = 9;
  CHECK(vitc_run(c, (const void *[]){indices}, (void *[]){y}) == VITC_OK);
  CHECK(y[0] == 0 && y[2] == 2 && y[3] == 27 && y[5] == 29);
  vitc_context_free(c);
  vitc_model_free(m);
}

/* The memory limit of vitc_options: the table of gather_rows is 120 bytes. */
static void test_memory_limit(void) {
  vitc_options o = {.opt_level = VITC_OPT_DEFAULT, .max_memory = 100};
  vitc_model *m = (vitc_model *)&m;
  CHECK(vitc_model_load(GATHER_MODEL, &o, &m) == VITC_ERR_INVALID);
  CHECK(m == NULL);
  CHECK_MSG(vitc_last_error(), "gather_rows/model.onnx");
  CHECK_MSG(vitc_last_error(), "above the memory limit of 100 bytes");
  o.max_memory = 1 << 20;
  CHECK(vitc_model_load(GATHER_MODEL, &o, &m) == VITC_OK);
  vitc_model_free(m);
}

/* Complete events ("ph":"X") in a trace file; -1 when it cannot be read. */
static int count_events(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  static char text[1 << 20];
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = 0;
  int count = 0;
  for (const char *p = text; (p = strstr(p, "\"ph\":\"X\"")); p++) count++;
  return count;
}

/* vitc_context_trace_start / _write: one event per node per run, restarted by a new start, bounded by
 * max_events; the errors name what went wrong. Also vitc_version. */
static void test_trace(const vitc_model *jit, const vitc_model *interp) {
  static float x[X_COUNT], z[Z_COUNT], logits[LOGITS_COUNT], both[BOTH_COUNT];
  const void *inputs[] = {x, z};
  void *outputs[] = {logits, both};
  char path[] = "/tmp/vitc-test-api-XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  vitc_context *ctx = NULL, *ref = NULL;
  CHECK(vitc_context_new(jit, &ctx) == VITC_OK && vitc_context_new(interp, &ref) == VITC_OK);
  if (!ctx || !ref) goto done;
  CHECK(vitc_context_trace_write(ctx, path) == VITC_ERR_INVALID);
  CHECK_MSG(vitc_last_error(), "no trace to write: call vitc_context_trace_start first");
  CHECK(vitc_context_trace_start(ctx, 10000) == VITC_OK);
  for (int r = 0; r < 3; r++) CHECK(vitc_run(ctx, inputs, outputs) == VITC_OK);
  CHECK(vitc_context_trace_write(ctx, path) == VITC_OK);
  int three = count_events(path);
  CHECK(three > 0 && three % 3 == 0);
  CHECK(vitc_context_trace_start(ctx, 10000) == VITC_OK); /* starts afresh */
  CHECK(vitc_run(ctx, inputs, outputs) == VITC_OK);
  CHECK(vitc_context_trace_write(ctx, path) == VITC_OK);
  CHECK(count_events(path) == three / 3);
  CHECK(vitc_context_trace_start(ctx, 1) == VITC_OK); /* room for one event: the rest are dropped */
  CHECK(vitc_run(ctx, inputs, outputs) == VITC_OK);
  CHECK(vitc_context_trace_write(ctx, path) == VITC_OK);
  CHECK(count_events(path) == 1);
  CHECK(vitc_context_trace_write(ctx, "/nonexistent/dir/trace.json") == VITC_ERR_IO);
  CHECK_MSG(vitc_last_error(), "/nonexistent/dir/trace.json");
  CHECK(vitc_context_trace_start(ref, 100) == VITC_ERR_UNSUPPORTED);
  CHECK_MSG(vitc_last_error(), "tracing records compiled code; this model is interpreted");
  CHECK(strchr(vitc_version(), '.') != NULL);
done:
  vitc_context_free(ctx); /* frees the trace too */
  vitc_context_free(ref);
  unlink(path);
}

/* vitc_run_batch on ViT loaded for one image of its symbolic batch: 3 images equal three vitc_run calls and
 * the evaluator's batch, also when the model is loaded again from the compile cache; a model without a
 * symbolic batch, a bound batch and n < 0 are refused. */
#define BATCH_MODEL "tests/models/vit_op17/model.onnx" /* input f32[batch,3,32,32] -> logits f32[batch,10] */
enum { IMAGE = 3 * 32 * 32, CLASSES = 10, IMAGES = 3 };
static void test_batch(const vitc_model *two_io) {
  vitc_options compiled = {.nthreads = 2, .opt_level = VITC_OPT_DEFAULT}, interpret = compiled, bound = compiled;
  interpret.interpret = 1;
  bound.shapes = (const char *const[]){"input=2x3x32x32"};
  bound.nshapes = 1;
  vitc_model *jit = NULL, *interp = NULL, *fixed = NULL;
  vitc_context *c = NULL, *ci = NULL, *cf = NULL, *c2 = NULL;
  CHECK(vitc_model_load(BATCH_MODEL, &compiled, &jit) == VITC_OK && vitc_context_new(jit, &c) == VITC_OK);
  CHECK(vitc_model_load(BATCH_MODEL, &interpret, &interp) == VITC_OK && vitc_context_new(interp, &ci) == VITC_OK);
  CHECK(vitc_model_load(BATCH_MODEL, &bound, &fixed) == VITC_OK && vitc_context_new(fixed, &cf) == VITC_OK);
  CHECK(vitc_context_new(two_io, &c2) == VITC_OK);
  static float images[IMAGES * IMAGE], batch[IMAGES * CLASSES], single[IMAGES * CLASSES], ref[IMAGES * CLASSES];
  fill(images, IMAGES * IMAGE, 7);
  if (c && ci) {
    CHECK(vitc_run_batch(c, IMAGES, (const void *[]){images}, (void *[]){batch}) == VITC_OK);
    CHECK(vitc_run_batch(ci, IMAGES, (const void *[]){images}, (void *[]){ref}) == VITC_OK);
    for (int i = 0; i < IMAGES; i++)
      CHECK(vitc_run(c, (const void *[]){images + i * IMAGE}, (void *[]){single + i * CLASSES}) == VITC_OK);
    CHECK(max_diff(batch, single, IMAGES * CLASSES) == 0);
    CHECK(max_diff(batch, ref, IMAGES * CLASSES) < 1e-4);
    CHECK(vitc_run_batch(c, 0, (const void *[]){images}, (void *[]){batch}) == VITC_OK);
    CHECK(vitc_run_batch(c, -1, (const void *[]){images}, (void *[]){batch}) == VITC_ERR_INVALID);
    CHECK_MSG(vitc_last_error(), "vitc_run_batch: n is -1");
    /* loaded again, the model comes from the compile cache (no graph behind it): it still runs batches */
    vitc_model *again = NULL;
    vitc_context *ca = NULL;
    static float from_cache[IMAGES * CLASSES];
    CHECK(vitc_model_load(BATCH_MODEL, &compiled, &again) == VITC_OK && vitc_context_new(again, &ca) == VITC_OK);
    if (ca) CHECK(vitc_run_batch(ca, IMAGES, (const void *[]){images}, (void *[]){from_cache}) == VITC_OK);
    CHECK(max_diff(from_cache, batch, IMAGES * CLASSES) == 0);
    vitc_context_free(ca);
    vitc_model_free(again);
  }
  /* loaded for 3 images: run image by image (forced) or folded (forced, and chosen for this tiny ViT's 17
   * rows per image), both the evaluator's batch; only the per-image one is batch-1 code (vitc_run_batch) */
  for (int mode = VITC_BATCH_FOLD; mode <= VITC_BATCH_PER_IMAGE; mode++) {
    vitc_options three = compiled;
    three.shapes = (const char *const[]){"input=3x3x32x32"};
    three.nshapes = 1;
    three.batch = (vitc_batch_mode)mode;
    vitc_model *m3 = NULL;
    vitc_context *c3 = NULL;
    vitc_io_info info = {0};
    static float out3[IMAGES * CLASSES];
    CHECK(vitc_model_load(BATCH_MODEL, &three, &m3) == VITC_OK && vitc_context_new(m3, &c3) == VITC_OK);
    CHECK(m3 && vitc_model_input(m3, 0, &info) == VITC_OK && info.dims[0] == IMAGES && info.bytes == sizeof images);
    if (c3) CHECK(vitc_run(c3, (const void *[]){images}, (void *[]){out3}) == VITC_OK);
    CHECK(max_diff(out3, ref, IMAGES * CLASSES) < 1e-4);
    if (mode == VITC_BATCH_PER_IMAGE) CHECK(max_diff(out3, batch, IMAGES * CLASSES) == 0);
    if (c3) CHECK((vitc_run_batch(c3, 1, (const void *[]){images}, (void *[]){out3}) == VITC_OK) ==
                  (mode == VITC_BATCH_PER_IMAGE));
    vitc_context_free(c3);
    vitc_model_free(m3);
  }
  static float two[2 * IMAGE], two_out[2 * CLASSES];
  if (cf) CHECK(vitc_run_batch(cf, 1, (const void *[]){two}, (void *[]){two_out}) == VITC_ERR_INVALID);
  CHECK(strstr(vitc_last_error(), "not loaded for one image of a symbolic batch") != NULL);
  float x[X_COUNT] = {0}, z[Z_COUNT] = {0}, logits[LOGITS_COUNT], both[BOTH_COUNT];
  if (c2) CHECK(vitc_run_batch(c2, 1, (const void *[]){x, z}, (void *[]){logits, both}) == VITC_ERR_INVALID);
  vitc_context_free(c);
  vitc_context_free(ci);
  vitc_context_free(cf);
  vitc_context_free(c2);
  vitc_model_free(jit);
  vitc_model_free(interp);
  vitc_model_free(fixed);
}

/* A model whose constants fit only its batch (tests/graphs/batch_constant: x f32[N,2,2] reshaped to the
 * written-out [2,4], plus 1) loads for 2 images in every batch mode, folded: it has no batch-1 graph to run
 * image by image, so its batch runs as one (vitc_run_batch refuses it). */
static void test_batch_constant(void) {
  static const float x[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  for (int mode = VITC_BATCH_AUTO; mode <= VITC_BATCH_PER_IMAGE; mode++) {
    vitc_options o = {.nthreads = 2, .opt_level = VITC_OPT_DEFAULT, .batch = (vitc_batch_mode)mode,
                      .shapes = (const char *const[]){"x=2x2x2"}, .nshapes = 1};
    vitc_model *m = NULL;
    vitc_context *c = NULL;
    float y[8] = {0};
    CHECK(vitc_model_load("tests/graphs/batch_constant/model.onnx", &o, &m) == VITC_OK && vitc_context_new(m, &c) == VITC_OK);
    if (c) CHECK(vitc_run(c, (const void *[]){x}, (void *[]){y}) == VITC_OK);
    for (int i = 0; i < 8; i++) CHECK(y[i] == x[i] + 1);
    if (c) CHECK(vitc_run_batch(c, 1, (const void *[]){x}, (void *[]){y}) == VITC_ERR_INVALID);
    vitc_context_free(c);
    vitc_model_free(m);
  }
}

int main(void) {
  vitc_model *jit = NULL, *interp = NULL;
  vitc_options interpret = {.interpret = 1, .nthreads = 2, .opt_level = VITC_OPT_DEFAULT},
               compiled = {.nthreads = 2, .opt_level = VITC_OPT_DEFAULT};
  CHECK(vitc_model_load(MODEL, &compiled, &jit) == VITC_OK);
  CHECK(vitc_model_load(MODEL, &interpret, &interp) == VITC_OK);
  if (!jit || !interp) {
    fprintf(stderr, "loading %s: %s\n", MODEL, vitc_last_error());
    CHECK_DONE();
  }
  test_query(jit);
  test_query(interp);
  test_threads(jit, interp);
  test_load_errors();
  test_bad_arguments(jit);
  test_bad_index(0);
  test_bad_index(1);
  test_memory_limit();
  test_trace(jit, interp);
  test_batch(jit);
  test_batch_constant();
  vitc_model_free(jit);
  vitc_model_free(interp);
  CHECK_DONE();
}
