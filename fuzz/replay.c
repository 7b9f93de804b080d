/* replay.c — runs a fuzz target over files and directories of inputs without libFuzzer, so that every
 * input that ever crashed stays a test: `replay_TARGET PATH…` exits 0 when all inputs ran. */
#include "fuzz.h" /* first: it defines _GNU_SOURCE */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return perror(path), 1;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  rewind(f);
  uint8_t *data = malloc(size > 0 ? (size_t)size : 1);
  size_t got = data ? fread(data, 1, (size_t)size, f) : 0;
  fclose(f);
  if (!data || got != (size_t)size) return free(data), fprintf(stderr, "%s: cannot read\n", path), 1;
  LLVMFuzzerTestOneInput(data, got);
  free(data);
  return 0;
}

static int run_path(const char *path, int *count) {
  struct stat st;
  if (stat(path, &st)) return perror(path), 1;
  if (!S_ISDIR(st.st_mode)) return ++*count, run_file(path);
  DIR *d = opendir(path);
  if (!d) return perror(path), 1;
  int failed = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.') continue;
    char child[4096];
    snprintf(child, sizeof child, "%s/%s", path, e->d_name);
    failed |= run_path(child, count);
  }
  closedir(d);
  return failed;
}

int main(int argc, char **argv) {
  int count = 0, failed = 0;
  for (int a = 1; a < argc; a++) failed |= run_path(argv[a], &count);
  printf("%d inputs replayed\n", count);
  return failed || count == 0;
}
