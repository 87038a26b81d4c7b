//===- DynamicSizesTest.cpp - Sizes a program forces equal, and products
//---===//

#include "ssm/Analysis/DynamicSizes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::ssm;

namespace {

// %x: [B, L, 8] collapsed to [B·L, 8]; a [B·L·2] tensor sized by arith.muli
// of tensor.dims and a constant; a slice whose size is a tensor.dim.
constexpr const char *kProgram = R"mlir(
func.func @f(%x: tensor<?x?x8xf32>, %y: tensor<?x4xf32>) -> (tensor<?x8xf32>, tensor<?xf32>, tensor<?x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %flat = tensor.collapse_shape %x [[0, 1], [2]] : tensor<?x?x8xf32> into tensor<?x8xf32>
  %b = tensor.dim %x, %c0 : tensor<?x?x8xf32>
  %l = tensor.dim %x, %c1 : tensor<?x?x8xf32>
  %bl = arith.muli %b, %l : index
  %n = arith.muli %bl, %c2 : index
  %e = tensor.empty(%n) : tensor<?xf32>
  %unknown = tensor.empty(%c2) : tensor<?x4xf32>
  return %flat, %e, %unknown : tensor<?x8xf32>, tensor<?xf32>, tensor<?x4xf32>
}
)mlir";

class DynamicSizesTest : public ::testing::Test {
protected:
  void SetUp() override {
    context.loadDialect<func::FuncDialect, arith::ArithDialect,
                        tensor::TensorDialect>();
    module = parseSourceString<ModuleOp>(kProgram, &context);
    ASSERT_TRUE(module);
    func = *module->getOps<func::FuncOp>().begin();
  }
  Value returned(unsigned index) {
    return func.getBody().front().getTerminator()->getOperand(index);
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> module;
  func::FuncOp func;
};

TEST_F(DynamicSizesTest, InputDimsAreTheirOwnProduct) {
  DynamicSizes sizes(func);
  std::optional<SizeProduct> length = sizes.productOf(func.getArgument(0), 1);
  ASSERT_TRUE(length);
  EXPECT_EQ(length->factor, 1);
  ASSERT_EQ(length->dims.size(), 1u);
  EXPECT_EQ(length->dims[0].input, 0u);
  EXPECT_EQ(length->dims[0].dim, 1u);
  std::optional<SizeProduct> width = sizes.productOf(func.getArgument(0), 2);
  ASSERT_TRUE(width);
  EXPECT_EQ(width->factor, 8);
  EXPECT_TRUE(width->dims.empty());
}

TEST_F(DynamicSizesTest, CollapsedDimIsTheProductOfItsGroup) {
  DynamicSizes sizes(func);
  EXPECT_FALSE(sizes.inputDimOf(returned(0), 0));
  std::optional<SizeProduct> rows = sizes.productOf(returned(0), 0);
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->factor, 1);
  ASSERT_EQ(rows->dims.size(), 2u);
  EXPECT_EQ(rows->dims[0].dim, 0u);
  EXPECT_EQ(rows->dims[1].dim, 1u);
}

TEST_F(DynamicSizesTest, EmptySizedByMultipliedDims) {
  DynamicSizes sizes(func);
  std::optional<SizeProduct> size = sizes.productOf(returned(1), 0);
  ASSERT_TRUE(size);
  EXPECT_EQ(size->factor, 2);
  ASSERT_EQ(size->dims.size(), 2u);
  EXPECT_EQ(size->dims[0].input, 0u);
  EXPECT_EQ(size->dims[1].input, 0u);
}

// A size no input determines (here a constant passed as a dynamic size,
// which the analysis does not fold) has no product.
TEST_F(DynamicSizesTest, UnknownSizeHasNoProduct) {
  DynamicSizes sizes(func);
  EXPECT_FALSE(sizes.productOf(returned(2), 0));
}

} // namespace
