// Causal softmax attention with grouped-query heads: 32 query heads share 8
// key/value heads (query head h reads kv head h / 4), head dim 128, bf16.
// scale = 1/sqrt(128). The batch and sequence length are dynamic.
func.func @softmax_attention_gqa(%q: tensor<?x?x32x128xbf16>, %k: tensor<?x?x8x128xbf16>,
                                 %v: tensor<?x?x8x128xbf16>) -> tensor<?x?x32x128xbf16> {
  %out = ssm.mix softmax(scale = 0.08838834764831845) causal %q, %k, %v
      : (tensor<?x?x32x128xbf16>, tensor<?x?x8x128xbf16>, tensor<?x?x8x128xbf16>)
      -> tensor<?x?x32x128xbf16>
  return %out : tensor<?x?x32x128xbf16>
}

// The same with a sliding window of 4096 keys (Mistral-style).
func.func @sliding_window_attention(%q: tensor<?x?x32x128xbf16>, %k: tensor<?x?x8x128xbf16>,
                                    %v: tensor<?x?x8x128xbf16>) -> tensor<?x?x32x128xbf16> {
  %out = ssm.mix softmax(scale = 0.08838834764831845) window(4096) %q, %k, %v
      : (tensor<?x?x32x128xbf16>, tensor<?x?x8x128xbf16>, tensor<?x?x8x128xbf16>)
      -> tensor<?x?x32x128xbf16>
  return %out : tensor<?x?x32x128xbf16>
}
