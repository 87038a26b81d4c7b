// Header-only conversions between float and the 16-bit float formats (IEEE
// binary16 and bfloat16).
#ifndef SSM_RUNTIME_DTYPE_HPP
#define SSM_RUNTIME_DTYPE_HPP

#include <cstdint>
#include <cstring>

namespace ssm {

namespace detail {
inline uint32_t floatBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}
inline float floatFromBits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}
} // namespace detail

/// IEEE binary16 -> float. Exact for every input: subnormals are normalised,
/// infinities kept, NaN payloads kept (shifted into the float mantissa).
inline float halfToFloat(uint16_t bits) {
  uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  uint32_t exponent = (bits >> 10) & 0x1Fu;
  uint32_t mantissa = bits & 0x3FFu;
  if (exponent == 0x1F) // inf or NaN
    return detail::floatFromBits(sign | 0x7F800000u | (mantissa << 13));
  if (exponent == 0) {
    if (mantissa == 0)
      return detail::floatFromBits(sign);
    // Subnormal: shift the leading 1 into the implicit bit position.
    uint32_t floatExponent = 127 - 15 + 1;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --floatExponent;
    }
    mantissa &= 0x3FFu;
    return detail::floatFromBits(sign | (floatExponent << 23) |
                                 (mantissa << 13));
  }
  return detail::floatFromBits(sign | ((exponent + 127 - 15) << 23) |
                               (mantissa << 13));
}

/// float -> IEEE binary16, rounding to nearest even (as a hardware convert
/// does): too large becomes infinity, too small becomes a subnormal or a
/// signed zero, NaN stays a (quiet) NaN.
inline uint16_t floatToHalf(float value) {
  uint32_t bits = detail::floatBits(value);
  uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  uint32_t magnitude = bits & 0x7FFFFFFFu;
  if (magnitude > 0x7F800000u) // NaN: keep the top payload bits, set quiet
    return static_cast<uint16_t>(sign | 0x7E00u | ((magnitude >> 13) & 0x3FFu));
  if (magnitude >= 0x477FF000u) // >= 65520 rounds to infinity
    return static_cast<uint16_t>(sign | 0x7C00u);
  if (magnitude >= 0x38800000u) { // a normal half (>= 2^-14)
    // Rebias the exponent from 127 to 15, then round 23 mantissa bits to 10;
    // a carry out of the mantissa correctly bumps the exponent.
    uint32_t rebiased = magnitude - 0x38000000u;
    rebiased += 0xFFFu + ((rebiased >> 13) & 1u);
    return static_cast<uint16_t>(sign | (rebiased >> 13));
  }
  if (magnitude <= 0x33000000u) // <= 2^-25: rounds (to even) to zero
    return sign;
  // A subnormal half counts units of 2^-24: round the 24-bit significand
  // shifted right by the exponent difference.
  uint32_t exponent = magnitude >> 23;
  uint32_t significand = (magnitude & 0x7FFFFFu) | 0x800000u;
  uint32_t shift = 126 - exponent; // 14..24
  uint32_t quotient = significand >> shift;
  uint32_t remainder = significand & ((1u << shift) - 1);
  uint32_t halfway = 1u << (shift - 1);
  if (remainder > halfway || (remainder == halfway && (quotient & 1u)))
    ++quotient; // may carry into the smallest normal, which is correct
  return static_cast<uint16_t>(sign | quotient);
}

/// bfloat16 -> float: exact (bfloat16 is the top half of a float).
inline float bfloat16ToFloat(uint16_t bits) {
  return detail::floatFromBits(static_cast<uint32_t>(bits) << 16);
}

/// float -> bfloat16, rounding to nearest even; NaN stays a (quiet) NaN.
inline uint16_t floatToBfloat16(float value) {
  uint32_t bits = detail::floatBits(value);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u)
    return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

} // namespace ssm

#endif // SSM_RUNTIME_DTYPE_HPP
