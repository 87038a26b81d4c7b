// This processor's ISA features by CPUID, as LLVM's host detection names them
// (llvm/lib/TargetParser/Host.cpp, getHostCPUFeatures), so that an artifact
// compiled with --cpu=native is accepted on the machine that compiled it.
#include "CpuFeatures.h"

#include "Status.h"

#include "ssm/cpu_features.h"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <set>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace ssm::runtime {

namespace {

#if defined(__x86_64__)
struct Registers {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

/// False when the processor has no such leaf (__get_cpuid_count checks the
/// maximum of the leaf's range).
bool cpuid(uint32_t leaf, uint32_t subleaf, Registers &out) {
  return __get_cpuid_count(leaf, subleaf, &out.eax, &out.ebx, &out.ecx,
                           &out.edx) != 0;
}

bool bit(uint32_t word, int index) { return (word >> index) & 1u; }

std::set<std::string> detectX86Features() {
  std::set<std::string> present;
  auto set = [&](const char *name, bool value) {
    if (value)
      present.insert(name);
  };
  Registers leaf1;
  if (!cpuid(1, 0, leaf1))
    return present;
  // The register state the OS saves on a context switch (XCR0): without it
  // AVX or AVX-512 instructions fault even where CPUID lists them.
  uint64_t xcr0 = 0;
  if (bit(leaf1.ecx, 27)) { // OSXSAVE
    uint32_t low = 0, high = 0;
    __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    xcr0 = (uint64_t(high) << 32) | low;
  }
  const bool avxState = (xcr0 & 0x6) == 0x6;                  // XMM, YMM
  const bool avx512State = avxState && (xcr0 & 0xe0) == 0xe0; // opmask, ZMM
  const bool apxState = bit(static_cast<uint32_t>(xcr0), 19);

  set("sse", bit(leaf1.edx, 25));
  set("sse2", bit(leaf1.edx, 26));
  set("sse3", bit(leaf1.ecx, 0));
  set("ssse3", bit(leaf1.ecx, 9));
  set("fma", bit(leaf1.ecx, 12) && avxState);
  set("cx16", bit(leaf1.ecx, 13));
  set("sse4.1", bit(leaf1.ecx, 19));
  set("sse4.2", bit(leaf1.ecx, 20));
  set("movbe", bit(leaf1.ecx, 22));
  set("popcnt", bit(leaf1.ecx, 23));
  set("avx", bit(leaf1.ecx, 28) && avxState);
  set("f16c", bit(leaf1.ecx, 29) && avxState);

  Registers extended;
  if (cpuid(0x80000001, 0, extended)) {
    set("sahf", bit(extended.ecx, 0));
    set("lzcnt", bit(extended.ecx, 5));
    set("sse4a", bit(extended.ecx, 6));
    set("xop", bit(extended.ecx, 11) && avxState);
    set("fma4", bit(extended.ecx, 16) && avxState);
    set("tbm", bit(extended.ecx, 21));
  }

  Registers leaf7;
  if (!cpuid(7, 0, leaf7))
    return present;
  set("bmi", bit(leaf7.ebx, 3));
  set("avx2", bit(leaf7.ebx, 5) && avxState);
  set("bmi2", bit(leaf7.ebx, 8));
  set("avx512f", bit(leaf7.ebx, 16) && avx512State);
  set("avx512dq", bit(leaf7.ebx, 17) && avx512State);
  set("avx512ifma", bit(leaf7.ebx, 21) && avx512State);
  set("avx512cd", bit(leaf7.ebx, 28) && avx512State);
  set("avx512bw", bit(leaf7.ebx, 30) && avx512State);
  set("avx512vl", bit(leaf7.ebx, 31) && avx512State);
  set("avx512vbmi", bit(leaf7.ecx, 1) && avx512State);
  set("avx512vbmi2", bit(leaf7.ecx, 6) && avx512State);
  set("gfni", bit(leaf7.ecx, 8));
  set("avx512vnni", bit(leaf7.ecx, 11) && avx512State);
  set("avx512bitalg", bit(leaf7.ecx, 12) && avx512State);
  set("avx512vpopcntdq", bit(leaf7.ecx, 14) && avx512State);
  set("avx512fp16", bit(leaf7.edx, 23) && avx512State);

  // Sub-leaf 1 exists when sub-leaf 0 says so in EAX.
  Registers leaf7s1;
  if (leaf7.eax < 1 || !cpuid(7, 1, leaf7s1))
    return present;
  set("avxvnni", bit(leaf7s1.eax, 4) && avxState);
  set("avx512bf16", bit(leaf7s1.eax, 5) && avx512State);
  set("avxifma", bit(leaf7s1.eax, 23) && avxState);
  set("avxvnniint8", bit(leaf7s1.edx, 4) && avxState);
  set("avxneconvert", bit(leaf7s1.edx, 5) && avxState);
  set("avxvnniint16", bit(leaf7s1.edx, 10) && avxState);
  // APX: the extended registers, and the instruction forms using them.
  const bool apx = bit(leaf7s1.edx, 21) && apxState;
  for (const char *name :
       {"egpr", "ndd", "ppx", "push2pop2", "ccmp", "cf", "nf", "zu"})
    set(name, apx);
  // AVX10: a version number in leaf 0x24, with 512-bit vectors (EBX bit 18).
  Registers leaf24;
  if (bit(leaf7s1.edx, 19) && avx512State && cpuid(0x24, 0, leaf24)) {
    uint32_t version = leaf24.ebx & 0xff;
    bool wide = bit(leaf24.ebx, 18);
    set("avx10.1", version >= 1);
    set("avx10.1-512", version >= 1 && wide);
    set("avx10.2", version >= 2);
    set("avx10.2-512", version >= 2 && wide);
  }
  return present;
}

/// The highest x86-64 microarchitecture level (psABI) of `features`, as the
/// --cpu name that compiles for it.
std::string x86Level(const std::set<std::string> &features) {
  auto all = [&](std::initializer_list<const char *> names) {
    return std::all_of(names.begin(), names.end(), [&](const char *name) {
      return features.count(name) != 0;
    });
  };
  if (!all({"cx16", "sahf", "popcnt", "sse3", "sse4.1", "sse4.2", "ssse3"}))
    return "x86-64";
  if (!all({"avx", "avx2", "bmi", "bmi2", "f16c", "fma", "lzcnt", "movbe"}))
    return "x86-64-v2";
  if (!all({"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}))
    return "x86-64-v3";
  return "x86-64-v4";
}
#endif

} // namespace

std::string_view hostCpuArch() {
#if defined(__x86_64__)
  return kCpuArchX86_64;
#elif defined(__aarch64__)
  return "aarch64";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "powerpc64le";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#else
  return "unknown";
#endif
}

const std::vector<std::string> &hostCpuFeatures() {
  static const std::vector<std::string> features = [] {
    std::vector<std::string> list;
#if defined(__x86_64__)
    std::set<std::string> present = detectX86Features();
    for (std::string_view name : kX86CpuFeatures)
      if (present.count(std::string(name)))
        list.emplace_back(name);
#endif
    return list;
  }();
  return features;
}

ssm_status_t checkCpuRequirement(const CpuRequirement &requirement,
                                 const std::string &origin) {
  std::string_view host = hostCpuArch();
  if (requirement.arch != host)
    return makeStatus(SSM_STATUS_INCOMPATIBLE,
                      "{}: the artifact was compiled for {} (CPU '{}'); this "
                      "processor is {}",
                      origin, requirement.arch, requirement.name, host);
  std::vector<std::string> unknown, missing;
  const std::vector<std::string> &present = hostCpuFeatures();
  for (const std::string &feature : requirement.features) {
    if (!isKnownCpuFeature(requirement.arch, feature))
      unknown.push_back(feature);
    else if (std::find(present.begin(), present.end(), feature) ==
             present.end())
      missing.push_back(feature);
  }
  if (!unknown.empty())
    return makeStatus(
        SSM_STATUS_INCOMPATIBLE,
        "{}: the artifact needs CPU feature{} {}, which this runtime does not "
        "know how to check; is the artifact from a newer ssmc than this "
        "runtime?",
        origin, unknown.size() > 1 ? "s" : "", fmt::join(unknown, ", "));
  if (missing.empty())
    return nullptr;
  std::string suggestion = "--cpu=native for this processor";
#if defined(__x86_64__)
  suggestion += fmt::format(
      ", or --cpu={} for every processor of its x86-64 level",
      x86Level(std::set<std::string>(present.begin(), present.end())));
#endif
  return makeStatus(SSM_STATUS_INCOMPATIBLE,
                    "{}: the artifact needs {} (compiled for CPU '{}'); {}. "
                    "Recompile it with ssmc {}",
                    origin, fmt::join(missing, ", "), requirement.name,
                    missing.size() == 1 ? "this processor lacks it"
                                        : "this processor has none of them",
                    suggestion);
}

} // namespace ssm::runtime
