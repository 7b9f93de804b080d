/* fuzz.h — what the fuzz targets share: each target is one file defining LLVMFuzzerTestOneInput, built
 * twice: with libFuzzer (clang -fsanitize=fuzzer,address,undefined; `make fuzz`) to search for crashes,
 * and with replay.c's main (the normal build; ctest fuzz.replay.*) to run every input that ever crashed
 * (fuzz/regressions/TARGET/) and the seeds on each `make test`.
 *
 * A target may fail with any vitc_status; it must never crash, hang, leak or trip a sanitizer. */
#ifndef VITC_FUZZ_H
#define VITC_FUZZ_H

#define _GNU_SOURCE /* memfd_create */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The loaders read files: the input becomes an anonymous in-memory file reachable by path (no disk
 * traffic, nothing left behind). Returns the descriptor (close it after use) and writes the path. */
static inline int fuzz_memory_file(const uint8_t *data, size_t size, char *path, size_t path_len) {
  int fd = memfd_create("vitc-fuzz", 0);
  if (fd < 0) return -1;
  for (size_t done = 0; done < size;) {
    ssize_t k = write(fd, data + done, size - done);
    if (k <= 0) {
      close(fd);
      return -1;
    }
    done += (size_t)k;
  }
  snprintf(path, path_len, "/proc/self/fd/%d", fd);
  return fd;
}

#endif
