//===- MixTest.cpp - Unit tests of the float64 reference ------------------===//
//
// Checks the reference against hand-computed cases and against an
// independent sequential recurrence (the state-space form of ssm.mix).
//
//===----------------------------------------------------------------------===//

#include "ssm/Reference/Mix.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>

using namespace ssm::reference;

namespace {

Tensor randomTensor(std::vector<int64_t> shape, std::mt19937 &rng,
                    double low = -1.0, double high = 1.0) {
  std::uniform_real_distribution<double> dist(low, high);
  Tensor t(std::move(shape));
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.data()[i] = dist(rng);
  return t;
}

MixOutputs evaluate(const MixConfig &config, const MixInputs &inputs) {
  llvm::Expected<MixOutputs> result = evaluateMix(config, inputs);
  if (!result) {
    ADD_FAILURE() << llvm::toString(result.takeError());
    return {};
  }
  return std::move(*result);
}

std::string errorOf(const MixConfig &config, const MixInputs &inputs) {
  llvm::Expected<MixOutputs> result = evaluateMix(config, inputs);
  if (result)
    return "";
  return llvm::toString(result.takeError());
}

/// The recurrent form, written independently of the reference:
/// S_t = exp(dt_t A) ∘ S_{t-1} + v_t k_tᵀ, y_t = S_t q_t.
MixOutputs recurrence(const MixInputs &in) {
  const int64_t B = in.q->dim(0), L = in.q->dim(1), N = in.q->dim(3);
  const int64_t P = in.v->dim(3);
  const int64_t H = std::max({in.q->dim(2), in.k->dim(2), in.v->dim(2)});
  const int64_t gq = H / in.q->dim(2), gk = H / in.k->dim(2),
                gv = H / in.v->dim(2);
  MixOutputs out;
  out.y = Tensor({B, L, H, P});
  out.finalState = Tensor({B, H, P, N});
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      std::vector<double> state(P * N, 0.0);
      if (in.initialState)
        for (int64_t p = 0; p < P; ++p)
          for (int64_t n = 0; n < N; ++n)
            state[p * N + n] = in.initialState->at({b, h, p, n});
      for (int64_t t = 0; t < L; ++t) {
        for (int64_t p = 0; p < P; ++p) {
          double y = 0.0;
          for (int64_t n = 0; n < N; ++n) {
            double decay = 1.0;
            if (in.dt) {
              double a = in.decayRate->rank() == 2 ? in.decayRate->at({h, n})
                                                   : in.decayRate->at({h});
              decay = std::exp(in.dt->at({b, t, h}) * a);
            }
            double &s = state[p * N + n];
            s = decay * s +
                in.v->at({b, t, h / gv, p}) * in.k->at({b, t, h / gk, n});
            y += s * in.q->at({b, t, h / gq, n});
          }
          out.y.at({b, t, h, p}) = y;
        }
      }
      for (int64_t p = 0; p < P; ++p)
        for (int64_t n = 0; n < N; ++n)
          out.finalState->at({b, h, p, n}) = state[p * N + n];
    }
  }
  return out;
}

void expectClose(const Tensor &actual, const Tensor &expected,
                 double tolerance = 1e-12) {
  ASSERT_EQ(actual.shape(), expected.shape());
  EXPECT_LE(maxAbsDifference(actual, expected),
            tolerance * std::max(1.0, maxAbs(expected)));
}

// A NaN (an output element the code never wrote) is the largest error there
// is, not one that std::max silently drops.
TEST(ReferenceTensor, MaxAbsDifferenceSeesNaN) {
  Tensor expected({3}, {1.0, 2.0, 3.0});
  Tensor actual({3}, {1.0, std::nan(""), 3.0});
  EXPECT_TRUE(std::isinf(maxAbsDifference(actual, expected)));
  EXPECT_TRUE(std::isinf(maxAbsDifference(expected, actual)));
  EXPECT_EQ(maxAbsDifference(expected, expected), 0.0);
}

TEST(ReferenceMix, LinearCausalByHand) {
  // One head, N = P = 1: y_i = q_i Σ_{j≤i} k_j v_j.
  Tensor q({1, 3, 1, 1}, {1.0, 2.0, 3.0});
  Tensor k({1, 3, 1, 1}, {1.0, 1.0, 2.0});
  Tensor v({1, 3, 1, 1}, {5.0, 7.0, 1.0});
  MixOutputs out = evaluate({}, {&q, &k, &v});
  EXPECT_DOUBLE_EQ(out.y.at({0, 0, 0, 0}), 5.0);
  EXPECT_DOUBLE_EQ(out.y.at({0, 1, 0, 0}), 2.0 * 12.0);
  EXPECT_DOUBLE_EQ(out.y.at({0, 2, 0, 0}), 3.0 * 14.0);
  ASSERT_TRUE(out.finalState.has_value());
  EXPECT_DOUBLE_EQ(out.finalState->at({0, 0, 0, 0}), 14.0);
}

TEST(ReferenceMix, ScalarDecayByHand) {
  // decay(i, j) = exp(Σ_{r=j+1..i} dt_r A): with A = log(1/2), dt = 1,
  // each step halves the past.
  Tensor q({1, 3, 1, 1}, 1.0), k({1, 3, 1, 1}, 1.0);
  Tensor v({1, 3, 1, 1}, {4.0, 8.0, 16.0});
  Tensor dt({1, 3, 1}, 1.0), a({1}, std::log(0.5));
  MixOutputs out = evaluate({}, {&q, &k, &v, &dt, &a});
  EXPECT_NEAR(out.y.at({0, 0, 0, 0}), 4.0, 1e-12);
  EXPECT_NEAR(out.y.at({0, 1, 0, 0}), 2.0 + 8.0, 1e-12);
  EXPECT_NEAR(out.y.at({0, 2, 0, 0}), 1.0 + 4.0 + 16.0, 1e-12);
}

TEST(ReferenceMix, FullMaskLinearSeesTheFuture) {
  Tensor q({1, 2, 1, 1}, 1.0), k({1, 2, 1, 1}, 1.0);
  Tensor v({1, 2, 1, 1}, {1.0, 10.0});
  MixConfig config;
  config.mask = Mask::Full;
  MixOutputs out = evaluate(config, {&q, &k, &v});
  EXPECT_DOUBLE_EQ(out.y.at({0, 0, 0, 0}), 11.0);
  EXPECT_FALSE(out.finalState.has_value());
}

TEST(ReferenceMix, SoftmaxRowsAreConvexCombinations) {
  std::mt19937 rng(7);
  Tensor q = randomTensor({2, 9, 2, 4}, rng), k = randomTensor({2, 9, 2, 4}, rng);
  Tensor v({2, 9, 2, 3}, 2.5);
  MixConfig config;
  config.score = Score::Softmax;
  config.scale = 0.5;
  MixOutputs out = evaluate(config, {&q, &k, &v});
  for (double value : out.y.values())
    EXPECT_NEAR(value, 2.5, 1e-12);
}

TEST(ReferenceMix, SoftmaxByHand) {
  // Two keys with scores 0 and log 3 (scale 1): weights 1/4 and 3/4.
  Tensor q({1, 2, 1, 1}, {1.0, 1.0});
  Tensor k({1, 2, 1, 1}, {0.0, std::log(3.0)});
  Tensor v({1, 2, 1, 1}, {4.0, 8.0});
  MixConfig config;
  config.score = Score::Softmax;
  MixOutputs out = evaluate(config, {&q, &k, &v});
  EXPECT_NEAR(out.y.at({0, 0, 0, 0}), 4.0, 1e-12);
  EXPECT_NEAR(out.y.at({0, 1, 0, 0}), 0.25 * 4.0 + 0.75 * 8.0, 1e-12);
}

TEST(ReferenceMix, WindowOfOneCopiesValues) {
  std::mt19937 rng(3);
  Tensor q = randomTensor({1, 6, 1, 3}, rng), k = randomTensor({1, 6, 1, 3}, rng);
  Tensor v = randomTensor({1, 6, 1, 2}, rng);
  MixConfig config;
  config.score = Score::Softmax;
  config.scale = 1.0;
  config.mask = Mask::Window;
  config.window = 1;
  MixOutputs out = evaluate(config, {&q, &k, &v});
  expectClose(out.y, v);
}

TEST(ReferenceMix, WindowKeepsOnlyRecentKeys) {
  MixConfig config;
  config.mask = Mask::Window;
  config.window = 3;
  EXPECT_TRUE(maskKeeps(config, 5, 3));
  EXPECT_FALSE(maskKeeps(config, 5, 2));
  EXPECT_FALSE(maskKeeps(config, 2, 3));
}

TEST(ReferenceMix, ScalarDecayMatchesRecurrence) {
  std::mt19937 rng(11);
  // Mamba-2 shape: 2 groups of q/k, 4 value heads, initial state.
  Tensor q = randomTensor({2, 17, 2, 5}, rng), k = randomTensor({2, 17, 2, 5}, rng);
  Tensor v = randomTensor({2, 17, 4, 3}, rng);
  Tensor dt = randomTensor({2, 17, 4}, rng, 0.01, 0.5);
  Tensor a = randomTensor({4}, rng, -2.0, -0.1);
  Tensor s0 = randomTensor({2, 4, 3, 5}, rng);
  MixInputs inputs{&q, &k, &v, &dt, &a, &s0};
  MixOutputs out = evaluate({}, inputs);
  MixOutputs expected = recurrence(inputs);
  expectClose(out.y, expected.y);
  ASSERT_TRUE(out.finalState.has_value());
  expectClose(*out.finalState, *expected.finalState);
}

TEST(ReferenceMix, DiagonalDecayMatchesRecurrence) {
  std::mt19937 rng(12);
  // Mamba-1 shape: 6 channels as heads with P = 1, one group.
  Tensor q = randomTensor({1, 23, 1, 4}, rng), k = randomTensor({1, 23, 1, 4}, rng);
  Tensor v = randomTensor({1, 23, 6, 1}, rng);
  Tensor dt = randomTensor({1, 23, 6}, rng, 0.01, 0.5);
  Tensor a = randomTensor({6, 4}, rng, -3.0, -0.1);
  MixInputs inputs{&q, &k, &v, &dt, &a};
  MixOutputs out = evaluate({}, inputs);
  MixOutputs expected = recurrence(inputs);
  expectClose(out.y, expected.y);
  expectClose(*out.finalState, *expected.finalState);
}

TEST(ReferenceMix, NoDecayWithStateMatchesRecurrence) {
  std::mt19937 rng(13);
  Tensor q = randomTensor({1, 9, 3, 2}, rng), k = randomTensor({1, 9, 3, 2}, rng);
  Tensor v = randomTensor({1, 9, 3, 4}, rng);
  Tensor s0 = randomTensor({1, 3, 4, 2}, rng);
  MixInputs inputs{&q, &k, &v, nullptr, nullptr, &s0};
  MixOutputs out = evaluate({}, inputs);
  MixOutputs expected = recurrence(inputs);
  expectClose(out.y, expected.y);
  expectClose(*out.finalState, *expected.finalState);
}

TEST(ReferenceMix, GroupedQueryHeadsShareKeyValueHeads) {
  // GQA: 4 query heads over 2 kv heads; heads 0,1 read kv head 0.
  std::mt19937 rng(5);
  Tensor q = randomTensor({1, 5, 4, 3}, rng), k = randomTensor({1, 5, 2, 3}, rng);
  Tensor v = randomTensor({1, 5, 2, 2}, rng);
  MixConfig config;
  config.score = Score::Softmax;
  config.scale = 0.7;
  MixOutputs out = evaluate(config, {&q, &k, &v});
  ASSERT_EQ(out.y.shape(), (std::vector<int64_t>{1, 5, 4, 2}));
  // Head 3 alone: q head 3 with kv head 1.
  Tensor q3({1, 5, 1, 3}), k1({1, 5, 1, 3}), v1({1, 5, 1, 2});
  for (int64_t t = 0; t < 5; ++t) {
    for (int64_t n = 0; n < 3; ++n) {
      q3.at({0, t, 0, n}) = q.at({0, t, 3, n});
      k1.at({0, t, 0, n}) = k.at({0, t, 1, n});
    }
    for (int64_t p = 0; p < 2; ++p)
      v1.at({0, t, 0, p}) = v.at({0, t, 1, p});
  }
  MixOutputs single = evaluate(config, {&q3, &k1, &v1});
  for (int64_t t = 0; t < 5; ++t)
    for (int64_t p = 0; p < 2; ++p)
      EXPECT_NEAR(out.y.at({0, t, 3, p}), single.y.at({0, t, 0, p}), 1e-12);
}

TEST(ReferenceMix, EmptySequence) {
  Tensor q({1, 0, 1, 2}), k({1, 0, 1, 2}), v({1, 0, 1, 3});
  MixOutputs out = evaluate({}, {&q, &k, &v});
  EXPECT_EQ(out.y.numElements(), 0);
  ASSERT_TRUE(out.finalState.has_value());
  EXPECT_EQ(maxAbs(*out.finalState), 0.0);
}

/// Rows [L - count, L) of a [B, L, H, X] tensor.
Tensor lastRows(const Tensor &t, int64_t count) {
  const int64_t B = t.dim(0), L = t.dim(1), H = t.dim(2), X = t.dim(3);
  Tensor rows({B, count, H, X});
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < count; ++i)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t x = 0; x < X; ++x)
          rows.at({b, i, h, x}) = t.at({b, L - count + i, h, x});
  return rows;
}

TEST(ReferenceMix, DecodeReadsTheWholeCacheByHand) {
  // One query at position 2 of 3 keys: y = q Σ_j k_j v_j, all keys kept.
  Tensor q({1, 1, 1, 1}, {2.0});
  Tensor k({1, 3, 1, 1}, {1.0, 1.0, 2.0});
  Tensor v({1, 3, 1, 1}, {5.0, 7.0, 1.0});
  MixOutputs out = evaluate({}, {&q, &k, &v});
  ASSERT_EQ(out.y.shape(), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_DOUBLE_EQ(out.y.at({0, 0, 0, 0}), 2.0 * 14.0);
  // The cache is no state: there is no final state to report.
  EXPECT_FALSE(out.finalState.has_value());

  // A window of 2 keeps keys 1 and 2 only.
  MixConfig window;
  window.mask = Mask::Window;
  window.window = 2;
  EXPECT_DOUBLE_EQ(evaluate(window, {&q, &k, &v}).y.at({0, 0, 0, 0}),
                   2.0 * 9.0);
}

// What a KV cache relies on: queries against a cache compute the last Lq
// rows of the full Lk × Lk computation, for every mask and score.
TEST(ReferenceMix, QueriesAgainstACacheAreTheLastRowsOfTheFullComputation) {
  std::mt19937 rng(17);
  const int64_t keys = 13;
  // GQA: 4 query heads over 2 key/value heads.
  Tensor q = randomTensor({2, keys, 4, 3}, rng);
  Tensor k = randomTensor({2, keys, 2, 3}, rng);
  Tensor v = randomTensor({2, keys, 2, 5}, rng);
  std::vector<MixConfig> configs(6);
  configs[1].mask = Mask::Window;
  configs[1].window = 4;
  configs[2].mask = Mask::Full;
  for (int c = 3; c < 6; ++c) {
    configs[c] = configs[c - 3];
    configs[c].score = Score::Softmax;
    configs[c].scale = 0.6;
  }
  for (const MixConfig &config : configs) {
    MixOutputs full = evaluate(config, {&q, &k, &v});
    for (int64_t queries : {1, 5, 12, 13}) {
      SCOPED_TRACE(testing::Message()
                   << "score " << static_cast<int>(config.score) << " mask "
                   << toString(config.mask) << " Lq " << queries);
      Tensor chunk = lastRows(q, queries);
      MixOutputs cached = evaluate(config, {&chunk, &k, &v});
      expectClose(cached.y, lastRows(full.y, queries));
    }
  }
}

TEST(ReferenceMix, RejectsMoreQueriesThanKeys) {
  Tensor q({1, 5, 1, 2}), k({1, 4, 1, 2}), v({1, 4, 1, 2});
  std::string error = errorOf({}, {&q, &k, &v});
  EXPECT_NE(error.find("operand 'q' expected shape [B, Lq, Hq, N] with Lq <= Lk"),
            std::string::npos)
      << error;
}

TEST(ReferenceMix, RejectsValuesOfAnotherLengthThanKeys) {
  Tensor q({1, 1, 1, 2}), k({1, 4, 1, 2}), v({1, 3, 1, 2});
  std::string error = errorOf({}, {&q, &k, &v});
  EXPECT_NE(error.find("operand 'v' expected shape [B, Lk, Hv, P]"),
            std::string::npos)
      << error;
}

TEST(ReferenceMix, RejectsDecayOrStateAgainstACache) {
  Tensor q({1, 1, 1, 2}), k({1, 4, 1, 2}), v({1, 4, 1, 2});
  Tensor dt({1, 4, 1}), a({1}), s0({1, 1, 2, 2});
  std::string error = errorOf({}, {&q, &k, &v, &dt, &a});
  EXPECT_NE(error.find("operand 'dt'"), std::string::npos) << error;
  EXPECT_NE(error.find("got Lq = 1 and Lk = 4"), std::string::npos) << error;
  error = errorOf({}, {&q, &k, &v, nullptr, nullptr, &s0});
  EXPECT_NE(error.find("operand 'initial_state'"), std::string::npos) << error;
}

TEST(ReferenceMix, RejectsMismatchedKeyShape) {
  Tensor q({1, 4, 1, 2}), k({1, 4, 1, 3}), v({1, 4, 1, 2});
  EXPECT_NE(errorOf({}, {&q, &k, &v}).find("operand 'k'"), std::string::npos);
}

TEST(ReferenceMix, RejectsHeadsThatDoNotDivide) {
  Tensor q({1, 4, 3, 2}), k({1, 4, 2, 2}), v({1, 4, 2, 2});
  std::string error = errorOf({}, {&q, &k, &v});
  EXPECT_NE(error.find("operand 'k' has 2 heads"), std::string::npos) << error;
}

TEST(ReferenceMix, RejectsSoftmaxWithDecay) {
  Tensor q({1, 4, 1, 2}), k({1, 4, 1, 2}), v({1, 4, 1, 2});
  Tensor dt({1, 4, 1}), a({1});
  MixConfig config;
  config.score = Score::Softmax;
  EXPECT_NE(errorOf(config, {&q, &k, &v, &dt, &a}).find("softmax"),
            std::string::npos);
}

TEST(ReferenceMix, RejectsBadDecayShape) {
  Tensor q({1, 4, 2, 3}), k({1, 4, 2, 3}), v({1, 4, 2, 2});
  Tensor dt({1, 4, 2}), a({2, 2});
  EXPECT_NE(errorOf({}, {&q, &k, &v, &dt, &a}).find("operand 'A'"),
            std::string::npos);
  EXPECT_NE(errorOf({}, {&q, &k, &v, &dt, nullptr}).find("both 'dt' and 'A'"),
            std::string::npos);
}

TEST(ReferenceMix, RejectsStateWithoutCausalMask) {
  Tensor q({1, 4, 1, 2}), k({1, 4, 1, 2}), v({1, 4, 1, 2});
  Tensor s0({1, 1, 2, 2});
  MixConfig config;
  config.mask = Mask::Full;
  EXPECT_NE(errorOf(config, {&q, &k, &v, nullptr, nullptr, &s0})
                .find("initial_state"),
            std::string::npos);
}

TEST(ReferenceGlue, SoftplusAndSilu) {
  EXPECT_NEAR(softplus(0.0), std::log(2.0), 1e-15);
  EXPECT_NEAR(softplus(-50.0), std::exp(-50.0), 1e-30);
  EXPECT_DOUBLE_EQ(softplus(1000.0), 1000.0);
  EXPECT_NEAR(silu(1.0), 1.0 / (1.0 + std::exp(-1.0)), 1e-15);
  EXPECT_DOUBLE_EQ(silu(0.0), 0.0);
}

TEST(ReferenceGlue, DiscretizeSkipAndGate) {
  Tensor dt({1, 1, 2}, {0.0, 1.0}), bias({2}, {1.0, -1.0});
  llvm::Expected<Tensor> step = discretizeStep(dt, bias, true);
  ASSERT_TRUE(bool(step));
  EXPECT_NEAR(step->at({0, 0, 0}), softplus(1.0), 1e-15);
  EXPECT_NEAR(step->at({0, 0, 1}), softplus(0.0), 1e-15);

  Tensor x({1, 1, 2, 2}, {1.0, 2.0, 3.0, 4.0}), skip({2}, {10.0, 100.0});
  llvm::Expected<Tensor> y = addSkip(Tensor({1, 1, 2, 2}), x, skip);
  ASSERT_TRUE(bool(y));
  EXPECT_EQ(y->values(), (std::vector<double>{10.0, 20.0, 300.0, 400.0}));

  Tensor scaled = *scaleByStep(x, Tensor({1, 1, 2}, {2.0, 0.5}));
  EXPECT_EQ(scaled.values(), (std::vector<double>{2.0, 4.0, 1.5, 2.0}));

  llvm::Expected<Tensor> badSkip = addSkip(x, x, Tensor({3}));
  EXPECT_FALSE(bool(badSkip));
  llvm::consumeError(badSkip.takeError());
}

TEST(ReferenceTensor, TransposeAndReshape) {
  Tensor t({2, 3}, {0, 1, 2, 3, 4, 5});
  Tensor tt = t.transposed({1, 0});
  EXPECT_EQ(tt.shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(tt.values(), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  Tensor u({2, 3, 4});
  for (int64_t i = 0; i < u.numElements(); ++i)
    u.data()[i] = i;
  Tensor ut = u.transposed({2, 0, 1});
  EXPECT_EQ(ut.at({3, 1, 2}), u.at({1, 2, 3}));
  EXPECT_EQ(t.reshaped({3, 2}).at({2, 1}), 5.0);
}

} // namespace
