//===- SsmDialect.h - The ssm dialect and its attributes --------*- C++ -*-===//
//
// Declares the ssm dialect, its enums and attributes.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_SSMDIALECT_H
#define SSM_SSMDIALECT_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"

#include "ssm/SsmDialect.h.inc"
#include "ssm/SsmEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "ssm/SsmAttrs.h.inc"

namespace mlir::ssm {
/// The largest chunk the chunked algorithm takes. Its per-chunk score block
/// is Q×Q and padded to whole chunks; SSD's useful range is 32–256, and far
/// larger chunks only cost memory and compile time.
constexpr int64_t kMaxChunkSize = 1024;
/// The widest vector (f32 lanes) a plan's vector_width may name: four times
/// the widest CPUs' today, so room to grow, and nonsense is still refused.
constexpr int64_t kMaxVectorWidth = 64;
} // namespace mlir::ssm

#endif // SSM_SSMDIALECT_H
