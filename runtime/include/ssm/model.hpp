// C++ wrapper over ssm/model.h: RAII handles, errors as ssm::Error.
#ifndef SSM_MODEL_HPP
#define SSM_MODEL_HPP

#include "ssm/model.h"
#include "ssm/runtime.hpp"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace ssm {

/// A model artifact with its weights (ssm_model_load). Copies share it.
class Model {
public:
  Model() = default;
  static Model load(const std::string &artifactDir,
                    const std::string &weightsPath,
                    const ssm_module_options_t *options = nullptr) {
    ssm_model_t *handle = nullptr;
    check(ssm_model_load(artifactDir.c_str(), weightsPath.c_str(), options,
                         &handle));
    return Model(handle);
  }
  Model(const Model &other) : handle(other.handle) { ssm_model_retain(handle); }
  Model(Model &&other) noexcept : handle(std::exchange(other.handle, nullptr)) {}
  Model &operator=(Model other) noexcept {
    std::swap(handle, other.handle);
    return *this;
  }
  ~Model() { ssm_model_release(handle); }

  ssm_model_t *get() const { return handle; }
  int64_t vocabSize() const { return ssm_model_vocab_size(handle); }

private:
  explicit Model(ssm_model_t *handle) : handle(handle) {}
  ssm_model_t *handle = nullptr;
};

/// The states of a batch of sequences on a model (ssm_session_create).
class Session {
public:
  explicit Session(const Model &model) {
    check(ssm_session_create(model.get(), &handle));
    vocab = model.vocabSize();
  }
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;
  Session(Session &&other) noexcept
      : handle(std::exchange(other.handle, nullptr)), vocab(other.vocab) {}
  ~Session() { ssm_session_release(handle); }

  void reset() { ssm_session_reset(handle); }
  int64_t length() const { return ssm_session_length(handle); }

  /// The logits [batch, length, vocab] of `ids` [batch, length].
  std::vector<float> forward(const std::vector<int64_t> &ids, int64_t batch) {
    int64_t length = batch > 0 ? static_cast<int64_t>(ids.size()) / batch : 0;
    std::vector<float> logits(static_cast<size_t>(batch * length * vocab));
    check(ssm_session_forward(handle, ids.data(), batch, length, logits.data(),
                              logits.size()));
    return logits;
  }

  /// Greedy generation of `maxNewTokens` ids per sequence after `prompt`
  /// [batch, length]; `onStep(step, ids)` after each (return true to stop).
  std::vector<int64_t>
  generate(const std::vector<int64_t> &prompt, int64_t batch,
           int64_t maxNewTokens,
           const std::function<bool(int64_t, const int64_t *)> &onStep = {}) {
    int64_t length = batch > 0 ? static_cast<int64_t>(prompt.size()) / batch : 0;
    std::vector<int64_t> ids(static_cast<size_t>(batch * maxNewTokens));
    auto trampoline = [](void *user, int64_t step, const int64_t *chosen,
                         int64_t) -> int {
      auto *callback =
          static_cast<const std::function<bool(int64_t, const int64_t *)> *>(
              user);
      return (*callback)(step, chosen) ? 1 : 0;
    };
    check(ssm_session_generate(
        handle, prompt.data(), batch, length, maxNewTokens, ids.data(),
        onStep ? +trampoline : nullptr,
        const_cast<std::function<bool(int64_t, const int64_t *)> *>(&onStep)));
    return ids;
  }

private:
  ssm_session_t *handle = nullptr;
  int64_t vocab = 0;
};

} // namespace ssm

#endif // SSM_MODEL_HPP
