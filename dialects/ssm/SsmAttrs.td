//===- SsmAttrs.td - Attributes of the ssm dialect ---------*- tablegen -*-===//
//
// Score, mask and algorithm attributes that parameterise `ssm.mix`.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_ATTRS_TD
#define SSM_ATTRS_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "ssm/SsmDialect.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Ssm_ScoreKind : I32EnumAttr<"ScoreKind",
    "how the mixing matrix is formed from Q Kᵀ", [
      I32EnumAttrCase<"Linear", 0, "linear">,
      I32EnumAttrCase<"Softmax", 1, "softmax">
    ]> {
  let cppNamespace = "::mlir::ssm";
  let genSpecializedAttr = 0;
}

def Ssm_MaskKind : I32EnumAttr<"MaskKind",
    "which (query, key) pairs the mixing matrix keeps", [
      I32EnumAttrCase<"Causal", 0, "causal">,
      I32EnumAttrCase<"Full", 1, "full">,
      I32EnumAttrCase<"Window", 2, "window">
    ]> {
  let cppNamespace = "::mlir::ssm";
  let genSpecializedAttr = 0;
}

def Ssm_AlgorithmKind : I32EnumAttr<"AlgorithmKind",
    "how ssm.mix is computed", [
      I32EnumAttrCase<"Quadratic", 0, "quadratic">,
      I32EnumAttrCase<"Recurrent", 1, "recurrent">,
      I32EnumAttrCase<"Chunked", 2, "chunked">
    ]> {
  let cppNamespace = "::mlir::ssm";
  let genSpecializedAttr = 0;
}

def Ssm_KernelKind : I32EnumAttr<"KernelKind",
    "how a backend runs a planned ssm.mix", [
      // CPU: parallel loops over (batch, head) work items, vectorised.
      I32EnumAttrCase<"Loops", 0, "loops">,
      // CUDA, recurrent: one state row per thread, or rows sliced over lanes.
      I32EnumAttrCase<"RowPerThread", 1, "row_per_thread">,
      I32EnumAttrCase<"RowSliced", 2, "row_sliced">,
      // CUDA, chunked and quadratic: SIMT, or tensor cores (mma.sync; wgmma
      // on sm_90a).
      I32EnumAttrCase<"ChunkedSimt", 3, "chunked_simt">,
      I32EnumAttrCase<"ChunkedMma", 4, "chunked_mma">,
      I32EnumAttrCase<"QuadraticSimt", 5, "quadratic_simt">,
      I32EnumAttrCase<"QuadraticMma", 6, "quadratic_mma">,
      I32EnumAttrCase<"QuadraticWgmma", 7, "quadratic_wgmma">
    ]> {
  let cppNamespace = "::mlir::ssm";
  let genSpecializedAttr = 0;
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

class Ssm_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Ssm_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def Ssm_ScoreKindAttr : EnumAttr<Ssm_Dialect, Ssm_ScoreKind, "score"> {
  let summary = "score function: `linear` or `softmax`";
  let assemblyFormat = "`<` $value `>`";
}

def Ssm_MaskAttr : Ssm_Attr<"Mask", "mask"> {
  let summary = "causal, full, or a causal sliding window of W keys";
  let description = [{
    `causal` keeps key j for the query at position i when j ≤ i; `full`
    keeps every key; `window<W>` keeps j when j ≤ i and i − j < W (a causal
    sliding window). Queries against a cache (Lq < Lk) sit at positions
    Lk − Lq .. Lk − 1.

    ```mlir
    #ssm.mask<causal>
    #ssm.mask<full>
    #ssm.mask<window = 128>
    ```
  }];
  let parameters = (ins EnumParameter<Ssm_MaskKind>:$kind,
                        DefaultValuedParameter<"int64_t", "0">:$window);
  let builders = [
    AttrBuilder<(ins "MaskKind":$kind), [{
      return $_get($_ctxt, kind, 0);
    }]>
  ];
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    bool isCausal() const { return getKind() == MaskKind::Causal; }
    /// Whether the query at position i may read key j under this mask.
    bool keeps(int64_t i, int64_t j) const;
  }];
}

def Ssm_AlgorithmAttr : Ssm_Attr<"Algorithm", "algorithm"> {
  let summary = "the plan of an ssm.mix: its algorithm and how a backend runs it";
  let description = [{
    Written by `ssm-select-algorithm` for one backend (or forced by the
    user) and obeyed by that backend's lowering, which never re-decides: the
    algorithm and its chunk size, then the lowering configuration, i.e. the
    kernel (`loops` on CPUs; a CUDA kernel template) and its tiles
    (`vector_width`: f32 lanes of the CPU loops; `warp_row_tiles`: 16-row
    query tiles per warp of `quadratic_mma`; `blocks_per_sm`: the blocks of
    `chunked_mma` an SM runs at once, 2 or 3, which sets its buffers and
    registers; `segments`: the sequence of `chunked_mma` split into that
    many segments, a power of two ≥ 2, run in parallel after a first launch
    that computes each segment's state). A plan without a kernel names the
    algorithm only; no lowering takes it.

    ```mlir
    #ssm.algorithm<quadratic>
    #ssm.algorithm<recurrent, kernel = loops, vector_width = 16>
    #ssm.algorithm<chunked, chunk_size = 64, kernel = chunked_mma, blocks_per_sm = 2>
    #ssm.algorithm<chunked, chunk_size = 64, kernel = chunked_mma, blocks_per_sm = 2, segments = 4>
    #ssm.algorithm<quadratic, kernel = quadratic_mma, warp_row_tiles = 2>
    #ssm.algorithm<quadratic, kernel = quadratic_wgmma>
    ```
  }];
  let parameters = (ins EnumParameter<Ssm_AlgorithmKind>:$kind,
                        DefaultValuedParameter<"int64_t", "0">:$chunkSize,
                        OptionalParameter<"std::optional<KernelKind>">:$kernel,
                        DefaultValuedParameter<"int64_t", "0">:$vectorWidth,
                        DefaultValuedParameter<"int64_t", "0">:$warpRowTiles,
                        DefaultValuedParameter<"int64_t", "0">:$blocksPerSM,
                        DefaultValuedParameter<"int64_t", "0">:$segments);
  let builders = [
    AttrBuilder<(ins "AlgorithmKind":$kind,
                     CArg<"int64_t", "0">:$chunkSize), [{
      return $_get($_ctxt, kind, chunkSize, std::nullopt, 0, 0, 0, 0);
    }]>
  ];
  let extraClassDeclaration = [{
    /// The same algorithm and chunk with a lowering configuration.
    AlgorithmAttr withKernel(KernelKind kernel, int64_t vectorWidth = 0,
                             int64_t warpRowTiles = 0,
                             int64_t blocksPerSM = 0,
                             int64_t segments = 0) const;
  }];
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

#endif // SSM_ATTRS_TD
