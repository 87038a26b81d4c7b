//===- CudaPipeline.cpp - From ssm.mix on tensors to CUDA kernels ---------===//
//
// The CUDA pipeline shared by ssmc and ssm-opt, and the nvcc step.
//
//===----------------------------------------------------------------------===//

#include "ssm/Target/CUDA/CudaPipeline.h"

#include "ssm/Target/CUDA/Passes.h"
#include "ssm/Transforms/Pipelines.h"

#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"

using namespace mlir;

void ssm::buildCudaPipeline(OpPassManager &pm,
                            const CudaPipelineOptions &options,
                            CudaExport *result, std::string sourceName) {
  registerCudaKernelPlanner();
  SelectionOptions selection;
  selection.backend = "cuda";
  selection.target = options.target;
  selection.algorithm = options.algorithm;
  selection.chunkSize = options.chunkSize;
  selection.explain = options.explain;
  selection.measured = options.measured;
  selection.arch = options.arch;
  buildSelectionPipeline(pm, selection);
  if (result) {
    pm.addPass(createSsmExportCudaPass(*result, std::move(sourceName)));
  } else {
    SsmExportCudaOptions exportOptions;
    exportOptions.output = options.output;
    pm.addPass(createSsmExportCuda(exportOptions));
  }
}

void ssm::registerCudaPipelines() {
  registerCudaKernelPlanner();
  PassPipelineRegistration<CudaPipelineOptions>(
      "ssm-cuda-pipeline",
      "What ssmc --target=cuda runs: glue normalization, selection for the "
      "GPU, the CUDA emitter",
      [](OpPassManager &pm, const CudaPipelineOptions &options) {
        buildCudaPipeline(pm, options);
      });
}

/// Runs `program` with `arguments`, its output in the error when it fails.
static llvm::Error runCompiler(llvm::StringRef program,
                               llvm::ArrayRef<llvm::StringRef> arguments,
                               llvm::StringRef what) {
  llvm::SmallString<128> log;
  if (std::error_code error =
          llvm::sys::fs::createTemporaryFile("ssmc-compile", "log", log))
    return llvm::createStringError("cannot create a temporary file: " +
                                   error.message());
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, log.str(),
                                                log.str()};
  std::string message;
  int status = llvm::sys::ExecuteAndWait(program, arguments, std::nullopt,
                                         redirects, 0, 0, &message);
  std::string output;
  if (auto buffer = llvm::MemoryBuffer::getFile(log))
    output = (*buffer)->getBuffer().str();
  llvm::sys::fs::remove(log);
  if (status != 0)
    return llvm::createStringError(
        what.str() + " failed (exit " + std::to_string(status) +
        (message.empty() ? "" : ", " + message) + "):\n" + output);
  return llvm::Error::success();
}

llvm::Error ssm::compileCudaForEmulation(llvm::StringRef sourcePath,
                                         llvm::StringRef libraryPath) {
  std::string compiler;
  if (llvm::sys::fs::can_execute(SSM_HOST_CXX))
    compiler = SSM_HOST_CXX;
  else if (llvm::ErrorOr<std::string> onPath =
               llvm::sys::findProgramByName("c++"))
    compiler = *onPath;
  if (compiler.empty())
    return llvm::createStringError(
        "building the emulation library needs a host C++ compiler (c++)");
  std::string include = std::string("-I") + SSM_DEVICE_INCLUDE_DIR;
  llvm::SmallVector<llvm::StringRef> arguments = {
      compiler, "-std=c++17", "-O1", "-fPIC", "-shared",
      "-DSSM_DEVICE_EMULATION", include, "-x", "c++", sourcePath,
      "-o", libraryPath};
  return runCompiler(compiler, arguments,
                     "compiling " + sourcePath.str() + " for the emulator");
}

llvm::Expected<std::string> ssm::findNvcc() {
  if (const char *fromEnvironment = std::getenv("SSM_NVCC");
      fromEnvironment && *fromEnvironment) {
    if (!llvm::sys::fs::can_execute(fromEnvironment))
      return llvm::createStringError(llvm::Twine("$SSM_NVCC is ") +
                                     fromEnvironment +
                                     ", which is not an executable");
    return std::string(fromEnvironment);
  }
  if (llvm::sys::fs::can_execute(SSM_NVCC_PATH))
    return std::string(SSM_NVCC_PATH);
  if (llvm::ErrorOr<std::string> onPath = llvm::sys::findProgramByName("nvcc"))
    return *onPath;
  return llvm::createStringError(
      "building a CUDA artifact needs the CUDA toolkit's nvcc (not at " +
      std::string(SSM_NVCC_PATH) +
      ", not on PATH, $SSM_NVCC unset); --emit=cuda writes the source "
      "without it");
}

llvm::Error ssm::compileCudaSource(llvm::StringRef sourcePath,
                                   llvm::StringRef cubinPath,
                                   llvm::StringRef arch) {
  llvm::Expected<std::string> found = findNvcc();
  if (!found)
    return found.takeError();
  std::string nvcc = *found;
  std::string compute = "compute_" + arch.drop_front(3).str();
  std::string gencode = "-gencode=arch=" + compute + ",code=" + arch.str();
  std::string include = std::string("-I") + SSM_DEVICE_INCLUDE_DIR;
  llvm::SmallVector<llvm::StringRef> arguments = {
      nvcc,     "-std=c++17", "-O3",   "-lineinfo", gencode, "-cubin",
      include,  "-o",         cubinPath, sourcePath};
  return runCompiler(nvcc, arguments, "nvcc on " + sourcePath.str());
}
