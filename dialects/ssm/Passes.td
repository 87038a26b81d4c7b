//===- Passes.td - Passes of the ssm dialect ---------------*- tablegen -*-===//
//
// The target-neutral passes: algorithm selection. The backends declare
// theirs beside them (include/ssm/Target/CPU, include/ssm/Target/CUDA).
//
//===----------------------------------------------------------------------===//

#ifndef SSM_PASSES_TD
#define SSM_PASSES_TD

include "mlir/Pass/PassBase.td"

def SsmSelectAlgorithm : Pass<"ssm-select-algorithm", "ModuleOp"> {
  let summary = "Pick quadratic, recurrent or chunked for every ssm.mix";
  let description = [{
    Estimates, for every legal algorithm of each `ssm.mix` (and every
    candidate chunk size), the time on the target from FLOPs split by unit
    (matrix, vector, special functions), bytes moved, sequential depth and
    parallelism, and records the cheapest as `#ssm.algorithm<...>`, which
    the `backend` it plans for completes with its lowering configuration
    (the kernel and its tiles; see KernelPlanner.h). Ops that already carry
    an algorithm keep it unless `force` is set (a plan without a kernel gets
    the backend's). With `explain`, each op gets a remark with every
    candidate's estimate, and with `measured` what each candidate took on
    the device where a sweep measured the op's shape.
  }];
  let options = [
    Option<"backend", "backend", "std::string", /*default=*/"\"cpu\"",
           "The backend whose lowering takes the plan: 'cpu' or 'cuda'">,
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"0",
           "CPU: f32 lanes per vector in the plan (0: the host's)">,
    Option<"target", "target", "std::string", /*default=*/"\"host\"",
           "Target description: 'host' (detected), 'h100', 'h200', or the "
           "path of a JSON target file">,
    Option<"force", "force", "std::string", /*default=*/"\"\"",
           "Force 'quadratic', 'recurrent' or 'chunked' on every op (an "
           "illegal choice is an error)">,
    Option<"forceChunkSize", "chunk-size", "int64_t", /*default=*/"0",
           "With force=chunked (or when set alone), the chunk size to use; "
           "0 lets the cost model choose">,
    Option<"arch", "arch", "std::string", /*default=*/"\"sm_90a\"",
           "GPU: the architecture the kernels are built for; the wgmma "
           "kernels need 'sm_90a', 'sm_90' plans without them">,
    Option<"assumedLength", "assumed-length", "int64_t", /*default=*/"2048",
           "Sequence length assumed when L is dynamic">,
    Option<"explain", "explain", "bool", /*default=*/"false",
           "Emit a remark per op with every candidate's estimate">,
    Option<"measured", "measured", "std::string", /*default=*/"\"\"",
           "With explain: a measurements file (a device sweep's, "
           "ssm/CostModel/Measurements.h) whose times of the op's shape are "
           "printed next to the estimates">
  ];
}

def SsmGeneralizeGlue : Pass<"ssm-generalize-glue", "func::FuncOp"> {
  let summary = "Named linalg glue becomes linalg.generic; contractions stay";
  let description = [{
    The backends fuse elementwise glue in its `linalg.generic` form, so
    named ops such as `linalg.broadcast` or `linalg.add` are generalized.
    Contractions (`linalg.matmul`, the projections of a model) are left
    named: elementwise fusion must not fold a producer into a matmul (it
    would recompute the producer once per output column), and the backends
    map matmuls onto their own kernels.
  }];
  let dependentDialects = ["linalg::LinalgDialect"];
}

def SsmFuseGlue : Pass<"ssm-fuse-glue", "func::FuncOp"> {
  let summary = "Fuse elementwise glue into the glue that reads it once";
  let description = [{
    Folds an elementwise `linalg.generic` into the `linalg.generic` that
    consumes it when the consumer reads each of its elements once (its
    indexing map for the producer is a permutation of all its loops) and
    nothing else uses it, so the fused op recomputes nothing. Unlike
    upstream's `linalg-fuse-elementwise-ops`, it neither folds a producer
    into a broadcasting or contracting consumer (which would recompute it
    per extra loop iteration) nor rewrites reshapes around named ops (which
    would turn a model's `linalg.matmul` projections into generics).
  }];
  let dependentDialects = ["linalg::LinalgDialect"];
}

#endif // SSM_PASSES_TD
