// Mamba-1 selective scan, D5120 N16, B4 L8192: selective_scan_cuda.fwd's work
// (delta_softplus, D, z): Δ = softplus(delta), y = (ssm.mix(C, B, Δ·u,
// decay(Δ, A)) + D·u) · silu(z). Channels are heads with P = 1; layout
// [B, L, D] (the peer takes [B, D, L]: the same bytes).
func.func @mamba1(%u: tensor<4x8192x5120x1xbf16> {ssm.name = "u"}, %delta: tensor<4x8192x5120xbf16> {ssm.name = "delta"},
                  %A: tensor<5120x16xf32> {ssm.name = "A"}, %B: tensor<4x8192x1x16xbf16> {ssm.name = "B"},
                  %C: tensor<4x8192x1x16xbf16> {ssm.name = "C"}, %D: tensor<5120xf32> {ssm.name = "D"},
                  %z: tensor<4x8192x5120x1xbf16> {ssm.name = "z"}) -> (tensor<4x8192x5120x1xbf16> {ssm.name = "y"}) {
  %deltaWide = arith.extf %delta : tensor<4x8192x5120xbf16> to tensor<4x8192x5120xf32>
  %exp = math.exp %deltaWide : tensor<4x8192x5120xf32>
  %step = math.log1p %exp : tensor<4x8192x5120xf32>
  %empty = tensor.empty() : tensor<4x8192x5120x1xf32>
  %stepPerValue = linalg.broadcast ins(%step : tensor<4x8192x5120xf32>) outs(%empty : tensor<4x8192x5120x1xf32>) dimensions = [3]
  %uWide = arith.extf %u : tensor<4x8192x5120x1xbf16> to tensor<4x8192x5120x1xf32>
  %vWide = arith.mulf %uWide, %stepPerValue : tensor<4x8192x5120x1xf32>
  %v = arith.truncf %vWide : tensor<4x8192x5120x1xf32> to tensor<4x8192x5120x1xbf16>
  %y = ssm.mix linear causal %C, %B, %v decay(%step, %A)
      : (tensor<4x8192x1x16xbf16>, tensor<4x8192x1x16xbf16>, tensor<4x8192x5120x1xbf16>, tensor<4x8192x5120xf32>, tensor<5120x16xf32>) -> tensor<4x8192x5120x1xbf16>
  %skipPerValue = linalg.broadcast ins(%D : tensor<5120xf32>) outs(%empty : tensor<4x8192x5120x1xf32>) dimensions = [0, 1, 3]
  %skip = arith.mulf %uWide, %skipPerValue : tensor<4x8192x5120x1xf32>
  %yWide = arith.extf %y : tensor<4x8192x5120x1xbf16> to tensor<4x8192x5120x1xf32>
  %sum = arith.addf %yWide, %skip : tensor<4x8192x5120x1xf32>
  %zWide = arith.extf %z : tensor<4x8192x5120x1xbf16> to tensor<4x8192x5120x1xf32>
  %negZ = arith.negf %zWide : tensor<4x8192x5120x1xf32>
  %expNegZ = math.exp %negZ : tensor<4x8192x5120x1xf32>
  %one = arith.constant dense<1.0> : tensor<4x8192x5120x1xf32>
  %denominator = arith.addf %one, %expNegZ : tensor<4x8192x5120x1xf32>
  %siluZ = arith.divf %zWide, %denominator : tensor<4x8192x5120x1xf32>
  %gated = arith.mulf %sum, %siluZ : tensor<4x8192x5120x1xf32>
  %out = arith.truncf %gated : tensor<4x8192x5120x1xf32> to tensor<4x8192x5120x1xbf16>
  return %out : tensor<4x8192x5120x1xbf16>
}
