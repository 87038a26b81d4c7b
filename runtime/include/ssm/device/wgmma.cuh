// Warpgroup tensor-core building blocks (sm_90a): wgmma.mma_async with f32
// accumulators, its shared-memory matrix descriptors, and tiles stored with
// the 128-byte swizzle that the descriptors name.
//
// A warpgroup is 4 consecutive warps starting at a warp index divisible by 4;
// together they issue m64nNk16 products: warp w of the group owns rows
// 16w..16w+15, and its lanes hold the accumulators as mma.sync's C fragment
// repeated over N/8 column tiles (d[j][i]: row 16w + l/4 + 8·(i/2), column
// 8j + 2·(l%4) + i%2), and a register A operand as mma.sync's A fragment.
//
// Shared tiles of 16-bit elements, R rows × C columns (C a multiple of 64):
// column blocks of 64 elements, each R rows of 128 bytes, one after another;
// in a row the 16-byte chunk c lies at chunk c ^ (row % 8). Tiles start at
// 1024-byte boundaries (the swizzle works on address bits 4..9). Such a tile
// is read as a K-major operand (K along the row: Q and K in S = Q·Kᵀ) or as
// an MN-major one (N along the row: V in O = P·V).
//
// The emulator implements the products from these definitions (from the PTX
// ISA's "Matrix Descriptor" and "Shared Memory Matrix Layout" sections).
#ifndef SSM_DEVICE_WGMMA_CUH
#define SSM_DEVICE_WGMMA_CUH

#include "ssm/device/mma.cuh"

#include <type_traits>

namespace ssm {
namespace device {

/// Byte offset of element (row, column) in a swizzled tile of kRows rows.
template <int kRows>
SSM_DEVICE constexpr int swizzledOffset(int row, int column) {
  return (column / 64) * kRows * 128 + row * 128 +
         ((((column % 64) / 8) ^ (row % 8)) * 16) + (column % 8) * 2;
}

/// Rows [t0, t0 + kRows) of an operand stored as [B, L, heads, width]
/// (kCols = width columns of 16-bit elements) copied asynchronously into a
/// swizzled tile, zeros past `length`; the caller commits and waits.
/// Consecutive threads copy consecutive 16-byte chunks of a row.
template <int kRows, int kCols, int kThreads, class T>
SSM_DEVICE void copySwizzledTileAsync(unsigned char *tile, const T *data,
                                      int64_t b, int64_t t0, int64_t length,
                                      int64_t heads, int64_t head) {
  static_assert(sizeof(T) == 2 && kCols % 64 == 0, "16-bit, 64-column blocks");
  constexpr int kPerRow = kCols / 8;
  constexpr int kSegments = kRows * kPerRow;
  static_assert(kSegments % kThreads == 0 && kThreads % kPerRow == 0,
                "whole rows a pass");
  constexpr int kStep = kThreads / kPerRow;
  const int64_t rowStride = heads * kCols;
  const T *rows = data + (b * length * heads + head) * kCols;
  const int c = static_cast<int>(threadIdx.x) % kPerRow;
  const int i = static_cast<int>(threadIdx.x) / kPerRow;
  const bool inside = t0 + kRows <= length;
#pragma unroll
  for (int pass = 0; pass < kSegments / kThreads; ++pass) {
    const int row = i + pass * kStep;
    const bool valid = inside || t0 + row < length;
    copyAsync16(tile + swizzledOffset<kRows>(row, 8 * c),
                valid ? rows + (t0 + row) * rowStride + 8 * c : rows, valid);
  }
}

/// The same through a row accessor `row(t, c, values[8])` (an operand with
/// fused glue), converted to T; a batch of rows is loaded before it is
/// stored, so that their latencies overlap.
template <int kRows, int kCols, int kThreads, class T, class Row>
SSM_DEVICE void loadSwizzledTileRows(unsigned char *tile, int64_t t0,
                                     int64_t length, Row &&row) {
  constexpr int kSegments = kRows * kCols / 8;
  static_assert(kSegments % kThreads == 0, "whole segments a thread");
  constexpr int kPerThread = kSegments / kThreads;
  constexpr int kBatch = kPerThread < 4 ? kPerThread : 4;
#pragma unroll
  for (int batch = 0; batch < kPerThread; batch += kBatch) {
    float values[kBatch][8];
#pragma unroll
    for (int r = 0; r < kBatch; ++r) {
      const int segment = threadIdx.x + (batch + r) * kThreads;
      const int i = segment / (kCols / 8), c = (segment % (kCols / 8)) * 8;
      if (t0 + i < length) {
        row(t0 + i, c, values[r]);
      } else {
#pragma unroll
        for (int e = 0; e < 8; ++e)
          values[r][e] = 0.0f;
      }
    }
#pragma unroll
    for (int r = 0; r < kBatch; ++r) {
      const int segment = threadIdx.x + (batch + r) * kThreads;
      const int i = segment / (kCols / 8), c = (segment % (kCols / 8)) * 8;
      uint4 word;
      word.x = pack2<T>(values[r][0], values[r][1]);
      word.y = pack2<T>(values[r][2], values[r][3]);
      word.z = pack2<T>(values[r][4], values[r][5]);
      word.w = pack2<T>(values[r][6], values[r][7]);
      *reinterpret_cast<uint4 *>(tile + swizzledOffset<kRows>(i, c)) = word;
    }
  }
}

/// The shared-window address of a pointer into shared memory.
SSM_DEVICE uint32_t sharedAddress(const void *pointer) {
#if defined(SSM_DEVICE_EMULATION)
  return static_cast<uint32_t>(static_cast<const unsigned char *>(pointer) -
                               ::ssm_emu::block().shared.data());
#else
  return static_cast<uint32_t>(__cvta_generic_to_shared(pointer));
#endif
}

/// A matrix descriptor for a swizzled tile: the operand's first element at
/// shared address `address`, `leading` bytes between its 64-element blocks
/// along the row (MN-major operands; K-major ones span one block a
/// product), 1024 bytes between groups of 8 rows.
SSM_DEVICE uint64_t swizzledDescriptor(uint32_t address, uint32_t leading) {
  return static_cast<uint64_t>((address & 0x3ffff) >> 4) |
         (static_cast<uint64_t>(leading >> 4) << 16) |
         (static_cast<uint64_t>(1024 >> 4) << 32) | (uint64_t(1) << 62);
}
/// The descriptor of k-step `ks` (16 columns) of a K-major operand: rows
/// [row0, row0 + 64 or N) of a swizzled tile of kRows rows at `tile`.
template <int kRows>
SSM_DEVICE uint64_t kMajorDescriptor(uint32_t tile, int row0, int ks) {
  return swizzledDescriptor(
      tile + (ks / 4) * kRows * 128 + row0 * 128 + (ks % 4) * 32, 16);
}
/// The descriptor of k-step `ks` (16 rows) of an MN-major operand: every
/// column of a swizzled tile of kRows rows at `tile`.
template <int kRows>
SSM_DEVICE uint64_t mnMajorDescriptor(uint32_t tile, int ks) {
  return swizzledDescriptor(tile + ks * 16 * 128, kRows * 128);
}

#if defined(SSM_DEVICE_EMULATION)
namespace emulated {
/// The 16-bit element at swizzled shared address `address`.
template <class T> inline float sharedElement(uint32_t address) {
  const uint32_t physical = address ^ (((address >> 7) & 7) << 4);
  T value;
  std::memcpy(&value, ::ssm_emu::block().shared.data() + physical, 2);
  return toFloat(value);
}
/// Element (m, k) of a K-major operand (m < 64 or N, k < 16).
template <class T> inline float kMajorElement(uint64_t desc, int m, int k) {
  const uint32_t start = static_cast<uint32_t>(desc & 0x3fff) << 4;
  const uint32_t stride = static_cast<uint32_t>((desc >> 32) & 0x3fff) << 4;
  return sharedElement<T>(start + (m / 8) * stride + (m % 8) * 128 + 2 * k);
}
/// Element (k, n) of an MN-major operand.
template <class T> inline float mnMajorElement(uint64_t desc, int k, int n) {
  const uint32_t start = static_cast<uint32_t>(desc & 0x3fff) << 4;
  const uint32_t leading = static_cast<uint32_t>((desc >> 16) & 0x3fff) << 4;
  const uint32_t stride = static_cast<uint32_t>((desc >> 32) & 0x3fff) << 4;
  return sharedElement<T>(start + (n / 64) * leading + (k / 8) * stride +
                          (k % 8) * 128 + 2 * (n % 64));
}
/// This thread's rows of d += A·B, with A(row, k) given.
template <class T, int kN, class AOf, class BOf>
inline void wgmma(float (&d)[kN / 8][4], bool accumulate, AOf aOf, BOf bOf) {
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int warp = static_cast<int>(threadIdx.x) / 32 % 4;
  for (int j = 0; j < kN / 8; ++j)
    for (int i = 0; i < 4; ++i) {
      const int row = 16 * warp + lane / 4 + 8 * (i / 2);
      const int column = 8 * j + 2 * (lane % 4) + i % 2;
      float sum = accumulate ? d[j][i] : 0.0f;
      for (int k = 0; k < 16; ++k)
        sum += aOf(row, k) * bOf(k, column);
      d[j][i] = sum;
    }
}
} // namespace emulated
#endif

#if !defined(SSM_DEVICE_EMULATION)
// The asm operand lists of the products (generated, then kept as written).
// clang-format off
// m64n64k16: 32 accumulators a thread, operands %0..%31.
#define SSM_WGMMA_ACCUMULATORS_64 \
  "{" "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, " \
  "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31" "}"
#define SSM_WGMMA_OPERANDS_64(d) \
      "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), \
      "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]), \
      "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), \
      "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), \
      "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), \
      "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), \
      "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), \
      "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3])
#define SSM_WGMMA_SS_TAIL_64 ", %32, %33, p, 1, 1, 0, 0;\n"
#define SSM_WGMMA_SS_MN_TAIL_64 ", %32, %33, p, 1, 1, 1, 1;\n"
#define SSM_WGMMA_SS_SCALE_64 "setp.ne.b32 p, %34, 0;\n"
#define SSM_WGMMA_RS_TAIL_64 ", {%32, %33, %34, %35}, %36, p, 1, 1, 1;\n"
#define SSM_WGMMA_RS_SCALE_64 "setp.ne.b32 p, %37, 0;\n"
// m64n128k16: 64 accumulators a thread, operands %0..%63.
#define SSM_WGMMA_ACCUMULATORS_128 \
  "{" "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, " \
  "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, " \
  "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, " \
  "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63" "}"
#define SSM_WGMMA_OPERANDS_128(d) \
      "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), \
      "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]), \
      "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), \
      "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), \
      "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), \
      "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), \
      "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), \
      "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3]), \
      "+f"(d[8][0]), "+f"(d[8][1]), "+f"(d[8][2]), "+f"(d[8][3]), \
      "+f"(d[9][0]), "+f"(d[9][1]), "+f"(d[9][2]), "+f"(d[9][3]), \
      "+f"(d[10][0]), "+f"(d[10][1]), "+f"(d[10][2]), "+f"(d[10][3]), \
      "+f"(d[11][0]), "+f"(d[11][1]), "+f"(d[11][2]), "+f"(d[11][3]), \
      "+f"(d[12][0]), "+f"(d[12][1]), "+f"(d[12][2]), "+f"(d[12][3]), \
      "+f"(d[13][0]), "+f"(d[13][1]), "+f"(d[13][2]), "+f"(d[13][3]), \
      "+f"(d[14][0]), "+f"(d[14][1]), "+f"(d[14][2]), "+f"(d[14][3]), \
      "+f"(d[15][0]), "+f"(d[15][1]), "+f"(d[15][2]), "+f"(d[15][3])
#define SSM_WGMMA_SS_TAIL_128 ", %64, %65, p, 1, 1, 0, 0;\n"
#define SSM_WGMMA_SS_MN_TAIL_128 ", %64, %65, p, 1, 1, 1, 1;\n"
#define SSM_WGMMA_SS_SCALE_128 "setp.ne.b32 p, %66, 0;\n"
#define SSM_WGMMA_RS_TAIL_128 ", {%64, %65, %66, %67}, %68, p, 1, 1, 1;\n"
#define SSM_WGMMA_RS_SCALE_128 "setp.ne.b32 p, %69, 0;\n"
// clang-format on
#endif

/// Orders this warpgroup's register writes before the products that follow
/// (their accumulators and register A operands).
SSM_DEVICE void wgmmaFence() {
#if !defined(SSM_DEVICE_EMULATION)
  asm volatile("wgmma.fence.sync.aligned;" ::: "memory");
#endif
}
/// Closes the group of products issued since the last commit.
SSM_DEVICE void wgmmaCommit() {
#if !defined(SSM_DEVICE_EMULATION)
  asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory");
#endif
}
/// Waits until at most kPending committed groups are in flight.
template <int kPending> SSM_DEVICE void wgmmaWait() {
#if !defined(SSM_DEVICE_EMULATION)
  asm volatile("wgmma.wait_group.sync.aligned %0;" ::"n"(kPending) : "memory");
#endif
}
/// Keeps the compiler from moving reads or writes of `d` across the
/// asynchronous products that own it (between issue and wait).
template <int kTiles>
SSM_DEVICE void wgmmaFenceOperands(float (&d)[kTiles][4]) {
#if !defined(SSM_DEVICE_EMULATION)
#pragma unroll
  for (int j = 0; j < kTiles; ++j)
#pragma unroll
    for (int i = 0; i < 4; ++i)
      asm volatile("" : "+f"(d[j][i])::"memory");
#endif
}

/// d (+)= A·B, m64·kN·k16, A and B in shared memory (descriptors): both
/// K-major, or with kMnMajor both MN-major (A stored transposed, M along the
/// row, as an MN-major B has N). `accumulate` 0 overwrites d.
template <class T, int kN, bool kMnMajor = false>
SSM_DEVICE void wgmmaSS(float (&d)[kN / 8][4], uint64_t a, uint64_t b,
                        int accumulate) {
  static_assert(kN == 64 || kN == 128, "N of 64 or 128");
#if defined(SSM_DEVICE_EMULATION)
  if constexpr (kMnMajor)
    emulated::wgmma<T, kN>(
        d, accumulate != 0,
        [&](int m, int k) { return emulated::mnMajorElement<T>(a, k, m); },
        [&](int k, int n) { return emulated::mnMajorElement<T>(b, k, n); });
  else
    emulated::wgmma<T, kN>(
        d, accumulate != 0,
        [&](int m, int k) { return emulated::kMajorElement<T>(a, m, k); },
        [&](int k, int n) { return emulated::kMajorElement<T>(b, n, k); });
#elif defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL)
  static_assert(sizeof(T) == 0, "wgmma needs sm_90a: plan for sm_90 without "
                                "the wgmma kernels");
#else
  // LAYOUT picks the operand list's tail: _ (K-major) or _MN_.
#define SSM_WGMMA_SS(N, TYPE, LAYOUT)                                          \
  asm volatile("{\n.reg .pred p;\n" SSM_WGMMA_SS_SCALE_##N                     \
               "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." TYPE "." TYPE \
               " " SSM_WGMMA_ACCUMULATORS_##N SSM_WGMMA_SS##LAYOUT##TAIL_##N    \
               "}\n"                                                           \
               : SSM_WGMMA_OPERANDS_##N(d)                                     \
               : "l"(a), "l"(b), "r"(accumulate))
#define SSM_WGMMA_SS_TYPED(N, LAYOUT)                                          \
  if constexpr (std::is_same_v<T, bf16>)                                       \
    SSM_WGMMA_SS(N, "bf16", LAYOUT);                                           \
  else                                                                         \
    SSM_WGMMA_SS(N, "f16", LAYOUT);
  if constexpr (kMnMajor) {
    if constexpr (kN == 64) {
      SSM_WGMMA_SS_TYPED(64, _MN_)
    } else {
      SSM_WGMMA_SS_TYPED(128, _MN_)
    }
  } else {
    if constexpr (kN == 64) {
      SSM_WGMMA_SS_TYPED(64, _)
    } else {
      SSM_WGMMA_SS_TYPED(128, _)
    }
  }
#undef SSM_WGMMA_SS_TYPED
#undef SSM_WGMMA_SS
#endif
}

/// d (+)= A·B, m64·kN·k16, A in registers (mma.sync's A fragment of this
/// warp's 16 rows), B MN-major in shared memory.
template <class T, int kN>
SSM_DEVICE void wgmmaRS(float (&d)[kN / 8][4], const uint32_t (&a)[4],
                        uint64_t b, int accumulate) {
  static_assert(kN == 64 || kN == 128, "N of 64 or 128");
#if defined(SSM_DEVICE_EMULATION)
  // Lane l's rows g = l/4 and g + 8 over the 16 k, from the quad's lanes.
  uint64_t in[8] = {a[0] | (uint64_t(a[1]) << 32),
                    a[2] | (uint64_t(a[3]) << 32)};
  uint64_t rows[8];
  ::ssm_emu::warpCollective(
      in, rows, [](uint64_t(&ins)[32][8], uint64_t(&outs)[32][8]) {
        for (int lane = 0; lane < 32; ++lane)
          for (int w = 0; w < 8; ++w)
            outs[lane][w] = ins[4 * (lane / 4) + w % 4][w / 4];
      });
  emulated::wgmma<T, kN>(
      d, accumulate != 0,
      [&](int m, int k) {
        const uint64_t word = rows[(k / 8) * 4 + (k % 8) / 2];
        const uint32_t pair =
            static_cast<uint32_t>((m % 16) < 8 ? word : word >> 32);
        return emulated::element<T>(pair, k % 2);
      },
      [&](int k, int n) { return emulated::mnMajorElement<T>(b, k, n); });
#elif defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL)
  static_assert(sizeof(T) == 0, "wgmma needs sm_90a: plan for sm_90 without "
                                "the wgmma kernels");
#else
#define SSM_WGMMA_RS(N, TYPE)                                                  \
  asm volatile("{\n.reg .pred p;\n" SSM_WGMMA_RS_SCALE_##N                     \
               "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." TYPE "." TYPE \
               " " SSM_WGMMA_ACCUMULATORS_##N SSM_WGMMA_RS_TAIL_##N "}\n"      \
               : SSM_WGMMA_OPERANDS_##N(d)                                     \
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b),           \
                 "r"(accumulate))
  if constexpr (std::is_same_v<T, bf16>) {
    if constexpr (kN == 64)
      SSM_WGMMA_RS(64, "bf16");
    else
      SSM_WGMMA_RS(128, "bf16");
  } else {
    if constexpr (kN == 64)
      SSM_WGMMA_RS(64, "f16");
    else
      SSM_WGMMA_RS(128, "f16");
  }
#undef SSM_WGMMA_RS
#endif
}

/// Makes this thread's ordinary (and cp.async) shared-memory writes visible
/// to the tensor cores' reads after the next barrier.
SSM_DEVICE void fenceProxyAsync() {
#if !defined(SSM_DEVICE_EMULATION)
  asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
#endif
}

} // namespace device
} // namespace ssm

#endif // SSM_DEVICE_WGMMA_CUH
