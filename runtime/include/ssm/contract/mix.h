//===- mix.h - What ssm.mix is, for every part of ssmc ----------*- C++ -*-===//
//
// The kinds that describe one mixer (score, mask, decay) and the algorithms
// that compute it, with the rule of which algorithm may compute which mixer,
// in the words every tool prints. Plain C++17, header-only: the dialect's
// verifier, the cost model, the reference and the runtime include this one
// definition instead of each keeping its own copy.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_CONTRACT_MIX_H
#define SSM_CONTRACT_MIX_H

#include <optional>
#include <string>

namespace ssm::contract {

/// How the mixing matrix is formed from Q Kᵀ.
enum class Score { Linear, Softmax };
/// Which (query, key) pairs it keeps: j ≤ i, all, or j ≤ i with i − j < W.
enum class Mask { Causal, Full, Window };
/// No decay, one rate per head (A [H]), or one per head and state element
/// (A [H, N]).
enum class Decay { None, Scalar, Diagonal };
/// How a mixer is computed: the Lq×Lk matrix tile by tile, a scan carrying
/// the state, or SSD's blocks of Q positions.
enum class Algorithm { Quadratic, Recurrent, Chunked };

inline const char *toString(Algorithm algorithm) {
  switch (algorithm) {
  case Algorithm::Quadratic:
    return "quadratic";
  case Algorithm::Recurrent:
    return "recurrent";
  case Algorithm::Chunked:
    return "chunked";
  }
  return "unknown";
}

inline const char *toString(Score score) {
  return score == Score::Softmax ? "softmax" : "linear";
}

inline const char *toString(Decay decay) {
  switch (decay) {
  case Decay::None:
    return "none";
  case Decay::Scalar:
    return "scalar";
  case Decay::Diagonal:
    return "diagonal";
  }
  return "unknown";
}

inline const char *toString(Mask mask) {
  switch (mask) {
  case Mask::Causal:
    return "causal";
  case Mask::Full:
    return "full";
  case Mask::Window:
    return "window";
  }
  return "unknown";
}

/// Why `algorithm` cannot compute a mixer with this score, mask and decay,
/// or nullopt when it can. Quadratic computes every mixer; the finite-state
/// forms need a linear score, a causal mask and as many queries as keys
/// (`againstCache`: fewer queries, Lq < Lk); the chunked one, a scalar (or
/// no) decay as well.
inline std::optional<std::string> whyIllegal(Algorithm algorithm, Score score,
                                             Mask mask, Decay decay,
                                             bool againstCache) {
  if (algorithm == Algorithm::Quadratic)
    return std::nullopt;
  std::string name = toString(algorithm);
  if (score == Score::Softmax)
    return "algorithm '" + name +
           "' is illegal for score 'softmax' (no finite-state form); use "
           "'quadratic'";
  if (mask != Mask::Causal)
    return "algorithm '" + name + "' needs a causal mask, got '" +
           toString(mask) + "'; use 'quadratic'";
  if (againstCache)
    return "algorithm '" + name +
           "' needs as many queries as keys (Lq = Lk), got queries against "
           "a cache (Lq < Lk); use 'quadratic'";
  if (algorithm == Algorithm::Chunked && decay == Decay::Diagonal)
    return std::string("algorithm 'chunked' needs a scalar (or no) decay; a "
                       "diagonal decay (A [H, N]) takes 'recurrent' or "
                       "'quadratic'");
  return std::nullopt;
}

/// Why a mixer whose Lq queries are fewer than its Lk keys (queries against
/// a cache: query i sits at position i + Lk − Lq) cannot have this decay or
/// state, or nullopt when it can. A decay sums dt over the positions between
/// a query and a key, and a state is the recurrence's after the last
/// position; both need one L. For a linear score the cache is the state:
/// decode is L = 1 with an 'initial_state'.
inline std::optional<std::string> whyNotAgainstCache(Decay decay,
                                                     bool hasInitialState,
                                                     bool hasFinalState) {
  const char *why = "needs as many queries as keys (Lq = Lk); for queries "
                    "against a cache with a linear score the cache is the "
                    "state: decode is L = 1 with 'initial_state'";
  if (decay != Decay::None)
    return std::string("operand 'dt' expected shape [B, L, H] with L = Lq = "
                       "Lk: a decay ") +
           why;
  if (hasInitialState)
    return std::string("operand 'initial_state' [B, H, P, N] ") + why;
  if (hasFinalState)
    return std::string("result 'final_state' [B, H, P, N] ") + why;
  return std::nullopt;
}

} // namespace ssm::contract

#endif // SSM_CONTRACT_MIX_H
