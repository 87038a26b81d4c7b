//===- Signature.cpp - Entry-point signatures for the manifest ------------===//
//
// Tracks which dynamic sizes are equal through the tensor program (union-find
// over (value, dim)) to tell the runtime how to size outputs and what to
// check on inputs.
//
//===----------------------------------------------------------------------===//

#include "ssm/Driver/Signature.h"

#include "ssm/SsmOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/EquivalenceClasses.h"

#include <map>

using namespace mlir;
using namespace mlir::ssm;

namespace {
/// (value, dim) of a tensor size.
using SizeKey = std::pair<void *, unsigned>;

class SizeClasses {
public:
  SizeKey key(Value value, unsigned dim) {
    return {value.getAsOpaquePointer(), dim};
  }
  void unite(Value a, unsigned da, Value b, unsigned db) {
    classes.unionSets(key(a, da), key(b, db));
  }
  bool same(Value a, unsigned da, Value b, unsigned db) {
    return classes.isEquivalent(key(a, da), key(b, db));
  }
  llvm::EquivalenceClasses<SizeKey> classes;
};

std::string dtypeName(Type type) {
  if (type.isF32())
    return "f32";
  if (type.isF64())
    return "f64";
  if (type.isF16())
    return "f16";
  if (type.isBF16())
    return "bf16";
  if (type.isSignlessInteger(32) || type.isSignedInteger(32))
    return "i32";
  if (type.isSignlessInteger(64) || type.isSignedInteger(64))
    return "i64";
  return "";
}

unsigned rankOf(Value value) {
  return cast<RankedTensorType>(value.getType()).getRank();
}

/// Unites the sizes that ops of the program force to be equal.
void collectEqualities(func::FuncOp func, SizeClasses &sizes) {
  func.walk([&](Operation *op) {
    if (auto mix = dyn_cast<MixOp>(op)) {
      SmallVector<Value> batchAndLength = {mix.getK(), mix.getV(), mix.getY()};
      if (mix.getDt())
        batchAndLength.push_back(mix.getDt());
      for (Value value : batchAndLength) {
        sizes.unite(mix.getQ(), 0, value, 0);
        sizes.unite(mix.getQ(), 1, value, 1);
      }
      for (Value state : {mix.getInitialState(), mix.getFinalState()})
        if (state)
          sizes.unite(mix.getQ(), 0, state, 0);
      return;
    }
    if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op)) {
      // Operand dims indexed by the same loop are equal.
      std::map<unsigned, std::pair<Value, unsigned>> loopSize;
      for (OpOperand &operand : op->getOpOperands()) {
        if (!isa<RankedTensorType>(operand.get().getType()))
          continue;
        AffineMap map = linalgOp.getMatchingIndexingMap(&operand);
        for (auto [dim, expr] : llvm::enumerate(map.getResults())) {
          auto loop = dyn_cast<AffineDimExpr>(expr);
          if (!loop)
            continue;
          auto [it, inserted] = loopSize.try_emplace(
              loop.getPosition(), operand.get(), static_cast<unsigned>(dim));
          if (!inserted)
            sizes.unite(it->second.first, it->second.second, operand.get(),
                        dim);
        }
      }
      for (auto [result, init] :
           llvm::zip(op->getResults(), linalgOp.getDpsInits()))
        for (unsigned d = 0; d < rankOf(result); ++d)
          sizes.unite(result, d, init, d);
      return;
    }
    if (auto empty = dyn_cast<tensor::EmptyOp>(op)) {
      for (unsigned d = 0; d < rankOf(empty); ++d) {
        if (!empty.getType().isDynamicDim(d))
          continue;
        if (auto dimOp =
                empty.getDynamicSize(d).getDefiningOp<tensor::DimOp>())
          if (std::optional<int64_t> index = dimOp.getConstantIndex())
            sizes.unite(empty, d, dimOp.getSource(), *index);
      }
      return;
    }
    // Elementwise ops on tensors keep every size.
    if (op->hasTrait<OpTrait::Elementwise>() ||
        op->hasTrait<OpTrait::SameOperandsAndResultShape>()) {
      Value first;
      for (Value value : llvm::concat<Value>(op->getOperands(),
                                              op->getResults())) {
        if (!isa<RankedTensorType>(value.getType()))
          continue;
        if (!first) {
          first = value;
          continue;
        }
        for (unsigned d = 0; d < rankOf(value); ++d)
          sizes.unite(first, d, value, d);
      }
    }
  });
}

std::string nameOf(DictionaryAttr attrs, StringRef fallback) {
  if (attrs)
    if (auto name = attrs.getAs<StringAttr>("ssm.name"))
      return name.str();
  return fallback.str();
}

FailureOr<TensorSignature> tensorSignature(func::FuncOp func, Type type,
                                           std::string name) {
  auto tensorType = dyn_cast<RankedTensorType>(type);
  if (!tensorType)
    return func.emitError() << "'" << name
                            << "' must be a ranked tensor to cross the "
                               "runtime's ABI, got "
                            << type;
  TensorSignature signature;
  signature.name = std::move(name);
  signature.dtype = dtypeName(tensorType.getElementType());
  if (signature.dtype.empty())
    return func.emitError() << "'" << signature.name
                            << "' has an element type the runtime cannot "
                               "pass: "
                            << tensorType.getElementType();
  for (int64_t size : tensorType.getShape())
    signature.shape.push_back(ShapedType::isDynamic(size) ? -1 : size);
  return signature;
}
} // namespace

FailureOr<FunctionSignature> ssm::analyzeSignature(func::FuncOp func) {
  FunctionSignature signature;
  signature.name = func.getSymName().str();
  for (auto [i, type] : llvm::enumerate(func.getArgumentTypes())) {
    FailureOr<TensorSignature> input = tensorSignature(
        func, type, nameOf(func.getArgAttrDict(i), "arg" + std::to_string(i)));
    if (failed(input))
      return failure();
    signature.inputs.push_back(std::move(*input));
  }
  for (auto [i, type] : llvm::enumerate(func.getResultTypes())) {
    FailureOr<TensorSignature> output = tensorSignature(
        func, type,
        nameOf(func.getResultAttrDict(i), "result" + std::to_string(i)));
    if (failed(output))
      return failure();
    signature.outputs.push_back(std::move(*output));
  }

  SizeClasses sizes;
  collectEqualities(func, sizes);
  auto *returnOp = func.getBody().front().getTerminator();

  // Dynamic input dims, in order.
  SmallVector<std::pair<InputDim, Value>> dynamicInputs;
  for (auto [i, argument] : llvm::enumerate(func.getArguments()))
    for (auto [d, size] : llvm::enumerate(signature.inputs[i].shape))
      if (size < 0)
        dynamicInputs.push_back(
            {{static_cast<unsigned>(i), static_cast<unsigned>(d)}, argument});

  for (auto [i, output] : llvm::enumerate(signature.outputs)) {
    Value returned = returnOp->getOperand(i);
    for (auto [d, size] : llvm::enumerate(output.shape)) {
      if (size >= 0) {
        output.dimsFrom.push_back(std::nullopt);
        continue;
      }
      std::optional<InputDim> source;
      for (auto &[inputDim, argument] : dynamicInputs)
        if (sizes.same(returned, d, argument, inputDim.dim)) {
          source = inputDim;
          break;
        }
      if (!source)
        return func.emitError() << "cannot tell the size of dim " << d
                                << " of output '" << output.name
                                << "' from the inputs' sizes";
      output.dimsFrom.push_back(source);
    }
  }

  std::vector<bool> grouped(dynamicInputs.size(), false);
  for (size_t a = 0; a < dynamicInputs.size(); ++a) {
    if (grouped[a])
      continue;
    std::vector<InputDim> group = {dynamicInputs[a].first};
    for (size_t b = a + 1; b < dynamicInputs.size(); ++b) {
      if (grouped[b] ||
          !sizes.same(dynamicInputs[a].second, dynamicInputs[a].first.dim,
                      dynamicInputs[b].second, dynamicInputs[b].first.dim))
        continue;
      grouped[b] = true;
      group.push_back(dynamicInputs[b].first);
    }
    if (group.size() > 1)
      signature.equalDims.push_back(std::move(group));
  }
  return signature;
}

static llvm::json::Value inputDimJson(const InputDim &dim) {
  return llvm::json::Object{{"input", dim.input}, {"dim", dim.dim}};
}

static llvm::json::Value tensorJson(const TensorSignature &tensor,
                                    bool isOutput) {
  llvm::json::Object object{{"name", tensor.name},
                            {"dtype", tensor.dtype},
                            {"shape", llvm::json::Array(tensor.shape)}};
  if (isOutput && llvm::any_of(tensor.shape, [](int64_t s) { return s < 0; })) {
    llvm::json::Array dimsFrom;
    for (const std::optional<InputDim> &source : tensor.dimsFrom)
      dimsFrom.push_back(source ? inputDimJson(*source) : llvm::json::Value(nullptr));
    object["dims_from"] = std::move(dimsFrom);
  }
  return object;
}

llvm::json::Value
ssm::buildManifest(llvm::ArrayRef<FunctionSignature> functions,
                   llvm::StringRef libraryFile, llvm::StringRef source) {
  llvm::json::Array functionArray;
  for (const FunctionSignature &function : functions) {
    llvm::json::Array inputs, outputs, equalDims, algorithms;
    for (const TensorSignature &input : function.inputs)
      inputs.push_back(tensorJson(input, false));
    for (const TensorSignature &output : function.outputs)
      outputs.push_back(tensorJson(output, true));
    for (const std::vector<InputDim> &group : function.equalDims) {
      llvm::json::Array dims;
      for (const InputDim &dim : group)
        dims.push_back(inputDimJson(dim));
      equalDims.push_back(std::move(dims));
    }
    for (const AlgorithmNote &note : function.algorithms) {
      llvm::json::Object object{{"location", note.location},
                                {"algorithm", note.algorithm}};
      if (note.chunkSize > 0)
        object["chunk_size"] = note.chunkSize;
      algorithms.push_back(std::move(object));
    }
    functionArray.push_back(llvm::json::Object{
        {"name", function.name},
        {"inputs", std::move(inputs)},
        {"outputs", std::move(outputs)},
        {"equal_dims", std::move(equalDims)},
        {"algorithms", std::move(algorithms)}});
  }
  return llvm::json::Object{{"format", "ssmc-artifact"},
                            {"version", 1},
                            {"target", "cpu"},
                            {"library", libraryFile},
                            {"abi_version", 1},
                            {"source", source},
                            {"functions", std::move(functionArray)}};
}
