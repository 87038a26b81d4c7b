/* A C program embedding the ssm runtime: loads an artifact that ssmc wrote,
 * prints its functions' signatures, runs the first function on inputs filled
 * with a deterministic pattern, and prints a checksum of each output.
 *
 *   ssm-example-run ARTIFACT_DIR [SIZE]
 *
 * Every dynamic dimension is given SIZE (default 8), which keeps dims the
 * function needs equal (its manifest's equal_dims) equal. Only the public C
 * API (ssm/runtime.h) is used. */
#include <ssm/runtime.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints a status's message and frees it; returns 1 if it was an error. */
static int report(ssm_status_t status, const char *what) {
  if (!status)
    return 0;
  fprintf(stderr, "ssm-example-run: %s: %s (%s)\n", what,
          ssm_status_message(status),
          ssm_status_code_name(ssm_status_code(status)));
  ssm_status_free(status);
  return 1;
}

static void print_signature(const char *kind, size_t index,
                            const ssm_tensor_signature_t *signature) {
  const char *dtype = ssm_dtype_name(signature->dtype);
  printf("  %s %zu %s: %s[", kind, index, signature->name, dtype ? dtype : "?");
  for (int32_t d = 0; d < signature->ndim; ++d) {
    if (signature->shape[d] < 0)
      printf("%s?", d ? ", " : "");
    else
      printf("%s%lld", d ? ", " : "", (long long)signature->shape[d]);
  }
  printf("]\n");
}

/* Size in bytes of a compact tensor, or 0 on overflow of size_t. */
static size_t tensor_bytes(const DLTensor *tensor) {
  size_t bytes = tensor->dtype.bits / 8u;
  for (int32_t d = 0; d < tensor->ndim; ++d) {
    size_t extent = (size_t)tensor->shape[d];
    if (extent != 0 && bytes > (size_t)-1 / extent)
      return 0;
    bytes *= extent;
  }
  return bytes;
}

/* Allocates a tensor of `signature`'s dtype and `shape` (64-byte aligned and
 * never NULL, even when empty). */
static int allocate(DLTensor *tensor, const ssm_tensor_signature_t *signature,
                    int64_t *shape) {
  memset(tensor, 0, sizeof(*tensor));
  tensor->device.device_type = kDLCPU;
  tensor->ndim = signature->ndim;
  tensor->dtype = signature->dtype;
  tensor->shape = shape;
  size_t bytes = tensor_bytes(tensor);
  size_t rounded = (bytes + 63u) / 64u * 64u;
  tensor->data = aligned_alloc(64, rounded ? rounded : 64);
  if (!tensor->data)
    return 1;
  memset(tensor->data, 0, rounded ? rounded : 64);
  return 0;
}

/* Fills a tensor with small values that differ per tensor and element. A
 * tensor named "A" holds decay rates, which Mamba keeps negative (A = -exp(A_log))
 * so that exp(dt * A) decays: it gets values in [-1, -0.5). */
static void fill(DLTensor *tensor, size_t tensor_index, const char *name) {
  size_t count = tensor_bytes(tensor) / (tensor->dtype.bits / 8u);
  int decay_rates = strcmp(name, "A") == 0;
  for (size_t i = 0; i < count; ++i) {
    /* In [-0.5, 0.5): keeps exp() of the glue and the sums finite. */
    double value = (double)((i * 7u + tensor_index * 13u) % 17u) / 17.0 - 0.5;
    if (decay_rates)
      value = value * 0.5 - 0.75;
    if (tensor->dtype.code == kDLFloat && tensor->dtype.bits == 32)
      ((float *)tensor->data)[i] = (float)value;
    else if (tensor->dtype.code == kDLFloat && tensor->dtype.bits == 64)
      ((double *)tensor->data)[i] = value;
    else if (tensor->dtype.code == kDLInt && tensor->dtype.bits == 32)
      ((int32_t *)tensor->data)[i] = (int32_t)((i + tensor_index) % 5u);
    else if (tensor->dtype.code == kDLInt && tensor->dtype.bits == 64)
      ((int64_t *)tensor->data)[i] = (int64_t)((i + tensor_index) % 5u);
    /* f16/bf16 stay zero: this example keeps to plain C types. */
  }
}

static double checksum(const DLTensor *tensor, double *abs_sum) {
  size_t count = tensor_bytes(tensor) / (tensor->dtype.bits / 8u);
  double sum = 0.0;
  *abs_sum = 0.0;
  for (size_t i = 0; i < count; ++i) {
    double value = 0.0;
    if (tensor->dtype.code == kDLFloat && tensor->dtype.bits == 32)
      value = ((const float *)tensor->data)[i];
    else if (tensor->dtype.code == kDLFloat && tensor->dtype.bits == 64)
      value = ((const double *)tensor->data)[i];
    else if (tensor->dtype.code == kDLInt && tensor->dtype.bits == 32)
      value = ((const int32_t *)tensor->data)[i];
    else if (tensor->dtype.code == kDLInt && tensor->dtype.bits == 64)
      value = (double)((const int64_t *)tensor->data)[i];
    sum += value;
    *abs_sum += value < 0 ? -value : value;
  }
  return sum;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s ARTIFACT_DIR [SIZE]\n", argv[0]);
    return 2;
  }
  long long size = argc == 3 ? atoll(argv[2]) : 8;
  if (size < 0) {
    fprintf(stderr, "ssm-example-run: SIZE must be >= 0\n");
    return 2;
  }

  ssm_module_t *module = NULL;
  if (report(ssm_module_load(argv[1], &module), "cannot load the artifact"))
    return 2;

  /* Signatures of every function. */
  size_t num_functions = ssm_module_function_count(module);
  printf("%s: %zu function(s), target %s\n", argv[1], num_functions,
         ssm_module_target(module));
  for (size_t f = 0; f < num_functions; ++f) {
    const ssm_function_t *function = NULL;
    if (report(ssm_module_function_at(module, f, &function), "function"))
      goto fail;
    printf("function %s\n", ssm_function_name(function));
    ssm_tensor_signature_t signature;
    for (size_t i = 0; i < ssm_function_input_count(function); ++i)
      if (!report(ssm_function_input_signature(function, i, &signature),
                  "input"))
        print_signature("input ", i, &signature);
    for (size_t o = 0; o < ssm_function_output_count(function); ++o)
      if (!report(ssm_function_output_signature(function, o, &signature),
                  "output"))
        print_signature("output", o, &signature);
  }

  /* Run the first function. */
  const ssm_function_t *function = NULL;
  if (report(ssm_module_function_at(module, 0, &function), "function"))
    goto fail;
  size_t num_inputs = ssm_function_input_count(function);
  size_t num_outputs = ssm_function_output_count(function);
  /* calloc(0) may return NULL; ask for at least one. */
  DLTensor *inputs = calloc(num_inputs + 1, sizeof(DLTensor));
  DLTensor *outputs = calloc(num_outputs + 1, sizeof(DLTensor));
  int64_t **shapes = calloc(num_inputs + num_outputs + 1, sizeof(int64_t *));
  int status = 1;
  if (!inputs || !outputs || !shapes)
    goto done;
  for (size_t i = 0; i < num_inputs; ++i) {
    ssm_tensor_signature_t signature;
    if (report(ssm_function_input_signature(function, i, &signature), "input"))
      goto done;
    shapes[i] = calloc((size_t)signature.ndim + 1, sizeof(int64_t));
    if (!shapes[i])
      goto done;
    for (int32_t d = 0; d < signature.ndim; ++d)
      shapes[i][d] = signature.shape[d] < 0 ? size : signature.shape[d];
    if (allocate(&inputs[i], &signature, shapes[i]))
      goto done;
    fill(&inputs[i], i, signature.name);
  }
  for (size_t o = 0; o < num_outputs; ++o) {
    ssm_tensor_signature_t signature;
    if (report(ssm_function_output_signature(function, o, &signature),
               "output"))
      goto done;
    int64_t *shape = calloc((size_t)signature.ndim + 1, sizeof(int64_t));
    shapes[num_inputs + o] = shape;
    if (!shape)
      goto done;
    if (report(ssm_function_resolve_output_shape(function, inputs, num_inputs,
                                                 o, (size_t)signature.ndim,
                                                 shape),
               "output shape"))
      goto done;
    if (allocate(&outputs[o], &signature, shape))
      goto done;
  }
  if (report(ssm_function_invoke(function, inputs, num_inputs, outputs,
                                 num_outputs),
             "invoke"))
    goto done;
  printf("ran %s with dynamic dims = %lld\n", ssm_function_name(function),
         size);
  for (size_t o = 0; o < num_outputs; ++o) {
    ssm_tensor_signature_t signature;
    ssm_status_free(ssm_function_output_signature(function, o, &signature));
    double abs_sum = 0.0;
    double sum = checksum(&outputs[o], &abs_sum);
    printf("  output %s: sum %.9g, sum of |x| %.9g\n", signature.name, sum,
           abs_sum);
  }
  status = 0;

done:
  if (inputs)
    for (size_t i = 0; i < num_inputs; ++i)
      free(inputs[i].data);
  if (outputs)
    for (size_t o = 0; o < num_outputs; ++o)
      free(outputs[o].data);
  if (shapes)
    for (size_t i = 0; i < num_inputs + num_outputs; ++i)
      free(shapes[i]);
  free(shapes);
  free(inputs);
  free(outputs);
  ssm_module_release(module);
  return status;

fail:
  ssm_module_release(module);
  return 1;
}
