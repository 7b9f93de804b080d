/* fuzz_model.c — model loading, verification and the whole pass pipeline on arbitrary bytes. */
#include "fuzz.h" /* first: it defines _GNU_SOURCE */
#include "frontend/frontend.h"
#include "passes/passes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[64];
  int fd = fuzz_memory_file(data, size, path, sizeof path);
  if (fd < 0) return 0;
  vitc_graph *g = NULL;
  vitc_error err = {0};
  if (vitc_load_onnx(path, NULL, &g, &err) == VITC_OK && vitc_verify(g, false, &err) == VITC_OK) {
    vitc_pass_options opts = {.opt_level = 2, .verify_each = true};
    vitc_run_passes(g, &opts, &err);
  }
  vitc_graph_free(g);
  close(fd);
  return 0;
}
