//===- CostModel.h - Time estimates of ssm.mix algorithms -------*- C++ -*-===//
//
// Target descriptions and per-algorithm time estimates used to pick how an
// ssm.mix is computed; plain C++ over LLVM Support (and TargetParser for the
// host's CPU features), no MLIR.
//
//===----------------------------------------------------------------------===//
//
// How a time is estimated
// -----------------------
// Every algorithm is modelled the way the generated kernels run: one work
// item per (batch, head) (recurrent with lanes over heads: per group of
// heads; quadratic: per block of 64 query rows as well), work items spread
// over the target's cores (GPU: SMs). For one candidate:
//
//   rounds  = ceil(workItems / cores)             items one core runs
//   util    = workItems / (rounds · cores)         busy share of the cores
//   matrix  = matrixFlops / (peakMatrix[dtype] · eff.matrix · util)
//   vector  = vectorFlops / (peakVector[dtype] · eff.vector · util · lanes)
//   special = specialOps / (specialOpsPerSecond · eff.vector · util · lanes)
//   compute = max(matrix, vector, special)
//             + (1 − unitOverlap) · (the other two)
//   memory  = bytes / memoryBandwidth
//   latency = (depth · eff.stepSeconds + eff.itemSeconds) · rounds
//             + eff.launchSeconds
//   seconds = max(compute, memory)
//             + (1 − memoryOverlap) · min(compute, memory) + latency
//
// - `eff` is the target's KernelEfficiency for the algorithm: the fraction of
//   peak its generated kernels reach (calibrated against bench/ results) and
//   the fixed cost of one dependent step that throughput does not hide
//   (a token of the recurrence, a chunk of the chunked form, a key tile of
//   the quadratic form), the fixed cost of a work item (its prologue and
//   epilogue) per round, and the fixed cost of a call (GPU: its launches,
//   the ramp-up and the tail of the grid), which small shapes are made of.
// - `lanes` is the share of the vector lanes a recurrent kernel fills (its
//   lanes run over value dims P, or over heads for Mamba-1's P = 1); the
//   other kernels are assumed to fill them (N, P multiples of the lanes).
// - unitOverlap = 0 on CPUs (matrix, vector and polynomial exp all run on the
//   same FMA pipes, so their times add); on GPUs tensor cores, FMA units and
//   special-function units run side by side, partly overlapped.
// - memoryOverlap < 1 because no kernel hides all of its memory traffic
//   behind its arithmetic (or the reverse); it also lets a memory-bound op
//   (decode) prefer the candidate that computes less.
// - bytes are DRAM traffic: every input and output once; the quadratic form
//   re-reads K and V per query block when the heads in flight do not fit the
//   last-level cache; a work item whose scratch (state, packed blocks) does
//   not fit its core's fast memory (CPU L2, GPU shared memory) reads and
//   writes that scratch once per step.
// - On GPUs the quadratic form's final state is a recurrent scan after it
//   (the CUDA kernels' stateScan, which reads no queries and writes no
//   outputs): its estimate is the sum of the two.
// - Elements are computed in f32 whatever the storage type (bf16/f16 halve
//   the bytes; on GPUs their matrix work runs at the bf16/f16 tensor-core
//   rate, f32 matmuls at the TF32 rate as Triton's tl.dot does by default).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_COSTMODEL_COSTMODEL_H
#define SSM_COSTMODEL_COSTMODEL_H

#include "ssm/contract/mix.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ssm::cost {

//===----------------------------------------------------------------------===//
// Targets
//===----------------------------------------------------------------------===//

enum class TargetKind { Cpu, Gpu };

/// Element types the model knows; others are mapped to the closest one.
enum class ElementType { F32, BF16, F16, F64 };

using ::ssm::contract::Algorithm;

llvm::StringRef toString(TargetKind kind);
llvm::StringRef toString(ElementType type);
using ::ssm::contract::toString;
std::optional<Algorithm> parseAlgorithm(llvm::StringRef name);

/// A rate per element type. f64 runs at half the f32 rate.
struct PerElementType {
  double f32 = 0, bf16 = 0, f16 = 0;
  double get(ElementType type) const;
};

/// How close one algorithm's generated kernels come to the target's peaks.
struct KernelEfficiency {
  /// Fraction of peak matrix FLOP/s reached by its matmuls.
  double matrix = 0.5;
  /// Fraction of peak vector FLOP/s (and special-function throughput)
  /// reached by its elementwise and recurrence loops.
  double vector = 0.4;
  /// Seconds one dependent step costs beyond its FLOPs and bytes.
  double stepSeconds = 0;
  /// Seconds a call costs whatever its size (launches, ramp-up, tail).
  double launchSeconds = 0;
  /// Seconds a work item costs beyond its steps (its prologue and epilogue:
  /// loads before the first step, stores after the last), per round.
  double itemSeconds = 0;
};

struct TargetDescription {
  std::string name;
  TargetKind kind = TargetKind::Cpu;
  /// CPU cores (the threads OpenMP runs) or GPU SMs.
  int64_t cores = 1;
  /// f32 lanes of one vector register (GPUs: threads of a warp).
  int64_t vectorLanes = 4;
  /// Clock in Hz; informational (host peaks are derived from it).
  double clockHz = 0;
  /// Peak FLOP/s on the matrix units (CPUs: the FMA pipes, same as vector;
  /// GPUs: tensor cores) and on the vector units.
  PerElementType matrixFlops, vectorFlops;
  /// Exponentials per second (GPU special-function units; CPU polynomial).
  double specialOpsPerSecond = 0;
  /// Reachable DRAM bandwidth in bytes/s (reads + writes).
  double memoryBandwidth = 0;
  /// Caches in bytes: L1 data and L2 per core (GPUs: L1 per SM, and the
  /// device-wide L2), a shared L3 (0 if none), shared memory per SM (GPUs).
  int64_t l1Bytes = 0, l2Bytes = 0, l3Bytes = 0, sharedMemoryBytes = 0;
  /// 0: matrix, vector and special-function times add; 1: they overlap.
  double unitOverlap = 0;
  /// How much of the shorter of compute and memory time hides under the
  /// longer one (1: a perfect roofline).
  double memoryOverlap = 0.8;
  KernelEfficiency quadratic, recurrent, chunked;

  const KernelEfficiency &efficiency(Algorithm algorithm) const;
  /// Fast memory of one core where a work item keeps its scratch.
  int64_t fastMemoryBytes() const;
  /// The cache K/V of the heads in flight must fit to be read only once.
  int64_t lastLevelCacheBytes() const;
};

/// The host, detected: cores from the affinity mask, SIMD width from the
/// CPU features, caches from sysfs, clock from /proc/cpuinfo; bandwidth and
/// efficiencies are defaults to calibrate.
TargetDescription detectHostTarget();
TargetDescription getH100Target();
TargetDescription getH200Target();

/// 'host', 'h100', 'h200', or the path of a JSON target file.
llvm::Expected<TargetDescription> getTarget(llvm::StringRef nameOrPath);
/// Parses the JSON form of a target; `source` names it in errors. Every
/// field of `toJSON` is required except clock_hz, l3_bytes,
/// shared_memory_bytes and the efficiencies' launch_seconds and
/// item_seconds; an unknown field is an error.
llvm::Expected<TargetDescription> parseTarget(llvm::StringRef json,
                                              llvm::StringRef source);
llvm::json::Value toJSON(const TargetDescription &target);

//===----------------------------------------------------------------------===//
// Shapes and estimates
//===----------------------------------------------------------------------===//

using ::ssm::contract::Decay;
using ::ssm::contract::Mask;
using ::ssm::contract::Score;

/// One ssm.mix: q [B, Lq, Hq, N], k [B, Lk, Hk, N], v [B, Lk, Hv, P],
/// y [B, Lq, H, P] with H = max(Hq, Hk, Hv).
struct MixShape {
  /// `length` is Lq; `keyLength` is Lk for queries against a cache
  /// (Lq < Lk), 0 when there are as many keys as queries.
  int64_t batch = 1, length = 1, keyLength = 0;
  int64_t numHeads = 1, numQueryHeads = 1, numKeyHeads = 1, numValueHeads = 1;
  int64_t stateSize = 1, valueHeadDim = 1;
  Score score = Score::Linear;
  Mask mask = Mask::Causal;
  /// Keys a query keeps under Mask::Window.
  int64_t window = 0;
  Decay decay = Decay::None;
  bool hasInitialState = false, hasFinalState = false;
  ElementType elementType = ElementType::F32;

  int64_t elementBytes() const;
  /// Lk.
  int64_t numKeys() const { return keyLength > 0 ? keyLength : length; }
  bool isAgainstCache() const { return numKeys() != length; }
};

/// Why `algorithm` cannot compute `shape`, or nullopt (the contract's rule).
std::optional<std::string> whyIllegal(const MixShape &shape,
                                      Algorithm algorithm);

/// Kernel shapes the lowerings choose and the estimates count; one
/// definition so that the two cannot drift apart.
///
/// The lanes an extent is vectorised with: the largest power of two
/// ≤ maxLanes that divides `extent`.
int64_t lanesDividing(int64_t extent, int64_t maxLanes);

/// The register tile of the matmul micro-kernel for C[m, n] with `width`
/// lanes: up to 8 rows × 2 vectors, or 4 × 4 for narrow matrices, i.e. 16
/// accumulators, leaving registers for the B row and the broadcast A element.
struct MatmulTile {
  int64_t rows = 1, columnVectors = 1;
};
MatmulTile chooseMatmulTile(int64_t m, int64_t n, int64_t width);

/// Chunk sizes worth trying. CPU: {32, 64, 128, 256}, those ≤ max(L, 32).
/// GPU: the tensor-core kernel's 64 where it takes the shape (16-bit
/// operands, ssm/device/geometry.h), else the SIMT kernel's {16, 32, 64}.
std::vector<int64_t> candidateChunkSizes(const MixShape &shape,
                                         const TargetDescription &target);

struct Estimate {
  Algorithm algorithm = Algorithm::Quadratic;
  /// Chunk length Q; 0 unless chunked.
  int64_t chunkSize = 0;
  double matrixFlops = 0, vectorFlops = 0, specialOps = 0, bytes = 0;
  /// Dependent steps per work item, and the work items run in parallel.
  int64_t depth = 0, workItems = 0;
  /// The terms of `seconds` (see the file comment).
  double matrixSeconds = 0, vectorSeconds = 0, specialSeconds = 0;
  double computeSeconds = 0, memorySeconds = 0, latencySeconds = 0;
  double seconds = 0;
  /// Which term dominates, e.g. "vector-bound".
  std::string note;
};

/// The estimate of one (legal) candidate; chunkSize > 0 for chunked only.
Estimate estimate(const MixShape &shape, const TargetDescription &target,
                  Algorithm algorithm, int64_t chunkSize = 0);

/// Narrows the candidates of estimateAll.
struct CandidateFilter {
  /// Only this algorithm (when legal).
  std::optional<Algorithm> algorithm;
  /// Chunked only with this chunk size; 0: every candidate size.
  int64_t chunkSize = 0;
};

/// Every legal candidate (chunked once per chunk size), in the order
/// quadratic, recurrent, chunked by increasing chunk size.
std::vector<Estimate> estimateAll(const MixShape &shape,
                                  const TargetDescription &target,
                                  const CandidateFilter &filter = {});

/// The cheapest of `estimates` (the first among equals), or nullptr if
/// empty.
const Estimate *choose(llvm::ArrayRef<Estimate> estimates);
/// The cheapest legal candidate; nullopt when the filter leaves none.
std::optional<Estimate> choose(const MixShape &shape,
                               const TargetDescription &target,
                               const CandidateFilter &filter = {});

/// One line describing the target (kind, cores, peaks, bandwidth).
std::string describe(const TargetDescription &target);
struct Measurement;
/// An aligned table, one line per estimate, `chosen` marked with '*'; with
/// `measured` (a sweep's measurement of the same shape), a column of what
/// each candidate took on the device ("-" where it was not run).
void printEstimates(llvm::raw_ostream &os, llvm::ArrayRef<Estimate> estimates,
                    const Estimate *chosen,
                    const Measurement *measured = nullptr);

} // namespace ssm::cost

#endif // SSM_COSTMODEL_COSTMODEL_H
