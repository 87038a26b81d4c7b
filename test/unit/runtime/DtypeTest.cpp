// Tests of the float16/bfloat16 conversions in runtime_dtype.hpp, exhaustive
// where the domain allows.
#include "ssm/runtime_dtype.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

using ssm::bfloat16ToFloat;
using ssm::floatToBfloat16;
using ssm::floatToHalf;
using ssm::halfToFloat;

namespace {

uint32_t bitsOf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  return bits;
}

float fromBits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, 4);
  return value;
}

bool isHalfNaN(uint16_t bits) {
  return (bits & 0x7C00) == 0x7C00 && (bits & 0x03FF) != 0;
}

bool isBfloat16NaN(uint16_t bits) {
  return (bits & 0x7F80) == 0x7F80 && (bits & 0x007F) != 0;
}

// binary16 decoded from its definition, in double arithmetic.
double referenceHalf(uint16_t bits) {
  int sign = (bits & 0x8000) ? -1 : 1;
  int exponent = (bits >> 10) & 0x1F;
  int mantissa = bits & 0x3FF;
  if (exponent == 0)
    return sign * std::ldexp(static_cast<double>(mantissa), -24);
  if (exponent == 31)
    return mantissa ? std::numeric_limits<double>::quiet_NaN()
                    : sign * std::numeric_limits<double>::infinity();
  return sign * std::ldexp(1024.0 + mantissa, exponent - 25);
}

} // namespace

TEST(DtypeTest, HalfToFloatKnownValues) {
  EXPECT_EQ(bitsOf(halfToFloat(0x0000)), 0x00000000u);
  EXPECT_EQ(bitsOf(halfToFloat(0x8000)), 0x80000000u); // -0
  EXPECT_EQ(halfToFloat(0x3C00), 1.0f);
  EXPECT_EQ(halfToFloat(0xC000), -2.0f);
  EXPECT_EQ(halfToFloat(0x3555), 0.333251953125f);
  EXPECT_EQ(halfToFloat(0x7BFF), 65504.0f);
  EXPECT_EQ(halfToFloat(0x0400), std::ldexp(1.0f, -14)); // smallest normal
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24)); // smallest subnormal
  EXPECT_EQ(halfToFloat(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_EQ(halfToFloat(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(halfToFloat(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(halfToFloat(0xFC00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(halfToFloat(0x7E00)));
  EXPECT_TRUE(std::isnan(halfToFloat(0x7C01))); // signalling payload kept
  EXPECT_TRUE(std::signbit(halfToFloat(0xFE00)));
}

TEST(DtypeTest, HalfToFloatMatchesDefinitionForEveryValue) {
  for (uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
    float value = halfToFloat(static_cast<uint16_t>(bits));
    double expected = referenceHalf(static_cast<uint16_t>(bits));
    if (std::isnan(expected)) {
      EXPECT_TRUE(std::isnan(value)) << std::hex << bits;
    } else {
      EXPECT_EQ(static_cast<double>(value), expected) << std::hex << bits;
      EXPECT_EQ(std::signbit(value), (bits & 0x8000) != 0) << std::hex << bits;
    }
  }
}

TEST(DtypeTest, HalfRoundTripsEveryValue) {
  for (uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
    uint16_t half = static_cast<uint16_t>(bits);
    uint16_t back = floatToHalf(halfToFloat(half));
    if (isHalfNaN(half)) {
      EXPECT_TRUE(isHalfNaN(back)) << std::hex << bits;
      EXPECT_EQ(back & 0x8000, half & 0x8000) << std::hex << bits;
    } else {
      EXPECT_EQ(back, half) << std::hex << bits;
    }
  }
}

TEST(DtypeTest, FloatToHalfRoundsToNearestEven) {
  const float ulp1 = std::ldexp(1.0f, -10);        // spacing of halves near 1
  EXPECT_EQ(floatToHalf(1.0f + ulp1 / 2), 0x3C00); // tie -> even
  EXPECT_EQ(floatToHalf(1.0f + 3 * ulp1 / 2), 0x3C02); // tie -> even
  EXPECT_EQ(floatToHalf(std::nextafter(1.0f + ulp1 / 2, 2.0f)), 0x3C01);
  EXPECT_EQ(floatToHalf(std::nextafter(1.0f + ulp1 / 2, 0.0f)), 0x3C00);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7BFF);
  EXPECT_EQ(floatToHalf(65519.0f), 0x7BFF);
  EXPECT_EQ(floatToHalf(65520.0f), 0x7C00); // tie with 65536 -> infinity
  EXPECT_EQ(floatToHalf(1e10f), 0x7C00);
  EXPECT_EQ(floatToHalf(-1e10f), 0xFC00);
  EXPECT_EQ(floatToHalf(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(floatToHalf(-0.0f), 0x8000);
  // Subnormal results count units of 2^-24.
  const float unit = std::ldexp(1.0f, -24);
  EXPECT_EQ(floatToHalf(unit), 0x0001);
  EXPECT_EQ(floatToHalf(unit / 2), 0x0000); // tie -> even (zero)
  EXPECT_EQ(floatToHalf(-unit / 2), 0x8000);
  EXPECT_EQ(floatToHalf(std::nextafter(unit / 2, 1.0f)), 0x0001);
  EXPECT_EQ(floatToHalf(1.5f * unit), 0x0002);    // tie -> even
  EXPECT_EQ(floatToHalf(2.5f * unit), 0x0002);    // tie -> even
  EXPECT_EQ(floatToHalf(1023.5f * unit), 0x0400); // rounds up into normals
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -14)), 0x0400);
  EXPECT_EQ(floatToHalf(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(floatToHalf(1e-30f), 0x0000);
}

TEST(DtypeTest, FloatToHalfKeepsNaN) {
  uint16_t quiet = floatToHalf(std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE(isHalfNaN(quiet));
  // A NaN whose payload sits only in the low float bits must not become inf.
  EXPECT_TRUE(isHalfNaN(floatToHalf(fromBits(0x7F800001u))));
  uint16_t negative = floatToHalf(fromBits(0xFFC00000u));
  EXPECT_TRUE(isHalfNaN(negative));
  EXPECT_EQ(negative & 0x8000, 0x8000);
}

TEST(DtypeTest, FloatToHalfMatchesCompilerConversion) {
#if defined(__FLT16_MAX__)
  // The compiler's _Float16 conversion is IEEE round-to-nearest-even.
  std::mt19937 random(1234);
  for (int i = 0; i < 2000000; ++i) {
    // Bias towards the half range so that subnormals and overflow are hit.
    uint32_t bits = random();
    if (i % 2)
      bits = (bits & 0x807FFFFFu) | ((0x60u + (bits >> 23) % 0x40u) << 23);
    float value = fromBits(bits);
    if (std::isnan(value))
      continue;
    _Float16 converted = static_cast<_Float16>(value);
    uint16_t expected;
    std::memcpy(&expected, &converted, 2);
    ASSERT_EQ(floatToHalf(value), expected) << std::hexfloat << value;
  }
#else
  GTEST_SKIP() << "this compiler has no _Float16";
#endif
}

TEST(DtypeTest, Bfloat16KnownValues) {
  EXPECT_EQ(bfloat16ToFloat(0x3F80), 1.0f);
  EXPECT_EQ(bfloat16ToFloat(0xC049), -3.140625f);
  EXPECT_EQ(bfloat16ToFloat(0x0001), std::ldexp(1.0f, -133)); // subnormal
  EXPECT_EQ(bfloat16ToFloat(0x7F7F), 0x1.FEp127f);
  EXPECT_EQ(bfloat16ToFloat(0xFF80), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(bfloat16ToFloat(0x7FC0)));
  EXPECT_TRUE(std::isnan(bfloat16ToFloat(0x7F81)));
  EXPECT_EQ(bitsOf(bfloat16ToFloat(0x8000)), 0x80000000u);
}

TEST(DtypeTest, Bfloat16RoundTripsEveryValue) {
  for (uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
    uint16_t value = static_cast<uint16_t>(bits);
    float decoded = bfloat16ToFloat(value);
    EXPECT_EQ(bitsOf(decoded), bits << 16);
    uint16_t back = floatToBfloat16(decoded);
    if (isBfloat16NaN(value))
      EXPECT_TRUE(isBfloat16NaN(back)) << std::hex << bits;
    else
      EXPECT_EQ(back, value) << std::hex << bits;
  }
}

TEST(DtypeTest, FloatToBfloat16RoundsToNearestEven) {
  EXPECT_EQ(floatToBfloat16(fromBits(0x3F808000u)), 0x3F80); // tie -> even
  EXPECT_EQ(floatToBfloat16(fromBits(0x3F818000u)), 0x3F82); // tie -> even
  EXPECT_EQ(floatToBfloat16(fromBits(0x3F808001u)), 0x3F81);
  EXPECT_EQ(floatToBfloat16(fromBits(0x3F807FFFu)), 0x3F80);
  EXPECT_EQ(floatToBfloat16(std::numeric_limits<float>::max()), 0x7F80);
  EXPECT_EQ(floatToBfloat16(fromBits(0x00008000u)), 0x0000); // subnormal tie
  EXPECT_EQ(floatToBfloat16(fromBits(0x00018000u)), 0x0002);
  EXPECT_EQ(floatToBfloat16(-0.0f), 0x8000);
  // NaN payloads in the low bits only must stay NaN, not turn into inf.
  EXPECT_TRUE(isBfloat16NaN(floatToBfloat16(fromBits(0x7F800001u))));
  EXPECT_TRUE(isBfloat16NaN(floatToBfloat16(fromBits(0xFFFFFFFFu))));
}
