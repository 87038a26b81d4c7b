//===- MixCases.cpp - ssm.mix test cases with inputs and references -------===//

#include "MixCases.h"

#include "llvm/Support/Error.h"

#include <cmath>

namespace ssm::testing {

CaseData makeCaseData(const MixCase &c, std::string &error, uint32_t seed) {
  Shapes s = shapesOf(c);
  std::mt19937 rng(seed);
  Storage st = c.storage;
  CaseData data;
  Tensor q = randomTensor(s.q, rng, -1, 1, st),
         k = randomTensor(s.k, rng, -1, 1, st),
         v = randomTensor(s.v, rng, -1, 1, st);
  data.inputValues = {q, k, v};
  Tensor dt, a, s0;
  if (c.decay != Decay::None) {
    dt = randomTensor(s.dt, rng, 0.01, 0.3, st);
    a = randomTensor(s.a, rng, -2.0, -0.2, st);
    data.inputValues.push_back(dt);
    data.inputValues.push_back(a);
  }
  if (c.initialState) {
    s0 = randomTensor(s.state, rng, -1, 1, st);
    data.inputValues.push_back(s0);
  }
  for (const Tensor &value : data.inputValues)
    data.inputs.emplace_back(value, st);

  // The glue, as the program computes it (each op rounded to the storage).
  auto rounded = [&](double value) {
    return fromStorage(toStorage(value, st));
  };
  Tensor qMixed = q, vMixed = v;
  if (c.glue) {
    for (int64_t e = 0; e < qMixed.numElements(); ++e)
      qMixed.data()[e] = rounded(q.data()[e] * 0.5);
    if (c.decay != Decay::None) {
      int64_t p = c.valueDim;
      for (int64_t e = 0; e < vMixed.numElements(); ++e)
        vMixed.data()[e] = rounded(v.data()[e] * dt.data()[e / p]);
    }
  }
  ::ssm::reference::MixInputs reference{&qMixed, &k, &vMixed};
  if (c.decay != Decay::None) {
    reference.dt = &dt;
    reference.decayRate = &a;
  }
  if (c.initialState)
    reference.initialState = &s0;
  ::ssm::reference::MixConfig config;
  config.score = c.score;
  config.scale = 1.0 / std::sqrt(double(c.stateSize));
  config.mask = c.mask;
  config.window = c.window;
  llvm::Expected<::ssm::reference::MixOutputs> expected =
      ::ssm::reference::evaluateMix(config, reference);
  if (!expected) {
    error = llvm::toString(expected.takeError());
    return data;
  }
  if (c.glue) {
    // y' = y rounded to its storage, plus v.
    Tensor &y = expected->y;
    for (int64_t e = 0; e < y.numElements(); ++e)
      y.data()[e] = rounded(rounded(y.data()[e]) + v.data()[e]);
  }
  data.expected.push_back(expected->y);
  if (c.finalState)
    data.expected.push_back(*expected->finalState);
  return data;
}

std::vector<MixCase> standardCases() {
  using ::ssm::reference::Mask;
  using ::ssm::reference::Score;
  return {
        // name, B, L, Hq, Hk, Hv, N, P, score, mask, window, decay, s0, sT, dyn
        // Shapes the GPU's tensor-core kernels take (16-bit, head dims
        // multiples of 16, value dims of 64 for chunked), and the state
        // layouts its decode step reads 16 bytes at a time.
        MixCase{"bf16_ssd_tensor_cores", 2, 150, 1, 1, 4, 32, 64, Score::Linear,
                Mask::Causal, 0, Decay::Scalar, true, true, false,
                Storage::BF16},
        // Long enough for the h200 planner to split the sequence into 8
        // segments of 2 chunks on the tensor-core kernel: a partial last
        // chunk, two empty segments, the initial state folded into the
        // first segment's, the final state from the last (empty) one.
        MixCase{"bf16_ssd_segments_state", 1, 600, 1, 1, 2, 32, 64,
                Score::Linear, Mask::Causal, 0, Decay::Scalar, true, true,
                false, Storage::BF16},
        MixCase{"bf16_gla_state_128", 1, 100, 2, 2, 2, 128, 128, Score::Linear,
                Mask::Causal, 0, Decay::Scalar, false, true, false,
                Storage::BF16},
        MixCase{"f16_softmax_gqa_tensor_cores", 1, 100, 4, 2, 2, 64, 64,
                Score::Softmax, Mask::Causal, 0, Decay::None, false, false,
                false, Storage::F16},
        MixCase{"bf16_softmax_window_tensor_cores", 1, 150, 2, 2, 2, 32, 32,
                Score::Softmax, Mask::Window, 50, Decay::None, false, false,
                false, Storage::BF16},
        MixCase{"bf16_softmax_full_128", 1, 90, 1, 1, 1, 128, 128,
                Score::Softmax, Mask::Full, 0, Decay::None, false, false,
                false, Storage::BF16},
        // The wgmma kernel (state size 128): two query blocks of 128 rows,
        // key tiles of 128 with a partial last one, groups of query heads,
        // a value dim of 64, glue on q and y (through the row accessors);
        // and a linear window.
        MixCase{"bf16_softmax_wgmma_gqa_glue", 2, 300, 4, 2, 4, 128, 64,
                Score::Softmax, Mask::Causal, 0, Decay::None, false, false,
                false, Storage::BF16, true},
        MixCase{"f16_linear_window_wgmma", 1, 260, 2, 2, 2, 128, 128,
                Score::Linear, Mask::Window, 100, Decay::None, false, false,
                false, Storage::F16},
        MixCase{"bf16_linear_window_decay_tensor_cores", 1, 120, 2, 2, 2, 32,
                32, Score::Linear, Mask::Window, 40, Decay::Scalar, false,
                false, false, Storage::BF16},
        MixCase{"bf16_mamba1_staged", 2, 50, 1, 1, 256, 16, 1, Score::Linear,
                Mask::Causal, 0, Decay::Diagonal, false, true, false,
                Storage::BF16},
        MixCase{"decode_state_vectors", 3, 1, 1, 1, 4, 128, 64, Score::Linear,
                Mask::Causal, 0, Decay::Scalar, true, true},
        // Glue fused into the tensor-core kernels' loads and stores.
        MixCase{"bf16_ssd_glue_tensor_cores", 1, 150, 1, 1, 2, 64, 64,
                Score::Linear, Mask::Causal, 0, Decay::Scalar, true, true,
                false, Storage::BF16, true},
        MixCase{"bf16_softmax_glue_tensor_cores", 1, 140, 2, 1, 2, 64, 64,
                Score::Softmax, Mask::Causal, 0, Decay::None, false, false,
                false, Storage::BF16, true},
        MixCase{"f32_ssd_glue", 2, 70, 1, 1, 3, 16, 8, Score::Linear,
                Mask::Causal, 0, Decay::Scalar, true, true, false,
                Storage::F32, true},
        MixCase{"bf16_mamba1_glue", 1, 60, 1, 1, 256, 16, 1, Score::Linear,
                Mask::Causal, 0, Decay::Diagonal, false, true, false,
                Storage::BF16, true},
        MixCase{"ssd_groups_state", 2, 45, 2, 2, 6, 12, 24, Score::Linear,
                Mask::Causal, 0, Decay::Scalar, true, true},
        MixCase{"length_one_decode", 3, 1, 1, 1, 4, 16, 8, Score::Linear,
                Mask::Causal, 0, Decay::Scalar, true, true},
        MixCase{"mamba1_diagonal", 2, 37, 1, 1, 40, 8, 1, Score::Linear,
                Mask::Causal, 0, Decay::Diagonal, false, true},
        MixCase{"diagonal_value_dim", 1, 19, 2, 2, 4, 4, 3, Score::Linear,
                Mask::Causal, 0, Decay::Diagonal, true, true},
        MixCase{"linear_no_decay_odd", 1, 70, 3, 3, 3, 5, 7, Score::Linear,
                Mask::Causal, 0, Decay::None, false, true},
        MixCase{"linear_window", 1, 50, 2, 2, 2, 8, 8, Score::Linear,
                Mask::Window, 7, Decay::None, false, false},
        MixCase{"linear_window_decay", 1, 50, 2, 2, 2, 8, 8, Score::Linear,
                Mask::Window, 9, Decay::Scalar, false, false},
        MixCase{"linear_full", 2, 33, 1, 1, 2, 8, 16, Score::Linear, Mask::Full,
                0, Decay::None, false, false},
        MixCase{"softmax_gqa", 2, 65, 8, 2, 2, 16, 16, Score::Softmax,
                Mask::Causal, 0, Decay::None, false, false},
        MixCase{"softmax_window", 1, 130, 4, 4, 4, 8, 24, Score::Softmax,
                Mask::Window, 20, Decay::None, false, false},
        MixCase{"softmax_full", 1, 47, 2, 1, 1, 32, 32, Score::Softmax,
                Mask::Full, 0, Decay::None, false, false},
        MixCase{"softmax_length_one", 2, 1, 2, 2, 2, 16, 16, Score::Softmax,
                Mask::Causal, 0, Decay::None, false, false},
        MixCase{"dynamic_sizes", 2, 29, 1, 1, 2, 16, 16, Score::Linear,
                Mask::Causal, 0, Decay::Scalar, true, true, true},
        MixCase{"more_key_heads", 1, 21, 1, 4, 4, 8, 8, Score::Linear,
                Mask::Causal, 0, Decay::Scalar, false, true},
        // Thousands of tokens of decay: the quadratic form's cumulative
        // log-decays must not lose precision far from the sequence start.
        MixCase{"long_decay", 1, 3000, 1, 1, 8, 8, 8, Score::Linear,
                Mask::Causal, 0, Decay::Scalar, true, true},
        MixCase{"long_diagonal_decay", 1, 1500, 1, 1, 3, 4, 1, Score::Linear,
                Mask::Causal, 0, Decay::Diagonal, false, true},
        // 16-bit storage, computed in f32: GQA softmax, SSD with a state.
        MixCase{"bf16_softmax_gqa", 2, 70, 4, 2, 2, 32, 16, Score::Softmax,
                Mask::Causal, 0, Decay::None, false, false, false,
                Storage::BF16},
        MixCase{"bf16_ssd_state", 1, 77, 1, 1, 4, 16, 8, Score::Linear,
                Mask::Causal, 0, Decay::Scalar, true, true, true,
                Storage::BF16},
        MixCase{"f16_mamba1", 1, 40, 1, 1, 12, 4, 1, Score::Linear,
                Mask::Causal, 0, Decay::Diagonal, false, true, false,
                Storage::F16},
        MixCase{"f16_linear_window", 1, 45, 2, 2, 2, 8, 8, Score::Linear,
                Mask::Window, 6, Decay::None, false, false, false,
                Storage::F16},
        // No tokens: y is empty and the final state is the initial one.
        MixCase{"empty_sequence_state", 2, 0, 1, 1, 2, 8, 4, Score::Linear,
                Mask::Causal, 0, Decay::Scalar, true, true, true},
        MixCase{"empty_sequence_zero_state", 1, 0, 2, 2, 2, 4, 8, Score::Linear,
                Mask::Causal, 0, Decay::None, false, true, true},
        // Queries against a cache (Lq < Lk): decode is one query, chunked
        // prefill a block of queries after the cached keys; GQA, windows,
        // full masks, both scores, query blocks and key tiles that the
        // offset does not align, 16-bit storage, dynamic Lq and Lk.
        againstCache(MixCase{"cache_decode_softmax_gqa", 2, 1, 8, 2, 2, 16, 16,
                             Score::Softmax, Mask::Causal},
                     37),
        againstCache(MixCase{"cache_decode_linear_window", 1, 1, 2, 2, 2, 8, 8,
                             Score::Linear, Mask::Window, 6},
                     20),
        againstCache(MixCase{"cache_chunk_softmax_window", 1, 5, 4, 4, 4, 8, 8,
                             Score::Softmax, Mask::Window, 4},
                     13),
        againstCache(MixCase{"cache_chunk_linear_gqa", 2, 5, 4, 2, 2, 8, 12,
                             Score::Linear, Mask::Causal},
                     13),
        againstCache(MixCase{"cache_chunk_softmax_full", 1, 5, 2, 1, 1, 16, 8,
                             Score::Softmax, Mask::Full},
                     13),
        againstCache(MixCase{"cache_long_softmax", 1, 70, 2, 2, 2, 16, 16,
                             Score::Softmax, Mask::Causal},
                     200),
        againstCache(MixCase{"cache_long_window", 1, 3, 1, 1, 1, 8, 8,
                             Score::Softmax, Mask::Window, 70},
                     150),
        againstCache(MixCase{"cache_bf16_decode", 1, 1, 4, 1, 1, 64, 64,
                             Score::Softmax, Mask::Causal, 0, Decay::None,
                             false, false, false, Storage::BF16},
                     100),
        againstCache(MixCase{"cache_dynamic_sizes", 2, 5, 4, 2, 2, 16, 8,
                             Score::Softmax, Mask::Causal, 0, Decay::None,
                             false, false, true},
                     13),
        againstCache(MixCase{"cache_dynamic_linear", 1, 5, 2, 2, 2, 8, 8,
                             Score::Linear, Mask::Causal, 0, Decay::None,
                             false, false, true},
                     13)};
}

} // namespace ssm::testing
