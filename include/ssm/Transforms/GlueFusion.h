//===- GlueFusion.h - Which elementwise glue fuses into a mixer -*- C++ -*-===//
//
// The target-neutral fusion analysis of ssm.mix: the elementwise
// `linalg.generic` producers of an operand that a kernel recomputes in its
// loads (a tree down to tensors read from memory), and the elementwise
// consumer of a result that a kernel applies in its stores. The CPU lowerings
// and the CUDA emitter both build their loads and stores from it.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TRANSFORMS_GLUEFUSION_H
#define SSM_TRANSFORMS_GLUEFUSION_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <functional>
#include <optional>
#include <vector>

namespace mlir::ssm {

/// What a backend's loads and stores can follow.
struct FusionPolicy {
  /// Inputs may be read through any projected permutation (transposes);
  /// otherwise only broadcasts that keep the order of the dims (the CPU's
  /// vector loads need the lanes' dim to stay innermost).
  bool allowPermutations = false;
  /// The result a fused consumer reads may be indexed through a permutation
  /// (constant-0 results allowed for unit dims); otherwise only the identity.
  bool allowPermutedResult = false;
  /// How many producers deep a read may recompute.
  unsigned maxDepth = 4;
  /// Tensors that are read from memory even when a fusable producer made
  /// them (a backend that materializes them anyway); none when empty.
  std::function<bool(Value)> readFromMemory;
};

/// Whether `generic` can be recomputed inside a kernel's loads or stores:
/// all-parallel, identity output map, inputs indexed as the policy allows, a
/// body of elementwise arith/math ops that never reads the output.
bool isFusableElementwise(linalg::GenericOp generic,
                          const FusionPolicy &policy);

/// A tensor as a kernel reads it: either from memory (`producer` null) or
/// recomputed from its elementwise producer's inputs, each read the same way
/// through `inputMaps` (the producer's loop dims to the input's dims).
struct FusedRead {
  Value tensor;
  linalg::GenericOp producer;
  SmallVector<AffineMap> inputMaps;
  std::vector<FusedRead> inputs;

  bool isLeaf() const { return !producer; }
};

/// Follows `tensor`'s fusable producers up to the policy's depth.
FusedRead analyzeFusedRead(Value tensor, const FusionPolicy &policy);

/// The elementwise consumer of a kernel's result fused into its stores: the
/// consumer computes, for each element the kernel writes, its output from
/// that element and its other inputs (read as FusedReads).
struct FusedWrite {
  linalg::GenericOp consumer;
  /// The consumer's input operand that reads the result.
  unsigned resultOperand = 0;
  /// Indexed like the consumer's inputs; the result's slot is empty.
  std::vector<FusedRead> otherInputs;
};

/// The consumer of `result` (produced by `producer`) to fuse into its
/// stores, if `result` has exactly one user, that user is fusable, reads it
/// once through an allowed map and every other input exists before
/// `producer`.
std::optional<FusedWrite> analyzeFusedWrite(Value result, Operation *producer,
                                            const FusionPolicy &policy);

/// Whether `map` (the consumer's map of the result it fuses) can be inverted:
/// every loop dim appears once, the other results are constant 0.
bool isInvertiblePermutation(AffineMap map);

} // namespace mlir::ssm

#endif // SSM_TRANSFORMS_GLUEFUSION_H
