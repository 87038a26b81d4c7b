//===- DynamicSizes.h - Which tensor sizes a program forces equal -*- C++ -*-===//
//
// Union-find over (value, dim) of a function on tensors: the sizes that its
// ops force to be equal (ssm.mix's batch and lengths, Lq = Lk where the op
// or its plan needs them equal; loops shared by linalg operands, elementwise
// ops, reshapes that keep a dim). The driver derives
// the manifest's dims_from and equal_dims from it; the CUDA target, the
// kernel parameters that carry a dynamic size.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_ANALYSIS_DYNAMICSIZES_H
#define SSM_ANALYSIS_DYNAMICSIZES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/EquivalenceClasses.h"

#include <optional>
#include <vector>

namespace mlir::ssm {

/// (input index, dim index) of an entry point.
struct InputDim {
  unsigned input;
  unsigned dim;
  bool operator==(const InputDim &other) const {
    return input == other.input && dim == other.dim;
  }
};

/// A size as a product of a constant and dynamic input dims (a collapsed
/// [B, L] is B·L).
struct SizeProduct {
  int64_t factor = 1;
  llvm::SmallVector<InputDim> dims;
};

class DynamicSizes {
public:
  /// `requiredEqualities`: also the lengths a mix's op or plan needs equal
  /// (MixOp::needsEqualLengths), which the runtime then checks where they
  /// are input dims; without it, only what the program's ops make equal.
  explicit DynamicSizes(func::FuncOp func, bool requiredEqualities = true);

  /// Whether dim `da` of `a` and dim `db` of `b` must be equal.
  bool same(Value a, unsigned da, Value b, unsigned db) const;
  /// The first dynamic input dim that dim `dim` of `value` equals.
  std::optional<InputDim> inputDimOf(Value value, unsigned dim) const;
  /// Dim `dim` of `value` as a product of input dims and a constant: the
  /// input dim it equals, or, for a size some op computes from others (a
  /// collapse_shape's merged dims, a tensor.empty sized by arith.muli of
  /// tensor.dims), the product of theirs.
  std::optional<SizeProduct> productOf(Value value, unsigned dim) const;

private:
  using SizeKey = std::pair<void *, unsigned>;
  static SizeKey key(Value value, unsigned dim) {
    return {value.getAsOpaquePointer(), dim};
  }
  void unite(Value a, unsigned da, Value b, unsigned db);
  void uniteWithDimOf(Value value, unsigned dim, Value size);
  void collect(func::FuncOp func);
  std::optional<SizeProduct> productOf(Value value, unsigned dim,
                                       unsigned depth) const;
  /// The product of index value `size` (tensor.dim, constants, arith.muli).
  std::optional<SizeProduct> productOfIndex(Value size, unsigned depth) const;

  /// Sizes that are products of others: (value, dim) and the (value, dim)
  /// factors (a null value for a constant factor, in `dim`).
  struct ProductFact {
    Value value;
    unsigned dim;
    llvm::SmallVector<std::pair<Value, int64_t>> factors;
    Value index; // or: the index value that computes the size
  };
  std::vector<ProductFact> products;

  // Op handles have no const accessors.
  mutable func::FuncOp func;
  bool requiredEqualities;
  mutable llvm::EquivalenceClasses<SizeKey> classes;
};

} // namespace mlir::ssm

#endif // SSM_ANALYSIS_DYNAMICSIZES_H
