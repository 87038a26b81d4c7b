// Internal definition of ssm_status_t, the helpers that build statuses with
// messages formatted by fmt, and the pieces those messages share.
#ifndef SSM_RUNTIME_SRC_STATUS_H
#define SSM_RUNTIME_SRC_STATUS_H

#include "ssm/runtime.h"

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <string>
#include <vector>

// The object behind a non-NULL ssm_status_t.
struct ssm_status_s {
  ssm_status_code_t code;
  std::string message;
};

namespace ssm::runtime {

/// Returns a new status, or a static out-of-memory status when allocation
/// fails, so that building an error never throws across the C API. The
/// message is taken as it is.
ssm_status_t makeStatus(ssm_status_code_t code, std::string message) noexcept;

/// makeStatus with a message formatted by fmt from `format` and `args` (fmt's
/// vformat convention; the template below is what callers use).
ssm_status_t vmakeStatus(ssm_status_code_t code, fmt::string_view format,
                         fmt::format_args args) noexcept;

/// Like makeStatus, with the message formatted by fmt:
///   makeStatus(SSM_STATUS_NOT_FOUND, "{}: no tensor named '{}'", path, name)
template <typename... Args>
ssm_status_t makeStatus(ssm_status_code_t code,
                        fmt::format_string<Args...> format,
                        Args &&...args) noexcept {
  return vmakeStatus(code, format, fmt::make_format_args(args...));
}

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
    return makeStatus(SSM_STATUS_INTERNAL, "{}: {}", where, error.what());
  } catch (...) {
    return makeStatus(SSM_STATUS_INTERNAL, "{}: unknown exception", where);
  }
}

/// INVALID_ARGUMENT: `argument` of `function` is NULL.
inline ssm_status_t nullArgument(const char *function, const char *argument) {
  return makeStatus(SSM_STATUS_INVALID_ARGUMENT, "{}: {} is NULL", function,
                    argument);
}

/// A shape as messages write it: "[2, 3]".
std::string formatShape(const int64_t *shape, size_t rank);
inline std::string formatShape(const std::vector<int64_t> &shape) {
  return formatShape(shape.data(), shape.size());
}

/// Names as messages list them: "'a', 'b'", or "none".
std::string formatNames(const std::vector<std::string> &names);

} // namespace ssm::runtime

#endif // SSM_RUNTIME_SRC_STATUS_H
