// Implementation of the status part of the C API and of the internal status
// helpers.
#include "Status.h"

#include <new>

namespace {
// Handed out when even the status object cannot be allocated; ssm_status_free
// recognises it and leaves it alone.
ssm_status_s OutOfMemory{SSM_STATUS_INTERNAL, "out of memory"};
} // namespace

namespace ssm::runtime {

ssm_status_t outOfMemoryStatus() noexcept { return &OutOfMemory; }

ssm_status_t makeStatus(ssm_status_code_t code, std::string message) noexcept {
  if (code == SSM_STATUS_OK)
    code = SSM_STATUS_INTERNAL; // An error status must never read as OK.
  try {
    return new ssm_status_s{code, std::move(message)};
  } catch (...) {
    return &OutOfMemory;
  }
}

ssm_status_t vmakeStatus(ssm_status_code_t code, fmt::string_view format,
                         fmt::format_args args) noexcept {
  try {
    return makeStatus(code, fmt::vformat(format, args));
  } catch (const fmt::format_error &error) {
    // C++17 checks a format string against its arguments only here.
    try {
      return makeStatus(SSM_STATUS_INTERNAL,
                        fmt::format("cannot format the message \"{}\": {}",
                                    format, error.what()));
    } catch (...) {
      return &OutOfMemory;
    }
  } catch (...) {
    return &OutOfMemory;
  }
}

std::string formatShape(const int64_t *shape, size_t rank) {
  return fmt::format("[{}]", fmt::join(shape, shape + rank, ", "));
}

std::string formatNames(const std::vector<std::string> &names) {
  if (names.empty())
    return "none";
  return fmt::format("'{}'", fmt::join(names, "', '"));
}

} // namespace ssm::runtime

extern "C" {

ssm_status_code_t ssm_status_code(ssm_status_t status) {
  return status ? status->code : SSM_STATUS_OK;
}

const char *ssm_status_message(ssm_status_t status) {
  return status ? status->message.c_str() : "";
}

void ssm_status_free(ssm_status_t status) {
  if (status != &OutOfMemory)
    delete status;
}

const char *ssm_status_code_name(ssm_status_code_t code) {
  switch (code) {
  case SSM_STATUS_OK:
    return "OK";
  case SSM_STATUS_INVALID_ARGUMENT:
    return "INVALID_ARGUMENT";
  case SSM_STATUS_NOT_FOUND:
    return "NOT_FOUND";
  case SSM_STATUS_IO_ERROR:
    return "IO_ERROR";
  case SSM_STATUS_DATA_LOSS:
    return "DATA_LOSS";
  case SSM_STATUS_UNIMPLEMENTED:
    return "UNIMPLEMENTED";
  case SSM_STATUS_INCOMPATIBLE:
    return "INCOMPATIBLE";
  case SSM_STATUS_INTERNAL:
    return "INTERNAL";
  case SSM_STATUS_UNAVAILABLE:
    return "UNAVAILABLE";
  case SSM_STATUS_DEVICE_ERROR:
    return "DEVICE_ERROR";
  }
  return "UNKNOWN";
}

} // extern "C"
