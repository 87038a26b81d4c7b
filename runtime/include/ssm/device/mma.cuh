// Warp-level tensor-core building blocks: ldmatrix loads of 8×8 16-bit tiles
// from shared memory and mma.sync m16n8k16 with f32 accumulators (bf16 or
// f16 operands). The emulator implements each instruction from the PTX ISA's
// fragment layouts: for lane l, g = l / 4 and t = l % 4,
//   A (16×16, 4 regs of 2 elements): a0 (g, 2t..2t+1), a1 (g+8, 2t..),
//                                    a2 (g, 2t+8..),   a3 (g+8, 2t+8..)
//   B (16×8, 2 regs):                b0 (k 2t..2t+1, n g), b1 (k 2t+8.., n g)
//   C (16×8, 4 f32):                 c0,c1 (g, 2t..2t+1), c2,c3 (g+8, 2t..)
// and ldmatrix gives lane l the elements (l/4, 2(l%4)..+1) of each 8×8 tile
// whose rows the lanes 8m..8m+7 address (transposed: (2(l%4)..+1, l/4)).
#ifndef SSM_DEVICE_MMA_CUH
#define SSM_DEVICE_MMA_CUH

#include "ssm/device/device.cuh"

namespace ssm {
namespace device {

/// Two 16-bit values in one register, the first in the low half.
template <class T> SSM_DEVICE uint32_t pack2(float lo, float hi);
template <> SSM_DEVICE uint32_t pack2<bf16>(float lo, float hi) {
  bf16 a = __float2bfloat16(lo), b = __float2bfloat16(hi);
  uint16_t ua, ub;
  memcpy(&ua, &a, 2);
  memcpy(&ub, &b, 2);
  return static_cast<uint32_t>(ua) | (static_cast<uint32_t>(ub) << 16);
}
template <> SSM_DEVICE uint32_t pack2<f16>(float lo, float hi) {
  f16 a = __float2half(lo), b = __float2half(hi);
  uint16_t ua, ub;
  memcpy(&ua, &a, 2);
  memcpy(&ub, &b, 2);
  return static_cast<uint32_t>(ua) | (static_cast<uint32_t>(ub) << 16);
}

#if defined(SSM_DEVICE_EMULATION)
namespace emulated {
template <class T> inline float element(uint32_t word, int half) {
  uint16_t bits = static_cast<uint16_t>(half ? word >> 16 : word & 0xffffu);
  T value;
  std::memcpy(&value, &bits, 2);
  return toFloat(value);
}
inline uint32_t word16(const void *address) {
  uint32_t word;
  std::memcpy(&word, address, 4);
  return word;
}
/// ldmatrix .x{count}: lanes 8m..8m+7 give the rows of tile m.
inline void ldmatrix(uint32_t *registers, int count, const void *address,
                     bool transposed) {
  uint64_t in[8] = {}, out[8];
  in[0] = reinterpret_cast<uint64_t>(address);
  in[1] = static_cast<uint64_t>(count) | (transposed ? 0x100u : 0u);
  ::ssm_emu::warpCollective(in, out, [](uint64_t (&ins)[32][8],
                                        uint64_t (&outs)[32][8]) {
    int count = static_cast<int>(ins[0][1] & 0xff);
    bool transposed = ins[0][1] & 0x100u;
    for (int lane = 0; lane < 32; ++lane)
      for (int m = 0; m < count; ++m) {
        int g = lane / 4, t = lane % 4;
        uint16_t value[2];
        for (int e = 0; e < 2; ++e) {
          int row = transposed ? 2 * t + e : g;
          int col = transposed ? g : 2 * t + e;
          const unsigned char *rowAddress =
              reinterpret_cast<const unsigned char *>(ins[8 * m + row][0]);
          std::memcpy(&value[e], rowAddress + 2 * col, 2);
        }
        outs[lane][m] = static_cast<uint64_t>(value[0]) |
                        (static_cast<uint64_t>(value[1]) << 16);
      }
  });
  for (int m = 0; m < count; ++m)
    registers[m] = static_cast<uint32_t>(out[m]);
}
template <class T>
inline void mma16816(float (&d)[4], const uint32_t (&a)[4],
                     const uint32_t (&b)[2]) {
  uint64_t in[8], out[8];
  for (int i = 0; i < 4; ++i)
    in[i] = a[i];
  in[4] = b[0];
  in[5] = b[1];
  uint32_t cbits[4];
  std::memcpy(cbits, d, 16);
  in[6] = cbits[0] | (static_cast<uint64_t>(cbits[1]) << 32);
  in[7] = cbits[2] | (static_cast<uint64_t>(cbits[3]) << 32);
  ::ssm_emu::warpCollective(in, out, [](uint64_t (&ins)[32][8],
                                        uint64_t (&outs)[32][8]) {
    float A[16][16], B[16][8], C[16][8];
    for (int lane = 0; lane < 32; ++lane) {
      int g = lane / 4, t = lane % 4;
      for (int e = 0; e < 2; ++e) {
        A[g][2 * t + e] = element<T>(static_cast<uint32_t>(ins[lane][0]), e);
        A[g + 8][2 * t + e] =
            element<T>(static_cast<uint32_t>(ins[lane][1]), e);
        A[g][2 * t + 8 + e] =
            element<T>(static_cast<uint32_t>(ins[lane][2]), e);
        A[g + 8][2 * t + 8 + e] =
            element<T>(static_cast<uint32_t>(ins[lane][3]), e);
        B[2 * t + e][g] = element<T>(static_cast<uint32_t>(ins[lane][4]), e);
        B[2 * t + 8 + e][g] =
            element<T>(static_cast<uint32_t>(ins[lane][5]), e);
      }
      uint32_t c[4] = {static_cast<uint32_t>(ins[lane][6]),
                       static_cast<uint32_t>(ins[lane][6] >> 32),
                       static_cast<uint32_t>(ins[lane][7]),
                       static_cast<uint32_t>(ins[lane][7] >> 32)};
      float cf[4];
      std::memcpy(cf, c, 16);
      C[g][2 * t] = cf[0];
      C[g][2 * t + 1] = cf[1];
      C[g + 8][2 * t] = cf[2];
      C[g + 8][2 * t + 1] = cf[3];
    }
    for (int lane = 0; lane < 32; ++lane) {
      int g = lane / 4, t = lane % 4;
      int rows[4] = {g, g, g + 8, g + 8}, cols[4] = {2 * t, 2 * t + 1, 2 * t,
                                                     2 * t + 1};
      float result[4];
      for (int i = 0; i < 4; ++i) {
        float sum = C[rows[i]][cols[i]];
        for (int k = 0; k < 16; ++k)
          sum += A[rows[i]][k] * B[k][cols[i]];
        result[i] = sum;
      }
      uint32_t bits[4];
      std::memcpy(bits, result, 16);
      outs[lane][0] = bits[0] | (static_cast<uint64_t>(bits[1]) << 32);
      outs[lane][1] = bits[2] | (static_cast<uint64_t>(bits[3]) << 32);
    }
  });
  uint32_t bits[4] = {static_cast<uint32_t>(out[0]),
                      static_cast<uint32_t>(out[0] >> 32),
                      static_cast<uint32_t>(out[1]),
                      static_cast<uint32_t>(out[1] >> 32)};
  std::memcpy(d, bits, 16);
}
} // namespace emulated
#endif

//===----------------------------------------------------------------------===//
// Asynchronous copies global → shared (cp.async, 16 bytes, L2 only)
//===----------------------------------------------------------------------===//

/// Copies 16 bytes from `source` to shared `destination`, or writes zeros
/// when `valid` is false (nothing is read then).
SSM_DEVICE void copyAsync16(void *destination, const void *source, bool valid) {
#if defined(SSM_DEVICE_EMULATION)
  if (valid)
    std::memcpy(destination, source, 16);
  else
    std::memset(destination, 0, 16);
#else
  uint32_t address = static_cast<uint32_t>(__cvta_generic_to_shared(destination));
  int bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(address),
               "l"(source), "r"(bytes));
#endif
}
/// Closes the group of copies issued since the last commit.
SSM_DEVICE void copyAsyncCommit() {
#if !defined(SSM_DEVICE_EMULATION)
  asm volatile("cp.async.commit_group;");
#endif
}
/// Waits until at most `kPending` committed groups are still in flight.
template <int kPending> SSM_DEVICE void copyAsyncWait() {
#if !defined(SSM_DEVICE_EMULATION)
  asm volatile("cp.async.wait_group %0;" ::"n"(kPending));
#endif
}

/// Rows [t0, t0 + kRows) × columns [c0, c0 + kCols) of an operand stored
/// row-major as [B, L, heads, width] (so row t of (b, head) starts at
/// ((b·L + t)·heads + head)·width): copied asynchronously into a shared tile
/// of row pitch `ld`, zeros past `length`. kCols·sizeof(T) is a multiple of
/// 16; the caller commits and waits.
template <int kRows, int kCols, int kThreads, class T>
SSM_DEVICE void copyTileAsync(T *tile, int ld, const T *data, int64_t b,
                              int64_t t0, int64_t length, int64_t heads,
                              int64_t head, int64_t width, int64_t c0) {
  constexpr int kPerRow = kCols * static_cast<int>(sizeof(T)) / 16;
  constexpr int kElements = 16 / static_cast<int>(sizeof(T));
  constexpr int kSegments = kRows * kPerRow;
  // A trip count known at compile time, so that the loop unrolls; the copy
  // is issued for every tile of the kernels' main loops.
  constexpr int kPasses = (kSegments + kThreads - 1) / kThreads;
  const T *rows = data + (b * length * heads + head) * width + c0;
  const int64_t rowStride = heads * width;
  if constexpr (kThreads % kPerRow == 0 && kSegments % kThreads == 0) {
    // Each thread keeps its column and steps down kStep rows a pass: one
    // pointer increment, and no test where the tile lies inside the
    // sequence.
    constexpr int kStep = kThreads / kPerRow;
    const int i = static_cast<int>(threadIdx.x) / kPerRow;
    const int c = (static_cast<int>(threadIdx.x) % kPerRow) * kElements;
    T *destination = tile + i * ld + c;
    const T *source = rows + (t0 + i) * rowStride + c;
    if (t0 + kRows <= length) {
#pragma unroll
      for (int pass = 0; pass < kPasses; ++pass)
        copyAsync16(destination + pass * kStep * ld,
                    source + pass * kStep * rowStride, true);
    } else {
#pragma unroll
      for (int pass = 0; pass < kPasses; ++pass) {
        const bool valid = t0 + i + pass * kStep < length;
        copyAsync16(destination + pass * kStep * ld,
                    valid ? source + pass * kStep * rowStride : rows, valid);
      }
    }
  } else {
#pragma unroll
    for (int pass = 0; pass < kPasses; ++pass) {
      const int segment = static_cast<int>(threadIdx.x) + pass * kThreads;
      if (kSegments % kThreads != 0 && segment >= kSegments)
        break;
      const int i = segment / kPerRow, c = (segment % kPerRow) * kElements;
      const int64_t t = t0 + i;
      const bool valid = t < length;
      copyAsync16(tile + i * ld + c, rows + (valid ? t : 0) * rowStride + c,
                  valid);
    }
  }
}

/// The same through a row accessor `row(t, c, values[8])` (an operand with
/// fused glue): loads a batch of rows before converting and storing them, so
/// that their latencies overlap.
template <int kRows, int kCols, int kThreads, class T, class Row>
SSM_DEVICE void loadTileRows(T *tile, int ld, int64_t t0, int64_t length,
                             Row &&row) {
  constexpr int kSegments = kRows * kCols / 8;
  static_assert(kSegments % kThreads == 0, "whole segments per thread");
  constexpr int kPerThread = kSegments / kThreads;
  constexpr int kBatch = kPerThread < 4 ? kPerThread : 4;
#pragma unroll
  for (int batch = 0; batch < kPerThread; batch += kBatch) {
    float values[kBatch][8];
#pragma unroll
    for (int r = 0; r < kBatch; ++r) {
      const int segment = threadIdx.x + (batch + r) * kThreads;
      const int i = segment / (kCols / 8), c = (segment % (kCols / 8)) * 8;
      const int64_t t = t0 + i;
      if (t < length) {
        row(t, c, values[r]);
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
      *reinterpret_cast<uint4 *>(tile + i * ld + c) = word;
    }
  }
}

/// Loads four 8×8 tiles; lane l passes the address of row l % 8 of tile
/// l / 8.
SSM_DEVICE void ldmatrixX4(uint32_t (&r)[4], const void *rowAddress) {
#if defined(SSM_DEVICE_EMULATION)
  emulated::ldmatrix(r, 4, rowAddress, false);
#else
  uint32_t address = static_cast<uint32_t>(__cvta_generic_to_shared(rowAddress));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, "
               "[%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
#endif
}
SSM_DEVICE void ldmatrixX4Trans(uint32_t (&r)[4], const void *rowAddress) {
#if defined(SSM_DEVICE_EMULATION)
  emulated::ldmatrix(r, 4, rowAddress, true);
#else
  uint32_t address = static_cast<uint32_t>(__cvta_generic_to_shared(rowAddress));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, "
               "%3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
#endif
}

/// d += a · b on a 16×8×16 tile with f32 accumulation.
template <class T>
SSM_DEVICE void mma16816(float (&d)[4], const uint32_t (&a)[4],
                         const uint32_t (&b)[2]);
template <>
SSM_DEVICE void mma16816<bf16>(float (&d)[4], const uint32_t (&a)[4],
                               const uint32_t (&b)[2]) {
#if defined(SSM_DEVICE_EMULATION)
  emulated::mma16816<bf16>(d, a, b);
#else
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
               "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
               "{%0, %1, %2, %3};"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]),
                 "r"(b[1]));
#endif
}
template <>
SSM_DEVICE void mma16816<f16>(float (&d)[4], const uint32_t (&a)[4],
                              const uint32_t (&b)[2]) {
#if defined(SSM_DEVICE_EMULATION)
  emulated::mma16816<f16>(d, a, b);
#else
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
               "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
               "{%0, %1, %2, %3};"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]),
                 "r"(b[1]));
#endif
}

//===----------------------------------------------------------------------===//
// Fragment loads from shared memory tiles of 16-bit elements with a row
// pitch of `ld` elements (a multiple of 8, so rows are 16-byte aligned).
//===----------------------------------------------------------------------===//

/// A fragment of the 16×16 block at (m0, k0) of a matrix stored row-major
/// (element (m, k) at m·ld + k).
template <class T>
SSM_DEVICE void loadA(uint32_t (&a)[4], const T *base, int ld, int m0, int k0,
                      int lane) {
  int row = m0 + (lane & 15), col = k0 + (lane >> 4) * 8;
  ldmatrixX4(a, base + row * ld + col);
}
/// A fragment of the 16×16 block at (m0, k0) of a matrix stored transposed
/// (element (m, k) at k·ld + m).
template <class T>
SSM_DEVICE void loadATransposed(uint32_t (&a)[4], const T *base, int ld,
                                int m0, int k0, int lane) {
  int tile = lane >> 3, r = lane & 7;
  int k = k0 + r + ((tile >> 1) << 3), m = m0 + ((tile & 1) << 3);
  ldmatrixX4Trans(a, base + k * ld + m);
}
/// B fragments of two 16×8 blocks at (k0, n0) and (k0, n0 + 8) of a matrix
/// stored with n major (element (k, n) at n·ld + k): b0 for n0, b1 for
/// n0 + 8.
template <class T>
SSM_DEVICE void loadBPairNMajor(uint32_t (&b0)[2], uint32_t (&b1)[2],
                                const T *base, int ld, int k0, int n0,
                                int lane) {
  int tile = lane >> 3, r = lane & 7;
  int n = n0 + r + ((tile >> 1) << 3), k = k0 + ((tile & 1) << 3);
  uint32_t r4[4];
  ldmatrixX4(r4, base + n * ld + k);
  b0[0] = r4[0];
  b0[1] = r4[1];
  b1[0] = r4[2];
  b1[1] = r4[3];
}
/// The same for a matrix stored with k major (element (k, n) at k·ld + n).
template <class T>
SSM_DEVICE void loadBPairKMajor(uint32_t (&b0)[2], uint32_t (&b1)[2],
                                const T *base, int ld, int k0, int n0,
                                int lane) {
  int tile = lane >> 3, r = lane & 7;
  int k = k0 + r + ((tile & 1) << 3), n = n0 + ((tile >> 1) << 3);
  uint32_t r4[4];
  ldmatrixX4Trans(r4, base + k * ld + n);
  b0[0] = r4[0];
  b0[1] = r4[1];
  b1[0] = r4[2];
  b1[1] = r4[3];
}

/// The A fragment (16×16) made of two accumulator tiles (16×8 each, columns
/// 0..7 and 8..15), rounded to T: how a product's result feeds the next
/// product without leaving registers.
template <class T>
SSM_DEVICE void accumulatorsToA(uint32_t (&a)[4], const float (&left)[4],
                                const float (&right)[4]) {
  a[0] = pack2<T>(left[0], left[1]);
  a[1] = pack2<T>(left[2], left[3]);
  a[2] = pack2<T>(right[0], right[1]);
  a[3] = pack2<T>(right[2], right[3]);
}

/// Row and column, within a 16×8 accumulator tile, of accumulator `i` (0..3)
/// of lane `lane`.
SSM_DEVICE int accumulatorRow(int lane, int i) {
  return (lane >> 2) + ((i >> 1) << 3);
}
SSM_DEVICE int accumulatorColumn(int lane, int i) {
  return ((lane & 3) << 1) + (i & 1);
}

} // namespace device
} // namespace ssm

#endif // SSM_DEVICE_MMA_CUH
