//===- Tensor.cpp - Dense float64 tensors for the reference ---------------===//
//
// Construction, transposition and comparison of reference tensors.
//
//===----------------------------------------------------------------------===//

#include "ssm/Reference/Tensor.h"

#include <cmath>
#include <limits>

using namespace ssm::reference;

int64_t ssm::reference::numElements(const std::vector<int64_t> &shape) {
  int64_t count = 1;
  for (int64_t extent : shape)
    count *= extent;
  return count;
}

Tensor::Tensor(std::vector<int64_t> shape, double fill)
    : shape_(std::move(shape)), values_(ssm::reference::numElements(shape_), fill) {}

Tensor::Tensor(std::vector<int64_t> shape, std::vector<double> values)
    : shape_(std::move(shape)), values_(std::move(values)) {
  assert(static_cast<int64_t>(values_.size()) == ssm::reference::numElements(shape_) &&
         "value count does not match the shape");
}

Tensor Tensor::transposed(const std::vector<int64_t> &perm) const {
  assert(perm.size() == shape_.size() && "permutation rank mismatch");
  int64_t rank = this->rank();
  std::vector<int64_t> shape(rank), srcStrides(rank, 1);
  for (int64_t i = rank - 2; i >= 0; --i)
    srcStrides[i] = srcStrides[i + 1] * shape_[i + 1];
  for (int64_t i = 0; i < rank; ++i)
    shape[i] = shape_[perm[i]];
  Tensor result(shape);
  std::vector<int64_t> index(rank, 0);
  for (int64_t linear = 0; linear < result.numElements(); ++linear) {
    int64_t src = 0;
    for (int64_t i = 0; i < rank; ++i)
      src += index[i] * srcStrides[perm[i]];
    result.values_[linear] = values_[src];
    // Advance the multi-index over the result's shape, last dim fastest.
    for (int64_t i = rank - 1; i >= 0; --i) {
      if (++index[i] < shape[i])
        break;
      index[i] = 0;
    }
  }
  return result;
}

Tensor Tensor::reshaped(std::vector<int64_t> shape) const {
  assert(ssm::reference::numElements(shape) == numElements() &&
         "reshape changes the element count");
  return Tensor(std::move(shape), values_);
}

std::string Tensor::shapeString() const {
  std::string text = "[";
  for (size_t i = 0; i < shape_.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape_[i]);
  return text + "]";
}

double ssm::reference::maxAbsDifference(const Tensor &a, const Tensor &b) {
  if (a.shape() != b.shape())
    return std::numeric_limits<double>::infinity();
  double result = 0.0;
  for (int64_t i = 0; i < a.numElements(); ++i) {
    double difference = std::fabs(a.data()[i] - b.data()[i]);
    // std::max would drop a NaN; an element never written must not pass.
    if (std::isnan(difference))
      return std::numeric_limits<double>::infinity();
    result = std::max(result, difference);
  }
  return result;
}

double ssm::reference::maxAbs(const Tensor &a) {
  double result = 0.0;
  for (double value : a.values())
    result = std::max(result, std::fabs(value));
  return result;
}
