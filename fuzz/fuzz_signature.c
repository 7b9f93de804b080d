/* fuzz_signature.c — the NAME_signature text of a shared library, as `vitc run LIB.so` parses it. */
#include "fuzz.h" /* first: it defines _GNU_SOURCE */
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = 0;
  vitc_io_desc ins[4], outs[4];
  int nin, nout;
  vitc_error err = {0};
  vitc_parse_signature(text, ins, 4, &nin, outs, 4, &nout, &err);
  free(text);
  return 0;
}
