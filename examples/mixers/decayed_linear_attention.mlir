// Linear attention with a data-dependent decay per step and head (RetNet /
// GLA-style with scalar gates): out = ((q kᵀ) ∘ M) v with
// M[i, j] = exp(Σ_{r=j+1..i} log_decay_r). In ssm.mix terms the log-decay is
// dt and A = 1 per head. No normalisation. The final state [B, H, P, N] lets
// a later call continue the sequence (decode).
func.func @decayed_linear_attention(%q: tensor<2x4096x8x64xf32>, %k: tensor<2x4096x8x64xf32>,
                                    %v: tensor<2x4096x8x64xf32>,
                                    %logDecay: tensor<2x4096x8xf32>)
    -> (tensor<2x4096x8x64xf32>, tensor<2x8x64x64xf32>) {
  %ones = arith.constant dense<1.0> : tensor<8xf32>
  %out, %state = ssm.mix linear causal %q, %k, %v decay(%logDecay, %ones)
      : (tensor<2x4096x8x64xf32>, tensor<2x4096x8x64xf32>, tensor<2x4096x8x64xf32>,
         tensor<2x4096x8xf32>, tensor<8xf32>)
      -> (tensor<2x4096x8x64xf32>, tensor<2x8x64x64xf32>)
  return %out, %state : tensor<2x4096x8x64xf32>, tensor<2x8x64x64xf32>
}
