//===- Passes.h - Passes of the ssm dialect ---------------------*- C++ -*-===//
//
// Declares and registers the target-neutral passes (ssm-select-algorithm);
// the backends declare theirs in ssm/Target/*/Passes.h.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_PASSES_H
#define SSM_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace ssm {

#define GEN_PASS_DECL
#include "ssm/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "ssm/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_TRANSFORMS_PASSES_H
