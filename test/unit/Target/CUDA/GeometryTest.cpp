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

// The projection tiles' order visits every tile once, for grids of whole
// and partial groups of rows.
TEST(ProjectionTileOrder, EveryTileOnce) {
  for (unsigned rowTiles : {1u, 5u, 16u, 17u, 40u})
    for (unsigned columnTiles : {1u, 3u, 83u}) {
      std::set<std::pair<unsigned, unsigned>> seen;
      for (unsigned linear = 0; linear < rowTiles * columnTiles; ++linear) {
        ProjectionTile tile = projectionTileAt(linear, rowTiles, columnTiles);
        ASSERT_LT(tile.row, rowTiles);
        ASSERT_LT(tile.column, columnTiles);
        seen.insert({tile.row, tile.column});
      }
      EXPECT_EQ(seen.size(), rowTiles * columnTiles)
          << rowTiles << " x " << columnTiles;
    }
}

// Blocks in launch order stay within a group of rows: the first
// kProjectionGroupRows blocks are one column of the first group's rows, the
// next ones its next column; the last group may be short.
TEST(ProjectionTileOrder, GroupsOfRowsAColumnAtATime) {
  const unsigned rowTiles = 20, columnTiles = 4;
  EXPECT_EQ(projectionTileAt(0, rowTiles, columnTiles).row, 0u);
  EXPECT_EQ(projectionTileAt(kProjectionGroupRows - 1, rowTiles, columnTiles).row,
            kProjectionGroupRows - 1);
  ProjectionTile next = projectionTileAt(kProjectionGroupRows, rowTiles, columnTiles);
  EXPECT_EQ(next.row, 0u);
  EXPECT_EQ(next.column, 1u);
  // The second group holds rows 16..19: four blocks a column.
  const unsigned second = kProjectionGroupRows * columnTiles;
  ProjectionTile shortGroup = projectionTileAt(second + 5, rowTiles, columnTiles);
  EXPECT_EQ(shortGroup.row, kProjectionGroupRows + 1);
  EXPECT_EQ(shortGroup.column, 1u);
}

// Decode's projections split their work over enough blocks to stream W on
// every SM: the matrix-vector form by columns, the few-row form by K (each
// split at least kProjectionMinSplitSteps steps of 64, the splits filling
// the waves of kProjectionFewSlots blocks best, none of them empty).
TEST(ProjectionSplits, EnoughBlocks) {
  EXPECT_EQ(projectionVectorSplit(10576), 4);  // 83 column blocks
  EXPECT_EQ(projectionVectorSplit(5120), 8);   // 40
  EXPECT_EQ(projectionVectorSplit(2560), 16);  // 20
  EXPECT_EQ(projectionVectorSplit(300), 16);   // at most 16
  EXPECT_EQ(projectionVectorSplit(50280), 4);  // at least 4
  EXPECT_EQ(projectionSplits(10576, 2560), 3); // 42 blocks: 126 of 132 slots
  EXPECT_EQ(projectionSplits(2560, 5120), 12); // 10 blocks, 80 steps of 7
  EXPECT_EQ(projectionSplits(50280, 2560), 2); // 197 blocks: 394 of 396
  EXPECT_EQ(projectionSplits(300, 200), 1);    // 4 steps: too few to split
  EXPECT_EQ(projectionSplits(300, 1544), 5);   // 25 steps, 6 ways: 5 of 5
}

} // namespace
