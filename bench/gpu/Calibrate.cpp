//===- Calibrate.cpp - The cost model's GPU targets from a device sweep ---===//
//
// ssm-calibrate, here (with the compiler), after the GPU machine timed the
// sweep (bench/gpu/sweep.sh, ssm-gpu-bench):
//
//   ssm-calibrate table SOURCES_DIR SWEEP.jsonl TARGET_NAME
//       The measurements file (ssm/CostModel/Measurements.h) on stdout: each
//       shape's cost-model description, from its source SOURCES_DIR/<shape>
//       .mlir, with the GPU time of each candidate ssm-gpu-bench measured
//       (lines named <shape>-<algorithm>; <shape>-auto is the cost model's
//       own pick, not a candidate).
//   ssm-calibrate fit MEASUREMENTS.json TARGET
//       Fits TARGET's per-algorithm efficiencies (matrix, vector, step,
//       launch and item seconds) to the measurements: first the estimates'
//       log error (a grid per algorithm, repeated until it settles, then a
//       descent), then the share of shapes whose pick runs within 10 % of
//       the fastest (a descent that keeps the log error as a tie-break).
//       Prints the score before and after, each shape's estimates next to
//       what was measured, and the fitted values.
//
//===----------------------------------------------------------------------===//

#include "ssm/CostModel/CostModel.h"
#include "ssm/CostModel/Measurements.h"
#include "ssm/Driver/Driver.h"
#include "ssm/SsmOps.h"
#include "ssm/Transforms/SelectAlgorithm.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <map>

using namespace llvm;
using namespace ssm::cost;

namespace {

int fail(const Twine &message) {
  errs() << "ssm-calibrate: " << message << "\n";
  return 2;
}

/// The MixShape of the one ssm.mix in `path`.
Expected<MixShape> shapeOf(const std::string &path,
                           mlir::MLIRContext &context) {
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(path, &context);
  if (!module)
    return createStringError(inconvertibleErrorCode(), "cannot parse %s",
                             path.c_str());
  std::optional<MixShape> shape;
  int mixes = 0;
  module->walk([&](mlir::ssm::MixOp op) {
    ++mixes;
    shape = mlir::ssm::getMixShape(op, /*assumedLength=*/2048);
  });
  if (mixes != 1)
    return createStringError(inconvertibleErrorCode(),
                             "%s holds %d ssm.mix ops, not one", path.c_str(),
                             mixes);
  return *shape;
}

int table(StringRef sources, StringRef results, StringRef targetName) {
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
      MemoryBuffer::getFile(results);
  if (!buffer)
    return fail("cannot read " + results + ": " + buffer.getError().message());
  mlir::DialectRegistry registry;
  mlir::ssm::registerCompilerDialects(registry);
  mlir::MLIRContext context(registry);

  Measurements measurements;
  measurements.target = targetName.str();
  std::map<std::string, size_t> index;
  SmallVector<StringRef> lines;
  (*buffer)->getBuffer().split(lines, '\n', -1, /*KeepEmpty=*/false);
  for (auto [number, line] : llvm::enumerate(lines)) {
    auto where = [&, number = number] {
      return formatv("{0}:{1}", results, number + 1).str();
    };
    Expected<json::Value> parsed = json::parse(line);
    if (!parsed)
      return fail(where() + ": " + toString(parsed.takeError()));
    const json::Object *row = parsed->getAsObject();
    std::optional<StringRef> name = row ? row->getString("name") : std::nullopt;
    std::optional<double> milliseconds =
        row ? row->getNumber("gpu_ms") : std::nullopt;
    std::optional<StringRef> algorithm =
        row ? row->getString("algorithm") : std::nullopt;
    if (!name || !milliseconds || !algorithm)
      return fail(where() + ": not an ssm-gpu-bench timing (name, algorithm, "
                            "gpu_ms)");
    // The artifact's directory name: <shape>-<label>.
    StringRef base = name->substr(name->rfind('/') + 1);
    auto [shapeName, label] = base.rsplit('-');
    if (label == "auto")
      continue;
    // "chunked/64": the chunk the artifact ran with.
    auto [algorithmName, chunkText] = algorithm->split('/');
    MeasuredCandidate candidate;
    std::optional<Algorithm> parsedAlgorithm = parseAlgorithm(algorithmName);
    if (!parsedAlgorithm ||
        (!chunkText.empty() && chunkText.getAsInteger(10, candidate.chunkSize)))
      return fail(where() + ": unknown algorithm '" + *algorithm + "'");
    candidate.algorithm = *parsedAlgorithm;
    if ((candidate.algorithm == Algorithm::Chunked) !=
        (candidate.chunkSize > 0))
      return fail(where() + ": algorithm '" + *algorithm +
                  "': chunked runs with a chunk ('chunked/64'), the others "
                  "without");
    candidate.seconds = *milliseconds * 1e-3;

    auto [it, inserted] =
        index.try_emplace(shapeName.str(), measurements.shapes.size());
    if (inserted) {
      Expected<MixShape> shape =
          shapeOf((sources + "/" + shapeName + ".mlir").str(), context);
      if (!shape)
        return fail(toString(shape.takeError()));
      measurements.shapes.push_back({shapeName.str(), *shape, {}});
    }
    measurements.shapes[it->second].candidates.push_back(candidate);
  }
  outs() << formatv("{0:2}", toJSON(measurements)) << "\n";
  return 0;
}

/// Σ over measured candidates of log²(estimate / measured).
double logError(const Measurements &measurements,
                const TargetDescription &target) {
  double sum = 0;
  for (const Measurement &m : measurements.shapes)
    for (const MeasuredCandidate &c : m.candidates) {
      Estimate e = estimate(m.shape, target, c.algorithm, c.chunkSize);
      double ratio = std::log(e.seconds / c.seconds);
      sum += ratio * ratio;
    }
  return sum;
}

/// Better: more good picks, then a smaller log error.
bool better(const Measurements &measurements, const TargetDescription &a,
            const TargetDescription &b) {
  int64_t goodA = scorePicks(measurements, a).good,
          goodB = scorePicks(measurements, b).good;
  if (goodA != goodB)
    return goodA > goodB;
  return logError(measurements, a) < logError(measurements, b) * (1 - 1e-9);
}

void report(raw_ostream &os, const Measurements &measurements,
            const TargetDescription &target) {
  PickScore score = scorePicks(measurements, target);
  os << formatv("{0}: {1} of {2} picks within 10% of the fastest; log "
                "error {3:f2}\n",
                target.name, score.good, score.total,
                logError(measurements, target));
  for (auto [i, m] : llvm::enumerate(measurements.shapes)) {
    os << formatv("  {0,-18} pick/best {1,5:f2}:", m.name, score.ratios[i]);
    for (const MeasuredCandidate &c : m.candidates) {
      Estimate e = estimate(m.shape, target, c.algorithm, c.chunkSize);
      os << formatv("  {0}{1} est {2:f1} µs, measured {3:f1} µs",
                    toString(c.algorithm),
                    c.chunkSize ? formatv("/{0}", c.chunkSize).str() : "",
                    e.seconds * 1e6, c.seconds * 1e6);
    }
    os << "\n";
  }
}

int fit(StringRef path, StringRef targetName) {
  Expected<Measurements> measurements = readMeasurements(path);
  if (!measurements)
    return fail(toString(measurements.takeError()));
  Expected<TargetDescription> start = getTarget(targetName);
  if (!start)
    return fail(toString(start.takeError()));
  report(outs(), *measurements, *start);

  TargetDescription best = *start;
  // Coordinate descent over multiplicative steps, each parameter in turn.
  auto parameters = [](TargetDescription &t) {
    std::vector<double *> result;
    for (KernelEfficiency *e : {&t.quadratic, &t.recurrent, &t.chunked})
      result.insert(result.end(), {&e->matrix, &e->vector, &e->stepSeconds,
                                   &e->launchSeconds, &e->itemSeconds});
    return result;
  };
  const double factors[] = {0.25, 0.5, 0.7, 0.85, 0.95, 1.05, 1.2, 1.4, 2, 4};
  auto descend = [&](auto isBetter) {
    for (int round = 0; round < 200; ++round) {
      bool improved = false;
      for (size_t p = 0; p < parameters(best).size(); ++p)
        for (double factor : factors) {
          TargetDescription trial = best;
          double &value = *parameters(trial)[p];
          // A cost of 0 scales to nothing: start it at 1 µs.
          value = value > 0 ? value * factor : 1e-6 * factor;
          // Efficiencies are shares of a peak.
          if (p % 5 < 2 && value > 1)
            continue;
          if (isBetter(trial, best)) {
            best = trial;
            improved = true;
          }
        }
      if (!improved)
        return;
    }
  };
  // The estimates' shape first: the log error is a sum over candidates, each
  // term depending on its algorithm's efficiency (and, for the quadratic
  // form with a final state, on the recurrence's too, its scan): each
  // algorithm is searched on a grid of its own, the grids repeated until they
  // settle, then refined; the picks last.
  auto logSpaced = [](double low, double high, int count) {
    std::vector<double> values;
    for (int i = 0; i < count; ++i)
      values.push_back(low * std::pow(high / low, i / double(count - 1)));
    return values;
  };
  std::vector<double> shares = logSpaced(0.01, 1, 13),
                      steps = logSpaced(1e-9, 1e-5, 9),
                      launches = logSpaced(1e-6, 1e-4, 9),
                      items = logSpaced(1e-7, 1e-4, 7);
  steps.insert(steps.begin(), 0);
  launches.insert(launches.begin(), 0);
  items.insert(items.begin(), 0);
  for (int sweep = 0; sweep < 5; ++sweep) {
    double before = logError(*measurements, best);
    for (KernelEfficiency TargetDescription::*algorithm :
         {&TargetDescription::quadratic, &TargetDescription::recurrent,
          &TargetDescription::chunked}) {
      TargetDescription trial = best;
      double bestError = logError(*measurements, best);
      // An algorithm without matrix work (the recurrence) keeps its share.
      bool matrixWork = false;
      for (const Measurement &m : measurements->shapes)
        for (const MeasuredCandidate &c : m.candidates)
          if (&best.efficiency(c.algorithm) == &(best.*algorithm))
            matrixWork |=
                estimate(m.shape, best, c.algorithm, c.chunkSize).matrixFlops >
                0;
      std::vector<double> matrixShares =
          matrixWork ? shares : std::vector<double>{(best.*algorithm).matrix};
      for (double matrix : matrixShares)
        for (double vector : shares)
          for (double step : steps)
            for (double launch : launches)
              for (double item : items) {
                trial.*algorithm = {matrix, vector, step, launch, item};
                double error = logError(*measurements, trial);
                if (error < bestError) {
                  bestError = error;
                  best.*algorithm = trial.*algorithm;
                }
              }
    }
    if (logError(*measurements, best) >= before * (1 - 1e-6))
      break;
  }
  descend([&](const TargetDescription &a, const TargetDescription &b) {
    return logError(*measurements, a) < logError(*measurements, b) * (1 - 1e-9);
  });
  descend([&](const TargetDescription &a, const TargetDescription &b) {
    return better(*measurements, a, b);
  });
  report(outs(), *measurements, best);
  outs() << "fitted efficiencies (matrix, vector, step, launch and item "
            "seconds):\n";
  for (auto [name, e] : {std::pair{"quadratic", best.quadratic},
                         {"recurrent", best.recurrent},
                         {"chunked", best.chunked}})
    outs() << formatv("  {0,-9} {1:e3} {2:e3} {3:e3} {4:e3} {5:e3}\n", name,
                      e.matrix, e.vector, e.stepSeconds, e.launchSeconds,
                      e.itemSeconds);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  StringRef command = argc > 1 ? argv[1] : "";
  if (command == "table" && argc == 5)
    return table(argv[2], argv[3], argv[4]);
  if (command == "fit" && argc == 4)
    return fit(argv[2], argv[3]);
  return fail("usage: ssm-calibrate table SOURCES_DIR SWEEP.jsonl TARGET_NAME"
              " | fit MEASUREMENTS.json TARGET");
}
