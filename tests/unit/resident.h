/* resident.h — how much of a mapping is in memory, for tests of what compilation leaves resident. */
#ifndef VITC_TEST_RESIDENT_H
#define VITC_TEST_RESIDENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The resident kilobytes of the mapping at addr (/proc/self/smaps), -1 when it is not found. */
static long resident_kb(const void *addr) {
  FILE *f = fopen("/proc/self/smaps", "r");
  char line[512];
  long kb = -1;
  bool in = false;
  while (f && fgets(line, sizeof line, f)) {
    unsigned long start, end;
    if (sscanf(line, "%lx-%lx ", &start, &end) == 2 && strchr(line, '-') < strchr(line, ' '))
      in = (uintptr_t)addr >= start && (uintptr_t)addr < end;
    else if (in && sscanf(line, "Rss: %ld kB", &kb) == 1)
      break;
  }
  if (f) fclose(f);
  return kb;
}

#endif
