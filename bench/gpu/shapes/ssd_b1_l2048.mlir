// Mamba-2 SSD, H80 P64 N128, one group, B1 L2048: the call peers_gpu.py times
// (mamba_chunk_scan_combined with D, dt_bias, dt_softplus): Δ = softplus(dt +
// dt_bias), y = ssm.mix(C, B, Δ·x, decay(Δ, A)) + D·x.
func.func @ssd(%x: tensor<1x2048x80x64xbf16> {ssm.name = "x"}, %dt: tensor<1x2048x80xf32> {ssm.name = "dt"},
               %dt_bias: tensor<80xf32> {ssm.name = "dt_bias"}, %A: tensor<80xf32> {ssm.name = "A"},
               %B: tensor<1x2048x1x128xbf16> {ssm.name = "B"}, %C: tensor<1x2048x1x128xbf16> {ssm.name = "C"},
               %D: tensor<80xf32> {ssm.name = "D"}) -> (tensor<1x2048x80x64xbf16> {ssm.name = "y"}) {
  %steps = tensor.empty() : tensor<1x2048x80xf32>
  %bias = linalg.broadcast ins(%dt_bias : tensor<80xf32>) outs(%steps : tensor<1x2048x80xf32>) dimensions = [0, 1]
  %shifted = arith.addf %dt, %bias : tensor<1x2048x80xf32>
  %exp = math.exp %shifted : tensor<1x2048x80xf32>
  %delta = math.log1p %exp : tensor<1x2048x80xf32>
  %wide = tensor.empty() : tensor<1x2048x80x64xf32>
  %deltaPerValue = linalg.broadcast ins(%delta : tensor<1x2048x80xf32>) outs(%wide : tensor<1x2048x80x64xf32>) dimensions = [3]
  %xWide = arith.extf %x : tensor<1x2048x80x64xbf16> to tensor<1x2048x80x64xf32>
  %vWide = arith.mulf %xWide, %deltaPerValue : tensor<1x2048x80x64xf32>
  %v = arith.truncf %vWide : tensor<1x2048x80x64xf32> to tensor<1x2048x80x64xbf16>
  %y = ssm.mix linear causal %C, %B, %v decay(%delta, %A)
      : (tensor<1x2048x1x128xbf16>, tensor<1x2048x1x128xbf16>, tensor<1x2048x80x64xbf16>, tensor<1x2048x80xf32>, tensor<80xf32>) -> tensor<1x2048x80x64xbf16>
  %skipPerValue = linalg.broadcast ins(%D : tensor<80xf32>) outs(%wide : tensor<1x2048x80x64xf32>) dimensions = [0, 1, 3]
  %skip = arith.mulf %xWide, %skipPerValue : tensor<1x2048x80x64xf32>
  %yWide = arith.extf %y : tensor<1x2048x80x64xbf16> to tensor<1x2048x80x64xf32>
  %sum = arith.addf %yWide, %skip : tensor<1x2048x80x64xf32>
  %out = arith.truncf %sum : tensor<1x2048x80x64xf32> to tensor<1x2048x80x64xbf16>
  return %out : tensor<1x2048x80x64xbf16>
}
