//===- Passes.td - Passes of the CUDA backend --------------*- tablegen -*-===//
//
// The CUDA emitter as a pass.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TARGET_CUDA_PASSES_TD
#define SSM_TARGET_CUDA_PASSES_TD

include "mlir/Pass/PassBase.td"

def SsmExportCuda : Pass<"ssm-export-cuda", "ModuleOp"> {
  let summary = "Print the CUDA C++ of every planned ssm.mix and its glue";
  let description = [{
    The CUDA backend's emitter as a pass (translateToCUDA): every public
    function's ssm.mix ops, each with its plan, become fused kernels that
    instantiate the device templates of runtime/include/ssm/device/, and
    the elementwise glue they do not absorb becomes elementwise kernels. The
    module is left unchanged; the source goes to `output`. An op without a
    plan, or one no template can run, is an error.
  }];
  let options = [
    Option<"output", "output", "std::string", /*default=*/"\"-\"",
           "Where to write the CUDA C++ ('-': standard output)">
  ];
}

#endif // SSM_TARGET_CUDA_PASSES_TD
