//===- TestVectorImport.h - Test vectors as ssm.mix programs ----*- C++ -*-===//
//
// Builds the program a shared reference vector describes (the kinds of
// ../shared/testdata/README.md: ssd, selective_scan, softmax_attention,
// linear_attention) as one function: the file's layouts in, ssm.mix with its
// elementwise glue inside, the file's outputs out, tensors named as in the
// file so a runtime can bind them by name.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_FRONTEND_TESTVECTORIMPORT_H
#define SSM_FRONTEND_TESTVECTORIMPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OwningOpRef.h"

namespace mlir::ssm {

/// Reads the vector's header (shapes, dtypes and `__metadata__.meta`) and
/// builds the function. Errors (unreadable or malformed file, unknown kind,
/// missing tensors, options the README does not define) are emitted at a
/// location naming the file. With `activationType` (bf16 or f16), the
/// activations (x, B, C, z; u; q, k, v) and y are declared in that type, as a
/// 16-bit model stores them; step sizes, parameters and states stay f32.
FailureOr<OwningOpRef<ModuleOp>>
importTestVector(StringRef path, MLIRContext *context,
                 FloatType activationType = nullptr);

} // namespace mlir::ssm

#endif // SSM_FRONTEND_TESTVECTORIMPORT_H
