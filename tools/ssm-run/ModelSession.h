//===- ModelSession.h - A model artifact's entry points, with states -------===//
//
// Runs the three entry points ssmc compiles from a checkpoint (prefill,
// prefill_chunk, decode; ModelImport.h) with the weights bound once from the
// checkpoint's model.safetensors (mapped, read in place where aligned) and
// the states passed from call to call: each call returns them under the
// names it takes them by, whole, except the attention caches
// (`*key_cache`, `*value_cache`), which come back as the rows the call adds
// and are appended here. Host (CPU) artifacts.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TOOLS_SSM_RUN_MODELSESSION_H
#define SSM_TOOLS_SSM_RUN_MODELSESSION_H

#include "RunSupport.h"

#include <list>
#include <map>
#include <string>
#include <vector>

namespace ssm::run {

class ModelSession {
public:
  /// Binds `weights` (every weight each entry point takes, checked once:
  /// missing, mis-typed or mis-shaped tensors are exit 2 naming them).
  ModelSession(const Module &module, const std::string &path,
               const InputSource &weights);

  /// The logits [B, L, vocab] of `ids` [B, L]: prefill from empty states on
  /// the first call after reset(), then prefill_chunk, or decode when
  /// `step`. Returns the wall time of the call in `ms`.
  HostTensor run(HostTensor ids, bool step, double *ms = nullptr);
  /// Forgets the states: the next run starts a new sequence.
  void reset() { states.clear(); }
  int64_t vocabulary() const { return vocab; }

private:
  struct Entry {
    Function function;
    /// Per input: a weight's view (or aligned copy), or empty for the ids
    /// and the states, bound per call.
    std::vector<DLTensor> bound;
    std::vector<bool> isWeight;
  };

  Module module;
  /// Weights that could not be read in place (a list: views point in).
  std::list<HostTensor> weightCopies;
  Entry prefill, chunk, decode;
  std::map<std::string, HostTensor> states;
  int64_t vocab = 0;

  Entry bind(const std::string &path, const char *name,
             const InputSource &weights);
};

/// A copy of `tensor`.
HostTensor copy(const HostTensor &tensor);
/// Positions [begin, end) of dim 1 of a [B, L, ...] tensor.
HostTensor timeSlice(const HostTensor &tensor, int64_t begin, int64_t end);
/// `first` then `second` along dim 1 of [B, L, ...] tensors.
HostTensor timeConcat(const HostTensor &first, const HostTensor &second);
/// An i64 [batch, ids.size() / batch] tensor of `ids`.
HostTensor idsTensor(const std::vector<int64_t> &ids, int64_t batch);

} // namespace ssm::run

#endif // SSM_TOOLS_SSM_RUN_MODELSESSION_H
