/* host_two_io.c — the test host for tests/graphs/aot_two_io compiled by `vitc compile --name two_io`:
 * runs it on test_data_set_0 and compares both outputs with the expected ones. The tests/aot scripts build it
 * with cc against two_io.o, examples/host_io.c and libvitc_rt.a; with -DMAPPED_WEIGHTS for a model
 * compiled with --weights FILE, which it then maps from its second argument.
 *
 * usage: host_two_io DATA_DIR [WEIGHTS]   exit 0 match, 1 mismatch, 2 error (message on stderr) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_io.h"
#include "two_io.h"

/* The header's shape macros must state the model's shapes. */
static int check_header(void) {
  static const int64_t in0[] = TWO_IO_INPUT0_SHAPE, in1[] = TWO_IO_INPUT1_SHAPE;
  static const int64_t out0[] = TWO_IO_OUTPUT0_SHAPE, out1[] = TWO_IO_OUTPUT1_SHAPE;
  return TWO_IO_NUM_INPUTS == 2 && TWO_IO_NUM_OUTPUTS == 2 && TWO_IO_INPUT0_RANK == 2 && in0[0] == 4 &&
         in0[1] == 64 && in1[0] == 64 && in1[1] == 4 && out0[0] == 64 && out0[1] == 4 && out1[0] == 64 &&
         out1[1] == 8 && TWO_IO_OUTPUT1_COUNT == 512;
}

#ifdef MAPPED_WEIGHTS
#define ARGS "DATA_DIR WEIGHTS"
#define NARGS 3
#else
#define ARGS "DATA_DIR"
#define NARGS 2
#endif

int main(int argc, char **argv) {
  if (argc != NARGS) {
    fprintf(stderr, "usage: %s " ARGS "\n", argv[0]);
    return 2;
  }
  if (!check_header()) {
    fprintf(stderr, "two_io.h: the shape macros do not match the model\n");
    return 1;
  }
  static const char *const files[] = {"input_0.pb", "input_1.pb", "output_0.pb", "output_1.pb"};
  static const size_t counts[] = {TWO_IO_INPUT0_COUNT, TWO_IO_INPUT1_COUNT, TWO_IO_OUTPUT0_COUNT,
                                  TWO_IO_OUTPUT1_COUNT};
  float *data[4] = {0};
  char path[4096], err[512] = "";
  int status = 0;
  for (int i = 0; i < 4 && !status; i++) {
    snprintf(path, sizeof path, "%s/%s", argv[1], files[i]);
    if (!(data[i] = host_read_f32(path, counts[i], err, sizeof err))) status = 2;
  }
#ifdef MAPPED_WEIGHTS
  vitc_rt_ctx *ctx = status ? NULL : two_io_create_mapped(argv[2], err, sizeof err);
#else
  vitc_rt_ctx *ctx = status ? NULL : two_io_create();
  if (!status && !ctx) snprintf(err, sizeof err, "two_io_create: out of memory");
#endif
  if (!status && !ctx) status = 2;
  static float logits[TWO_IO_OUTPUT0_COUNT], both[TWO_IO_OUTPUT1_COUNT];
  if (!status && two_io_run(ctx, data[0], data[1], logits, both)) {
    snprintf(err, sizeof err, "two_io_run failed");
    status = 2;
  }
  if (status) fprintf(stderr, "%s\n", err);
  else {
    double d0 = host_max_abs_diff(logits, data[2], TWO_IO_OUTPUT0_COUNT);
    double d1 = host_max_abs_diff(both, data[3], TWO_IO_OUTPUT1_COUNT);
    status = d0 <= 1e-5 && d1 <= 1e-5 ? 0 : 1;
    printf("signature:\n%soutputs: max |difference| %.3g and %.3g: %s\n", two_io_signature, d0, d1,
           status ? "MISMATCH" : "match");
  }
  two_io_destroy(ctx);
  for (int i = 0; i < 4; i++) free(data[i]);
  return status;
}
