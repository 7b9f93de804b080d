/* fuzz_tensor.c — tensor files: TensorProto (.pb) and .npy through vitc_read_tensor_file, .npz archives
 * through vitc_read_npz. */
#include "fuzz.h" /* first: it defines _GNU_SOURCE */
#include <stdlib.h>

#include "frontend/frontend.h"

static vitc_status drop(void *user, const char *name, vitc_value *v, vitc_error *err) {
  free(v->data);
  return VITC_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[64];
  int fd = fuzz_memory_file(data, size, path, sizeof path);
  if (fd < 0) return 0;
  vitc_value v;
  char *name = NULL;
  vitc_error err = {0};
  if (vitc_read_tensor_file(path, &v, &name, &err) == VITC_OK) free(v.data);
  free(name);
  vitc_read_npz(path, drop, NULL, &err);
  close(fd);
  return 0;
}
