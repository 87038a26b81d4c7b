//===- Tensor.h - Dense float64 tensors for the reference -------*- C++ -*-===//
//
// A minimal row-major float64 tensor: the reference's only data structure.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_REFERENCE_TENSOR_H
#define SSM_REFERENCE_TENSOR_H

#include <cassert>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace ssm::reference {

/// A dense, row-major float64 tensor that owns its values.
class Tensor {
public:
  Tensor() = default;
  explicit Tensor(std::vector<int64_t> shape, double fill = 0.0);
  Tensor(std::vector<int64_t> shape, std::vector<double> values);

  const std::vector<int64_t> &shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(int64_t i) const { return shape_[i]; }
  int64_t numElements() const { return static_cast<int64_t>(values_.size()); }
  double *data() { return values_.data(); }
  const double *data() const { return values_.data(); }
  const std::vector<double> &values() const { return values_; }

  /// Element access by full index (bounds are asserted in debug builds).
  double &at(std::initializer_list<int64_t> index) {
    return values_[offset(index)];
  }
  double at(std::initializer_list<int64_t> index) const {
    return values_[offset(index)];
  }

  /// The tensor with dimensions reordered: result dim i is this dim perm[i].
  Tensor transposed(const std::vector<int64_t> &perm) const;
  /// The same values under another shape with as many elements.
  Tensor reshaped(std::vector<int64_t> shape) const;

  /// "[2, 96, 4]"
  std::string shapeString() const;

private:
  int64_t offset(std::initializer_list<int64_t> index) const {
    assert(index.size() == shape_.size() && "index rank mismatch");
    int64_t result = 0, i = 0;
    for (int64_t value : index) {
      assert(value >= 0 && value < shape_[i] && "index out of bounds");
      result = result * shape_[i++] + value;
    }
    return result;
  }

  std::vector<int64_t> shape_;
  std::vector<double> values_;
};

/// Product of the extents.
int64_t numElements(const std::vector<int64_t> &shape);

/// max |a - b| over all elements; +inf when the shapes differ.
double maxAbsDifference(const Tensor &a, const Tensor &b);
/// max |a|.
double maxAbs(const Tensor &a);

} // namespace ssm::reference

#endif // SSM_REFERENCE_TENSOR_H
