//===- ModelImport.h - A Hugging Face checkpoint as model IR ----*- C++ -*-===//
//
// Builds the model a checkpoint directory (config.json, model.safetensors)
// describes as one function on tensors:
//
//   @prefill(input_ids: [B, L] i64, <every weight, named as in the file>)
//       -> logits [B, L, vocab]
//
// the full forward pass without a cache: embeddings, each sublayer (RMSNorm,
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

/// The model function's MLIR, as text (what importModel parses).
std::string modelSource(const ModelConfig &config);

/// Reads `directory`/config.json and checks `directory`/model.safetensors
/// against it (every weight present with its shape and dtype f32, no tensor
/// the config does not account for), then builds the module. Errors name the
/// file and the field or tensor.
FailureOr<OwningOpRef<ModuleOp>> importModel(llvm::StringRef directory,
                                             MLIRContext *context);

/// Whether `path` is a checkpoint directory (holds a config.json).
bool isCheckpointDirectory(llvm::StringRef path);

} // namespace mlir::ssm

#endif // SSM_FRONTEND_MODELIMPORT_H
