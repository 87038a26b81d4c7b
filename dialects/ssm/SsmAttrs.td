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
    `causal` keeps key j for query i when j ≤ i; `full` keeps every key;
    `window<W>` keeps j when j ≤ i and i − j < W (a causal sliding window).

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
    /// Whether query i may read key j under this mask.
    bool keeps(int64_t i, int64_t j) const;
  }];
}

def Ssm_AlgorithmAttr : Ssm_Attr<"Algorithm", "algorithm"> {
  let summary = "the algorithm chosen for an ssm.mix, with its chunk size";
  let description = [{
    Written by `ssm-select-algorithm` (or forced by the user) and obeyed by
    the lowering passes, which never re-decide.

    ```mlir
    #ssm.algorithm<quadratic>
    #ssm.algorithm<recurrent>
    #ssm.algorithm<chunked, chunk_size = 64>
    ```
  }];
  let parameters = (ins EnumParameter<Ssm_AlgorithmKind>:$kind,
                        DefaultValuedParameter<"int64_t", "0">:$chunkSize);
  let builders = [
    AttrBuilder<(ins "AlgorithmKind":$kind), [{
      return $_get($_ctxt, kind, 0);
    }]>
  ];
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

#endif // SSM_ATTRS_TD
