/* accuracy.c — bf16 against fp32 on one model through the public API (include/vitc.h): the same random
 * inputs (standard normal, fixed seed) run through the model compiled both ways, and the first output
 * (the logits) compared. Prints the max absolute error, the max error relative to the fp32 logit range
 * (max - min of each sample's logits), the max relative error of the fp32 top-1 logit, and the top-1 and
 * top-5 agreement (the same class; the same set of five classes). Built by hand:
 *   gcc -std=gnu11 -O2 -I include bench/accuracy.c -o /tmp/accuracy BUILD/libvitc.a BUILD/libonnx_proto.a \
 *       BUILD/libvitc_rt.a -lprotobuf-c -L/usr/lib/llvm-16/lib -lLLVM-16 -lffi -lz -lm -lpthread
 * Usage: accuracy MODEL.onnx [SAMPLES (default 300)] [THREADS (default 0: one per CPU)]
 * The model's first input must be float32 (others are filled the same way when they are). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitc.h"

#define MAX_IO 8

static double normal(unsigned long long *s) { /* Box-Muller over a 64-bit LCG */
  double u[2];
  for (int i = 0; i < 2; i++) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    u[i] = ((double)(*s >> 11) + 0.5) / 9007199254740992.0;
  }
  return sqrt(-2 * log(u[0])) * cos(6.283185307179586 * u[1]);
}

/* The indices of the 5 largest of x[0..n) (fewer when n < 5), largest first. */
static int top5(const float *x, int64_t n, int64_t idx[5]) {
  int k = 0;
  for (int64_t i = 0; i < n; i++) {
    int at = k < 5 ? k++ : 5;
    while (at > 0 && x[i] > x[idx[at - 1]]) {
      if (at < 5) idx[at] = idx[at - 1];
      at--;
    }
    if (at < 5) idx[at] = i;
  }
  return k;
}

static vitc_model *load(const char *path, vitc_precision p, int threads) {
  vitc_options o = VITC_OPTIONS_DEFAULT;
  o.precision = p;
  o.nthreads = threads;
  vitc_model *m = NULL;
  if (vitc_model_load(path, &o, &m)) fprintf(stderr, "accuracy: %s: %s\n", path, vitc_last_error());
  return m;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL.onnx [SAMPLES] [THREADS]\n", argv[0]);
    return 2;
  }
  int samples = argc > 2 ? atoi(argv[2]) : 300, threads = argc > 3 ? atoi(argv[3]) : 0;
  vitc_model *m[2] = {load(argv[1], VITC_PRECISION_FP32, threads), load(argv[1], VITC_PRECISION_BF16, threads)};
  if (!m[0] || !m[1]) return 1;
  int nin = vitc_model_num_inputs(m[0]);
  vitc_io_info in[MAX_IO], out;
  void *ins[MAX_IO], *outs[2][MAX_IO];
  if (nin > MAX_IO || vitc_model_num_outputs(m[0]) > MAX_IO) return fprintf(stderr, "accuracy: too many inputs or outputs\n"), 1;
  for (int i = 0; i < nin; i++) {
    vitc_model_input(m[0], i, &in[i]);
    if (in[i].dtype != VITC_F32) return fprintf(stderr, "accuracy: input %d is not float32\n", i), 1;
    ins[i] = malloc(in[i].bytes);
  }
  for (int k = 0; k < 2; k++)
    for (int o = 0; o < vitc_model_num_outputs(m[0]); o++) {
      vitc_model_output(m[0], o, &out);
      outs[k][o] = malloc(out.bytes);
    }
  vitc_model_output(m[0], 0, &out);
  int64_t n = (int64_t)(out.bytes / sizeof(float)), classes = out.rank ? out.dims[out.rank - 1] : 1;
  vitc_context *c[2];
  if (vitc_context_new(m[0], &c[0]) || vitc_context_new(m[1], &c[1]))
    return fprintf(stderr, "accuracy: %s\n", vitc_last_error()), 1;
  unsigned long long seed = 20261207;
  double max_abs = 0, max_of_range = 0, max_rel_top1 = 0;
  int agree1 = 0, agree5 = 0, rows = 0;
  for (int s = 0; s < samples; s++) {
    for (int i = 0; i < nin; i++)
      for (size_t e = 0; e < in[i].bytes / sizeof(float); e++) ((float *)ins[i])[e] = (float)normal(&seed);
    for (int k = 0; k < 2; k++)
      if (vitc_run(c[k], (const void *const *)ins, outs[k])) return fprintf(stderr, "accuracy: %s\n", vitc_last_error()), 1;
    const float *ref = outs[0][0], *got = outs[1][0];
    for (int64_t r = 0; r < n / classes; r++, rows++) { /* each row of logits (batch) is one sample */
      const float *x = ref + r * classes, *y = got + r * classes;
      float lo = x[0], hi = x[0];
      double err = 0;
      for (int64_t j = 0; j < classes; j++) {
        lo = x[j] < lo ? x[j] : lo;
        hi = x[j] > hi ? x[j] : hi;
        err = fmax(err, fabs((double)y[j] - x[j]));
      }
      int64_t tx[5], ty[5];
      int kx = top5(x, classes, tx);
      top5(y, classes, ty);
      max_abs = fmax(max_abs, err);
      if (hi > lo) max_of_range = fmax(max_of_range, err / (hi - lo));
      if (x[tx[0]] != 0) max_rel_top1 = fmax(max_rel_top1, fabs(((double)y[tx[0]] - x[tx[0]]) / x[tx[0]]));
      agree1 += tx[0] == ty[0];
      int same = 1;
      for (int a = 0; a < kx; a++) {
        int found = 0;
        for (int b = 0; b < kx; b++) found |= tx[a] == ty[b];
        same &= found;
      }
      agree5 += same;
    }
  }
  printf("%s: %d samples, %lld classes: max abs err %.3g, max err / logit range %.3g%%, max rel err of the "
         "top-1 logit %.3g%%, top-1 agreement %.1f%%, top-5 agreement %.1f%%\n",
         argv[1], rows, (long long)classes, max_abs, 100 * max_of_range, 100 * max_rel_top1, 100.0 * agree1 / rows,
         100.0 * agree5 / rows);
  for (int k = 0; k < 2; k++) {
    vitc_context_free(c[k]);
    vitc_model_free(m[k]);
  }
  return 0;
}
