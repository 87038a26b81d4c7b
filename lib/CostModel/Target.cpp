//===- Target.cpp - Target descriptions: detected, built in, or JSON ------===//
//
// The host is detected, the H100 and H200 are built in, and any other target
// is read from a JSON file with exactly the fields of `toJSON`.
//
//===----------------------------------------------------------------------===//

#include "ssm/CostModel/CostModel.h"

#include "FieldReader.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/TargetParser/Host.h"

#include <algorithm>
#include <sched.h>
#include <unistd.h>

using namespace llvm;
using namespace ssm::cost;

StringRef ssm::cost::toString(TargetKind kind) {
  return kind == TargetKind::Cpu ? "cpu" : "gpu";
}

StringRef ssm::cost::toString(ElementType type) {
  switch (type) {
  case ElementType::F32:
    return "f32";
  case ElementType::BF16:
    return "bf16";
  case ElementType::F16:
    return "f16";
  case ElementType::F64:
    return "f64";
  }
  llvm_unreachable("unknown element type");
}

std::optional<Algorithm> ssm::cost::parseAlgorithm(StringRef name) {
  for (Algorithm algorithm :
       {Algorithm::Quadratic, Algorithm::Recurrent, Algorithm::Chunked})
    if (name == toString(algorithm))
      return algorithm;
  return std::nullopt;
}

double PerElementType::get(ElementType type) const {
  switch (type) {
  case ElementType::F32:
    return f32;
  case ElementType::BF16:
    return bf16;
  case ElementType::F16:
    return f16;
  case ElementType::F64:
    return f32 / 2;
  }
  llvm_unreachable("unknown element type");
}

const KernelEfficiency &
TargetDescription::efficiency(Algorithm algorithm) const {
  switch (algorithm) {
  case Algorithm::Quadratic:
    return quadratic;
  case Algorithm::Recurrent:
    return recurrent;
  case Algorithm::Chunked:
    return chunked;
  }
  llvm_unreachable("unknown algorithm");
}

int64_t TargetDescription::fastMemoryBytes() const {
  if (kind == TargetKind::Gpu)
    return sharedMemoryBytes > 0 ? sharedMemoryBytes : l1Bytes;
  return l2Bytes > 0 ? l2Bytes : l1Bytes;
}

int64_t TargetDescription::lastLevelCacheBytes() const {
  if (l3Bytes > 0)
    return l3Bytes;
  return l2Bytes > 0 ? l2Bytes : l1Bytes;
}

//===----------------------------------------------------------------------===//
// Host detection
//===----------------------------------------------------------------------===//

static std::optional<std::string> readFile(const Twine &path) {
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
      MemoryBuffer::getFileAsStream(path);
  if (!buffer)
    return std::nullopt;
  return (*buffer)->getBuffer().str();
}

/// "32K", "1024K", "32M" or a plain byte count; 0 if unreadable.
static int64_t parseCacheSize(StringRef text) {
  text = text.trim();
  int64_t scale = 1;
  if (text.consume_back("K"))
    scale = 1024;
  else if (text.consume_back("M"))
    scale = 1024 * 1024;
  int64_t value = 0;
  if (text.getAsInteger(10, value))
    return 0;
  return value * scale;
}

static int64_t detectCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
    return CPU_COUNT(&set);
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? online : 1;
}

namespace {
struct CpuInfo {
  std::string vendor;
  int64_t family = 0;
  double megahertz = 0;
};
} // namespace

/// The first processor's vendor, family and clock from /proc/cpuinfo.
static CpuInfo readCpuInfo() {
  CpuInfo info;
  std::optional<std::string> text = readFile("/proc/cpuinfo");
  if (!text)
    return info;
  SmallVector<StringRef> lines;
  StringRef(*text).split(lines, '\n');
  for (StringRef line : lines) {
    auto [key, value] = line.split(':');
    key = key.trim();
    value = value.trim();
    if (key == "vendor_id" && info.vendor.empty())
      info.vendor = value.str();
    else if (key == "cpu family" && info.family == 0)
      value.getAsInteger(10, info.family);
    else if (key == "cpu MHz" && info.megahertz == 0)
      value.getAsDouble(info.megahertz);
    if (key.empty() && !info.vendor.empty())
      break; // End of the first processor's block.
  }
  return info;
}

static double detectClock(const CpuInfo &info) {
  // The maximum (boost) clock is what the FMA units run at under load; the
  // "cpu MHz" of /proc/cpuinfo is the current one (or a VM's nominal one).
  if (std::optional<std::string> text =
          readFile("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")) {
    int64_t kilohertz = 0;
    if (!StringRef(*text).trim().getAsInteger(10, kilohertz) && kilohertz > 0)
      return kilohertz * 1e3;
  }
  if (info.megahertz > 0)
    return info.megahertz * 1e6;
  return 3.0e9;
}

TargetDescription ssm::cost::detectHostTarget() {
  TargetDescription target;
  target.name = "host";
  target.kind = TargetKind::Cpu;
  target.cores = detectCores();

  StringMap<bool> features = sys::getHostCPUFeatures();
  bool avx512 = features.lookup("avx512f");
  target.vectorLanes = avx512 ? 16 : features.lookup("avx2") ? 8 : 4;

  CpuInfo info = readCpuInfo();
  target.clockHz = detectClock(info);
  // Zen 4 (AMD family 0x19) executes a 512-bit FMA as two halves on its two
  // 256-bit pipes: one 512-bit FMA per cycle; other x86 cores have two.
  bool isZen4 = info.vendor == "AuthenticAMD" && info.family == 0x19;
  double fmaPerCycle = avx512 && isZen4 ? 1 : 2;
  double peak =
      target.cores * fmaPerCycle * target.vectorLanes * 2 * target.clockHz;
  // Kernels compute in f32 whatever the storage type.
  target.matrixFlops = {peak, peak, peak};
  target.vectorFlops = {peak, peak, peak};
  // A polynomial exp (range reduction + degree-6 polynomial + scaling) takes
  // about 12 FMA slots, i.e. 24 FLOPs of FMA-pipe time.
  target.specialOpsPerSecond = peak / 24;
  // Not detectable cheaply; ~10 GB/s per core is what a streaming copy
  // reaches on this kind of machine. Calibrate from bench/.
  target.memoryBandwidth = 10e9 * target.cores;

  for (int index = 0;; ++index) {
    std::string dir =
        formatv("/sys/devices/system/cpu/cpu0/cache/index{0}", index).str();
    std::optional<std::string> size = readFile(dir + "/size");
    if (!size)
      break;
    std::optional<std::string> level = readFile(dir + "/level");
    std::optional<std::string> type = readFile(dir + "/type");
    if (!level || !type || StringRef(*type).trim() == "Instruction")
      continue;
    int64_t bytes = parseCacheSize(*size);
    StringRef levelText = StringRef(*level).trim();
    if (levelText == "1")
      target.l1Bytes = bytes;
    else if (levelText == "2")
      target.l2Bytes = bytes;
    else if (levelText == "3")
      target.l3Bytes = bytes;
  }
  // Defaults when sysfs has no caches (containers): a typical x86 core.
  if (target.l1Bytes <= 0)
    target.l1Bytes = 32 * 1024;
  if (target.l2Bytes <= 0)
    target.l2Bytes = 1024 * 1024;

  target.unitOverlap = 0;
  // Hardware prefetching hides most streaming traffic behind the FMAs.
  target.memoryOverlap = 0.8;
  // Fitted roughly to bench/ssm-bench runs of this repo's kernels on a
  // 2-core Zen 4 VM (relative to the peak above, from the VM's nominal
  // 2.6 GHz); recalibrate against bench/ when the kernels change.
  target.quadratic = {/*matrix=*/0.75, /*vector=*/0.5, /*stepSeconds=*/2e-7};
  target.recurrent = {/*matrix=*/0.5, /*vector=*/0.75, /*stepSeconds=*/2e-9};
  target.chunked = {/*matrix=*/0.65, /*vector=*/0.5, /*stepSeconds=*/5e-7};
  return target;
}

//===----------------------------------------------------------------------===//
// Built-in GPUs
//===----------------------------------------------------------------------===//

TargetDescription ssm::cost::getH100Target() {
  TargetDescription target;
  target.name = "h100";
  target.kind = TargetKind::Gpu;
  target.cores = 132;
  target.vectorLanes = 32;
  target.clockHz = 1.83e9;
  // Dense tensor-core peaks for bf16/f16. f32 operands go to the SIMT
  // kernels (the tensor-core ones take 16-bit operands), whose products ran
  // at 2.6 TFLOP/s on the H200 (SSD f32 B1 L4096 quadratic: 262 GFLOP in
  // 101 ms, bench/gpu/results/h200-2026-12-02-f32-check.jsonl); with the
  // efficiencies below, fitted on the tensor-core kernels, that is the rate
  // that reproduces it.
  target.matrixFlops = {2.6e12, 989e12, 989e12};
  // Non-tensor f32; bf16/f16 data is computed in f32 registers.
  target.vectorFlops = {67e12, 67e12, 67e12};
  target.specialOpsPerSecond = 3.9e12;
  // Measured device copy (read + write), not the 3.35 TB/s of the spec.
  target.memoryBandwidth = 3.0e12;
  target.l1Bytes = 256 * 1024;
  target.l2Bytes = 50 * 1024 * 1024;
  target.l3Bytes = 0;
  target.sharedMemoryBytes = 228 * 1024;
  target.unitOverlap = 0.5;
  target.memoryOverlap = 0.8;
  // Fitted by `ssm-calibrate fit` to the H200 sweep of the generated CUDA
  // kernels (bench/gpu/results/h200-sweep.json: 22 shapes of SSD, decayed
  // and plain linear attention, Mamba-1 and the decode step, and 10 of
  // causal softmax attention; checked on the 14 others of
  // h200-sweep-validation.json); the H100 has the same SMs, so they carry
  // over. Refit when the kernels change. The quadratic form's matrix share
  // sits at its bound: its kernels' time is their softmax or decay work and
  // the cost of a block (itemSeconds), not their products.
  target.quadratic = {/*matrix=*/1.0, /*vector=*/0.433, /*stepSeconds=*/0,
                      /*launchSeconds=*/7.11e-6, /*itemSeconds=*/6.23e-6};
  // The recurrence has no matrix work: its matrix share is unused.
  target.recurrent = {/*matrix=*/0.4, /*vector=*/0.139,
                      /*stepSeconds=*/1.37e-8, /*launchSeconds=*/2.33e-6,
                      /*itemSeconds=*/1.32e-6};
  target.chunked = {/*matrix=*/0.331, /*vector=*/0.0608,
                    /*stepSeconds=*/7.7e-8, /*launchSeconds=*/5.61e-6,
                    /*itemSeconds=*/1.67e-6};
  return target;
}

TargetDescription ssm::cost::getH200Target() {
  // Same GH100 compute; HBM3e at 4.8 TB/s spec, of which a device copy
  // reaches 4.25 TB/s (../shared/anchors/peers_gpu.py's roofline, measured
  // in the calls of bench/gpu/results/h200-2026-12-02*).
  TargetDescription target = getH100Target();
  target.name = "h200";
  target.memoryBandwidth = 4.25e12;
  return target;
}

//===----------------------------------------------------------------------===//
// JSON
//===----------------------------------------------------------------------===//

static json::Object toJSON(const PerElementType &rates) {
  return json::Object{
      {"f32", rates.f32}, {"bf16", rates.bf16}, {"f16", rates.f16}};
}

static json::Object toJSON(const KernelEfficiency &efficiency) {
  return json::Object{{"matrix", efficiency.matrix},
                      {"vector", efficiency.vector},
                      {"step_seconds", efficiency.stepSeconds},
                      {"launch_seconds", efficiency.launchSeconds},
                      {"item_seconds", efficiency.itemSeconds}};
}

json::Value ssm::cost::toJSON(const TargetDescription &target) {
  return json::Object{
      {"name", target.name},
      {"kind", toString(target.kind)},
      {"cores", target.cores},
      {"vector_lanes", target.vectorLanes},
      {"clock_hz", target.clockHz},
      {"matrix_flops", ::toJSON(target.matrixFlops)},
      {"vector_flops", ::toJSON(target.vectorFlops)},
      {"special_ops_per_second", target.specialOpsPerSecond},
      {"memory_bandwidth", target.memoryBandwidth},
      {"l1_bytes", target.l1Bytes},
      {"l2_bytes", target.l2Bytes},
      {"l3_bytes", target.l3Bytes},
      {"shared_memory_bytes", target.sharedMemoryBytes},
      {"unit_overlap", target.unitOverlap},
      {"memory_overlap", target.memoryOverlap},
      {"efficiency", json::Object{{"quadratic", ::toJSON(target.quadratic)},
                                  {"recurrent", ::toJSON(target.recurrent)},
                                  {"chunked", ::toJSON(target.chunked)}}}};
}

static void readRates(FieldReader &reader, PerElementType &rates) {
  reader.number("f32", rates.f32, 0, /*exclusive=*/true);
  reader.number("bf16", rates.bf16, 0, /*exclusive=*/true);
  reader.number("f16", rates.f16, 0, /*exclusive=*/true);
}

static void readEfficiency(FieldReader &reader, KernelEfficiency &efficiency) {
  reader.number("matrix", efficiency.matrix, 0, /*exclusive=*/true);
  reader.number("vector", efficiency.vector, 0, /*exclusive=*/true);
  reader.number("step_seconds", efficiency.stepSeconds, 0,
                /*exclusive=*/false);
  reader.number("launch_seconds", efficiency.launchSeconds, 0,
                /*exclusive=*/false, /*required=*/false);
  reader.number("item_seconds", efficiency.itemSeconds, 0, /*exclusive=*/false,
                /*required=*/false);
}

static void readTarget(FieldReader &reader, TargetDescription &target) {
  reader.string("name", target.name);
  std::string kind;
  reader.string("kind", kind);
  if (reader.ok() && kind != "cpu" && kind != "gpu")
    reader.fail("field 'kind' must be \"cpu\" or \"gpu\", got \"" + kind +
                "\"");
  target.kind = kind == "gpu" ? TargetKind::Gpu : TargetKind::Cpu;
  reader.integer("cores", target.cores, 1);
  reader.integer("vector_lanes", target.vectorLanes, 1);
  reader.number("clock_hz", target.clockHz, 0, /*exclusive=*/false,
                /*required=*/false);
  reader.nested("matrix_flops",
                [&](FieldReader &r) { readRates(r, target.matrixFlops); });
  reader.nested("vector_flops",
                [&](FieldReader &r) { readRates(r, target.vectorFlops); });
  reader.number("special_ops_per_second", target.specialOpsPerSecond, 0,
                /*exclusive=*/true);
  reader.number("memory_bandwidth", target.memoryBandwidth, 0,
                /*exclusive=*/true);
  reader.integer("l1_bytes", target.l1Bytes, 1);
  reader.integer("l2_bytes", target.l2Bytes, 1);
  reader.integer("l3_bytes", target.l3Bytes, 0, /*required=*/false);
  reader.integer("shared_memory_bytes", target.sharedMemoryBytes, 0,
                 /*required=*/false);
  reader.number("unit_overlap", target.unitOverlap, 0, /*exclusive=*/false);
  if (reader.ok() && target.unitOverlap > 1)
    reader.fail("field 'unit_overlap' must be in [0, 1]");
  reader.number("memory_overlap", target.memoryOverlap, 0, /*exclusive=*/false);
  if (reader.ok() && target.memoryOverlap > 1)
    reader.fail("field 'memory_overlap' must be in [0, 1]");
  reader.nested("efficiency", [&](FieldReader &r) {
    r.nested("quadratic",
             [&](FieldReader &e) { readEfficiency(e, target.quadratic); });
    r.nested("recurrent",
             [&](FieldReader &e) { readEfficiency(e, target.recurrent); });
    r.nested("chunked",
             [&](FieldReader &e) { readEfficiency(e, target.chunked); });
  });
}

Expected<TargetDescription> ssm::cost::parseTarget(StringRef text,
                                                   StringRef source) {
  TargetDescription target;
  if (Error error =
          readStrictObject(text, source, "a target",
                           [&](FieldReader &r) { readTarget(r, target); }))
    return std::move(error);
  return target;
}

Expected<TargetDescription> ssm::cost::getTarget(StringRef nameOrPath) {
  if (nameOrPath == "host")
    return detectHostTarget();
  if (nameOrPath == "h100")
    return getH100Target();
  if (nameOrPath == "h200")
    return getH200Target();
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
      MemoryBuffer::getFile(nameOrPath, /*IsText=*/true);
  if (!buffer)
    return createStringError(
        buffer.getError(),
        "unknown target '%s': not 'host', 'h100' or 'h200', and not a "
        "readable JSON file (%s)",
        nameOrPath.str().c_str(), buffer.getError().message().c_str());
  return parseTarget((*buffer)->getBuffer(), nameOrPath);
}
