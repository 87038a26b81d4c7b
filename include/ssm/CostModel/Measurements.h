//===- Measurements.h - Measured times of ssm.mix candidates ----*- C++ -*-===//
//
// What a device's calibration sweep measured (bench/gpu/sweep.sh): for each
// shape, the time of every candidate (algorithm and chunk) the generated
// kernels ran. The cost model's targets are fitted to these, a unit test
// checks the fitted target's picks against them, and `ssmc --explain
// --measured=FILE` prints them next to the estimates.
//
// The file is JSON:
//   {"target": "h200", "shapes": [
//     {"name": "ssd_b1_l256", "shape": {<MixShape fields>},
//      "seconds": [{"algorithm": "chunked", "chunk": 64, "seconds": 2.1e-5},
//                  ...]}, ...]}
//
//===----------------------------------------------------------------------===//

#ifndef SSM_COSTMODEL_MEASUREMENTS_H
#define SSM_COSTMODEL_MEASUREMENTS_H

#include "ssm/CostModel/CostModel.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <string>
#include <vector>

namespace ssm::cost {

/// One candidate's measured time.
struct MeasuredCandidate {
  Algorithm algorithm = Algorithm::Quadratic;
  /// 0 unless chunked.
  int64_t chunkSize = 0;
  double seconds = 0;
};

/// One shape of a sweep and what each of its candidates took.
struct Measurement {
  std::string name;
  MixShape shape;
  std::vector<MeasuredCandidate> candidates;

  /// The fastest candidate; nullptr when none was measured.
  const MeasuredCandidate *fastest() const;
  /// The measured time of (algorithm, chunk), or nullptr.
  const MeasuredCandidate *find(Algorithm algorithm, int64_t chunkSize) const;
};

struct Measurements {
  /// The target the sweep ran on ("h200").
  std::string target;
  std::vector<Measurement> shapes;

  /// The measurement of `shape` (every field equal), or nullptr.
  const Measurement *find(const MixShape &shape) const;
};

bool operator==(const MixShape &a, const MixShape &b);

llvm::json::Value toJSON(const MixShape &shape);
llvm::json::Value toJSON(const Measurements &measurements);
/// Parses the file's JSON; `source` names it in errors, which name the
/// field. Every field is required; an unknown one is an error.
llvm::Expected<Measurements> parseMeasurements(llvm::StringRef json,
                                               llvm::StringRef source);
llvm::Expected<Measurements> readMeasurements(llvm::StringRef path);

/// How well a target's picks do on a sweep.
struct PickScore {
  /// Shapes whose pick ran within `slack` of the fastest measured.
  int64_t good = 0, total = 0;
  /// Per shape, in order: the pick's measured time over the fastest's (1:
  /// best, and where there is one candidate).
  std::vector<double> ratios;
};
/// Scores `target`'s choice (estimateAll over the measured candidates only)
/// on every shape with two candidates or more: good when its measured time
/// ≤ (1 + slack) · fastest.
PickScore scorePicks(const Measurements &measurements,
                     const TargetDescription &target, double slack = 0.1);

} // namespace ssm::cost

#endif // SSM_COSTMODEL_MEASUREMENTS_H
