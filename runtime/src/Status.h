// Internal definition of ssm_status_t and helpers that build statuses with
// formatted messages.
#ifndef SSM_RUNTIME_SRC_STATUS_H
#define SSM_RUNTIME_SRC_STATUS_H

#include "ssm/runtime.h"

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

} // namespace ssm::runtime

#endif // SSM_RUNTIME_SRC_STATUS_H
