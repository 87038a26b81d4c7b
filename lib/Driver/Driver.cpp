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
  if (options.target != "cpu")
    return module.emitError() << "unknown target '" << options.target
                              << "'; this build compiles for 'cpu'";
  if (options.chunkSize < 0 || options.chunkSize > kMaxChunkSize)
    return module.emitError()
           << "chunk size must be in [1, " << kMaxChunkSize
           << "] (0: the cost model's choice), got " << options.chunkSize;
  if (options.vectorWidth < 0 || options.vectorWidth > kMaxVectorWidth ||
      (options.vectorWidth > 0 && !llvm::isPowerOf2_64(options.vectorWidth)))
    return module.emitError()
           << "vector width must be a power of two in [1, " << kMaxVectorWidth
           << "] (0: the host's), got " << options.vectorWidth;
  if (llvm::Expected<::ssm::cost::TargetDescription> target =
          ::ssm::cost::getTarget(options.costModelTarget);
      !target)
    return module.emitError() << llvm::toString(target.takeError());
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
  std::vector<FunctionSignature> signatures;
  for (func::FuncOp func : functions) {
    FailureOr<FunctionSignature> signature = analyzeSignature(func);
    if (failed(signature))
      return CompileResult::BadInput;
    signatures.push_back(std::move(*signature));
  }

  CpuPipelineOptions pipeline;
  pipeline.target = options.costModelTarget;
  pipeline.algorithm = options.algorithm;
  pipeline.chunkSize = options.chunkSize;
  pipeline.vectorWidth = options.vectorWidth;
  pipeline.explain = options.explain;
  PipelineRunner runner(module, options);

  if (failed(runner.run(
          [&](OpPassManager &pm) { buildCpuSelectionPipeline(pm, pipeline); })))
    return CompileResult::Failure;
  for (auto [func, signature] : llvm::zip(functions, signatures))
    func.walk([&, &signature = signature](MixOp op) {
      AlgorithmAttr algorithm = op.getAlgorithmAttr();
      signature.algorithms.push_back(
          {locationString(op.getLoc()),
           stringifyAlgorithmKind(algorithm.getKind()).str(),
           algorithm.getChunkSize()});
    });

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

  auto fail = [&](llvm::Error error) {
    emitError(loc) << llvm::toString(std::move(error));
    return CompileResult::Failure;
  };
  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> machine =
      createHostTargetMachine();
  if (!machine)
    return fail(machine.takeError());
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
      translateToCpuLibrary(module, llvmContext, entryPoints, **machine);
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
  if (llvm::Error error = emitObjectFile(**llvmModule, **machine, objectPath))
    return fail(std::move(error));
  llvm::Error linked = linkSharedLibrary(objectPath, libraryPath);
  llvm::sys::fs::remove(objectPath);
  if (linked)
    return fail(std::move(linked));
  llvm::json::Value manifest =
      buildManifest(signatures, kLibraryFile, options.sourceName);
  if (failed(writeText(
          manifestPath,
          [&](raw_ostream &os) { os << llvm::formatv("{0:2}", manifest) << "\n"; },
          loc)))
    return CompileResult::Failure;
  return CompileResult::Success;
}

void mlir::ssm::registerCompilerDialects(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  registry.insert<SsmDialect>();
}
