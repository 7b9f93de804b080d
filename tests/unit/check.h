/* check.h — the unit tests' assertions. Each failing CHECK prints where and why and counts; main ends
 * with CHECK_DONE(), which prints "N passed, N failed" and sets the exit code: a file that ran no check
 * fails too, since it tested nothing. */
#ifndef VITC_TEST_CHECK_H
#define VITC_TEST_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                      \
  do {                                                                   \
    if (cond) check_passed++;                                            \
    else {                                                               \
      check_failed++;                                                    \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
    }                                                                    \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                                      \
  do {                                                                                             \
    double check_a_ = (a), check_b_ = (b);                                                         \
    if (fabs(check_a_ - check_b_) <= (tol)) check_passed++;                                        \
    else {                                                                                         \
      check_failed++;                                                                              \
      fprintf(stderr, "%s:%d: %s = %.9g, expected %s = %.9g\n", __FILE__, __LINE__, #a, check_a_, #b, \
              check_b_);                                                                           \
    }                                                                                              \
  } while (0)

/* The message must contain the substring. */
#define CHECK_MSG(msg, substr)                                                                       \
  do {                                                                                               \
    if (strstr((msg), (substr))) check_passed++;                                                     \
    else {                                                                                           \
      check_failed++;                                                                                \
      fprintf(stderr, "%s:%d: message \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, (msg), (substr)); \
    }                                                                                                \
  } while (0)

#define CHECK_DONE()                                                     \
  do {                                                                   \
    printf("%d passed, %d failed\n", check_passed, check_failed);        \
    if (!check_passed && !check_failed) fprintf(stderr, "no check ran\n"); \
    return check_failed || !check_passed ? 1 : 0;                        \
  } while (0)

#endif
