//===- ModelConfig.cpp - config.json as a ModelConfig ---------------------===//
//
// One reader per model_type, each taking the fields transformers' config
// class defines (with its defaults when absent) and refusing any other.
//
//===----------------------------------------------------------------------===//

#include "ssm/Frontend/ModelConfig.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <cmath>
#include <optional>
#include <set>

using namespace mlir;
using namespace mlir::ssm;
namespace json = llvm::json;

namespace {

/// Fields every transformers config may carry (PretrainedConfig's own and
/// what save_pretrained adds); they do not change the computation.
const char *const kCommonFields[] = {
    "architectures", "bos_token_id", "eos_token_id", "pad_token_id",
    "dtype", "torch_dtype", "transformers_version", "use_cache",
    "initializer_range", "output_attentions", "output_hidden_states",
    "return_dict", "id2label", "label2id", "problem_type",
    "tokenizer_class", "chunk_size_feed_forward", "is_encoder_decoder",
    "_name_or_path", "model_type", "tie_word_embeddings"};

/// Reads the fields of one config object, remembering which were read so
/// that the rest can be refused by name.
class Fields {
public:
  Fields(const json::Object &object, llvm::StringRef modelType)
      : object(object), modelType(modelType.str()) {}

  llvm::Error error() { return takeError(); }

  int64_t integer(llvm::StringRef key, std::optional<int64_t> fallback) {
    const json::Value *value = lookup(key);
    if (!value) {
      if (!fallback)
        return missing(key), 0;
      return *fallback;
    }
    if (std::optional<int64_t> result = value->getAsInteger())
      return *result;
    return wrongType(key, "an integer"), 0;
  }

  /// A required or defaulted positive integer.
  int64_t positive(llvm::StringRef key, std::optional<int64_t> fallback) {
    int64_t result = integer(key, fallback);
    if (!firstError && result <= 0)
      fail(llvm::formatv("field '{0}' must be positive, got {1}", key, result)
               .str());
    return result;
  }

  double number(llvm::StringRef key, std::optional<double> fallback) {
    const json::Value *value = lookup(key);
    if (!value) {
      if (!fallback)
        return missing(key), 0.0;
      return *fallback;
    }
    if (std::optional<double> result = numberOf(*value))
      return *result;
    return wrongType(key, "a number"), 0.0;
  }

  bool boolean(llvm::StringRef key, bool fallback) {
    const json::Value *value = lookup(key);
    if (!value)
      return fallback;
    if (std::optional<bool> result = value->getAsBoolean())
      return *result;
    return wrongType(key, "true or false"), false;
  }

  std::string string(llvm::StringRef key,
                     std::optional<std::string> fallback) {
    const json::Value *value = lookup(key);
    if (!value || value->kind() == json::Value::Null) {
      if (!fallback)
        return missing(key), "";
      return *fallback;
    }
    if (std::optional<llvm::StringRef> result = value->getAsString())
      return result->str();
    return wrongType(key, "a string"), "";
  }

  /// The value itself, for fields with their own structure (lists, objects);
  /// null when absent.
  const json::Value *raw(llvm::StringRef key) { return lookup(key); }

  /// Marks fields that are known but do not change the computation.
  void ignore(std::initializer_list<const char *> keys) {
    for (const char *key : keys)
      read.insert(key);
  }

  /// Fails on the first field of the object that no reader took.
  void refuseUnknown() {
    for (const char *key : kCommonFields)
      read.insert(key);
    std::set<std::string> unknown;
    for (const auto &entry : object)
      if (!read.count(entry.first.str()))
        unknown.insert(entry.first.str());
    if (!unknown.empty())
      fail("unknown field '" + *unknown.begin() + "' for model_type '" +
           modelType + "'");
  }

  void fail(std::string message) {
    if (!firstError)
      firstError = std::move(message);
  }
  bool failed() const { return firstError.has_value(); }

  /// "Infinity", "-Infinity" and "NaN" as transformers writes floats JSON
  /// cannot hold: {"__float__": "Infinity"}.
  static std::optional<double> numberOf(const json::Value &value) {
    if (std::optional<double> plain = value.getAsNumber())
      return plain;
    const json::Object *boxed = value.getAsObject();
    if (!boxed || boxed->size() != 1)
      return std::nullopt;
    std::optional<llvm::StringRef> text = boxed->getString("__float__");
    if (!text)
      return std::nullopt;
    if (*text == "Infinity")
      return INFINITY;
    if (*text == "-Infinity")
      return -INFINITY;
    return std::nullopt;
  }

private:
  const json::Object &object;
  std::string modelType;
  llvm::StringSet<> read;
  std::optional<std::string> firstError;

  const json::Value *lookup(llvm::StringRef key) {
    read.insert(key);
    return object.get(key);
  }
  void missing(llvm::StringRef key) {
    fail("missing required field '" + key.str() + "'");
  }
  void wrongType(llvm::StringRef key, llvm::StringRef expected) {
    fail("field '" + key.str() + "' must be " + expected.str());
  }
  llvm::Error takeError() {
    if (!firstError)
      return llvm::Error::success();
    return llvm::createStringError("config.json: " + *firstError);
  }
};

std::string layerName(llvm::StringRef prefix, size_t layer,
                      llvm::StringRef rest) {
  return llvm::formatv("{0}.layers.{1}.{2}", prefix, layer, rest).str();
}

/// time_step_limit: [low, high], high possibly {"__float__": "Infinity"}.
void readTimeStepLimit(Fields &fields, Mamba2Mixer &mixer) {
  const json::Value *value = fields.raw("time_step_limit");
  if (!value)
    return;
  const json::Array *pair = value->getAsArray();
  std::optional<double> low, high;
  if (pair && pair->size() == 2) {
    low = Fields::numberOf((*pair)[0]);
    high = Fields::numberOf((*pair)[1]);
  }
  if (!low || !high || *low > *high) {
    fields.fail("field 'time_step_limit' must be [low, high] with low <= high");
    return;
  }
  mixer.timeStepLow = *low;
  mixer.timeStepHigh = *high;
}

/// The divisibility a Mamba-2 mixer needs.
void checkMamba2(Fields &fields, const Mamba2Mixer &mixer,
                 llvm::StringRef headsField, llvm::StringRef groupsField) {
  if (fields.failed())
    return;
  if (mixer.numHeads % mixer.numGroups != 0)
    fields.fail(llvm::formatv("field '{0}' ({1}) must divide field '{2}' ({3})",
                              groupsField, mixer.numGroups, headsField,
                              mixer.numHeads)
                    .str());
  else if (mixer.intermediateSize() % mixer.numGroups != 0)
    fields.fail(llvm::formatv("field '{0}' ({1}) must divide the intermediate "
                              "size ({2})",
                              groupsField, mixer.numGroups,
                              mixer.intermediateSize())
                    .str());
}

void checkAttention(Fields &fields, const Attention &attention) {
  if (fields.failed())
    return;
  if (attention.numHeads % attention.numKeyValueHeads != 0)
    fields.fail(llvm::formatv("field 'num_key_value_heads' ({0}) must divide "
                              "field 'num_attention_heads' ({1})",
                              attention.numKeyValueHeads, attention.numHeads)
                    .str());
  else if (attention.rotaryDim % 2 != 0 ||
           attention.rotaryDim > attention.headDim)
    fields.fail(llvm::formatv("the rotary dimension ({0}) must be even and at "
                              "most the head dim ({1})",
                              attention.rotaryDim, attention.headDim)
                    .str());
}

/// rope_parameters {"rope_theta", "rope_type": "default",
/// "partial_rotary_factor"?} or the legacy rope_theta / rope_scaling.
void readRope(Fields &fields, Attention &attention,
              double partialRotaryFactor) {
  attention.ropeTheta = 10000.0;
  if (const json::Value *parameters = fields.raw("rope_parameters")) {
    const json::Object *object = parameters->getAsObject();
    if (!object) {
      fields.fail("field 'rope_parameters' must be an object");
      return;
    }
    for (const auto &entry : *object) {
      llvm::StringRef key = entry.first;
      if (key == "rope_theta") {
        std::optional<double> theta = entry.second.getAsNumber();
        if (!theta || *theta <= 0)
          return fields.fail("field 'rope_parameters.rope_theta' must be a "
                             "positive number");
        attention.ropeTheta = *theta;
      } else if (key == "rope_type") {
        std::optional<llvm::StringRef> type = entry.second.getAsString();
        if (!type || *type != "default")
          return fields.fail("field 'rope_parameters.rope_type' must be "
                             "\"default\" (other RoPE scalings are not "
                             "supported)");
      } else if (key == "partial_rotary_factor") {
        std::optional<double> factor = entry.second.getAsNumber();
        if (!factor || *factor <= 0 || *factor > 1)
          return fields.fail("field 'rope_parameters.partial_rotary_factor' "
                             "must be in (0, 1]");
        partialRotaryFactor = *factor;
      } else {
        return fields.fail("unknown field 'rope_parameters." + key.str() +
                           "'");
      }
    }
  } else {
    attention.ropeTheta = fields.number("rope_theta", 10000.0);
    if (const json::Value *scaling = fields.raw("rope_scaling");
        scaling && scaling->kind() != json::Value::Null)
      return fields.fail("field 'rope_scaling' is not supported (only the "
                         "default RoPE)");
  }
  attention.rotaryDim =
      static_cast<int64_t>(attention.headDim * partialRotaryFactor);
}

//===----------------------------------------------------------------------===//
// mamba2
//===----------------------------------------------------------------------===//

void readMamba2(Fields &fields, ModelConfig &config) {
  config.hiddenSize = fields.positive("hidden_size", 768);
  config.vocabSize = fields.positive("vocab_size", 32768);
  int64_t layers = fields.positive("num_hidden_layers", 64);
  config.normEpsilon = fields.number("layer_norm_epsilon", 1e-5);
  Mamba2Mixer mixer;
  mixer.numHeads = fields.positive("num_heads", 128);
  mixer.headDim = fields.positive("head_dim", 64);
  mixer.stateSize = fields.positive("state_size", 128);
  mixer.numGroups = fields.positive("n_groups", 8);
  mixer.convKernel = fields.positive("conv_kernel", 4);
  mixer.convBias = fields.boolean("use_conv_bias", true);
  mixer.projBias = fields.boolean("use_bias", false);
  int64_t expand = fields.positive("expand", 2);
  readTimeStepLimit(fields, mixer);
  if (!fields.boolean("rms_norm", true))
    fields.fail("field 'rms_norm' false is not supported (the mixer's "
                "gated norm is an RMSNorm)");
  if (fields.string("hidden_act", "silu") != "silu")
    fields.fail("field 'hidden_act' must be \"silu\"");
  fields.ignore({"chunk_size", "time_step_rank", "time_step_min",
                 "time_step_max", "time_step_floor", "residual_in_fp32",
                 "rescale_prenorm_residual", "norm_before_gate",
                 "layer_types"});
  config.tiedHead = fields.boolean("tie_word_embeddings", true);
  if (fields.failed())
    return;
  if (expand * config.hiddenSize != mixer.intermediateSize())
    return fields.fail(llvm::formatv(
                           "field 'num_heads' ({0}) times field 'head_dim' "
                           "({1}) must equal field 'expand' ({2}) times field "
                           "'hidden_size' ({3})",
                           mixer.numHeads, mixer.headDim, expand,
                           config.hiddenSize)
                           .str());
  mixer.normGroupSize = mixer.intermediateSize();
  checkMamba2(fields, mixer, "num_heads", "n_groups");
  config.embeddings = "backbone.embeddings.weight";
  config.finalNorm = "backbone.norm_f.weight";
  for (int64_t i = 0; i < layers; ++i) {
    Sublayer sublayer{Sublayer::Kind::Mamba2};
    sublayer.norm = layerName("backbone", i, "norm.weight");
    sublayer.prefix = layerName("backbone", i, "mixer.");
    sublayer.mamba2 = mixer;
    config.sublayers.push_back(sublayer);
  }
}

//===----------------------------------------------------------------------===//
// mamba
//===----------------------------------------------------------------------===//

void readMamba(Fields &fields, ModelConfig &config) {
  config.hiddenSize = fields.positive("hidden_size", 768);
  config.vocabSize = fields.positive("vocab_size", 50280);
  int64_t layers = fields.positive("num_hidden_layers", 32);
  config.normEpsilon = fields.number("layer_norm_epsilon", 1e-5);
  Mamba1Mixer mixer;
  mixer.stateSize = fields.positive("state_size", 16);
  mixer.convKernel = fields.positive("conv_kernel", 4);
  mixer.convBias = fields.boolean("use_conv_bias", true);
  mixer.projBias = fields.boolean("use_bias", false);
  int64_t expand = fields.positive("expand", 2);
  mixer.intermediateSize =
      fields.positive("intermediate_size", expand * config.hiddenSize);
  // "auto" is ceil(hidden_size / 16).
  if (const json::Value *rank = fields.raw("time_step_rank");
      rank && rank->getAsString() && *rank->getAsString() == "auto")
    mixer.timeStepRank = (config.hiddenSize + 15) / 16;
  else
    mixer.timeStepRank = fields.positive(
        "time_step_rank", (config.hiddenSize + 15) / 16);
  if (fields.string("hidden_act", "silu") != "silu")
    fields.fail("field 'hidden_act' must be \"silu\"");
  fields.ignore({"time_step_scale", "time_step_min", "time_step_max",
                 "time_step_init_scheme", "time_step_floor",
                 "residual_in_fp32", "rescale_prenorm_residual",
                 "use_mambapy", "use_associative_scan", "layer_types"});
  config.tiedHead = fields.boolean("tie_word_embeddings", true);
  config.embeddings = "backbone.embeddings.weight";
  config.finalNorm = "backbone.norm_f.weight";
  for (int64_t i = 0; i < layers; ++i) {
    Sublayer sublayer{Sublayer::Kind::Mamba1};
    sublayer.norm = layerName("backbone", i, "norm.weight");
    sublayer.prefix = layerName("backbone", i, "mixer.");
    sublayer.mamba1 = mixer;
    config.sublayers.push_back(sublayer);
  }
}

//===----------------------------------------------------------------------===//
// llama
//===----------------------------------------------------------------------===//

void readLlama(Fields &fields, ModelConfig &config) {
  config.hiddenSize = fields.positive("hidden_size", 4096);
  config.vocabSize = fields.positive("vocab_size", 32000);
  int64_t layers = fields.positive("num_hidden_layers", 32);
  config.normEpsilon = fields.number("rms_norm_eps", 1e-6);
  Attention attention;
  attention.numHeads = fields.positive("num_attention_heads", 32);
  attention.numKeyValueHeads =
      fields.positive("num_key_value_heads", attention.numHeads);
  if (!fields.failed() && config.hiddenSize % attention.numHeads != 0 &&
      !fields.raw("head_dim"))
    fields.fail("field 'num_attention_heads' must divide field "
                "'hidden_size' when 'head_dim' is absent");
  attention.headDim = fields.positive(
      "head_dim", attention.numHeads ? config.hiddenSize / attention.numHeads
                                     : 0);
  attention.bias = fields.boolean("attention_bias", false);
  attention.scale = 1.0 / std::sqrt(static_cast<double>(attention.headDim));
  readRope(fields, attention, 1.0);
  Mlp mlp;
  mlp.intermediateSize = fields.positive("intermediate_size", 11008);
  mlp.bias = fields.boolean("mlp_bias", false);
  if (fields.string("hidden_act", "silu") != "silu")
    fields.fail("field 'hidden_act' must be \"silu\"");
  if (fields.integer("pretraining_tp", 1) != 1)
    fields.fail("field 'pretraining_tp' must be 1");
  fields.ignore({"attention_dropout", "max_position_embeddings"});
  config.tiedHead = fields.boolean("tie_word_embeddings", false);
  checkAttention(fields, attention);
  config.embeddings = "model.embed_tokens.weight";
  config.finalNorm = "model.norm.weight";
  for (int64_t i = 0; i < layers; ++i) {
    Sublayer attn{Sublayer::Kind::Attention};
    attn.norm = layerName("model", i, "input_layernorm.weight");
    attn.prefix = layerName("model", i, "self_attn.");
    attn.attention = attention;
    config.sublayers.push_back(attn);
    Sublayer ffn{Sublayer::Kind::Mlp};
    ffn.norm = layerName("model", i, "post_attention_layernorm.weight");
    ffn.prefix = layerName("model", i, "mlp.");
    ffn.mlp = mlp;
    config.sublayers.push_back(ffn);
  }
}

//===----------------------------------------------------------------------===//
// Hybrids: nemotron_h, granitemoehybrid, bamba
//===----------------------------------------------------------------------===//

/// Layer kinds as transformers names them now, and their legacy names.
enum class LayerKind { Mamba, Attention, Mlp, Moe };

std::optional<LayerKind> layerKindOf(llvm::StringRef name) {
  if (name == "linear_attention" || name == "mamba")
    return LayerKind::Mamba;
  if (name == "full_attention" || name == "attention")
    return LayerKind::Attention;
  if (name == "mlp")
    return LayerKind::Mlp;
  if (name == "moe")
    return LayerKind::Moe;
  return std::nullopt;
}

/// A list of layer kinds (`layers_block_type`, `layer_types`).
std::vector<LayerKind> readLayerKinds(Fields &fields, llvm::StringRef key,
                                      bool mlpAllowed) {
  std::vector<LayerKind> kinds;
  const json::Value *value = fields.raw(key);
  const json::Array *array = value ? value->getAsArray() : nullptr;
  if (!array || array->empty()) {
    fields.fail("field '" + key.str() + "' must be a non-empty list of layer "
                "kinds");
    return kinds;
  }
  for (const json::Value &entry : *array) {
    std::optional<llvm::StringRef> name = entry.getAsString();
    std::optional<LayerKind> kind = name ? layerKindOf(*name) : std::nullopt;
    if (!kind || (!mlpAllowed && *kind == LayerKind::Mlp)) {
      fields.fail("field '" + key.str() + "' holds an unknown layer kind" +
                  (name ? " '" + name->str() + "'" : std::string()) +
                  " (expected linear_attention, full_attention" +
                  (mlpAllowed ? ", mlp" : "") + ")");
      return {};
    }
    if (*kind == LayerKind::Moe) {
      fields.fail("field '" + key.str() +
                  "' has a 'moe' layer: mixture-of-experts layers are not "
                  "supported");
      return {};
    }
    kinds.push_back(*kind);
  }
  return kinds;
}

/// nemotron_h's legacy hybrid_override_pattern: M (Mamba-2), * (attention),
/// - (MLP), E (MoE).
std::vector<LayerKind> readOverridePattern(Fields &fields) {
  std::string pattern = fields.string("hybrid_override_pattern", "");
  std::vector<LayerKind> kinds;
  for (char c : pattern) {
    switch (c) {
    case 'M':
      kinds.push_back(LayerKind::Mamba);
      break;
    case '*':
      kinds.push_back(LayerKind::Attention);
      break;
    case '-':
      kinds.push_back(LayerKind::Mlp);
      break;
    case 'E':
      fields.fail("field 'hybrid_override_pattern' has an 'E' (MoE) layer: "
                  "mixture-of-experts layers are not supported");
      return {};
    default:
      fields.fail(std::string("field 'hybrid_override_pattern' holds '") + c +
                  "' (expected M, *, - or E)");
      return {};
    }
  }
  if (kinds.empty() && !fields.failed())
    fields.fail("field 'hybrid_override_pattern' is empty");
  return kinds;
}

void readNemotronH(Fields &fields, ModelConfig &config) {
  config.hiddenSize = fields.positive("hidden_size", 4096);
  config.vocabSize = fields.positive("vocab_size", 131072);
  config.normEpsilon = fields.number("layer_norm_epsilon", 1e-5);
  std::vector<LayerKind> kinds;
  if (fields.raw("layers_block_type"))
    kinds = readLayerKinds(fields, "layers_block_type", true);
  else if (fields.raw("layer_types"))
    kinds = readLayerKinds(fields, "layer_types", true);
  else if (fields.raw("hybrid_override_pattern"))
    kinds = readOverridePattern(fields);
  else
    fields.fail("missing required field 'layers_block_type' (or the legacy "
                "'hybrid_override_pattern')");
  // num_hidden_layers follows the list; a stale value is ignored, as
  // transformers does.
  fields.ignore({"num_hidden_layers", "hybrid_override_pattern"});

  Mamba2Mixer mixer;
  mixer.numHeads = fields.positive("mamba_num_heads", 128);
  mixer.headDim = fields.positive("mamba_head_dim", 64);
  mixer.stateSize = fields.positive("ssm_state_size", 128);
  mixer.numGroups = fields.positive("n_groups", 8);
  mixer.convKernel = fields.positive("conv_kernel", 4);
  mixer.convBias = fields.boolean("use_conv_bias", true);
  mixer.projBias = fields.boolean("use_bias", false);
  // NemotronHMamba2Mixer clamps dt to [time_step_min, inf) in prefill (its
  // time_step_limit); the decode step does not clamp.
  mixer.timeStepLow = fields.number("time_step_min", 0.001);
  mixer.timeStepHigh = INFINITY;
  mixer.clampInDecode = false;
  if (fields.string("mamba_hidden_act", "silu") != "silu")
    fields.fail("field 'mamba_hidden_act' must be \"silu\"");
  Attention attention;
  attention.numHeads = fields.positive("num_attention_heads", 32);
  attention.numKeyValueHeads = fields.positive("num_key_value_heads", 8);
  attention.headDim = fields.positive("head_dim", 128);
  attention.scale = 1.0 / std::sqrt(static_cast<double>(attention.headDim));
  attention.rotaryDim = 0; // NemotronH attention has no RoPE.
  if (const json::Value *window = fields.raw("sliding_window");
      window && window->kind() != json::Value::Null)
    fields.fail("field 'sliding_window' must be null (windowed attention is "
                "not supported for nemotron_h)");
  Mlp mlp;
  mlp.kind = Mlp::Kind::Relu2;
  mlp.intermediateSize = fields.positive("intermediate_size", 21504);
  mlp.bias = fields.boolean("mlp_bias", false);
  if (fields.string("mlp_hidden_act", "relu2") != "relu2")
    fields.fail("field 'mlp_hidden_act' must be \"relu2\"");
  if (fields.integer("num_nextn_predict_layers", 0) != 0)
    fields.fail("field 'num_nextn_predict_layers' must be 0 (multi-token "
                "prediction layers are not supported)");
  fields.ignore({"attention_bias", "attention_dropout", "hidden_dropout",
                 "max_position_embeddings", "chunk_size", "expand",
                 "time_step_max", "time_step_floor", "time_step_limit",
                 "residual_in_fp32", "rescale_prenorm_residual",
                 "mamba_proj_bias", "mamba_ssm_cache_dtype",
                 "use_mamba_kernels", "num_logits_to_keep",
                 "mtp_layers_block_type",
                 // The MoE's sizes, unused without 'moe' layers.
                 "n_routed_experts", "n_shared_experts",
                 "moe_intermediate_size", "moe_shared_expert_intermediate_size",
                 "moe_latent_size", "moe_shared_expert_overlap",
                 "num_experts_per_tok", "routed_scaling_factor", "n_group",
                 "topk_group", "norm_topk_prob", "output_router_logits"});
  // NemotronH never ties its head (no _tied_weights_keys).
  fields.boolean("tie_word_embeddings", false);
  config.tiedHead = false;
  mixer.normGroupSize = fields.failed() ? 1 : mixer.intermediateSize() /
                                                  mixer.numGroups;
  checkMamba2(fields, mixer, "mamba_num_heads", "n_groups");
  checkAttention(fields, attention);
  config.embeddings = "backbone.embeddings.weight";
  config.finalNorm = "backbone.norm_f.weight";
  for (size_t i = 0; i < kinds.size(); ++i) {
    Sublayer sublayer{Sublayer::Kind::Mamba2};
    sublayer.norm = layerName("backbone", i, "norm.weight");
    sublayer.prefix = layerName("backbone", i, "mixer.");
    switch (kinds[i]) {
    case LayerKind::Mamba:
      sublayer.mamba2 = mixer;
      break;
    case LayerKind::Attention:
      sublayer.kind = Sublayer::Kind::Attention;
      sublayer.attention = attention;
      break;
    case LayerKind::Mlp:
      sublayer.kind = Sublayer::Kind::Mlp;
      sublayer.mlp = mlp;
      break;
    case LayerKind::Moe:
      break;
    }
    config.sublayers.push_back(sublayer);
  }
}

/// The Mamba-2 mixer of granitemoehybrid and bamba (mamba_* fields).
Mamba2Mixer readHybridMamba(Fields &fields, int64_t hiddenSize) {
  Mamba2Mixer mixer;
  mixer.numHeads = fields.positive("mamba_n_heads", 128);
  int64_t expand = fields.positive("mamba_expand", 2);
  if (const json::Value *head = fields.raw("mamba_d_head");
      !head || (head->getAsString() && *head->getAsString() == "auto"))
    mixer.headDim = mixer.numHeads ? expand * hiddenSize / mixer.numHeads : 0;
  else
    mixer.headDim = fields.positive("mamba_d_head", std::nullopt);
  mixer.stateSize = fields.positive("mamba_d_state", 256);
  mixer.numGroups = fields.positive("mamba_n_groups", 1);
  mixer.convKernel = fields.positive("mamba_d_conv", 4);
  mixer.convBias = fields.boolean("mamba_conv_bias", true);
  mixer.projBias = fields.boolean("mamba_proj_bias", false);
  readTimeStepLimit(fields, mixer);
  fields.ignore({"mamba_chunk_size", "time_step_min", "time_step_max",
                 "time_step_floor"});
  if (!fields.failed() && mixer.intermediateSize() != expand * hiddenSize)
    fields.fail(llvm::formatv("field 'mamba_n_heads' ({0}) times field "
                              "'mamba_d_head' ({1}) must equal field "
                              "'mamba_expand' ({2}) times field "
                              "'hidden_size' ({3})",
                              mixer.numHeads, mixer.headDim, expand,
                              hiddenSize)
                    .str());
  // Their gated RMSNorm normalises the whole intermediate size at once in
  // transformers 5.17, which made the checkpoints (later releases moved
  // bamba's to groups of intermediate / n_groups, as nemotron_h's is).
  mixer.normGroupSize = mixer.intermediateSize();
  checkMamba2(fields, mixer, "mamba_n_heads", "mamba_n_groups");
  return mixer;
}

void readGraniteMoeHybrid(Fields &fields, ModelConfig &config) {
  config.hiddenSize = fields.positive("hidden_size", 4096);
  config.vocabSize = fields.positive("vocab_size", 32000);
  config.normEpsilon = fields.number("rms_norm_eps", 1e-6);
  int64_t layers = fields.positive("num_hidden_layers", 32);
  std::vector<LayerKind> kinds;
  if (fields.raw("layer_types"))
    kinds = readLayerKinds(fields, "layer_types", false);
  else if (fields.raw("layers_block_type"))
    kinds = readLayerKinds(fields, "layers_block_type", false);
  else
    kinds.assign(layers, LayerKind::Mamba);
  if (!fields.failed() && static_cast<int64_t>(kinds.size()) != layers)
    fields.fail(llvm::formatv("field 'layer_types' has {0} entries, field "
                              "'num_hidden_layers' is {1}",
                              kinds.size(), layers)
                    .str());
  if (fields.integer("num_local_experts", 8) != 0)
    fields.fail("field 'num_local_experts' must be 0: mixture-of-experts "
                "layers are not supported");
  config.embeddingMultiplier = fields.number("embedding_multiplier", 1.0);
  config.residualMultiplier = fields.number("residual_multiplier", 1.0);
  config.logitsScaling = fields.number("logits_scaling", 1.0);
  if (!fields.failed() && config.logitsScaling == 0.0)
    fields.fail("field 'logits_scaling' must not be 0 (logits are divided "
                "by it)");
  Mamba2Mixer mixer = readHybridMamba(fields, config.hiddenSize);
  Attention attention;
  attention.numHeads = fields.positive("num_attention_heads", 32);
  attention.numKeyValueHeads =
      fields.positive("num_key_value_heads", attention.numHeads);
  if (!fields.failed() && config.hiddenSize % attention.numHeads != 0)
    fields.fail("field 'num_attention_heads' must divide field 'hidden_size'");
  attention.headDim =
      attention.numHeads ? config.hiddenSize / attention.numHeads : 0;
  attention.bias = fields.boolean("attention_bias", false);
  attention.scale = fields.number("attention_multiplier", 1.0);
  std::string position = fields.string("position_embedding_type", "nope");
  if (position == "rope")
    readRope(fields, attention, 1.0);
  else if (position == "nope")
    attention.rotaryDim = 0;
  else
    fields.fail("field 'position_embedding_type' must be \"rope\", \"nope\" "
                "or null, got \"" + position + "\"");
  Mlp mlp;
  mlp.kind = Mlp::Kind::SwiGlu;
  mlp.fusedGateUp = true;
  mlp.intermediateSize = fields.positive("shared_intermediate_size", 1024);
  if (fields.string("hidden_act", "silu") != "silu")
    fields.fail("field 'hidden_act' must be \"silu\"");
  fields.ignore({"intermediate_size", "attention_dropout",
                 "max_position_embeddings", "num_experts_per_tok",
                 "output_router_logits", "router_aux_loss_coef",
                 "rope_parameters", "rope_theta", "rope_scaling"});
  config.tiedHead = fields.boolean("tie_word_embeddings", false);
  checkAttention(fields, attention);
  config.embeddings = "model.embed_tokens.weight";
  config.finalNorm = "model.norm.weight";
  for (size_t i = 0; i < kinds.size(); ++i) {
    Sublayer mixerLayer{Sublayer::Kind::Mamba2};
    mixerLayer.norm = layerName("model", i, "input_layernorm.weight");
    if (kinds[i] == LayerKind::Mamba) {
      mixerLayer.prefix = layerName("model", i, "mamba.");
      mixerLayer.mamba2 = mixer;
    } else {
      mixerLayer.kind = Sublayer::Kind::Attention;
      mixerLayer.prefix = layerName("model", i, "self_attn.");
      mixerLayer.attention = attention;
    }
    config.sublayers.push_back(mixerLayer);
    Sublayer ffn{Sublayer::Kind::Mlp};
    ffn.norm = layerName("model", i, "post_attention_layernorm.weight");
    ffn.prefix = layerName("model", i, "shared_mlp.");
    ffn.mlp = mlp;
    config.sublayers.push_back(ffn);
  }
}

void readBamba(Fields &fields, ModelConfig &config) {
  config.hiddenSize = fields.positive("hidden_size", 4096);
  config.vocabSize = fields.positive("vocab_size", 128000);
  config.normEpsilon = fields.number("rms_norm_eps", 1e-5);
  int64_t layers = fields.positive("num_hidden_layers", 32);
  std::vector<LayerKind> kinds(layers, LayerKind::Mamba);
  if (const json::Value *indices = fields.raw("attn_layer_indices");
      indices && indices->kind() != json::Value::Null) {
    const json::Array *array = indices->getAsArray();
    if (!array)
      fields.fail("field 'attn_layer_indices' must be a list of layer "
                  "indices");
    for (size_t i = 0; array && i < array->size(); ++i) {
      std::optional<int64_t> index = (*array)[i].getAsInteger();
      if (!index || *index < 0 || *index >= layers) {
        fields.fail(llvm::formatv("field 'attn_layer_indices' holds an "
                                  "index outside [0, {0})",
                                  layers)
                        .str());
        break;
      }
      kinds[*index] = LayerKind::Attention;
    }
  }
  fields.ignore({"layer_types", "layers_block_type"});
  Mamba2Mixer mixer = readHybridMamba(fields, config.hiddenSize);
  Attention attention;
  attention.numHeads = fields.positive("num_attention_heads", 32);
  attention.numKeyValueHeads = fields.positive("num_key_value_heads", 8);
  if (!fields.failed() && config.hiddenSize % attention.numHeads != 0 &&
      !fields.raw("head_dim"))
    fields.fail("field 'num_attention_heads' must divide field 'hidden_size'");
  attention.headDim = fields.positive(
      "head_dim", attention.numHeads ? config.hiddenSize / attention.numHeads
                                     : 0);
  attention.bias = fields.boolean("attention_bias", false);
  attention.scale = 1.0 / std::sqrt(static_cast<double>(attention.headDim));
  // BambaConfig rotates half of each head (partial_rotary_factor 0.5).
  readRope(fields, attention, fields.number("partial_rotary_factor", 0.5));
  Mlp mlp;
  mlp.kind = Mlp::Kind::SwiGlu;
  mlp.intermediateSize = fields.positive("intermediate_size", 14336);
  mlp.bias = fields.boolean("mlp_bias", false);
  if (fields.string("hidden_act", "silu") != "silu")
    fields.fail("field 'hidden_act' must be \"silu\"");
  fields.ignore({"attention_dropout", "max_position_embeddings",
                 "num_logits_to_keep", "z_loss_coefficient"});
  config.tiedHead = fields.boolean("tie_word_embeddings", false);
  checkAttention(fields, attention);
  config.embeddings = "model.embed_tokens.weight";
  config.finalNorm = "model.final_layernorm.weight";
  for (size_t i = 0; i < kinds.size(); ++i) {
    Sublayer mixerLayer{Sublayer::Kind::Mamba2};
    mixerLayer.norm = layerName("model", i, "input_layernorm.weight");
    if (kinds[i] == LayerKind::Mamba) {
      mixerLayer.prefix = layerName("model", i, "mamba.");
      mixerLayer.mamba2 = mixer;
    } else {
      mixerLayer.kind = Sublayer::Kind::Attention;
      mixerLayer.prefix = layerName("model", i, "self_attn.");
      mixerLayer.attention = attention;
    }
    config.sublayers.push_back(mixerLayer);
    Sublayer ffn{Sublayer::Kind::Mlp};
    ffn.norm = layerName("model", i, "pre_ff_layernorm.weight");
    ffn.prefix = layerName("model", i, "feed_forward.");
    ffn.mlp = mlp;
    config.sublayers.push_back(ffn);
  }
}

} // namespace

/// The dtype the checkpoint's weights are saved in: transformers 5 writes
/// `dtype`, earlier versions `torch_dtype`; float32 when neither is there.
static void readWeightType(Fields &fields, ModelConfig &config) {
  for (const char *key : {"dtype", "torch_dtype"}) {
    std::string dtype = fields.string(key, std::string());
    if (dtype.empty())
      continue;
    if (dtype == "float32")
      config.weightType = "f32";
    else if (dtype == "bfloat16")
      config.weightType = "bf16";
    else if (dtype == "float16")
      config.weightType = "f16";
    else
      fields.fail("field '" + std::string(key) + "' is '" + dtype +
                  "'; weights are imported as float32, bfloat16 or float16");
    return;
  }
}

llvm::Expected<ModelConfig> mlir::ssm::parseModelConfig(llvm::StringRef text) {
  llvm::Expected<json::Value> parsed = json::parse(text);
  if (!parsed)
    return llvm::createStringError("config.json is not valid JSON: " +
                                   llvm::toString(parsed.takeError()));
  const json::Object *object = parsed->getAsObject();
  if (!object)
    return llvm::createStringError("config.json must hold a JSON object");
  std::optional<llvm::StringRef> modelType = object->getString("model_type");
  if (!modelType)
    return llvm::createStringError(
        "config.json: missing required field 'model_type' (a string)");
  ModelConfig config;
  config.modelType = modelType->str();
  Fields fields(*object, *modelType);
  readWeightType(fields, config);
  if (*modelType == "mamba2")
    readMamba2(fields, config);
  else if (*modelType == "mamba")
    readMamba(fields, config);
  else if (*modelType == "llama")
    readLlama(fields, config);
  else if (*modelType == "nemotron_h")
    readNemotronH(fields, config);
  else if (*modelType == "granitemoehybrid")
    readGraniteMoeHybrid(fields, config);
  else if (*modelType == "bamba")
    readBamba(fields, config);
  else
    return llvm::createStringError(
        "config.json: unknown model_type '" + modelType->str() +
        "' (supported: mamba, mamba2, nemotron_h, granitemoehybrid, bamba, "
        "llama)");
  if (!fields.failed())
    fields.refuseUnknown();
  if (llvm::Error error = fields.error())
    return std::move(error);
  config.lmHead = config.tiedHead ? config.embeddings : "lm_head.weight";
  return config;
}
