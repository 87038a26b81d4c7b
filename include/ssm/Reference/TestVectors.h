//===- TestVectors.h - Shared test vectors through the reference -*- C++ -*-===//
//
// Maps each kind of the shared reference vectors (ssd, selective_scan,
// softmax_attention, linear_attention; see ../shared/testdata/README.md) onto
// ssm.mix plus its elementwise glue and evaluates it with the reference.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_REFERENCE_TESTVECTORS_H
#define SSM_REFERENCE_TESTVECTORS_H

#include "ssm/Reference/Tensor.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace ssm::reference {

/// One output of a vector, recomputed by the reference.
struct OutputComparison {
  std::string name;
  double maxAbsError = 0.0;
  double maxAbsReference = 0.0;
  /// max |ours − reference| / max |reference|: the tolerance's measure.
  double relativeError() const {
    return maxAbsReference > 0.0 ? maxAbsError / maxAbsReference : maxAbsError;
  }
};

struct TestVectorResult {
  std::string kind;
  /// The case description from the file's `__metadata__.meta`.
  std::string description;
  std::vector<OutputComparison> outputs;
};

/// Reads `path`, evaluates its case with the float64 reference and compares
/// every stored output. Fails on unreadable or malformed files and on kinds
/// or options the README does not define.
llvm::Expected<TestVectorResult> checkTestVector(llvm::StringRef path);

} // namespace ssm::reference

#endif // SSM_REFERENCE_TESTVECTORS_H
