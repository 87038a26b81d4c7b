// ssm-run check: a reference test vector compiled in this process (the
// compiler's libraries: the vector importer and the driver), run through the
// runtime like any artifact, and compared with the vector's own outputs.
#include "RunSupport.h"

#include "ssm/Driver/Driver.h"
#include "ssm/Frontend/TestVectorImport.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>

namespace ssm::run {

namespace {

const char *const kKinds[] = {"ssd", "selective_scan", "softmax_attention",
                              "linear_attention"};

/// The kind of test vector `file` holds, from its __metadata__.meta.
std::string vectorKind(const SafetensorsFile &file, const std::string &path) {
  std::optional<std::string> meta = file.metadata("meta");
  if (!meta)
    fail(kExitBadInput, path + ": no __metadata__.meta describing the case; "
                               "not a reference test vector");
  llvm::Expected<llvm::json::Value> value = llvm::json::parse(*meta);
  if (!value || !value->getAsObject())
    fail(kExitBadInput,
         path + ": __metadata__.meta is not a JSON object" +
             (value ? std::string()
                    : " (" + llvm::toString(value.takeError()) + ")"));
  const llvm::json::Value *kind = value->getAsObject()->get("kind");
  if (!kind)
    fail(kExitBadInput, path + ": __metadata__.meta has no 'kind'");
  std::optional<llvm::StringRef> name = kind->getAsString();
  if (!name) {
    std::string text;
    llvm::raw_string_ostream stream(text);
    stream << *kind;
    fail(kExitBadInput, path + ": __metadata__.meta 'kind' is " + text +
                            ", expected a string");
  }
  for (const char *known : kKinds)
    if (*name == known)
      return known;
  fail(kExitBadInput, path + ": unknown kind '" + name->str() +
                          "' (expected ssd, selective_scan, "
                          "softmax_attention or linear_attention)");
}

/// Refuses a forced algorithm the kind rules out, before compiling, so the
/// message does not depend on the compiler's wording.
void checkAlgorithmForKind(const std::string &kind,
                           const std::string &algorithm) {
  if (algorithm == "auto")
    return;
  if (kind == "softmax_attention" && algorithm != "quadratic")
    fail(kExitBadInput,
         "algorithm '" + algorithm +
             "' is illegal for kind 'softmax_attention': softmax has no "
             "finite-state form, so only 'quadratic' computes it (or 'auto')");
  if (kind == "selective_scan" && algorithm == "chunked")
    fail(kExitBadInput,
         "algorithm 'chunked' is illegal for kind 'selective_scan': its decay "
         "is diagonal (one per state index); use 'recurrent' or 'quadratic' "
         "(or 'auto')");
}

/// Max |error| / max |reference| allowed against the vectors' f32 outputs:
/// their 1e-4 for f32; with 16-bit activations, what rounding the inputs and
/// y to bf16 (8 significant bits) or f16 (11) costs, with margin (measured:
/// see the README).
double toleranceOf(const std::string &dtype) {
  if (dtype == "bf16")
    return 3e-2;
  if (dtype == "f16")
    return 1e-2;
  return kCheckTolerance;
}

/// Removes a temporary directory when the command ends, however it ends.
class TemporaryDirectory {
public:
  TemporaryDirectory() {
    llvm::SmallString<128> path;
    if (std::error_code error =
            llvm::sys::fs::createUniqueDirectory("ssm-run", path))
      fail(kExitCompilerFailure,
           "cannot create a temporary directory: " + error.message());
    dir = path.str().str();
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  TemporaryDirectory(const TemporaryDirectory &) = delete;
  TemporaryDirectory &operator=(const TemporaryDirectory &) = delete;
  const std::string &path() const { return dir; }

private:
  std::string dir;
};

} // namespace

int commandCheck(const std::vector<std::string> &args) {
  Arguments arguments = parseArguments("check", args,
                                       {{"algorithm", true},
                                        {"chunk-size", true},
                                        {"target", true},
                                        {"dtype", true},
                                        {"keep", true},
                                        {"verbose", false}});
  if (arguments.positional.size() != 1)
    usageError("ssm-run check: expected one vector file, got " +
               std::to_string(arguments.positional.size()) + " arguments");
  std::string vectorPath = arguments.positional[0];
  std::string algorithm = arguments.value("algorithm", "auto");
  if (algorithm != "auto" && algorithm != "quadratic" &&
      algorithm != "recurrent" && algorithm != "chunked")
    usageError("ssm-run check: unknown algorithm '" + algorithm +
               "', expected auto, quadratic, recurrent or chunked");
  std::string target = arguments.value("target", "cpu");
  if (target != "cpu" && target != "cuda")
    usageError("ssm-run check: unknown target '" + target +
               "', expected cpu or cuda");
  std::string dtype = arguments.value("dtype", "f32");
  if (dtype != "f32" && dtype != "bf16" && dtype != "f16")
    usageError("ssm-run check: unknown dtype '" + dtype +
               "', expected f32, bf16 or f16");
  int64_t chunkSize = 0;
  if (arguments.has("chunk-size")) {
    chunkSize = parseCount("chunk-size", arguments.value("chunk-size"), 1);
    if (algorithm != "chunked" && algorithm != "auto")
      usageError("ssm-run check: --chunk-size applies to "
                 "--algorithm=chunked (or auto), not '" +
                 algorithm + "'");
  }

  SafetensorsFile vector = openSafetensors(vectorPath);
  std::string kind = vectorKind(vector, vectorPath);
  checkAlgorithmForKind(kind, algorithm);

  std::optional<TemporaryDirectory> temporary;
  std::string artifactDir;
  if (arguments.has("keep")) {
    artifactDir = arguments.value("keep");
    if (artifactDir.empty())
      usageError("ssm-run check: --keep needs a directory");
  } else {
    temporary.emplace();
    artifactDir = temporary->path();
  }

  {
    mlir::DialectRegistry registry;
    mlir::ssm::registerCompilerDialects(registry);
    mlir::MLIRContext context(registry);
    context.printOpOnDiagnostic(false);
    llvm::SourceMgr sourceMgr;
    mlir::SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);
    mlir::FloatType activations;
    if (dtype == "bf16")
      activations = mlir::BFloat16Type::get(&context);
    else if (dtype == "f16")
      activations = mlir::Float16Type::get(&context);
    mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>> module =
        mlir::ssm::importTestVector(vectorPath, &context, activations);
    if (mlir::failed(module))
      fail(kExitBadInput, "cannot compile " + vectorPath + " (see above)");
    mlir::ssm::CompileOptions options;
    options.target = target;
    options.algorithm = algorithm;
    options.chunkSize = chunkSize;
    options.output = artifactDir;
    options.sourceName = std::filesystem::path(vectorPath).filename().string();
    const char *emulate = std::getenv("SSM_CUDA_EMULATOR");
    options.cudaEmulation =
        target == "cuda" && emulate && std::strcmp(emulate, "1") == 0;
    if (arguments.has("verbose"))
      std::fprintf(stderr, "ssm-run: compiling %s for %s (%s, %s) into %s\n",
                   vectorPath.c_str(), target.c_str(), algorithm.c_str(),
                   dtype.c_str(), artifactDir.c_str());
    switch (mlir::ssm::compileModule(**module, options)) {
    case mlir::ssm::CompileResult::Success:
      break;
    case mlir::ssm::CompileResult::BadInput:
      fail(kExitBadInput, "the compiler rejected " + vectorPath +
                              " (its message is above)");
    case mlir::ssm::CompileResult::Failure:
      fail(kExitCompilerFailure,
           "internal compiler error compiling " + vectorPath +
               " (the message is above)");
    }
  }

  Module module = loadArtifact(artifactDir, target);
  if (module.numFunctions() != 1)
    fail(kExitCompilerFailure,
         "internal compiler error: the artifact for a test vector has " +
             std::to_string(module.numFunctions()) + " functions, expected 1");
  Function function = module.function(size_t(0));
  Call call(module, function, vector, vectorPath);
  double milliseconds = call.run();
  std::vector<HostTensor> outputs = call.outputs();

  double tolerance = toleranceOf(dtype);
  std::printf("%s: kind %s, function '%s', %s on %s\n", vectorPath.c_str(),
              kind.c_str(), function.name().c_str(), dtype.c_str(),
              target.c_str());
  std::printf("  algorithm: %s\n", describeAlgorithms(function).c_str());
  bool ok = compareOutputs(function, outputs, vector, vectorPath, tolerance);
  std::printf("  time: %.3f ms\n", milliseconds);
  if (!temporary)
    std::printf("  artifact kept in %s\n", artifactDir.c_str());
  std::printf("%s (tolerance rel <= %g)\n", ok ? "PASS" : "FAIL", tolerance);
  return ok ? kExitOk : kExitMismatch;
}

} // namespace ssm::run
