//===- SelectAlgorithm.h - ssm.mix as the cost model sees it ----*- C++ -*-===//
//
// Bridges ssm.mix and the MLIR-free cost model, for ssm-select-algorithm and
// for drivers that want to explain or compare candidates themselves.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_SELECTALGORITHM_H
#define SSM_TRANSFORMS_SELECTALGORITHM_H

#include "ssm/CostModel/CostModel.h"
#include "ssm/SsmOps.h"

#include "llvm/ADT/SmallVector.h"

#include <string>

namespace mlir::ssm {

/// The cost model's description of `op`. A dynamic batch is taken as 1 and
/// a dynamic length as `assumedLength`; each assumption made is appended to
/// `assumptions` (when given) as a short phrase, e.g. "L dynamic: 2048".
::ssm::cost::MixShape
getMixShape(MixOp op, int64_t assumedLength,
            llvm::SmallVectorImpl<std::string> *assumptions = nullptr);

::ssm::cost::Algorithm toCostAlgorithm(AlgorithmKind kind);
AlgorithmKind fromCostAlgorithm(::ssm::cost::Algorithm algorithm);

} // namespace mlir::ssm

#endif // SSM_TRANSFORMS_SELECTALGORITHM_H
