// Decayed linear attention with a scalar gate per head and step, B8 L2048 H80
// K128 V64: fla's chunk_simple_gla(q, k, v, g, output_final_state=True), which
// scales q by K^-1/2. The log-decay g is dt with A = 1.
func.func @gla(%q: tensor<8x2048x80x128xbf16> {ssm.name = "q"}, %k: tensor<8x2048x80x128xbf16> {ssm.name = "k"},
               %v: tensor<8x2048x80x64xbf16> {ssm.name = "v"}, %g: tensor<8x2048x80xf32> {ssm.name = "g"})
    -> (tensor<8x2048x80x64xbf16> {ssm.name = "o"}, tensor<8x80x64x128xf32> {ssm.name = "final_state"}) {
  %scale = arith.constant dense<0.088388347648318447> : tensor<8x2048x80x128xbf16>
  %scaled = arith.mulf %q, %scale : tensor<8x2048x80x128xbf16>
  %ones = arith.constant dense<1.0> : tensor<80xf32>
  %o, %state = ssm.mix linear causal %scaled, %k, %v decay(%g, %ones)
      : (tensor<8x2048x80x128xbf16>, tensor<8x2048x80x128xbf16>, tensor<8x2048x80x64xbf16>, tensor<8x2048x80xf32>, tensor<80xf32>) -> (tensor<8x2048x80x64xbf16>, tensor<8x80x64x128xf32>)
  return %o, %state : tensor<8x2048x80x64xbf16>, tensor<8x80x64x128xf32>
}
