//===- ssm-bench.cpp - Benchmarks of the CPU code ssmc generates ----------===//
//
// For each benchmark shape (SSD, a whole Mamba-2 layer, Mamba-1, linear and
// softmax attention, L from 256 to 16384) and each legal algorithm (chunked
// at several chunk sizes), compiles the mixer with the real pipeline, loads
// it through the runtime, and times it (median of repeated runs on random
// inputs), together with the same op compiled with the cost model choosing;
// reports how the choice compares with the fastest measured algorithm.
// Writes a Markdown report.
//
//===----------------------------------------------------------------------===//

#include "ssm/CostModel/CostModel.h"
#include "ssm/Driver/Driver.h"
#include "ssm/SsmOps.h"
#include "ssm/Transforms/SelectAlgorithm.h"
#include "ssm/runtime.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace mlir;
namespace cl = llvm::cl;
namespace cost = ::ssm::cost;

static cl::opt<std::string> reportPath("report",
                                       cl::desc("Markdown report to write"),
                                       cl::init("bench/report.md"));
static cl::opt<std::string>
    filter("filter", cl::desc("Only cases whose name contains this"),
           cl::init(""));
static cl::opt<bool> quick("quick",
                           cl::desc("Small lengths only (a smoke run)"),
                           cl::init(false));
static cl::opt<double>
    secondsPerMeasurement("seconds",
                          cl::desc("Time budget per measurement"),
                          cl::init(1.0));

namespace {

//===----------------------------------------------------------------------===//
// Cases
//===----------------------------------------------------------------------===//

struct Algorithm {
  std::string kind; // quadratic, recurrent, chunked
  int64_t chunkSize = 0;
  std::string label() const {
    return chunkSize ? kind + "/" + std::to_string(chunkSize) : kind;
  }
};

/// One shape: its MLIR, what each algorithm counts as FLOPs, and the
/// algorithms to time.
struct Case {
  std::string family;
  std::string name;
  std::string mlir;
  std::vector<Algorithm> algorithms;
  /// FLOPs counted for an algorithm (see the report's header).
  std::function<double(const Algorithm &)> flops;
};

std::string tensor(std::vector<int64_t> shape) {
  std::string text = "tensor<";
  for (int64_t size : shape)
    text += std::to_string(size) + "x";
  return text + "f32>";
}

std::string arg(const char *name, std::vector<int64_t> shape) {
  return llvm::formatv("%{0}: {1} {{ssm.name = \"{0}\"}", name, tensor(shape))
      .str();
}

/// A bare ssm.mix with linear score, causal mask and optional scalar or
/// diagonal decay.
std::string mixFunction(int64_t b, int64_t l, int64_t hq, int64_t hv,
                        int64_t n, int64_t p, const char *decay) {
  std::vector<int64_t> q = {b, l, hq, n}, v = {b, l, hv, p}, y = {b, l, hv, p};
  std::string args = arg("q", q) + ", " + arg("k", q) + ", " + arg("v", v);
  std::string operands = "%q, %k, %v";
  std::string types = tensor(q) + ", " + tensor(q) + ", " + tensor(v);
  std::string decayText;
  if (std::string(decay) != "none") {
    std::vector<int64_t> a = std::string(decay) == "scalar"
                                 ? std::vector<int64_t>{hv}
                                 : std::vector<int64_t>{hv, n};
    args += ", " + arg("dt", {b, l, hv}) + ", " + arg("A", a);
    decayText = " decay(%dt, %A)";
    types += ", " + tensor({b, l, hv}) + ", " + tensor(a);
  }
  return llvm::formatv("func.func @mix({0}) -> {1} {{\n"
                       "  %y = ssm.mix linear causal {2}{3} : ({4}) -> {1}\n"
                       "  return %y : {1}\n}\n",
                       args, tensor(y), operands, decayText, types)
      .str();
}

std::string softmaxFunction(int64_t l, int64_t h, int64_t e) {
  std::vector<int64_t> q = {1, l, h, e};
  std::string t = tensor(q);
  return llvm::formatv(
             "func.func @attention({0}, {1}, {2}) -> {3} {{\n"
             "  %y = ssm.mix softmax(scale = {4:e16}) causal %q, %k, %v : ({3}, "
             "{3}, {3}) -> {3}\n  return %y : {3}\n}\n",
             arg("q", q), arg("k", q), arg("v", q), t,
             1.0 / std::sqrt(static_cast<double>(e)))
      .str();
}

/// A Mamba-2 layer's mixer with its glue: Δ = softplus(dt + bias),
/// y = (ssm.mix(C, B, Δ·x) + D·x) · silu(z).
std::string mamba2LayerFunction(int64_t l, int64_t h, int64_t p, int64_t n) {
  std::string x = tensor({1, l, h, p}), steps = tensor({1, l, h}),
              heads = tensor({h}), bc = tensor({1, l, 1, n});
  return llvm::formatv(R"mlir(
#id3 = affine_map<(b, l, h) -> (b, l, h)>
#h3 = affine_map<(b, l, h) -> (h)>
#id4 = affine_map<(b, l, h, p) -> (b, l, h, p)>
#s4 = affine_map<(b, l, h, p) -> (b, l, h)>
#h4 = affine_map<(b, l, h, p) -> (h)>
func.func @mamba2_layer(%x: {0} {{ssm.name = "x"}, %dt: {1} {{ssm.name = "dt_raw"},
    %bias: {2} {{ssm.name = "dt_bias"}, %A: {2} {{ssm.name = "A"},
    %B: {3} {{ssm.name = "B"}, %C: {3} {{ssm.name = "C"},
    %D: {2} {{ssm.name = "D"}, %z: {0} {{ssm.name = "z"}) -> {0} {{
  %e3 = tensor.empty() : {1}
  %delta = linalg.generic {{indexing_maps = [#id3, #h3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%dt, %bias : {1}, {2}) outs(%e3 : {1}) {{
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    %zero = arith.constant 0.0 : f32
    %m = arith.maximumf %s, %zero : f32
    %abs = math.absf %s : f32
    %neg = arith.negf %abs : f32
    %e = math.exp %neg : f32
    %l = math.log1p %e : f32
    %sp = arith.addf %m, %l : f32
    linalg.yield %sp : f32
  } -> {1}
  %e4 = tensor.empty() : {0}
  %v = linalg.generic {{indexing_maps = [#id4, #s4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %delta : {0}, {1}) outs(%e4 : {0}) {{
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> {0}
  %y = ssm.mix linear causal %C, %B, %v decay(%delta, %A) : ({3}, {3}, {0}, {1}, {2}) -> {0}
  %out = linalg.generic {{indexing_maps = [#id4, #id4, #h4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y, %x, %D, %z : {0}, {0}, {2}, {0}) outs(%e4 : {0}) {{
  ^bb0(%yy: f32, %xx: f32, %d: f32, %zz: f32, %o: f32):
    %skip = arith.mulf %d, %xx : f32
    %sum = arith.addf %yy, %skip : f32
    %one = arith.constant 1.0 : f32
    %nz = arith.negf %zz : f32
    %ez = math.exp %nz : f32
    %den = arith.addf %one, %ez : f32
    %silu = arith.divf %zz, %den : f32
    %g = arith.mulf %sum, %silu : f32
    linalg.yield %g : f32
  } -> {0}
  return %out : {0}
}
)mlir",
                       x, steps, heads, bc)
      .str();
}

std::vector<Case> buildCases() {
  std::vector<Case> cases;
  std::vector<int64_t> lengths = quick ? std::vector<int64_t>{256, 1024}
                                       : std::vector<int64_t>{256, 1024, 4096,
                                                              16384};
  auto linearAlgorithms = [](int64_t l, bool withQuadratic) {
    std::vector<Algorithm> algorithms = {{"recurrent", 0}};
    for (int64_t q : {32, 64, 128})
      algorithms.push_back({"chunked", q});
    if (withQuadratic)
      algorithms.push_back({"quadratic", 0});
    return algorithms;
  };
  // FLOPs of each algorithm on a linear-score op, per (batch, head).
  auto linearFlops = [](int64_t b, int64_t l, int64_t h, int64_t n,
                        int64_t p) {
    return [=](const Algorithm &a) -> double {
      double items = static_cast<double>(b) * h;
      if (a.kind == "recurrent")
        return items * l * 5.0 * n * p;
      if (a.kind == "chunked") {
        double q = a.chunkSize, chunks = std::ceil(double(l) / q);
        return items * chunks *
               (2 * q * q * n + 2 * q * q * p + 4 * q * n * p);
      }
      return items * 2.0 * (double(l) * l / 2) * (n + p);
    };
  };

  // SSD (Mamba-2 scan alone): 8 heads of dim 64, d_state 64, one group.
  for (int64_t l : lengths)
    cases.push_back({"ssd", llvm::formatv("ssd B1 L{0} H8 P64 N64", l).str(),
                     mixFunction(1, l, 1, 8, 64, 64, "scalar"),
                     linearAlgorithms(l, l <= 4096),
                     linearFlops(1, l, 8, 64, 64)});
  // A whole Mamba-2 layer's mixer with glue, d_state 128, 24 heads.
  for (int64_t l : quick ? std::vector<int64_t>{512}
                         : std::vector<int64_t>{512, 2048, 8192})
    cases.push_back(
        {"mamba2-layer",
         llvm::formatv("mamba2 layer L{0} H24 P64 N128 (+glue)", l).str(),
         mamba2LayerFunction(l, 24, 64, 128),
         std::vector<Algorithm>{{"recurrent", 0}, {"chunked", 64},
                                {"chunked", 128}},
         linearFlops(1, l, 24, 128, 64)});
  // Mamba-1 selective scan: 1536 channels, d_state 16, diagonal decay.
  for (int64_t l : quick ? std::vector<int64_t>{256}
                         : std::vector<int64_t>{256, 2048, 16384}) {
    std::vector<Algorithm> algorithms = {{"recurrent", 0}};
    if (l <= 256)
      algorithms.push_back({"quadratic", 0});
    cases.push_back({"mamba1", llvm::formatv("mamba1 B1 D1536 N16 L{0}", l).str(),
                     mixFunction(1, l, 1, 1536, 16, 1, "diagonal"), algorithms,
                     linearFlops(1, l, 1536, 16, 1)});
  }
  // Linear attention, 8 heads of 64, without and with a decay.
  for (int64_t l : lengths)
    cases.push_back({"linear", llvm::formatv("linear attn L{0} H8 D64", l).str(),
                     mixFunction(1, l, 8, 8, 64, 64, "none"),
                     linearAlgorithms(l, l <= 4096),
                     linearFlops(1, l, 8, 64, 64)});
  for (int64_t l : lengths)
    cases.push_back({"linear-decay",
                     llvm::formatv("decayed linear attn L{0} H8 D64", l).str(),
                     mixFunction(1, l, 8, 8, 64, 64, "scalar"),
                     linearAlgorithms(l, l <= 4096),
                     linearFlops(1, l, 8, 64, 64)});
  // Small-state linear attention (N = P = 16): where recurrent shines.
  for (int64_t l : lengths)
    cases.push_back({"linear-small",
                     llvm::formatv("linear attn L{0} H16 D16", l).str(),
                     mixFunction(1, l, 16, 16, 16, 16, "scalar"),
                     linearAlgorithms(l, l <= 4096),
                     linearFlops(1, l, 16, 16, 16)});
  // Causal softmax attention, 8 heads of 64 (unmasked half counted).
  for (int64_t l : quick ? std::vector<int64_t>{256, 1024}
                         : std::vector<int64_t>{256, 1024, 2048, 4096, 16384})
    cases.push_back({"softmax",
                     llvm::formatv("causal softmax B1 H8 L{0} E64", l).str(),
                     softmaxFunction(l, 8, 64), {{"quadratic", 0}},
                     [l](const Algorithm &) {
                       return 8.0 * 4.0 * (double(l) * l / 2) * 64;
                     }});
  return cases;
}

//===----------------------------------------------------------------------===//
// Measuring
//===----------------------------------------------------------------------===//

/// Owns a loaded artifact and random input/output buffers for its function.
class LoadedFunction {
public:
  ~LoadedFunction() {
    if (module)
      ssm_module_release(module);
  }

  std::string load(const std::string &dir) {
    if (ssm_status_t status = ssm_module_load(dir.c_str(), &module))
      return take(status);
    if (ssm_status_t status = ssm_module_function_at(module, 0, &function))
      return take(status);
    std::mt19937 rng(1234);
    size_t numInputs = ssm_function_input_count(function);
    for (size_t i = 0; i < numInputs; ++i) {
      ssm_tensor_signature_t signature;
      if (ssm_status_t status =
              ssm_function_input_signature(function, i, &signature))
        return take(status);
      std::string name = signature.name;
      // Step sizes small and positive, decay rates negative, rest centered.
      float low = -0.5f, high = 0.5f;
      if (name == "dt")
        low = 0.001f, high = 0.1f;
      else if (name == "A")
        low = -1.5f, high = -0.5f;
      std::uniform_real_distribution<float> dist(low, high);
      addTensor(signature, dist, rng, inputData, inputShapes);
    }
    for (size_t i = 0; i < inputData.size(); ++i)
      inputs.push_back(describe(inputData[i], inputShapes[i]));
    size_t numOutputs = ssm_function_output_count(function);
    for (size_t i = 0; i < numOutputs; ++i) {
      std::vector<int64_t> shape(8);
      if (ssm_status_t status = ssm_function_resolve_output_shape(
              function, inputs.data(), inputs.size(), i, shape.size(),
              shape.data()))
        return take(status);
      ssm_tensor_signature_t signature;
      ssm_function_output_signature(function, i, &signature);
      shape.resize(signature.ndim);
      int64_t count = 1;
      for (int64_t size : shape)
        count *= size;
      outputData.emplace_back(count);
      outputShapes.push_back(shape);
    }
    for (size_t i = 0; i < outputData.size(); ++i)
      outputs.push_back(describe(outputData[i], outputShapes[i]));
    return "";
  }

  std::string run() {
    if (ssm_status_t status =
            ssm_function_invoke(function, inputs.data(), inputs.size(),
                                outputs.data(), outputs.size()))
      return take(status);
    return "";
  }

  const char *algorithm() const {
    ssm_algorithm_note_t note;
    if (function && ssm_function_algorithm_count(function) > 0 &&
        !ssm_function_algorithm(function, 0, &note))
      return note.algorithm;
    return "";
  }
  int64_t chunkSize() const {
    ssm_algorithm_note_t note;
    if (function && ssm_function_algorithm_count(function) > 0 &&
        !ssm_function_algorithm(function, 0, &note))
      return note.chunk_size;
    return 0;
  }

private:
  static std::string take(ssm_status_t status) {
    std::string message = ssm_status_message(status);
    ssm_status_free(status);
    return message;
  }
  void addTensor(const ssm_tensor_signature_t &signature,
                 std::uniform_real_distribution<float> &dist,
                 std::mt19937 &rng, std::vector<std::vector<float>> &data,
                 std::vector<std::vector<int64_t>> &shapes) {
    std::vector<int64_t> shape(signature.shape,
                               signature.shape + signature.ndim);
    int64_t count = 1;
    for (int64_t size : shape)
      count *= size;
    std::vector<float> values(count);
    for (float &value : values)
      value = dist(rng);
    data.push_back(std::move(values));
    shapes.push_back(shape);
  }
  static DLTensor describe(std::vector<float> &data,
                           std::vector<int64_t> &shape) {
    DLTensor tensor{};
    tensor.data = data.data();
    tensor.device = {kDLCPU, 0};
    tensor.ndim = static_cast<int32_t>(shape.size());
    tensor.dtype = {kDLFloat, 32, 1};
    tensor.shape = shape.data();
    return tensor;
  }

  ssm_module_t *module = nullptr;
  const ssm_function_t *function = nullptr;
  std::vector<std::vector<float>> inputData, outputData;
  std::vector<std::vector<int64_t>> inputShapes, outputShapes;
  std::vector<DLTensor> inputs, outputs;
};

/// Compiles `mlir` with `algorithm` ("auto" lets the cost model pick) into
/// `dir`.
std::string compile(MLIRContext &context, const std::string &mlir,
                    const Algorithm &algorithm, const std::string &dir) {
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(mlir, &context);
  if (!module)
    return "the generated MLIR does not parse";
  mlir::ssm::CompileOptions options;
  options.algorithm = algorithm.kind;
  options.chunkSize = algorithm.chunkSize;
  options.output = dir;
  options.sourceName = "bench.mlir";
  if (mlir::ssm::compileModule(*module, options) !=
      mlir::ssm::CompileResult::Success)
    return "compilation failed";
  return "";
}

/// The cost model's estimates (host target) for the case's first ssm.mix,
/// so that the report can set what it predicted beside what was measured.
std::vector<cost::Estimate>
modelEstimates(MLIRContext &context, const std::string &mlir,
               const cost::TargetDescription &target) {
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(mlir, &context);
  if (!module)
    return {};
  mlir::ssm::MixOp mix;
  module->walk([&](mlir::ssm::MixOp op) {
    if (!mix)
      mix = op;
  });
  if (!mix)
    return {};
  return cost::estimateAll(mlir::ssm::getMixShape(mix, /*assumedLength=*/2048),
                           target);
}

/// The estimate for `algorithm` among `estimates`, or nullptr.
const cost::Estimate *findEstimate(const std::vector<cost::Estimate> &estimates,
                                   const Algorithm &algorithm) {
  for (const cost::Estimate &e : estimates)
    if (cost::toString(e.algorithm) == algorithm.kind &&
        e.chunkSize == algorithm.chunkSize)
      return &e;
  return nullptr;
}

std::string modelMilliseconds(const cost::Estimate *e) {
  return e ? llvm::formatv("{0:f2}", e->seconds * 1e3).str() : "";
}

/// One candidate of a case: its compiled, loaded artifact and its run times.
struct Candidate {
  Algorithm algorithm;
  std::unique_ptr<LoadedFunction> function;
  std::vector<double> times;
  std::string error;
};

/// Compiles and loads `algorithm` ("auto" lets the cost model pick; the
/// candidate then records the choice) from `dir`.
Candidate prepare(MLIRContext &context, const Case &c,
                  const Algorithm &algorithm, const std::string &dir) {
  Candidate candidate;
  candidate.algorithm = algorithm;
  llvm::sys::fs::remove_directories(dir);
  candidate.error = compile(context, c.mlir, algorithm, dir);
  if (!candidate.error.empty())
    return candidate;
  candidate.function = std::make_unique<LoadedFunction>();
  candidate.error = candidate.function->load(dir);
  if (!candidate.error.empty())
    return candidate;
  if (algorithm.kind == "auto")
    candidate.algorithm = {candidate.function->algorithm(),
                           candidate.function->chunkSize()};
  // Warm-up: threads, caches, first-touch pages.
  candidate.error = candidate.function->run();
  return candidate;
}

/// Times the candidates of one case in interleaved rounds (one run of each
/// per round), so that drift in the machine's load hits all of them alike:
/// at least 5 rounds, more while the time budget per candidate lasts, up to
/// 500.
void timeInterleaved(std::vector<Candidate> &candidates) {
  using Clock = std::chrono::steady_clock;
  std::vector<Candidate *> live;
  for (Candidate &candidate : candidates)
    if (candidate.error.empty())
      live.push_back(&candidate);
  double budget = secondsPerMeasurement * live.size();
  Clock::time_point start = Clock::now();
  for (int round = 0; round < 500; ++round) {
    if (round >= 5 &&
        std::chrono::duration<double>(Clock::now() - start).count() > budget)
      break;
    for (Candidate *candidate : live) {
      if (!candidate->error.empty())
        continue;
      Clock::time_point begin = Clock::now();
      candidate->error = candidate->function->run();
      candidate->times.push_back(
          std::chrono::duration<double>(Clock::now() - begin).count());
    }
  }
}

double median(std::vector<double> times) {
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

std::string milliseconds(double seconds) {
  return llvm::formatv("{0:f2}", seconds * 1e3).str();
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv,
                              "ssm-bench: time ssmc's CPU kernels\n");
  DialectRegistry registry;
  mlir::ssm::registerCompilerDialects(registry);
  MLIRContext context(registry);
  context.printOpOnDiagnostic(false);

  llvm::SmallString<128> scratch;
  llvm::sys::fs::createUniqueDirectory("ssm-bench", scratch);
  std::string scratchDir = scratch.str().str();

  cost::TargetDescription hostTarget = cost::detectHostTarget();
  // Stable addresses: the cost-model table points into these.
  std::deque<std::vector<cost::Estimate>> estimates;

  std::string report;
  llvm::raw_string_ostream os(report);
  os << "# ssmc CPU benchmarks\n\n"
     << "Machine: " << llvm::sys::getHostCPUName() << ", "
     << std::thread::hardware_concurrency() << " hardware threads; fp32; "
     << "medians of repeated runs on random inputs after one warm-up run; "
        "the candidates of a shape (and the cost model's choice, compiled "
        "separately) run interleaved, one run each per round, at least 5 "
        "rounds and up to "
     << llvm::formatv("{0}", secondsPerMeasurement.getValue())
     << " s per candidate, so that load drift hits them alike.\n\n"
     << "GFLOP/s count each algorithm's own FLOPs: recurrent 5·N·P per token "
        "and head; chunked 2Q²N + 2Q²P + 4QNP per chunk and head (full "
        "blocks); quadratic 2·(L²/2)·(N+P) per head (the causal half; for "
        "softmax attention this is 4·(L²/2)·E per head, the unmasked half). "
        "'model ms' is the cost model's estimate for the mixer alone (host "
        "target: "
     << cost::describe(hostTarget) << ").\n\n";

  struct Choice {
    std::string name;
    Algorithm chosen;
    double chosenSeconds = 0, bestSeconds = 0;
    Algorithm best;
    /// The model's estimates of the chosen and of the fastest measured.
    const cost::Estimate *chosenEstimate = nullptr, *bestEstimate = nullptr;
    size_t numCandidates = 0;
  };
  std::vector<Choice> choices;
  std::string family;
  for (const Case &c : buildCases()) {
    if (!filter.empty() && c.name.find(filter) == std::string::npos &&
        c.family.find(filter) == std::string::npos)
      continue;
    if (c.family != family) {
      family = c.family;
      os << "\n## " << family
         << "\n\n| shape | algorithm | ms | GFLOP/s | model ms |\n"
         << "|---|---|---|---|---|\n";
    }
    // Every candidate, then the cost model's choice compiled through the
    // real pipeline (not looked up among the candidates), timed together.
    estimates.push_back(modelEstimates(context, c.mlir, hostTarget));
    const std::vector<cost::Estimate> &model = estimates.back();
    std::vector<Candidate> candidates;
    for (size_t i = 0; i < c.algorithms.size(); ++i)
      candidates.push_back(prepare(context, c, c.algorithms[i],
                                   scratchDir + "/" + std::to_string(i)));
    candidates.push_back(
        prepare(context, c, {"auto", 0}, scratchDir + "/auto"));
    timeInterleaved(candidates);
    Candidate &chosen = candidates.back();
    const Candidate *best = nullptr;
    double bestSeconds = 0;
    for (size_t i = 0; i + 1 < candidates.size(); ++i) {
      const Candidate &m = candidates[i];
      bool ok = m.error.empty();
      double seconds = ok ? median(m.times) : 0.0;
      llvm::errs() << c.name << "  " << m.algorithm.label() << "  "
                   << (ok ? milliseconds(seconds) + " ms" : m.error) << "\n";
      if (ok)
        os << "| " << c.name << " | " << m.algorithm.label() << " | "
           << milliseconds(seconds) << " | "
           << llvm::formatv("{0:f1}", c.flops(m.algorithm) / seconds / 1e9)
           << " | " << modelMilliseconds(findEstimate(model, m.algorithm))
           << " |\n";
      else
        os << "| " << c.name << " | " << m.algorithm.label()
           << " | failed: " << m.error << " | | |\n";
      if (ok && (!best || seconds < bestSeconds)) {
        best = &m;
        bestSeconds = seconds;
      }
    }
    Choice choice;
    choice.name = c.name;
    choice.chosen = chosen.algorithm;
    if (chosen.error.empty() && best) {
      choice.chosenSeconds = median(chosen.times);
      choice.bestSeconds = std::min(bestSeconds, choice.chosenSeconds);
      choice.best = bestSeconds <= choice.chosenSeconds ? best->algorithm
                                                        : chosen.algorithm;
      choice.chosenEstimate = findEstimate(model, choice.chosen);
      choice.bestEstimate = findEstimate(model, choice.best);
      choice.numCandidates = c.algorithms.size();
      choices.push_back(choice);
    } else if (!chosen.error.empty()) {
      llvm::errs() << c.name << "  cost model's choice failed: " << chosen.error
                   << "\n";
    }
    llvm::errs() << c.name << "  cost model chose "
                 << choice.chosen.label() << "\n";
  }

  int within = 0, withChoice = 0, withinWithChoice = 0;
  std::vector<std::string> misses;
  os << "\n## Cost model\n\nThe algorithm (and chunk size) "
        "`ssm-select-algorithm{target=host}` picks, compiled and timed "
        "with the candidates, against the fastest measured candidate; "
        "'model' is the ratio the cost model predicted for the same two.\n\n"
     << "| shape | chosen | ms | fastest | ms | chosen / fastest | model |\n"
     << "|---|---|---|---|---|---|---|\n";
  for (const Choice &choice : choices) {
    double ratio = choice.chosenSeconds / choice.bestSeconds;
    bool miss = ratio > 1.10;
    within += !miss;
    if (choice.numCandidates > 1) {
      ++withChoice;
      withinWithChoice += !miss;
    }
    std::string predicted;
    if (choice.chosenEstimate && choice.bestEstimate)
      predicted = llvm::formatv("{0:f2}", choice.chosenEstimate->seconds /
                                              choice.bestEstimate->seconds);
    os << "| " << choice.name << " | " << choice.chosen.label() << " | "
       << milliseconds(choice.chosenSeconds) << " | " << choice.best.label()
       << " | " << milliseconds(choice.bestSeconds) << " | "
       << llvm::formatv("{0:f2}", ratio) << (miss ? " (miss)" : "") << " | "
       << predicted << " |\n";
    if (miss)
      misses.push_back(
          llvm::formatv("- {0}: chose {1}, {2:f0} % slower than {3}; the model "
                        "predicted {1} at {4} ms and {3} at {5} ms{6}.",
                        choice.name, choice.chosen.label(), (ratio - 1) * 100,
                        choice.best.label(),
                        modelMilliseconds(choice.chosenEstimate),
                        modelMilliseconds(choice.bestEstimate),
                        choice.chosen.label() == choice.best.label()
                            ? " (the same algorithm: the two builds' times "
                              "differ by noise)"
                            : "")
              .str());
  }
  os << "\nWithin 10 % of the fastest: " << within << " of " << choices.size()
     << " shapes; " << withinWithChoice << " of " << withChoice
     << " among those with more than one legal candidate timed (softmax "
        "attention has only quadratic; long Mamba-1 shapes time only "
        "recurrent, the quadratic form being ~1000x slower).\n";
  if (!misses.empty()) {
    os << "\nMisses:\n\n";
    for (const std::string &miss : misses)
      os << miss << "\n";
  }

  llvm::sys::fs::remove_directories(scratch);
  std::error_code error;
  llvm::raw_fd_ostream file(reportPath, error);
  if (error) {
    llvm::errs() << "ssm-bench: cannot write " << reportPath << ": "
                 << error.message() << "\n";
    llvm::outs() << report;
    return 1;
  }
  file << report;
  llvm::outs() << report;
  return 0;
}
