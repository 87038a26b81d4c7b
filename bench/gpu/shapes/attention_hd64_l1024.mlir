// Causal softmax attention, head dim 64, B16 L1024 H32 (16K tokens, hidden 2048):
// SDPA's is_causal=True in peers_gpu.py.
func.func @attention(%q: tensor<16x1024x32x64xbf16> {ssm.name = "q"}, %k: tensor<16x1024x32x64xbf16> {ssm.name = "k"},
                     %v: tensor<16x1024x32x64xbf16> {ssm.name = "v"}) -> (tensor<16x1024x32x64xbf16> {ssm.name = "out"}) {
  %out = ssm.mix softmax(scale = 0.125) causal %q, %k, %v
      : (tensor<16x1024x32x64xbf16>, tensor<16x1024x32x64xbf16>, tensor<16x1024x32x64xbf16>) -> tensor<16x1024x32x64xbf16>
  return %out : tensor<16x1024x32x64xbf16>
}
