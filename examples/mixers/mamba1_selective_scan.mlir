// A Mamba-1 selective scan (d_inner 1536, d_state 16): every channel is a
// head with value dim P = 1, and A [1536, 16] is a diagonal decay, so the
// mixing matrix of channel d is M = Σ_n C[:, n] · L_n · B[:, n]ᵀ with
// L_n[i, j] = exp(Σ_{r=j+1..i} Δ_r[d] A[d, n]). v = Δ·u is computed by the
// caller (see mamba2_ssd.mlir for the glue); here the scan alone.
func.func @mamba1_selective_scan(%C: tensor<1x2048x1x16xf32> {ssm.name = "C"},
                                 %B: tensor<1x2048x1x16xf32> {ssm.name = "B"},
                                 %deltaU: tensor<1x2048x1536x1xf32> {ssm.name = "delta_u"},
                                 %delta: tensor<1x2048x1536xf32> {ssm.name = "delta"},
                                 %A: tensor<1536x16xf32> {ssm.name = "A"})
    -> (tensor<1x2048x1536x1xf32> {ssm.name = "y"},
        tensor<1x1536x1x16xf32> {ssm.name = "final_state"}) {
  %y, %state = ssm.mix linear causal %C, %B, %deltaU decay(%delta, %A)
      : (tensor<1x2048x1x16xf32>, tensor<1x2048x1x16xf32>, tensor<1x2048x1536x1xf32>,
         tensor<1x2048x1536xf32>, tensor<1536x16xf32>)
      -> (tensor<1x2048x1536x1xf32>, tensor<1x1536x1x16xf32>)
  return %y, %state : tensor<1x2048x1536x1xf32>, tensor<1x1536x1x16xf32>
}
