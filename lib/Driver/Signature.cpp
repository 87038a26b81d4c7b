//===- Signature.cpp - Entry-point signatures for the manifest ------------===//
//
// Tells the runtime how to size outputs and what to check on inputs, from
// the sizes the program forces equal (DynamicSizes).
//
//===----------------------------------------------------------------------===//

#include "ssm/Driver/Signature.h"

#include "ssm/SsmOps.h"
#include "ssm/cpu_library_abi.h"
#include "ssm/manifest.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"


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

/// Follows row-major reshapes and casts back to the value they view.
Value viewed(Value value) {
  while (Operation *op = value.getDefiningOp()) {
    if (!isa<tensor::CastOp, tensor::ExpandShapeOp, tensor::CollapseShapeOp>(
            op))
      break;
    value = op->getOperand(0);
  }
  return value;
}

/// Whether every use of `value`, through views, is the initial state of
/// `mix`.
bool onlyInitialStateOf(Value value, MixOp mix) {
  for (OpOperand &use : value.getUses()) {
    Operation *user = use.getOwner();
    if (isa<tensor::CastOp, tensor::ExpandShapeOp, tensor::CollapseShapeOp>(
            user)) {
      if (!onlyInitialStateOf(user->getResult(0), mix))
        return false;
      continue;
    }
    if (user != mix.getOperation() || use.get() != mix.getInitialState())
      return false;
  }
  return true;
}

/// The argument output `returned` may be written over (see the header).
std::optional<unsigned> inPlaceArgument(func::FuncOp func, Value returned) {
  Value state = viewed(returned);
  auto mix = state.getDefiningOp<MixOp>();
  if (!mix || mix.getFinalState() != state || !mix.getInitialState())
    return std::nullopt;
  AlgorithmAttr plan = mix.getAlgorithmAttr();
  if (!plan || plan.getKind() != AlgorithmKind::Recurrent ||
      plan.getKernel() != KernelKind::Loops)
    return std::nullopt;
  auto argument = dyn_cast<BlockArgument>(viewed(mix.getInitialState()));
  if (!argument || argument.getOwner()->getParentOp() != func.getOperation() ||
      argument.getType() != returned.getType() ||
      !onlyInitialStateOf(argument, mix))
    return std::nullopt;
  return argument.getArgNumber();
}
} // namespace

FailureOr<FunctionSignature> mlir::ssm::analyzeSignature(func::FuncOp func) {
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
    output.aliases = inPlaceArgument(func, returned);
  }
  // One input is written over by one output at most.
  for (size_t i = 0; i < signature.outputs.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (signature.outputs[i].aliases &&
          signature.outputs[i].aliases == signature.outputs[j].aliases)
        signature.outputs[i].aliases.reset();

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

namespace manifest = ::ssm::runtime;

static manifest::InputDim toManifest(const InputDim &dim) {
  return {dim.input, dim.dim};
}

static std::vector<std::optional<manifest::InputDim>>
toManifest(const std::vector<std::optional<InputDim>> &dims) {
  std::vector<std::optional<manifest::InputDim>> result;
  for (const std::optional<InputDim> &dim : dims)
    result.push_back(dim ? std::optional(toManifest(*dim)) : std::nullopt);
  return result;
}

static manifest::TensorSpec toManifest(const TensorSignature &tensor) {
  manifest::TensorSpec spec;
  spec.name = tensor.name;
  spec.dtypeName = tensor.dtype;
  spec.shape = tensor.shape;
  spec.dimsFrom = toManifest(tensor.dimsFrom);
  if (tensor.aliases)
    spec.aliases = *tensor.aliases;
  return spec;
}

static manifest::Launch toManifest(const CudaLaunch &launch) {
  manifest::Launch result;
  result.kernel = launch.kernel;
  if (launch.runsWhen) {
    manifest::LaunchRange &range = result.runsWhen.emplace();
    range.factor = launch.runsWhen->factor;
    for (const InputDim &dim : launch.runsWhen->dims)
      range.dims.push_back(toManifest(dim));
    range.atLeast = launch.runsWhen->atLeast;
    range.atMost = launch.runsWhen->atMost;
  }
  for (int axis = 0; axis < 3; ++axis) {
    const CudaGridExtent &extent = launch.grid[axis];
    manifest::GridExtent &grid = result.grid[axis];
    grid.factor = extent.factor;
    for (const InputDim &dim : extent.dims)
      grid.dims.push_back(toManifest(dim));
    grid.divisor = extent.divisor;
    grid.limit = extent.limit;
    result.block[axis] = launch.block[axis];
  }
  result.sharedBytes = launch.sharedBytes;
  for (const CudaKernelArgument &argument : launch.arguments) {
    manifest::KernelArgument converted;
    switch (argument.kind) {
    case CudaKernelArgument::Kind::Input:
      converted.kind = manifest::KernelArgument::Kind::Input;
      break;
    case CudaKernelArgument::Kind::Output:
      converted.kind = manifest::KernelArgument::Kind::Output;
      break;
    case CudaKernelArgument::Kind::Buffer:
      converted.kind = manifest::KernelArgument::Kind::Buffer;
      break;
    case CudaKernelArgument::Kind::Dim:
      converted.kind = manifest::KernelArgument::Kind::Dim;
      break;
    }
    converted.index = argument.index;
    converted.dim = toManifest(argument.dim);
    result.arguments.push_back(std::move(converted));
  }
  return result;
}

std::string
mlir::ssm::buildManifest(llvm::ArrayRef<FunctionSignature> functions,
                         llvm::StringRef libraryFile, llvm::StringRef source,
                         const CpuArtifact *cpu, const CudaArtifact *cuda) {
  assert(!cpu != !cuda && "a manifest is for the CPU or for CUDA");
  manifest::Manifest result;
  result.target = cuda ? "cuda" : "cpu";
  result.library = libraryFile.str();
  result.abiVersion = SSM_CPU_LIBRARY_ABI_VERSION;
  result.source = source.str();
  for (auto [index, function] : llvm::enumerate(functions)) {
    manifest::FunctionSpec spec;
    spec.name = function.name;
    for (const TensorSignature &input : function.inputs)
      spec.inputs.push_back(toManifest(input));
    for (const TensorSignature &output : function.outputs)
      spec.outputs.push_back(toManifest(output));
    for (const std::vector<InputDim> &group : function.equalDims) {
      std::vector<manifest::InputDim> dims;
      for (const InputDim &dim : group)
        dims.push_back(toManifest(dim));
      spec.equalDims.push_back(std::move(dims));
    }
    for (const AlgorithmNote &note : function.algorithms)
      spec.algorithms.push_back({note.location, note.algorithm, note.chunkSize});
    if (cuda) {
      const CudaFunctionPlan &plan = cuda->plans[index];
      for (const CudaBuffer &buffer : plan.buffers) {
        manifest::BufferSpec converted;
        converted.dtypeName = buffer.dtype;
        converted.shape = buffer.shape;
        converted.dimsFrom = toManifest(buffer.dimsFrom);
        spec.buffers.push_back(std::move(converted));
      }
      for (const CudaLaunch &launch : plan.launches)
        spec.launches.push_back(toManifest(launch));
    }
    result.functions.push_back(std::move(spec));
  }
  if (cpu) {
    result.cpu.arch = cpu->arch;
    result.cpu.name = cpu->cpu;
    result.cpu.features = cpu->features;
  }
  if (cuda) {
    result.cuda.arch = cuda->arch;
    result.cuda.source = cuda->sourceFile;
    result.cuda.emulationLibrary = cuda->emulationLibrary;
  }
  return manifest::formatManifest(result);
}
