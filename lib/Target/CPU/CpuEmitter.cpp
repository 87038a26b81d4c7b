//===- CpuEmitter.cpp - LLVM IR, objects and shared libraries -------------===//
//
// Translation of the lowered module to LLVM IR, the ABI wrappers and entry
// table, LLVM's -O3 pipeline for the host, object emission and linking.
//
//===----------------------------------------------------------------------===//

#include "ssm/Target/CPU/CpuEmitter.h"

#include "ssm/cpu_features.h"
#include "ssm/cpu_library_abi.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

using namespace mlir;
using llvm::createStringError;

// The library's only exported symbol and the table's version, as the
// runtime reads them (cpu_library_abi.h).
static constexpr const char *kQuerySymbol = SSM_CPU_LIBRARY_QUERY_SYMBOL;
static constexpr unsigned kAbiVersion = SSM_CPU_LIBRARY_ABI_VERSION;

namespace {
/// The LLVM target of the process's triple (the host's architecture).
llvm::Expected<const llvm::Target *> lookupHostTarget(llvm::Triple &triple) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  triple = llvm::Triple(llvm::sys::getProcessTriple());
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return createStringError("no LLVM target for " + triple.str() + ": " +
                             error);
  return target;
}

/// The processor table of the host's LLVM target (names and features).
llvm::Expected<std::unique_ptr<llvm::MCSubtargetInfo>> hostSubtargetInfo() {
  llvm::Triple triple;
  llvm::Expected<const llvm::Target *> target = lookupHostTarget(triple);
  if (!target)
    return target.takeError();
  std::unique_ptr<llvm::MCSubtargetInfo> info(
      (*target)->createMCSubtargetInfo(triple, "", ""));
  if (!info)
    return createStringError("no subtarget information for " + triple.str());
  return info;
}
} // namespace

std::vector<std::string> mlir::ssm::knownCpuNames() {
  std::vector<std::string> names;
  llvm::Expected<std::unique_ptr<llvm::MCSubtargetInfo>> info =
      hostSubtargetInfo();
  if (!info) {
    llvm::consumeError(info.takeError());
    return names;
  }
  for (const llvm::SubtargetSubTypeKV &processor :
       (*info)->getAllProcessorDescriptions())
    names.push_back(processor.Key);
  return names;
}

llvm::Error mlir::ssm::checkCpuName(llvm::StringRef cpu) {
  if (cpu == "native")
    return llvm::Error::success();
  llvm::Expected<std::unique_ptr<llvm::MCSubtargetInfo>> info =
      hostSubtargetInfo();
  if (!info)
    return info.takeError();
  if (!cpu.empty() && (*info)->isCPUStringValid(cpu))
    return llvm::Error::success();
  llvm::Triple triple(llvm::sys::getProcessTriple());
  std::string message = "unknown CPU '" + cpu.str() + "' for " +
                        triple.getArchName().str() + "; expected native";
  if (triple.getArch() == llvm::Triple::x86_64)
    message += ", a portable x86-64 level (x86-64, x86-64-v2, x86-64-v3, "
               "x86-64-v4)";
  return createStringError(message +
                           " or a processor LLVM knows (e.g. skylake-avx512, "
                           "znver4; --cpu=help lists them)");
}

llvm::Expected<mlir::ssm::CpuTarget>
mlir::ssm::createCpuTarget(llvm::StringRef cpu) {
  if (llvm::Error error = checkCpuName(cpu))
    return std::move(error);
  llvm::Triple triple;
  llvm::Expected<const llvm::Target *> target = lookupHostTarget(triple);
  if (!target)
    return target.takeError();
  CpuTarget result;
  result.arch = llvm::Triple::getArchTypeName(triple.getArch()).str();
  llvm::SubtargetFeatures features;
  if (cpu == "native") {
    // The host's CPU and every feature it has, or lacks, explicitly: a
    // virtual machine may hide some of its model's features.
    result.name = llvm::sys::getHostCPUName().str();
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      features.AddFeature(feature.first(), feature.second);
  } else {
    result.name = cpu.str();
  }
  llvm::TargetOptions options;
  result.machine.reset((*target)->createTargetMachine(
      triple, result.name, features.getString(), options, llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!result.machine)
    return createStringError("cannot create a target machine for " +
                             triple.str() + " (CPU '" + result.name + "')");

  // What the code may use, with the features the CPU's own imply: the
  // manifest's `cpu.features`, which the runtime checks before loading.
  const llvm::MCSubtargetInfo *info = result.machine->getMCSubtargetInfo();
  llvm::StringMap<unsigned> bits;
  for (const llvm::SubtargetFeatureKV &feature :
       info->getAllProcessorFeatures())
    bits[feature.Key] = feature.Value;
  if (result.arch == ::ssm::runtime::kCpuArchX86_64)
    for (std::string_view name : ::ssm::runtime::kX86CpuFeatures) {
      auto it = bits.find(llvm::StringRef(name.data(), name.size()));
      if (it != bits.end() && info->getFeatureBits().test(it->second))
        result.features.emplace_back(name);
    }
  return result;
}

int64_t mlir::ssm::CpuTarget::vectorWidth() const {
  auto has = [&](llvm::StringRef name) {
    return llvm::is_contained(features, name);
  };
  if (has("avx512f"))
    return 16;
  if (has("avx"))
    return 8;
  return 4;
}

/// Adds `void ssm_entry_<name>(void *const *descriptors)`: it loads each
/// memref descriptor's fields and calls the lowered function, whose
/// signature spells them out one by one.
static llvm::Expected<llvm::Function *>
addEntryWrapper(llvm::Module &module, const mlir::ssm::CpuEntryPoint &entry) {
  llvm::Function *callee = module.getFunction(entry.name);
  if (!callee)
    return createStringError("lowered module has no function '" + entry.name +
                             "'");
  llvm::LLVMContext &context = module.getContext();
  llvm::Type *ptrType = llvm::PointerType::getUnqual(context);
  llvm::Type *i64 = llvm::Type::getInt64Ty(context);
  auto *wrapperType = llvm::FunctionType::get(llvm::Type::getVoidTy(context),
                                              {ptrType}, false);
  auto *wrapper =
      llvm::Function::Create(wrapperType, llvm::GlobalValue::InternalLinkage,
                             "ssm_entry_" + entry.name, module);
  llvm::IRBuilder<> builder(
      llvm::BasicBlock::Create(context, "entry", wrapper));

  llvm::SmallVector<unsigned> ranks(entry.inputRanks);
  ranks.append(entry.outputRanks);
  llvm::SmallVector<llvm::Value *> arguments;
  for (auto [index, rank] : llvm::enumerate(ranks)) {
    llvm::Value *slot = builder.CreateConstInBoundsGEP1_64(
        ptrType, wrapper->getArg(0), index);
    llvm::Value *descriptor = builder.CreateLoad(ptrType, slot);
    auto field = [&](unsigned word, llvm::Type *type) {
      llvm::Value *address =
          builder.CreateConstInBoundsGEP1_64(i64, descriptor, word);
      return builder.CreateLoad(type, address);
    };
    arguments.push_back(field(0, ptrType)); // allocated
    arguments.push_back(field(1, ptrType)); // aligned
    arguments.push_back(field(2, i64));     // offset
    for (unsigned d = 0; d < 2 * rank; ++d)  // sizes, then strides
      arguments.push_back(field(3 + d, i64));
  }
  if (arguments.size() != callee->arg_size())
    return createStringError(
        "function '" + entry.name + "' takes " +
        std::to_string(callee->arg_size()) + " lowered arguments, the ABI "
        "wrapper computed " + std::to_string(arguments.size()));
  builder.CreateCall(callee, arguments);
  builder.CreateRetVoid();
  return wrapper;
}

/// Adds the entry table and `ssm_cpu_library_query`.
static void
addLibraryTable(llvm::Module &module,
                llvm::ArrayRef<mlir::ssm::CpuEntryPoint> entryPoints,
                llvm::ArrayRef<llvm::Function *> wrappers) {
  llvm::LLVMContext &context = module.getContext();
  llvm::Type *ptrType = llvm::PointerType::getUnqual(context);
  llvm::Type *i32 = llvm::Type::getInt32Ty(context);
  auto *entryType = llvm::StructType::create(
      context, {ptrType, ptrType, i32, i32}, "ssm_cpu_entry_point_v1_t");
  llvm::SmallVector<llvm::Constant *> entries;
  for (auto [entry, wrapper] : llvm::zip(entryPoints, wrappers)) {
    llvm::Constant *name = llvm::ConstantDataArray::getString(context,
                                                              entry.name);
    auto *nameGlobal = new llvm::GlobalVariable(
        module, name->getType(), /*isConstant=*/true,
        llvm::GlobalValue::PrivateLinkage, name, "ssm_entry_name");
    entries.push_back(llvm::ConstantStruct::get(
        entryType,
        {nameGlobal, wrapper,
         llvm::ConstantInt::get(i32, entry.inputRanks.size()),
         llvm::ConstantInt::get(i32, entry.outputRanks.size())}));
  }
  auto *arrayType = llvm::ArrayType::get(entryType, entries.size());
  auto *table = new llvm::GlobalVariable(
      module, arrayType, /*isConstant=*/true,
      llvm::GlobalValue::PrivateLinkage,
      llvm::ConstantArray::get(arrayType, entries), "ssm_entry_points");
  auto *libraryType = llvm::StructType::create(context, {i32, i32, ptrType},
                                               "ssm_cpu_library_v1_t");
  auto *library = new llvm::GlobalVariable(
      module, libraryType, /*isConstant=*/true,
      llvm::GlobalValue::PrivateLinkage,
      llvm::ConstantStruct::get(
          libraryType, {llvm::ConstantInt::get(i32, kAbiVersion),
                        llvm::ConstantInt::get(i32, entries.size()), table}),
      "ssm_cpu_library");

  auto *queryType = llvm::FunctionType::get(ptrType, {i32}, false);
  auto *query = llvm::Function::Create(
      queryType, llvm::GlobalValue::ExternalLinkage, kQuerySymbol, module);
  query->setVisibility(llvm::GlobalValue::DefaultVisibility);
  llvm::IRBuilder<> builder(llvm::BasicBlock::Create(context, "entry", query));
  llvm::Value *supported = builder.CreateICmpUGE(
      query->getArg(0), llvm::ConstantInt::get(i32, kAbiVersion));
  builder.CreateRet(builder.CreateSelect(
      supported, library,
      llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(context))));
}

static void optimize(llvm::Module &module, llvm::TargetMachine &machine) {
  llvm::LoopAnalysisManager loops;
  llvm::FunctionAnalysisManager functions;
  llvm::CGSCCAnalysisManager sccs;
  llvm::ModuleAnalysisManager modules;
  llvm::PassBuilder builder(&machine);
  builder.registerModuleAnalyses(modules);
  builder.registerCGSCCAnalyses(sccs);
  builder.registerFunctionAnalyses(functions);
  builder.registerLoopAnalyses(loops);
  builder.crossRegisterProxies(loops, functions, sccs, modules);
  llvm::ModulePassManager passes =
      builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  passes.run(module, modules);
}

llvm::Expected<std::unique_ptr<llvm::Module>>
mlir::ssm::translateToCpuLibrary(ModuleOp module, llvm::LLVMContext &context,
                                 llvm::ArrayRef<CpuEntryPoint> entryPoints,
                                 llvm::TargetMachine &targetMachine) {
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerOpenMPDialectTranslation(registry);
  module->getContext()->appendDialectRegistry(registry);

  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context, "ssm_cpu_library");
  if (!llvmModule)
    return createStringError("translation to LLVM IR failed");
  llvmModule->setDataLayout(targetMachine.createDataLayout());
  llvmModule->setTargetTriple(targetMachine.getTargetTriple());

  llvm::SmallVector<llvm::Function *> wrappers;
  for (const CpuEntryPoint &entry : entryPoints) {
    llvm::Expected<llvm::Function *> wrapper =
        addEntryWrapper(*llvmModule, entry);
    if (!wrapper)
      return wrapper.takeError();
    wrappers.push_back(*wrapper);
  }
  // Only the query symbol is exported: the optimizer may inline and
  // specialize the rest, and two loaded artifacts never clash.
  for (llvm::Function &function : *llvmModule)
    if (!function.isDeclaration())
      function.setLinkage(llvm::GlobalValue::InternalLinkage);
  addLibraryTable(*llvmModule, entryPoints, wrappers);

  std::string problems;
  llvm::raw_string_ostream stream(problems);
  if (llvm::verifyModule(*llvmModule, &stream))
    return createStringError("invalid LLVM IR: " + problems);
  optimize(*llvmModule, targetMachine);
  return llvmModule;
}

llvm::Error mlir::ssm::emitObjectFile(llvm::Module &module,
                                      llvm::TargetMachine &targetMachine,
                                      llvm::StringRef path) {
  std::error_code error;
  llvm::ToolOutputFile output(path, error, llvm::sys::fs::OF_None);
  if (error)
    return createStringError("cannot write " + path.str() + ": " +
                             error.message());
  llvm::legacy::PassManager passes;
  if (targetMachine.addPassesToEmitFile(passes, output.os(), nullptr,
                                        llvm::CodeGenFileType::ObjectFile))
    return createStringError("the target cannot emit object files");
  passes.run(module);
  output.keep();
  return llvm::Error::success();
}

llvm::Error mlir::ssm::linkSharedLibrary(llvm::StringRef objectPath,
                                         llvm::StringRef libraryPath) {
  llvm::ErrorOr<std::string> linker = llvm::sys::findProgramByName("cc");
  if (!linker)
    linker = llvm::sys::findProgramByName("c++");
  if (!linker)
    return createStringError("no C compiler driver ('cc') on PATH to link " +
                             libraryPath.str());
  std::string rpath = std::string("-Wl,-rpath,") + SSM_OPENMP_LIBRARY_DIR;
  std::string libraryDir = std::string("-L") + SSM_OPENMP_LIBRARY_DIR;
  llvm::SmallVector<llvm::StringRef> arguments = {
      *linker,  "-shared", "-o",    libraryPath, objectPath,
      libraryDir, rpath,   "-lomp", "-lm"};
  std::string message;
  int status = llvm::sys::ExecuteAndWait(*linker, arguments, std::nullopt, {},
                                         /*SecondsToWait=*/0,
                                         /*MemoryLimit=*/0, &message);
  if (status != 0)
    return createStringError("linking " + libraryPath.str() + " failed" +
                             (message.empty() ? "" : ": " + message));
  return llvm::Error::success();
}
