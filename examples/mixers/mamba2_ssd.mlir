// A Mamba-2 SSD mixer (one layer's scan, 24 heads of dim 64, d_state 128,
// one group), written as ssm.mix plus the elementwise glue around it:
//
//   Δ = softplus(dt + dt_bias)            per head
//   y = ssm.mix(q = C, k = B, v = Δ·x, decay dt = Δ, A)   (this is SSD)
//   y = (y + D·x) · silu(z)
//
// The glue is ordinary linalg/arith/math that fusion folds into the kernel.
// `ssm.name` names the arguments and results in the compiled artifact.
func.func @mamba2_ssd(%x: tensor<1x2048x24x64xf32> {ssm.name = "x"},
                      %dt: tensor<1x2048x24xf32> {ssm.name = "dt"},
                      %dt_bias: tensor<24xf32> {ssm.name = "dt_bias"},
                      %A: tensor<24xf32> {ssm.name = "A"},
                      %B: tensor<1x2048x1x128xf32> {ssm.name = "B"},
                      %C: tensor<1x2048x1x128xf32> {ssm.name = "C"},
                      %D: tensor<24xf32> {ssm.name = "D"},
                      %z: tensor<1x2048x24x64xf32> {ssm.name = "z"})
    -> (tensor<1x2048x24x64xf32> {ssm.name = "y"},
        tensor<1x24x64x128xf32> {ssm.name = "final_state"}) {
  // Δ = softplus(dt + dt_bias) = log(1 + exp(dt + dt_bias)).
  %steps = tensor.empty() : tensor<1x2048x24xf32>
  %bias = linalg.broadcast ins(%dt_bias : tensor<24xf32>)
                           outs(%steps : tensor<1x2048x24xf32>) dimensions = [0, 1]
  %shifted = arith.addf %dt, %bias : tensor<1x2048x24xf32>
  %exp = math.exp %shifted : tensor<1x2048x24xf32>
  %delta = math.log1p %exp : tensor<1x2048x24xf32>

  // v = Δ·x, the discretised input.
  %values = tensor.empty() : tensor<1x2048x24x64xf32>
  %deltaPerValue = linalg.broadcast ins(%delta : tensor<1x2048x24xf32>)
                                    outs(%values : tensor<1x2048x24x64xf32>) dimensions = [3]
  %v = arith.mulf %x, %deltaPerValue : tensor<1x2048x24x64xf32>

  // The mixer: all 24 heads read the single group of B and C.
  %y, %state = ssm.mix linear causal %C, %B, %v decay(%delta, %A)
      : (tensor<1x2048x1x128xf32>, tensor<1x2048x1x128xf32>, tensor<1x2048x24x64xf32>,
         tensor<1x2048x24xf32>, tensor<24xf32>)
      -> (tensor<1x2048x24x64xf32>, tensor<1x24x64x128xf32>)

  // y = (y + D·x) · silu(z).
  %skipPerValue = linalg.broadcast ins(%D : tensor<24xf32>)
                                   outs(%values : tensor<1x2048x24x64xf32>) dimensions = [0, 1, 3]
  %skip = arith.mulf %x, %skipPerValue : tensor<1x2048x24x64xf32>
  %withSkip = arith.addf %y, %skip : tensor<1x2048x24x64xf32>
  %negZ = arith.negf %z : tensor<1x2048x24x64xf32>
  %expNegZ = math.exp %negZ : tensor<1x2048x24x64xf32>
  %one = arith.constant dense<1.0> : tensor<1x2048x24x64xf32>
  %denominator = arith.addf %one, %expNegZ : tensor<1x2048x24x64xf32>
  %siluZ = arith.divf %z, %denominator : tensor<1x2048x24x64xf32>
  %out = arith.mulf %withSkip, %siluZ : tensor<1x2048x24x64xf32>
  return %out, %state : tensor<1x2048x24x64xf32>, tensor<1x24x64x128xf32>
}
