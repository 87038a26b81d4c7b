// Results read only through slices of their last dim, as a model's in_proj
// is (z, xBC, dt): a projection of bf16 weights sliced into two parts, and
// an elementwise op sliced into two more (one part of it unread). Batch and
// length are dynamic.
#lhs = affine_map<(m, n, k) -> (m, k)>
#rhs = affine_map<(m, n, k) -> (n, k)>
#out = affine_map<(m, n, k) -> (m, n)>
#identity2 = affine_map<(n, k) -> (n, k)>
#identity3 = affine_map<(b, t, d) -> (b, t, d)>
func.func @parts(%x: tensor<?x?x64xf32> {ssm.name = "x"},
                 %w: tensor<200x64xbf16> {ssm.name = "w"})
    -> (tensor<?x?x120xf32> {ssm.name = "a"}, tensor<?x?x80xf32> {ssm.name = "b"},
        tensor<?x?x16xf32> {ssm.name = "c"}, tensor<?x?x40xf32> {ssm.name = "d"}) {
  %zero = arith.constant 0.0 : f32
  %two = arith.constant 2.0 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %x, %c0 : tensor<?x?x64xf32>
  %l = tensor.dim %x, %c1 : tensor<?x?x64xf32>
  %rows = arith.muli %b, %l : index
  %e0 = tensor.empty() : tensor<200x64xf32>
  %wide = linalg.generic {indexing_maps = [#identity2, #identity2], iterator_types = ["parallel", "parallel"]}
      ins(%w : tensor<200x64xbf16>) outs(%e0 : tensor<200x64xf32>) {
  ^bb0(%in: bf16, %o: f32):
    %e = arith.extf %in : bf16 to f32
    linalg.yield %e : f32
  } -> tensor<200x64xf32>
  %flat = tensor.collapse_shape %x [[0, 1], [2]] : tensor<?x?x64xf32> into tensor<?x64xf32>
  %e1 = tensor.empty(%rows) : tensor<?x200xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<?x200xf32>) -> tensor<?x200xf32>
  %proj = linalg.matmul indexing_maps = [#lhs, #rhs, #out] ins(%flat, %wide : tensor<?x64xf32>, tensor<200x64xf32>)
      outs(%z1 : tensor<?x200xf32>) -> tensor<?x200xf32>
  %proj3 = tensor.expand_shape %proj [[0, 1], [2]] output_shape [%b, %l, 200] : tensor<?x200xf32> into tensor<?x?x200xf32>
  %a = tensor.extract_slice %proj3[0, 0, 0] [%b, %l, 120] [1, 1, 1] : tensor<?x?x200xf32> to tensor<?x?x120xf32>
  %bpart = tensor.extract_slice %proj3[0, 0, 120] [%b, %l, 80] [1, 1, 1] : tensor<?x?x200xf32> to tensor<?x?x80xf32>
  %e2 = tensor.empty(%b, %l) : tensor<?x?x64xf32>
  %doubled = linalg.generic {indexing_maps = [#identity3, #identity3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<?x?x64xf32>) outs(%e2 : tensor<?x?x64xf32>) {
  ^bb0(%in: f32, %o: f32):
    %m = arith.mulf %in, %two : f32
    linalg.yield %m : f32
  } -> tensor<?x?x64xf32>
  %c = tensor.extract_slice %doubled[0, 0, 0] [%b, %l, 16] [1, 1, 1] : tensor<?x?x64xf32> to tensor<?x?x16xf32>
  %d = tensor.extract_slice %doubled[0, 0, 24] [%b, %l, 40] [1, 1, 1] : tensor<?x?x64xf32> to tensor<?x?x40xf32>
  return %a, %bpart, %c, %d : tensor<?x?x120xf32>, tensor<?x?x80xf32>, tensor<?x?x16xf32>, tensor<?x?x40xf32>
}
