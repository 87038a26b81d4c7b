// A projection of bf16 weights, as a model's importer writes it: W [out, in]
// widened to f32 where it is read, x · Wᵀ over the collapsed batch and
// length. K = 1544 is not a multiple of the kernels' K steps (the few-row
// form splits it unevenly, three ways) and N = 300 not one of their column
// tiles, so the tails are exercised.
#lhs = affine_map<(m, n, k) -> (m, k)>
#rhs = affine_map<(m, n, k) -> (n, k)>
#out = affine_map<(m, n, k) -> (m, n)>
#identity = affine_map<(n, k) -> (n, k)>
func.func @project(%x: tensor<?x?x1544xf32> {ssm.name = "x"},
                   %w: tensor<300x1544xbf16> {ssm.name = "w"})
    -> (tensor<?x?x300xf32> {ssm.name = "y"}) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %x, %c0 : tensor<?x?x1544xf32>
  %l = tensor.dim %x, %c1 : tensor<?x?x1544xf32>
  %rows = arith.muli %b, %l : index
  %e0 = tensor.empty() : tensor<300x1544xf32>
  %wide = linalg.generic {indexing_maps = [#identity, #identity], iterator_types = ["parallel", "parallel"]}
      ins(%w : tensor<300x1544xbf16>) outs(%e0 : tensor<300x1544xf32>) {
  ^bb0(%in: bf16, %o: f32):
    %e = arith.extf %in : bf16 to f32
    linalg.yield %e : f32
  } -> tensor<300x1544xf32>
  %flat = tensor.collapse_shape %x [[0, 1], [2]] : tensor<?x?x1544xf32> into tensor<?x1544xf32>
  %e1 = tensor.empty(%rows) : tensor<?x300xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?x300xf32>) -> tensor<?x300xf32>
  %proj = linalg.matmul indexing_maps = [#lhs, #rhs, #out] ins(%flat, %wide : tensor<?x1544xf32>, tensor<300x1544xf32>)
      outs(%z1 : tensor<?x300xf32>) -> tensor<?x300xf32>
  %y = tensor.expand_shape %proj [[0, 1], [2]] output_shape [%b, %l, 300] : tensor<?x300xf32> into tensor<?x?x300xf32>
  return %y : tensor<?x?x300xf32>
}
