//===- Driver.cpp - The ssmc compilation driver ---------------------------===//
//
// Checks the request, records entry-point signatures, runs the CPU pipeline
// in its three parts and writes MLIR, LLVM IR or the artifact directory.
//
//===----------------------------------------------------------------------===//

#include "ssm/Driver/Driver.h"

#include "ssm/CostModel/CostModel.h"
#include "ssm/Driver/Signature.h"
#include "ssm/SsmOps.h"
#include "ssm/Target/CPU/CpuEmitter.h"
#include "ssm/Target/CPU/CpuPipeline.h"
#include "ssm/Target/CUDA/CudaPipeline.h"
#include "ssm/manifest.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"

using namespace mlir;
using namespace mlir::ssm;

static constexpr const char *kLibraryFile = "model_cpu.so";
static constexpr const char *kCudaSourceFile = "model_cuda.cu";
static constexpr const char *kCudaLibraryFile = "model_cuda.cubin";
static constexpr const char *kCudaEmulationFile = "model_cuda_emulated.so";

namespace {
/// "cpu", or "cuda" with its architecture.
struct CodegenTarget {
  bool isCuda = false;
  std::string arch;
};

std::optional<CodegenTarget> parseCodegenTarget(StringRef name) {
  if (name == "cpu")
    return CodegenTarget();
  if (name == "cuda")
    return CodegenTarget{true, "sm_90a"};
  if (name.consume_front("cuda:") &&
      ::ssm::runtime::isSupportedCudaArch(name.str()))
    return CodegenTarget{true, name.str()};
  return std::nullopt;
}

std::string costModelTargetOf(const CompileOptions &options) {
  if (!options.costModelTarget.empty())
    return options.costModelTarget;
  std::optional<CodegenTarget> target = parseCodegenTarget(options.target);
  return target && target->isCuda ? "h200" : "host";
}
} // namespace

namespace {
/// Runs one part of the pipeline with the tool's pass-manager options.
class PipelineRunner {
public:
  PipelineRunner(ModuleOp module, const CompileOptions &options)
      : module(module), options(options) {}

  LogicalResult run(function_ref<void(OpPassManager &)> build) {
    PassManager pm(module->getContext());
    build(pm);
    if (options.configurePassManager &&
        failed(options.configurePassManager(pm)))
      return failure();
    return pm.run(module);
  }

private:
  ModuleOp module;
  const CompileOptions &options;
};

std::string locationString(Location loc) {
  std::string text;
  llvm::raw_string_ostream stream(text);
  if (auto fileLoc = dyn_cast<FileLineColLoc>(loc))
    stream << llvm::sys::path::filename(fileLoc.getFilename().getValue())
           << ":" << fileLoc.getLine() << ":" << fileLoc.getColumn();
  else
    loc.print(stream);
  return text;
}

SmallVector<func::FuncOp> entryFunctions(ModuleOp module) {
  SmallVector<func::FuncOp> functions;
  for (auto func : module.getOps<func::FuncOp>())
    if (func.isPublic() && !func.isDeclaration())
      functions.push_back(func);
  return functions;
}

/// Rejects options and algorithm choices that cannot compile this module.
LogicalResult checkRequest(ModuleOp module, const CompileOptions &options) {
  std::optional<CodegenTarget> target = parseCodegenTarget(options.target);
  if (!target)
    return module.emitError()
           << "unknown target '" << options.target
           << "'; expected cpu, cuda or cuda:<arch> ("
           << llvm::StringRef(::ssm::runtime::kCudaArchs) << ")";
  if (target->isCuda && options.emit == EmitKind::LLVMIR)
    return module.emitError()
           << "--emit=llvm is for --target=cpu; the CUDA target emits "
              "mlir, cuda or an artifact";
  if (!target->isCuda && options.emit == EmitKind::Cuda)
    return module.emitError() << "--emit=cuda needs --target=cuda";
  if (target->isCuda && options.cpu != "native")
    return module.emitError()
           << "--cpu=" << options.cpu
           << " is for --target=cpu; the CUDA target's host code is built for "
              "the baseline processor";
  if (!target->isCuda)
    if (llvm::Error error = checkCpuName(options.cpu))
      return module.emitError() << llvm::toString(std::move(error));
  if (options.chunkSize < 0 || options.chunkSize > kMaxChunkSize)
    return module.emitError()
           << "chunk size must be in [1, " << kMaxChunkSize
           << "] (0: the cost model's choice), got " << options.chunkSize;
  if (options.vectorWidth < 0 || options.vectorWidth > kMaxVectorWidth ||
      (options.vectorWidth > 0 && !llvm::isPowerOf2_64(options.vectorWidth)))
    return module.emitError()
           << "vector width must be a power of two in [1, " << kMaxVectorWidth
           << "] (0: the CPU's widest), got " << options.vectorWidth;
  if (llvm::Expected<::ssm::cost::TargetDescription> description =
          ::ssm::cost::getTarget(costModelTargetOf(options));
      !description)
    return module.emitError() << llvm::toString(description.takeError());
  if (options.algorithm == "auto")
    return success();
  std::optional<AlgorithmKind> kind = symbolizeAlgorithmKind(options.algorithm);
  if (!kind)
    return module.emitError()
           << "unknown algorithm '" << options.algorithm
           << "', expected auto, quadratic, recurrent or chunked";
  WalkResult result = module.walk([&](MixOp op) {
    if (std::optional<std::string> why = op.whyIllegal(*kind)) {
      op.emitError() << *why;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

LogicalResult writeText(StringRef path, function_ref<void(raw_ostream &)> write,
                        Location loc) {
  std::string error;
  std::unique_ptr<llvm::ToolOutputFile> file = openOutputFile(path, &error);
  if (!file)
    return emitError(loc) << error;
  write(file->os());
  file->keep();
  return success();
}
} // namespace

/// The signature of every function. Run again after selection: a plan may
/// need lengths equal that the op alone does not (MixOp::needsEqualLengths).
static FailureOr<std::vector<FunctionSignature>>
analyzeSignatures(ArrayRef<func::FuncOp> functions) {
  std::vector<FunctionSignature> signatures;
  for (func::FuncOp func : functions) {
    FailureOr<FunctionSignature> signature = analyzeSignature(func);
    if (failed(signature))
      return failure();
    signatures.push_back(std::move(*signature));
  }
  return signatures;
}

/// The plan of every op, for the manifest.
static void recordAlgorithms(MutableArrayRef<func::FuncOp> functions,
                             std::vector<FunctionSignature> &signatures) {
  for (auto [func, signature] : llvm::zip(functions, signatures))
    func.walk([&, &signature = signature](MixOp op) {
      AlgorithmAttr algorithm = op.getAlgorithmAttr();
      signature.algorithms.push_back(
          {locationString(op.getLoc()),
           stringifyAlgorithmKind(algorithm.getKind()).str(),
           algorithm.getChunkSize()});
    });
}

/// Selection for the GPU and the CUDA emitter; then the source, or the
/// artifact (manifest, source, cubin built by nvcc).
static CompileResult compileForCuda(ModuleOp module,
                                    const CompileOptions &options) {
  Location loc = module.getLoc();
  CodegenTarget target = *parseCodegenTarget(options.target);
  CudaPipelineOptions pipeline;
  pipeline.target = costModelTargetOf(options);
  pipeline.algorithm = options.algorithm;
  pipeline.chunkSize = options.chunkSize;
  pipeline.explain = options.explain;
  pipeline.measured = options.measured;
  pipeline.arch = target.arch;
  CudaExport exported;
  PipelineRunner runner(module, options);
  if (failed(runner.run([&](OpPassManager &pm) {
        buildCudaPipeline(pm, pipeline, &exported, options.sourceName);
      })))
    return CompileResult::Failure;
  SmallVector<func::FuncOp> functions = entryFunctions(module);
  FailureOr<std::vector<FunctionSignature>> signatures =
      analyzeSignatures(functions);
  if (failed(signatures))
    return CompileResult::Failure;
  recordAlgorithms(functions, *signatures);
  auto write = [&](StringRef path, StringRef text) {
    return succeeded(writeText(path, [&](raw_ostream &os) { os << text; }, loc))
               ? CompileResult::Success
               : CompileResult::Failure;
  };
  if (options.emit == EmitKind::Mlir) {
    std::string text;
    llvm::raw_string_ostream stream(text);
    module.print(stream);
    return write(options.output, text);
  }
  if (options.emit == EmitKind::Cuda)
    return write(options.output, exported.source);

  auto fail = [&](llvm::Error error) {
    emitError(loc) << llvm::toString(std::move(error));
    return CompileResult::Failure;
  };
  if (std::error_code error = llvm::sys::fs::create_directories(options.output))
    return fail(llvm::createStringError("cannot create " + options.output +
                                        ": " + error.message()));
  llvm::SmallString<256> sourcePath(options.output), cubinPath(options.output),
      manifestPath(options.output);
  llvm::sys::path::append(sourcePath, kCudaSourceFile);
  llvm::sys::path::append(cubinPath, kCudaLibraryFile);
  llvm::sys::path::append(manifestPath, "manifest.json");
  if (write(sourcePath, exported.source) != CompileResult::Success)
    return CompileResult::Failure;
  if (llvm::Error error = compileCudaSource(sourcePath, cubinPath, target.arch))
    return fail(std::move(error));
  CudaArtifact cuda;
  cuda.arch = target.arch;
  cuda.sourceFile = kCudaSourceFile;
  cuda.plans = exported.plans;
  if (options.cudaEmulation) {
    llvm::SmallString<256> emulationPath(options.output);
    llvm::sys::path::append(emulationPath, kCudaEmulationFile);
    if (llvm::Error error = compileCudaForEmulation(sourcePath, emulationPath))
      return fail(std::move(error));
    cuda.emulationLibrary = kCudaEmulationFile;
  }
  std::string manifest = buildManifest(*signatures, kCudaLibraryFile,
                                       options.sourceName, nullptr, &cuda);
  if (failed(writeText(
          manifestPath, [&](raw_ostream &os) { os << manifest; }, loc)))
    return CompileResult::Failure;
  return CompileResult::Success;
}

CompileResult mlir::ssm::compileModule(ModuleOp module,
                                       const CompileOptions &options) {
  Location loc = module.getLoc();
  if (failed(checkRequest(module, options)))
    return CompileResult::BadInput;

  SmallVector<func::FuncOp> functions = entryFunctions(module);
  if (functions.empty()) {
    module.emitError() << "no public function with a body to compile";
    return CompileResult::BadInput;
  }
  // Signatures the runtime cannot take are bad input; they are analyzed
  // again once the plans are known.
  if (failed(analyzeSignatures(functions)))
    return CompileResult::BadInput;

  if (parseCodegenTarget(options.target)->isCuda)
    return compileForCuda(module, options);

  auto fail = [&](llvm::Error error) {
    emitError(loc) << llvm::toString(std::move(error));
    return CompileResult::Failure;
  };
  // The processor decides the vector width the lowerings use and what the
  // manifest says the code needs.
  llvm::Expected<CpuTarget> cpu = createCpuTarget(options.cpu);
  if (!cpu)
    return fail(cpu.takeError());

  CpuPipelineOptions pipeline;
  pipeline.target = costModelTargetOf(options);
  pipeline.algorithm = options.algorithm;
  pipeline.chunkSize = options.chunkSize;
  pipeline.vectorWidth =
      options.vectorWidth > 0 ? options.vectorWidth : cpu->vectorWidth();
  pipeline.explain = options.explain;
  pipeline.measured = options.measured;
  PipelineRunner runner(module, options);

  if (failed(runner.run(
          [&](OpPassManager &pm) { buildCpuSelectionPipeline(pm, pipeline); })))
    return CompileResult::Failure;
  FailureOr<std::vector<FunctionSignature>> planned =
      analyzeSignatures(functions);
  if (failed(planned))
    return CompileResult::Failure;
  std::vector<FunctionSignature> signatures = std::move(*planned);
  recordAlgorithms(functions, signatures);

  if (failed(runner.run(
          [&](OpPassManager &pm) { buildCpuLoweringPipeline(pm, pipeline); })))
    return CompileResult::Failure;
  if (options.emit == EmitKind::Mlir)
    return succeeded(writeText(
               options.output, [&](raw_ostream &os) { module.print(os); },
               loc))
               ? CompileResult::Success
               : CompileResult::Failure;

  if (failed(runner.run(
          [&](OpPassManager &pm) { buildCpuToLLVMPipeline(pm); })))
    return CompileResult::Failure;

  llvm::TargetMachine &machine = *cpu->machine;
  std::vector<CpuEntryPoint> entryPoints;
  for (const FunctionSignature &signature : signatures) {
    CpuEntryPoint entry;
    entry.name = signature.name;
    for (const TensorSignature &input : signature.inputs)
      entry.inputRanks.push_back(input.shape.size());
    for (const TensorSignature &output : signature.outputs)
      entry.outputRanks.push_back(output.shape.size());
    entryPoints.push_back(std::move(entry));
  }
  llvm::LLVMContext llvmContext;
  llvm::Expected<std::unique_ptr<llvm::Module>> llvmModule =
      translateToCpuLibrary(module, llvmContext, entryPoints, machine);
  if (!llvmModule)
    return fail(llvmModule.takeError());
  if (options.emit == EmitKind::LLVMIR)
    return succeeded(writeText(
               options.output,
               [&](raw_ostream &os) { (*llvmModule)->print(os, nullptr); },
               loc))
               ? CompileResult::Success
               : CompileResult::Failure;

  if (std::error_code error = llvm::sys::fs::create_directories(options.output))
    return fail(llvm::createStringError("cannot create " + options.output +
                                        ": " + error.message()));
  llvm::SmallString<256> objectPath(options.output), libraryPath(options.output),
      manifestPath(options.output);
  llvm::sys::path::append(objectPath, "model_cpu.o");
  llvm::sys::path::append(libraryPath, kLibraryFile);
  llvm::sys::path::append(manifestPath, "manifest.json");
  if (llvm::Error error = emitObjectFile(**llvmModule, machine, objectPath))
    return fail(std::move(error));
  llvm::Error linked = linkSharedLibrary(objectPath, libraryPath);
  llvm::sys::fs::remove(objectPath);
  if (linked)
    return fail(std::move(linked));
  CpuArtifact artifact{cpu->arch, cpu->name, cpu->features};
  std::string manifest = buildManifest(signatures, kLibraryFile,
                                       options.sourceName, &artifact, nullptr);
  if (failed(writeText(
          manifestPath, [&](raw_ostream &os) { os << manifest; }, loc)))
    return CompileResult::Failure;
  return CompileResult::Success;
}

void mlir::ssm::registerCompilerDialects(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  registry.insert<SsmDialect>();
}
