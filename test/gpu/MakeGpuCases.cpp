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
// for ssm-run check-model --target=cuda there. Projections of bf16 weights
// (x · Wᵀ, the models' in_proj and out_proj) are cases too, at rows that
// take each of the kernel's forms. The examples (examples/mixers/*.mlir and
// the example models' configs) are compiled too, into examples/, with the
// cost model's algorithms; they have no reference, so nothing lists them.
// Every artifact's CUDA goes through nvcc for sm_90a, so ctest runs this too
// (into the build tree): the generated CUDA of every case, shared vector,
// checkpoint and example compiles, GPU or not. Exit 0 all compiled, 1 some
// did not, 77 no nvcc.
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
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
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

/// A projection y = x · Wᵀ of a bf16 W [N, K] as a model's importer writes
/// it (W widened where it is read, rows the product of batch and length).
std::string projectionMlir(int64_t depth, int64_t columns) {
  std::string text = R"(
#lhs = affine_map<(m, n, k) -> (m, k)>
#rhs = affine_map<(m, n, k) -> (n, k)>
#out = affine_map<(m, n, k) -> (m, n)>
#identity = affine_map<(n, k) -> (n, k)>
func.func @project(%x: tensor<?x?xKxf32> {ssm.name = "x"}, %w: tensor<NxKxbf16> {ssm.name = "w"})
    -> (tensor<?x?xNxf32> {ssm.name = "y"}) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %x, %c0 : tensor<?x?xKxf32>
  %l = tensor.dim %x, %c1 : tensor<?x?xKxf32>
  %rows = arith.muli %b, %l : index
  %e0 = tensor.empty() : tensor<NxKxf32>
  %wide = linalg.generic {indexing_maps = [#identity, #identity], iterator_types = ["parallel", "parallel"]}
      ins(%w : tensor<NxKxbf16>) outs(%e0 : tensor<NxKxf32>) {
  ^bb0(%in: bf16, %o: f32):
    %e = arith.extf %in : bf16 to f32
    linalg.yield %e : f32
  } -> tensor<NxKxf32>
  %flat = tensor.collapse_shape %x [[0, 1], [2]] : tensor<?x?xKxf32> into tensor<?xKxf32>
  %e1 = tensor.empty(%rows) : tensor<?xNxf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?xNxf32>) -> tensor<?xNxf32>
  %proj = linalg.matmul indexing_maps = [#lhs, #rhs, #out] ins(%flat, %wide : tensor<?xKxf32>, tensor<NxKxf32>)
      outs(%z1 : tensor<?xNxf32>) -> tensor<?xNxf32>
  %y = tensor.expand_shape %proj [[0, 1], [2]] output_shape [%b, %l, N] : tensor<?xNxf32> into tensor<?x?xNxf32>
  return %y : tensor<?x?xNxf32>
}
)";
  std::string result;
  for (char c : text) {
    if (c == 'K')
      result += std::to_string(depth);
    else if (c == 'N')
      result += std::to_string(columns);
    else
      result += c;
  }
  return result;
}

/// The bf16 bits of `value` (round to nearest, ties to even) and back.
uint16_t bf16Bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  return static_cast<uint16_t>((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
}
float bf16Value(uint16_t bits) {
  uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, 4);
  return value;
}

/// Inputs (x of bf16 values stored as f32, so that the kernel's rounding of
/// x is exact; W in bf16) and y computed in double, for a projection case.
bool writeProjectionCase(const std::string &dir, int64_t batch, int64_t length,
                         int64_t depth, int64_t columns, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  int64_t rows = batch * length;
  std::vector<float> x(rows * depth);
  std::vector<uint16_t> w(columns * depth);
  for (float &value : x)
    value = bf16Value(bf16Bits(dist(rng)));
  for (uint16_t &value : w)
    value = bf16Bits(dist(rng));
  std::vector<float> y(rows * columns);
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t n = 0; n < columns; ++n) {
      double sum = 0.0;
      for (int64_t k = 0; k < depth; ++k)
        sum += static_cast<double>(x[m * depth + k]) *
               static_cast<double>(bf16Value(w[n * depth + k]));
      y[m * columns + n] = static_cast<float>(sum);
    }
  std::vector<int64_t> xShape = {batch, length, depth},
                       wShape = {columns, depth},
                       yShape = {batch, length, columns};
  auto view = [](void *data, std::vector<int64_t> &shape, DLDataType dtype) {
    DLTensor tensor{};
    tensor.data = data;
    tensor.device = {kDLCPU, 0};
    tensor.ndim = static_cast<int32_t>(shape.size());
    tensor.dtype = dtype;
    tensor.shape = shape.data();
    return tensor;
  };
  return writeTensors(dir + "/inputs.safetensors", {"x", "w"},
                      {view(x.data(), xShape, {kDLFloat, 32, 1}),
                       view(w.data(), wShape, {kDLBfloat, 16, 1})}) &&
         writeTensors(dir + "/expected.safetensors", {"y"},
                      {view(y.data(), yShape, {kDLFloat, 32, 1})});
}

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
  // Projections: one artifact a shape, inputs at rows of every form (at
  // most 4, 5 to 64, more: matmul.cuh), K and N off the tiles; the same
  // arithmetic on the same values but for the order of the f32 sums.
  struct ProjectionShape {
    int64_t depth, columns;
  };
  struct Rows {
    int64_t batch, length;
  };
  const std::vector<Rows> everyForm = {{1, 1}, {2, 2}, {1, 5}, {2, 23},
                                       {4, 16}, {5, 13}, {3, 61}, {2, 300}};
  const std::vector<Rows> eachForm = {{1, 3}, {2, 23}, {3, 61}};
  const std::vector<Rows> vectorForm = {{1, 3}};
  // The matrix-vector form splits 128 columns 16, 8 and 4 ways for these
  // widths (geometry::projectionVectorSplit); the few-row form splits K two
  // ways for the second.
  for (ProjectionShape shape :
       {ProjectionShape{200, 300}, ProjectionShape{1024, 776},
        ProjectionShape{64, 5120}, ProjectionShape{64, 8448}}) {
    std::string name = "projection-" + std::to_string(shape.depth) + "x" +
                       std::to_string(shape.columns);
    std::string dir = out + "/cases/" + name;
    MLIRContext context(registry);
    OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(
        projectionMlir(shape.depth, shape.columns), &context);
    if (!module || !compile(*module, dir, {"auto", 0}, name)) {
      std::fprintf(stderr, "%s: does not compile\n", name.c_str());
      ++failures;
      continue;
    }
    unsigned seed = 1;
    // The larger shapes' inputs are large (a call's carry): fewer rows; the
    // widest are there for the matrix-vector form's splits.
    for (Rows rows : shape.depth == 200      ? everyForm
                     : shape.depth == 1024 ? eachForm
                                           : vectorForm) {
      std::string size = std::to_string(rows.batch) + "x" +
                         std::to_string(rows.length);
      std::string files = dir + "/" + size;
      llvm::sys::fs::create_directories(files);
      if (!writeProjectionCase(files, rows.batch, rows.length, shape.depth,
                               shape.columns, seed++)) {
        ++failures;
        continue;
      }
      std::string relative = "cases/" + name;
      list << relative << " " << relative << "/" << size
           << "/inputs.safetensors " << relative << "/" << size
           << "/expected.safetensors 1e-5\n";
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

  // The examples: every mixer and every example model (a directory with a
  // config.json; the configs alone compile, weights are inputs at run time).
  for (const char *kind : {"mixers", "models"}) {
    std::string from = std::string(SSM_EXAMPLES_DIR) + "/" + kind;
    std::error_code listing;
    int compiled = 0;
    for (llvm::sys::fs::directory_iterator it(from, listing), end;
         it != end && !listing; it.increment(listing)) {
      std::string path = it->path();
      std::string name = llvm::sys::path::stem(path).str();
      MLIRContext context(registry);
      OwningOpRef<ModuleOp> module;
      if (std::string(kind) == "mixers") {
        if (llvm::sys::path::extension(path) != ".mlir")
          continue;
        module = parseSourceFile<ModuleOp>(path, &context);
      } else {
        if (!llvm::sys::fs::exists(path + "/config.json"))
          continue;
        FailureOr<OwningOpRef<ModuleOp>> imported =
            mlir::ssm::importModel(path, &context);
        if (succeeded(imported))
          module = std::move(*imported);
      }
      if (!module ||
          !compile(*module, out + "/examples/" + name, {"auto", 0}, name)) {
        std::fprintf(stderr, "example %s: does not compile\n", name.c_str());
        ++failures;
        continue;
      }
      ++compiled;
    }
    // An unreadable or empty examples directory is a failure, not a pass.
    if (listing || compiled == 0) {
      std::fprintf(stderr, "no examples compiled from %s%s%s\n", from.c_str(),
                   listing ? ": " : "", listing ? listing.message().c_str() : "");
      ++failures;
    }
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
