// Internal definition of ssm_status_t and helpers that build statuses with
// formatted messages.
#ifndef SSM_RUNTIME_SRC_STATUS_H
#define SSM_RUNTIME_SRC_STATUS_H

#include "ssm/runtime.h"

#include <exception>
#include <new>
#include <string>

// The object behind a non-NULL ssm_status_t.
struct ssm_status_s {
  ssm_status_code_t code;
  std::string message;
};

namespace ssm::runtime {

/// Returns a new status, or a static out-of-memory status when allocation
/// fails, so that building an error never throws across the C API.
ssm_status_t makeStatus(ssm_status_code_t code, std::string message) noexcept;

/// Like makeStatus, with a printf-style message.
ssm_status_t makeStatusf(ssm_status_code_t code, const char *format,
                         ...) noexcept __attribute__((format(printf, 2, 3)));

/// The status returned when an allocation failed; never freed.
ssm_status_t outOfMemoryStatus() noexcept;

/// Runs `body` so that no exception crosses the C boundary.
template <typename Body>
ssm_status_t guarded(const char *where, Body &&body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return outOfMemoryStatus();
  } catch (const std::exception &error) {
    return makeStatusf(SSM_STATUS_INTERNAL, "%s: %s", where, error.what());
  } catch (...) {
    return makeStatusf(SSM_STATUS_INTERNAL, "%s: unknown exception", where);
  }
}

/// INVALID_ARGUMENT: `argument` of `function` is NULL.
inline ssm_status_t nullArgument(const char *function, const char *argument) {
  return makeStatusf(SSM_STATUS_INVALID_ARGUMENT, "%s: %s is NULL", function,
                     argument);
}

} // namespace ssm::runtime

#endif // SSM_RUNTIME_SRC_STATUS_H
