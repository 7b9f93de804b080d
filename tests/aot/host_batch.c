/* host_batch.c — the test host for tests/models/vit_op17 compiled once by `vitc compile --name vit` with
 * its batch axis left symbolic: runs vit_run_batch on the N images of a data set and compares the logits
 * with torch's (tests/aot/batch.sh runs it at batch 1, 4 and 32).
 *
 * usage: host_batch DATA_DIR N   exit 0 match, 1 mismatch, 2 error (message on stderr) */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "host_io.h"
#include "vit.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s DATA_DIR N\n", argv[0]);
    return 2;
  }
  static const int64_t image[] = VIT_INPUT0_SHAPE;
  if (!VIT_PER_IMAGE || image[0] != 1) {
    fprintf(stderr, "vit.h: the sizes are not those of one image\n");
    return 1;
  }
  int64_t n = atoll(argv[2]);
  char path[4096], err[512] = "";
  snprintf(path, sizeof path, "%s/input_0.pb", argv[1]);
  float *in = host_read_f32(path, (size_t)n * VIT_INPUT0_COUNT, err, sizeof err), *want = NULL;
  snprintf(path, sizeof path, "%s/output_0.pb", argv[1]);
  if (in) want = host_read_f32(path, (size_t)n * VIT_OUTPUT0_COUNT, err, sizeof err);
  float *got = malloc(sizeof *got * (size_t)n * VIT_OUTPUT0_COUNT);
  vitc_rt_ctx *ctx = in && want && got ? vit_create() : NULL;
  int status = ctx ? 0 : 2;
  if (!ctx && !*err) snprintf(err, sizeof err, "vit_create: out of memory");
  if (!status && vit_run_batch(ctx, n, in, got)) {
    snprintf(err, sizeof err, "vit_run_batch failed: %s", vit_last_error(ctx));
    status = 2;
  }
  if (status) fprintf(stderr, "%s\n", err);
  else {
    double worst = 0; /* |got - want| beyond the tolerance of vitc check: 1e-5 + 1e-4·|want| */
    for (int64_t i = 0; i < n * VIT_OUTPUT0_COUNT; i++)
      worst = fmax(worst, fabs(got[i] - want[i]) - (1e-5 + 1e-4 * fabs(want[i])));
    status = worst <= 0 ? 0 : 1;
    printf("batch %lld: max |difference| %.3g: %s\n", (long long)n,
           host_max_abs_diff(got, want, (size_t)n * VIT_OUTPUT0_COUNT), status ? "MISMATCH" : "match");
  }
  vit_destroy(ctx);
  free(in);
  free(want);
  free(got);
  return status;
}
