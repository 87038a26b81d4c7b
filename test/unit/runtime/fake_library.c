/* A hand-written stand-in for an ssmc-generated CPU library: implements the
 * ABI of ssm/cpu_library_abi.h exactly (reading MLIR memref descriptors), and,
 * built with one FAKE_VARIANT_* macro, breaks it in one way.
 *
 * Entry points (the tests' manifest describes them):
 *   scale(x: f32[?, 4]) -> y: f32[?, 4]          y = 2 x
 *   add(a: i64[?, 3], b: i64[?, 3]) -> c: i64[?, 3]   c = a + b
 *   total(x: f64[?]) -> sum: f64[]               sum = x summed
 * Each reads sizes and strides from its descriptors rather than assuming
 * them, so a runtime that fills descriptors wrongly gets wrong answers. */
#include "ssm/cpu_library_abi.h"

#include <stdint.h>

#define EXPORT __attribute__((visibility("default")))

typedef struct {
  float *allocated;
  float *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
} MemRefF32Rank2;

typedef struct {
  int64_t *allocated;
  int64_t *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
} MemRefI64Rank2;

typedef struct {
  double *allocated;
  double *aligned;
  int64_t offset;
  int64_t sizes[1];
  int64_t strides[1];
} MemRefF64Rank1;

typedef struct {
  double *allocated;
  double *aligned;
  int64_t offset;
} MemRefF64Rank0;

static void scale(void *const *descriptors) {
  const MemRefF32Rank2 *x = (const MemRefF32Rank2 *)descriptors[0];
  const MemRefF32Rank2 *y = (const MemRefF32Rank2 *)descriptors[1];
  for (int64_t i = 0; i < x->sizes[0]; ++i)
    for (int64_t j = 0; j < x->sizes[1]; ++j)
      y->aligned[y->offset + i * y->strides[0] + j * y->strides[1]] =
          2.0f * x->aligned[x->offset + i * x->strides[0] + j * x->strides[1]];
}

static void add(void *const *descriptors) {
  const MemRefI64Rank2 *a = (const MemRefI64Rank2 *)descriptors[0];
  const MemRefI64Rank2 *b = (const MemRefI64Rank2 *)descriptors[1];
  const MemRefI64Rank2 *c = (const MemRefI64Rank2 *)descriptors[2];
  /* Sized from b, as generated code may pick any member of an equal_dims
   * group. */
  for (int64_t i = 0; i < b->sizes[0]; ++i)
    for (int64_t j = 0; j < b->sizes[1]; ++j)
      c->aligned[c->offset + i * c->strides[0] + j * c->strides[1]] =
          a->aligned[a->offset + i * a->strides[0] + j * a->strides[1]] +
          b->aligned[b->offset + i * b->strides[0] + j * b->strides[1]];
}

static void total(void *const *descriptors) {
  const MemRefF64Rank1 *x = (const MemRefF64Rank1 *)descriptors[0];
  const MemRefF64Rank0 *sum = (const MemRefF64Rank0 *)descriptors[1];
  double result = 0.0;
  for (int64_t i = 0; i < x->sizes[0]; ++i)
    result += x->aligned[x->offset + i * x->strides[0]];
  sum->aligned[sum->offset] = result;
}

#if defined(FAKE_VARIANT_COUNT_MISMATCH)
#define SCALE_INPUTS 2u
#else
#define SCALE_INPUTS 1u
#endif

static const ssm_cpu_entry_point_v1_t kEntryPoints[] = {
    {"scale", scale, SCALE_INPUTS, 1},
    {"add", add, 2, 1},
    {"total", total, 1, 1},
#if defined(FAKE_VARIANT_EXTRA_ENTRY)
    {"extra", total, 1, 1},
#endif
};

static const ssm_cpu_library_v1_t kLibrary = {
#if defined(FAKE_VARIANT_BAD_TABLE_VERSION)
    2u,
#else
    SSM_CPU_LIBRARY_ABI_VERSION,
#endif
    sizeof(kEntryPoints) / sizeof(kEntryPoints[0]),
    kEntryPoints,
};

#if defined(FAKE_VARIANT_NO_QUERY)
/* Exports something, just not the query symbol. */
EXPORT const ssm_cpu_library_v1_t *
ssm_cpu_library_query_v2(uint32_t max_version) {
  return max_version >= 1 ? &kLibrary : 0;
}
#else
EXPORT const ssm_cpu_library_v1_t *ssm_cpu_library_query(uint32_t max_version) {
#if defined(FAKE_VARIANT_WRONG_ABI)
  /* A library of a future ABI: it has nothing a version-1 runtime reads. */
  const uint32_t provided = 2u;
#else
  const uint32_t provided = SSM_CPU_LIBRARY_ABI_VERSION;
#endif
  return max_version >= provided ? &kLibrary : 0;
}
#endif
