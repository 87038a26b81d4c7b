//===- Mix.cpp - Float64 reference evaluator of ssm.mix -------------------===//
//
// Evaluates ssm.mix from its definition: for each batch and output head,
// build M = mask ∘ score(Q Kᵀ) ∘ decay as an Lq×Lk matrix and apply it to V.
// Deliberately simple (O(Lq·Lk·N) per head): it is the oracle.
//
//===----------------------------------------------------------------------===//

#include "ssm/Reference/Mix.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace ssm::reference;
using llvm::createStringError;
using llvm::Expected;
using llvm::formatv;

bool ssm::reference::maskKeeps(const MixConfig &config, int64_t i, int64_t j) {
  switch (config.mask) {
  case Mask::Full:
    return true;
  case Mask::Causal:
    return j <= i;
  case Mask::Window:
    return j <= i && i - j < config.window;
  }
  return false;
}

namespace {
/// Sizes of one ssm.mix, checked against the op's definition.
struct MixSizes {
  /// `length` is Lq, `keyLength` Lk.
  int64_t batch, length, keyLength, numHeads, numQueryHeads, numKeyHeads,
      numValueHeads;
  int64_t stateSize, valueHeadDim;
  bool diagonalDecay = false;
};
} // namespace

static llvm::Error shapeError(const char *name, const char *expected,
                              const Tensor &actual) {
  return createStringError(
      formatv("operand '{0}' expected shape {1}, got {2}", name, expected,
              actual.shapeString())
          .str());
}

static Expected<MixSizes> checkInputs(const MixConfig &config,
                                      const MixInputs &in) {
  if (!in.q || !in.k || !in.v)
    return createStringError("operands 'q', 'k' and 'v' are required");
  if (in.q->rank() != 4)
    return shapeError("q", "[B, Lq, Hq, N]", *in.q);
  MixSizes s;
  s.batch = in.q->dim(0);
  s.length = in.q->dim(1);
  s.numQueryHeads = in.q->dim(2);
  s.stateSize = in.q->dim(3);
  if (in.k->rank() != 4 || in.k->dim(0) != s.batch ||
      in.k->dim(3) != s.stateSize)
    return shapeError("k", "[B, Lk, Hk, N] (B, N as in 'q')", *in.k);
  s.keyLength = in.k->dim(1);
  if (in.v->rank() != 4 || in.v->dim(0) != s.batch ||
      in.v->dim(1) != s.keyLength)
    return shapeError("v", "[B, Lk, Hv, P] (B as in 'q', Lk as in 'k')",
                      *in.v);
  if (s.length > s.keyLength)
    return shapeError("q", "[B, Lq, Hq, N] with Lq <= Lk (Lk as in 'k')",
                      *in.q);
  if (s.length != s.keyLength)
    if (std::optional<std::string> why = ::ssm::contract::whyNotAgainstCache(
            in.dt ? ::ssm::contract::Decay::Scalar
                  : ::ssm::contract::Decay::None,
            in.initialState != nullptr, /*hasFinalState=*/false))
      return createStringError(
          formatv("{0}, got Lq = {1} and Lk = {2}", *why, s.length,
                  s.keyLength)
              .str());
  s.numKeyHeads = in.k->dim(2);
  s.numValueHeads = in.v->dim(2);
  s.valueHeadDim = in.v->dim(3);
  s.numHeads = std::max({s.numQueryHeads, s.numKeyHeads, s.numValueHeads});
  for (auto [name, heads] : {std::pair<const char *, int64_t>{"q", s.numQueryHeads},
                             {"k", s.numKeyHeads},
                             {"v", s.numValueHeads}})
    if (heads <= 0 || s.numHeads % heads != 0)
      return createStringError(
          formatv("operand '{0}' has {1} heads, which does not divide the {2} "
                  "output heads",
                  name, heads, s.numHeads)
              .str());

  if (config.mask == Mask::Window && config.window <= 0)
    return createStringError("mask 'window' expects a positive width");
  bool isSoftmax = config.score == Score::Softmax;
  if ((in.dt == nullptr) != (in.decayRate == nullptr))
    return createStringError("a decay needs both 'dt' and 'A'");
  if (in.dt) {
    if (isSoftmax)
      return createStringError("score 'softmax' cannot be combined with a decay");
    if (config.mask == Mask::Full)
      return createStringError("a decay needs a causal or window mask");
    if (in.dt->shape() !=
        std::vector<int64_t>{s.batch, s.length, s.numHeads})
      return shapeError("dt", "[B, L, H]", *in.dt);
    const Tensor &a = *in.decayRate;
    s.diagonalDecay = a.rank() == 2;
    if (!(a.rank() == 1 && a.dim(0) == s.numHeads) &&
        !(a.rank() == 2 && a.dim(0) == s.numHeads && a.dim(1) == s.stateSize))
      return shapeError("A", "[H] or [H, N]", a);
  }
  if (in.initialState) {
    if (isSoftmax || config.mask != Mask::Causal)
      return createStringError(
          "'initial_state' needs a linear score and a causal mask");
    if (in.initialState->shape() !=
        std::vector<int64_t>{s.batch, s.numHeads, s.valueHeadDim, s.stateSize})
      return shapeError("initial_state", "[B, H, P, N]", *in.initialState);
  }
  return s;
}

Expected<MixOutputs> ssm::reference::evaluateMix(const MixConfig &config,
                                                 const MixInputs &in) {
  Expected<MixSizes> sizesOr = checkInputs(config, in);
  if (!sizesOr)
    return sizesOr.takeError();
  const MixSizes &s = *sizesOr;
  // Query i sits at position i + offset (queries against a cache); a decay
  // and a state come with Lq = Lk = L, i.e. offset 0.
  const int64_t Lq = s.length, L = s.keyLength, offset = L - Lq;
  const int64_t N = s.stateSize, P = s.valueHeadDim;
  const bool isSoftmax = config.score == Score::Softmax;
  const bool hasState =
      !isSoftmax && config.mask == Mask::Causal && offset == 0;

  Tensor y({s.batch, Lq, s.numHeads, P});
  Tensor finalState(hasState ? std::vector<int64_t>{s.batch, s.numHeads, P, N}
                             : std::vector<int64_t>{0});

  // Decay exponents are kept per state index; a scalar decay uses one.
  const int64_t numDecays = s.diagonalDecay ? N : 1;
  std::vector<double> cumulative(L * numDecays);
  std::vector<double> mixing(Lq * L);          // M[i][j]

  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.numHeads; ++h) {
      const int64_t hq = h / (s.numHeads / s.numQueryHeads);
      const int64_t hk = h / (s.numHeads / s.numKeyHeads);
      const int64_t hv = h / (s.numHeads / s.numValueHeads);
      auto q = [&](int64_t t, int64_t n) { return in.q->at({b, t, hq, n}); };
      auto k = [&](int64_t t, int64_t n) { return in.k->at({b, t, hk, n}); };
      auto v = [&](int64_t t, int64_t p) { return in.v->at({b, t, hv, p}); };

      // cumulative[t][d] = Σ_{r=0..t} dt_r · A, so that
      // decay(i, j) = exp(Σ_{r=j+1..i} dt_r · A) = exp(cumulative[i] - cumulative[j]).
      for (int64_t t = 0; t < L; ++t) {
        for (int64_t d = 0; d < numDecays; ++d) {
          double rate = 0.0;
          if (in.dt)
            rate = in.dt->at({b, t, h}) * (s.diagonalDecay
                                               ? in.decayRate->at({h, d})
                                               : in.decayRate->at({h}));
          double previous = t ? cumulative[(t - 1) * numDecays + d] : 0.0;
          cumulative[t * numDecays + d] = previous + rate;
        }
      }
      // Index -1 stands for the initial state, before step 0.
      auto decay = [&](int64_t i, int64_t j, int64_t d) {
        double until = i >= 0 ? cumulative[i * numDecays + d] : 0.0;
        double from = j >= 0 ? cumulative[j * numDecays + d] : 0.0;
        return std::exp(until - from);
      };

      // Materialise M.
      for (int64_t i = 0; i < Lq; ++i) {
        const int64_t t = i + offset;
        double rowMax = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < L; ++j) {
          double &m = mixing[i * L + j];
          m = 0.0;
          if (!maskKeeps(config, t, j))
            continue;
          if (s.diagonalDecay) {
            for (int64_t n = 0; n < N; ++n)
              m += q(i, n) * k(j, n) * decay(t, j, n);
            continue;
          }
          for (int64_t n = 0; n < N; ++n)
            m += q(i, n) * k(j, n);
          if (isSoftmax) {
            m *= config.scale;
            rowMax = std::max(rowMax, m);
          } else if (in.dt) {
            m *= decay(t, j, 0);
          }
        }
        if (!isSoftmax)
          continue;
        double rowSum = 0.0;
        for (int64_t j = 0; j < L; ++j) {
          double &m = mixing[i * L + j];
          m = maskKeeps(config, t, j) ? std::exp(m - rowMax) : 0.0;
          rowSum += m;
        }
        for (int64_t j = 0; j < L; ++j)
          mixing[i * L + j] /= rowSum;
      }

      // Y = M V, plus the initial state's contribution C_i · decay · S0
      // (offset 0 then).
      for (int64_t i = 0; i < Lq; ++i) {
        for (int64_t p = 0; p < P; ++p) {
          double sum = 0.0;
          for (int64_t j = 0; j < L; ++j)
            sum += mixing[i * L + j] * v(j, p);
          if (in.initialState)
            for (int64_t n = 0; n < N; ++n)
              sum += q(i, n) * decay(i, -1, s.diagonalDecay ? n : 0) *
                     in.initialState->at({b, h, p, n});
          y.at({b, i, h, p}) = sum;
        }
      }

      if (!hasState)
        continue;
      // S_{L-1}[p, n] = Σ_j decay(L-1, j)_n v_j[p] k_j[n] + decay(L-1, -1) S0.
      for (int64_t p = 0; p < P; ++p) {
        for (int64_t n = 0; n < N; ++n) {
          const int64_t d = s.diagonalDecay ? n : 0;
          double sum = 0.0;
          for (int64_t j = 0; j < L; ++j)
            sum += decay(L - 1, j, d) * v(j, p) * k(j, n);
          if (in.initialState)
            sum += decay(L - 1, -1, d) * in.initialState->at({b, h, p, n});
          finalState.at({b, h, p, n}) = sum;
        }
      }
    }
  }
  MixOutputs out;
  out.y = std::move(y);
  if (hasState)
    out.finalState = std::move(finalState);
  return out;
}

//===----------------------------------------------------------------------===//
// Elementwise glue
//===----------------------------------------------------------------------===//

double ssm::reference::softplus(double x) {
  // log1p(e^x) overflows for large x, where softplus(x) = x to double precision.
  return x > 30.0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

double ssm::reference::silu(double x) { return x / (1.0 + std::exp(-x)); }

Expected<Tensor> ssm::reference::discretizeStep(const Tensor &dt,
                                                const Tensor &bias,
                                                bool applySoftplus) {
  int64_t heads = dt.rank() ? dt.dim(dt.rank() - 1) : 0;
  if (bias.rank() != 1 || bias.dim(0) != heads)
    return createStringError(formatv("dt bias expected shape [{0}], got {1}",
                                     heads, bias.shapeString())
                                 .str());
  Tensor result = dt;
  for (int64_t i = 0; i < result.numElements(); ++i) {
    double value = dt.data()[i] + bias.data()[i % heads];
    result.data()[i] = applySoftplus ? softplus(value) : value;
  }
  return result;
}

Expected<Tensor> ssm::reference::scaleByStep(const Tensor &x,
                                             const Tensor &dt) {
  if (x.rank() != 4 || dt.shape() != std::vector<int64_t>(x.shape().begin(),
                                                          x.shape().end() - 1))
    return createStringError(formatv("step scaling expects x [B, L, H, P] and "
                                     "dt [B, L, H], got {0} and {1}",
                                     x.shapeString(), dt.shapeString())
                                 .str());
  Tensor result = x;
  const int64_t P = x.dim(3);
  for (int64_t i = 0; i < result.numElements(); ++i)
    result.data()[i] *= dt.data()[i / P];
  return result;
}

Expected<Tensor> ssm::reference::addSkip(const Tensor &y, const Tensor &x,
                                         const Tensor &skip) {
  if (y.shape() != x.shape() || y.rank() != 4 || skip.rank() != 1 ||
      skip.dim(0) != y.dim(2))
    return createStringError(formatv("D skip expects y, x [B, L, H, P] and "
                                     "D [H], got {0}, {1} and {2}",
                                     y.shapeString(), x.shapeString(),
                                     skip.shapeString())
                                 .str());
  Tensor result = y;
  const int64_t H = y.dim(2), P = y.dim(3);
  for (int64_t i = 0; i < result.numElements(); ++i)
    result.data()[i] += skip.data()[(i / P) % H] * x.data()[i];
  return result;
}

Expected<Tensor> ssm::reference::gateBySilu(const Tensor &y, const Tensor &z) {
  if (y.shape() != z.shape())
    return createStringError(formatv("z gating expects z of y's shape {0}, "
                                     "got {1}",
                                     y.shapeString(), z.shapeString())
                                 .str());
  Tensor result = y;
  for (int64_t i = 0; i < result.numElements(); ++i)
    result.data()[i] *= silu(z.data()[i]);
  return result;
}
