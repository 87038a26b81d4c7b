// Mamba-1 selective scan, D5120 N16, B1 L2048: selective_scan_cuda.fwd's work
// (delta_softplus, D, z): Δ = softplus(delta), y = (ssm.mix(C, B, Δ·u,
// decay(Δ, A)) + D·u) · silu(z). Channels are heads with P = 1; layout
// [B, L, D] (the peer takes [B, D, L]: the same bytes).
func.func @mamba1(%u: tensor<1x2048x5120x1xbf16> {ssm.name = "u"}, %delta: tensor<1x2048x5120xbf16> {ssm.name = "delta"},
                  %A: tensor<5120x16xf32> {ssm.name = "A"}, %B: tensor<1x2048x1x16xbf16> {ssm.name = "B"},
                  %C: tensor<1x2048x1x16xbf16> {ssm.name = "C"}, %D: tensor<5120xf32> {ssm.name = "D"},
                  %z: tensor<1x2048x5120x1xbf16> {ssm.name = "z"}) -> (tensor<1x2048x5120x1xbf16> {ssm.name = "y"}) {
  %deltaWide = arith.extf %delta : tensor<1x2048x5120xbf16> to tensor<1x2048x5120xf32>
  %exp = math.exp %deltaWide : tensor<1x2048x5120xf32>
  %step = math.log1p %exp : tensor<1x2048x5120xf32>
  %empty = tensor.empty() : tensor<1x2048x5120x1xf32>
  %stepPerValue = linalg.broadcast ins(%step : tensor<1x2048x5120xf32>) outs(%empty : tensor<1x2048x5120x1xf32>) dimensions = [3]
  %uWide = arith.extf %u : tensor<1x2048x5120x1xbf16> to tensor<1x2048x5120x1xf32>
  %vWide = arith.mulf %uWide, %stepPerValue : tensor<1x2048x5120x1xf32>
  %v = arith.truncf %vWide : tensor<1x2048x5120x1xf32> to tensor<1x2048x5120x1xbf16>
  %y = ssm.mix linear causal %C, %B, %v decay(%step, %A)
      : (tensor<1x2048x1x16xbf16>, tensor<1x2048x1x16xbf16>, tensor<1x2048x5120x1xbf16>, tensor<1x2048x5120xf32>, tensor<5120x16xf32>) -> tensor<1x2048x5120x1xbf16>
  %skipPerValue = linalg.broadcast ins(%D : tensor<5120xf32>) outs(%empty : tensor<1x2048x5120x1xf32>) dimensions = [0, 1, 3]
  %skip = arith.mulf %uWide, %skipPerValue : tensor<1x2048x5120x1xf32>
  %yWide = arith.extf %y : tensor<1x2048x5120x1xbf16> to tensor<1x2048x5120x1xf32>
  %sum = arith.addf %yWide, %skip : tensor<1x2048x5120x1xf32>
  %zWide = arith.extf %z : tensor<1x2048x5120x1xbf16> to tensor<1x2048x5120x1xf32>
  %negZ = arith.negf %zWide : tensor<1x2048x5120x1xf32>
  %expNegZ = math.exp %negZ : tensor<1x2048x5120x1xf32>
  %one = arith.constant dense<1.0> : tensor<1x2048x5120x1xf32>
  %denominator = arith.addf %one, %expNegZ : tensor<1x2048x5120x1xf32>
  %siluZ = arith.divf %zWide, %denominator : tensor<1x2048x5120x1xf32>
  %gated = arith.mulf %sum, %siluZ : tensor<1x2048x5120x1xf32>
  %out = arith.truncf %gated : tensor<1x2048x5120x1xf32> to tensor<1x2048x5120x1xbf16>
  return %out : tensor<1x2048x5120x1xbf16>
}
