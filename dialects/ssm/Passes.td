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
    candidate's estimate.
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
    Option<"assumedLength", "assumed-length", "int64_t", /*default=*/"2048",
           "Sequence length assumed when L is dynamic">,
    Option<"explain", "explain", "bool", /*default=*/"false",
           "Emit a remark per op with every candidate's estimate">
  ];
}

#endif // SSM_PASSES_TD
