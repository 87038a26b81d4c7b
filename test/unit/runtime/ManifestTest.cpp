// Tests of the strict manifest.json parser: a valid manifest, and each way a
// manifest can be missing, unknown, ill-typed, inconsistent or of another
// version.
#include "ssm/manifest.h"
#include "Json.h"
#include "TestUtil.h"
#include "ssm/cpu_library_abi.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

using namespace ssm::runtime;
using json::Value;
using ssm::test::consume;
using ssm::test::Failure;

namespace {

// The issue's example manifest, with one more function: a static output, a
// rank-0 output, and two equal_dims groups.
const char *const kValidManifest = R"json({
  "format": "ssmc-artifact",
  "version": 2,
  "target": "cpu",
  "library": "model_cpu.so",
  "abi_version": 1,
  "source": "mixer.mlir",
  "cpu": {"arch": "x86_64", "name": "x86-64-v3",
          "features": ["sse", "sse2", "avx", "avx2", "fma"]},
  "functions": [
    {
      "name": "ssd",
      "inputs": [
        {"name": "x", "dtype": "f32", "shape": [2, -1, 4, 16]},
        {"name": "dt", "dtype": "f32", "shape": [2, -1, 4]}
      ],
      "outputs": [
        {"name": "y", "dtype": "f32", "shape": [2, -1, 4, 16],
         "dims_from": [null, {"input": 0, "dim": 1}, null, null]}
      ],
      "equal_dims": [[{"input": 0, "dim": 1}, {"input": 1, "dim": 1}]],
      "algorithms": [{"location": "mixer.mlir:12:8", "algorithm": "chunked",
                      "chunk_size": 64}]
    },
    {
      "name": "other",
      "inputs": [
        {"name": "a", "dtype": "bf16", "shape": [-1, -1]},
        {"name": "b", "dtype": "i64", "shape": [-1, -1]},
        {"name": "c", "dtype": "f64", "shape": []}
      ],
      "outputs": [
        {"name": "s", "dtype": "f16", "shape": [3, 5]},
        {"name": "t", "dtype": "i32", "shape": [], "dims_from": []},
        {"name": "u", "dtype": "f32", "shape": [-1],
         "dims_from": [{"input": 1, "dim": 1}]}
      ],
      "equal_dims": [[{"input": 0, "dim": 0}, {"input": 1, "dim": 0}],
                     [{"input": 0, "dim": 1}, {"input": 1, "dim": 1}]]
    }
  ]
})json";

// Re-serialises a JSON value (numbers as their exact integers when they
// have one).
std::string dump(const Value &value) {
  switch (value.kind()) {
  case Value::Kind::Null:
    return "null";
  case Value::Kind::Bool:
    return value.getBool() ? "true" : "false";
  case Value::Kind::Number: {
    if (auto exact = value.getInt64())
      return std::to_string(*exact);
    if (auto exact = value.getUInt64())
      return std::to_string(*exact);
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.17g", value.getDouble());
    std::string text = buffer;
    // Keep a fraction so that 1.0 stays a non-integer literal.
    if (text.find_first_of(".eE") == std::string::npos)
      text += ".0";
    return text;
  }
  case Value::Kind::String:
    return json::quote(value.getString());
  case Value::Kind::Array: {
    std::string text = "[";
    for (size_t i = 0; i < value.getArray().size(); ++i)
      text += (i ? "," : "") + dump(value.getArray()[i]);
    return text + "]";
  }
  case Value::Kind::Object: {
    std::string text = "{";
    for (size_t i = 0; i < value.getObject().size(); ++i)
      text += (i ? "," : "") + json::quote(value.getObject()[i].key) + ":" +
              dump(value.getObject()[i].value);
    return text + "}";
  }
  }
  return "";
}

Value parseJson(const std::string &text) {
  json::ParseError error;
  std::optional<Value> value = json::parse(text, error);
  EXPECT_TRUE(value.has_value()) << error.toString() << "\n" << text;
  return value ? *value : Value();
}

// `root` with the member/element at `path` replaced by `replacement`, or
// removed when it is nullopt, or added when the last key is new. Path
// components index arrays when the value there is an array.
Value edit(const Value &root, const std::vector<std::string> &path,
           size_t depth, const std::optional<Value> &replacement) {
  const std::string &key = path[depth];
  bool last = depth + 1 == path.size();
  if (root.isArray()) {
    json::Array elements;
    size_t index = std::stoul(key);
    for (size_t i = 0; i < root.getArray().size(); ++i) {
      if (i != index) {
        elements.push_back(root.getArray()[i]);
      } else if (!last) {
        elements.push_back(
            edit(root.getArray()[i], path, depth + 1, replacement));
      } else if (replacement) {
        elements.push_back(*replacement);
      }
    }
    return Value::makeArray(std::move(elements));
  }
  json::Object members;
  bool found = false;
  for (const json::Member &member : root.getObject()) {
    if (member.key != key) {
      members.push_back(member);
      continue;
    }
    found = true;
    if (!last)
      members.push_back(
          {key, edit(member.value, path, depth + 1, replacement)});
    else if (replacement)
      members.push_back({key, *replacement});
  }
  if (!found && last && replacement)
    members.push_back({key, *replacement});
  return Value::makeObject(std::move(members));
}

// The valid manifest edited at `path` (dot-separated), as text.
std::string edited(const std::string &path,
                   const std::optional<std::string> &replacementJson) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    parts.push_back(path.substr(start, dot - start));
    if (dot == std::string::npos)
      break;
    start = dot + 1;
  }
  std::optional<Value> replacement;
  if (replacementJson)
    replacement = parseJson(*replacementJson);
  return dump(edit(parseJson(kValidManifest), parts, 0, replacement));
}

// Parses `text` and returns the error (code OK when it parsed).
Failure parseFailure(const std::string &text) {
  Manifest manifest;
  return consume(parseManifest(text, "dir/manifest.json", manifest));
}

#define EXPECT_MANIFEST_ERROR(text, expectedCode, ...)                         \
  do {                                                                         \
    Failure failure = parseFailure(text);                                      \
    EXPECT_EQ(failure.code, expectedCode)                                      \
        << ssm_status_code_name(failure.code) << ": " << failure.message;      \
    EXPECT_EQ(failure.message.rfind("dir/manifest.json: ", 0), 0u)             \
        << failure.message;                                                    \
    for (const char *part : {__VA_ARGS__})                                     \
      EXPECT_NE(failure.message.find(part), std::string::npos)                 \
          << "missing \"" << part << "\" in: " << failure.message;             \
  } while (false)

} // namespace

TEST(ManifestTest, ParsesTheValidManifest) {
  Manifest manifest;
  ssm_status_t status = parseManifest(kValidManifest, "m.json", manifest);
  ASSERT_EQ(status, nullptr) << ssm_status_message(status);
  EXPECT_EQ(manifest.target, "cpu");
  EXPECT_EQ(manifest.library, "model_cpu.so");
  EXPECT_EQ(manifest.abiVersion, 1u);
  EXPECT_EQ(manifest.source, "mixer.mlir");
  EXPECT_EQ(manifest.cpu.arch, "x86_64");
  EXPECT_EQ(manifest.cpu.name, "x86-64-v3");
  EXPECT_EQ(manifest.cpu.features,
            (std::vector<std::string>{"sse", "sse2", "avx", "avx2", "fma"}));
  ASSERT_EQ(manifest.functions.size(), 2u);

  const FunctionSpec &ssd = manifest.functions[0];
  EXPECT_EQ(ssd.name, "ssd");
  ASSERT_EQ(ssd.inputs.size(), 2u);
  EXPECT_EQ(ssd.inputs[0].name, "x");
  EXPECT_EQ(ssd.inputs[0].dtypeName, "f32");
  EXPECT_EQ(ssd.inputs[0].dtype.code, kDLFloat);
  EXPECT_EQ(ssd.inputs[0].dtype.bits, 32);
  EXPECT_EQ(ssd.inputs[0].shape, (std::vector<int64_t>{2, -1, 4, 16}));
  EXPECT_TRUE(ssd.inputs[0].dimsFrom.empty());
  ASSERT_EQ(ssd.outputs.size(), 1u);
  const TensorSpec &y = ssd.outputs[0];
  ASSERT_EQ(y.dimsFrom.size(), 4u);
  EXPECT_FALSE(y.dimsFrom[0].has_value());
  ASSERT_TRUE(y.dimsFrom[1].has_value());
  EXPECT_EQ(y.dimsFrom[1]->input, 0u);
  EXPECT_EQ(y.dimsFrom[1]->dim, 1u);
  ASSERT_EQ(ssd.equalDims.size(), 1u);
  ASSERT_EQ(ssd.equalDims[0].size(), 2u);
  EXPECT_EQ(ssd.equalDims[0][1].input, 1u);
  EXPECT_EQ(ssd.equalDims[0][1].dim, 1u);
  ASSERT_EQ(ssd.algorithms.size(), 1u);
  EXPECT_EQ(ssd.algorithms[0].location, "mixer.mlir:12:8");
  EXPECT_EQ(ssd.algorithms[0].algorithm, "chunked");
  EXPECT_EQ(ssd.algorithms[0].chunkSize, 64);

  const FunctionSpec &other = manifest.functions[1];
  EXPECT_EQ(other.inputs[0].dtype.code, kDLBfloat);
  EXPECT_EQ(other.inputs[1].dtype.code, kDLInt);
  EXPECT_EQ(other.inputs[1].dtype.bits, 64);
  EXPECT_TRUE(other.inputs[2].shape.empty());
  EXPECT_EQ(other.outputs[0].dtype.bits, 16);
  // A static output needs no dims_from; it reads as all-null.
  EXPECT_EQ(other.outputs[0].dimsFrom.size(), 2u);
  EXPECT_TRUE(other.outputs[1].shape.empty());
  EXPECT_EQ(other.outputs[2].dimsFrom[0]->input, 1u);
  EXPECT_EQ(other.equalDims.size(), 2u);
  EXPECT_TRUE(other.algorithms.empty());
}

// Exactly what ssmc wrote for a small linear-attention module.
TEST(ManifestTest, ParsesWhatSsmcWrites) {
  const char *text =
      R"({"abi_version": 1, "format": "ssmc-artifact", "functions": [{)"
      R"("algorithms": [{"algorithm": "chunked", "chunk_size": 4, "location": )"
      R"("linear.mlir:3:8"}], "equal_dims": [[{"dim": 0, "input": 0}, {"dim": )"
      R"(0, "input": 1}, {"dim": 0, "input": 2}], [{"dim": 1, "input": 0}, )"
      R"({"dim": 1, "input": 1}, {"dim": 1, "input": 2}]], "inputs": [{"dtype")"
      R"(: "f32", "name": "queries", "shape": [-1, -1, 1, 8]}, {"dtype": )"
      R"("f32", "name": "arg1", "shape": [-1, -1, 1, 8]}, {"dtype": "f32", )"
      R"("name": "values", "shape": [-1, -1, 2, 16]}], "name": "mix", )"
      R"("outputs": [{"dims_from": [{"dim": 0, "input": 0}, {"dim": 1, )"
      R"("input": 0}, null, null], "dtype": "f32", "name": "result0", "shape")"
      R"(: [-1, -1, 2, 16]}]}], "library": "model_cpu.so", "source": )"
      R"("linear.mlir", "target": "cpu", "version": 2, "cpu": {"arch": )"
      R"("x86_64", "name": "x86-64", "features": ["sse", "sse2"]}})";
  Manifest manifest;
  ssm_status_t status = parseManifest(text, "m.json", manifest);
  ASSERT_EQ(status, nullptr) << ssm_status_message(status);
  ASSERT_EQ(manifest.functions.size(), 1u);
  EXPECT_EQ(manifest.functions[0].equalDims.size(), 2u);
  EXPECT_EQ(manifest.functions[0].equalDims[0].size(), 3u);
  EXPECT_EQ(manifest.functions[0].outputs[0].dimsFrom[1]->dim, 1u);
}

// ssmc writes manifests with formatManifest; what it writes must read back
// as the same data, CPU and CUDA parts alike.
TEST(ManifestTest, FormatThenParseRoundTrips) {
  Manifest written;
  written.target = "cuda";
  written.library = "model_cuda.cubin";
  written.abiVersion = SSM_CPU_LIBRARY_ABI_VERSION;
  written.source = "mixer \"one\".mlir";
  written.cuda = {"sm_90a", "model_cuda.cu", "model_cuda_emulated.so"};
  FunctionSpec function;
  function.name = "ssd";
  function.inputs.push_back({"x", "bf16", {}, {2, -1, 4, 16}, {}, {}});
  function.inputs.push_back({"dt", "f32", {}, {2, -1, 4}, {}, {}});
  function.outputs.push_back(
      {"y", "bf16", {}, {2, -1, 4, 16}, {std::nullopt, InputDim{0, 1},
                                         std::nullopt, std::nullopt},
       {}});
  function.outputs.push_back({"state", "f32", {}, {2, 4, 16, 8}, {}, {}});
  function.equalDims.push_back({InputDim{0, 1}, InputDim{1, 1}});
  function.algorithms.push_back({"mixer.mlir:3:8", "chunked", 64});
  function.algorithms.push_back({"mixer.mlir:9:8", "recurrent", 0});
  function.buffers.push_back({"f32", {}, {2, -1, 4}, {std::nullopt,
                                                       InputDim{0, 1},
                                                       std::nullopt}});
  Launch launch;
  launch.kernel = "ssd_mix0";
  launch.grid[0] = {2, {InputDim{0, 1}}, 64, 0};
  launch.grid[1] = {8, {}, 1, 132};
  launch.block[0] = 128;
  launch.sharedBytes = 40960;
  launch.arguments = {{KernelArgument::Kind::Input, 0, {}},
                      {KernelArgument::Kind::Output, 1, {}},
                      {KernelArgument::Kind::Buffer, 0, {}},
                      {KernelArgument::Kind::Dim, 0, InputDim{1, 1}}};
  function.launches.push_back(launch);
  Launch ranged = launch;
  ranged.kernel = "ssd_projection0_few";
  ranged.runsWhen = LaunchRange{2, {InputDim{0, 1}}, 5, 64};
  function.launches.push_back(ranged);
  ranged.kernel = "ssd_projection0";
  ranged.runsWhen = LaunchRange{1, {InputDim{0, 1}}, 65, 0};
  function.launches.push_back(ranged);
  written.functions.push_back(function);

  std::string text = formatManifest(written);
  Manifest read;
  ssm_status_t status = parseManifest(text, "m.json", read);
  ASSERT_EQ(status, nullptr) << ssm_status_message(status) << "\n" << text;
  EXPECT_EQ(read.target, written.target);
  EXPECT_EQ(read.library, written.library);
  EXPECT_EQ(read.source, written.source);
  EXPECT_EQ(read.cuda.arch, "sm_90a");
  EXPECT_EQ(read.cuda.emulationLibrary, "model_cuda_emulated.so");
  EXPECT_EQ(text.find("\"cpu\""), std::string::npos) << text;
  ASSERT_EQ(read.functions.size(), 1u);
  const FunctionSpec &f = read.functions[0];
  ASSERT_EQ(f.inputs.size(), 2u);
  EXPECT_EQ(f.inputs[0].dtypeName, "bf16");
  EXPECT_EQ(f.inputs[0].dtype.code, kDLBfloat);
  EXPECT_EQ(f.inputs[1].shape, (std::vector<int64_t>{2, -1, 4}));
  ASSERT_EQ(f.outputs.size(), 2u);
  ASSERT_TRUE(f.outputs[0].dimsFrom[1].has_value());
  EXPECT_EQ(f.outputs[0].dimsFrom[1]->input, 0u);
  EXPECT_EQ(f.outputs[0].dimsFrom[1]->dim, 1u);
  EXPECT_FALSE(f.outputs[0].dimsFrom[0].has_value());
  ASSERT_EQ(f.equalDims.size(), 1u);
  EXPECT_EQ(f.equalDims[0][1].input, 1u);
  ASSERT_EQ(f.algorithms.size(), 2u);
  EXPECT_EQ(f.algorithms[0].chunkSize, 64);
  EXPECT_EQ(f.algorithms[1].algorithm, "recurrent");
  ASSERT_EQ(f.buffers.size(), 1u);
  EXPECT_EQ(f.buffers[0].dimsFrom[1]->dim, 1u);
  ASSERT_EQ(f.launches.size(), 3u);
  EXPECT_FALSE(f.launches[0].runsWhen.has_value());
  ASSERT_TRUE(f.launches[1].runsWhen.has_value());
  EXPECT_EQ(f.launches[1].runsWhen->factor, 2);
  ASSERT_EQ(f.launches[1].runsWhen->dims.size(), 1u);
  EXPECT_EQ(f.launches[1].runsWhen->dims[0].dim, 1u);
  EXPECT_EQ(f.launches[1].runsWhen->atLeast, 5);
  EXPECT_EQ(f.launches[1].runsWhen->atMost, 64);
  ASSERT_TRUE(f.launches[2].runsWhen.has_value());
  EXPECT_EQ(f.launches[2].runsWhen->atLeast, 65);
  EXPECT_EQ(f.launches[2].runsWhen->atMost, 0); // unbounded: not written
  const Launch &l = f.launches[0];
  EXPECT_EQ(l.kernel, "ssd_mix0");
  EXPECT_EQ(l.grid[0].factor, 2);
  EXPECT_EQ(l.grid[0].divisor, 64);
  ASSERT_EQ(l.grid[0].dims.size(), 1u);
  EXPECT_EQ(l.grid[0].dims[0].dim, 1u);
  EXPECT_EQ(l.grid[1].limit, 132);
  EXPECT_EQ(l.grid[2].factor, 1);
  EXPECT_EQ(l.block[0], 128u);
  EXPECT_EQ(l.block[1], 1u);
  EXPECT_EQ(l.sharedBytes, 40960);
  ASSERT_EQ(l.arguments.size(), 4u);
  EXPECT_EQ(l.arguments[1].kind, KernelArgument::Kind::Output);
  EXPECT_EQ(l.arguments[1].index, 1u);
  EXPECT_EQ(l.arguments[3].kind, KernelArgument::Kind::Dim);
  EXPECT_EQ(l.arguments[3].dim.input, 1u);

  // And a CPU manifest: the processor it needs, no cuda part, no buffers or
  // launches.
  written.target = "cpu";
  written.library = "model_cpu.so";
  written.cpu = {
      "x86_64", "x86-64-v4", {"sse2", "avx2", "avx512f", "avx512bw"}};
  written.functions[0].buffers.clear();
  written.functions[0].launches.clear();
  text = formatManifest(written);
  EXPECT_EQ(text.find("\"cuda\""), std::string::npos) << text;
  EXPECT_EQ(text.find("launches"), std::string::npos) << text;
  read = Manifest();
  status = parseManifest(text, "m.json", read);
  ASSERT_EQ(status, nullptr) << ssm_status_message(status) << "\n" << text;
  EXPECT_EQ(read.target, "cpu");
  EXPECT_EQ(read.cpu.arch, "x86_64");
  EXPECT_EQ(read.cpu.name, "x86-64-v4");
  EXPECT_EQ(read.cpu.features, written.cpu.features);
  // No features (an architecture whose features are not recorded) is a
  // requirement too: an empty array, not a missing field.
  written.cpu = {"aarch64", "neoverse-v2", {}};
  text = formatManifest(written);
  EXPECT_NE(text.find("\"features\": []"), std::string::npos) << text;
  read = Manifest();
  status = parseManifest(text, "m.json", read);
  ASSERT_EQ(status, nullptr) << ssm_status_message(status) << "\n" << text;
  EXPECT_EQ(read.cpu.arch, "aarch64");
  EXPECT_TRUE(read.cpu.features.empty());
}

// A launch's range of sizes: a product of input dims and its bounds, at
// least one of them, ordered; each error names the field.
TEST(ManifestTest, LaunchRangesMalformed) {
  Manifest written;
  written.target = "cuda";
  written.library = "k.cubin";
  written.abiVersion = SSM_CPU_LIBRARY_ABI_VERSION;
  written.source = "k.mlir";
  written.cuda = {"sm_90a", "k.cu", ""};
  FunctionSpec function;
  function.name = "f";
  function.inputs.push_back({"x", "bf16", {}, {-1, 8}, {}, {}});
  Launch launch;
  launch.kernel = "f_projection0_few";
  launch.runsWhen = LaunchRange{1, {InputDim{0, 0}}, 5, 64};
  launch.block[0] = 256;
  function.launches.push_back(launch);
  written.functions.push_back(function);
  const std::string text = formatManifest(written);
  // `from` replaced by `to` in the launch's range (after "runs_when").
  auto replaced = [&](const std::string &from, const std::string &to) {
    std::string result = text;
    size_t at = result.find(from, result.find("\"runs_when\""));
    EXPECT_NE(at, std::string::npos) << from << " in " << text;
    if (at != std::string::npos)
      result.replace(at, from.size(), to);
    return result;
  };
  Manifest read;
  ssm_status_t status = parseManifest(text, "m.json", read);
  ASSERT_EQ(status, nullptr) << ssm_status_message(status) << "\n" << text;
  EXPECT_MANIFEST_ERROR(replaced("\"at_most\": 64", "\"at_most\": 4"),
                        SSM_STATUS_DATA_LOSS,
                        "launches[0].runs_when.at_most is 4");
  EXPECT_MANIFEST_ERROR(replaced("\"at_least\": 5", "\"at_least\": -5"),
                        SSM_STATUS_DATA_LOSS,
                        "runs_when.at_least is negative");
  EXPECT_MANIFEST_ERROR(
      replaced("\"at_least\": 5", "\"x_least\": 5"), SSM_STATUS_DATA_LOSS,
      "runs_when has unknown field 'x_least'");
  // Neither bound (a range of 0 and "unbounded" writes neither member).
  written.functions[0].launches[0].runsWhen = LaunchRange{1, {InputDim{0, 0}}, 0, 0};
  EXPECT_MANIFEST_ERROR(formatManifest(written), SSM_STATUS_DATA_LOSS,
                        "runs_when has neither 'at_least' nor 'at_most'");
  EXPECT_MANIFEST_ERROR(replaced("\"factor\": 1", "\"factor\": 0"),
                        SSM_STATUS_DATA_LOSS, "runs_when.factor is 0");
  EXPECT_MANIFEST_ERROR(replaced("\"input\": 0", "\"input\": 3"),
                        SSM_STATUS_DATA_LOSS, "runs_when.dims[0]");
}

TEST(ManifestTest, OptionalAndInformationalFields) {
  EXPECT_EQ(parseFailure(edited("source", std::nullopt)).code, SSM_STATUS_OK);
  EXPECT_EQ(parseFailure(edited("functions.0.algorithms", std::nullopt)).code,
            SSM_STATUS_OK);
  // Algorithm notes are informational: unknown or oddly typed fields there
  // are no error.
  EXPECT_EQ(parseFailure(edited("functions.0.algorithms.0.estimate_ms",
                                std::string("1.5")))
                .code,
            SSM_STATUS_OK);
  EXPECT_EQ(parseFailure(edited("functions.0.algorithms.0.chunk_size",
                                std::string("\"big\"")))
                .code,
            SSM_STATUS_OK);
  // But they are still the shape the format says.
  EXPECT_MANIFEST_ERROR(edited("functions.0.algorithms", std::string("{}")),
                        SSM_STATUS_DATA_LOSS, "algorithms is an object");
  EXPECT_MANIFEST_ERROR(edited("source", std::string("7")),
                        SSM_STATUS_DATA_LOSS, "source is 7");
}

TEST(ManifestTest, EachRequiredFieldMissing) {
  struct Case {
    const char *path;
    const char *field;
    const char *where;
  } cases[] = {
      {"format", "format", "the manifest"},
      {"version", "version", "the manifest"},
      {"target", "target", "the manifest"},
      {"library", "library", "the manifest"},
      {"abi_version", "abi_version", "the manifest"},
      {"functions", "functions", "the manifest"},
      {"cpu", "cpu", "the manifest"},
      {"cpu.arch", "arch", "cpu has"},
      {"cpu.name", "name", "cpu has"},
      {"cpu.features", "features", "cpu has"},
      {"functions.0.name", "name", "functions[0] has"},
      {"functions.0.inputs", "inputs", "functions[0] has"},
      {"functions.0.outputs", "outputs", "functions[0] has"},
      {"functions.0.equal_dims", "equal_dims", "functions[0] has"},
      {"functions.0.inputs.1.name", "name", "functions[0] ('ssd').inputs[1]"},
      {"functions.0.inputs.1.dtype", "dtype", "functions[0] ('ssd').inputs[1]"},
      {"functions.0.inputs.1.shape", "shape", "functions[0] ('ssd').inputs[1]"},
      {"functions.0.outputs.0.name", "name", "functions[0] ('ssd').outputs[0]"},
      {"functions.0.outputs.0.dtype", "dtype",
       "functions[0] ('ssd').outputs[0]"},
      {"functions.0.outputs.0.shape", "shape",
       "functions[0] ('ssd').outputs[0]"},
      // Required because the output has a dynamic dim.
      {"functions.0.outputs.0.dims_from", "dims_from",
       "functions[0] ('ssd').outputs[0]"},
      {"functions.0.equal_dims.0.1.dim", "dim",
       "functions[0] ('ssd').equal_dims[0][1]"},
      {"functions.0.outputs.0.dims_from.1.input", "input",
       "functions[0] ('ssd').outputs[0].dims_from[1]"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.path);
    std::string field = std::string("no field '") + c.field + "'";
    EXPECT_MANIFEST_ERROR(edited(c.path, std::nullopt), SSM_STATUS_DATA_LOSS,
                          field.c_str(), c.where);
  }
}

TEST(ManifestTest, UnknownFieldsAreErrorsNamingTheField) {
  struct Case {
    const char *path;
    const char *where;
  } cases[] = {
      {"surprise", "the manifest has unknown field 'surprise'"},
      {"cpu.surprise", "cpu has unknown field 'surprise'"},
      {"functions.1.surprise", "functions[1] has unknown field 'surprise'"},
      {"functions.0.inputs.0.surprise",
       "functions[0] ('ssd').inputs[0] has unknown field 'surprise'"},
      {"functions.0.outputs.0.surprise",
       "functions[0] ('ssd').outputs[0] has unknown field 'surprise'"},
      {"functions.0.equal_dims.0.0.surprise",
       "functions[0] ('ssd').equal_dims[0][0] has unknown field 'surprise'"},
      {"functions.0.outputs.0.dims_from.1.surprise",
       "outputs[0].dims_from[1] has unknown field 'surprise'"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.path);
    EXPECT_MANIFEST_ERROR(edited(c.path, std::string("1")),
                          SSM_STATUS_DATA_LOSS, c.where);
  }
  // dims_from belongs to outputs only.
  EXPECT_MANIFEST_ERROR(
      edited("functions.0.inputs.0.dims_from", std::string("[]")),
      SSM_STATUS_DATA_LOSS, "inputs[0] has unknown field 'dims_from'");
}

TEST(ManifestTest, WrongTypes) {
  struct Case {
    const char *path;
    const char *value;
    const char *expected;
  } cases[] = {
      {"format", "1", "format is 1, expected \"ssmc-artifact\""},
      {"version", "\"1\"", "version is \"1\", expected an integer"},
      {"version", "1.0", "version is 1, expected an integer"},
      {"abi_version", "true", "abi_version is a bool, expected an integer"},
      {"target", "[]", "target is an array, expected a string"},
      {"library", "null", "library is a null, expected a string"},
      {"library", "\"\"", "library is empty"},
      {"functions", "{}", "functions is an object, expected an array"},
      {"cpu", "[]", "cpu is an array, expected an object"},
      {"cpu.arch", "64", "cpu.arch is 64, expected a string"},
      {"cpu.arch", "\"\"", "cpu.arch is empty"},
      {"cpu.name", "null", "cpu.name is a null, expected a string"},
      {"cpu.features", "\"avx2\"",
       "cpu.features is \"avx2\", expected an array"},
      {"cpu.features.1", "2", "cpu.features[1] is 2, expected a string"},
      {"cpu.features.1", "\"\"", "cpu.features[1] is empty"},
      {"cpu.features.2", "\"sse\"",
       "cpu.features[2] is \"sse\", listed before"},
      {"functions.0", "[]", "functions[0] is an array, expected an object"},
      {"functions.0.name", "3", "functions[0].name is 3, expected a string"},
      {"functions.0.inputs", "{}", ".inputs is an object, expected an array"},
      {"functions.0.outputs.0", "\"y\"",
       "outputs[0] is \"y\", expected an object"},
      {"functions.0.inputs.0.name", "\"\"", "inputs[0].name is empty"},
      {"functions.0.inputs.0.name", "\"a\\u0000b\"",
       "inputs[0].name contains a NUL character"},
      {"functions.0.inputs.0.dtype", "32",
       "inputs[0].dtype is 32, expected a string"},
      {"functions.0.inputs.0.dtype", "\"f8\"",
       "inputs[0].dtype is \"f8\", expected one of f32, f64, f16, bf16, i32, "
       "i64"},
      {"functions.0.inputs.0.shape", "\"[2]\"",
       "inputs[0].shape is \"[2]\", expected an array"},
      {"functions.0.inputs.0.shape.1", "1.5",
       "inputs[0].shape[1] is 1.5, expected an integer"},
      {"functions.0.outputs.0.dims_from", "{}",
       "outputs[0].dims_from is an object, expected an array"},
      {"functions.0.outputs.0.dims_from.1.dim", "\"1\"",
       "outputs[0].dims_from[1].dim is \"1\", expected an integer"},
      {"functions.0.equal_dims", "{}",
       "equal_dims is an object, expected an array"},
      {"functions.0.equal_dims.0", "3",
       "equal_dims[0] is 3, expected an array"},
      {"functions.0.equal_dims.0.1", "[0, 1]",
       "equal_dims[0][1] is an array, expected an object"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(std::string(c.path) + " = " + c.value);
    EXPECT_MANIFEST_ERROR(edited(c.path, std::string(c.value)),
                          SSM_STATUS_DATA_LOSS, c.expected);
  }
}

TEST(ManifestTest, NotJsonOrNotAManifest) {
  EXPECT_MANIFEST_ERROR("{\"format\": ", SSM_STATUS_DATA_LOSS,
                        "the manifest is not valid JSON: byte");
  EXPECT_MANIFEST_ERROR("[1, 2]", SSM_STATUS_DATA_LOSS,
                        "the manifest is an array, expected an object");
  EXPECT_MANIFEST_ERROR("", SSM_STATUS_DATA_LOSS, "not valid JSON");
  EXPECT_MANIFEST_ERROR(edited("format", std::string("\"onnx\"")),
                        SSM_STATUS_DATA_LOSS,
                        "format is \"onnx\", expected \"ssmc-artifact\"");
}

TEST(ManifestTest, VersionMismatchIsIncompatible) {
  EXPECT_MANIFEST_ERROR(edited("version", std::string("3")),
                        SSM_STATUS_INCOMPATIBLE,
                        "version is 3; this runtime reads manifest version 2");
  // Version 1 did not record the processor: those artifacts are refused, with
  // what to do about them.
  std::string old = edited("version", std::string("1"));
  old = dump(edit(parseJson(old), {"cpu"}, 0, std::nullopt));
  EXPECT_MANIFEST_ERROR(old, SSM_STATUS_INCOMPATIBLE,
                        "version is 1; this runtime reads manifest version 2 "
                        "(a version 1 artifact does not say which CPU "
                        "features its code needs; recompile it with this "
                        "ssmc)");
  EXPECT_MANIFEST_ERROR(edited("version", std::string("0")),
                        SSM_STATUS_INCOMPATIBLE, "version is 0");
  EXPECT_MANIFEST_ERROR(
      edited("abi_version", std::string("2")), SSM_STATUS_INCOMPATIBLE,
      "abi_version is 2; this runtime loads CPU library ABI version 1");
  EXPECT_MANIFEST_ERROR(edited("abi_version", std::string("-1")),
                        SSM_STATUS_INCOMPATIBLE, "abi_version is -1");
  // A newer version may change everything else: it is not reported as an
  // unknown field.
  std::string future = edited("version", std::string("3"));
  future = dump(edit(parseJson(future), {"layout"}, 0, Value::makeNull()));
  EXPECT_MANIFEST_ERROR(future, SSM_STATUS_INCOMPATIBLE, "version is 3");
}

TEST(ManifestTest, CpuBelongsToCpuArtifacts) {
  // Feature names and the architecture are checked against this processor
  // when the library is loaded (CpuFeaturesTest), not by the parser.
  Manifest manifest;
  ssm_status_t status = parseManifest(
      edited("cpu.features", std::string("[\"avx1024\"]")), "m.json", manifest);
  EXPECT_EQ(status, nullptr) << ssm_status_message(status);
  ssm_status_free(status);
  EXPECT_EQ(manifest.cpu.features, std::vector<std::string>{"avx1024"});
  EXPECT_EQ(parseFailure(edited("cpu.features", std::string("[]"))).code,
            SSM_STATUS_OK);

  std::string cuda = edited("target", std::string("\"cuda\""));
  cuda = dump(edit(parseJson(cuda), {"cuda"}, 0,
                   parseJson(R"({"arch": "sm_90a", "source": "k.cu"})")));
  EXPECT_MANIFEST_ERROR(cuda, SSM_STATUS_DATA_LOSS,
                        "has a field 'cpu' but its target is \"cuda\"");
  EXPECT_MANIFEST_ERROR(edited("cpu", std::nullopt), SSM_STATUS_DATA_LOSS,
                        "the manifest has no field 'cpu' (the processor "
                        "features its code needs), which a \"cpu\" artifact "
                        "must have");
}

TEST(ManifestTest, OtherTargetsAreUnimplemented) {
  EXPECT_MANIFEST_ERROR(edited("target", std::string("\"rocm\"")),
                        SSM_STATUS_UNIMPLEMENTED,
                        "target is \"rocm\"; this runtime loads \"cpu\" and "
                        "\"cuda\" artifacts");
}

TEST(ManifestTest, LibraryMustBeInsideTheArtifact) {
  for (const char *library :
       {"\"../model_cpu.so\"", "\"/tmp/model_cpu.so\"", "\"..\"", "\".\""}) {
    SCOPED_TRACE(library);
    EXPECT_MANIFEST_ERROR(edited("library", std::string(library)),
                          SSM_STATUS_DATA_LOSS,
                          "expected a file name inside the artifact directory");
  }
}

TEST(ManifestTest, NegativeDimsOtherThanMinusOne) {
  EXPECT_MANIFEST_ERROR(
      edited("functions.0.inputs.0.shape.1", std::string("-2")),
      SSM_STATUS_DATA_LOSS,
      "functions[0] ('ssd').inputs[0].shape[1] is -2, expected a size >= 0 "
      "or -1 (dynamic)");
  EXPECT_MANIFEST_ERROR(edited("functions.0.outputs.0.shape.0",
                               std::string("-9223372036854775807")),
                        SSM_STATUS_DATA_LOSS,
                        "outputs[0].shape[0] is -9223372036854775807");
  // Beyond int64: not an exact integer.
  EXPECT_MANIFEST_ERROR(edited("functions.0.inputs.0.shape.0",
                               std::string("18446744073709551615")),
                        SSM_STATUS_DATA_LOSS,
                        "shape[0] is 18446744073709551615, expected an "
                        "integer");
}

TEST(ManifestTest, DimsFromOutOfRangeOrInconsistent) {
  struct Case {
    const char *path;
    const char *value;
    const char *expected;
  } cases[] = {
      {"functions.0.outputs.0.dims_from.1.input", "2",
       "dims_from[1].input is 2, but the function has 2 inputs"},
      {"functions.0.outputs.0.dims_from.1.input", "-1",
       "dims_from[1].input is -1, but the function has 2 inputs"},
      {"functions.0.outputs.0.dims_from.1.dim", "4",
       "dims_from[1].dim is 4, but input 0 ('x') has rank 4"},
      {"functions.0.outputs.0.dims_from.1.dim", "-1",
       "dims_from[1].dim is -1, but input 0 ('x') has rank 4"},
      {"functions.0.outputs.0.dims_from.1", "null",
       "dims_from[1] is null, but dim 1 is dynamic"},
      {"functions.0.outputs.0.dims_from.0", "{\"input\": 0, \"dim\": 0}",
       "dims_from[0] is an object, expected null for static dim 0"},
      {"functions.0.outputs.0.dims_from", "[null, {\"input\": 0, \"dim\": 1}]",
       "dims_from has 2 entries, expected one per dim (4)"},
      {"functions.1.outputs.0.dims_from", "[null]",
       "outputs[0].dims_from has 1 entries, expected one per dim (2)"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(std::string(c.path) + " = " + c.value);
    EXPECT_MANIFEST_ERROR(edited(c.path, std::string(c.value)),
                          SSM_STATUS_DATA_LOSS, c.expected);
  }
}

TEST(ManifestTest, EqualDimsMalformed) {
  struct Case {
    const char *path;
    const char *value;
    const char *expected;
  } cases[] = {
      {"functions.0.equal_dims.0", "[{\"input\": 0, \"dim\": 1}]",
       "equal_dims[0] has 1 entries, expected at least 2"},
      {"functions.0.equal_dims.0", "[]",
       "equal_dims[0] has 0 entries, expected at least 2"},
      {"functions.0.equal_dims.0.1.input", "5",
       "equal_dims[0][1].input is 5, but the function has 2 inputs"},
      {"functions.0.equal_dims.0.1.dim", "3",
       "equal_dims[0][1].dim is 3, but input 1 ('dt') has rank 3"},
      {"functions.0.equal_dims.0.1", "null",
       "equal_dims[0][1] is a null, expected an object"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(std::string(c.path) + " = " + c.value);
    EXPECT_MANIFEST_ERROR(edited(c.path, std::string(c.value)),
                          SSM_STATUS_DATA_LOSS, c.expected);
  }
}

TEST(ManifestTest, NamesMustBeUnique) {
  EXPECT_MANIFEST_ERROR(edited("functions.1.name", std::string("\"ssd\"")),
                        SSM_STATUS_DATA_LOSS,
                        "functions[1].name is \"ssd\", the name of an earlier "
                        "function");
  EXPECT_MANIFEST_ERROR(
      edited("functions.0.inputs.1.name", std::string("\"x\"")),
      SSM_STATUS_DATA_LOSS,
      "inputs[1].name is \"x\", the name of an earlier entry");
  // An input and an output may share a name (e.g. a state passed through).
  EXPECT_EQ(
      parseFailure(edited("functions.0.outputs.0.name", std::string("\"x\"")))
          .code,
      SSM_STATUS_OK);
}

TEST(ManifestTest, NeedsAtLeastOneFunction) {
  EXPECT_MANIFEST_ERROR(edited("functions", std::string("[]")),
                        SSM_STATUS_DATA_LOSS,
                        "functions is empty; an artifact has at least one "
                        "function");
}

TEST(ManifestTest, OutputsWrittenOverAnInput) {
  // y may be written over x (same dtype and shape); round trip keeps it.
  Manifest manifest;
  std::string text = edited("functions.0.outputs.0.aliases", std::string("0"));
  ssm_status_t status = parseManifest(text, "m.json", manifest);
  ASSERT_EQ(status, nullptr) << ssm_status_message(status);
  ASSERT_TRUE(manifest.functions[0].outputs[0].aliases.has_value());
  EXPECT_EQ(*manifest.functions[0].outputs[0].aliases, 0u);
  EXPECT_FALSE(manifest.functions[1].outputs[0].aliases.has_value());
  Manifest again;
  status = parseManifest(formatManifest(manifest), "m.json", again);
  ASSERT_EQ(status, nullptr) << ssm_status_message(status);
  EXPECT_EQ(again.functions[0].outputs[0].aliases, 0u);

  EXPECT_MANIFEST_ERROR(edited("functions.0.outputs.0.aliases", std::string("2")),
                        SSM_STATUS_DATA_LOSS,
                        "outputs[0].aliases is 2, expected an input index in "
                        "[0, 2)");
  EXPECT_MANIFEST_ERROR(
      edited("functions.0.outputs.0.aliases", std::string("1")),
      SSM_STATUS_DATA_LOSS,
      "aliases names input 'dt' (f32 [2, ?, 4]), which is not of the "
      "output's dtype and shape (f32 [2, ?, 4, 16])");
  EXPECT_MANIFEST_ERROR(
      edited("functions.0.outputs.0.aliases", std::string("\"x\"")),
      SSM_STATUS_DATA_LOSS, "outputs[0].aliases is");
  // One input, one output written over it.
  EXPECT_MANIFEST_ERROR(
      edited("functions.0.outputs",
             std::string(R"([{"name": "y", "dtype": "f32", "shape": [2, -1, 4, 16],
                  "dims_from": [null, {"input": 0, "dim": 1}, null, null], "aliases": 0},
                 {"name": "z", "dtype": "f32", "shape": [2, -1, 4, 16],
                  "dims_from": [null, {"input": 0, "dim": 1}, null, null], "aliases": 0}])")),
      SSM_STATUS_DATA_LOSS,
      "outputs[1].aliases names input 'x', which output 'y' is written into");
}
