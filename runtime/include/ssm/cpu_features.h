// The processor features a CPU artifact may need (the manifest's `cpu`), by
// LLVM's names: the one list ssmc records from its target machine and the
// runtime checks with CPUID before it opens a library. Plain data, no LLVM.
#ifndef SSM_CPU_FEATURES_H
#define SSM_CPU_FEATURES_H

#include <string_view>

namespace ssm::runtime {

/// `cpu.arch` of an x86-64 artifact (LLVM's triple spelling).
inline constexpr std::string_view kCpuArchX86_64 = "x86_64";

/// The x86-64 features generated code may use: the SSE, AVX, AVX-512, AVX10,
/// FMA, F16C, VNNI and BMI families and the scalar extensions LLVM selects
/// without intrinsics (popcnt, lzcnt, movbe, tbm, ...), and APX. ssmc records
/// those of its target CPU that are in this list; the runtime knows how to
/// detect each of them (CpuFeatures.cpp). Features outside the list (AES,
/// SHA, AMX, ...) are never produced from an ssm program.
// clang-format off
inline constexpr std::string_view kX86CpuFeatures[] = {
    "sse",        "sse2",        "sse3",            "ssse3",
    "sse4.1",     "sse4.2",      "sse4a",           "popcnt",
    "lzcnt",      "bmi",         "bmi2",            "tbm",
    "movbe",      "cx16",        "sahf",            "f16c",
    "fma",        "fma4",        "xop",             "avx",
    "avx2",       "avxvnni",     "avxvnniint8",     "avxvnniint16",
    "avxifma",    "avxneconvert", "avx512f",        "avx512cd",
    "avx512dq",   "avx512bw",    "avx512vl",        "avx512ifma",
    "avx512vbmi", "avx512vbmi2", "avx512vnni",      "avx512bitalg",
    "avx512vpopcntdq", "avx512bf16", "avx512fp16",  "gfni",
    "avx10.1",    "avx10.1-512", "avx10.2",         "avx10.2-512",
    "egpr",       "ndd",         "ppx",             "push2pop2",
    "ccmp",       "cf",          "nf",              "zu",
};
// clang-format on

/// Whether `feature` is one the runtime checks for an artifact of `arch`.
/// Other architectures record no features (their artifacts are checked for
/// the architecture only).
inline bool isKnownCpuFeature(std::string_view arch, std::string_view feature) {
  if (arch != kCpuArchX86_64)
    return false;
  for (std::string_view known : kX86CpuFeatures)
    if (known == feature)
      return true;
  return false;
}

} // namespace ssm::runtime

#endif // SSM_CPU_FEATURES_H
