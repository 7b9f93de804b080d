/* aot_host.c — classifies an image with the demo ViT compiled ahead of time. The program needs no LLVM
 * and no ONNX at run time: only demo.o, demo.h and libvitc_rt.a.
 *
 *   build/vitc compile tests/models/demo/model.onnx -o build/demo.o --name demo
 *   cc -O2 -Ibuild examples/aot_host.c examples/host_io.c build/demo.o build/libvitc_rt.a -lm -lpthread -o build/aot_host
 *   build/aot_host tests/models/demo/test_data_set_0/input_0.pb tests/models/demo/labels.txt
 *
 * usage: aot_host IMAGE [LABELS] [--expect LOGITS.pb] [--iters N]
 *   IMAGE   float32 NCHW, a TensorProto .pb, a .npy or raw float32 (host_io.h)
 *   LABELS  one class name per line
 *   --expect  compare the logits with a reference; exit 1 on a different top-1 class
 *   --iters   inferences to time after a warm-up run (default 20) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "host_io.h"

int main(int argc, char **argv) {
  const char *image_path = NULL, *labels = NULL, *expect = NULL;
  int iters = 20, extra = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--expect") && i + 1 < argc) expect = argv[++i];
    else if (!strcmp(argv[i], "--iters") && i + 1 < argc) iters = atoi(argv[++i]);
    else if (!image_path) image_path = argv[i];
    else if (!labels) labels = argv[i];
    else extra++;
  }
  if (!image_path || iters < 1 || extra) {
    fprintf(stderr, "usage: %s IMAGE [LABELS] [--expect LOGITS.pb] [--iters N]\n", argv[0]);
    return 2;
  }

  char err[512];
  float *image = host_read_f32(image_path, DEMO_INPUT0_COUNT, err, sizeof err);
  if (!image) {
    fprintf(stderr, "%s\n", err);
    return 2;
  }
  vitc_rt_ctx *ctx = demo_create();
  if (!ctx) {
    fprintf(stderr, "demo_create: %s\n", *vitc_rt_last_error() ? vitc_rt_last_error() : "out of memory");
    free(image);
    return 2;
  }
  static float logits[DEMO_OUTPUT0_COUNT];
  demo_run(ctx, image, logits); /* warm-up: first touch of the scratch and the weights */
  double start = host_seconds();
  for (int i = 0; i < iters; i++) demo_run(ctx, image, logits);
  double per_run = (host_seconds() - start) / iters;
  demo_destroy(ctx);
  free(image);

  printf("%s: top-5 of %d classes\n", image_path, DEMO_OUTPUT0_COUNT);
  host_print_top_k(logits, DEMO_OUTPUT0_COUNT, 5, labels);
  printf("%.3f ms per inference (mean of %d)\n", per_run * 1e3, iters);
  return expect ? host_check_reference(logits, DEMO_OUTPUT0_COUNT, expect) : 0;
}
