/* jit_host.c — classifies an image with a model compiled at run time through the public API
 * (include/vitc.h): load and JIT-compile, ask the model for its inputs and outputs, run.
 *
 *   cmake --install build --prefix P
 *   cc -O2 examples/jit_host.c examples/host_io.c $(PKG_CONFIG_PATH=P/lib/pkgconfig pkg-config --cflags --libs vitc) \
 *      -lm -Wl,-rpath,P/lib -o build/jit_host
 *   build/jit_host tests/models/demo/model.onnx tests/models/demo/test_data_set_0/input_0.pb tests/models/demo/labels.txt
 *
 * (`make` also builds this host as build/examples/jit_host.)
 *
 * usage: jit_host MODEL IMAGE [LABELS] [--expect LOGITS.pb] [--iters N] [--threads N] [--interpret]
 *                [--trace FILE]
 *   IMAGE   the model's one float32 input, a TensorProto .pb, a .npy or raw float32 (host_io.h)
 *   LABELS  one class name per line, for output 0
 *   --expect     compare output 0 with a reference; exit 1 on a different top-1 class
 *   --iters      inferences to time after a warm-up run (default 20)
 *   --threads    threads of the compiled code (default: $VITC_NUM_THREADS, else the CPUs it may use)
 *   --interpret  run the reference evaluator instead of compiled code
 *   --trace      write the timed runs as Chrome trace-event JSON (vitc_context_trace_start/_write) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_io.h"
#include "vitc.h"

static void print_io(const char *kind, int i, const vitc_io_info *info) {
  printf("%s %d: %s %s[", kind, i, info->name, vitc_dtype_name(info->dtype));
  for (int r = 0; r < info->rank; r++) printf(r ? ",%lld" : "%lld", (long long)info->dims[r]);
  printf("]\n");
}

int main(int argc, char **argv) {
  const char *model_path = NULL, *image_path = NULL, *labels = NULL, *expect = NULL, *trace = NULL;
  int iters = 20, extra = 0;
  vitc_options opts = VITC_OPTIONS_DEFAULT;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--expect") && i + 1 < argc) expect = argv[++i];
    else if (!strcmp(argv[i], "--iters") && i + 1 < argc) iters = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) opts.nthreads = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--interpret")) opts.interpret = 1;
    else if (!strcmp(argv[i], "--trace") && i + 1 < argc) trace = argv[++i];
    else if (!model_path) model_path = argv[i];
    else if (!image_path) image_path = argv[i];
    else if (!labels) labels = argv[i];
    else extra++;
  }
  if (!image_path || iters < 1 || opts.nthreads < 0 || extra) {
    fprintf(stderr, "usage: %s MODEL IMAGE [LABELS] [--expect LOGITS.pb] [--iters N] [--threads N] [--interpret]\n"
                    "       [--trace FILE]\n",
            argv[0]);
    return 2;
  }

  vitc_model *model = NULL;
  double start = host_seconds();
  if (vitc_model_load(model_path, &opts, &model)) {
    fprintf(stderr, "%s\n", vitc_last_error());
    return 2;
  }
  printf("%s: loaded and %s in %.0f ms\n", model_path, opts.interpret ? "checked" : "compiled",
         (host_seconds() - start) * 1e3);
  int nin = vitc_model_num_inputs(model), nout = vitc_model_num_outputs(model);
  vitc_io_info in, out;
  for (int i = 0; i < nin; i++)
    if (!vitc_model_input(model, i, &in)) print_io("input", i, &in);
  for (int k = 0; k < nout; k++)
    if (!vitc_model_output(model, k, &out)) print_io("output", k, &out);
  vitc_model_input(model, 0, &in);
  vitc_model_output(model, 0, &out);
  if (nin != 1 || in.dtype != VITC_F32 || out.dtype != VITC_F32) {
    fprintf(stderr, "%s: this host feeds one float32 input and reads a float32 output 0\n", model_path);
    vitc_model_free(model);
    return 2;
  }

  char err[512];
  int status = 2;
  float *image = host_read_f32(image_path, in.bytes / sizeof(float), err, sizeof err);
  void **outputs = calloc((size_t)nout, sizeof *outputs);
  vitc_context *ctx = NULL;
  int allocated = outputs != NULL;
  for (int k = 0; allocated && k < nout; k++) {
    vitc_io_info info;
    vitc_model_output(model, k, &info);
    allocated = (outputs[k] = malloc(info.bytes ? info.bytes : 1)) != NULL;
  }
  if (!image) fprintf(stderr, "%s\n", err);
  else if (!allocated) fprintf(stderr, "out of memory\n");
  else if (vitc_context_new(model, &ctx)) fprintf(stderr, "%s\n", vitc_last_error());
  else {
    const void *inputs[1] = {image};
    vitc_status st = vitc_run(ctx, inputs, outputs); /* warm-up */
    /* The timed runs, traced when asked: one event per node per run, written after them. */
    if (!st && trace) st = vitc_context_trace_start(ctx, 100000);
    start = host_seconds();
    for (int i = 0; !st && i < iters; i++) st = vitc_run(ctx, inputs, outputs);
    double per_run = (host_seconds() - start) / iters;
    if (!st && trace) st = vitc_context_trace_write(ctx, trace);
    if (st) fprintf(stderr, "%s\n", vitc_last_error());
    else {
      int n = (int)(out.bytes / sizeof(float));
      printf("%s: top-5 of %d classes\n", image_path, n);
      host_print_top_k(outputs[0], n, 5, labels);
      printf("%.3f ms per inference (mean of %d)\n", per_run * 1e3, iters);
      status = expect ? host_check_reference(outputs[0], n, expect) : 0;
    }
  }
  vitc_context_free(ctx);
  for (int k = 0; outputs && k < nout; k++) free(outputs[k]);
  free(outputs);
  free(image);
  vitc_model_free(model);
  return status;
}
