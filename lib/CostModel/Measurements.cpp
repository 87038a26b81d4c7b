//===- Measurements.cpp - Measured times of ssm.mix candidates ------------===//

#include "ssm/CostModel/Measurements.h"

#include "FieldReader.h"

#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <tuple>

using namespace llvm;
using namespace ssm::cost;

const MeasuredCandidate *Measurement::fastest() const {
  const MeasuredCandidate *best = nullptr;
  for (const MeasuredCandidate &candidate : candidates)
    if (!best || candidate.seconds < best->seconds)
      best = &candidate;
  return best;
}

const MeasuredCandidate *Measurement::find(Algorithm algorithm,
                                           int64_t chunkSize) const {
  for (const MeasuredCandidate &candidate : candidates)
    if (candidate.algorithm == algorithm && candidate.chunkSize == chunkSize)
      return &candidate;
  return nullptr;
}

static auto fieldsOf(const MixShape &s) {
  return std::tie(s.batch, s.length, s.keyLength, s.numHeads, s.numQueryHeads,
                  s.numKeyHeads, s.numValueHeads, s.stateSize, s.valueHeadDim,
                  s.score, s.mask, s.window, s.decay, s.hasInitialState,
                  s.hasFinalState, s.elementType);
}

bool ssm::cost::operator==(const MixShape &a, const MixShape &b) {
  return fieldsOf(a) == fieldsOf(b);
}

const Measurement *Measurements::find(const MixShape &shape) const {
  for (const Measurement &measurement : shapes)
    if (measurement.shape == shape)
      return &measurement;
  return nullptr;
}

//===----------------------------------------------------------------------===//
// JSON
//===----------------------------------------------------------------------===//

json::Value ssm::cost::toJSON(const MixShape &s) {
  return json::Object{{"batch", s.batch},
                      {"length", s.length},
                      {"key_length", s.keyLength},
                      {"heads", s.numHeads},
                      {"query_heads", s.numQueryHeads},
                      {"key_heads", s.numKeyHeads},
                      {"value_heads", s.numValueHeads},
                      {"state_size", s.stateSize},
                      {"value_head_dim", s.valueHeadDim},
                      {"score", ::ssm::contract::toString(s.score)},
                      {"mask", ::ssm::contract::toString(s.mask)},
                      {"window", s.window},
                      {"decay", ::ssm::contract::toString(s.decay)},
                      {"initial_state", s.hasInitialState},
                      {"final_state", s.hasFinalState},
                      {"element_type", toString(s.elementType)}};
}

json::Value ssm::cost::toJSON(const Measurements &measurements) {
  json::Array shapes;
  for (const Measurement &m : measurements.shapes) {
    json::Array candidates;
    for (const MeasuredCandidate &c : m.candidates)
      candidates.push_back(json::Object{{"algorithm", toString(c.algorithm)},
                                        {"chunk", c.chunkSize},
                                        {"seconds", c.seconds}});
    shapes.push_back(json::Object{{"name", m.name},
                                  {"shape", toJSON(m.shape)},
                                  {"seconds", std::move(candidates)}});
  }
  return json::Object{{"target", measurements.target},
                      {"shapes", std::move(shapes)}};
}

/// Reads `key` as the name (toString's spelling) of one of `values`,
/// naming them all in the error.
template <typename Enum>
static void readName(FieldReader &reader, StringRef key, Enum &out,
                     std::initializer_list<Enum> values) {
  std::string text;
  reader.string(key, text);
  if (!reader.ok()) // Missing, not a string, or an earlier error.
    return;
  std::string list;
  for (Enum value : values) {
    StringRef name = toString(value);
    if (text == name) {
      out = value;
      return;
    }
    list += (list.empty() ? "'" : ", '") + name.str() + "'";
  }
  reader.fail(formatv("field '{0}' must be one of {1}, got '{2}'",
                      reader.pathOf(key), list, text)
                  .str());
}

static void readShape(FieldReader &r, MixShape &s) {
  r.integer("batch", s.batch, 1);
  r.integer("length", s.length, 1);
  r.integer("key_length", s.keyLength, 0);
  r.integer("heads", s.numHeads, 1);
  r.integer("query_heads", s.numQueryHeads, 1);
  r.integer("key_heads", s.numKeyHeads, 1);
  r.integer("value_heads", s.numValueHeads, 1);
  r.integer("state_size", s.stateSize, 1);
  r.integer("value_head_dim", s.valueHeadDim, 1);
  readName(r, "score", s.score, {Score::Linear, Score::Softmax});
  readName(r, "mask", s.mask, {Mask::Causal, Mask::Full, Mask::Window});
  r.integer("window", s.window, 0);
  readName(r, "decay", s.decay, {Decay::None, Decay::Scalar, Decay::Diagonal});
  r.boolean("initial_state", s.hasInitialState);
  r.boolean("final_state", s.hasFinalState);
  readName(r, "element_type", s.elementType,
           {ElementType::F32, ElementType::BF16, ElementType::F16,
            ElementType::F64});
}

static void readMeasurementsObject(FieldReader &reader,
                                   Measurements &measurements) {
  reader.string("target", measurements.target);
  reader.objects("shapes", [&](FieldReader &r) {
    Measurement &m = measurements.shapes.emplace_back();
    r.string("name", m.name);
    r.nested("shape", [&](FieldReader &s) { readShape(s, m.shape); });
    r.objects("seconds", [&](FieldReader &c) {
      MeasuredCandidate &candidate = m.candidates.emplace_back();
      readName(
          c, "algorithm", candidate.algorithm,
          {Algorithm::Quadratic, Algorithm::Recurrent, Algorithm::Chunked});
      c.integer("chunk", candidate.chunkSize, 0);
      c.number("seconds", candidate.seconds, 0, /*exclusive=*/true);
      if ((candidate.algorithm == Algorithm::Chunked) !=
          (candidate.chunkSize > 0))
        c.fail("field '" + c.pathOf("chunk") +
               "' must be > 0 for chunked and 0 otherwise");
      for (size_t other = 0; other + 1 < m.candidates.size(); ++other)
        if (m.candidates[other].algorithm == candidate.algorithm &&
            m.candidates[other].chunkSize == candidate.chunkSize)
          c.fail(formatv("field '{0}' repeats an earlier candidate of '{1}'",
                         c.pathOf("algorithm"), m.name)
                     .str());
    });
    for (size_t other = 0; r.ok() && other + 1 < measurements.shapes.size();
         ++other)
      if (measurements.shapes[other].shape == m.shape)
        r.fail(formatv("field '{0}' repeats the shape of '{1}'",
                       r.pathOf("shape"), measurements.shapes[other].name)
                   .str());
  });
}

Expected<Measurements> ssm::cost::parseMeasurements(StringRef text,
                                                    StringRef source) {
  Measurements measurements;
  if (Error error =
          readStrictObject(text, source, "measurements", [&](FieldReader &r) {
            readMeasurementsObject(r, measurements);
          }))
    return std::move(error);
  return measurements;
}

Expected<Measurements> ssm::cost::readMeasurements(StringRef path) {
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
      MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return createStringError(buffer.getError(), "cannot read %s: %s",
                             path.str().c_str(),
                             buffer.getError().message().c_str());
  return parseMeasurements((*buffer)->getBuffer(), path);
}

//===----------------------------------------------------------------------===//
// Scoring
//===----------------------------------------------------------------------===//

PickScore ssm::cost::scorePicks(const Measurements &measurements,
                                const TargetDescription &target, double slack) {
  PickScore score;
  for (const Measurement &m : measurements.shapes) {
    // A shape with one candidate (softmax attention) calibrates rates, not
    // picks.
    const MeasuredCandidate *fastest = m.fastest();
    if (!fastest || m.candidates.size() < 2) {
      score.ratios.push_back(1);
      continue;
    }
    // The target chooses among what was measured.
    std::vector<Estimate> estimates;
    for (const Estimate &e : estimateAll(m.shape, target))
      if (m.find(e.algorithm, e.chunkSize))
        estimates.push_back(e);
    const Estimate *pick = choose(estimates);
    double ratio = pick ? m.find(pick->algorithm, pick->chunkSize)->seconds /
                              fastest->seconds
                        : std::numeric_limits<double>::infinity();
    score.ratios.push_back(ratio);
    ++score.total;
    if (ratio <= 1 + slack)
      ++score.good;
  }
  return score;
}
