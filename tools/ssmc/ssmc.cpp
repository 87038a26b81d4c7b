//===- ssmc.cpp - The ssm compiler driver ---------------------------------===//
//
// Reads an .mlir module (or a shared test vector, whose metadata describes
// the op) and compiles it for a target: an artifact directory by default,
// or the lowered MLIR / LLVM IR for inspection.
// Exit status: 0 success, 1 compiler failure, 2 bad input or options.
//
//===----------------------------------------------------------------------===//

#include "ssm/Driver/Driver.h"
#include "ssm/Frontend/ModelImport.h"
#include "ssm/Frontend/TestVectorImport.h"
#include "ssm/SsmOps.h"
#include "ssm/Target/CPU/CpuEmitter.h"
#include "ssm/Target/CPU/CpuPipeline.h"
#include "ssm/Target/CPU/Passes.h"
#include "ssm/Target/CUDA/Passes.h"
#include "ssm/Transforms/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;
namespace cl = llvm::cl;

// ssmc's own options; --help shows only these (--help-hidden shows LLVM's and
// MLIR's, which stay usable, e.g. --mlir-print-ir-after-all).
static cl::OptionCategory ssmcCategory("ssmc options");

// Optional for the parser so that `ssmc --cpu=help` needs none; main
// requires it otherwise.
static cl::opt<std::string>
    inputPath(cl::Positional, cl::Optional,
              cl::desc("<input.mlir | vector.safetensors | checkpoint dir>"),
              cl::cat(ssmcCategory));
static cl::opt<std::string> outputPath(
    "o", cl::desc("Artifact directory (or output file for --emit=mlir|llvm)"),
    cl::value_desc("path"), cl::cat(ssmcCategory), cl::init(""));
static cl::opt<std::string>
    target("target",
           cl::desc("Code generation target: cpu, or cuda[:sm_90a|sm_90]"),
           cl::cat(ssmcCategory), cl::init("cpu"));
static cl::opt<std::string>
    emit("emit",
         cl::desc("What to write: artifact (manifest.json + model_cpu.so, "
                  "or + model_cuda.cubin for cuda), mlir (CPU: loops after "
                  "the lowerings; CUDA: the planned ops), llvm (LLVM IR, "
                  "cpu) or cuda (the CUDA C++, cuda)"),
         cl::cat(ssmcCategory), cl::init("artifact"));
static cl::opt<std::string>
    algorithm("algorithm",
              cl::desc("auto (cost model), quadratic, recurrent or chunked"),
              cl::cat(ssmcCategory), cl::init("auto"));
static cl::opt<int64_t>
    chunkSize("chunk-size",
              cl::desc("Chunk size for chunked (0: the cost model's choice)"),
              cl::cat(ssmcCategory), cl::init(0));
static cl::opt<std::string> costModelTarget(
    "cost-model-target",
    cl::desc("Target the cost model estimates for: host, h100, h200 or a "
             "JSON file (default: host for cpu, h200 for cuda)"),
    cl::cat(ssmcCategory), cl::init(""));
static cl::opt<std::string> cpu(
    "cpu",
    cl::desc("Processor the CPU code is for: native (this one, the default), "
             "x86-64, x86-64-v2, x86-64-v3, x86-64-v4 (portable levels) or a "
             "processor name (help lists them). The artifact records the "
             "features the code uses; the runtime refuses it on a processor "
             "without them"),
    cl::value_desc("name"), cl::cat(ssmcCategory), cl::init("native"));
static cl::opt<int64_t>
    vectorWidth("vector-width",
                cl::desc("f32 lanes per vector (0: the --cpu's widest)"),
                cl::cat(ssmcCategory), cl::init(0));
static cl::opt<bool>
    explain("explain",
            cl::desc("Print each op's algorithm candidates and estimates"),
            cl::cat(ssmcCategory), cl::init(false));
static cl::opt<std::string> measured(
    "measured",
    cl::desc("With --explain: a device sweep's measurements "
             "(bench/gpu/results/<target>-sweep.json) to print next to the "
             "estimates"),
    cl::value_desc("file"), cl::cat(ssmcCategory), cl::init(""));

static cl::opt<bool> cudaEmulation(
    "cuda-emulation",
    cl::desc("With --target=cuda: also build the kernels for the runtime's "
             "host emulator (SSM_CUDA_EMULATOR=1), to test without a GPU"),
    cl::cat(ssmcCategory), cl::init(false));
static cl::opt<std::string> vectorDtype(
    "vector-dtype",
    cl::desc("For a reference vector: store its activations and outputs as "
             "f32 (as in the file), bf16 or f16"),
    cl::cat(ssmcCategory), cl::init("f32"));

static cl::opt<std::string> weightDtype(
    "weight-dtype",
    cl::desc("For a checkpoint: its weights' type in the artifact, "
             "checkpoint (the config's dtype), f32 (the runtime widens a "
             "16-bit file at load; the CPU's fast path), bf16 or f16"),
    cl::cat(ssmcCategory), cl::init("checkpoint"));

static int exitCode(ssm::CompileResult result) {
  switch (result) {
  case ssm::CompileResult::Success:
    return 0;
  case ssm::CompileResult::Failure:
    return 1;
  case ssm::CompileResult::BadInput:
    return 2;
  }
  return 1;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // Pass names for --mlir-print-ir-after=... and friends.
  registerAllPasses();
  ssm::registerSsmPasses();
  ssm::registerSsmCpuPasses();
  ssm::registerSsmCudaPasses();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerAsmPrinterCLOptions();
  cl::HideUnrelatedOptions(ssmcCategory);
  cl::ParseCommandLineOptions(argc, argv,
                              "ssmc: compile sequence mixers (ssm.mix)\n");

  if (cpu == "help") {
    llvm::outs() << "CPUs ssmc --cpu accepts: native";
    for (const std::string &name : ssm::knownCpuNames())
      llvm::outs() << ", " << name;
    llvm::outs() << "\n";
    return 0;
  }
  if (inputPath.empty()) {
    llvm::errs()
        << "ssmc: no input (an .mlir module, a reference vector "
           ".safetensors or a checkpoint directory); see ssmc --help\n";
    return 2;
  }

  if (!measured.empty() && !explain) {
    llvm::errs() << "ssmc: --measured prints a sweep's times next to the "
                    "estimates of --explain; add --explain\n";
    return 2;
  }

  DialectRegistry registry;
  ssm::registerCompilerDialects(registry);
  MLIRContext context(registry);
  // Diagnostics point at the source line; a dump of the op (or of the whole
  // module, for errors about the request) would bury them.
  context.printOpOnDiagnostic(false);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);

  ssm::CompileOptions options;
  options.target = target;
  options.costModelTarget = costModelTarget;
  options.algorithm = algorithm;
  options.chunkSize = chunkSize;
  options.cpu = cpu;
  options.vectorWidth = vectorWidth;
  options.explain = explain;
  options.measured = measured;
  options.cudaEmulation = cudaEmulation;
  options.sourceName = llvm::sys::path::filename(inputPath).str();
  if (emit == "artifact") {
    options.emit = ssm::EmitKind::Artifact;
  } else if (emit == "mlir") {
    options.emit = ssm::EmitKind::Mlir;
  } else if (emit == "llvm") {
    options.emit = ssm::EmitKind::LLVMIR;
  } else if (emit == "cuda") {
    options.emit = ssm::EmitKind::Cuda;
  } else {
    llvm::errs() << "ssmc: unknown --emit=" << emit
                 << ", expected artifact, mlir, llvm or cuda\n";
    return 2;
  }
  options.output = outputPath;
  if (options.output.empty()) {
    if (options.emit == ssm::EmitKind::Artifact) {
      llvm::errs() << "ssmc: an artifact needs an output directory (-o DIR)\n";
      return 2;
    }
    options.output = "-";
  }
  options.configurePassManager = [](PassManager &pm) {
    return applyPassManagerCLOptions(pm);
  };

  OwningOpRef<ModuleOp> module;
  if (llvm::StringRef(inputPath).ends_with(".safetensors")) {
    FloatType activations;
    if (vectorDtype == "bf16")
      activations = BFloat16Type::get(&context);
    else if (vectorDtype == "f16")
      activations = Float16Type::get(&context);
    else if (vectorDtype != "f32") {
      llvm::errs() << "ssmc: unknown --vector-dtype=" << vectorDtype
                   << ", expected f32, bf16 or f16\n";
      return 2;
    }
    FailureOr<OwningOpRef<ModuleOp>> imported =
        ssm::importTestVector(inputPath, &context, activations);
    if (failed(imported))
      return 2;
    module = std::move(*imported);
  } else if (ssm::isCheckpointDirectory(inputPath)) {
    std::optional<std::string> weights;
    if (weightDtype == "f32" || weightDtype == "bf16" || weightDtype == "f16") {
      weights = weightDtype;
    } else if (weightDtype != "checkpoint") {
      llvm::errs() << "ssmc: unknown --weight-dtype=" << weightDtype
                   << ", expected checkpoint, f32, bf16 or f16\n";
      return 2;
    }
    FailureOr<OwningOpRef<ModuleOp>> imported =
        ssm::importModel(inputPath, &context, weights);
    if (failed(imported))
      return 2;
    module = std::move(*imported);
  } else if (llvm::sys::fs::is_directory(inputPath)) {
    llvm::errs() << "ssmc: " << inputPath
                 << " is a directory without a config.json (a checkpoint "
                    "directory holds config.json and model.safetensors)\n";
    return 2;
  } else {
    std::string error;
    std::unique_ptr<llvm::MemoryBuffer> file =
        openInputFile(inputPath, &error);
    if (!file) {
      llvm::errs() << "ssmc: " << error << "\n";
      return 2;
    }
    sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
    module = parseSourceFile<ModuleOp>(sourceMgr, &context);
    if (!module)
      return 2;
  }
  return exitCode(ssm::compileModule(*module, options));
}
