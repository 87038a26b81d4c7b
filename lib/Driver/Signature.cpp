//===- Signature.cpp - Entry-point signatures for the manifest ------------===//
//
// Tells the runtime how to size outputs and what to check on inputs, from
// the sizes the program forces equal (DynamicSizes).
//
//===----------------------------------------------------------------------===//

#include "ssm/Driver/Signature.h"

#include "ssm/SsmOps.h"


using namespace mlir;
using namespace mlir::ssm;

namespace {
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

  DynamicSizes sizes(func);
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

static llvm::json::Value gridJson(const CudaGridExtent &extent) {
  llvm::json::Array dims;
  for (const InputDim &dim : extent.dims)
    dims.push_back(inputDimJson(dim));
  llvm::json::Object object{{"factor", extent.factor},
                            {"dims", std::move(dims)},
                            {"divisor", extent.divisor}};
  if (extent.limit > 0)
    object["limit"] = extent.limit;
  return object;
}

static llvm::json::Value argumentJson(const CudaKernelArgument &argument) {
  switch (argument.kind) {
  case CudaKernelArgument::Kind::Input:
    return llvm::json::Object{{"input", argument.index}};
  case CudaKernelArgument::Kind::Output:
    return llvm::json::Object{{"output", argument.index}};
  case CudaKernelArgument::Kind::Buffer:
    return llvm::json::Object{{"buffer", argument.index}};
  case CudaKernelArgument::Kind::Dim:
    return llvm::json::Object{{"dim", inputDimJson(argument.dim)}};
  }
  return nullptr;
}

/// A function's `buffers` and `launches` (CUDA artifacts).
static void addCudaPlan(llvm::json::Object &function,
                        const CudaFunctionPlan &plan) {
  llvm::json::Array buffers, launches;
  for (const CudaBuffer &buffer : plan.buffers) {
    llvm::json::Object object{{"dtype", buffer.dtype},
                              {"shape", llvm::json::Array(buffer.shape)}};
    if (llvm::any_of(buffer.shape, [](int64_t s) { return s < 0; })) {
      llvm::json::Array dimsFrom;
      for (const std::optional<InputDim> &dim : buffer.dimsFrom)
        dimsFrom.push_back(dim ? inputDimJson(*dim) : llvm::json::Value(nullptr));
      object["dims_from"] = std::move(dimsFrom);
    }
    buffers.push_back(std::move(object));
  }
  for (const CudaLaunch &launch : plan.launches) {
    llvm::json::Array grid, block, arguments;
    for (const CudaGridExtent &extent : launch.grid)
      grid.push_back(gridJson(extent));
    for (unsigned threads : launch.block)
      block.push_back(threads);
    for (const CudaKernelArgument &argument : launch.arguments)
      arguments.push_back(argumentJson(argument));
    launches.push_back(llvm::json::Object{{"kernel", launch.kernel},
                                          {"grid", std::move(grid)},
                                          {"block", std::move(block)},
                                          {"shared_bytes", launch.sharedBytes},
                                          {"arguments", std::move(arguments)}});
  }
  function["buffers"] = std::move(buffers);
  function["launches"] = std::move(launches);
}

llvm::json::Value
ssm::buildManifest(llvm::ArrayRef<FunctionSignature> functions,
                   llvm::StringRef libraryFile, llvm::StringRef source,
                   const CudaArtifact *cuda) {
  llvm::json::Array functionArray;
  for (auto [index, function] : llvm::enumerate(functions)) {
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
    llvm::json::Object object{{"name", function.name},
                              {"inputs", std::move(inputs)},
                              {"outputs", std::move(outputs)},
                              {"equal_dims", std::move(equalDims)},
                              {"algorithms", std::move(algorithms)}};
    if (cuda)
      addCudaPlan(object, cuda->plans[index]);
    functionArray.push_back(std::move(object));
  }
  llvm::json::Object manifest{{"format", "ssmc-artifact"},
                              {"version", 1},
                              {"target", cuda ? "cuda" : "cpu"},
                              {"library", libraryFile},
                              {"abi_version", 1},
                              {"source", source},
                              {"functions", std::move(functionArray)}};
  if (cuda) {
    llvm::json::Object cudaObject{{"arch", cuda->arch},
                                  {"source", cuda->sourceFile}};
    if (!cuda->emulationLibrary.empty())
      cudaObject["emulation_library"] = cuda->emulationLibrary;
    manifest["cuda"] = std::move(cudaObject);
  }
  return manifest;
}
