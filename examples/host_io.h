/* host_io.h — what the example hosts share: float32 tensors from files, labels, top-k, a clock.
 *
 * No protobuf library: a path ending in ".pb" is read as an ONNX TensorProto holding float32 data (what
 * onnx.numpy_helper writes, e.g. test_data_set_0/input_0.pb of the backend-test layout); a file starting
 * with numpy's magic is a float32 .npy (numpy.save); any other path is raw little-endian float32 (what
 * `numpy.ndarray.tofile` writes, or a camera's buffer). */
#ifndef VITC_EXAMPLES_HOST_IO_H
#define VITC_EXAMPLES_HOST_IO_H

#include <stddef.h>

/* Reads exactly `count` floats from path into a malloc'd buffer; NULL with the reason in err. */
float *host_read_f32(const char *path, size_t count, char *err, size_t errlen);

/* Index of the largest of v[0..n). */
int host_argmax(const float *v, int n);

/* Prints the k largest logits, each with its line of labels_path (NULL: the class number alone). */
void host_print_top_k(const float *logits, int n, int k, const char *labels_path);

/* Largest |got - want| over n values. */
double host_max_abs_diff(const float *got, const float *want, size_t n);

/* Compares logits with the reference in ref_path: prints the top-1 of both and the largest difference;
 * returns 0 when the top-1 classes agree and every logit is within 1e-3 of the largest reference logit,
 * 1 when not, 2 when ref_path cannot be read. */
int host_check_reference(const float *logits, int n, const char *ref_path);

/* A monotonic clock in seconds. */
double host_seconds(void);

#endif
