//===- ssm/contract/model.h - What a model artifact's functions are ------===//
//
// The names ssmc's model importer gives a model artifact's entry points and
// tensors, and what they mean, read by the runtime's model API: one place
// for the convention both sides follow (plain C++, no LLVM).
//
//   prefill(input_ids [B, L] i64, weights...) -> (logits [B, L, V], states...)
//   prefill_chunk(input_ids, weights..., states...) -> (logits, states...)
//   decode(input_ids [B, 1], weights..., states...) -> (logits, states...)
//   prefill_last(input_ids [B, L], weights...) -> (logits [B, 1, V], states...)
//   next_ids(logits [B, L, V] f32) -> (next_ids [B, L] i64)
//
// next_ids is greedy decoding's pick: each position's argmax, the first of
// equal largest logits (NaN never the largest; 0 where none is above -inf),
// so that generation on a device copies the ids back, not the logits.
// Weights are inputs named as in the checkpoint's model.safetensors. The
// states come back under the names they are taken by (prefill returns them,
// the others take and return them): whole, except the attention caches,
// which a call takes whole ([B, Lc, ...]) and returns as the rows it adds
// ([B, L, ...]), for the caller to append.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_CONTRACT_MODEL_H
#define SSM_CONTRACT_MODEL_H

#include <string_view>

namespace ssm::contract {

inline constexpr const char *kPrefillFunction = "prefill";
inline constexpr const char *kPrefillChunkFunction = "prefill_chunk";
inline constexpr const char *kDecodeFunction = "decode";
/// prefill with the last position's logits only (for generation).
inline constexpr const char *kPrefillLastFunction = "prefill_last";
/// Each position's argmax (greedy decoding).
inline constexpr const char *kNextIdsFunction = "next_ids";
inline constexpr const char *kInputIds = "input_ids";
inline constexpr const char *kLogits = "logits";
inline constexpr const char *kNextIds = "next_ids";

/// The state names' endings, after the mixer's weight prefix.
inline constexpr const char *kConvState = "conv_state";
inline constexpr const char *kSsmState = "ssm_state";
inline constexpr const char *kKeyCache = "key_cache";
inline constexpr const char *kValueCache = "value_cache";

/// Whether a call returns state `name` as rows to append to it (the
/// attention caches) rather than whole.
inline bool isAppendedState(std::string_view name) {
  auto endsWith = [&](std::string_view suffix) {
    return name.size() >= suffix.size() &&
           name.substr(name.size() - suffix.size()) == suffix;
  };
  return endsWith(kKeyCache) || endsWith(kValueCache);
}

} // namespace ssm::contract

#endif // SSM_CONTRACT_MODEL_H
