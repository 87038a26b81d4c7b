// A row argmax as ssmc's model importer writes next_ids: the first of equal
// largest logits (ogt keeps the earlier), NaN never taken.
func.func @next_ids(%logits: tensor<?x?x9001xf32> {ssm.name = "logits"}) -> (tensor<?x?xi64> {ssm.name = "next_ids"}) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %B = tensor.dim %logits, %c0 : tensor<?x?x9001xf32>
  %L = tensor.dim %logits, %c1 : tensor<?x?x9001xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0 : i64
  %e0 = tensor.empty(%B, %L) : tensor<?x?xf32>
  %e1 = tensor.empty(%B, %L) : tensor<?x?xi64>
  %best0 = linalg.fill ins(%ninf : f32) outs(%e0 : tensor<?x?xf32>) -> tensor<?x?xf32>
  %at0 = linalg.fill ins(%zero : i64) outs(%e1 : tensor<?x?xi64>) -> tensor<?x?xi64>
  %r:2 = linalg.generic {indexing_maps = [affine_map<(b, l, v) -> (b, l, v)>, affine_map<(b, l, v) -> (b, l)>, affine_map<(b, l, v) -> (b, l)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%logits : tensor<?x?x9001xf32>) outs(%best0, %at0 : tensor<?x?xf32>, tensor<?x?xi64>) {
  ^bb0(%x: f32, %best: f32, %at: i64):
    %v = linalg.index 2 : index
    %vi = arith.index_cast %v : index to i64
    %gt = arith.cmpf ogt, %x, %best : f32
    %nb = arith.select %gt, %x, %best : f32
    %na = arith.select %gt, %vi, %at : i64
    linalg.yield %nb, %na : f32, i64
  } -> (tensor<?x?xf32>, tensor<?x?xi64>)
  return %r#1 : tensor<?x?xi64>
}
