//===- Signature.h - Entry-point signatures for the manifest ----*- C++ -*-===//
//
// What a runtime must know to call a compiled function: tensors by name,
// dtype and shape, where each dynamic output size comes from, and which
// dynamic input sizes must agree.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_DRIVER_SIGNATURE_H
#define SSM_DRIVER_SIGNATURE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/JSON.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::ssm {

/// (input index, dim index).
struct InputDim {
  unsigned input;
  unsigned dim;
  bool operator==(const InputDim &other) const {
    return input == other.input && dim == other.dim;
  }
};

struct TensorSignature {
  std::string name;
  /// "f32", "f64", "f16", "bf16", "i32", "i64".
  std::string dtype;
  /// -1 marks a dynamic size.
  std::vector<int64_t> shape;
  /// For outputs: per dim, the input dim a dynamic size equals.
  std::vector<std::optional<InputDim>> dimsFrom;
};

struct AlgorithmNote {
  std::string location;
  std::string algorithm;
  int64_t chunkSize = 0;
};

struct FunctionSignature {
  std::string name;
  std::vector<TensorSignature> inputs;
  std::vector<TensorSignature> outputs;
  /// Groups of dynamic input dims that must be equal.
  std::vector<std::vector<InputDim>> equalDims;
  std::vector<AlgorithmNote> algorithms;
};

/// Analyzes a public function on tensors (before lowering). Names come from
/// `ssm.name` argument/result attributes (default `arg<i>` / `result<i>`).
/// Fails, with an error on the function, on argument types the runtime
/// cannot pass or output sizes that cannot be derived from the inputs.
FailureOr<FunctionSignature> analyzeSignature(func::FuncOp func);

/// The manifest.json of an artifact holding `functions`.
llvm::json::Value buildManifest(llvm::ArrayRef<FunctionSignature> functions,
                                llvm::StringRef libraryFile,
                                llvm::StringRef source);

} // namespace mlir::ssm

#endif // SSM_DRIVER_SIGNATURE_H
