// Tests of the CPU loader against hand-written libraries (fake_library.c):
// loading, signatures, calls on dynamic sizes, every rejected call, lifetimes,
// and artifacts that are broken in each way the loader must survive.
#include "TestUtil.h"

#include "ssm/cpu_features.h"
#include "ssm/runtime.h"
#include "ssm/runtime.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using ssm::test::consume;
using ssm::test::Failure;
using ssm::test::readFile;
using ssm::test::TempDir;

namespace {

// Describes the entry points of fake_library.c.
const char *const kManifest = R"json({
  "format": "ssmc-artifact",
  "version": 2,
  "target": "cpu",
  "library": "model_cpu.so",
  "abi_version": 1,
  "source": "fake.mlir",
  "cpu": {"arch": "x86_64", "name": "x86-64", "features": ["sse", "sse2"]},
  "functions": [
    {"name": "scale",
     "inputs": [{"name": "x", "dtype": "f32", "shape": [-1, 4]}],
     "outputs": [{"name": "y", "dtype": "f32", "shape": [-1, 4],
                  "dims_from": [{"input": 0, "dim": 0}, null]}],
     "equal_dims": [],
     "algorithms": [{"location": "fake.mlir:3:5", "algorithm": "recurrent"},
                    {"location": "fake.mlir:9:5", "algorithm": "chunked",
                     "chunk_size": 32}]},
    {"name": "add",
     "inputs": [{"name": "a", "dtype": "i64", "shape": [-1, 3]},
                {"name": "b", "dtype": "i64", "shape": [-1, 3]}],
     "outputs": [{"name": "c", "dtype": "i64", "shape": [-1, 3],
                  "dims_from": [{"input": 1, "dim": 0}, null]}],
     "equal_dims": [[{"input": 0, "dim": 0}, {"input": 1, "dim": 0}]]},
    {"name": "total",
     "inputs": [{"name": "x", "dtype": "f64", "shape": [-1]}],
     "outputs": [{"name": "sum", "dtype": "f64", "shape": []}],
     "equal_dims": []}
  ]
})json";

#define EXPECT_STATUS(statusExpr, expectedCode, ...)                           \
  do {                                                                         \
    Failure failure = consume(statusExpr);                                     \
    EXPECT_EQ(failure.code, expectedCode)                                      \
        << ssm_status_code_name(failure.code) << ": " << failure.message;      \
    for (const char *part : {__VA_ARGS__})                                     \
      EXPECT_NE(failure.message.find(part), std::string::npos)                 \
          << "missing \"" << part << "\" in: " << failure.message;             \
  } while (false)

// An artifact directory: `manifest` and a copy of `library` (if any) named
// model_cpu.so.
struct Artifact {
  TempDir dir;
  std::string path() const { return dir.path().string(); }

  explicit Artifact(const char *library = SSM_FAKE_LIBRARY_GOOD,
                    const std::string &manifest = kManifest) {
    dir.write("manifest.json", manifest);
    if (library)
      fs::copy_file(library, dir.path() / "model_cpu.so");
  }
};

// Owns a loaded module for the duration of a test.
struct ModuleHandle {
  ssm_module_t *module = nullptr;
  ~ModuleHandle() { ssm_module_release(module); }
};

ssm_module_t *loadOrFail(const std::string &path) {
  ssm_module_t *module = nullptr;
  ssm_status_t status = ssm_module_load(path.c_str(), &module);
  EXPECT_EQ(status, nullptr) << ssm_status_message(status);
  ssm_status_free(status);
  return module;
}

const ssm_function_t *lookupOrFail(const ssm_module_t *module,
                                   const char *name) {
  const ssm_function_t *function = nullptr;
  ssm_status_t status = ssm_module_lookup_function(module, name, &function);
  EXPECT_EQ(status, nullptr) << ssm_status_message(status);
  ssm_status_free(status);
  return function;
}

// A compact CPU tensor over `data` with `shape` (kept alive by the caller).
template <typename T>
DLTensor tensorOf(std::vector<T> &data, std::vector<int64_t> &shape,
                  DLDataType dtype) {
  DLTensor tensor;
  tensor.data = data.data();
  tensor.device = DLDevice{kDLCPU, 0};
  tensor.ndim = static_cast<int32_t>(shape.size());
  tensor.dtype = dtype;
  tensor.shape = shape.data();
  tensor.strides = nullptr;
  tensor.byte_offset = 0;
  return tensor;
}

constexpr DLDataType kF32{kDLFloat, 32, 1};
constexpr DLDataType kF64{kDLFloat, 64, 1};
constexpr DLDataType kI64{kDLInt, 64, 1};

// Inputs and outputs of one call of `scale` on an n x 4 tensor.
struct ScaleCall {
  std::vector<float> x, y;
  std::vector<int64_t> xShape, yShape;
  DLTensor input, output;

  explicit ScaleCall(int64_t n)
      : x(static_cast<size_t>(n * 4)),
        y(static_cast<size_t>(n * 4), -1.0f), xShape{n, 4}, yShape{n, 4} {
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = 0.25f * static_cast<float>(i) - 3.0f;
    input = tensorOf(x, xShape, kF32);
    output = tensorOf(y, yShape, kF32);
  }
  // y still holds the -1 it was filled with (nothing was written).
  bool untouched() const {
    for (float value : y)
      if (value != -1.0f)
        return false;
    return true;
  }
};

class LoadedModuleTest : public ::testing::Test {
protected:
  void SetUp() override {
    handle.module = loadOrFail(artifact.path());
    ASSERT_NE(handle.module, nullptr);
    scale = lookupOrFail(handle.module, "scale");
    add = lookupOrFail(handle.module, "add");
    total = lookupOrFail(handle.module, "total");
    ASSERT_TRUE(scale && add && total);
  }

  Artifact artifact;
  ModuleHandle handle;
  const ssm_function_t *scale = nullptr;
  const ssm_function_t *add = nullptr;
  const ssm_function_t *total = nullptr;
};

} // namespace

//===----------------------------------------------------------------------===//
// Describing a module
//===----------------------------------------------------------------------===//

TEST_F(LoadedModuleTest, FunctionsAndSignatures) {
  ssm_module_t *module = handle.module;
  EXPECT_STREQ(ssm_module_target(module), "cpu");
  EXPECT_STREQ(ssm_module_source(module), "fake.mlir");
  ASSERT_EQ(ssm_module_function_count(module), 3u);
  EXPECT_STREQ(ssm_module_function_name(module, 0), "scale");
  EXPECT_STREQ(ssm_module_function_name(module, 1), "add");
  EXPECT_STREQ(ssm_module_function_name(module, 2), "total");
  EXPECT_EQ(ssm_module_function_name(module, 3), nullptr);

  const ssm_function_t *first = nullptr;
  ASSERT_EQ(ssm_module_function_at(module, 0, &first), nullptr);
  EXPECT_EQ(first, scale);
  EXPECT_STATUS(ssm_module_function_at(module, 3, &first),
                SSM_STATUS_INVALID_ARGUMENT, "function index 3",
                "has 3 functions");
  EXPECT_EQ(first, nullptr);

  EXPECT_STREQ(ssm_function_name(add), "add");
  EXPECT_EQ(ssm_function_input_count(add), 2u);
  EXPECT_EQ(ssm_function_output_count(add), 1u);
  ssm_tensor_signature_t signature;
  ASSERT_EQ(ssm_function_input_signature(add, 1, &signature), nullptr);
  EXPECT_STREQ(signature.name, "b");
  EXPECT_EQ(signature.dtype.code, kDLInt);
  EXPECT_EQ(signature.dtype.bits, 64);
  ASSERT_EQ(signature.ndim, 2);
  EXPECT_EQ(signature.shape[0], -1);
  EXPECT_EQ(signature.shape[1], 3);
  ASSERT_EQ(ssm_function_output_signature(total, 0, &signature), nullptr);
  EXPECT_STREQ(signature.name, "sum");
  EXPECT_EQ(signature.ndim, 0);
  EXPECT_STATUS(ssm_function_input_signature(add, 2, &signature),
                SSM_STATUS_INVALID_ARGUMENT, "function 'add'",
                "input index 2 is out of range");
  EXPECT_STATUS(ssm_function_output_signature(add, 1, &signature),
                SSM_STATUS_INVALID_ARGUMENT, "output index 1");

  ASSERT_EQ(ssm_function_algorithm_count(scale), 2u);
  ssm_algorithm_note_t note;
  ASSERT_EQ(ssm_function_algorithm(scale, 1, &note), nullptr);
  EXPECT_STREQ(note.location, "fake.mlir:9:5");
  EXPECT_STREQ(note.algorithm, "chunked");
  EXPECT_EQ(note.chunk_size, 32);
  ASSERT_EQ(ssm_function_algorithm(scale, 0, &note), nullptr);
  EXPECT_EQ(note.chunk_size, 0);
  EXPECT_EQ(ssm_function_algorithm_count(add), 0u);
  EXPECT_STATUS(ssm_function_algorithm(add, 0, &note),
                SSM_STATUS_INVALID_ARGUMENT, "algorithm index 0");
}

TEST_F(LoadedModuleTest, LookupOfAnUnknownFunctionListsTheKnownOnes) {
  const ssm_function_t *function = scale;
  EXPECT_STATUS(ssm_module_lookup_function(handle.module, "mix", &function),
                SSM_STATUS_NOT_FOUND, "no function named 'mix'",
                "'scale', 'add', 'total'");
  EXPECT_EQ(function, nullptr);
}

TEST(ModuleTest, NullArguments) {
  ssm_module_t *module = reinterpret_cast<ssm_module_t *>(1);
  EXPECT_STATUS(ssm_module_load(nullptr, &module), SSM_STATUS_INVALID_ARGUMENT,
                "artifact_dir is NULL");
  EXPECT_EQ(module, nullptr);
  EXPECT_STATUS(ssm_module_load("x", nullptr), SSM_STATUS_INVALID_ARGUMENT,
                "out_module is NULL");
  const ssm_function_t *function = nullptr;
  EXPECT_STATUS(ssm_module_lookup_function(nullptr, "f", &function),
                SSM_STATUS_INVALID_ARGUMENT, "module is NULL");
  EXPECT_STATUS(ssm_function_invoke(nullptr, nullptr, 0, nullptr, 0),
                SSM_STATUS_INVALID_ARGUMENT, "function is NULL");
  // Queries on NULL answer "nothing" rather than crash.
  EXPECT_EQ(ssm_module_function_count(nullptr), 0u);
  EXPECT_EQ(ssm_function_input_count(nullptr), 0u);
  ssm_module_retain(nullptr);
  ssm_module_release(nullptr);
}

//===----------------------------------------------------------------------===//
// Calls
//===----------------------------------------------------------------------===//

TEST_F(LoadedModuleTest, ScaleOnDynamicSizes) {
  for (int64_t n : {1, 3, 17, 0}) {
    SCOPED_TRACE(n);
    ScaleCall call(n);
    int64_t shape[2] = {-5, -5};
    ASSERT_EQ(
        ssm_function_resolve_output_shape(scale, &call.input, 1, 0, 2, shape),
        nullptr);
    EXPECT_EQ(shape[0], n);
    EXPECT_EQ(shape[1], 4);
    ssm_status_t status =
        ssm_function_invoke(scale, &call.input, 1, &call.output, 1);
    ASSERT_EQ(status, nullptr) << ssm_status_message(status);
    for (size_t i = 0; i < call.x.size(); ++i)
      ASSERT_EQ(call.y[i], 2.0f * call.x[i]) << "element " << i;
  }
  // Empty tensors may come without data (as DLPack exporters often do).
  ScaleCall empty(0);
  empty.input.data = nullptr;
  empty.output.data = nullptr;
  EXPECT_EQ(ssm_function_invoke(scale, &empty.input, 1, &empty.output, 1),
            nullptr);
}

TEST_F(LoadedModuleTest, AddChecksEqualDims) {
  std::vector<int64_t> a(12), b(12), c(12, 0);
  for (size_t i = 0; i < 12; ++i) {
    a[i] = static_cast<int64_t>(i) * 1000;
    b[i] = 7 - static_cast<int64_t>(i);
  }
  std::vector<int64_t> aShape{4, 3}, bShape{4, 3}, cShape{4, 3};
  DLTensor inputs[2] = {tensorOf(a, aShape, kI64), tensorOf(b, bShape, kI64)};
  DLTensor output = tensorOf(c, cShape, kI64);
  ASSERT_EQ(ssm_function_invoke(add, inputs, 2, &output, 1), nullptr);
  for (size_t i = 0; i < 12; ++i)
    EXPECT_EQ(c[i], a[i] + b[i]);

  // b with 3 rows: generated code sized from b would read past a's end in
  // the other direction; the runtime refuses.
  std::vector<int64_t> shortShape{3, 3};
  inputs[1].shape = shortShape.data();
  std::fill(c.begin(), c.end(), -1);
  EXPECT_STATUS(ssm_function_invoke(add, inputs, 2, &output, 1),
                SSM_STATUS_INVALID_ARGUMENT, "function 'add'",
                "input 1 ('b') dim 0 is 3", "input 0 ('a') dim 0 is 4",
                "needs them equal");
  EXPECT_EQ(c, std::vector<int64_t>(12, -1));
  int64_t shape[2];
  EXPECT_STATUS(ssm_function_resolve_output_shape(add, inputs, 2, 0, 2, shape),
                SSM_STATUS_INVALID_ARGUMENT, "input 1 ('b') dim 0 is 3");
}

TEST_F(LoadedModuleTest, RankZeroOutput) {
  std::vector<double> x{1.5, 2.25, -0.75, 10.0, 0.125};
  std::vector<double> sum{-1.0};
  std::vector<int64_t> xShape{5}, sumShape{};
  DLTensor input = tensorOf(x, xShape, kF64);
  DLTensor output = tensorOf(sum, sumShape, kF64);
  output.shape = nullptr; // allowed for rank 0
  ASSERT_EQ(ssm_function_invoke(total, &input, 1, &output, 1), nullptr);
  EXPECT_EQ(sum[0], 1.5 + 2.25 - 0.75 + 10.0 + 0.125);
  int64_t unused = 0;
  EXPECT_EQ(ssm_function_resolve_output_shape(total, &input, 1, 0, 0, nullptr),
            nullptr);
  EXPECT_EQ(ssm_function_resolve_output_shape(total, &input, 1, 0, 1, &unused),
            nullptr);
}

TEST_F(LoadedModuleTest, CountsAreChecked) {
  ScaleCall call(2);
  DLTensor two[2] = {call.input, call.input};
  EXPECT_STATUS(ssm_function_invoke(scale, two, 2, &call.output, 1),
                SSM_STATUS_INVALID_ARGUMENT,
                "function 'scale': takes 1 input, got 2");
  EXPECT_STATUS(ssm_function_invoke(scale, &call.input, 0, &call.output, 1),
                SSM_STATUS_INVALID_ARGUMENT, "takes 1 input, got 0");
  EXPECT_STATUS(ssm_function_invoke(scale, &call.input, 1, &call.output, 0),
                SSM_STATUS_INVALID_ARGUMENT, "takes 1 output, got 0");
  EXPECT_STATUS(ssm_function_invoke(scale, nullptr, 1, &call.output, 1),
                SSM_STATUS_INVALID_ARGUMENT, "inputs is NULL");
  EXPECT_STATUS(ssm_function_invoke(scale, &call.input, 1, nullptr, 1),
                SSM_STATUS_INVALID_ARGUMENT, "outputs is NULL");
  EXPECT_STATUS(ssm_function_invoke(add, &call.input, 1, &call.output, 1),
                SSM_STATUS_INVALID_ARGUMENT, "function 'add'",
                "takes 2 inputs, got 1");
  EXPECT_TRUE(call.untouched());
}

TEST_F(LoadedModuleTest, TensorMismatchesNameTheTensor) {
  struct Case {
    const char *what;
    void (*mutate)(ScaleCall &);
    std::vector<const char *> expected;
  };
  static std::vector<int64_t> rank3{2, 4, 1}, wide{2, 5}, negative{-2, 4},
      outShort{1, 4}, badStrides{1, 2};
  std::vector<Case> cases = {
      {"dtype",
       [](ScaleCall &c) { c.input.dtype = kF64; },
       {"function 'scale': input 0 ('x'): expected dtype f32, got f64"}},
      {"vector dtype",
       [](ScaleCall &c) { c.input.dtype.lanes = 4; },
       {"input 0 ('x'): expected dtype f32, got (code 2, 32 bits, 4 lanes)"}},
      {"rank",
       [](ScaleCall &c) {
         c.input.ndim = 3;
         c.input.shape = rank3.data();
       },
       {"input 0 ('x'): expected rank 2 (shape [?, 4]), got rank 3"}},
      {"negative rank",
       [](ScaleCall &c) { c.input.ndim = -1; },
       {"input 0 ('x'): expected rank 2", "got rank -1"}},
      {"static dim",
       [](ScaleCall &c) { c.input.shape = wide.data(); },
       {"input 0 ('x'): dim 1 is 5, expected 4 (shape [?, 4]); got shape "
        "[2, 5]"}},
      {"negative dim",
       [](ScaleCall &c) { c.input.shape = negative.data(); },
       {"input 0 ('x'): dim 0 is -2, expected a size >= 0"}},
      {"null shape",
       [](ScaleCall &c) { c.input.shape = nullptr; },
       {"input 0 ('x'): shape is NULL for rank 2"}},
      {"output dim from input",
       [](ScaleCall &c) { c.output.shape = outShort.data(); },
       {"output 0 ('y'): dim 0 is 1, expected 2 (the size of input 0 ('x') "
        "dim 0)"}},
      {"output dtype",
       [](ScaleCall &c) { c.output.dtype = kI64; },
       {"output 0 ('y'): expected dtype f32, got i64"}},
      {"null input data",
       [](ScaleCall &c) { c.input.data = nullptr; },
       {"input 0 ('x'): data is NULL"}},
      {"null output data",
       [](ScaleCall &c) { c.output.data = nullptr; },
       {"output 0 ('y'): data is NULL"}},
      {"device",
       [](ScaleCall &c) {
         c.input.device = DLDevice{kDLCUDA, 0};
       },
       {"input 0 ('x'): expected a kDLCPU tensor (the module's device), got "
        "kDLCUDA 0"}},
      {"strided input",
       [](ScaleCall &c) { c.input.strides = badStrides.data(); },
       {"input 0 ('x'): strides [1, 2] are not compact row-major for shape "
        "[2, 4]"}},
      {"strided output",
       [](ScaleCall &c) { c.output.strides = badStrides.data(); },
       {"output 0 ('y'): strides [1, 2]"}},
      {"misaligned",
       [](ScaleCall &c) { c.input.byte_offset = 2; },
       {"input 0 ('x'): data + byte_offset is not aligned to 4 bytes"}},
      {"output is the input",
       [](ScaleCall &c) { c.output.data = c.input.data; },
       {"output 0 ('y') overlaps input 0 ('x')"}},
      {"output overlaps the input's tail",
       [](ScaleCall &c) {
         c.output.data = c.x.data();
         c.output.byte_offset = 4 * 4;
       },
       {"output 0 ('y') overlaps input 0 ('x')"}},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    ScaleCall call(2);
    c.mutate(call);
    Failure failure =
        consume(ssm_function_invoke(scale, &call.input, 1, &call.output, 1));
    EXPECT_EQ(failure.code, SSM_STATUS_INVALID_ARGUMENT) << failure.message;
    for (const char *part : c.expected)
      EXPECT_NE(failure.message.find(part), std::string::npos)
          << "missing \"" << part << "\" in: " << failure.message;
    EXPECT_TRUE(call.untouched());
  }
}

TEST_F(LoadedModuleTest, CompactStridesAndOffsetsAreAccepted) {
  ScaleCall call(3);
  std::vector<int64_t> strides{4, 1};
  call.input.strides = strides.data();
  call.output.strides = strides.data();
  ASSERT_EQ(ssm_function_invoke(scale, &call.input, 1, &call.output, 1),
            nullptr);
  EXPECT_EQ(call.y[11], 2.0f * call.x[11]);

  // Extent-1 dims may carry any stride (PyTorch does this); a byte_offset
  // moves the start.
  ScaleCall one(1);
  std::vector<float> padded(8, 0.0f);
  for (int i = 0; i < 4; ++i)
    padded[4 + i] = static_cast<float>(i + 1);
  std::vector<int64_t> oddStrides{999, 1};
  one.input.data = padded.data();
  one.input.byte_offset = 4 * sizeof(float);
  one.input.strides = oddStrides.data();
  ASSERT_EQ(ssm_function_invoke(scale, &one.input, 1, &one.output, 1), nullptr);
  EXPECT_EQ(one.y, (std::vector<float>{2, 4, 6, 8}));
}

TEST_F(LoadedModuleTest, ResolveOutputShapeChecksItsArguments) {
  ScaleCall call(5);
  int64_t shape[2];
  EXPECT_STATUS(
      ssm_function_resolve_output_shape(scale, &call.input, 1, 1, 2, shape),
      SSM_STATUS_INVALID_ARGUMENT, "output index 1 is out of range");
  EXPECT_STATUS(
      ssm_function_resolve_output_shape(scale, &call.input, 1, 0, 1, shape),
      SSM_STATUS_INVALID_ARGUMENT, "output 0 ('y') has rank 2", "room for 1");
  EXPECT_STATUS(
      ssm_function_resolve_output_shape(scale, &call.input, 1, 0, 2, nullptr),
      SSM_STATUS_INVALID_ARGUMENT, "out_shape is NULL");
  call.input.dtype = kF64;
  EXPECT_STATUS(
      ssm_function_resolve_output_shape(scale, &call.input, 1, 0, 2, shape),
      SSM_STATUS_INVALID_ARGUMENT, "expected dtype f32, got f64");
  // Shapes only: data may be absent.
  call.input.dtype = kF32;
  call.input.data = nullptr;
  ASSERT_EQ(
      ssm_function_resolve_output_shape(scale, &call.input, 1, 0, 2, shape),
      nullptr);
  EXPECT_EQ(shape[0], 5);
}

TEST_F(LoadedModuleTest, CallsFromSeveralThreads) {
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int repeat = 0; repeat < 50; ++repeat) {
        ScaleCall call(8 + t);
        ssm_status_t status =
            ssm_function_invoke(scale, &call.input, 1, &call.output, 1);
        bool right = status == nullptr && call.y[5] == 2.0f * call.x[5];
        ssm_status_free(status);
        if (!right)
          return;
      }
      ok[t] = 1;
    });
  for (std::thread &thread : threads)
    thread.join();
  EXPECT_EQ(ok, std::vector<int>(4, 1));
}

//===----------------------------------------------------------------------===//
// Lifetimes
//===----------------------------------------------------------------------===//

TEST(ModuleTest, RetainAndRelease) {
  Artifact artifact;
  ssm_module_t *module = loadOrFail(artifact.path());
  ASSERT_NE(module, nullptr);
  const ssm_function_t *scale = lookupOrFail(module, "scale");
  ssm_module_retain(module);
  ssm_module_release(module);
  // One reference left: the function is still usable.
  ScaleCall call(2);
  ASSERT_EQ(ssm_function_invoke(scale, &call.input, 1, &call.output, 1),
            nullptr);
  EXPECT_EQ(call.y[7], 2.0f * call.x[7]);
  ssm_module_release(module);
}

TEST(ModuleTest, CppFunctionKeepsItsModuleAlive) {
  ssm::Function scale;
  {
    Artifact artifact;
    ssm::Module module = ssm::Module::load(artifact.path());
    EXPECT_EQ(module.functionNames(),
              (std::vector<std::string>{"scale", "add", "total"}));
    scale = module.function("scale");
    ssm::Module copy = module;
    EXPECT_EQ(copy.get(), module.get());
  } // the module handles and the artifact directory are gone
  ASSERT_TRUE(scale);
  EXPECT_EQ(scale.name(), "scale");
  ssm::TensorSignature x = scale.input(0);
  EXPECT_EQ(x.name, "x");
  EXPECT_EQ(x.shape, (std::vector<int64_t>{-1, 4}));
  EXPECT_EQ(scale.algorithms().size(), 2u);

  ssm::HostTensor input(kF32, {3, 4});
  for (int i = 0; i < 12; ++i)
    static_cast<float *>(input.data())[i] = static_cast<float>(i);
  std::vector<DLTensor> inputs = {input.view()};
  std::vector<ssm::HostTensor> outputs = scale.allocateOutputs(inputs);
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(outputs[0].shape(), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(outputs[0].data()) % 64, 0u);
  std::vector<DLTensor> outputViews = {outputs[0].view()};
  scale.invoke(inputs, outputViews);
  EXPECT_EQ(static_cast<float *>(outputs[0].data())[11], 22.0f);

  try {
    std::vector<DLTensor> none;
    scale.invoke(inputs, none);
    FAIL() << "invoke did not throw";
  } catch (const ssm::Error &error) {
    EXPECT_EQ(error.code(), SSM_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(std::string(error.what()).find("takes 1 output, got 0"),
              std::string::npos);
  }
}

TEST(ModuleTest, TwoModulesAtOnce) {
  Artifact first, second;
  ssm::Module a = ssm::Module::load(first.path());
  ssm::Module b = ssm::Module::load(second.path());
  ssm::Function scaleA = a.function("scale"), scaleB = b.function(size_t(0));
  a = ssm::Module();
  ScaleCall call(4);
  std::vector<DLTensor> inputs{call.input}, outputs{call.output};
  scaleA.invoke(inputs, outputs);
  scaleB.invoke(inputs, outputs);
  EXPECT_EQ(call.y[3], 2.0f * call.x[3]);
}

//===----------------------------------------------------------------------===//
// Broken artifacts
//===----------------------------------------------------------------------===//

namespace {
Failure loadFailure(const std::string &path) {
  ssm_module_t *module = reinterpret_cast<ssm_module_t *>(1);
  Failure failure = consume(ssm_module_load(path.c_str(), &module));
  EXPECT_EQ(module, nullptr);
  return failure;
}
} // namespace

#define EXPECT_LOAD_ERROR(path, expectedCode, ...)                             \
  do {                                                                         \
    Failure failure = loadFailure(path);                                       \
    EXPECT_EQ(failure.code, expectedCode)                                      \
        << ssm_status_code_name(failure.code) << ": " << failure.message;      \
    for (const char *part : {__VA_ARGS__})                                     \
      EXPECT_NE(failure.message.find(part), std::string::npos)                 \
          << "missing \"" << part << "\" in: " << failure.message;             \
  } while (false)

TEST(ModuleLoadTest, MissingDirectoryManifestOrLibrary) {
  TempDir dir;
  std::string missing = (dir.path() / "nothing").string();
  EXPECT_LOAD_ERROR(missing, SSM_STATUS_NOT_FOUND, missing.c_str(),
                    "cannot open the artifact directory");
  EXPECT_LOAD_ERROR(dir.path().string(), SSM_STATUS_NOT_FOUND,
                    "manifest.json: cannot open the manifest");
  std::string file = dir.write("file", "x");
  EXPECT_LOAD_ERROR(file, SSM_STATUS_INVALID_ARGUMENT, "not a directory");

  Artifact noLibrary(nullptr);
  EXPECT_LOAD_ERROR(noLibrary.path(), SSM_STATUS_NOT_FOUND, "model_cpu.so",
                    "cannot open the library the manifest names");
}

TEST(ModuleLoadTest, CorruptLibraries) {
  Artifact garbage(nullptr);
  garbage.dir.write("model_cpu.so", "this is not a shared library\n");
  EXPECT_LOAD_ERROR(garbage.path(), SSM_STATUS_DATA_LOSS,
                    "model_cpu.so: not an ELF shared library");

  Artifact empty(nullptr);
  empty.dir.write("model_cpu.so", "");
  EXPECT_LOAD_ERROR(empty.path(), SSM_STATUS_DATA_LOSS, "not an ELF");

  // An ELF header followed by nothing: dlopen itself must fail cleanly.
  Artifact truncated(nullptr);
  std::string library = readFile(SSM_FAKE_LIBRARY_GOOD);
  truncated.dir.write("model_cpu.so", library.substr(0, 100));
  EXPECT_LOAD_ERROR(truncated.path(), SSM_STATUS_IO_ERROR,
                    "model_cpu.so: cannot load");
}

TEST(ModuleLoadTest, ManifestErrorsSurface) {
  Artifact corrupt(SSM_FAKE_LIBRARY_GOOD, "{\"format\": \"ssmc-artifact\"");
  EXPECT_LOAD_ERROR(corrupt.path(), SSM_STATUS_DATA_LOSS,
                    "manifest.json: the manifest is not valid JSON");
  std::string future = kManifest;
  future.replace(future.find("\"version\": 2"), 12, "\"version\": 3");
  Artifact newer(SSM_FAKE_LIBRARY_GOOD, future);
  EXPECT_LOAD_ERROR(newer.path(), SSM_STATUS_INCOMPATIBLE, "version is 3");
  std::string old = kManifest;
  old.replace(old.find("\"version\": 2"), 12, "\"version\": 1");
  Artifact older(SSM_FAKE_LIBRARY_GOOD, old);
  EXPECT_LOAD_ERROR(older.path(), SSM_STATUS_INCOMPATIBLE, "version is 1",
                    "recompile it with this ssmc");
}

// `kManifest` with `cpu.features` replaced by `features` (JSON).
std::string withCpuFeatures(const std::string &features) {
  std::string manifest = kManifest;
  const std::string old = "\"features\": [\"sse\", \"sse2\"]";
  manifest.replace(manifest.find(old), old.size(), "\"features\": " + features);
  return manifest;
}

TEST(ModuleLoadTest, ProcessorsWithoutTheFeaturesAreRefusedBeforeLoading) {
  // Every feature of the list: no processor has them all (XOP and AVX-512
  // never met). The library is not ELF: had it been opened, the error would
  // say so.
  std::string all = "[";
  for (std::string_view feature : ssm::runtime::kX86CpuFeatures)
    all += (all.size() > 1 ? ", \"" : "\"") + std::string(feature) + "\"";
  all += "]";
  Artifact needy(nullptr, withCpuFeatures(all));
  needy.dir.write("model_cpu.so", "not a library, and never opened\n");
  std::string start = needy.path() + ": the artifact needs ";
  EXPECT_LOAD_ERROR(needy.path(), SSM_STATUS_INCOMPATIBLE, start.c_str(),
                    "(compiled for CPU 'x86-64')",
                    "Recompile it with ssmc --cpu=native");
  Artifact unknown(SSM_FAKE_LIBRARY_GOOD,
                   withCpuFeatures("[\"sse2\", \"avx1024\"]"));
  EXPECT_LOAD_ERROR(unknown.path(), SSM_STATUS_INCOMPATIBLE,
                    "the artifact needs CPU feature avx1024, which this "
                    "runtime does not know how to check");
  std::string sparc = kManifest;
  sparc.replace(sparc.find("\"x86_64\""), 8, "\"sparc64\"");
  Artifact other(SSM_FAKE_LIBRARY_GOOD, sparc);
  EXPECT_LOAD_ERROR(other.path(), SSM_STATUS_INCOMPATIBLE,
                    "the artifact was compiled for sparc64 (CPU 'x86-64'); "
                    "this processor is x86_64");
  // What the processor has is enough.
  Artifact plain(SSM_FAKE_LIBRARY_GOOD, withCpuFeatures("[]"));
  ModuleHandle handle;
  handle.module = loadOrFail(plain.path());
  EXPECT_NE(handle.module, nullptr);
}

TEST(ModuleLoadTest, LibrariesOfAnotherAbi) {
  Artifact wrongAbi(SSM_FAKE_LIBRARY_WRONG_ABI);
  EXPECT_LOAD_ERROR(wrongAbi.path(), SSM_STATUS_INCOMPATIBLE,
                    "offers no entry point table of ABI version <= 1");
  Artifact badTable(SSM_FAKE_LIBRARY_BAD_TABLE_VERSION);
  EXPECT_LOAD_ERROR(badTable.path(), SSM_STATUS_INCOMPATIBLE,
                    "entry point table of ABI version 2");
  Artifact noQuery(SSM_FAKE_LIBRARY_NO_QUERY);
  EXPECT_LOAD_ERROR(noQuery.path(), SSM_STATUS_INCOMPATIBLE,
                    "does not export ssm_cpu_library_query");
}

TEST(ModuleLoadTest, LibraryMustMatchItsManifest) {
  Artifact counts(SSM_FAKE_LIBRARY_COUNT_MISMATCH);
  EXPECT_LOAD_ERROR(counts.path(), SSM_STATUS_INCOMPATIBLE,
                    "entry point 'scale' takes 2 inputs and 1 outputs, but "
                    "the manifest describes 1 and 1");
  Artifact extra(SSM_FAKE_LIBRARY_EXTRA_ENTRY);
  EXPECT_LOAD_ERROR(extra.path(), SSM_STATUS_INCOMPATIBLE,
                    "exports entry point 'extra', which the manifest does not "
                    "describe");
  std::string renamed = kManifest;
  renamed.replace(renamed.find("\"total\""), 7, "\"totl\"");
  Artifact missingEntry(SSM_FAKE_LIBRARY_GOOD, renamed);
  EXPECT_LOAD_ERROR(missingEntry.path(), SSM_STATUS_INCOMPATIBLE,
                    "has no entry point for manifest function 'totl'",
                    "it has 'scale', 'add', 'total'");
}

// An output the manifest lets be written over an input may be passed as
// exactly that input's buffer (a state updated in place); any other overlap
// is still refused, and without the declaration so is that one.
TEST(ModuleTest, OutputWrittenOverItsDeclaredInput) {
  std::string manifest = kManifest;
  const std::string from = R"("dims_from": [{"input": 0, "dim": 0}, null]})";
  size_t at = manifest.find(from);
  ASSERT_NE(at, std::string::npos);
  manifest.replace(at, from.size(),
                   R"("dims_from": [{"input": 0, "dim": 0}, null], "aliases": 0})");
  Artifact artifact(SSM_FAKE_LIBRARY_GOOD, manifest);
  ModuleHandle handle;
  handle.module = loadOrFail(artifact.path());
  ASSERT_NE(handle.module, nullptr);
  const ssm_function_t *scale = lookupOrFail(handle.module, "scale");
  int64_t aliases = -2;
  ASSERT_EQ(ssm_function_output_aliases(scale, 0, &aliases), nullptr);
  EXPECT_EQ(aliases, 0);
  EXPECT_STATUS(ssm_function_output_aliases(scale, 1, &aliases),
                SSM_STATUS_INVALID_ARGUMENT, "output index 1 is out of range");

  ScaleCall call(2);
  std::vector<float> expected = call.x;
  for (float &value : expected)
    value *= 2.0f;
  call.output.data = call.input.data;
  ASSERT_EQ(ssm_function_invoke(scale, &call.input, 1, &call.output, 1),
            nullptr);
  EXPECT_EQ(call.x, expected); // updated in place

  ScaleCall shifted(2);
  shifted.output.data = shifted.x.data();
  shifted.output.byte_offset = 4 * 4;
  EXPECT_STATUS(
      ssm_function_invoke(scale, &shifted.input, 1, &shifted.output, 1),
      SSM_STATUS_INVALID_ARGUMENT, "output 0 ('y') overlaps input 0 ('x')");

  // The loaded fixture's scale declares nothing: the same call is refused.
  Artifact plain;
  ModuleHandle plainHandle;
  plainHandle.module = loadOrFail(plain.path());
  const ssm_function_t *plainScale = lookupOrFail(plainHandle.module, "scale");
  ASSERT_EQ(ssm_function_output_aliases(plainScale, 0, &aliases), nullptr);
  EXPECT_EQ(aliases, -1);
  ScaleCall same(2);
  same.output.data = same.input.data;
  EXPECT_STATUS(ssm_function_invoke(plainScale, &same.input, 1, &same.output, 1),
                SSM_STATUS_INVALID_ARGUMENT,
                "output 0 ('y') overlaps input 0 ('x')");
}
