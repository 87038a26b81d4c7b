//===- MakeGpuCases.cpp - Prepare the checks the GPU machine runs ---------===//
//
// The GPU machine has no compiler (no MLIR): everything it checks is built
// here. For every standard case (test/e2e/MixCases.h) and every algorithm it
// can take, this writes a CUDA artifact with its random inputs and the
// float64 reference's outputs; for every shared reference vector, artifacts
// for every legal algorithm in f32, bf16 and f16. `cases.txt` lists them as
//   <artifact dir> <inputs file> <reference file> <tolerance>
// for test/gpu/device-checks.sh, which runs them with ssm-run there; every
// shared checkpoint is compiled for the GPU too, with its files copied, and
// `models.txt` lists them as
//   <artifact dir> <checkpoint dir>
// for ssm-run check-model --target=cuda there. Every artifact's CUDA goes
// through nvcc for sm_90a, so ctest runs this too (into the build tree): the
// generated CUDA of every case, shared vector and checkpoint compiles, GPU or
// not. Exit 0 all compiled, 1 some did not, 77 no nvcc.
//
//   ssm-make-gpu-cases OUT_DIR TESTDATA_DIR
//
//===----------------------------------------------------------------------===//

#include "../e2e/MixCases.h"

#include "ssm/Driver/Driver.h"
#include "ssm/Frontend/ModelImport.h"
#include "ssm/Frontend/TestVectorImport.h"
#include "ssm/Target/CUDA/CudaPipeline.h"
#include "ssm/runtime.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

using namespace mlir;
using ::ssm::testing::MixCase;
using ::ssm::testing::Storage;

namespace {

struct Algorithm {
  std::string name;
  int64_t chunkSize;
  std::string label() const {
    return chunkSize ? name + "-" + std::to_string(chunkSize) : name;
  }
};

std::vector<Algorithm> algorithmsOf(bool finiteState, bool diagonal) {
  std::vector<Algorithm> result = {{"quadratic", 0}};
  if (!finiteState)
    return result;
  result.push_back({"recurrent", 0});
  if (!diagonal) {
    result.push_back({"chunked", 32});
    result.push_back({"chunked", 64});
  }
  return result;
}

bool compile(ModuleOp module, const std::string &dir, const Algorithm &a,
             const std::string &source) {
  mlir::ssm::CompileOptions options;
  options.target = "cuda";
  options.algorithm = a.name;
  options.chunkSize = a.chunkSize;
  options.output = dir;
  options.sourceName = source;
  return mlir::ssm::compileModule(module, options) ==
         mlir::ssm::CompileResult::Success;
}

/// Writes named tensors (names of the function's signature) to `path`.
bool writeTensors(const std::string &path,
                  const std::vector<std::string> &names,
                  std::vector<DLTensor> tensors) {
  std::vector<const char *> pointers;
  for (const std::string &name : names)
    pointers.push_back(name.c_str());
  ssm_status_t status = ssm_safetensors_write(
      path.c_str(), pointers.data(), tensors.data(), tensors.size(), nullptr,
      nullptr, 0);
  if (status) {
    std::fprintf(stderr, "%s\n", ssm_status_message(status));
    ssm_status_free(status);
    return false;
  }
  return true;
}

/// An f32 copy of a reference tensor, for a safetensors file.
struct F32Tensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
  explicit F32Tensor(const ::ssm::reference::Tensor &t) : shape(t.shape()) {
    for (double value : t.values())
      values.push_back(static_cast<float>(value));
  }
  DLTensor view() {
    DLTensor tensor{};
    tensor.data = values.data();
    tensor.device = {kDLCPU, 0};
    tensor.ndim = static_cast<int32_t>(shape.size());
    tensor.dtype = {kDLFloat, 32, 1};
    tensor.shape = shape.data();
    return tensor;
  }
};

/// Copies the files under `from` to `to`, keeping the tree.
bool copyTree(const std::string &from, const std::string &to) {
  std::error_code error = llvm::sys::fs::create_directories(to);
  for (llvm::sys::fs::recursive_directory_iterator it(from, error), end;
       it != end && !error; it.increment(error)) {
    std::string relative = it->path().substr(from.size());
    if (it->type() == llvm::sys::fs::file_type::directory_file)
      error = llvm::sys::fs::create_directories(to + relative);
    else
      error = llvm::sys::fs::copy_file(it->path(), to + relative);
    if (error)
      return false;
  }
  return !error;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: ssm-make-gpu-cases OUT_DIR TESTDATA_DIR\n");
    return 2;
  }
  std::string out = argv[1], testdata = argv[2];
  // Without the CUDA toolkit there is nothing to compile: ctest reads 77 as
  // skipped.
  if (llvm::Expected<std::string> nvcc = mlir::ssm::findNvcc(); !nvcc) {
    std::fprintf(stderr, "skipped: %s\n",
                 llvm::toString(nvcc.takeError()).c_str());
    return 77;
  }
  if (std::error_code error = llvm::sys::fs::create_directories(out)) {
    std::fprintf(stderr, "cannot create %s: %s\n", out.c_str(),
                 error.message().c_str());
    return 2;
  }
  DialectRegistry registry;
  mlir::ssm::registerCompilerDialects(registry);
  std::string listPath = out + "/cases.txt";
  std::error_code listError;
  llvm::raw_fd_ostream list(listPath, listError);
  if (listError) {
    std::fprintf(stderr, "cannot write %s\n", listPath.c_str());
    return 2;
  }
  int failures = 0;

  for (const MixCase &c : ::ssm::testing::standardCases()) {
    std::string referenceError;
    ::ssm::testing::CaseData data =
        ::ssm::testing::makeCaseData(c, referenceError);
    if (!referenceError.empty()) {
      std::fprintf(stderr, "%s: %s\n", c.name, referenceError.c_str());
      ++failures;
      continue;
    }
    // Queries against a cache (Lq < Lk) run on the quadratic form only.
    bool finiteState = c.score == ::ssm::reference::Score::Linear &&
                       c.mask == ::ssm::reference::Mask::Causal &&
                       !c.isAgainstCache();
    for (const Algorithm &a :
         algorithmsOf(finiteState, c.decay == ::ssm::testing::Decay::Diagonal)) {
      MLIRContext context(registry);
      OwningOpRef<ModuleOp> module =
          parseSourceString<ModuleOp>(::ssm::testing::mlirOf(c), &context);
      std::string name = std::string(c.name) + "-" + a.label();
      std::string dir = out + "/cases/" + name;
      if (!module || !compile(*module, dir, a, name)) {
        std::fprintf(stderr, "%s: does not compile\n", name.c_str());
        ++failures;
        continue;
      }
      // Argument names are the compiler's defaults: arg<i>, result<i>.
      std::vector<std::string> inputNames, outputNames;
      std::vector<DLTensor> inputs, outputs;
      for (size_t i = 0; i < data.inputs.size(); ++i) {
        inputNames.push_back("arg" + std::to_string(i));
        inputs.push_back(data.inputs[i].view());
      }
      std::vector<F32Tensor> expected;
      for (const auto &tensor : data.expected)
        expected.emplace_back(tensor);
      for (size_t o = 0; o < expected.size(); ++o) {
        outputNames.push_back("result" + std::to_string(o));
        outputs.push_back(expected[o].view());
      }
      if (!writeTensors(dir + "/inputs.safetensors", inputNames, inputs) ||
          !writeTensors(dir + "/expected.safetensors", outputNames, outputs)) {
        ++failures;
        continue;
      }
      list << "cases/" << name << " cases/" << name << "/inputs.safetensors"
           << " cases/" << name << "/expected.safetensors "
           << ::ssm::testing::cudaToleranceOf(c.storage) << "\n";
    }
  }

  // The shared vectors, in each storage type.
  std::error_code ignored = llvm::sys::fs::create_directories(out + "/testdata");
  for (llvm::sys::fs::directory_iterator it(testdata + "/ops", ignored), end;
       it != end && !ignored; it.increment(ignored)) {
    std::string path = it->path();
    if (!llvm::StringRef(path).ends_with(".safetensors"))
      continue;
    std::string file = llvm::sys::path::filename(path).str();
    std::string stem = llvm::sys::path::stem(path).str();
    llvm::sys::fs::copy_file(path, out + "/testdata/" + file);
    bool attention = stem.rfind("softmax_attention", 0) == 0;
    bool diagonal = stem.rfind("selective_scan", 0) == 0;
    for (const char *dtype : {"f32", "bf16", "f16"}) {
      for (const Algorithm &a : algorithmsOf(!attention, diagonal)) {
        MLIRContext context(registry);
        context.printOpOnDiagnostic(false);
        FloatType activations;
        std::string type = dtype;
        if (type == "bf16")
          activations = BFloat16Type::get(&context);
        else if (type == "f16")
          activations = Float16Type::get(&context);
        FailureOr<OwningOpRef<ModuleOp>> module =
            mlir::ssm::importTestVector(path, &context, activations);
        std::string name = stem + "-" + type + "-" + a.label();
        std::string dir = out + "/vectors/" + name;
        if (failed(module) || !compile(**module, dir, a, file)) {
          std::fprintf(stderr, "%s: does not compile\n", name.c_str());
          ++failures;
          continue;
        }
        // ssm-run check's bounds for 16-bit activations against the
        // vectors' f32 outputs.
        double tolerance = type == "bf16" ? 2e-2 : type == "f16" ? 5e-3 : 1e-4;
        list << "vectors/" << name << " testdata/" << file << " testdata/"
             << file << " " << tolerance << "\n";
      }
    }
  }
  // The shared checkpoints, with the cost model's algorithms, and the files
  // check-model reads (in checkpoints/, apart from the vectors' testdata/, so
  // that a call can carry one without the other).
  std::string modelListPath = out + "/models.txt";
  llvm::raw_fd_ostream modelList(modelListPath, listError);
  if (listError) {
    std::fprintf(stderr, "cannot write %s\n", modelListPath.c_str());
    return 2;
  }
  for (llvm::sys::fs::directory_iterator it(testdata + "/models", ignored), end;
       it != end && !ignored; it.increment(ignored)) {
    std::string checkpoint = it->path();
    if (!mlir::ssm::isCheckpointDirectory(checkpoint))
      continue;
    std::string name = llvm::sys::path::filename(checkpoint).str();
    std::string files = out + "/checkpoints/" + name;
    std::error_code copyError = llvm::sys::fs::create_directories(files);
    for (const char *file :
         {"config.json", "model.safetensors", "expected.safetensors"})
      if (!copyError)
        copyError = llvm::sys::fs::copy_file(checkpoint + "/" + file,
                                             files + "/" + file);
    MLIRContext context(registry);
    FailureOr<OwningOpRef<ModuleOp>> module =
        mlir::ssm::importModel(checkpoint, &context);
    if (copyError || failed(module) ||
        !compile(**module, out + "/models/" + name, {"auto", 0}, name)) {
      std::fprintf(stderr, "%s: does not compile\n", name.c_str());
      ++failures;
      continue;
    }
    modelList << "models/" << name << " checkpoints/" << name << "\n";
  }

  // The runtime builds there with CMake alone: it needs DLPack's header,
  // nlohmann-json's and fmt's, which that machine does not have.
  llvm::sys::fs::create_directories(out + "/include/dlpack");
  llvm::sys::fs::copy_file(SSM_DLPACK_HEADER, out + "/include/dlpack/dlpack.h");
  if (!copyTree(SSM_JSON_INCLUDE_DIR "/nlohmann", out + "/include/nlohmann")) {
    std::fprintf(stderr, "cannot copy %s/nlohmann\n", SSM_JSON_INCLUDE_DIR);
    ++failures;
  }
  if (!copyTree(SSM_FMT_INCLUDE_DIR "/fmt", out + "/include/fmt")) {
    std::fprintf(stderr, "cannot copy %s/fmt\n", SSM_FMT_INCLUDE_DIR);
    ++failures;
  }
  std::printf("wrote %s (%d failures)\n", listPath.c_str(), failures);
  return failures ? 1 : 0;
}
