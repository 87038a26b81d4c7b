//===- ModelImport.h - A Hugging Face checkpoint as model IR ----*- C++ -*-===//
//
// Builds the model a checkpoint directory (config.json, model.safetensors)
// describes as one function on tensors:
//
//   @prefill(input_ids: [B, L] i64, <every weight, named as in the file>)
//       -> (logits [B, L, vocab], <every state>)
//   @prefill_chunk(input_ids: [B, L] i64, <weights>, <every state>)
//       -> (logits [B, L, vocab], <every state>)
//   @decode(input_ids: [B, 1] i64, <weights>, <every state>)
//       -> (logits [B, 1, vocab], <every state>)
//
// prefill is the full forward pass from empty states; prefill_chunk goes on
// from the states a previous call returned (a prompt in chunks equals the
// whole prompt); decode is one token per sequence (the mixers' recurrent
// step). The states (modelStates) are returned under the names they are
// taken by, so a caller feeds one call's states to the next: Mamba mixers'
// conv window and SSM state whole, attention's keys (after RoPE) and values
// as the rows the call adds to the caches. The forward pass: embeddings, each sublayer (RMSNorm,
// then a Mamba-1 or Mamba-2 mixer, attention or an MLP, added back to the
// residual stream), the final norm and the LM head. Mixers are ssm.mix ops
// with their glue; projections are matmuls (linalg.generic contractions).
// Weights are arguments, bound at run time by name, so one artifact serves
// every checkpoint of its config.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_FRONTEND_MODELIMPORT_H
#define SSM_FRONTEND_MODELIMPORT_H

#include "ssm/Frontend/ModelConfig.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::ssm {

/// One weight the model takes: its name in the checkpoint and its shape.
struct ModelWeight {
  std::string name;
  std::vector<int64_t> shape;
};

/// The weights `config` needs, in the order the model function takes them.
std::vector<ModelWeight> modelWeights(const ModelConfig &config);

/// One state a model carries from call to call: its name (the mixer's
/// weight prefix and one of ssm/contract/model.h's state endings, which also
/// says whether calls return it whole or as rows to append) and its shape,
/// -1 for a size known at the call (the batch; the cached length).
struct ModelState {
  std::string name;
  std::vector<int64_t> shape;
};

/// The states `config`'s sublayers carry, in the order the entry points take
/// and return them.
std::vector<ModelState> modelStates(const ModelConfig &config);

/// The model functions' MLIR, as text (what importModel parses).
std::string modelSource(const ModelConfig &config);

/// Reads `directory`/config.json and checks `directory`/model.safetensors
/// against it when it is there (every weight present with its shape and the
/// config's dtype, no tensor the config does not account for), then builds
/// the module. `weightType` ("f32", "bf16", "f16") replaces the config's
/// dtype; f32 parameters take a 16-bit file too (the runtime widens it at
/// load). Errors name the file and the field or tensor.
FailureOr<OwningOpRef<ModuleOp>>
importModel(llvm::StringRef directory, MLIRContext *context,
            std::optional<std::string> weightType = std::nullopt);

/// Whether `path` is a checkpoint directory (holds a config.json).
bool isCheckpointDirectory(llvm::StringRef path);

} // namespace mlir::ssm

#endif // SSM_FRONTEND_MODELIMPORT_H
