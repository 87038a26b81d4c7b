// Implementation of the status part of the C API and of the internal status
// helpers.
#include "Status.h"

#include <cstdarg>
#include <cstdio>
#include <new>
#include <vector>

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

ssm_status_t makeStatusf(ssm_status_code_t code, const char *format,
                         ...) noexcept {
  va_list args;
  va_start(args, format);
  va_list argsCopy;
  va_copy(argsCopy, args);
  int length = std::vsnprintf(nullptr, 0, format, args);
  va_end(args);
  std::string message;
  try {
    if (length > 0) {
      std::vector<char> buffer(static_cast<size_t>(length) + 1);
      std::vsnprintf(buffer.data(), buffer.size(), format, argsCopy);
      message.assign(buffer.data(), static_cast<size_t>(length));
    }
  } catch (...) {
    va_end(argsCopy);
    return &OutOfMemory;
  }
  va_end(argsCopy);
  return makeStatus(code, std::move(message));
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
