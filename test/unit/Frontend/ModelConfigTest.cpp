// Tests of the config.json reader: the shared checkpoints' configs read as
// transformers reads them, and the ways a config can be refused.
#include "ssm/Frontend/ModelConfig.h"
#include "ssm/Frontend/ModelImport.h"

#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

using namespace mlir::ssm;

namespace {

std::string configText(const std::string &model) {
  std::string path =
      std::string(SSM_TESTDATA_DIR) + "/models/" + model + "/config.json";
  auto buffer = llvm::MemoryBuffer::getFile(path);
  EXPECT_TRUE(static_cast<bool>(buffer)) << path;
  return buffer ? (*buffer)->getBuffer().str() : "";
}

ModelConfig parse(const std::string &text) {
  llvm::Expected<ModelConfig> config = parseModelConfig(text);
  if (!config) {
    ADD_FAILURE() << llvm::toString(config.takeError());
    return {};
  }
  return *config;
}

std::string refusal(const std::string &text) {
  llvm::Expected<ModelConfig> config = parseModelConfig(text);
  if (config) {
    ADD_FAILURE() << "accepted: " << text;
    return "";
  }
  return llvm::toString(config.takeError());
}

/// The shared config of `model` with `from` replaced by `to`.
std::string edited(const std::string &model, const std::string &from,
                   const std::string &to) {
  std::string text = configText(model);
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos)
    text.replace(at, from.size(), to);
  return text;
}

TEST(ModelConfigTest, Mamba2) {
  ModelConfig config = parse(configText("mamba2-tiny"));
  EXPECT_EQ(config.modelType, "mamba2");
  EXPECT_EQ(config.vocabSize, 512);
  ASSERT_EQ(config.sublayers.size(), 2u);
  const Sublayer &s = config.sublayers[1];
  EXPECT_EQ(s.kind, Sublayer::Kind::Mamba2);
  EXPECT_EQ(s.prefix, "backbone.layers.1.mixer.");
  EXPECT_EQ(s.norm, "backbone.layers.1.norm.weight");
  EXPECT_EQ(s.mamba2.numHeads, 8);
  EXPECT_EQ(s.mamba2.headDim, 32);
  EXPECT_EQ(s.mamba2.stateSize, 32);
  // time_step_limit [0.0, {"__float__": "Infinity"}].
  EXPECT_EQ(s.mamba2.timeStepLow, 0.0);
  EXPECT_TRUE(std::isinf(s.mamba2.timeStepHigh));
  EXPECT_EQ(s.mamba2.normGroupSize, 256);
  EXPECT_FALSE(config.tiedHead);
  EXPECT_EQ(config.lmHead, "lm_head.weight");
}

TEST(ModelConfigTest, MambaTiesItsHead) {
  ModelConfig config = parse(configText("mamba-tiny"));
  ASSERT_EQ(config.sublayers.size(), 2u);
  EXPECT_EQ(config.sublayers[0].kind, Sublayer::Kind::Mamba1);
  EXPECT_EQ(config.sublayers[0].mamba1.timeStepRank, 8);
  EXPECT_EQ(config.sublayers[0].mamba1.intermediateSize, 256);
  EXPECT_TRUE(config.tiedHead);
  EXPECT_EQ(config.lmHead, "backbone.embeddings.weight");
  for (const ModelWeight &weight : modelWeights(config))
    EXPECT_NE(weight.name, "lm_head.weight");
}

TEST(ModelConfigTest, NemotronHLayerKindsAndClamp) {
  ModelConfig config = parse(configText("nemotronh-tiny"));
  // linear_attention, mlp, linear_attention, full_attention, mlp.
  ASSERT_EQ(config.sublayers.size(), 5u);
  EXPECT_EQ(config.sublayers[0].kind, Sublayer::Kind::Mamba2);
  EXPECT_EQ(config.sublayers[1].kind, Sublayer::Kind::Mlp);
  EXPECT_EQ(config.sublayers[1].mlp.kind, Mlp::Kind::Relu2);
  EXPECT_EQ(config.sublayers[3].kind, Sublayer::Kind::Attention);
  EXPECT_EQ(config.sublayers[3].attention.rotaryDim, 0);
  // The prefill clamp is [time_step_min, inf); the norm is group-wise.
  EXPECT_EQ(config.sublayers[0].mamba2.timeStepLow, 0.001);
  EXPECT_EQ(config.sublayers[0].mamba2.numGroups, 2);
  EXPECT_EQ(config.sublayers[0].mamba2.normGroupSize, 128);
  // Legacy names read the same.
  ModelConfig legacy = parse(edited(
      "nemotronh-tiny",
      R"("linear_attention",
    "mlp",
    "linear_attention",
    "full_attention",)",
      R"("mamba", "mlp", "mamba", "attention",)"));
  ASSERT_EQ(legacy.sublayers.size(), 5u);
  EXPECT_EQ(legacy.sublayers[2].kind, Sublayer::Kind::Mamba2);
  EXPECT_EQ(legacy.sublayers[3].kind, Sublayer::Kind::Attention);
}

TEST(ModelConfigTest, GraniteMultipliers) {
  ModelConfig config = parse(configText("granitehybrid-tiny"));
  EXPECT_EQ(config.embeddingMultiplier, 12.0);
  EXPECT_EQ(config.residualMultiplier, 0.22);
  EXPECT_EQ(config.logitsScaling, 4.0);
  // Each layer: a mixer and the shared MLP.
  ASSERT_EQ(config.sublayers.size(), 8u);
  const Sublayer &attention = config.sublayers[2];
  EXPECT_EQ(attention.kind, Sublayer::Kind::Attention);
  EXPECT_EQ(attention.attention.scale, 0.0625);
  EXPECT_EQ(attention.attention.rotaryDim, 32);
  EXPECT_TRUE(config.sublayers[3].mlp.fusedGateUp);
  EXPECT_EQ(config.sublayers[3].mlp.intermediateSize, 256);
  ModelConfig nope = parse(edited("granitehybrid-tiny", R"("rope")",
                                  R"("nope")"));
  EXPECT_EQ(nope.sublayers[2].attention.rotaryDim, 0);
}

TEST(ModelConfigTest, BambaPartialRope) {
  ModelConfig config = parse(configText("bamba-tiny"));
  ASSERT_EQ(config.sublayers.size(), 8u);
  EXPECT_EQ(config.sublayers[0].kind, Sublayer::Kind::Mamba2);
  const Sublayer &attention = config.sublayers[2];
  ASSERT_EQ(attention.kind, Sublayer::Kind::Attention);
  EXPECT_EQ(attention.attention.headDim, 32);
  EXPECT_EQ(attention.attention.rotaryDim, 16);
  EXPECT_EQ(config.finalNorm, "model.final_layernorm.weight");
}

TEST(ModelConfigTest, LlamaDefaults) {
  ModelConfig config = parse(configText("llama-tiny"));
  ASSERT_EQ(config.sublayers.size(), 4u);
  const Attention &attention = config.sublayers[0].attention;
  EXPECT_EQ(attention.numKeyValueHeads, 2);
  EXPECT_EQ(attention.rotaryDim, 32);
  EXPECT_DOUBLE_EQ(attention.scale, 1.0 / std::sqrt(32.0));
  // Without head_dim it is hidden_size / num_attention_heads.
  ModelConfig derived =
      parse(edited("llama-tiny", R"("head_dim": 32,)", ""));
  EXPECT_EQ(derived.sublayers[0].attention.headDim, 32);
}

TEST(ModelConfigTest, Refusals) {
  EXPECT_NE(refusal("[1, 2]").find("must hold a JSON object"),
            std::string::npos);
  EXPECT_NE(refusal("{}").find("missing required field 'model_type'"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"model_type": "gpt2"})").find("unknown model_type"),
            std::string::npos);
  EXPECT_NE(refusal(edited("mamba2-tiny", R"("n_groups": 1)",
                           R"("n_groups": 1, "extra": 3)"))
                .find("unknown field 'extra'"),
            std::string::npos);
  EXPECT_NE(refusal(edited("mamba2-tiny", R"("num_heads": 8)",
                           R"("num_heads": 0)"))
                .find("field 'num_heads' must be positive"),
            std::string::npos);
  EXPECT_NE(refusal(edited("mamba2-tiny", R"("expand": 2)", R"("expand": 3)"))
                .find("must equal field 'expand'"),
            std::string::npos);
  EXPECT_NE(refusal(edited("mamba2-tiny", R"("use_bias": false)",
                           R"("use_bias": "no")"))
                .find("field 'use_bias' must be true or false"),
            std::string::npos);
  EXPECT_NE(refusal(edited("granitehybrid-tiny", R"("num_local_experts": 0)",
                           R"("num_local_experts": 4)"))
                .find("mixture-of-experts"),
            std::string::npos);
  EXPECT_NE(refusal(edited("granitehybrid-tiny", R"("logits_scaling": 4.0)",
                           R"("logits_scaling": 0.0)"))
                .find("logits_scaling"),
            std::string::npos);
  EXPECT_NE(refusal(edited("bamba-tiny", R"("attn_layer_indices": [
    1
  ])",
                           R"("attn_layer_indices": [9])"))
                .find("attn_layer_indices"),
            std::string::npos);
  std::string limit = refusal(edited("mamba2-tiny", R"("time_step_limit": [
    0.0,)",
                                     R"("time_step_limit": [
    "low",)"));
  EXPECT_NE(limit.find("time_step_limit"), std::string::npos) << limit;
}

} // namespace
