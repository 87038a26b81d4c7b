// Causal softmax attention, head dim 128, B16 L1024 H16 (16K tokens, hidden 2048):
// SDPA's is_causal=True in peers_gpu.py.
func.func @attention(%q: tensor<16x1024x16x128xbf16> {ssm.name = "q"}, %k: tensor<16x1024x16x128xbf16> {ssm.name = "k"},
                     %v: tensor<16x1024x16x128xbf16> {ssm.name = "v"}) -> (tensor<16x1024x16x128xbf16> {ssm.name = "out"}) {
  %out = ssm.mix softmax(scale = 0.088388347648318433) causal %q, %k, %v
      : (tensor<16x1024x16x128xbf16>, tensor<16x1024x16x128xbf16>, tensor<16x1024x16x128xbf16>) -> tensor<16x1024x16x128xbf16>
  return %out : tensor<16x1024x16x128xbf16>
}
