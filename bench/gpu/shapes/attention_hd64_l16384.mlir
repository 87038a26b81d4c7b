// Causal softmax attention, head dim 64, B1 L16384 H32 (16K tokens, hidden 2048):
// SDPA's is_causal=True in peers_gpu.py.
func.func @attention(%q: tensor<1x16384x32x64xbf16> {ssm.name = "q"}, %k: tensor<1x16384x32x64xbf16> {ssm.name = "k"},
                     %v: tensor<1x16384x32x64xbf16> {ssm.name = "v"}) -> (tensor<1x16384x32x64xbf16> {ssm.name = "out"}) {
  %out = ssm.mix softmax(scale = 0.125) causal %q, %k, %v
      : (tensor<1x16384x32x64xbf16>, tensor<1x16384x32x64xbf16>, tensor<1x16384x32x64xbf16>) -> tensor<1x16384x32x64xbf16>
  return %out : tensor<1x16384x32x64xbf16>
}
