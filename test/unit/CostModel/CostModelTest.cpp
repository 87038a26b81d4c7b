//===- CostModelTest.cpp - Unit tests of the ssm.mix cost model -----------===//
//
// Checks FLOP counts against hand computations, legality, chunk sizes, the
// choices on known shapes, and target files.
//
//===----------------------------------------------------------------------===//

#include "ssm/CostModel/CostModel.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <algorithm>

using namespace ssm::cost;

namespace {

/// A fixed 2-core AVX-512 CPU, so that formula checks do not depend on the
/// machine running the tests.
TargetDescription testCpu() {
  TargetDescription t;
  t.name = "test-cpu";
  t.kind = TargetKind::Cpu;
  t.cores = 2;
  t.vectorLanes = 16;
  t.matrixFlops = {100e9, 100e9, 100e9};
  t.vectorFlops = {100e9, 100e9, 100e9};
  t.specialOpsPerSecond = 4e9;
  t.memoryBandwidth = 20e9;
  t.l1Bytes = 32 << 10;
  t.l2Bytes = 1 << 20;
  t.l3Bytes = 32 << 20;
  t.memoryOverlap = 0.75;
  t.quadratic = {0.5, 0.5, 0};
  t.recurrent = {0.5, 0.5, 0};
  t.chunked = {0.5, 0.5, 0};
  return t;
}

/// The 2-core AVX-512 Zen 5 VM this project's CPU figures come from, as
/// detectHostTarget() describes it (5.19 GHz · 2 FMA · 16 lanes · 2 cores),
/// fixed so that the tests do not depend on the machine that runs them.
TargetDescription zen5Host() {
  TargetDescription t;
  t.name = "zen5-host";
  t.kind = TargetKind::Cpu;
  t.cores = 2;
  t.vectorLanes = 16;
  t.clockHz = 5.192e9;
  double peak = 2 * 2 * 16 * 2 * t.clockHz;
  t.matrixFlops = {peak, peak, peak};
  t.vectorFlops = {peak, peak, peak};
  t.specialOpsPerSecond = peak / 24;
  t.memoryBandwidth = 20e9;
  t.l1Bytes = 48 << 10;
  t.l2Bytes = 1 << 20;
  t.l3Bytes = 32 << 20;
  t.unitOverlap = 0;
  t.memoryOverlap = 0.8;
  t.quadratic = {0.75, 0.5, 2e-7};
  t.recurrent = {0.5, 0.75, 2e-9};
  t.chunked = {0.65, 0.5, 5e-7};
  return t;
}

MixShape linearShape(int64_t length, int64_t heads, int64_t n, int64_t p) {
  MixShape s;
  s.length = length;
  s.numHeads = s.numQueryHeads = s.numKeyHeads = s.numValueHeads = heads;
  s.stateSize = n;
  s.valueHeadDim = p;
  return s;
}

/// Mamba-2 SSD: q = C, k = B in `groups` groups, x over `heads` heads.
MixShape ssd(int64_t batch, int64_t length, int64_t heads, int64_t p, int64_t n,
             int64_t groups = 1) {
  MixShape s;
  s.batch = batch;
  s.length = length;
  s.numHeads = s.numValueHeads = heads;
  s.numQueryHeads = s.numKeyHeads = groups;
  s.stateSize = n;
  s.valueHeadDim = p;
  s.decay = Decay::Scalar;
  return s;
}

/// Mamba-1 selective scan: channels as heads with P = 1, diagonal A.
MixShape mamba1(int64_t batch, int64_t length, int64_t channels, int64_t n) {
  MixShape s;
  s.batch = batch;
  s.length = length;
  s.numHeads = s.numValueHeads = channels;
  s.numQueryHeads = s.numKeyHeads = 1;
  s.stateSize = n;
  s.valueHeadDim = 1;
  s.decay = Decay::Diagonal;
  return s;
}

MixShape causalSoftmax(int64_t length, int64_t heads, int64_t dim) {
  MixShape s = linearShape(length, heads, dim, dim);
  s.score = Score::Softmax;
  return s;
}

const Estimate *find(const std::vector<Estimate> &estimates,
                     Algorithm algorithm, int64_t chunkSize = 0) {
  for (const Estimate &e : estimates)
    if (e.algorithm == algorithm && e.chunkSize == chunkSize)
      return &e;
  return nullptr;
}

const Estimate *bestChunked(const std::vector<Estimate> &estimates) {
  const Estimate *best = nullptr;
  for (const Estimate &e : estimates)
    if (e.algorithm == Algorithm::Chunked &&
        (!best || e.seconds < best->seconds))
      best = &e;
  return best;
}

/// The estimate table, printed into failure messages and the test log.
std::string table(const std::vector<Estimate> &estimates) {
  std::string text;
  llvm::raw_string_ostream os(text);
  printEstimates(os, estimates, choose(estimates));
  return text;
}

std::vector<Estimate> estimateAndPrint(const char *title, const MixShape &s,
                                       const TargetDescription &t) {
  std::vector<Estimate> estimates = estimateAll(s, t);
  llvm::outs() << title << " on " << t.name << ":\n" << table(estimates);
  llvm::outs().flush();
  return estimates;
}

} // namespace

//===----------------------------------------------------------------------===//
// FLOP formulas, checked by hand
//===----------------------------------------------------------------------===//

TEST(CostModelFormulas, RecurrentWithoutDecay) {
  // B1 L10 H2 (q, k: 1 head) N4 P16: per token and head 4·N·P = 256 (two
  // fmas per state element), 20 token-heads.
  MixShape s = linearShape(10, 2, 4, 16);
  s.numQueryHeads = s.numKeyHeads = 1;
  Estimate e = estimate(s, testCpu(), Algorithm::Recurrent);
  EXPECT_DOUBLE_EQ(e.vectorFlops, 4.0 * 4 * 16 * 20);
  EXPECT_DOUBLE_EQ(e.matrixFlops, 0);
  EXPECT_DOUBLE_EQ(e.specialOps, 0);
  EXPECT_EQ(e.depth, 10);
  EXPECT_EQ(e.workItems, 2);
  // q, k: 10·4 each; v, y: 10·2·16 each; 4 bytes an element.
  EXPECT_DOUBLE_EQ(e.bytes, 4.0 * (40 + 40 + 320 + 320));
}

TEST(CostModelFormulas, RecurrentScalarDecay) {
  // 5·N·P per token-head, plus exp(dt·A) (1 mul, 1 exp) per token-head.
  MixShape s = ssd(1, 10, 2, 16, 4);
  Estimate e = estimate(s, testCpu(), Algorithm::Recurrent);
  EXPECT_DOUBLE_EQ(e.vectorFlops, 5.0 * 4 * 16 * 20 + 20);
  EXPECT_DOUBLE_EQ(e.specialOps, 20);
  EXPECT_EQ(e.workItems, 2);
}

TEST(CostModelFormulas, RecurrentDiagonalLanesOverHeads) {
  // Mamba-1, 32 channels sharing B and C: lanes run over 16 channels, so 2
  // work items; per token-channel 5·N·1 plus N exps (and their N muls).
  MixShape s = mamba1(1, 8, 32, 4);
  Estimate e = estimate(s, testCpu(), Algorithm::Recurrent);
  EXPECT_EQ(e.workItems, 2);
  EXPECT_DOUBLE_EQ(e.vectorFlops, 5.0 * 4 * 8 * 32 + 4.0 * 8 * 32);
  EXPECT_DOUBLE_EQ(e.specialOps, 4.0 * 8 * 32);
  EXPECT_EQ(e.depth, 8);
}

TEST(CostModelFormulas, RecurrentDecodeStepLanesOverStateRows) {
  // Mamba-1 at one position: the CPU kernel runs lanes over the 16 state
  // rows, one work item a channel (not 16-channel groups), full lanes.
  MixShape s = mamba1(1, 1, 32, 16);
  Estimate e = estimate(s, testCpu(), Algorithm::Recurrent);
  EXPECT_EQ(e.workItems, 32);
  EXPECT_EQ(e.depth, 1);
  EXPECT_EQ(e.note.find("lanes"), std::string::npos) << e.note;
  // N = 4 fills a quarter of the lanes.
  Estimate narrow = estimate(mamba1(1, 1, 32, 4), testCpu(), Algorithm::Recurrent);
  EXPECT_NE(narrow.note.find("4 of 16 lanes"), std::string::npos) << narrow.note;
}

TEST(CostModelFormulas, ChunkedMatmulsAndTriangles) {
  // L64 Q32 N16 P16, no decay, 2 chunks. Per chunk (16-lane micro-kernel):
  //   C·Bᵀ  [32×32]·16: tiles of 8 rows × 32 columns cover the whole block
  //         (the triangle saves nothing at Q = 32): 2·32·32·16 = 32768
  //   S·X   [32×16]·32, A lower-triangular: rows of 8 read 8, 16, 24, 32
  //         keys: 2·8·16·(8+16+24+32) = 20480
  //   C·S   2·32·16·16 = 16384;  Bᵀ·X  2·16·16·32 = 16384
  // and the mask loop selects over 32·32 scores.
  MixShape s = linearShape(64, 1, 16, 16);
  Estimate e = estimate(s, testCpu(), Algorithm::Chunked, 32);
  EXPECT_DOUBLE_EQ(e.matrixFlops, 2 * (32768.0 + 20480 + 16384 + 16384));
  EXPECT_DOUBLE_EQ(e.vectorFlops, 2 * 1024.0);
  EXPECT_DOUBLE_EQ(e.specialOps, 0);
  EXPECT_EQ(e.depth, 2);
  EXPECT_EQ(e.workItems, 1);
  EXPECT_EQ(e.chunkSize, 32);
}

TEST(CostModelFormulas, ChunkedLowerTriangleAtQ64) {
  // Q64: C·Bᵀ tiles are 8 rows × 32 columns; row blocks 0–3 need one column
  // tile, 4–7 two: (4·32 + 4·64)·8 of 64·64 scores, i.e. 3/4 of the block.
  // S·X: rows of 8 read 8, 16, …, 64 keys: 288 of 8·64 = 9/16.
  MixShape s = linearShape(64, 1, 16, 16);
  Estimate e = estimate(s, testCpu(), Algorithm::Chunked, 64);
  double scores = 2.0 * 64 * 64 * 16 * 3 / 4;
  double intra = 2.0 * 64 * 16 * 64 * 9 / 16;
  double stateProducts = 2 * (2.0 * 64 * 16 * 16);
  EXPECT_DOUBLE_EQ(e.matrixFlops, scores + intra + stateProducts);
}

TEST(CostModelFormulas, ChunkedScalarDecayExponentials) {
  // Per chunk: the Q×Q decay mask (sub, mul, select and an exp per score),
  // cumulative sums (2Q), decayed values (Q·P), decayed state (N·P); exps:
  // Q² + Q (row scales) + Q (value weights) + 1 (chunk decay).
  MixShape s = ssd(1, 64, 1, 16, 16);
  Estimate e = estimate(s, testCpu(), Algorithm::Chunked, 32);
  EXPECT_DOUBLE_EQ(e.vectorFlops,
                   2 * (3.0 * 1024 + 2 * 32 + 32 * 16 + 16 * 16));
  EXPECT_DOUBLE_EQ(e.specialOps, 2 * (1024.0 + 64 + 1));
}

TEST(CostModelFormulas, QuadraticCausalSoftmax) {
  // L128 → 2 query blocks visiting 1 and 2 key tiles: 3 tiles of 64×64.
  // Per tile: Q·Kᵀ 2·64·64·16 and S·V 2·64·64·16; per score a mask select,
  // max, sub, add and an exp; per row a correction exp and 16 rescales.
  MixShape s = causalSoftmax(128, 1, 16);
  Estimate e = estimate(s, testCpu(), Algorithm::Quadratic);
  EXPECT_DOUBLE_EQ(e.matrixFlops, 3 * (2.0 * 4096 * 16 * 2));
  EXPECT_DOUBLE_EQ(e.vectorFlops, 3 * (4096.0 * 4 + 64 * 16));
  EXPECT_DOUBLE_EQ(e.specialOps, 3 * (4096.0 + 64));
  EXPECT_EQ(e.depth, 2);
  EXPECT_EQ(e.workItems, 2);
}

TEST(CostModelFormulas, QuadraticMasksCountTiles) {
  MixShape s = linearShape(256, 1, 16, 16);
  double perTile = 2.0 * 4096 * 32;
  s.mask = Mask::Full; // 4 query blocks × 4 key tiles.
  EXPECT_DOUBLE_EQ(estimate(s, testCpu(), Algorithm::Quadratic).matrixFlops,
                   16 * perTile);
  s.mask = Mask::Causal; // 1 + 2 + 3 + 4.
  EXPECT_DOUBLE_EQ(estimate(s, testCpu(), Algorithm::Quadratic).matrixFlops,
                   10 * perTile);
  // A window of 64 keys reaches into the previous key tile: 1 + 2 + 2 + 2.
  s.mask = Mask::Window;
  s.window = 64;
  Estimate windowed = estimate(s, testCpu(), Algorithm::Quadratic);
  EXPECT_DOUBLE_EQ(windowed.matrixFlops, 7 * perTile);
  EXPECT_EQ(windowed.depth, 2);
}

TEST(CostModelFormulas, QuadraticQueriesAgainstACache) {
  // 64 queries at positions 4032..4095 of 4096 keys: one block of query rows
  // visits every key tile up to its last position (O(Lq·Lk), not O(Lq²)).
  MixShape s = causalSoftmax(64, 1, 16);
  s.keyLength = 4096;
  double perTile = 2.0 * 4096 * 16 * 2;
  Estimate causal = estimate(s, testCpu(), Algorithm::Quadratic);
  EXPECT_DOUBLE_EQ(causal.matrixFlops, 64 * perTile);
  EXPECT_EQ(causal.depth, 64);
  EXPECT_EQ(causal.workItems, 1);
  // q and y of 64 tokens, k and v of 4096: 16 elements each, 4 bytes.
  EXPECT_DOUBLE_EQ(causal.bytes, 4.0 * 16 * (2 * 64 + 2 * 4096));
  // A window of 128 reaches back from position 4032 into tile 61: 3 tiles.
  s.mask = Mask::Window;
  s.window = 128;
  EXPECT_DOUBLE_EQ(estimate(s, testCpu(), Algorithm::Quadratic).matrixFlops,
                   3 * perTile);
  // Decode: a single query still fills one 64-row block.
  s = causalSoftmax(1, 1, 16);
  s.keyLength = 256;
  EXPECT_DOUBLE_EQ(estimate(s, testCpu(), Algorithm::Quadratic).matrixFlops,
                   4 * perTile);
}

TEST(CostModelFormulas, QuadraticDiagonalDecayHasNoMatmulForm) {
  // Scores are Σ_n q k exp(…): 4N vector FLOPs and N exps per score; only
  // S·V stays a matmul. Much slower than the recurrence, and said so.
  MixShape s = mamba1(1, 128, 16, 16);
  Estimate e = estimate(s, testCpu(), Algorithm::Quadratic);
  double tiles = 3 * 16; // 3 tiles per channel.
  EXPECT_DOUBLE_EQ(e.matrixFlops, tiles * 2.0 * 64 * 1 * 64);
  EXPECT_DOUBLE_EQ(e.specialOps, tiles * 4096.0 * 16);
  EXPECT_NE(e.note.find("no matmul form"), std::string::npos) << e.note;
  Estimate recurrent = estimate(s, testCpu(), Algorithm::Recurrent);
  EXPECT_GT(e.seconds, 10 * recurrent.seconds);
}

TEST(CostModelFormulas, TimeCombinesTheTerms) {
  // One work item on 2 cores runs at half the machine's rate; CPU unit
  // times add; the total is max(compute, memory) plus the unhidden quarter
  // of the shorter one plus depth · step.
  TargetDescription t = testCpu();
  t.recurrent.stepSeconds = 1e-6;
  MixShape s = ssd(1, 10, 1, 16, 4);
  Estimate e = estimate(s, t, Algorithm::Recurrent);
  EXPECT_EQ(e.workItems, 1);
  double vectorRate = 100e9 * 0.5 * 0.5;
  EXPECT_DOUBLE_EQ(e.vectorSeconds, e.vectorFlops / vectorRate);
  EXPECT_DOUBLE_EQ(e.specialSeconds, e.specialOps / (4e9 * 0.5 * 0.5));
  EXPECT_DOUBLE_EQ(e.computeSeconds, e.vectorSeconds + e.specialSeconds);
  EXPECT_DOUBLE_EQ(e.memorySeconds, e.bytes / 20e9);
  EXPECT_DOUBLE_EQ(e.latencySeconds, 10 * 1e-6);
  EXPECT_DOUBLE_EQ(e.seconds,
                   std::max(e.computeSeconds, e.memorySeconds) +
                       0.25 * std::min(e.computeSeconds, e.memorySeconds) +
                       10e-6);
  EXPECT_EQ(e.note, "latency-bound");
}

TEST(CostModelFormulas, BF16HalvesTheBytes) {
  MixShape s = ssd(1, 256, 4, 16, 16);
  double f32Bytes = estimate(s, testCpu(), Algorithm::Recurrent).bytes;
  s.elementType = ElementType::BF16;
  EXPECT_DOUBLE_EQ(estimate(s, testCpu(), Algorithm::Recurrent).bytes,
                   f32Bytes / 2);
}

//===----------------------------------------------------------------------===//
// Legality and candidates
//===----------------------------------------------------------------------===//

static std::vector<Algorithm> algorithmsOf(const std::vector<Estimate> &list) {
  std::vector<Algorithm> algorithms;
  for (const Estimate &e : list)
    if (algorithms.empty() || algorithms.back() != e.algorithm)
      algorithms.push_back(e.algorithm);
  return algorithms;
}

TEST(CostModelLegality, SoftmaxIsQuadraticOnly) {
  std::vector<Estimate> list =
      estimateAll(causalSoftmax(512, 2, 16), testCpu());
  EXPECT_EQ(algorithmsOf(list), std::vector<Algorithm>{Algorithm::Quadratic});
  std::optional<std::string> why =
      whyIllegal(causalSoftmax(8, 1, 4), Algorithm::Recurrent);
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, "algorithm 'recurrent' is illegal for score 'softmax' (no "
                  "finite-state form); use 'quadratic'");
}

TEST(CostModelLegality, DiagonalDecayHasNoChunked) {
  std::vector<Estimate> list = estimateAll(mamba1(1, 512, 32, 16), testCpu());
  EXPECT_EQ(algorithmsOf(list), (std::vector<Algorithm>{Algorithm::Quadratic,
                                                        Algorithm::Recurrent}));
  EXPECT_TRUE(whyIllegal(mamba1(1, 8, 16, 4), Algorithm::Chunked));
}

TEST(CostModelLegality, WindowAndFullAreQuadraticOnly) {
  MixShape s = linearShape(512, 2, 16, 16);
  s.mask = Mask::Window;
  s.window = 128;
  EXPECT_EQ(algorithmsOf(estimateAll(s, testCpu())),
            std::vector<Algorithm>{Algorithm::Quadratic});
  std::optional<std::string> why = whyIllegal(s, Algorithm::Chunked);
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, "algorithm 'chunked' needs a causal mask, got 'window'; use "
                  "'quadratic'");
  s.mask = Mask::Full;
  EXPECT_EQ(algorithmsOf(estimateAll(s, testCpu())),
            std::vector<Algorithm>{Algorithm::Quadratic});
}

TEST(CostModelLegality, QueriesAgainstACacheAreQuadraticOnly) {
  MixShape s = linearShape(5, 2, 16, 16);
  s.keyLength = 13;
  EXPECT_EQ(algorithmsOf(estimateAll(s, testCpu())),
            std::vector<Algorithm>{Algorithm::Quadratic});
  std::optional<std::string> why = whyIllegal(s, Algorithm::Recurrent);
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, "algorithm 'recurrent' needs as many queries as keys (Lq = "
                  "Lk), got queries against a cache (Lq < Lk); use "
                  "'quadratic'");
  // As many keys as queries, spelled out, is no cache.
  s.keyLength = 5;
  EXPECT_FALSE(whyIllegal(s, Algorithm::Chunked));
}

TEST(CostModelLegality, LinearCausalHasAllThree) {
  std::vector<Estimate> list = estimateAll(ssd(1, 4096, 4, 32, 32), testCpu());
  EXPECT_EQ(algorithmsOf(list),
            (std::vector<Algorithm>{Algorithm::Quadratic, Algorithm::Recurrent,
                                    Algorithm::Chunked}));
  EXPECT_EQ(list.size(), 6u); // Four chunk sizes.
}

TEST(CostModelCandidates, ChunkSizesUpToTheLength) {
  TargetDescription cpu = testCpu();
  EXPECT_EQ(candidateChunkSizes(linearShape(1, 1, 4, 4), cpu),
            std::vector<int64_t>{32});
  EXPECT_EQ(candidateChunkSizes(linearShape(100, 1, 4, 4), cpu),
            (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(candidateChunkSizes(linearShape(256, 1, 4, 4), cpu),
            (std::vector<int64_t>{32, 64, 128, 256}));
  EXPECT_EQ(candidateChunkSizes(linearShape(4096, 1, 4, 4), cpu),
            (std::vector<int64_t>{32, 64, 128, 256}));
}

TEST(CostModelCandidates, GpuOffersTheKernelsChunks) {
  TargetDescription gpu = getH200Target();
  // 16-bit operands with head dims the tensor-core kernel takes: its 64.
  MixShape tensorCores = ssd(8, 2048, 80, 64, 128);
  tensorCores.elementType = ElementType::BF16;
  EXPECT_EQ(candidateChunkSizes(tensorCores, gpu), std::vector<int64_t>{64});
  // f32, or a value dim the tiles do not divide: the SIMT kernel's sizes.
  EXPECT_EQ(candidateChunkSizes(ssd(8, 2048, 80, 64, 128), gpu),
            (std::vector<int64_t>{16, 32, 64}));
  MixShape oddValues = ssd(1, 2048, 4, 24, 16);
  oddValues.elementType = ElementType::BF16;
  EXPECT_EQ(candidateChunkSizes(oddValues, gpu),
            (std::vector<int64_t>{16, 32, 64}));
}

TEST(CostModelCandidates, FilterRestricts) {
  MixShape s = ssd(1, 4096, 4, 32, 32);
  CandidateFilter onlyQ64;
  onlyQ64.chunkSize = 64;
  std::vector<Estimate> list = estimateAll(s, testCpu(), onlyQ64);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[2].algorithm, Algorithm::Chunked);
  EXPECT_EQ(list[2].chunkSize, 64);

  CandidateFilter chunked;
  chunked.algorithm = Algorithm::Chunked;
  std::optional<Estimate> best = choose(s, testCpu(), chunked);
  ASSERT_TRUE(best);
  EXPECT_EQ(best->algorithm, Algorithm::Chunked);
  EXPECT_GT(best->chunkSize, 0);

  CandidateFilter illegal;
  illegal.algorithm = Algorithm::Recurrent;
  EXPECT_FALSE(choose(causalSoftmax(64, 1, 16), testCpu(), illegal));
}

TEST(CostModelCandidates, ChooseTakesTheCheapest) {
  std::vector<Estimate> list = estimateAll(ssd(1, 2048, 8, 64, 64), testCpu());
  const Estimate *best = choose(list);
  ASSERT_TRUE(best);
  for (const Estimate &e : list)
    EXPECT_LE(best->seconds, e.seconds);
  EXPECT_EQ(choose(std::vector<Estimate>{}), nullptr);
}

//===----------------------------------------------------------------------===//
// Choices on known shapes
//===----------------------------------------------------------------------===//

TEST(CostModelHost, Mamba2LayerRecurrentAndChunkedAreClose) {
  // d_state 128, head_dim 64, 24 heads, 1 group, L 2048. On a CPU both
  // forms run on the FMA pipes, and the recurrence does fewer FLOPs.
  std::vector<Estimate> list =
      estimateAndPrint("Mamba-2 B1 L2048 H24 P64 N128",
                       ssd(1, 2048, 24, 64, 128), zen5Host());
  const Estimate *recurrent = find(list, Algorithm::Recurrent);
  const Estimate *chunked = bestChunked(list);
  ASSERT_TRUE(recurrent && chunked);
  double ratio = recurrent->seconds / chunked->seconds;
  EXPECT_GT(ratio, 0.5) << table(list);
  EXPECT_LT(ratio, 2.0) << table(list);
  EXPECT_LT(recurrent->vectorFlops,
            chunked->matrixFlops + chunked->vectorFlops);
  EXPECT_NE(choose(list)->algorithm, Algorithm::Quadratic) << table(list);
}

TEST(CostModelHost, Mamba1IsRecurrent) {
  std::vector<Estimate> list =
      estimateAndPrint("Mamba-1 B1 D1536 N16 L2048", mamba1(1, 2048, 1536, 16),
                       zen5Host());
  EXPECT_EQ(choose(list)->algorithm, Algorithm::Recurrent) << table(list);
}

TEST(CostModelHost, CausalSoftmaxIsQuadratic) {
  std::vector<Estimate> list =
      estimateAndPrint("softmax B1 H8 L2048 E64", causalSoftmax(2048, 8, 64),
                       zen5Host());
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(choose(list)->algorithm, Algorithm::Quadratic);
}

TEST(CostModelHost, LongLinearAttentionAvoidsQuadratic) {
  std::vector<Estimate> list =
      estimateAndPrint("linear attention B1 H8 L16384 N16 P16",
                       linearShape(16384, 8, 16, 16), zen5Host());
  EXPECT_NE(choose(list)->algorithm, Algorithm::Quadratic) << table(list);
}

TEST(CostModelHost, TinyShapesHaveAnAnswer) {
  std::vector<Estimate> list =
      estimateAndPrint("linear attention B1 H2 L64 N16 P16",
                       linearShape(64, 2, 16, 16), zen5Host());
  ASSERT_EQ(list.size(), 4u); // quadratic, recurrent, chunked 32 and 64.
  for (const Estimate &e : list)
    EXPECT_GT(e.seconds, 0);
}

TEST(CostModelH100, SsdFromL512IsChunked) {
  for (int64_t length : {512, 2048, 4096, 16384}) {
    MixShape s = ssd(1, length, 80, 64, 128);
    s.elementType = ElementType::BF16;
    std::vector<Estimate> list = estimateAll(s, getH100Target());
    EXPECT_EQ(choose(list)->algorithm, Algorithm::Chunked)
        << "L" << length << " bf16\n"
        << table(list);
    // f32 operands run on the SIMT kernels, where the H200 measured the
    // quadratic form 25x slower than the recurrence at L4096 (and chunk 16
    // 2.5x slower): bench/gpu/results/h200-2026-12-02-f32-check.jsonl.
    s.elementType = ElementType::F32;
    list = estimateAll(s, getH100Target());
    EXPECT_NE(choose(list)->algorithm, Algorithm::Quadratic)
        << "L" << length << " f32\n"
        << table(list);
    if (length == 4096)
      EXPECT_EQ(choose(list)->algorithm, Algorithm::Recurrent) << table(list);
  }
  estimateAndPrint("SSD B8 L4096 H80 P64 N128", ssd(8, 4096, 80, 64, 128),
                   getH100Target());
}

TEST(CostModelH100, DecodeIsRecurrent) {
  MixShape s = ssd(1, 1, 80, 64, 128);
  s.hasInitialState = s.hasFinalState = true;
  std::vector<Estimate> list =
      estimateAndPrint("SSD decode B1 H80 L1", s, getH100Target());
  EXPECT_EQ(choose(list)->algorithm, Algorithm::Recurrent) << table(list);
  s.batch = 64;
  list = estimateAll(s, getH100Target());
  EXPECT_EQ(choose(list)->algorithm, Algorithm::Recurrent) << table(list);
}

TEST(CostModelH100, Mamba1IsRecurrent) {
  std::vector<Estimate> list = estimateAndPrint(
      "Mamba-1 B8 D5120 N16 L2048", mamba1(8, 2048, 5120, 16), getH100Target());
  EXPECT_EQ(choose(list)->algorithm, Algorithm::Recurrent) << table(list);
}

TEST(CostModelH200, FasterMemoryNeverSlower) {
  // At B64 the decode step's state (335 MB) outweighs its launch.
  MixShape s = ssd(64, 1, 80, 64, 128);
  s.hasInitialState = s.hasFinalState = true;
  Estimate h100 = estimate(s, getH100Target(), Algorithm::Recurrent);
  Estimate h200 = estimate(s, getH200Target(), Algorithm::Recurrent);
  EXPECT_EQ(h100.note, "memory-bound");
  EXPECT_LT(h200.seconds, h100.seconds);
}

//===----------------------------------------------------------------------===//
// Targets
//===----------------------------------------------------------------------===//

TEST(CostModelTargets, HostDetectionIsPositive) {
  TargetDescription host = detectHostTarget();
  EXPECT_EQ(host.name, "host");
  EXPECT_EQ(host.kind, TargetKind::Cpu);
  EXPECT_GT(host.cores, 0);
  EXPECT_TRUE(host.vectorLanes == 4 || host.vectorLanes == 8 ||
              host.vectorLanes == 16);
  EXPECT_GT(host.clockHz, 0);
  EXPECT_GT(host.matrixFlops.f32, 0);
  EXPECT_EQ(host.matrixFlops.f32, host.vectorFlops.f32);
  EXPECT_GT(host.specialOpsPerSecond, 0);
  EXPECT_GT(host.memoryBandwidth, 0);
  EXPECT_GT(host.l1Bytes, 0);
  EXPECT_GT(host.l2Bytes, 0);
  llvm::outs() << describe(host) << "\n";
  llvm::outs().flush();
  llvm::Expected<TargetDescription> byName = getTarget("host");
  ASSERT_TRUE(static_cast<bool>(byName)) << llvm::toString(byName.takeError());
  EXPECT_EQ(byName->cores, host.cores);
}

TEST(CostModelTargets, BuiltInGpus) {
  llvm::Expected<TargetDescription> h100 = getTarget("h100");
  ASSERT_TRUE(static_cast<bool>(h100)) << llvm::toString(h100.takeError());
  EXPECT_EQ(h100->kind, TargetKind::Gpu);
  EXPECT_EQ(h100->cores, 132);
  EXPECT_DOUBLE_EQ(h100->matrixFlops.bf16, 989e12);
  EXPECT_DOUBLE_EQ(h100->vectorFlops.f32, 67e12);
  EXPECT_DOUBLE_EQ(h100->memoryBandwidth, 3.0e12);
  llvm::Expected<TargetDescription> h200 = getTarget("h200");
  ASSERT_TRUE(static_cast<bool>(h200)) << llvm::toString(h200.takeError());
  EXPECT_GT(h200->memoryBandwidth, h100->memoryBandwidth);
  EXPECT_DOUBLE_EQ(h200->matrixFlops.bf16, h100->matrixFlops.bf16);
}

namespace {
/// Writes `text` to a fresh temporary .json file; removed on destruction.
class TempFile {
public:
  explicit TempFile(llvm::StringRef text) {
    int fd;
    std::error_code error =
        llvm::sys::fs::createTemporaryFile("ssm-target", "json", fd, path);
    EXPECT_FALSE(error) << error.message();
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << text;
  }
  ~TempFile() { llvm::sys::fs::remove(path); }
  std::string name() const { return std::string(path.str()); }

private:
  llvm::SmallString<128> path;
};

std::string jsonText(const llvm::json::Value &value) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", value);
  return text;
}

/// The error getTarget gives for a file holding `text`, or "" if none;
/// the message must name the file.
std::string errorFor(llvm::StringRef text) {
  TempFile file(text);
  llvm::Expected<TargetDescription> target = getTarget(file.name());
  if (target)
    return "";
  std::string message = llvm::toString(target.takeError());
  EXPECT_NE(message.find(file.name()), std::string::npos) << message;
  return message;
}

llvm::json::Object h100Json() { return *toJSON(getH100Target()).getAsObject(); }
} // namespace

TEST(CostModelTargets, JsonFileRoundTrips) {
  TargetDescription custom = getH100Target();
  custom.name = "my-gpu";
  custom.chunked.matrix = 0.123;
  custom.recurrent.stepSeconds = 7e-8;
  custom.quadratic.launchSeconds = 3.25e-6;
  custom.chunked.itemSeconds = 1.5e-6;
  custom.memoryBandwidth = 1.5e12;
  TempFile file(jsonText(toJSON(custom)));
  llvm::Expected<TargetDescription> target = getTarget(file.name());
  ASSERT_TRUE(static_cast<bool>(target)) << llvm::toString(target.takeError());
  EXPECT_EQ(target->name, "my-gpu");
  EXPECT_EQ(target->kind, TargetKind::Gpu);
  EXPECT_EQ(target->cores, 132);
  EXPECT_EQ(target->vectorLanes, 32);
  EXPECT_DOUBLE_EQ(target->chunked.matrix, 0.123);
  EXPECT_DOUBLE_EQ(target->recurrent.stepSeconds, 7e-8);
  EXPECT_DOUBLE_EQ(target->quadratic.launchSeconds, 3.25e-6);
  EXPECT_DOUBLE_EQ(target->chunked.itemSeconds, 1.5e-6);
  EXPECT_DOUBLE_EQ(target->memoryBandwidth, 1.5e12);
  EXPECT_DOUBLE_EQ(target->matrixFlops.f16, 989e12);
  EXPECT_EQ(target->sharedMemoryBytes, 228 * 1024);
  EXPECT_DOUBLE_EQ(target->unitOverlap, 0.5);
  EXPECT_DOUBLE_EQ(target->memoryOverlap, 0.8);
  // Same estimate as the target it was written from.
  MixShape s = ssd(2, 1024, 8, 64, 64);
  EXPECT_DOUBLE_EQ(estimate(s, *target, Algorithm::Chunked, 64).seconds,
                   estimate(s, custom, Algorithm::Chunked, 64).seconds);
}

TEST(CostModelTargets, OptionalFieldsMayBeLeftOut) {
  llvm::json::Object object = h100Json();
  object.erase("clock_hz");
  object.erase("l3_bytes");
  object.erase("shared_memory_bytes");
  object.getObject("efficiency")->getObject("chunked")->erase("launch_seconds");
  object.getObject("efficiency")->getObject("recurrent")->erase("item_seconds");
  EXPECT_EQ(errorFor(jsonText(std::move(object))), "");
}

TEST(CostModelTargets, UnknownFieldIsAnError) {
  llvm::json::Object object = h100Json();
  object["tensor_cores"] = 528;
  EXPECT_NE(errorFor(jsonText(std::move(object)))
                .find("unknown field 'tensor_cores'"),
            std::string::npos);

  llvm::json::Object nested = h100Json();
  nested.getObject("efficiency")
      ->getObject("chunked")
      ->try_emplace("occupancy", 2);
  EXPECT_NE(errorFor(jsonText(std::move(nested)))
                .find("unknown field 'efficiency.chunked.occupancy'"),
            std::string::npos);
}

TEST(CostModelTargets, MissingFieldIsAnError) {
  llvm::json::Object object = h100Json();
  object.erase("memory_bandwidth");
  EXPECT_NE(errorFor(jsonText(std::move(object)))
                .find("missing required field 'memory_bandwidth'"),
            std::string::npos);

  llvm::json::Object nested = h100Json();
  nested.getObject("efficiency")->getObject("recurrent")->erase("step_seconds");
  EXPECT_NE(errorFor(jsonText(std::move(nested)))
                .find("missing required field "
                      "'efficiency.recurrent.step_seconds'"),
            std::string::npos);

  llvm::json::Object rates = h100Json();
  rates.getObject("matrix_flops")->erase("bf16");
  EXPECT_NE(errorFor(jsonText(std::move(rates)))
                .find("missing required field 'matrix_flops.bf16'"),
            std::string::npos);
}

TEST(CostModelTargets, BadValuesAreErrors) {
  llvm::json::Object cores = h100Json();
  cores["cores"] = 0;
  EXPECT_NE(errorFor(jsonText(std::move(cores)))
                .find("field 'cores' must be an integer >= 1"),
            std::string::npos);
  llvm::json::Object kind = h100Json();
  kind["kind"] = "tpu";
  EXPECT_NE(errorFor(jsonText(std::move(kind))).find("field 'kind'"),
            std::string::npos);
  llvm::json::Object rate = h100Json();
  rate["memory_bandwidth"] = "fast";
  EXPECT_NE(errorFor(jsonText(std::move(rate)))
                .find("field 'memory_bandwidth' must be a number > 0"),
            std::string::npos);
}

TEST(CostModelTargets, MalformedJsonIsAnError) {
  EXPECT_NE(errorFor("{\"name\": \"x\", ").find("malformed JSON"),
            std::string::npos);
  EXPECT_NE(errorFor("[1, 2]").find("a target must be a JSON object"),
            std::string::npos);
}

TEST(CostModelTargets, UnknownNameIsAnError) {
  llvm::Expected<TargetDescription> target =
      getTarget("/nonexistent/dir/a100.json");
  ASSERT_FALSE(static_cast<bool>(target));
  std::string message = llvm::toString(target.takeError());
  EXPECT_NE(message.find("unknown target '/nonexistent/dir/a100.json'"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("'host', 'h100' or 'h200'"), std::string::npos);
}
