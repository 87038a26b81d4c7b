// One decode step of a Mamba-2 layer (H80 P64 N128) on a [B64, 80, 64, 128] f32
// state: selective_state_update's work (dt_softplus, dt_bias, D): the state is
// read and written once.
func.func @decode(%x: tensor<64x1x80x64xbf16> {ssm.name = "x"}, %dt: tensor<64x1x80xf32> {ssm.name = "dt"},
                  %dt_bias: tensor<80xf32> {ssm.name = "dt_bias"}, %A: tensor<80xf32> {ssm.name = "A"},
                  %B: tensor<64x1x1x128xbf16> {ssm.name = "B"}, %C: tensor<64x1x1x128xbf16> {ssm.name = "C"},
                  %D: tensor<80xf32> {ssm.name = "D"}, %state: tensor<64x80x64x128xf32> {ssm.name = "state"})
    -> (tensor<64x1x80x64xbf16> {ssm.name = "y"}, tensor<64x80x64x128xf32> {ssm.name = "new_state"}) {
  %steps = tensor.empty() : tensor<64x1x80xf32>
  %bias = linalg.broadcast ins(%dt_bias : tensor<80xf32>) outs(%steps : tensor<64x1x80xf32>) dimensions = [0, 1]
  %shifted = arith.addf %dt, %bias : tensor<64x1x80xf32>
  %exp = math.exp %shifted : tensor<64x1x80xf32>
  %delta = math.log1p %exp : tensor<64x1x80xf32>
  %wide = tensor.empty() : tensor<64x1x80x64xf32>
  %deltaPerValue = linalg.broadcast ins(%delta : tensor<64x1x80xf32>) outs(%wide : tensor<64x1x80x64xf32>) dimensions = [3]
  %xWide = arith.extf %x : tensor<64x1x80x64xbf16> to tensor<64x1x80x64xf32>
  %vWide = arith.mulf %xWide, %deltaPerValue : tensor<64x1x80x64xf32>
  %v = arith.truncf %vWide : tensor<64x1x80x64xf32> to tensor<64x1x80x64xbf16>
  %y, %next = ssm.mix linear causal %C, %B, %v decay(%delta, %A) initial_state(%state)
      : (tensor<64x1x1x128xbf16>, tensor<64x1x1x128xbf16>, tensor<64x1x80x64xbf16>, tensor<64x1x80xf32>, tensor<80xf32>, tensor<64x80x64x128xf32>) -> (tensor<64x1x80x64xbf16>, tensor<64x80x64x128xf32>)
  %skipPerValue = linalg.broadcast ins(%D : tensor<80xf32>) outs(%wide : tensor<64x1x80x64xf32>) dimensions = [0, 1, 3]
  %skip = arith.mulf %xWide, %skipPerValue : tensor<64x1x80x64xf32>
  %yWide = arith.extf %y : tensor<64x1x80x64xbf16> to tensor<64x1x80x64xf32>
  %sum = arith.addf %yWide, %skip : tensor<64x1x80x64xf32>
  %out = arith.truncf %sum : tensor<64x1x80x64xf32> to tensor<64x1x80x64xbf16>
  return %out, %next : tensor<64x1x80x64xbf16>, tensor<64x80x64x128xf32>
}
