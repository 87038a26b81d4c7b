//===- GeometryTest.cpp - The device kernels' launch geometry -------------===//
//
// Plain C++ (ssm/device/geometry.h), shared by the kernels and the emitter.
//
//===----------------------------------------------------------------------===//

#include "ssm/device/geometry.h"

#include <gtest/gtest.h>

#include <set>
#include <utility>

using namespace ssm::device::geometry;

namespace {

// Every (head, query block) of the grid exactly once, for head groups that
// divide the heads and groups that leave a smaller last one.
TEST(AttentionBlockOrder, VisitsEveryBlockOnce) {
  for (unsigned blocks : {1u, 3u, 16u})
    for (unsigned heads : {1u, 5u, 16u})
      for (unsigned group = 1; group <= heads; ++group)
        for (bool longestFirst : {false, true}) {
          std::set<std::pair<unsigned, unsigned>> seen;
          for (unsigned linear = 0; linear < blocks * heads; ++linear) {
            AttentionBlock block =
                attentionBlockAt(linear, blocks, heads, group, longestFirst);
            ASSERT_LT(block.head, heads);
            ASSERT_LT(block.queryBlock, blocks);
            seen.insert({block.head, block.queryBlock});
          }
          EXPECT_EQ(seen.size(), blocks * heads)
              << blocks << " blocks, " << heads << " heads, group " << group;
        }
}

// Longest first: the grid's first blocks are the last query blocks of the
// first group's heads; a group's blocks come before the next group's.
TEST(AttentionBlockOrder, LongestFirstWithinHeadGroups) {
  const unsigned blocks = 4, heads = 6, group = 4;
  AttentionBlock first = attentionBlockAt(0, blocks, heads, group, true);
  EXPECT_EQ(first.head, 0u);
  EXPECT_EQ(first.queryBlock, 3u);
  AttentionBlock fourth = attentionBlockAt(3, blocks, heads, group, true);
  EXPECT_EQ(fourth.head, 3u);
  EXPECT_EQ(fourth.queryBlock, 3u);
  AttentionBlock lastOfGroup = attentionBlockAt(15, blocks, heads, group, true);
  EXPECT_EQ(lastOfGroup.head, 3u);
  EXPECT_EQ(lastOfGroup.queryBlock, 0u);
  // The second group has two heads.
  AttentionBlock secondGroup = attentionBlockAt(17, blocks, heads, group, true);
  EXPECT_EQ(secondGroup.head, 5u);
  EXPECT_EQ(secondGroup.queryBlock, 3u);
  EXPECT_EQ(attentionBlockAt(17, blocks, heads, group, false).queryBlock, 0u);
}

// Head groups hold what fits in the L2 share: all heads of a short
// sequence, fewer for a long one, never none.
TEST(AttentionBlockOrder, HeadGroupsFitL2) {
  const long long rowBytes = (128 + 128) * 2;
  EXPECT_EQ(attentionHeadGroup(2048, rowBytes, 16), 16);
  EXPECT_EQ(attentionHeadGroup(65536, rowBytes, 16),
            static_cast<int>(kAttentionL2Bytes / (65536 * rowBytes)));
  EXPECT_EQ(attentionHeadGroup(1ll << 30, rowBytes, 16), 1);
  EXPECT_EQ(attentionHeadGroup(0, rowBytes, 16), 16);
}

} // namespace
