// Mamba-2 SSD in bf16 with its glue (softplus(dt + bias), Δ·x, the D skip)
// at a length that ends inside a chunk: the tensor-core kernel's row
// epilogue stores y through the fused consumer.
func.func @ssd(%x: tensor<2x200x4x64xbf16> {ssm.name = "x"}, %dt: tensor<2x200x4xf32> {ssm.name = "dt"},
               %dt_bias: tensor<4xf32> {ssm.name = "dt_bias"}, %A: tensor<4xf32> {ssm.name = "A"},
               %B: tensor<2x200x1x32xbf16> {ssm.name = "B"}, %C: tensor<2x200x1x32xbf16> {ssm.name = "C"},
               %D: tensor<4xf32> {ssm.name = "D"}) -> (tensor<2x200x4x64xbf16> {ssm.name = "y"}) {
  %steps = tensor.empty() : tensor<2x200x4xf32>
  %bias = linalg.broadcast ins(%dt_bias : tensor<4xf32>) outs(%steps : tensor<2x200x4xf32>) dimensions = [0, 1]
  %shifted = arith.addf %dt, %bias : tensor<2x200x4xf32>
  %exp = math.exp %shifted : tensor<2x200x4xf32>
  %delta = math.log1p %exp : tensor<2x200x4xf32>
  %wide = tensor.empty() : tensor<2x200x4x64xf32>
  %deltaPerValue = linalg.broadcast ins(%delta : tensor<2x200x4xf32>) outs(%wide : tensor<2x200x4x64xf32>) dimensions = [3]
  %xWide = arith.extf %x : tensor<2x200x4x64xbf16> to tensor<2x200x4x64xf32>
  %vWide = arith.mulf %xWide, %deltaPerValue : tensor<2x200x4x64xf32>
  %v = arith.truncf %vWide : tensor<2x200x4x64xf32> to tensor<2x200x4x64xbf16>
  %y = ssm.mix linear causal %C, %B, %v decay(%delta, %A)
      : (tensor<2x200x1x32xbf16>, tensor<2x200x1x32xbf16>, tensor<2x200x4x64xbf16>, tensor<2x200x4xf32>, tensor<4xf32>) -> tensor<2x200x4x64xbf16>
  %skipPerValue = linalg.broadcast ins(%D : tensor<4xf32>) outs(%wide : tensor<2x200x4x64xf32>) dimensions = [0, 1, 3]
  %skip = arith.mulf %xWide, %skipPerValue : tensor<2x200x4x64xf32>
  %yWide = arith.extf %y : tensor<2x200x4x64xbf16> to tensor<2x200x4x64xf32>
  %sum = arith.addf %yWide, %skip : tensor<2x200x4x64xf32>
  %out = arith.truncf %sum : tensor<2x200x4x64xf32> to tensor<2x200x4x64xbf16>
  return %out : tensor<2x200x4x64xbf16>
}
