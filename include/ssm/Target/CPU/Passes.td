//===- Passes.td - Passes of the CPU backend ---------------*- tablegen -*-===//
//
// The CPU mapping: the three lowerings of ssm.mix into parallel, vectorised
// loops, the polynomial math they vectorise with, and the OpenMP scratch
// hoisting.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_TARGET_CPU_PASSES_TD
#define SSM_TARGET_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def SsmLowerQuadratic : Pass<"ssm-lower-quadratic", "func::FuncOp"> {
  let summary = "Lower ssm.mix by materialising M tile by tile";
  let description = [{
    Rewrites each `ssm.mix` planned `quadratic` for the CPU's `loops` into
    loops over (batch, head) and query/key tiles that build M = mask ∘
    score(Q Kᵀ) ∘ decay one tile at a time and multiply it with V; softmax
    uses an online (running max and sum) normalisation. Elementwise producers
    of the operands and an elementwise consumer of the result are fused into
    the loops.
  }];
  let dependentDialects = [
    "arith::ArithDialect", "bufferization::BufferizationDialect",
    "linalg::LinalgDialect", "math::MathDialect", "memref::MemRefDialect",
    "scf::SCFDialect", "tensor::TensorDialect", "vector::VectorDialect"
  ];
}

def SsmLowerRecurrent : Pass<"ssm-lower-recurrent", "func::FuncOp"> {
  let summary = "Lower ssm.mix as a scan that carries the state";
  let description = [{
    Rewrites each `ssm.mix` planned `recurrent` for the CPU's `loops` into a
    sequential scan over positions per (batch, head) that keeps the
    [N, P] state in registers and cache: S_t = exp(dt_t A) S_{t-1} + k_t v_tᵀ,
    y_t = S_tᵀ q_t. Needs a linear score and a causal mask. Elementwise
    producers and an elementwise consumer are fused into the scan.
  }];
  let dependentDialects = [
    "arith::ArithDialect", "bufferization::BufferizationDialect",
    "linalg::LinalgDialect", "math::MathDialect", "memref::MemRefDialect",
    "scf::SCFDialect", "tensor::TensorDialect", "vector::VectorDialect"
  ];
}

def SsmLowerChunked : Pass<"ssm-lower-chunked", "func::FuncOp"> {
  let summary = "Lower ssm.mix with SSD's chunked block decomposition";
  let description = [{
    Rewrites each `ssm.mix` planned `chunked` for the CPU's `loops` into the
    four-step block decomposition of the semiseparable matrix, per
    chunk of Q positions and done with matmuls: intra-chunk outputs
    ((C Bᵀ ∘ decay) X), the chunk's state (Bᵀ · decayed X), the scan over
    chunk states, and the state-to-output term (C · state). Needs a linear
    score, a causal mask and a scalar (or no) decay.
  }];
  let dependentDialects = [
    "arith::ArithDialect", "bufferization::BufferizationDialect",
    "linalg::LinalgDialect", "math::MathDialect", "memref::MemRefDialect",
    "scf::SCFDialect", "tensor::TensorDialect", "vector::VectorDialect"
  ];
}

def SsmApproximateMath : Pass<"ssm-approximate-math"> {
  let summary = "Replace f32 transcendental math by vectorizable polynomials";
  let description = [{
    Rewrites f32 `math.exp`, `math.log`, `math.log1p`, `math.tanh`, ... (on
    scalars and vectors) into polynomial approximations made of arith ops
    (errors of a few ulp). LLVM would otherwise lower a vector `exp` to one
    libm call per lane, which dominates the cost of decays and softmax on a
    CPU.
  }];
  let dependentDialects = [
    "arith::ArithDialect", "math::MathDialect", "vector::VectorDialect"
  ];
}

def SsmHoistParallelScratch : Pass<"ssm-hoist-parallel-scratch"> {
  let summary = "Allocate OpenMP loop scratch once per thread";
  let description = [{
    A work item of a lowered mixer keeps its scratch (state tiles, packed
    blocks) in `memref.alloca`s at the top of its body; after
    `convert-scf-to-openmp` that body sits, wrapped in `memref.alloca_scope`,
    inside `omp.parallel { omp.wsloop { omp.loop_nest } }`. This pass moves
    static-shape allocas of those scopes before the `omp.wsloop`, so every
    thread allocates them once and reuses them for all its work items, and
    inlines the scopes that are left without allocas (an alloca scope cannot
    hold the multi-block region that loops become).
  }];
  let dependentDialects = ["memref::MemRefDialect", "omp::OpenMPDialect"];
}

def SsmSerializeSmallParallel : Pass<"ssm-serialize-small-parallel"> {
  let summary = "Run OpenMP regions whose work is too small on one thread";
  let description = [{
    After `convert-scf-to-openmp`, every parallel loop forks and joins the
    thread team, which costs microseconds; a model's decode step runs a few
    hundred such loops of a few thousand operations each, so the forks
    would dominate. This pass gives each `omp.parallel` around an
    `omp.wsloop` an `if` clause: parallel when the loop's trip count (read
    at run time from its bounds) times the operations of one iteration
    (counted in the body, nested `scf.for` trip counts multiplied in,
    `dynamic-trip-count` where unknown) reaches `min-work`; otherwise the
    region runs on the calling thread, with the same code.
  }];
  let options = [
    Option<"minWork", "min-work", "int64_t", /*default=*/"32768",
           "Estimated operations below which a region runs on one thread">,
    Option<"dynamicTripCount", "dynamic-trip-count", "int64_t",
           /*default=*/"16",
           "Trip count assumed for an inner scf.for with dynamic bounds">
  ];
  let dependentDialects = ["arith::ArithDialect", "omp::OpenMPDialect"];
}

def SsmLowerStridedCopies : Pass<"ssm-lower-strided-copies", "func::FuncOp"> {
  let summary = "Copies between strided memrefs become loops";
  let description = [{
    Bufferization copies into and out of views (a padded tensor's interior,
    a slice of a projection): `memref.copy` between memrefs that are not
    both contiguous. The LLVM lowering would turn those into calls of
    `memrefCopy` from MLIR's C runner utilities, which a generated library
    does not link; this pass rewrites them as `linalg.copy`, which
    `convert-linalg-to-loops` turns into loops. Contiguous copies stay
    `memref.copy` (a memcpy).
  }];
  let dependentDialects = ["linalg::LinalgDialect", "memref::MemRefDialect"];
}

def SsmLowerMatmul : Pass<"ssm-lower-matmul", "func::FuncOp"> {
  let summary = "Projections (x · Wᵀ) as parallel, register-tiled vector code";
  let description = [{
    Rewrites each f32 `linalg.matmul` (or `linalg.batch_matmul` with B
    broadcast over the batch) on buffers whose B operand is read
    transposed (C[M, N] += A[M, K] · B[N, K]ᵀ: a model's projection, B the
    weight as checkpoints store it) with static N and K into a parallel
    loop over tiles of rows of A and of B: each tile keeps its dot products
    in vector registers along K (4 × 4 of them), so A and B are read once
    per tile, and sums them horizontally at the end. Other matmuls are left
    to `convert-linalg-to-loops`.
  }];
  let dependentDialects = [
    "arith::ArithDialect", "memref::MemRefDialect", "scf::SCFDialect",
    "vector::VectorDialect"
  ];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"0",
           "f32 lanes per vector (0: the host's widest)">
  ];
}

def SsmExpandShapesAsCasts : Pass<"ssm-expand-shapes-as-casts",
                                  "func::FuncOp"> {
  let summary = "memref.expand_shape of contiguous buffers as reinterpret_cast";
  let description = [{
    Splitting a dynamic dim of a contiguous buffer into several (a model's
    [B·L, N] projection back into [B, L, N]) only renames its layout: this
    pass writes such `memref.expand_shape` ops as `memref.reinterpret_cast`
    with row-major strides. `expand-strided-metadata` of MLIR 22 crashes on
    an expand_shape that splits one dynamic dim into two dynamic ones.
  }];
  let dependentDialects = ["arith::ArithDialect", "memref::MemRefDialect"];
}

#endif // SSM_TARGET_CPU_PASSES_TD
