// The data movement of a model layer: an embedding gather (token ids, read
// as floats here, clamped into the table), a causal convolution over the
// gathered rows padded by 3 positions in front, the last 3 padded positions
// (a convolution state), two results concatenated along the features, and
// a half-rotation of the features (RoPE's index arithmetic). Batch and
// length are dynamic.
#bt = affine_map<(b, t, d) -> (b, t)>
#btd = affine_map<(b, t, d) -> (b, t, d)>
#shifted = affine_map<(b, t, d, k) -> (b, t + k, d)>
#taps = affine_map<(b, t, d, k) -> (d, k)>
#conv_out = affine_map<(b, t, d, k) -> (b, t, d)>
func.func @movement(%ids: tensor<?x?xf32> {ssm.name = "ids"}, %table: tensor<50x16xf32> {ssm.name = "table"},
                    %taps: tensor<16x4xf32> {ssm.name = "taps"})
    -> (tensor<?x?x16xf32> {ssm.name = "conv"}, tensor<?x3x16xf32> {ssm.name = "tail"},
        tensor<?x?x32xf32> {ssm.name = "joined"}, tensor<?x?x16xf32> {ssm.name = "rotated"}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  %lowest = arith.constant 0 : i64
  %highest = arith.constant 49 : i64
  %b = tensor.dim %ids, %c0 : tensor<?x?xf32>
  %l = tensor.dim %ids, %c1 : tensor<?x?xf32>
  %e16 = tensor.empty(%b, %l) : tensor<?x?x16xf32>
  %emb = linalg.generic {indexing_maps = [#bt, #btd], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ids : tensor<?x?xf32>) outs(%e16 : tensor<?x?x16xf32>) {
  ^bb0(%id: f32, %o: f32):
    %i = arith.fptosi %id : f32 to i64
    %above = arith.maxsi %i, %lowest : i64
    %inside = arith.minsi %above, %highest : i64
    %row = arith.index_cast %inside : i64 to index
    %col = linalg.index 2 : index
    %x = tensor.extract %table[%row, %col] : tensor<50x16xf32>
    linalg.yield %x : f32
  } -> tensor<?x?x16xf32>
  %padded = tensor.pad %emb low[0, 3, 0] high[0, 0, 0] {
  ^bb0(%i0: index, %i1: index, %i2: index):
    tensor.yield %zero : f32
  } : tensor<?x?x16xf32> to tensor<?x?x16xf32>
  %z16 = linalg.fill ins(%zero : f32) outs(%e16 : tensor<?x?x16xf32>) -> tensor<?x?x16xf32>
  %conv = linalg.generic {indexing_maps = [#shifted, #taps, #conv_out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%padded, %taps : tensor<?x?x16xf32>, tensor<16x4xf32>) outs(%z16 : tensor<?x?x16xf32>) {
  ^bb0(%x: f32, %w: f32, %acc: f32):
    %p = arith.mulf %x, %w : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x?x16xf32>
  %tail = tensor.extract_slice %padded[0, %l, 0] [%b, 3, 16] [1, 1, 1] : tensor<?x?x16xf32> to tensor<?x3x16xf32>
  %e32 = tensor.empty(%b, %l) : tensor<?x?x32xf32>
  %first = tensor.insert_slice %emb into %e32[0, 0, 0] [%b, %l, 16] [1, 1, 1] : tensor<?x?x16xf32> into tensor<?x?x32xf32>
  %joined = tensor.insert_slice %conv into %first[0, 0, 16] [%b, %l, 16] [1, 1, 1] : tensor<?x?x16xf32> into tensor<?x?x32xf32>
  %rotated = linalg.generic {indexing_maps = [#btd], iterator_types = ["parallel", "parallel", "parallel"]}
      outs(%e16 : tensor<?x?x16xf32>) {
  ^bb0(%o: f32):
    %i0 = linalg.index 0 : index
    %i1 = linalg.index 1 : index
    %d = linalg.index 2 : index
    %low = arith.cmpi ult, %d, %c8 : index
    %up = arith.addi %d, %c8 : index
    %down = arith.subi %d, %c8 : index
    %partner = arith.select %low, %up, %down : index
    %x = tensor.extract %emb[%i0, %i1, %partner] : tensor<?x?x16xf32>
    %minus = arith.negf %x : f32
    %r = arith.select %low, %minus, %x : f32
    linalg.yield %r : f32
  } -> tensor<?x?x16xf32>
  return %conv, %tail, %joined, %rotated : tensor<?x?x16xf32>, tensor<?x3x16xf32>, tensor<?x?x32xf32>, tensor<?x?x16xf32>
}
