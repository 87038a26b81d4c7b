// The reductions of a model layer, on any backend: an RMSNorm (a sum over
// the hidden dim, then elementwise), a projection (linalg.matmul against a
// [out, in] weight) and a depthwise convolution along the sequence (a sum
// over taps at shifted positions), added together. Batch and length are
// dynamic: the projection's rows are their product.
#row = affine_map<(b, t, d) -> (b, t, d)>
#rowsum = affine_map<(b, t, d) -> (b, t)>
#hidden = affine_map<(b, t, d) -> (d)>
#lhs = affine_map<(m, n, k) -> (m, k)>
#rhs = affine_map<(m, n, k) -> (n, k)>
#out = affine_map<(m, n, k) -> (m, n)>
#shifted = affine_map<(b, t, d, k) -> (b, t + k, d)>
#taps = affine_map<(b, t, d, k) -> (d, k)>
#conv_out = affine_map<(b, t, d, k) -> (b, t, d)>
func.func @layer(%x: tensor<?x?x64xf32> {ssm.name = "x"}, %norm: tensor<64xf32> {ssm.name = "norm"},
                 %w: tensor<96x64xf32> {ssm.name = "w"}, %c: tensor<?x?x96xf32> {ssm.name = "c"},
                 %taps: tensor<96x4xf32> {ssm.name = "taps"}) -> (tensor<?x?x96xf32> {ssm.name = "y"}) {
  %zero = arith.constant 0.0 : f32
  %width = arith.constant 64.0 : f32
  %eps = arith.constant 1.0e-5 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %x, %c0 : tensor<?x?x64xf32>
  %l = tensor.dim %x, %c1 : tensor<?x?x64xf32>
  %rows = arith.muli %b, %l : index
  %e2 = tensor.empty(%b, %l) : tensor<?x?xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<?x?xf32>) -> tensor<?x?xf32>
  %squares = linalg.generic {indexing_maps = [#row, #rowsum], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x : tensor<?x?x64xf32>) outs(%z2 : tensor<?x?xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sq = arith.mulf %in, %in : f32
    %sum = arith.addf %acc, %sq : f32
    linalg.yield %sum : f32
  } -> tensor<?x?xf32>
  %e3 = tensor.empty(%b, %l) : tensor<?x?x64xf32>
  %normed = linalg.generic {indexing_maps = [#row, #rowsum, #hidden, #row], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x, %squares, %norm : tensor<?x?x64xf32>, tensor<?x?xf32>, tensor<64xf32>) outs(%e3 : tensor<?x?x64xf32>) {
  ^bb0(%in: f32, %s: f32, %g: f32, %o: f32):
    %mean = arith.divf %s, %width : f32
    %shift = arith.addf %mean, %eps : f32
    %r = math.rsqrt %shift : f32
    %n = arith.mulf %in, %r : f32
    %scaled = arith.mulf %g, %n : f32
    linalg.yield %scaled : f32
  } -> tensor<?x?x64xf32>
  %flat = tensor.collapse_shape %normed [[0, 1], [2]] : tensor<?x?x64xf32> into tensor<?x64xf32>
  %e4 = tensor.empty(%rows) : tensor<?x96xf32>
  %z4 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<?x96xf32>) -> tensor<?x96xf32>
  %proj = linalg.matmul indexing_maps = [#lhs, #rhs, #out] ins(%flat, %w : tensor<?x64xf32>, tensor<96x64xf32>)
      outs(%z4 : tensor<?x96xf32>) -> tensor<?x96xf32>
  %proj3 = tensor.expand_shape %proj [[0, 1], [2]] output_shape [%b, %l, 96] : tensor<?x96xf32> into tensor<?x?x96xf32>
  %e5 = tensor.empty(%b, %l) : tensor<?x?x96xf32>
  %z5 = linalg.fill ins(%zero : f32) outs(%e5 : tensor<?x?x96xf32>) -> tensor<?x?x96xf32>
  %conv = linalg.generic {indexing_maps = [#shifted, #taps, #conv_out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%c, %taps : tensor<?x?x96xf32>, tensor<96x4xf32>) outs(%z5 : tensor<?x?x96xf32>) {
  ^bb0(%in: f32, %tap: f32, %acc: f32):
    %p = arith.mulf %in, %tap : f32
    %sum = arith.addf %acc, %p : f32
    linalg.yield %sum : f32
  } -> tensor<?x?x96xf32>
  %y = linalg.generic {indexing_maps = [#row, #row, #row], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%proj3, %conv : tensor<?x?x96xf32>, tensor<?x?x96xf32>) outs(%e5 : tensor<?x?x96xf32>) {
  ^bb0(%pa: f32, %pb: f32, %o: f32):
    %s = arith.addf %pa, %pb : f32
    linalg.yield %s : f32
  } -> tensor<?x?x96xf32>
  return %y : tensor<?x?x96xf32>
}
