// The artifact manifest (manifest.json in every artifact) as C++ data, its
// strict parser and its writer: the one definition of the schema, which
// ssmc's Driver writes through formatManifest and the runtime reads through
// parseManifest. Part of ssm_runtime (plain C++, no LLVM).
#ifndef SSM_MANIFEST_H
#define SSM_MANIFEST_H

#include "ssm/runtime.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ssm::runtime {

/// The manifest format version ssmc writes and the only one this runtime
/// reads. Version 2 added `cpu` (the processor a CPU artifact needs); version
/// 1 artifacts, which were compiled for their host's full feature set without
/// saying so, are refused with a message asking to recompile them.
constexpr int64_t kManifestVersion = 2;
/// The manifest's `format`.
constexpr const char *kManifestFormat = "ssmc-artifact";

/// Dimension `dim` of input `input`.
struct InputDim {
  size_t input = 0;
  size_t dim = 0;
};

/// One argument or result of a function.
struct TensorSpec {
  std::string name;
  /// The manifest spelling ("f32", ...).
  std::string dtypeName;
  DLDataType dtype{};
  /// -1 marks a dynamic dimension.
  std::vector<int64_t> shape;
  /// Outputs only: for each dim, the input dim a dynamic dim equals (nullopt
  /// for static dims). Empty for inputs.
  std::vector<std::optional<InputDim>> dimsFrom;
  /// Outputs only: the input of the same dtype and shape whose buffer this
  /// output may be written into ("aliases"): the code reads each element of
  /// that input before it writes the same element of the output, and nothing
  /// else of it afterwards (a state updated in place).
  std::optional<size_t> aliases;
};

/// How the compiler computed one op (informational).
struct AlgorithmNote {
  std::string location;
  std::string algorithm;
  /// 0 when absent.
  int64_t chunkSize = 0;
};

/// CUDA: one extent of a launch grid, min(limit, ceil(factor · Π dims /
/// divisor)) with the dims read off the call's inputs.
struct GridExtent {
  int64_t factor = 1;
  std::vector<InputDim> dims;
  int64_t divisor = 1;
  /// 0: no limit.
  int64_t limit = 0;
};

/// CUDA: what a kernel parameter receives.
struct KernelArgument {
  enum class Kind { Input, Output, Buffer, Dim };
  Kind kind = Kind::Input;
  /// Input, output or buffer index.
  size_t index = 0;
  /// For Dim.
  InputDim dim;
};

/// CUDA: the sizes a launch runs for, a product factor · Π dims of the
/// call's input dims within [atLeast, atMost] (0: unbounded above). Kernels
/// that take different forms by a dynamic size (a projection's rows) are
/// separate launches with ranges that do not overlap; the others are
/// skipped.
struct LaunchRange {
  int64_t factor = 1;
  std::vector<InputDim> dims;
  int64_t atLeast = 0;
  int64_t atMost = 0;
};

struct Launch {
  std::string kernel;
  /// Absent: the launch always runs.
  std::optional<LaunchRange> runsWhen;
  GridExtent grid[3];
  uint32_t block[3] = {1, 1, 1};
  int64_t sharedBytes = 0;
  std::vector<KernelArgument> arguments;
};

/// CUDA: device memory a call needs between its kernels.
struct BufferSpec {
  std::string dtypeName;
  DLDataType dtype{};
  std::vector<int64_t> shape;
  std::vector<std::optional<InputDim>> dimsFrom;
};

struct FunctionSpec {
  std::string name;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  /// Groups (of at least two) of input dims that must be equal at run time.
  std::vector<std::vector<InputDim>> equalDims;
  std::vector<AlgorithmNote> algorithms;
  /// CUDA artifacts: the buffers and the kernels, in launch order.
  std::vector<BufferSpec> buffers;
  std::vector<Launch> launches;
};

/// The CUDA architectures that ssmc builds and the runtime loads: sm_90a
/// (Hopper with wgmma; its code runs on compute capability 9.0 only) and
/// sm_90 (any 9.x).
inline constexpr std::string_view kCudaArchs = "sm_90a, sm_90";
inline bool isSupportedCudaArch(std::string_view arch) {
  return arch == "sm_90a" || arch == "sm_90";
}
/// Whether code built for `arch` runs on a device of compute capability
/// major.minor.
inline bool cudaArchRunsOn(std::string_view arch, int major, int minor) {
  return arch == "sm_90a" ? major == 9 && minor == 0
                          : isSupportedCudaArch(arch) && major == 9;
}

/// What a CUDA artifact adds.
struct CudaManifest {
  /// One of kCudaArchs.
  std::string arch;
  /// The kernels' CUDA C++ (informational) and, optionally, the library
  /// built from it for the host emulator.
  std::string source;
  std::string emulationLibrary;
};

/// What a CPU artifact needs of the processor: checked before its library
/// is opened, so that code built for another processor is refused with a
/// message instead of dying on an illegal instruction.
struct CpuRequirement {
  /// LLVM's architecture name ("x86_64").
  std::string arch;
  /// The CPU it was compiled for (ssmc --cpu; "native" resolved to the
  /// host's name, e.g. "znver4"); informational, for messages.
  std::string name;
  /// The ISA features the code may use, by LLVM's names (cpu_features.h),
  /// in the writer's order; unique.
  std::vector<std::string> features;
};

struct Manifest {
  /// "cpu" or "cuda".
  std::string target;
  /// A file name inside the artifact directory.
  std::string library;
  uint32_t abiVersion = 0;
  /// "" when absent.
  std::string source;
  std::vector<FunctionSpec> functions;
  /// For target "cpu" (required there, absent for "cuda", whose emulation
  /// library is built for the baseline x86-64).
  CpuRequirement cpu;
  /// For target "cuda".
  CudaManifest cuda;
};

/// Parses and checks manifest text. Every message starts with `origin` (the
/// manifest's path) and names the offending field by its path, e.g.
/// "functions[0].inputs[1].shape[2]". Codes: DATA_LOSS for malformed text,
/// missing, unknown or ill-typed fields and inconsistent references;
/// INCOMPATIBLE for a `version` other than kManifestVersion or an
/// `abi_version` other than 1; UNIMPLEMENTED for a `target` other than "cpu"
/// and "cuda". `cpu` is only checked for its form here (an object with
/// non-empty `arch` and `name` strings and `features`, an array of unique
/// non-empty strings); whether this processor has them, and whether the
/// runtime knows their names, is checked when the library is loaded.
ssm_status_t parseManifest(std::string_view text, const std::string &origin,
                           Manifest &out);

/// `manifest` as manifest.json text (2-space indented, fields in the order
/// parseManifest documents), `version` kManifestVersion. Every TensorSpec,
/// BufferSpec and the dtype fields are written by name (dtypeName); a
/// dims_from is written for outputs and buffers with a dynamic dim.
std::string formatManifest(const Manifest &manifest);

/// The DLPack dtype of a manifest dtype name; nullopt when unknown.
std::optional<DLDataType> dtypeFromName(std::string_view name);

/// "[2, ?, 4]": a manifest shape with dynamic dims as '?'.
std::string formatSignatureShape(const std::vector<int64_t> &shape);

} // namespace ssm::runtime

#endif // SSM_MANIFEST_H
