// ssm-run: the runtime's command-line face. Runs an artifact on tensors from a
// safetensors file (`run`), describes it (`info`), and checks a reference
// test vector through the compiler (`check`, Check.cpp, in builds with the
// compiler).
//
// Exit status: 0 success; 1 outputs beyond tolerance; 2 bad input or usage;
// 3 compiler failure.

#include "RunSupport.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

using namespace ssm::run;

namespace ssm::run {
/// `check` (Check.cpp, or a refusal where the compiler is not built).
int commandCheck(const std::vector<std::string> &args);
/// `check-model` (CheckModel.cpp).
int commandCheckModel(const std::vector<std::string> &args);
/// `generate` (Generate.cpp).
int commandGenerate(const std::vector<std::string> &args);
} // namespace ssm::run

namespace {

const char *const kUsage = R"(usage: ssm-run <command> [options]

Commands:
  check <vector.safetensors> [--algorithm=auto|quadratic|recurrent|chunked]
        [--chunk-size=Q] [--target=cpu|cuda] [--dtype=f32|bf16|f16]
        [--keep=DIR] [-v]
      Compile the op a reference test vector describes (its
      __metadata__.meta 'kind': ssd, selective_scan, softmax_attention,
      linear_attention) with the compiler (in this process), run it on the
      vector's inputs and compare every output with the vector's reference
      (max abs error / max |ref| within 1e-4 for f32; --dtype=bf16 stores
      the activations in bf16, within 3e-2, and f16 within 1e-2).
      --keep=DIR keeps the artifact in DIR.
  run <artifact_dir> --inputs=FILE.safetensors [--function=NAME]
        [--target=cpu|cuda] [--output=OUT.safetensors]
        [--compare=REF.safetensors] [--tolerance=1e-4] [--warmup=1]
        [--repeat=5] [-v]
      Bind the function's inputs by name from FILE (float tensors converted
      to the function's float types), run it on the artifact's device (or
      --target's), print the median and minimum time of whole calls (-v:
      every run), write the outputs by name to OUT and compare them with
      REF's tensors of the same names.
  info <artifact_dir>
      Print the artifact's functions and their signatures.
  check-model <artifact_dir> --weights=DIR --expected=FILE.safetensors
        [--target=cpu|cuda]
      Run a model artifact (ssmc <checkpoint dir>) with the checkpoint's
      weights (DIR/model.safetensors): the full forward pass on FILE's
      'input_ids' against its 'logits' (max abs error within 1e-3); the
      same logits from the prompt in two chunks (prefill, then
      prefill_chunk from its states) and from the prompt one token short
      then a decode step (within 1e-4 of the largest logit); and greedy
      generation from 'generate_input_ids' by prefill and decode steps for
      as many tokens as 'generated_ids' has beyond the prompt (every id
      must match).

  generate <artifact_dir> --weights=DIR --prompt-ids=ID,ID,...
        --max-new-tokens=N
      Greedy generation from a model artifact with DIR/model.safetensors:
      the prompt through prefill, then a decode step per new token. Prints
      the new ids, the time to first token and the decode rate (a progress
      line on stderr while it runs).

CUDA artifacts run through libcuda.so.1; with SSM_CUDA_EMULATOR=1, on the
host emulator (artifacts built with ssmc --cuda-emulation).
Exit status: 0 success, 1 outputs beyond tolerance, 2 bad input or usage,
3 compiler failure.
)";

//===----------------------------------------------------------------------===//
// run
//===----------------------------------------------------------------------===//

ssm::Function selectFunction(const ssm::Module &module,
                             const Arguments &arguments) {
  try {
    if (arguments.has("function"))
      return module.function(arguments.value("function"));
  } catch (const ssm::Error &error) {
    fail(kExitBadInput, error.what());
  }
  if (module.numFunctions() != 1) {
    std::vector<std::string> names = module.functionNames();
    fail(kExitBadInput,
         "the artifact has {} functions ({}); choose one with --function=NAME",
         module.numFunctions(), fmt::join(names, ", "));
  }
  return module.function(size_t(0));
}

int commandRun(const std::vector<std::string> &args) {
  Arguments arguments = parseArguments("run", args,
                                       {{"function", true},
                                        {"target", true},
                                        {"inputs", true},
                                        {"output", true},
                                        {"compare", true},
                                        {"tolerance", true},
                                        {"warmup", true},
                                        {"repeat", true},
                                        {"verbose", false}});
  if (arguments.positional.size() != 1)
    usageError("ssm-run run: expected one artifact directory, got {} "
               "arguments",
               arguments.positional.size());
  if (!arguments.has("inputs"))
    usageError("ssm-run run: --inputs=FILE.safetensors is required");
  double tolerance = arguments.has("tolerance")
                         ? parseTolerance(arguments.value("tolerance"))
                         : kCheckTolerance;
  int64_t warmup = parseCount("warmup", arguments.value("warmup", "1"), 0);
  int64_t repeat = parseCount("repeat", arguments.value("repeat", "5"), 1);

  ssm::Module module =
      loadArtifact(arguments.positional[0], arguments.value("target"));
  ssm::Function function = selectFunction(module, arguments);
  std::string inputsPath = arguments.value("inputs");
  ssm::SafetensorsFile inputFile = openSafetensors(inputsPath);
  // Open the reference before running: a bad path should not cost a run.
  ssm::SafetensorsFile references;
  if (arguments.has("compare"))
    references = openSafetensors(arguments.value("compare"));

  Call call(module, function, inputFile, inputsPath);
  for (int64_t i = 0; i < warmup; ++i)
    call.run();
  std::vector<double> times;
  for (int64_t i = 0; i < repeat; ++i)
    times.push_back(call.run());
  std::vector<ssm::HostTensor> outputs = call.outputs();
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  double median =
      sorted.size() % 2
          ? sorted[sorted.size() / 2]
          : 0.5 * (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]);
  fmt::print("function '{}': {} runs (after {} warm-up), median {:.3f} ms, "
             "min {:.3f} ms\n",
             function.name(), repeat, warmup, median, sorted.front());
  if (arguments.has("verbose")) {
    fmt::print("  runs (ms): {:.3f}\n", fmt::join(times, " "));
    fmt::print("  algorithm: {}\n", describeAlgorithms(function));
  }

  if (arguments.has("output")) {
    std::vector<std::pair<std::string, DLTensor>> named;
    for (size_t o = 0; o < outputs.size(); ++o)
      named.emplace_back(function.output(o).name, outputs[o].view());
    try {
      ssm::writeSafetensors(arguments.value("output"), named,
                            {{"producer", "ssm-run"},
                             {"artifact", arguments.positional[0]},
                             {"function", function.name()}});
    } catch (const ssm::Error &error) {
      fail(kExitBadInput, error.what());
    }
    fmt::print("  outputs written to {}\n", arguments.value("output"));
  }

  if (!arguments.has("compare"))
    return kExitOk;
  bool ok = compareOutputs(function, outputs, references,
                           arguments.value("compare"), tolerance);
  fmt::print("{} (tolerance rel <= {:g})\n", ok ? "PASS" : "FAIL", tolerance);
  return ok ? kExitOk : kExitMismatch;
}

//===----------------------------------------------------------------------===//
// info
//===----------------------------------------------------------------------===//

int commandInfo(const std::vector<std::string> &args) {
  Arguments arguments = parseArguments("info", args, {});
  if (arguments.positional.size() != 1)
    usageError("ssm-run info: expected one artifact directory, got {} "
               "arguments",
               arguments.positional.size());
  ssm::Module module = loadArtifact(arguments.positional[0], "");
  fmt::print("artifact {}: target {}, source {}, {} function{}\n",
             arguments.positional[0], module.target(),
             module.source().empty() ? "(unknown)" : module.source(),
             module.numFunctions(), module.numFunctions() == 1 ? "" : "s");
  for (size_t f = 0; f < module.numFunctions(); ++f) {
    ssm::Function function = module.function(f);
    fmt::print("function {}\n", function.name());
    for (size_t i = 0; i < function.numInputs(); ++i) {
      ssm::TensorSignature input = function.input(i);
      fmt::print("  input  {}  {}: {}{}\n", i, input.name,
                 ssm::dtypeName(input.dtype), formatShape(input.shape));
    }
    for (size_t o = 0; o < function.numOutputs(); ++o) {
      ssm::TensorSignature output = function.output(o);
      fmt::print("  output {}  {}: {}{}\n", o, output.name,
                 ssm::dtypeName(output.dtype), formatShape(output.shape));
    }
    fmt::print("  algorithm: {}\n", describeAlgorithms(function));
  }
  return kExitOk;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return kExitBadInput;
  }
  std::string command = args[0];
  args.erase(args.begin());
  bool wantsHelp = command == "--help" || command == "-h" ||
                   command == "help" ||
                   std::find(args.begin(), args.end(), "--help") != args.end();
  if (wantsHelp) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  try {
    if (command == "check")
      return commandCheck(args);
    if (command == "run")
      return commandRun(args);
    if (command == "info")
      return commandInfo(args);
    if (command == "check-model")
      return commandCheckModel(args);
    if (command == "generate")
      return commandGenerate(args);
    usageError("ssm-run: unknown command '{}' (expected check, run, info, "
               "check-model or generate)",
               command);
  } catch (const Exit &exit) {
    std::fflush(stdout);
    // Usage errors already name the command ("ssm-run check: ...").
    if (!exit.message.empty())
      fmt::print(stderr, "{}{}\n",
                 exit.message.rfind("ssm-run", 0) == 0 ? "" : "ssm-run: ",
                 exit.message);
    return exit.code;
  } catch (const ssm::Error &error) {
    std::fflush(stdout);
    fmt::print(stderr, "ssm-run: {}\n", error.what());
    return kExitBadInput;
  } catch (const std::exception &error) {
    std::fflush(stdout);
    fmt::print(stderr, "ssm-run: internal error: {}\n", error.what());
    return kExitCompilerFailure;
  }
}
