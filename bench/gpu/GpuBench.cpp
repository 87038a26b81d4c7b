//===- GpuBench.cpp - Time CUDA artifacts on the GPU ----------------------===//
//
// ssm-gpu-bench: for each CUDA artifact (one function each), random inputs
// on the device, then three medians:
//   - whole_ms: a call through the runtime as a user makes it, wall clock
//     around ssm_function_invoke + ssm_module_synchronize (calls repeated
//     with the same tensors: the runtime replays them as its graph);
//   - enqueue_ms: the same calls' ssm_function_invoke alone (checks and
//     launches, the host's share);
//   - gpu_ms: GPU time alone, the same calls captured in a CUDA graph and
//     replayed between events (no host launch overhead), as the peers'
//     `graph` figures in ../shared/anchors/peers_gpu.py.
// Inputs are drawn by name the way peers_gpu.py draws the peers' (A negative,
// dt raw before its softplus, g a log-sigmoid, ...). One JSON line per
// artifact on stdout.
//
//   ssm-gpu-bench [--repeat=N] ARTIFACT_DIR...
//
//===----------------------------------------------------------------------===//

#include "CudaDriver.h"

#include "ssm/runtime.hpp"
#include "ssm/runtime_dtype.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace ssm;
using namespace ssm::runtime::cuda;

namespace {

[[noreturn]] void die(const std::string &message) {
  std::fprintf(stderr, "ssm-gpu-bench: %s\n", message.c_str());
  std::exit(1);
}

void check(CUresult result, const DriverApi &driver, const char *call) {
  if (result == kSuccess)
    return;
  ssm_status_t status = driverError(driver, result, call);
  die(ssm_status_message(status));
}

/// A value for input `name`, drawn as peers_gpu.py draws the peers' inputs.
float draw(const std::string &name, std::mt19937 &rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  if (name == "A")
    return -uniform(rng) * 4.0f - 0.5f;
  if (name == "dt")
    return normal(rng) * 0.5f - 2.0f;
  if (name == "dt_bias")
    return normal(rng) * 0.1f;
  if (name == "delta")
    return uniform(rng) * 0.1f;
  if (name == "g") { // logsigmoid(randn) / 16
    float x = normal(rng);
    return -std::log1p(std::exp(-x)) / 16.0f;
  }
  return normal(rng);
}

HostTensor randomInput(const TensorSignature &signature, std::mt19937 &rng) {
  HostTensor tensor(signature.dtype, signature.shape);
  size_t count = tensor.bytes() / elementBytes(signature.dtype);
  auto *bytes = static_cast<uint8_t *>(tensor.data());
  for (size_t i = 0; i < count; ++i) {
    float value = draw(signature.name, rng);
    if (signature.dtype.code == kDLFloat && signature.dtype.bits == 32) {
      std::memcpy(bytes + 4 * i, &value, 4);
    } else if (signature.dtype.code == kDLBfloat) {
      uint16_t half = floatToBfloat16(value);
      std::memcpy(bytes + 2 * i, &half, 2);
    } else if (signature.dtype.code == kDLFloat && signature.dtype.bits == 16) {
      uint16_t half = floatToHalf(value);
      std::memcpy(bytes + 2 * i, &half, 2);
    } else {
      die("input '" + signature.name + "' has a dtype the bench cannot fill");
    }
  }
  return tensor;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

void bench(const std::string &dir, int repeat) {
  const DriverApi *driver = nullptr;
  if (ssm_status_t status = getDriver(&driver))
    die(ssm_status_message(status));
  if (!driver->streamCreate || !driver->graphLaunch || !driver->eventCreate ||
      !driver->eventElapsedTime)
    die("the driver lacks the stream, event or graph functions");
  // Loading initializes the driver and makes the device's context current;
  // then the module's calls go to our stream, which the graph captures.
  Module probe = Module::load(dir);
  CUstream stream = nullptr;
  check(driver->streamCreate(&stream, 1 /* non-blocking */), *driver,
        "cuStreamCreate");
  ssm_module_options_t options;
  ssm_module_options_initialize(&options);
  options.device = {kDLCUDA, 0};
  options.stream = stream;
  Module module = Module::load(dir, options);
  Function function = module.function(size_t(0));

  std::mt19937 rng(0);
  std::vector<HostTensor> hostInputs;
  std::vector<DeviceTensor> inputs, outputs;
  std::vector<DLTensor> inputViews, outputViews;
  for (size_t i = 0; i < function.numInputs(); ++i) {
    hostInputs.push_back(randomInput(function.input(i), rng));
    inputs.push_back(DeviceTensor::copyOf(module, hostInputs.back()));
    inputViews.push_back(inputs.back().view());
  }
  for (size_t o = 0; o < function.numOutputs(); ++o) {
    std::vector<DLTensor> hostViews;
    for (HostTensor &input : hostInputs)
      hostViews.push_back(input.view());
    outputs.emplace_back(module, function.output(o).dtype,
                         function.outputShape(hostViews, o));
    outputViews.push_back(outputs.back().view());
  }

  // Whole calls.
  for (int i = 0; i < 5; ++i) {
    function.invoke(inputViews, outputViews);
    module.synchronize();
  }
  std::vector<double> whole, enqueue;
  for (int i = 0; i < repeat; ++i) {
    auto start = std::chrono::steady_clock::now();
    function.invoke(inputViews, outputViews);
    auto enqueued = std::chrono::steady_clock::now();
    module.synchronize();
    auto done = std::chrono::steady_clock::now();
    whole.push_back(
        std::chrono::duration<double, std::milli>(done - start).count());
    enqueue.push_back(
        std::chrono::duration<double, std::milli>(enqueued - start).count());
  }

  // GPU time: a graph of `calls` back-to-back calls, replayed.
  const int calls = 10;
  check(driver->streamBeginCapture(stream, kStreamCaptureModeRelaxed), *driver,
        "cuStreamBeginCapture");
  for (int i = 0; i < calls; ++i)
    function.invoke(inputViews, outputViews);
  CUgraph graph = nullptr;
  check(driver->streamEndCapture(stream, &graph), *driver,
        "cuStreamEndCapture");
  CUgraphExec exec = nullptr;
  check(driver->graphInstantiate(&exec, graph, 0), *driver,
        "cuGraphInstantiate");
  CUevent begin = nullptr, end = nullptr;
  check(driver->eventCreate(&begin, 0), *driver, "cuEventCreate");
  check(driver->eventCreate(&end, 0), *driver, "cuEventCreate");
  check(driver->graphLaunch(exec, stream), *driver, "cuGraphLaunch");
  module.synchronize();
  std::vector<double> gpu;
  for (int i = 0; i < std::max(5, repeat / calls); ++i) {
    check(driver->eventRecord(begin, stream), *driver, "cuEventRecord");
    check(driver->graphLaunch(exec, stream), *driver, "cuGraphLaunch");
    check(driver->eventRecord(end, stream), *driver, "cuEventRecord");
    check(driver->eventSynchronize(end), *driver, "cuEventSynchronize");
    float milliseconds = 0;
    check(driver->eventElapsedTime(&milliseconds, begin, end), *driver,
          "cuEventElapsedTime");
    gpu.push_back(milliseconds / calls);
  }
  driver->eventDestroy(begin);
  driver->eventDestroy(end);
  driver->graphExecDestroy(exec);
  driver->graphDestroy(graph);

  std::string name = dir.substr(dir.find_last_of('/') + 1);
  std::string algorithms;
  for (const AlgorithmNote &note : function.algorithms())
    algorithms += (algorithms.empty() ? "" : ",") + note.algorithm +
                  (note.chunkSize ? "/" + std::to_string(note.chunkSize) : "");
  std::printf("{\"name\": \"%s\", \"algorithm\": \"%s\", \"whole_ms\": %.5f, "
              "\"enqueue_ms\": %.5f, \"gpu_ms\": %.5f}\n",
              name.c_str(), algorithms.c_str(), median(whole), median(enqueue),
              median(gpu));
  std::fflush(stdout);
  // The stream must outlive the module, which the function and the tensors
  // hold references to: its graphs were launched on it.
  outputs.clear();
  inputs.clear();
  function = Function();
  module = Module();
  driver->streamDestroy(stream);
}

} // namespace

int main(int argc, char **argv) {
  int repeat = 100;
  std::vector<std::string> dirs;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--repeat=", 0) == 0)
      repeat = std::max(5, std::atoi(arg.c_str() + 9));
    else
      dirs.push_back(arg);
  }
  if (dirs.empty())
    die("usage: ssm-gpu-bench [--repeat=N] ARTIFACT_DIR...");
  for (const std::string &dir : dirs) {
    try {
      bench(dir, repeat);
    } catch (const Error &error) {
      std::printf("{\"name\": \"%s\", \"error\": \"%s\"}\n", dir.c_str(),
                  error.what());
    }
  }
  return 0;
}
