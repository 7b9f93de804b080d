/* map_file.c — a whole file, mapped read-only, for protobuf parsing.
 *
 * Mapping rather than reading keeps a 350 MB model out of anonymous memory: its inline weights are read
 * in place from the mapping (inline_weights.c), whose pages the kernel can drop and read again. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend_internal.h"

vitc_status fe_map_file(const char *path, fe_file *f, vitc_error *err) {
  f->data = NULL;
  f->len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return vitc_fail(err, VITC_ERR_IO, "cannot open: %s", strerror(errno));
  struct stat st;
  if (fstat(fd, &st) < 0) {
    int e = errno;
    close(fd);
    return vitc_fail(err, VITC_ERR_IO, "cannot stat: %s", strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return vitc_fail(err, VITC_ERR_IO, "not a regular file");
  }
  if (st.st_size > 0) {
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      close(fd);
      return vitc_fail(err, VITC_ERR_IO, "cannot map: %s", strerror(e));
    }
    f->data = p;
    f->len = (size_t)st.st_size;
  }
  close(fd);
  return VITC_OK;
}

void fe_unmap_file(fe_file *f) {
  if (f->data) munmap((void *)f->data, f->len);
  f->data = NULL;
  f->len = 0;
}
