//===- MeasurementsTest.cpp - Device sweeps and the GPU targets' picks ----===//
//
// The measurements file's strict reading, and the built-in GPU target
// against what the H200 measured: on the calibration sweep it was fitted to
// and on the validation sweep it was not, its pick runs within 10 % of the
// fastest candidate on at least 90 % of the shapes.
//
//===----------------------------------------------------------------------===//

#include "ssm/CostModel/Measurements.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

using namespace ssm::cost;

namespace {

std::string errorOf(llvm::StringRef json) {
  llvm::Expected<Measurements> parsed = parseMeasurements(json, "m.json");
  if (parsed)
    return "";
  return llvm::toString(parsed.takeError());
}

MixShape ssdShape() {
  MixShape s;
  s.batch = 2;
  s.length = 512;
  s.numHeads = s.numValueHeads = 80;
  s.stateSize = 128;
  s.valueHeadDim = 64;
  s.decay = Decay::Scalar;
  s.elementType = ElementType::BF16;
  return s;
}

Measurements oneShape() {
  Measurements m;
  m.target = "h200";
  m.shapes.push_back(
      {"ssd",
       ssdShape(),
       {{Algorithm::Chunked, 64, 2e-5}, {Algorithm::Quadratic, 0, 5e-5}}});
  return m;
}

std::string textOf(const Measurements &m) {
  std::string out;
  llvm::raw_string_ostream os(out);
  os << toJSON(m);
  return out;
}

TEST(Measurements, RoundTripsThroughJSON) {
  Measurements written = oneShape();
  llvm::Expected<Measurements> read = parseMeasurements(textOf(written), "m");
  ASSERT_TRUE(static_cast<bool>(read)) << llvm::toString(read.takeError());
  ASSERT_EQ(read->shapes.size(), 1u);
  EXPECT_EQ(read->target, "h200");
  EXPECT_TRUE(read->shapes[0].shape == ssdShape());
  EXPECT_NE(read->find(ssdShape()), nullptr);
  MixShape other = ssdShape();
  other.batch = 3;
  EXPECT_EQ(read->find(other), nullptr);
  const MeasuredCandidate *fastest = read->shapes[0].fastest();
  ASSERT_NE(fastest, nullptr);
  EXPECT_EQ(fastest->algorithm, Algorithm::Chunked);
  EXPECT_EQ(fastest->chunkSize, 64);
  EXPECT_EQ(read->shapes[0].find(Algorithm::Recurrent, 0), nullptr);
}

/// The file of oneShape() as JSON, edited by `edit`, and the error reading
/// it gives.
std::string errorAfter(llvm::function_ref<void(llvm::json::Object &)> edit) {
  llvm::json::Value value = toJSON(oneShape());
  edit(*value.getAsObject());
  std::string out;
  llvm::raw_string_ostream os(out);
  os << value;
  return errorOf(out);
}

llvm::json::Object &firstShape(llvm::json::Object &root) {
  return *(*root.getArray("shapes"))[0].getAsObject();
}

llvm::json::Object &firstCandidate(llvm::json::Object &root) {
  return *(*firstShape(root).getArray("seconds"))[0].getAsObject();
}

TEST(Measurements, ErrorsNameTheField) {
  EXPECT_EQ(errorAfter([](llvm::json::Object &) {}), "");
  EXPECT_NE(errorOf("{").find("m.json: malformed JSON"), std::string::npos);
  EXPECT_NE(errorAfter([](llvm::json::Object &root) {
              (*firstShape(root).getObject("shape"))["decay"] = "vector";
            })
                .find("field 'shapes[0].shape.decay' must be one of 'none', "
                      "'scalar', 'diagonal', got 'vector'"),
            std::string::npos);
  EXPECT_NE(errorAfter([](llvm::json::Object &root) {
              firstShape(root).getObject("shape")->erase("batch");
            }).find("missing required field 'shapes[0].shape.batch'"),
            std::string::npos);
  EXPECT_NE(errorAfter([](llvm::json::Object &root) {
              root["x"] = 1;
            }).find("unknown field 'x'"),
            std::string::npos);
  EXPECT_NE(errorAfter([](llvm::json::Object &root) {
              firstCandidate(root)["chunk"] = 0;
            })
                .find("field 'shapes[0].seconds[0].chunk' must be > 0 for "
                      "chunked"),
            std::string::npos);
  EXPECT_NE(errorAfter([](llvm::json::Object &root) {
              firstCandidate(root)["seconds"] = -1;
            })
                .find("field 'shapes[0].seconds[0].seconds' must be a number > "
                      "0"),
            std::string::npos);
  EXPECT_NE(errorAfter([](llvm::json::Object &root) {
              root["shapes"] = 3;
            }).find("field 'shapes' must be an array"),
            std::string::npos);
  EXPECT_NE(errorAfter([](llvm::json::Object &root) {
              (*firstShape(root).getObject("shape"))["score"] = "";
            }).find("field 'shapes[0].shape.score' must be one of 'linear', "
                    "'softmax', got ''"),
            std::string::npos);
  // The same candidate twice, the same shape twice.
  EXPECT_NE(errorAfter([](llvm::json::Object &root) {
              llvm::json::Array &seconds =
                  *firstShape(root).getArray("seconds");
              seconds.push_back(llvm::json::Value(seconds[0]));
            }).find("field 'shapes[0].seconds[2].algorithm' repeats an "
                    "earlier candidate of 'ssd'"),
            std::string::npos);
  EXPECT_NE(errorAfter([](llvm::json::Object &root) {
              llvm::json::Array &shapes = *root.getArray("shapes");
              shapes.push_back(llvm::json::Value(shapes[0]));
            }).find("field 'shapes[1].shape' repeats the shape of 'ssd'"),
            std::string::npos);
}

/// Prints what the target picked where it did not pick well.
/// `minimum`: the shapes with a choice the sweep has (the issue asks for 20
/// or more over both), so that a scoring that skipped them cannot pass.
void expectGoodPicks(const char *file, const TargetDescription &target,
                     int64_t minimum) {
  std::string path = std::string(SSM_BENCH_RESULTS_DIR) + "/" + file;
  llvm::Expected<Measurements> measurements = readMeasurements(path);
  ASSERT_TRUE(static_cast<bool>(measurements))
      << llvm::toString(measurements.takeError());
  ASSERT_GE(measurements->shapes.size(), 10u) << path;
  PickScore score = scorePicks(*measurements, target);
  ASSERT_GE(score.total, minimum) << path;
  ASSERT_EQ(score.ratios.size(), measurements->shapes.size());
  std::string misses;
  for (size_t i = 0; i < score.ratios.size(); ++i)
    if (score.ratios[i] > 1.1)
      misses += llvm::formatv(" {0} ({1:f2}x the fastest)",
                              measurements->shapes[i].name, score.ratios[i]);
  EXPECT_GE(score.good, 0.9 * score.total)
      << target.name << " on " << file << ": " << score.good << " of "
      << score.total << " within 10%; misses:" << misses;
}

TEST(Measurements, H200PicksWithinTenPercentOnTheCalibrationSweep) {
  expectGoodPicks("h200-sweep.json", getH200Target(), 22);
}

TEST(Measurements, H200PicksWithinTenPercentOnTheValidationSweep) {
  expectGoodPicks("h200-sweep-validation.json", getH200Target(), 14);
}

} // namespace
