// Host emulation of the CUDA execution model, for running generated kernels
// where there is no GPU (this project's CI and development machines).
//
// Compile a generated kernel source with a host C++ compiler and
// -DSSM_DEVICE_EMULATION: `__global__` functions become host functions, every
// CUDA thread of a block runs as a coroutine on its own stack, and the block's
// threads are scheduled cooperatively: a thread runs until it reaches
// __syncthreads() or a warp collective (shuffles, ldmatrix, mma), where it
// waits until every live thread of its block (or warp) has arrived. Blocks run
// one after another. Shared memory is the block's dynamic buffer.
//
// What it checks: indexing, fragment layouts of the tensor-core instructions
// (emulated from the PTX ISA's definitions), masks, and every barrier a kernel
// needs so that threads scheduled in another order see the same data (run a
// kernel with both schedules: ssm_emu_set_reverse_schedule). It does not model
// timing, memory-model races between warps that do not synchronize, or
// out-of-bounds accesses (that is compute-sanitizer's job on a real GPU).
#ifndef SSM_DEVICE_EMULATION_H
#define SSM_DEVICE_EMULATION_H

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#include <ucontext.h>

#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __grid_constant__

namespace ssm_emu {

struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
};

/// One warp's rendezvous for collectives: every lane deposits 4 words (and a
/// pointer), the last to arrive computes all lanes' results.
struct Warp {
  unsigned live = 0;
  unsigned arrived = 0;
  unsigned generation = 0;
  uint64_t in[32][8];
  uint64_t out[32][8];
};

struct Thread {
  ucontext_t context;
  Dim3 index;
  unsigned linear = 0;
  bool done = false;
};

struct Block {
  Dim3 blockIdx, blockDim, gridDim;
  std::vector<Thread> threads;
  std::vector<Warp> warps;
  std::vector<unsigned char> shared;
  ucontext_t scheduler;
  Thread *current = nullptr;
  unsigned live = 0;
  unsigned barrierArrived = 0;
  unsigned barrierGeneration = 0;
  /// Bumped whenever a thread gets past a wait; a scheduler pass without
  /// progress is a deadlock.
  uint64_t progress = 0;
  std::function<void()> body;
};

inline Block *&currentBlock() {
  static thread_local Block *block = nullptr;
  return block;
}
/// Threads run in reverse order when $SSM_EMU_REVERSE_SCHEDULE is 1: a
/// missing barrier shows up under one of the two orders.
inline bool &reverseSchedule() {
  static bool reverse = [] {
    const char *value = std::getenv("SSM_EMU_REVERSE_SCHEDULE");
    return value && value[0] == '1';
  }();
  return reverse;
}

inline Block &block() { return *currentBlock(); }
inline Thread &thread() { return *currentBlock()->current; }

[[noreturn]] inline void fatal(const char *message) {
  std::fprintf(stderr, "ssm device emulation: %s (block %u,%u,%u thread %u)\n",
               message, block().blockIdx.x, block().blockIdx.y,
               block().blockIdx.z, thread().linear);
  std::abort();
}

inline void yieldToScheduler() {
  Block &b = block();
  swapcontext(&b.current->context, &b.scheduler);
}

inline void syncthreads() {
  Block &b = block();
  unsigned generation = b.barrierGeneration;
  if (++b.barrierArrived == b.live) {
    b.barrierArrived = 0;
    ++b.barrierGeneration;
    ++b.progress;
    return;
  }
  while (b.barrierGeneration == generation)
    yieldToScheduler();
  ++b.progress;
}

inline unsigned laneId() { return thread().linear % 32; }

/// Deposits `in` (8 words) for this lane, waits for the whole warp, and
/// returns the lane's results; `compute(in, out)` runs once per collective.
template <class Compute>
inline void warpCollective(const uint64_t (&in)[8], uint64_t (&out)[8],
                           Compute compute) {
  Block &b = block();
  Warp &warp = b.warps[thread().linear / 32];
  unsigned lane = laneId();
  unsigned generation = warp.generation;
  std::memcpy(warp.in[lane], in, sizeof(in));
  if (++warp.arrived == warp.live) {
    if (warp.live != 32)
      fatal("a warp collective needs all 32 lanes of a full warp");
    compute(warp.in, warp.out);
    warp.arrived = 0;
    ++warp.generation;
  } else {
    while (warp.generation == generation)
      yieldToScheduler();
  }
  ++b.progress;
  std::memcpy(out, warp.out[lane], sizeof(out));
}

inline void threadEntry() {
  Block &b = block();
  b.body();
  Thread &t = thread();
  t.done = true;
  --b.live;
  Warp &warp = b.warps[t.linear / 32];
  --warp.live;
  ++b.progress;
  // A barrier the remaining threads wait at no longer counts this thread.
  if (b.barrierArrived > 0 && b.barrierArrived == b.live) {
    b.barrierArrived = 0;
    ++b.barrierGeneration;
  }
  swapcontext(&t.context, &b.scheduler);
}

/// Runs `body` for every thread of every block of the grid.
inline void launch(Dim3 grid, Dim3 blockDim, size_t sharedBytes,
                   std::function<void()> body) {
  unsigned count = blockDim.x * blockDim.y * blockDim.z;
  if (count == 0 || count > 1024)
    std::abort();
  constexpr size_t kStackBytes = 256 << 10;
  std::vector<std::vector<char>> stacks(count, std::vector<char>(kStackBytes));
  Block b;
  b.blockDim = blockDim;
  b.gridDim = grid;
  b.body = std::move(body);
  Block *saved = currentBlock();
  currentBlock() = &b;
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        b.blockIdx = {bx, by, bz};
        b.threads.assign(count, Thread());
        b.warps.assign((count + 31) / 32, Warp());
        // Fresh shared memory holds garbage on a GPU; make reads of
        // unwritten shared memory visible as NaN-like patterns.
        b.shared.assign(sharedBytes, 0xff);
        b.live = count;
        b.barrierArrived = 0;
        for (unsigned i = 0; i < count; ++i) {
          Thread &t = b.threads[i];
          t.linear = i;
          t.index = {i % blockDim.x, (i / blockDim.x) % blockDim.y,
                     i / (blockDim.x * blockDim.y)};
          b.warps[i / 32].live++;
          getcontext(&t.context);
          t.context.uc_stack.ss_sp = stacks[i].data();
          t.context.uc_stack.ss_size = kStackBytes;
          t.context.uc_link = nullptr;
          makecontext(&t.context, threadEntry, 0);
        }
        while (b.live > 0) {
          uint64_t before = b.progress;
          for (unsigned n = 0; n < count; ++n) {
            unsigned i = reverseSchedule() ? count - 1 - n : n;
            Thread &t = b.threads[i];
            if (t.done)
              continue;
            b.current = &t;
            swapcontext(&b.scheduler, &t.context);
          }
          if (b.live > 0 && b.progress == before) {
            std::fprintf(stderr,
                         "ssm device emulation: deadlock in block %u,%u,%u "
                         "(%u threads wait at a barrier that not all reach)\n",
                         bx, by, bz, b.live);
            std::abort();
          }
        }
      }
  currentBlock() = saved;
}

} // namespace ssm_emu

// CUDA's built-in variables.
#define threadIdx (::ssm_emu::thread().index)
#define blockIdx (::ssm_emu::block().blockIdx)
#define blockDim (::ssm_emu::block().blockDim)
#define gridDim (::ssm_emu::block().gridDim)

inline void __syncthreads() { ::ssm_emu::syncthreads(); }
inline void __syncwarp(unsigned = 0xffffffffu) {
  uint64_t in[8] = {}, out[8];
  ::ssm_emu::warpCollective(in, out, [](auto &, auto &) {});
}

template <class T> inline T ssmEmuShuffle(T value, int mode, int operand) {
  static_assert(sizeof(T) <= 8, "shuffles move at most 8 bytes");
  uint64_t in[8] = {}, out[8];
  std::memcpy(&in[0], &value, sizeof(T));
  in[1] = static_cast<uint64_t>(mode);
  in[2] = static_cast<uint64_t>(static_cast<int64_t>(operand));
  ::ssm_emu::warpCollective(in, out, [](uint64_t (&ins)[32][8],
                                        uint64_t (&outs)[32][8]) {
    for (int lane = 0; lane < 32; ++lane) {
      int mode = static_cast<int>(ins[lane][1]);
      int operand = static_cast<int>(static_cast<int64_t>(ins[lane][2]));
      int source = lane;
      if (mode == 0)
        source = lane ^ operand; // xor
      else if (mode == 1)
        source = operand & 31; // idx
      else if (mode == 2)
        source = lane + operand < 32 ? lane + operand : lane; // down
      else if (mode == 3)
        source = lane - operand >= 0 ? lane - operand : lane; // up
      outs[lane][0] = ins[source][0];
    }
  });
  T result;
  std::memcpy(&result, &out[0], sizeof(T));
  return result;
}
template <class T> inline T __shfl_xor_sync(unsigned, T v, int m, int = 32) {
  return ssmEmuShuffle(v, 0, m);
}
template <class T> inline T __shfl_sync(unsigned, T v, int l, int = 32) {
  return ssmEmuShuffle(v, 1, l);
}
template <class T> inline T __shfl_down_sync(unsigned, T v, unsigned d, int = 32) {
  return ssmEmuShuffle(v, 2, static_cast<int>(d));
}
template <class T> inline T __shfl_up_sync(unsigned, T v, unsigned d, int = 32) {
  return ssmEmuShuffle(v, 3, static_cast<int>(d));
}

inline int __any_sync(unsigned, int predicate) {
  uint64_t in[8] = {}, out[8];
  in[0] = predicate != 0;
  ::ssm_emu::warpCollective(in, out,
                            [](uint64_t(&ins)[32][8], uint64_t(&outs)[32][8]) {
                              uint64_t any = 0;
                              for (int lane = 0; lane < 32; ++lane)
                                any |= ins[lane][0];
                              for (int lane = 0; lane < 32; ++lane)
                                outs[lane][0] = any;
                            });
  return static_cast<int>(out[0]);
}

// CUDA's vector types that the kernels use.
struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(8) float2 {
  float x, y;
};
struct alignas(16) uint4 {
  unsigned x, y, z, w;
};

//===----------------------------------------------------------------------===//
// 16-bit floating-point types (round to nearest even, as the GPU converts)
//===----------------------------------------------------------------------===//

struct __nv_bfloat16 {
  uint16_t bits;
};
struct __half {
  uint16_t bits;
};

inline float __bfloat162float(__nv_bfloat16 value) {
  uint32_t word = static_cast<uint32_t>(value.bits) << 16;
  float result;
  std::memcpy(&result, &word, 4);
  return result;
}
inline __nv_bfloat16 __float2bfloat16(float value) {
  uint32_t word;
  std::memcpy(&word, &value, 4);
  __nv_bfloat16 result;
  if (std::isnan(value)) {
    result.bits = 0x7fc0;
    return result;
  }
  uint32_t rounding = 0x7fffu + ((word >> 16) & 1u);
  result.bits = static_cast<uint16_t>((word + rounding) >> 16);
  return result;
}
inline float __half2float(__half value) {
  uint32_t sign = (value.bits >> 15) & 1u, exponent = (value.bits >> 10) & 31u,
           mantissa = value.bits & 1023u;
  float magnitude;
  if (exponent == 0)
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  else if (exponent == 31)
    magnitude = mantissa ? NAN : INFINITY;
  else
    magnitude = std::ldexp(static_cast<float>(mantissa | 1024u),
                           static_cast<int>(exponent) - 25);
  return sign ? -magnitude : magnitude;
}
inline __half __float2half(float value) {
  __half result;
  uint32_t sign = std::signbit(value) ? 0x8000u : 0u;
  float magnitude = std::fabs(value);
  if (std::isnan(value)) {
    result.bits = 0x7e00;
    return result;
  }
  if (magnitude >= 65520.0f) {
    result.bits = static_cast<uint16_t>(sign | 0x7c00u);
    return result;
  }
  if (magnitude == 0.0f) {
    result.bits = static_cast<uint16_t>(sign);
    return result;
  }
  int exponent;
  std::frexp(magnitude, &exponent); // magnitude = m · 2^exponent, m in [0.5, 1)
  int unbiased = exponent - 1;
  // Units in the last place: 2^(unbiased - 10) for normals, 2^-24 below.
  int ulpExponent = unbiased < -14 ? -24 : unbiased - 10;
  float scaled = std::ldexp(magnitude, -ulpExponent);
  float rounded = std::nearbyint(scaled); // ties to even in the default mode
  uint32_t units = static_cast<uint32_t>(rounded);
  uint32_t bits;
  if (unbiased < -14) {
    bits = units; // subnormal (may round up to the smallest normal)
  } else {
    if (units >= 2048u) { // rounding carried into the next binade
      units >>= 1;
      ++unbiased;
    }
    bits = (static_cast<uint32_t>(unbiased + 15) << 10) | (units & 1023u);
    if (unbiased + 15 >= 31)
      bits = 0x7c00u;
  }
  result.bits = static_cast<uint16_t>(sign | bits);
  return result;
}

#endif // SSM_DEVICE_EMULATION_H
