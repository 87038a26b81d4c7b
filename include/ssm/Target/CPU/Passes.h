//===- Passes.h - Passes of the CPU backend ---------------------*- C++ -*-===//
//
// Declares and registers the CPU mapping's passes: ssm-lower-quadratic,
// ssm-lower-recurrent, ssm-lower-chunked, ssm-approximate-math and
// ssm-hoist-parallel-scratch (Passes.td).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TARGET_CPU_PASSES_H
#define SSM_TARGET_CPU_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir {
namespace func {
class FuncOp;
} // namespace func
namespace ssm {

#define GEN_PASS_DECL
#include "ssm/Target/CPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "ssm/Target/CPU/Passes.h.inc"

} // namespace ssm
} // namespace mlir

#endif // SSM_TARGET_CPU_PASSES_H
