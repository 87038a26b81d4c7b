//===- SsmDialect.td - The ssm dialect ---------------------*- tablegen -*-===//
//
// The ssm dialect: one structured-matrix op for every sequence mixer.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_DIALECT_TD
#define SSM_DIALECT_TD

include "mlir/IR/OpBase.td"

def Ssm_Dialect : Dialect {
  let name = "ssm";
  let summary = "Sequence mixers as one semiseparable-matrix operation";
  let description = [{
    State-space models (Mamba-1's selective scan, Mamba-2's SSD), softmax
    attention and linear attention all compute `Y = M · V` with a structured
    L×L matrix `M = mask ∘ score(Q Kᵀ) ∘ decay`. The dialect represents all of
    them with one op, `ssm.mix`; passes decide how to compute it (quadratic,
    recurrent or chunked).
  }];
  let cppNamespace = "::mlir::ssm";
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    /// Registers the attributes; defined beside their storage classes.
    void registerAttributes();
  }];
}

class Ssm_Op<string mnemonic, list<Trait> traits = []>
    : Op<Ssm_Dialect, mnemonic, traits>;

#endif // SSM_DIALECT_TD
