//===- CudaEmitter.cpp - CUDA C++ from planned ssm.mix programs -----------===//
//
// For each public function: decides which values live in device memory
// (inputs, outputs, buffers between kernels) and which are recomputed inside
// the kernels that read them, then prints one kernel per mixer and per
// elementwise op left over. Every kernel is a small generated struct (its
// operands, the fused glue as member functions) handed to a device template.
//
//===----------------------------------------------------------------------===//

#include "ssm/Target/CUDA/CudaEmitter.h"

#include "ssm/Transforms/GlueFusion.h"
#include "ssm/device/geometry.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/Path.h"

#include <fmt/format.h>

#include <iterator>
#include <map>
#include <set>

using namespace mlir;
using namespace mlir::ssm;
namespace geometry = ::ssm::device::geometry;

namespace {

//===----------------------------------------------------------------------===//
// SourcePrinter: the one way text is produced
//===----------------------------------------------------------------------===//

class SourcePrinter {
public:
  template <typename... Args>
  void line(fmt::format_string<Args...> format, Args &&...args) {
    text.append(2 * indent, ' ');
    fmt::format_to(std::back_inserter(text), format,
                   std::forward<Args>(args)...);
    text += '\n';
  }
  void blank() { text += '\n'; }
  void append(const std::string &other) { text += other; }
  void indentMore() { ++indent; }
  void indentLess() { --indent; }
  const std::string &str() const { return text; }
  size_t size() const { return text.size(); }
  /// The text written since `mark` (a size() before), removed from here.
  std::string takeFrom(size_t mark) {
    std::string tail = text.substr(mark);
    text.resize(mark);
    return tail;
  }

private:
  std::string text;
  int indent = 0;
};

/// Kernels already written, by their text with names made positional: a
/// model's layers are alike, and each of their kernels is written once (and
/// compiled once) for every function of the module, its launches naming the
/// first.
class KernelDeduplicator {
public:
  /// `text` writes the kernels `kernels` (each with its parameters' names,
  /// in order): the kernels' names if one like it was written before (the
  /// same order), or nothing after recording it.
  std::optional<std::vector<std::string>>
  find(const std::string &text,
       const std::vector<std::pair<std::string, std::vector<std::string>>>
           &kernels) {
    std::string key = canonical(text, kernels);
    auto [it, inserted] = written.try_emplace(key);
    if (inserted) {
      for (const auto &kernel : kernels)
        it->second.push_back(kernel.first);
      return std::nullopt;
    }
    return it->second;
  }

private:
  /// `text` without its comments (they name source locations), each
  /// kernel's name (and the names made from it) and each parameter's name
  /// replaced by its position.
  static std::string canonical(
      const std::string &text,
      const std::vector<std::pair<std::string, std::vector<std::string>>>
          &kernels) {
    std::map<std::string, std::string> parameters;
    for (const auto &kernel : kernels)
      for (const std::string &name : kernel.second)
        parameters.try_emplace(name, "@p" + std::to_string(parameters.size()));
    std::string out;
    size_t i = 0;
    while (i < text.size()) {
      size_t lineEnd = text.find('\n', i);
      if (lineEnd == std::string::npos)
        lineEnd = text.size();
      size_t first = text.find_first_not_of(' ', i);
      bool comment = first < lineEnd && text.compare(first, 2, "//") == 0;
      for (size_t j = i; j < lineEnd && !comment;) {
        char c = text[j];
        if (!(std::isalpha(static_cast<unsigned char>(c)) || c == '_')) {
          out += c;
          ++j;
          continue;
        }
        size_t end = j;
        while (end < lineEnd &&
               (std::isalnum(static_cast<unsigned char>(text[end])) ||
                text[end] == '_'))
          ++end;
        std::string token = text.substr(j, end - j);
        if (auto it = parameters.find(token); it != parameters.end()) {
          out += it->second;
        } else {
          bool renamed = false;
          for (size_t k = kernels.size(); k-- > 0 && !renamed;) {
            const std::string &name = kernels[k].first;
            if (token.compare(0, name.size(), name) == 0 &&
                (token.size() == name.size() || token[name.size()] == '_')) {
              out += "@k" + std::to_string(k) + token.substr(name.size());
              renamed = true;
            }
          }
          if (!renamed)
            out += token;
        }
        j = end;
      }
      if (!comment)
        out += '\n';
      i = lineEnd + 1;
    }
    return out;
  }

  std::map<std::string, std::vector<std::string>> written;
};

/// A C identifier made of `name`.
std::string identifier(StringRef name) {
  std::string result;
  for (char c : name)
    result += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  if (result.empty() || std::isdigit(static_cast<unsigned char>(result[0])))
    result = "f_" + result;
  return result;
}

std::string locationOf(Location loc) {
  if (auto fileLoc = dyn_cast<FileLineColLoc>(loc))
    return fmt::format("{}:{}:{}",
                       llvm::sys::path::filename(fileLoc.getFilename().getValue())
                           .str(),
                       fileLoc.getLine(), fileLoc.getColumn());
  if (auto nameLoc = dyn_cast<NameLoc>(loc))
    return nameLoc.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    if (!fused.getLocations().empty())
      return locationOf(fused.getLocations().front());
  return "unknown location";
}

static std::optional<BlockArgument> projectionWeight(linalg::MatmulOp op);

/// Appends the dims of a size that is a product of input dims to a buffer's
/// shape: the factor, where not 1, as a static dim, and each input dim.
static void appendDims(CudaBuffer &buffer, const SizeProduct &product) {
  if (product.factor != 1) {
    buffer.shape.push_back(product.factor);
    buffer.dimsFrom.push_back(std::nullopt);
  }
  for (const InputDim &dim : product.dims) {
    buffer.shape.push_back(-1);
    buffer.dimsFrom.push_back(dim);
  }
}

/// The C++ type a value of element type `type` is computed in.
std::string computeType(Type type) {
  if (type.isF64())
    return "double";
  if (isa<FloatType>(type))
    return "float";
  if (type.isInteger(1))
    return "bool";
  return "int64_t";
}

/// The C++ type a tensor of element type `type` is stored as.
FailureOr<std::string> storageType(Type type) {
  if (type.isF32())
    return std::string("float");
  if (type.isF64())
    return std::string("double");
  if (type.isBF16())
    return std::string("ssm::device::bf16");
  if (type.isF16())
    return std::string("ssm::device::f16");
  if (type.isInteger(32))
    return std::string("int32_t");
  if (type.isInteger(64))
    return std::string("int64_t");
  return failure();
}

std::string manifestDtype(Type type) {
  if (type.isF32())
    return "f32";
  if (type.isF64())
    return "f64";
  if (type.isBF16())
    return "bf16";
  if (type.isF16())
    return "f16";
  if (type.isInteger(32))
    return "i32";
  return "i64";
}

std::string floatLiteral(double value, Type type) {
  if (std::isnan(value))
    return type.isF64() ? "(0.0 / 0.0)" : "(0.0f / 0.0f)";
  if (std::isinf(value))
    return std::string(value < 0 ? "-" : "") +
           (type.isF64() ? "(1.0 / 0.0)" : "(1.0f / 0.0f)");
  std::string text = fmt::format("{:.17g}", value);
  if (text.find_first_of(".e") == std::string::npos)
    text += ".0";
  return type.isF64() ? text : text + "f";
}

/// 16-bit float types: results are rounded to them after every op.
std::string roundIfNarrow(Type type, const std::string &expression) {
  if (type.isBF16())
    return "ssm::device::roundTo<ssm::device::bf16>(" + expression + ")";
  if (type.isF16())
    return "ssm::device::roundTo<ssm::device::f16>(" + expression + ")";
  return expression;
}

//===----------------------------------------------------------------------===//
// Where values live
//===----------------------------------------------------------------------===//

struct Storage {
  enum class Kind { Input, Output, Buffer, Constant };
  Kind kind;
  unsigned index = 0;
  bool operator<(const Storage &other) const {
    return std::tie(kind, index) < std::tie(other.kind, other.index);
  }
};

/// One kernel of a function, in program order.
struct KernelRoot {
  enum class Kind { Mix, Elementwise, Copy, Reduction, Slice };
  Kind kind;
  MixOp mix;
  std::optional<FusedWrite> write; // mix: the consumer of y
  linalg::GenericOp generic;       // elementwise
  Value source;                    // copy: the value read
  unsigned output = 0;             // copy: the output written
  linalg::LinalgOp reduction;      // reduction: a generic or a matmul
  Operation *view = nullptr;       // slice: an extract_slice

  Operation *op() {
    switch (kind) {
    case Kind::Mix:
      return mix.getOperation();
    case Kind::Elementwise:
      return generic.getOperation();
    case Kind::Reduction:
      return reduction.getOperation();
    case Kind::Slice:
      return view;
    case Kind::Copy:
      return nullptr;
    }
    return nullptr;
  }
};

class FunctionEmitter;

//===----------------------------------------------------------------------===//
// KernelWriter: one kernel's parameters, helper functions and body
//===----------------------------------------------------------------------===//

struct KernelParameter {
  std::string declaration; // "const float *__restrict__ in0"
  std::string name;
  std::string type; // the C++ type, for the emulator's argument unpacking
  CudaKernelArgument argument;
};

class KernelWriter {
public:
  KernelWriter(FunctionEmitter &function, std::string name)
      : function(function), name(std::move(name)) {
    helpers.indentMore(); // member functions of the kernel's struct
  }

  /// The parameter holding storage `storage` (registered on first use).
  FailureOr<std::string> pointer(Storage storage, Type elementType,
                                 bool written, Location loc);
  /// The expression of dim `dim` of `value`: a literal or a parameter.
  FailureOr<std::string> sizeOf(Value value, unsigned dim, Location loc);
  /// The row-major stride of dim `dim` of `value` (the product of the sizes
  /// after it): "1" for the last.
  FailureOr<std::string> strideOf(Value value, unsigned dim, Location loc);
  /// The row-major element offset of `indices` in `value`.
  FailureOr<std::string> offsetOf(Value value, ArrayRef<std::string> indices,
                                  Location loc);
  /// An expression reading `read` at `indices` as computeType(element).
  FailureOr<std::string> read(const FusedRead &read,
                              ArrayRef<std::string> indices);
  /// `width` consecutive values of `read` along index `rowDim` (starting at
  /// indices[rowDim]): statements into `out`, and either the name of a local
  /// array of `width` values or, for a value the row does not vary, one
  /// scalar expression. Leaves contiguous along the row are read with
  /// vector loads (ssm::device::loadRow).
  struct RowValue {
    std::string expression;
    bool isArray = false;
  };
  FailureOr<RowValue> readRow(const FusedRead &read,
                              ArrayRef<std::string> indices, unsigned rowDim,
                              const std::string &width, SourcePrinter &out);
  /// The same read split in two, so that a kernel can issue the loads of a
  /// later step before it needs the values: in the Load phase, statements
  /// filling `raw.l<k>` (each leaf's memory, in its storage type; arrays of
  /// `width` along the row), with their declarations in `fields`; in the
  /// Compute phase, the glue over those fields. Leaves are numbered in the
  /// same traversal order in both phases from `leaf`.
  enum class Phase { Load, Compute };
  FailureOr<RowValue> splitRead(const FusedRead &read,
                                ArrayRef<std::string> indices,
                                std::optional<unsigned> rowDim,
                                const std::string &width, Phase phase,
                                int &leaf, SourcePrinter &out,
                                std::vector<std::string> &fields);
  /// Whether reads of `tensor` go through it to its operands (a pad, an
  /// insertion): it has no memory of its own.
  static bool isReadThrough(Value tensor) {
    return tensor.getDefiningOp<tensor::PadOp>() ||
           tensor.getDefiningOp<tensor::InsertSliceOp>();
  }
  /// Fills `target[0..width)` with such a tensor's values along `rowDim`
  /// from `indices`, one read each.
  LogicalResult readThroughRow(const FusedRead &read,
                               ArrayRef<std::string> indices, unsigned rowDim,
                               const std::string &width,
                               const std::string &target, SourcePrinter &out);
  /// A statement storing `value` into the memory of `target` at `indices`.
  FailureOr<std::string> store(Value target, ArrayRef<std::string> indices,
                               const std::string &value, Location loc);
  /// A statement storing the `width` values of array `values` into `target`
  /// from `indices` on, consecutive along dimension `rowDim`.
  FailureOr<std::string> storeRow(Value target, ArrayRef<std::string> indices,
                                  unsigned rowDim, const std::string &width,
                                  const std::string &values, Location loc);
  /// Translates `op`'s body given its inputs' expressions (and, for a
  /// reduction, the accumulator's, which its output argument reads);
  /// statements go to `out`, the yielded expression is returned. `loops`
  /// names the op's loop variables, for linalg.index (none: the body may
  /// not read them).
  FailureOr<std::string> translateBody(linalg::LinalgOp op,
                                       ArrayRef<std::string> inputs,
                                       SourcePrinter &out,
                                       const std::string *accumulator = nullptr,
                                       ArrayRef<std::string> loops = {});

  /// The expression of an index value computed outside the kernels (a
  /// slice's offset or size): constants, tensor.dim and arith on them.
  FailureOr<std::string> indexValue(Value value, Location loc);

  const std::string &getName() const { return name; }
  const std::vector<KernelParameter> &getParameters() const { return parameters; }
  /// Member functions of the kernel's struct (fused producers).
  const SourcePrinter &getHelpers() const { return helpers; }

  /// Declarations of every parameter as struct members, and their
  /// assignment from the kernel's parameters.
  void printMembers(SourcePrinter &out) const;
  void printAssignments(SourcePrinter &out, StringRef object) const;
  std::string parameterList() const;

private:
  FunctionEmitter &function;
  std::string name;
  std::vector<KernelParameter> parameters;
  std::map<Storage, std::string> storageNames;
  std::map<std::pair<unsigned, unsigned>, std::string> dimNames;
  llvm::DenseMap<Operation *, std::string> helperNames;
  SourcePrinter helpers;
  unsigned nextValue = 0;
};

//===----------------------------------------------------------------------===//
// FunctionEmitter
//===----------------------------------------------------------------------===//

class FunctionEmitter {
public:
  FunctionEmitter(func::FuncOp func, SourcePrinter &out,
                  KernelDeduplicator &written)
      : func(func), sizes(func), out(out), written(written),
        prefix(identifier(func.getSymName())) {}

  LogicalResult emit(CudaFunctionPlan &plan);

  // Used by KernelWriter.
  const DynamicSizes &getSizes() const { return sizes; }
  func::FuncOp getFunction() { return func; }
  std::optional<Storage> storageOf(Value value) const {
    auto it = storage.find(value);
    if (it == storage.end())
      return std::nullopt;
    return it->second;
  }
  FailureOr<std::string> constantName(Value value, Location loc);
  const FusionPolicy &getPolicy() const { return policy; }

  /// Every kernel's emulator entry (kernel name, parameter types).
  std::vector<std::pair<std::string, std::vector<std::string>>> emulatorEntries;

private:
  LogicalResult classify();
  LogicalResult assignStorage(CudaFunctionPlan &plan);
  LogicalResult emitMix(KernelRoot root, unsigned ordinal,
                        CudaFunctionPlan &plan);
  LogicalResult emitElementwise(KernelRoot root, unsigned ordinal,
                                CudaFunctionPlan &plan);
  LogicalResult emitReduction(KernelRoot root, unsigned ordinal,
                              CudaFunctionPlan &plan);
  LogicalResult emitSlice(KernelRoot root, unsigned ordinal,
                          CudaFunctionPlan &plan);
  /// A row argmax (isRowArgmax), a block a row (elementwise.cuh).
  LogicalResult emitArgmax(linalg::LinalgOp op, unsigned ordinal,
                           CudaFunctionPlan &plan);
  /// A projection x · Wᵀ of 16-bit weights on tensor cores (matmul.cuh):
  /// `weight` is W's function argument.
  LogicalResult emitProjection(linalg::MatmulOp op, BlockArgument weight,
                               unsigned ordinal, CudaFunctionPlan &plan);
  /// The statements (two lines) storing `sum` as element (m, n) of
  /// projection `op`'s result, its initial value added where the matmul
  /// accumulates: into the result, or into the slices it is split into.
  FailureOr<std::string> projectionStore(KernelWriter &writer,
                                         linalg::MatmulOp op);
  /// The kernel after a projection's few-row form that splits K: the splits'
  /// partial sums added in order, with the result's initial value.
  LogicalResult
  emitProjectionSum(linalg::MatmulOp op, StringRef kernelName, Storage partials,
                    int64_t splits, const std::optional<CudaLaunchRange> &range,
                    llvm::function_ref<void(CudaGridExtent &)> rowsExtent,
                    CudaFunctionPlan &plan);
  /// A kernel of a thread an element of `result`: `valueAt` writes the
  /// statements for the element at `indices` and returns its expression,
  /// stored into `target` (default: the result's storage).
  using ElementValue = std::function<FailureOr<std::string>(
      KernelWriter &, SourcePrinter &, ArrayRef<std::string>)>;
  /// With `perWarp`, a warp an element: `valueAt` may read `lane` and
  /// every lane returns the element (lane 0 stores it).
  LogicalResult emitPerElement(const std::string &kernelName, Value result,
                               Location loc, const std::string &comment,
                               const ElementValue &valueAt,
                               CudaFunctionPlan &plan,
                               std::optional<Storage> target = std::nullopt,
                               bool perWarp = false);
  void finishKernel(const KernelWriter &writer, StringRef comment,
                    StringRef body, unsigned threads);
  FailureOr<CudaGridExtent> extentOf(Value value, unsigned dim,
                                     int64_t divisor, Location loc);
  bool isMaterialized(Value value) const;
  /// Follows reshapes back to the value they view.
  static Value viewedValue(Value value);

  func::FuncOp func;
  DynamicSizes sizes;
  SourcePrinter &out;
  KernelDeduplicator &written;
  /// Each kernel's parameter names, by kernel (finishKernel).
  std::map<std::string, std::vector<std::string>> parameterNames;
  std::string prefix;
  FusionPolicy policy;

  std::vector<KernelRoot> roots;
  // In the order found (program order, then the producers the fixpoint
  // adds): buffers are numbered by it, so the emitted code does not depend
  // on where values sit in memory.
  llvm::SetVector<Value> materialized;
  llvm::DenseMap<Value, Storage> storage;
  llvm::MapVector<Value, unsigned> constants; // dense constants → index
  /// Results read only through slices of their last dim (a projection's
  /// parts): their kernels store each element into the slices that hold it,
  /// which are materialized in their place (splitSlices).
  llvm::DenseMap<Value, SmallVector<tensor::ExtractSliceOp>> splitInto;

public:
  /// The statements storing `value` at element `row`, `column` of a result
  /// split into slices (`column` along its last dim, `row` the linear index
  /// of the others); `prefix` precedes each store.
  FailureOr<std::string> splitStore(KernelWriter &writer, Value result,
                                    const std::string &row,
                                    const std::string &column,
                                    const std::string &value,
                                    const std::string &prefix, Location loc);
  bool isSplit(Value value) const { return splitInto.count(value); }

private:
  /// Finds the results splitInto takes (after classify).
  void splitSlices();
};

Value FunctionEmitter::viewedValue(Value value) {
  while (true) {
    if (auto collapse = value.getDefiningOp<tensor::CollapseShapeOp>())
      value = collapse.getSrc();
    else if (auto expand = value.getDefiningOp<tensor::ExpandShapeOp>())
      value = expand.getSrc();
    else if (auto cast = value.getDefiningOp<tensor::CastOp>())
      value = cast.getSource();
    else
      return value;
  }
}

bool FunctionEmitter::isMaterialized(Value value) const {
  return materialized.contains(viewedValue(value));
}

static bool isSplatConstant(Value value, DenseElementsAttr *attr = nullptr) {
  auto constant = value.getDefiningOp<arith::ConstantOp>();
  if (!constant)
    return false;
  auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
  if (!dense || !dense.isSplat())
    return false;
  if (attr)
    *attr = dense;
  return true;
}

/// The index value that sized dim `dim` of `tensor` (a tensor.empty's, through
/// the insertions into it and the linalg ops writing it), or null.
static Value sizeValueOf(Value tensor, unsigned dim) {
  for (int depth = 0; depth < 64; ++depth) {
    Operation *op = tensor.getDefiningOp();
    if (!op)
      return Value();
    if (auto empty = dyn_cast<tensor::EmptyOp>(op))
      return empty.getType().isDynamicDim(dim) ? empty.getDynamicSize(dim)
                                               : Value();
    if (auto insert = dyn_cast<tensor::InsertSliceOp>(op)) {
      tensor = insert.getDest();
      continue;
    }
    if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
        linalgOp && linalgOp.getNumDpsInits() == 1) {
      tensor = linalgOp.getDpsInits()[0];
      continue;
    }
    return Value();
  }
  return Value();
}

/// An index expression of the affine expression `expr` over loop variables
/// named `loops`, or "" when it is not a sum of multiples of loops and
/// constants.
static std::string indexExpression(AffineExpr expr,
                                   ArrayRef<std::string> loops) {
  if (auto dim = dyn_cast<AffineDimExpr>(expr))
    return loops[dim.getPosition()];
  if (auto constant = dyn_cast<AffineConstantExpr>(expr))
    return std::to_string(constant.getValue());
  auto binary = dyn_cast<AffineBinaryOpExpr>(expr);
  if (!binary || (binary.getKind() != AffineExprKind::Add &&
                  binary.getKind() != AffineExprKind::Mul))
    return "";
  std::string lhs = indexExpression(binary.getLHS(), loops),
              rhs = indexExpression(binary.getRHS(), loops);
  if (lhs.empty() || rhs.empty())
    return "";
  return fmt::format("({} {} {})", lhs,
                     binary.getKind() == AffineExprKind::Add ? "+" : "*", rhs);
}

/// Where the extent of loop `loop` of `op` can be read: an input and the
/// dim of it that the loop indexes alone.
static std::optional<std::pair<Value, unsigned>>
loopExtentSource(linalg::LinalgOp op, unsigned loop) {
  for (OpOperand &operand : op->getOpOperands()) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    for (auto [position, result] : llvm::enumerate(map.getResults()))
      if (auto dim = dyn_cast<AffineDimExpr>(result);
          dim && dim.getPosition() == loop)
        return std::make_pair(operand.get(), static_cast<unsigned>(position));
  }
  return std::nullopt;
}

/// Whether `op` is a row argmax, as the model importer writes next_ids: one
/// f32 input indexed by every loop, the last loop the only reduction, two
/// outputs indexed by the others (the largest value, f32, unused; its index,
/// i64), and the body that keeps the first of equal largest values:
///   %i = linalg.index <last>; %c = arith.index_cast %i : index to i64
///   %gt = arith.cmpf ogt, %x, %best
///   linalg.yield select(%gt, %x, %best), select(%gt, %c, %at)
static bool isRowArgmax(linalg::LinalgOp op) {
  if (op.getNumDpsInputs() != 1 || op.getNumDpsInits() != 2 ||
      op->getNumResults() != 2 || !op->getResult(0).use_empty())
    return false;
  auto input = dyn_cast<RankedTensorType>(op.getDpsInputs()[0].getType());
  auto index = dyn_cast<RankedTensorType>(op->getResult(1).getType());
  auto value = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!input || !index || !value || !input.getElementType().isF32() ||
      !value.getElementType().isF32() || !index.getElementType().isInteger(64))
    return false;
  const unsigned loops = op.getNumLoops();
  if (loops < 1 || input.getRank() != loops)
    return false;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned loop = 0; loop < loops; ++loop)
    if ((iterators[loop] == utils::IteratorType::reduction) !=
        (loop + 1 == loops))
      return false;
  MLIRContext *context = op->getContext();
  AffineMap rows = AffineMap::getMultiDimIdentityMap(loops, context)
                       .getMajorSubMap(loops - 1);
  if (!op.getMatchingIndexingMap(op.getDpsInputOperand(0)).isIdentity() ||
      op.getMatchingIndexingMap(op.getDpsInitOperand(0)) != rows ||
      op.getMatchingIndexingMap(op.getDpsInitOperand(1)) != rows)
    return false;
  Block &body = op->getRegion(0).front();
  Value x = body.getArgument(0), best = body.getArgument(1),
        at = body.getArgument(2);
  Operation *yield = body.getTerminator();
  auto keptValue = yield->getOperand(0).getDefiningOp<arith::SelectOp>();
  auto keptIndex = yield->getOperand(1).getDefiningOp<arith::SelectOp>();
  if (!keptValue || !keptIndex ||
      keptValue.getCondition() != keptIndex.getCondition() ||
      keptValue.getTrueValue() != x || keptValue.getFalseValue() != best ||
      keptIndex.getFalseValue() != at)
    return false;
  auto greater = keptValue.getCondition().getDefiningOp<arith::CmpFOp>();
  auto cast = keptIndex.getTrueValue().getDefiningOp<arith::IndexCastOp>();
  auto position =
      cast ? cast.getIn().getDefiningOp<linalg::IndexOp>() : linalg::IndexOp();
  return greater && greater.getPredicate() == arith::CmpFPredicate::OGT &&
         greater.getLhs() == x && greater.getRhs() == best && position &&
         position.getDim() == loops - 1 && body.getOperations().size() == 6;
}

/// Why the reduction kernel (a thread an output element, looping over the
/// reduction dims) cannot run `op`, or "".
static std::string whyNotReducible(linalg::LinalgOp op) {
  if (op.getNumDpsInits() != 1 || op->getNumResults() != 1)
    return "a reduction with one output is expected (or a row argmax: "
           "the first index of each row's largest f32, as an i64)";
  AffineMap output = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  llvm::SmallDenseSet<unsigned> seen;
  for (AffineExpr result : output.getResults()) {
    auto dim = dyn_cast<AffineDimExpr>(result);
    if (!dim || iterators[dim.getPosition()] != utils::IteratorType::parallel ||
        !seen.insert(dim.getPosition()).second)
      return "its output must be indexed by distinct parallel loops";
  }
  unsigned parallel = llvm::count(iterators, utils::IteratorType::parallel);
  if (seen.size() != parallel)
    return "every parallel loop must index its output";
  std::vector<std::string> names(op.getNumLoops(), "l");
  for (OpOperand *input : op.getDpsInputOperands())
    for (AffineExpr result : op.getMatchingIndexingMap(input).getResults())
      if (indexExpression(result, names).empty())
        return "its inputs must be indexed by sums of multiples of loops";
  for (unsigned loop = 0; loop < op.getNumLoops(); ++loop)
    if (!loopExtentSource(op, loop))
      return "every loop must index some operand's dim alone";
  return "";
}

/// Decides the kernels and which values are materialized in device memory.
LogicalResult FunctionEmitter::classify() {
  policy.allowPermutations = true;
  policy.allowPermutedResult = true;
  policy.maxDepth = 16;
  policy.readFromMemory = [this](Value value) {
    return isMaterialized(value);
  };

  for (BlockArgument argument : func.getArguments())
    materialized.insert(argument);
  llvm::DenseSet<Operation *> writtenByMixes;
  llvm::DenseSet<Operation *> generics;
  // Kernels in program order: mixes, and elementwise ops something needs in
  // memory (a result, a reshape); the rest are fused into their readers.
  for (Operation &op : func.getBody().front()) {
    if (auto mix = dyn_cast<MixOp>(op)) {
      KernelRoot root{KernelRoot::Kind::Mix, mix};
      root.write = analyzeFusedWrite(mix.getY(), mix, policy);
      if (root.write) {
        writtenByMixes.insert(root.write->consumer);
        materialized.insert(root.write->consumer.getResult(0));
      } else {
        materialized.insert(mix.getY());
      }
      if (Value finalState = mix.getFinalState())
        materialized.insert(finalState);
      roots.push_back(std::move(root));
      continue;
    }
    if (auto insert = dyn_cast<tensor::InsertSliceOp>(op)) {
      if (insert.getSourceType().getRank() != insert.getType().getRank() ||
          !llvm::all_of(insert.getStaticStrides(),
                        [](int64_t stride) { return stride == 1; }))
        return op.emitOpError() << "is not supported by the CUDA backend: "
                                   "only unit strides of the same rank";
      // Read where it is used (KernelWriter::read), like a pad: a
      // concatenation's sizes are sums, which no buffer takes.
      continue;
    }
    if (isa<tensor::ExtractSliceOp>(op)) {
      materialized.insert(op.getResult(0));
      KernelRoot root{KernelRoot::Kind::Slice};
      root.view = &op;
      roots.push_back(root);
      continue;
    }
    if (auto pad = dyn_cast<tensor::PadOp>(op)) {
      // Read where it is used (KernelWriter::read), never materialized.
      if (!pad.getConstantPaddingValue() || !pad.getLow().empty() ||
          !pad.getHigh().empty())
        return op.emitOpError() << "is not supported by the CUDA backend: "
                                   "only static pads by a constant";
      continue;
    }
    if (auto generic = dyn_cast<linalg::GenericOp>(op);
        (generic && !writtenByMixes.contains(generic) &&
         !isFusableElementwise(generic, policy)) ||
        isa<linalg::MatmulOp>(op)) {
      auto reduction = cast<linalg::LinalgOp>(op);
      if (isRowArgmax(reduction)) {
        materialized.insert(op.getResult(1)); // the index; the value unused
        KernelRoot root{KernelRoot::Kind::Reduction};
        root.reduction = reduction;
        roots.push_back(root);
        continue;
      }
      if (std::string why = whyNotReducible(reduction); !why.empty())
        return op.emitOpError()
               << "is not supported by the CUDA backend: " << why;
      materialized.insert(op.getResult(0));
      KernelRoot root{KernelRoot::Kind::Reduction};
      root.reduction = reduction;
      roots.push_back(root);
      continue;
    }
    if (auto generic = dyn_cast<linalg::GenericOp>(op)) {
      if (writtenByMixes.contains(generic))
        continue;
      generics.insert(generic);
      // Gathers read through it; so do projections of the 16-bit weight a
      // widening widens (they read the weight itself).
      auto readsThrough = [](Operation *user) {
        auto matmul = dyn_cast<linalg::MatmulOp>(user);
        return (matmul && projectionWeight(matmul)) ||
               isa<tensor::ExtractOp>(user);
      };
      bool needed = llvm::any_of(generic->getUsers(), [&](Operation *user) {
        return !readsThrough(user) && !isa<linalg::GenericOp, MixOp>(user);
      });
      // A value a reduction reads and something else too (a model's
      // residual stream: the next norm's sum and the next sum) is kept,
      // rather than recomputed by each reader from a chain that grows a
      // layer at a time. Readers that read through it do not count (a tied
      // embedding's widening, which the gather and the head's projection
      // both read from the 16-bit table, was a f32 copy of the table made
      // every call).
      auto isReduction = [&](Operation *user) {
        auto consumer = dyn_cast<linalg::GenericOp>(user);
        return isa<linalg::MatmulOp>(user) ||
               (consumer && !isFusableElementwise(consumer, policy));
      };
      SmallPtrSet<Operation *, 4> users;
      for (Operation *user : generic->getUsers())
        if (!readsThrough(user))
          users.insert(user);
      // (A value of no inputs, a fill, is as cheap to recompute as to read.)
      needed = needed || (users.size() > 1 && generic.getNumDpsInputs() > 0 &&
                          llvm::any_of(users, isReduction));
      if (needed) {
        materialized.insert(generic.getResult(0));
        roots.push_back({KernelRoot::Kind::Elementwise, MixOp(), std::nullopt,
                         generic});
      }
      continue;
    }
    if (isa<tensor::EmptyOp, arith::ConstantOp, tensor::CollapseShapeOp,
            tensor::ExpandShapeOp, tensor::CastOp, func::ReturnOp>(op))
      continue;
    // Sizes: the kernels read them from DynamicSizes, as parameters.
    if (isa<tensor::DimOp>(op) ||
        (op.getDialect() == op.getContext()->getLoadedDialect("arith") &&
         op.getNumResults() == 1 && op.getResult(0).getType().isIndex()))
      continue;
    return op.emitOpError()
           << "is not supported by the CUDA backend (it runs ssm.mix, "
              "linalg.generic (elementwise and reductions), linalg.matmul, "
              "constants and reshapes)";
  }

  // A read that stops at an elementwise result nobody materialized (too deep
  // to recompute, or through a reshape) makes that result a kernel too.
  bool changed = true;
  while (changed) {
    changed = false;
    SmallVector<Value> leaves;
    std::function<void(const FusedRead &)> collect = [&](const FusedRead &r) {
      if (r.isLeaf()) {
        leaves.push_back(r.tensor);
        return;
      }
      for (const FusedRead &input : r.inputs)
        collect(input);
    };
    auto readAll = [&](ValueRange values) {
      for (Value value : values)
        if (value)
          collect(analyzeFusedRead(value, policy));
    };
    for (KernelRoot &root : roots) {
      if (root.kind == KernelRoot::Kind::Mix) {
        readAll(root.mix->getOperands());
        if (root.write)
          for (const FusedRead &input : root.write->otherInputs)
            if (input.tensor)
              collect(input);
      } else if (root.kind == KernelRoot::Kind::Elementwise) {
        readAll(root.generic.getDpsInputs());
      } else if (root.kind == KernelRoot::Kind::Reduction) {
        readAll(root.reduction.getDpsInputs());
        // An argmax starts from -inf and index 0 itself.
        OpOperand *init = root.reduction.getDpsInitOperand(0);
        if (root.reduction.payloadUsesValueFromOperand(init) &&
            !isRowArgmax(root.reduction))
          readAll(init->get());
      } else if (root.kind == KernelRoot::Kind::Slice) {
        readAll(cast<tensor::ExtractSliceOp>(root.view).getSource());
      }
      if (root.kind == KernelRoot::Kind::Reduction) {
        // Tensors its body gathers from.
        root.reduction->walk(
            [&](tensor::ExtractOp extract) { readAll(extract.getTensor()); });
      }
    }
    for (Value returned : func.getBody().front().getTerminator()->getOperands())
      leaves.push_back(returned);
    for (size_t next = 0; next < leaves.size(); ++next) {
      Value base = viewedValue(leaves[next]);
      // Pads and insertions are read through: their operands are what
      // must be readable (a tensor.empty under a concatenation is not read).
      if (auto pad = base.getDefiningOp<tensor::PadOp>()) {
        collect(analyzeFusedRead(pad.getSource(), policy));
        continue;
      }
      if (auto insert = base.getDefiningOp<tensor::InsertSliceOp>()) {
        if (base != leaves[next])
          return emitError(leaves[next].getLoc())
                 << "the CUDA backend reads a tensor.insert_slice result "
                    "where it is used, not through a reshape";
        collect(analyzeFusedRead(insert.getSource(), policy));
        if (!insert.getDest().getDefiningOp<tensor::EmptyOp>())
          collect(analyzeFusedRead(insert.getDest(), policy));
        continue;
      }
      if (materialized.contains(base) || isSplatConstant(base))
        continue;
      if (base.getDefiningOp<arith::ConstantOp>()) {
        materialized.insert(base);
        continue;
      }
      auto generic = base.getDefiningOp<linalg::GenericOp>();
      if (!generic || !generics.contains(generic))
        return emitError(base.getLoc())
               << "the CUDA backend cannot place this value in memory (a "
               << (base.getDefiningOp()
                       ? base.getDefiningOp()->getName().getStringRef()
                       : StringRef("block argument"))
               << " result that a kernel reads)";
      materialized.insert(base);
      // Keep program order: the producer runs before its readers.
      auto position = llvm::find_if(roots, [&](KernelRoot &root) {
        Operation *op = root.op();
        return op && generic->isBeforeInBlock(op);
      });
      roots.insert(position, {KernelRoot::Kind::Elementwise, MixOp(),
                              std::nullopt, generic});
      changed = true;
    }
  }
  splitSlices();
  return success();
}

/// The slices of `value`'s last dim its users take, through reshapes that
/// keep that dim (unit strides, whole other dims, static offset and size),
/// or nothing when any user is something else.
static std::optional<SmallVector<tensor::ExtractSliceOp>>
lastDimSlicesOf(Value value, int64_t lastDim, const DynamicSizes &sizes) {
  SmallVector<tensor::ExtractSliceOp> slices;
  SmallVector<Value> worklist = {value};
  while (!worklist.empty()) {
    Value next = worklist.pop_back_val();
    for (Operation *user : next.getUsers()) {
      if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(user)) {
        auto type = cast<RankedTensorType>(user->getResult(0).getType());
        if (type.getRank() == 0 || type.isDynamicDim(type.getRank() - 1) ||
            type.getDimSize(type.getRank() - 1) != lastDim)
          return std::nullopt;
        worklist.push_back(user->getResult(0));
        continue;
      }
      auto slice = dyn_cast<tensor::ExtractSliceOp>(user);
      if (!slice || slice.getSourceType().getRank() != slice.getType().getRank())
        return std::nullopt;
      unsigned rank = slice.getType().getRank();
      for (unsigned d = 0; d < rank; ++d) {
        bool last = d + 1 == rank;
        if (slice.getStaticStrides()[d] != 1 ||
            (last && (ShapedType::isDynamic(slice.getStaticOffsets()[d]) ||
                      ShapedType::isDynamic(slice.getStaticSizes()[d]))) ||
            (!last && (slice.getStaticOffsets()[d] != 0 ||
                       slice.getType().getDimSize(d) !=
                           slice.getSourceType().getDimSize(d))))
          return std::nullopt;
      }
      // A dynamic dim other than the last: whole where the sizes say the
      // slice's dim equals the source's.
      for (unsigned d = 0; d + 1 < rank; ++d)
        if (slice.getType().isDynamicDim(d) &&
            !sizes.same(slice.getResult(), d, slice.getSource(), d))
          return std::nullopt;
      slices.push_back(slice);
    }
  }
  if (slices.empty())
    return std::nullopt;
  // By offset: the stores read in the order of the parts.
  llvm::stable_sort(slices, [](tensor::ExtractSliceOp a,
                               tensor::ExtractSliceOp b) {
    return a.getStaticOffsets().back() < b.getStaticOffsets().back();
  });
  return slices;
}

void FunctionEmitter::splitSlices() {
  for (KernelRoot &root : roots) {
    Value result;
    if (root.kind == KernelRoot::Kind::Reduction)
      result = root.reduction->getResult(0);
    else if (root.kind == KernelRoot::Kind::Elementwise)
      result = root.generic.getResult(0);
    else
      continue;
    auto type = cast<RankedTensorType>(result.getType());
    if (type.getRank() == 0 || type.isDynamicDim(type.getRank() - 1))
      continue;
    std::optional<SmallVector<tensor::ExtractSliceOp>> slices =
        lastDimSlicesOf(result, type.getDimSize(type.getRank() - 1), sizes);
    if (!slices)
      continue;
    splitInto[result] = *slices;
    materialized.remove(result);
  }
  // The slices' own kernels go: their producers write them.
  llvm::erase_if(roots, [&](KernelRoot &root) {
    if (root.kind != KernelRoot::Kind::Slice)
      return false;
    auto slice = cast<tensor::ExtractSliceOp>(root.view);
    Value source = viewedValue(slice.getSource());
    return splitInto.count(source) &&
           llvm::is_contained(splitInto[source], slice);
  });
}

FailureOr<std::string> FunctionEmitter::splitStore(
    KernelWriter &writer, Value result, const std::string &row,
    const std::string &column, const std::string &value,
    const std::string &prefix, Location loc) {
  std::string statements;
  for (tensor::ExtractSliceOp slice : splitInto.lookup(result)) {
    unsigned last = slice.getType().getRank() - 1;
    int64_t offset = slice.getStaticOffsets()[last];
    int64_t size = slice.getStaticSizes()[last];
    std::optional<Storage> where = storageOf(slice.getResult());
    if (!where)
      return emitError(loc) << "internal error: a slice has no storage";
    FailureOr<std::string> base = writer.pointer(
        *where, slice.getType().getElementType(), true, loc);
    if (failed(base))
      return failure();
    statements += fmt::format(
        "{0}if ({1} >= {2} && {1} < {3}) ssm::device::store({4}, ({5}) * {6} + "
        "({1} - {2}), {7}); ",
        prefix, column, offset, offset + size, *base, row, size, value);
  }
  if (!statements.empty())
    statements.pop_back();
  return statements;
}

LogicalResult FunctionEmitter::assignStorage(CudaFunctionPlan &plan) {
  for (BlockArgument argument : func.getArguments())
    storage[argument] = {Storage::Kind::Input, argument.getArgNumber()};
  Operation *terminator = func.getBody().front().getTerminator();
  for (auto [index, returned] : llvm::enumerate(terminator->getOperands())) {
    Value base = viewedValue(returned);
    bool writable = materialized.contains(base) && !storage.count(base) &&
                    !isa<BlockArgument>(base) &&
                    !base.getDefiningOp<arith::ConstantOp>();
    if (writable) {
      storage[base] = {Storage::Kind::Output, static_cast<unsigned>(index)};
      continue;
    }
    KernelRoot copy{KernelRoot::Kind::Copy};
    copy.source = returned;
    copy.output = index;
    roots.push_back(copy);
  }
  for (Value value : materialized) {
    if (storage.count(value))
      continue;
    if (value.getDefiningOp<arith::ConstantOp>()) {
      unsigned index = constants.size();
      constants.insert({value, index});
      storage[value] = {Storage::Kind::Constant, index};
      continue;
    }
    auto type = cast<RankedTensorType>(value.getType());
    CudaBuffer buffer;
    buffer.dtype = manifestDtype(type.getElementType());
    for (unsigned d = 0; d < type.getRank(); ++d) {
      if (!type.isDynamicDim(d)) {
        buffer.shape.push_back(type.getDimSize(d));
        buffer.dimsFrom.push_back(std::nullopt);
        continue;
      }
      // A buffer is its bytes: a dim that is a product of input dims (a
      // collapsed [B, L]) is recorded as those dims.
      std::optional<SizeProduct> product = sizes.productOf(value, d);
      if (!product)
        return emitError(value.getLoc())
               << "cannot tell dim " << d
               << " of this intermediate tensor from the inputs' sizes";
      appendDims(buffer, *product);
    }
    storage[value] = {Storage::Kind::Buffer,
                      static_cast<unsigned>(plan.buffers.size())};
    plan.buffers.push_back(std::move(buffer));
  }
  // Views share their source's memory (row-major reshapes keep offsets).
  func.walk([&](Operation *op) {
    if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tensor::CastOp>(
            op)) {
      Value base = viewedValue(op->getResult(0));
      // A copy first: inserting the view may grow the map under a
      // reference to the base's entry.
      if (std::optional<Storage> where = storageOf(base))
        storage[op->getResult(0)] = *where;
    }
  });
  return success();
}

FailureOr<std::string> FunctionEmitter::constantName(Value value,
                                                     Location loc) {
  auto it = constants.find(value);
  if (it == constants.end())
    return emitError(loc) << "internal error: constant without storage";
  return fmt::format("{}_constant{}", prefix, it->second);
}

FailureOr<CudaGridExtent> FunctionEmitter::extentOf(Value value, unsigned dim,
                                                    int64_t divisor,
                                                    Location loc) {
  CudaGridExtent extent;
  extent.divisor = divisor;
  auto type = cast<RankedTensorType>(value.getType());
  if (!type.isDynamicDim(dim)) {
    extent.factor = (type.getDimSize(dim) + divisor - 1) / divisor;
    extent.divisor = 1;
    return extent;
  }
  std::optional<SizeProduct> product = sizes.productOf(value, dim);
  if (!product)
    return emitError(loc) << "cannot tell dim " << dim
                          << " of this operand from the inputs' sizes";
  extent.factor = product->factor;
  extent.dims.insert(extent.dims.end(), product->dims.begin(),
                     product->dims.end());
  return extent;
}

//===----------------------------------------------------------------------===//
// KernelWriter implementation
//===----------------------------------------------------------------------===//

FailureOr<std::string> KernelWriter::pointer(Storage storage, Type elementType,
                                             bool written, Location loc) {
  if (storage.kind == Storage::Kind::Constant) {
    // Constants are __constant__ arrays of the function, not parameters.
    return failure();
  }
  auto it = storageNames.find(storage);
  if (it != storageNames.end())
    return it->second;
  FailureOr<std::string> type = storageType(elementType);
  if (failed(type))
    return emitError(loc) << "the CUDA backend cannot store element type "
                          << elementType;
  CudaKernelArgument argument;
  std::string parameterName;
  switch (storage.kind) {
  case Storage::Kind::Input:
    argument.kind = CudaKernelArgument::Kind::Input;
    parameterName = fmt::format("input{}", storage.index);
    break;
  case Storage::Kind::Output:
    argument.kind = CudaKernelArgument::Kind::Output;
    parameterName = fmt::format("output{}", storage.index);
    break;
  case Storage::Kind::Buffer:
    argument.kind = CudaKernelArgument::Kind::Buffer;
    parameterName = fmt::format("buffer{}", storage.index);
    break;
  case Storage::Kind::Constant:
    break;
  }
  argument.index = storage.index;
  std::string pointerType =
      (written ? "" : "const ") + *type + " *__restrict__";
  parameters.push_back({pointerType + " " + parameterName, parameterName,
                        (written ? "" : "const ") + *type + " *", argument});
  storageNames[storage] = parameterName;
  return parameterName;
}

FailureOr<std::string> KernelWriter::sizeOf(Value value, unsigned dim,
                                            Location loc) {
  auto type = cast<RankedTensorType>(value.getType());
  if (!type.isDynamicDim(dim))
    return std::to_string(type.getDimSize(dim));
  std::optional<SizeProduct> product =
      function.getSizes().productOf(value, dim);
  if (!product) {
    // A size no product of input dims gives (a concatenation's sum): the
    // index value that sized the tensor, computed in the kernel.
    if (Value size = sizeValueOf(value, dim))
      return indexValue(size, loc);
    return emitError(loc) << "cannot tell dim " << dim
                          << " of this tensor from the inputs' sizes";
  }
  auto parameterOf = [&](const InputDim &source) {
    auto key = std::make_pair(source.input, source.dim);
    auto it = dimNames.find(key);
    if (it != dimNames.end())
      return it->second;
    std::string parameterName =
        fmt::format("input{}_dim{}", source.input, source.dim);
    CudaKernelArgument argument;
    argument.kind = CudaKernelArgument::Kind::Dim;
    argument.dim = source;
    parameters.push_back(
        {"int64_t " + parameterName, parameterName, "int64_t", argument});
    dimNames[key] = parameterName;
    return parameterName;
  };
  if (product->factor == 1 && product->dims.size() == 1)
    return parameterOf(product->dims[0]);
  std::string expression = std::to_string(product->factor);
  for (const InputDim &source : product->dims)
    expression += " * " + parameterOf(source);
  return "(" + expression + ")";
}

FailureOr<std::string> KernelWriter::indexValue(Value value, Location loc) {
  if (auto constant = value.getDefiningOp<arith::ConstantIndexOp>())
    return std::to_string(constant.value());
  if (auto dimOp = value.getDefiningOp<tensor::DimOp>())
    if (std::optional<int64_t> index = dimOp.getConstantIndex())
      return sizeOf(dimOp.getSource(), static_cast<unsigned>(*index), loc);
  Operation *op = value.getDefiningOp();
  if (op && isa<arith::AddIOp, arith::SubIOp, arith::MulIOp>(op)) {
    FailureOr<std::string> lhs = indexValue(op->getOperand(0), loc),
                           rhs = indexValue(op->getOperand(1), loc);
    if (failed(lhs) || failed(rhs))
      return failure();
    const char *symbol = isa<arith::AddIOp>(op)   ? "+"
                         : isa<arith::SubIOp>(op) ? "-"
                                                  : "*";
    return fmt::format("({} {} {})", *lhs, symbol, *rhs);
  }
  return emitError(loc) << "the CUDA backend cannot compute this index "
                           "(constants, tensor.dim and arith.addi/subi/muli "
                           "of them)";
}

FailureOr<std::string> KernelWriter::strideOf(Value value, unsigned dim,
                                              Location loc) {
  std::string stride = "1";
  auto type = cast<RankedTensorType>(value.getType());
  for (unsigned d = dim + 1; d < type.getRank(); ++d) {
    FailureOr<std::string> size = sizeOf(value, d, loc);
    if (failed(size))
      return failure();
    stride = stride == "1" ? *size : stride + " * " + *size;
  }
  return stride;
}

FailureOr<std::string> KernelWriter::offsetOf(Value value,
                                              ArrayRef<std::string> indices,
                                              Location loc) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getRank() == 0)
    return std::string("0");
  std::string offset = indices[0];
  for (unsigned d = 1; d < type.getRank(); ++d) {
    FailureOr<std::string> size = sizeOf(value, d, loc);
    if (failed(size))
      return failure();
    if (*size == "1")
      offset = "(" + offset + ") + " + indices[d];
    else
      offset = "(" + offset + ") * " + *size + " + " + indices[d];
  }
  return offset;
}

FailureOr<std::string> KernelWriter::read(const FusedRead &fused,
                                          ArrayRef<std::string> indices) {
  Value tensor = fused.tensor;
  auto type = cast<RankedTensorType>(tensor.getType());
  Type element = type.getElementType();
  Location loc = tensor.getLoc();
  if (auto insert = tensor.getDefiningOp<tensor::InsertSliceOp>();
      insert && fused.isLeaf()) {
    // The source inside its box (unit strides), else the destination (a
    // tensor.empty under a concatenation: never read there).
    std::vector<std::string> inner;
    std::string inside = "true";
    auto text = [&](OpFoldResult value) -> FailureOr<std::string> {
      if (auto attr = dyn_cast<Attribute>(value))
        return std::to_string(cast<IntegerAttr>(attr).getInt());
      return indexValue(cast<Value>(value), loc);
    };
    for (auto [d, offset] : llvm::enumerate(insert.getMixedOffsets())) {
      FailureOr<std::string> start = text(offset);
      FailureOr<std::string> size = text(insert.getMixedSizes()[d]);
      if (failed(start) || failed(size))
        return failure();
      inner.push_back(fmt::format("({} - {})", indices[d], *start));
      inside += fmt::format(" && {0} >= {1} && {0} < {1} + {2}", indices[d],
                            *start, *size);
    }
    FailureOr<std::string> fromSource = read(
        analyzeFusedRead(insert.getSource(), function.getPolicy()), inner);
    if (failed(fromSource))
      return failure();
    std::string fromDest = "0";
    if (!insert.getDest().getDefiningOp<tensor::EmptyOp>()) {
      FailureOr<std::string> value = read(
          analyzeFusedRead(insert.getDest(), function.getPolicy()), indices);
      if (failed(value))
        return failure();
      fromDest = *value;
    }
    return fmt::format("(({}) ? {} : {})", inside, *fromSource, fromDest);
  }
  if (auto pad = tensor.getDefiningOp<tensor::PadOp>(); pad && fused.isLeaf()) {
    // In the source's box, the source at index - low; elsewhere the value.
    std::string inside = "true";
    std::vector<std::string> inner;
    auto sourceType = pad.getSourceType();
    for (auto [d, low] : llvm::enumerate(pad.getStaticLow())) {
      FailureOr<std::string> size = sizeOf(pad.getSource(), d, loc);
      if (failed(size))
        return failure();
      inner.push_back(fmt::format("({} - {})", indices[d], low));
      inside += fmt::format(" && {0} >= {1} && {0} < {1} + {2}", indices[d],
                            low, *size);
    }
    (void)sourceType;
    FailureOr<std::string> value =
        read(analyzeFusedRead(pad.getSource(), function.getPolicy()), inner);
    if (failed(value))
      return failure();
    Value padding = pad.getConstantPaddingValue();
    auto constant = padding.getDefiningOp<arith::ConstantOp>();
    auto floatAttr =
        constant ? dyn_cast<FloatAttr>(constant.getValue()) : nullptr;
    if (!floatAttr)
      return emitError(loc)
             << "the CUDA backend pads with float constants only";
    return fmt::format("(({}) ? {} : {})", inside, *value,
                       floatLiteral(floatAttr.getValueAsDouble(), element));
  }
  if (fused.isLeaf()) {
    DenseElementsAttr splat;
    if (isSplatConstant(tensor, &splat)) {
      if (isa<FloatType>(element))
        return floatLiteral(
            splat.getSplatValue<APFloat>().convertToDouble(), element);
      return std::to_string(splat.getSplatValue<APInt>().getSExtValue());
    }
    std::optional<Storage> where = function.storageOf(tensor);
    if (!where)
      return emitError(loc)
             << "internal error: a leaf read has no storage (a "
             << (tensor.getDefiningOp()
                     ? tensor.getDefiningOp()->getName().getStringRef()
                     : StringRef("block argument"))
             << " result)";
    FailureOr<std::string> offset = offsetOf(tensor, indices, loc);
    if (failed(offset))
      return failure();
    std::string cType = computeType(element);
    if (where->kind == Storage::Kind::Constant) {
      FailureOr<std::string> constant = function.constantName(tensor, loc);
      if (failed(constant))
        return failure();
      return fmt::format("static_cast<{}>({}[{}])", cType, *constant, *offset);
    }
    FailureOr<std::string> base = pointer(*where, element, false, loc);
    if (failed(base))
      return failure();
    if (isa<FloatType>(element))
      return fmt::format("ssm::device::load<{}>({}, {})", cType, *base,
                         *offset);
    return fmt::format("static_cast<{}>({}[{}])", cType, *base, *offset);
  }

  linalg::GenericOp producer = fused.producer;
  auto it = helperNames.find(producer);
  if (it == helperNames.end()) {
    std::string helper = fmt::format("fused{}", helperNames.size());
    helperNames[producer] = helper;
    unsigned loops = producer.getNumLoops();
    SourcePrinter body;
    body.indentMore();
    std::vector<std::string> loopNames;
    for (unsigned l = 0; l < loops; ++l)
      loopNames.push_back(fmt::format("i{}", l));
    std::vector<std::string> inputNames;
    for (auto [index, input] : llvm::enumerate(fused.inputs)) {
      std::vector<std::string> mapped;
      for (AffineExpr result : fused.inputMaps[index].getResults()) {
        if (auto dim = dyn_cast<AffineDimExpr>(result))
          mapped.push_back(loopNames[dim.getPosition()]);
        else
          mapped.push_back("0");
      }
      FailureOr<std::string> value = read(input, mapped);
      if (failed(value))
        return failure();
      Type inputElement =
          cast<RankedTensorType>(input.tensor.getType()).getElementType();
      std::string local = fmt::format("a{}", index);
      body.line("const {} {} = {};", computeType(inputElement), local, *value);
      inputNames.push_back(local);
    }
    FailureOr<std::string> result =
        translateBody(producer, inputNames, body, nullptr, loopNames);
    if (failed(result))
      return failure();
    body.line("return {};", *result);
    std::string parametersText;
    for (unsigned l = 0; l < loops; ++l)
      parametersText += fmt::format("{}int64_t i{}", l ? ", " : "", l);
    helpers.line("// {} at {}", producer->getName().getStringRef().str(),
                 locationOf(producer.getLoc()));
    helpers.line("SSM_DEVICE {} {}({}) const {{", computeType(element), helper,
                 parametersText);
    helpers.append(body.str());
    helpers.line("}}");
    it = helperNames.find(producer);
  }
  std::string arguments;
  for (auto [l, index] : llvm::enumerate(indices))
    arguments += (l ? ", " : "") + index;
  return fmt::format("{}({})", it->second, arguments);
}

LogicalResult KernelWriter::readThroughRow(
    const FusedRead &fused, ArrayRef<std::string> indices, unsigned rowDim,
    const std::string &width, const std::string &target, SourcePrinter &out) {
  std::vector<std::string> at(indices.begin(), indices.end());
  at[rowDim] = fmt::format("({} + j)", indices[rowDim]);
  FailureOr<std::string> value = read(fused, at);
  if (failed(value))
    return failure();
  out.line("#pragma unroll");
  out.line("for (int j = 0; j < {}; ++j)", width);
  out.line("  {}[j] = {};", target, *value);
  return success();
}

FailureOr<KernelWriter::RowValue>
KernelWriter::readRow(const FusedRead &fused, ArrayRef<std::string> indices,
                      unsigned rowDim, const std::string &width,
                      SourcePrinter &out) {
  Value tensor = fused.tensor;
  auto type = cast<RankedTensorType>(tensor.getType());
  Type element = type.getElementType();
  Location loc = tensor.getLoc();
  std::string cType = computeType(element);
  if (fused.isLeaf()) {
    if (isSplatConstant(tensor)) {
      FailureOr<std::string> literal = read(fused, indices);
      if (failed(literal))
        return failure();
      return RowValue{*literal, false};
    }
    if (isReadThrough(tensor)) {
      std::string name = fmt::format("r{}", nextValue++);
      out.line("{} {}[{}];", cType, name, width);
      if (failed(readThroughRow(fused, indices, rowDim, width, name, out)))
        return failure();
      return RowValue{name, true};
    }
    std::optional<Storage> where = function.storageOf(tensor);
    if (!where)
      return emitError(loc) << "internal error: a leaf read has no storage";
    FailureOr<std::string> offset = offsetOf(tensor, indices, loc);
    if (failed(offset))
      return failure();
    FailureOr<std::string> stride = strideOf(tensor, rowDim, loc);
    if (failed(stride))
      return failure();
    std::string base;
    if (where->kind == Storage::Kind::Constant) {
      FailureOr<std::string> constant = function.constantName(tensor, loc);
      if (failed(constant))
        return failure();
      base = *constant;
    } else {
      FailureOr<std::string> pointer = this->pointer(*where, element, false, loc);
      if (failed(pointer))
        return failure();
      base = *pointer;
    }
    std::string name = fmt::format("r{}", nextValue++);
    out.line("{} {}[{}];", cType, name, width);
    if (*stride == "1" && where->kind != Storage::Kind::Constant)
      out.line("ssm::device::loadRow<{}>({}, {}, {});", width, base, *offset,
               name);
    else
      out.line("ssm::device::loadStrided<{}>({}, {}, {}, {});", width, base,
               *offset, *stride, name);
    return RowValue{name, true};
  }

  linalg::GenericOp producer = fused.producer;
  std::vector<RowValue> inputs;
  bool anyArray = false;
  for (auto [index, input] : llvm::enumerate(fused.inputs)) {
    std::vector<std::string> mapped;
    std::optional<unsigned> childRow;
    for (auto [position, result] :
         llvm::enumerate(fused.inputMaps[index].getResults())) {
      if (auto dim = dyn_cast<AffineDimExpr>(result)) {
        mapped.push_back(indices[dim.getPosition()]);
        if (dim.getPosition() == rowDim)
          childRow = position;
      } else {
        mapped.push_back("0");
      }
    }
    if (childRow) {
      FailureOr<RowValue> row = readRow(input, mapped, *childRow, width, out);
      if (failed(row))
        return failure();
      anyArray = anyArray || row->isArray;
      inputs.push_back(*row);
    } else {
      FailureOr<std::string> value = read(input, mapped);
      if (failed(value))
        return failure();
      Type inputElement =
          cast<RankedTensorType>(input.tensor.getType()).getElementType();
      std::string name = fmt::format("s{}", nextValue++);
      out.line("const {} {} = {};", computeType(inputElement), name, *value);
      inputs.push_back(RowValue{name, false});
    }
  }
  if (!anyArray) {
    // The row does not vary: compute the value once.
    std::vector<std::string> names;
    for (const RowValue &input : inputs)
      names.push_back(input.expression);
    FailureOr<std::string> result = translateBody(producer, names, out);
    if (failed(result))
      return failure();
    return RowValue{*result, false};
  }
  std::string name = fmt::format("r{}", nextValue++);
  out.line("{} {}[{}];", cType, name, width);
  out.line("#pragma unroll");
  out.line("for (int j = 0; j < {}; ++j) {{", width);
  out.indentMore();
  std::vector<std::string> names;
  for (const RowValue &input : inputs)
    names.push_back(input.isArray ? input.expression + "[j]" : input.expression);
  FailureOr<std::string> result = translateBody(producer, names, out);
  if (failed(result))
    return failure();
  out.line("{}[j] = {};", name, *result);
  out.indentLess();
  out.line("}}");
  return RowValue{name, true};
}

FailureOr<KernelWriter::RowValue>
KernelWriter::splitRead(const FusedRead &fused, ArrayRef<std::string> indices,
                        std::optional<unsigned> rowDim,
                        const std::string &width, Phase phase, int &leaf,
                        SourcePrinter &out, std::vector<std::string> &fields) {
  Value tensor = fused.tensor;
  auto type = cast<RankedTensorType>(tensor.getType());
  Type element = type.getElementType();
  Location loc = tensor.getLoc();
  std::string cType = computeType(element);
  if (fused.isLeaf()) {
    if (isSplatConstant(tensor)) {
      FailureOr<std::string> literal = read(fused, indices);
      if (failed(literal))
        return failure();
      return RowValue{*literal, false};
    }
    std::string field = fmt::format("l{}", leaf++);
    // A pad or an insertion: its values computed in the load phase (kept in
    // the compute type, as constants are).
    if (isReadThrough(tensor) && phase == Phase::Load) {
      if (!rowDim) {
        FailureOr<std::string> value = read(fused, indices);
        if (failed(value))
          return failure();
        fields.push_back(fmt::format("{} {};", cType, field));
        out.line("raw.{} = {};", field, *value);
        return RowValue{field, false};
      }
      fields.push_back(fmt::format("{} {}[{}];", cType, field, width));
      if (failed(readThroughRow(fused, indices, *rowDim, width, "raw." + field,
                                out)))
        return failure();
      return RowValue{field, true};
    }
    if (phase == Phase::Compute) {
      if (!rowDim)
        return RowValue{fmt::format("ssm::device::load<{}>(&raw.{}, 0)", cType,
                                    field),
                        false};
      std::string name = fmt::format("r{}", nextValue++);
      out.line("{} {}[{}];", cType, name, width);
      out.line("#pragma unroll");
      out.line("for (int j = 0; j < {}; ++j)", width);
      out.line("  {}[j] = ssm::device::load<{}>(raw.{}, j);", name, cType,
               field);
      return RowValue{name, true};
    }
    std::optional<Storage> where = function.storageOf(tensor);
    if (!where)
      return emitError(loc) << "internal error: a leaf read has no storage";
    FailureOr<std::string> offset = offsetOf(tensor, indices, loc);
    FailureOr<std::string> storage = storageType(element);
    if (failed(offset) || failed(storage))
      return failure();
    std::string base;
    if (where->kind == Storage::Kind::Constant) {
      FailureOr<std::string> constant = function.constantName(tensor, loc);
      if (failed(constant))
        return failure();
      base = *constant;
      storage = computeType(element); // constants are kept computed
    } else {
      FailureOr<std::string> pointer =
          this->pointer(*where, element, false, loc);
      if (failed(pointer))
        return failure();
      base = *pointer;
    }
    if (!rowDim) {
      fields.push_back(fmt::format("{} {};", *storage, field));
      out.line("raw.{} = {}[{}];", field, base, *offset);
      return RowValue{field, false};
    }
    fields.push_back(fmt::format("{} {}[{}];", *storage, field, width));
    FailureOr<std::string> stride = strideOf(tensor, *rowDim, loc);
    if (failed(stride))
      return failure();
    if (*stride == "1" && where->kind != Storage::Kind::Constant)
      out.line("ssm::device::loadRowRaw<{}>({}, {}, raw.{});", width, base,
               *offset, field);
    else
      out.line("ssm::device::loadStridedRaw<{}>({}, {}, {}, raw.{});", width,
               base, *offset, *stride, field);
    return RowValue{field, true};
  }

  linalg::GenericOp producer = fused.producer;
  std::vector<RowValue> inputs;
  bool anyArray = false;
  for (auto [index, input] : llvm::enumerate(fused.inputs)) {
    std::vector<std::string> mapped;
    std::optional<unsigned> childRow;
    for (auto [position, result] :
         llvm::enumerate(fused.inputMaps[index].getResults())) {
      if (auto dim = dyn_cast<AffineDimExpr>(result)) {
        mapped.push_back(indices[dim.getPosition()]);
        if (rowDim && dim.getPosition() == *rowDim)
          childRow = position;
      } else {
        mapped.push_back("0");
      }
    }
    FailureOr<RowValue> value =
        splitRead(input, mapped, childRow, width, phase, leaf, out, fields);
    if (failed(value))
      return failure();
    anyArray = anyArray || value->isArray;
    inputs.push_back(*value);
  }
  if (phase == Phase::Load)
    return RowValue{"", anyArray};
  std::vector<std::string> names;
  if (!anyArray) {
    for (const RowValue &input : inputs)
      names.push_back(input.expression);
    FailureOr<std::string> result = translateBody(producer, names, out);
    if (failed(result))
      return failure();
    return RowValue{*result, false};
  }
  std::string name = fmt::format("r{}", nextValue++);
  out.line("{} {}[{}];", cType, name, width);
  out.line("#pragma unroll");
  out.line("for (int j = 0; j < {}; ++j) {{", width);
  out.indentMore();
  for (const RowValue &input : inputs)
    names.push_back(input.isArray ? input.expression + "[j]" : input.expression);
  FailureOr<std::string> result = translateBody(producer, names, out);
  if (failed(result))
    return failure();
  out.line("{}[j] = {};", name, *result);
  out.indentLess();
  out.line("}}");
  return RowValue{name, true};
}

FailureOr<std::string> KernelWriter::store(Value target,
                                           ArrayRef<std::string> indices,
                                           const std::string &value,
                                           Location loc) {
  std::optional<Storage> where = function.storageOf(target);
  if (!where || where->kind == Storage::Kind::Constant ||
      where->kind == Storage::Kind::Input)
    return emitError(loc) << "internal error: a result has no writable storage";
  Type element = cast<RankedTensorType>(target.getType()).getElementType();
  FailureOr<std::string> base = pointer(*where, element, true, loc);
  if (failed(base))
    return failure();
  FailureOr<std::string> offset = offsetOf(target, indices, loc);
  if (failed(offset))
    return failure();
  return fmt::format("ssm::device::store({}, {}, {});", *base, *offset, value);
}

FailureOr<std::string> KernelWriter::storeRow(Value target,
                                              ArrayRef<std::string> indices,
                                              unsigned rowDim,
                                              const std::string &width,
                                              const std::string &values,
                                              Location loc) {
  std::optional<Storage> where = function.storageOf(target);
  if (!where || where->kind == Storage::Kind::Constant ||
      where->kind == Storage::Kind::Input)
    return emitError(loc) << "internal error: a result has no writable storage";
  auto type = cast<RankedTensorType>(target.getType());
  FailureOr<std::string> base = pointer(*where, type.getElementType(), true, loc);
  if (failed(base))
    return failure();
  FailureOr<std::string> offset = offsetOf(target, indices, loc);
  if (failed(offset))
    return failure();
  FailureOr<std::string> stride = strideOf(target, rowDim, loc);
  if (failed(stride))
    return failure();
  return fmt::format("ssm::device::storeRow<{}>({}, {}, {}, {});", width,
                     *base, *offset, *stride, values);
}

/// The names of y's consumer's loops: the kernel's b, t, h, p where the
/// consumer reads y through them.
static std::vector<std::string> consumerLoops(const FusedWrite &write) {
  const char *yIndices[4] = {"b", "t", "h", "p"};
  linalg::GenericOp consumer = write.consumer;
  AffineMap yMap = consumer.getMatchingIndexingMap(
      &consumer->getOpOperand(write.resultOperand));
  std::vector<std::string> loops(consumer.getNumLoops());
  for (auto [r, result] : llvm::enumerate(yMap.getResults()))
    if (auto dim = dyn_cast<AffineDimExpr>(result))
      loops[dim.getPosition()] = yIndices[r];
  return loops;
}

static std::string cmpfExpression(arith::CmpFPredicate predicate,
                                  const std::string &a, const std::string &b) {
  using P = arith::CmpFPredicate;
  std::string ordered = "(" + a + " == " + a + " && " + b + " == " + b + ")";
  std::string unordered = "(" + a + " != " + a + " || " + b + " != " + b + ")";
  switch (predicate) {
  case P::AlwaysFalse:
    return "false";
  case P::AlwaysTrue:
    return "true";
  case P::OEQ:
    return "(" + a + " == " + b + ")";
  case P::OGT:
    return "(" + a + " > " + b + ")";
  case P::OGE:
    return "(" + a + " >= " + b + ")";
  case P::OLT:
    return "(" + a + " < " + b + ")";
  case P::OLE:
    return "(" + a + " <= " + b + ")";
  case P::ONE:
    return "(" + ordered + " && " + a + " != " + b + ")";
  case P::ORD:
    return ordered;
  case P::UEQ:
    return "(" + unordered + " || " + a + " == " + b + ")";
  case P::UGT:
    return "(!(" + a + " <= " + b + "))";
  case P::UGE:
    return "(!(" + a + " < " + b + "))";
  case P::ULT:
    return "(!(" + a + " >= " + b + "))";
  case P::ULE:
    return "(!(" + a + " > " + b + "))";
  case P::UNE:
    return "(" + a + " != " + b + ")";
  case P::UNO:
    return unordered;
  }
  return "false";
}

static std::string cmpiExpression(arith::CmpIPredicate predicate,
                                  const std::string &a, const std::string &b) {
  using P = arith::CmpIPredicate;
  auto u = [](const std::string &x) { return "static_cast<uint64_t>(" + x + ")"; };
  switch (predicate) {
  case P::eq:
    return "(" + a + " == " + b + ")";
  case P::ne:
    return "(" + a + " != " + b + ")";
  case P::slt:
    return "(" + a + " < " + b + ")";
  case P::sle:
    return "(" + a + " <= " + b + ")";
  case P::sgt:
    return "(" + a + " > " + b + ")";
  case P::sge:
    return "(" + a + " >= " + b + ")";
  case P::ult:
    return "(" + u(a) + " < " + u(b) + ")";
  case P::ule:
    return "(" + u(a) + " <= " + u(b) + ")";
  case P::ugt:
    return "(" + u(a) + " > " + u(b) + ")";
  case P::uge:
    return "(" + u(a) + " >= " + u(b) + ")";
  }
  return "false";
}

FailureOr<std::string> KernelWriter::translateBody(
    linalg::LinalgOp generic, ArrayRef<std::string> inputs, SourcePrinter &out,
    const std::string *accumulator, ArrayRef<std::string> loops) {
  Block *block = generic.getBlock();
  llvm::DenseMap<Value, std::string> names;
  for (unsigned i = 0; i < generic.getNumDpsInputs(); ++i)
    names[block->getArgument(i)] = inputs[i];
  if (accumulator)
    names[block->getArgument(generic.getNumDpsInputs())] = *accumulator;
  auto nameOf = [&](Value value) -> FailureOr<std::string> {
    auto it = names.find(value);
    if (it != names.end())
      return it->second;
    // Scalars defined above the generic (constants the canonicalizer hoisted).
    if (auto constant = value.getDefiningOp<arith::ConstantOp>()) {
      if (auto floatAttr = dyn_cast<FloatAttr>(constant.getValue()))
        return floatLiteral(floatAttr.getValueAsDouble(), floatAttr.getType());
      if (auto intAttr = dyn_cast<IntegerAttr>(constant.getValue()))
        return intAttr.getType().isInteger(1)
                   ? std::string(intAttr.getInt() ? "true" : "false")
                   : std::to_string(intAttr.getInt());
    }
    // Sizes and offsets computed outside (a cache's length).
    if (value.getType().isIndex() &&
        !generic->isAncestor(value.getParentRegion()->getParentOp()))
      return indexValue(value, value.getLoc());
    return emitError(value.getLoc())
           << "the CUDA backend cannot read this value inside fused glue";
  };

  for (Operation &op : block->without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(op)) {
      if (index.getDim() >= loops.size())
        return op.emitOpError()
               << "reads a loop index where the CUDA backend fuses the body "
                  "without its loops";
      names[index.getResult()] = loops[index.getDim()];
      continue;
    }
    if (auto extract = dyn_cast<tensor::ExtractOp>(op)) {
      // A gather: the tensor is read where the body computes.
      std::vector<std::string> at;
      for (Value index : extract.getIndices()) {
        FailureOr<std::string> name = nameOf(index);
        if (failed(name))
          return failure();
        at.push_back(*name);
      }
      // Through the tensor's fused producers (a weight's widening).
      FailureOr<std::string> value = read(
          analyzeFusedRead(extract.getTensor(), function.getPolicy()), at);
      if (failed(value))
        return failure();
      std::string local = fmt::format("v{}", nextValue++);
      out.line("const {} {} = {};", computeType(extract.getType()), local,
               *value);
      names[extract.getResult()] = local;
      continue;
    }
    SmallVector<std::string> operands;
    for (Value operand : op.getOperands()) {
      FailureOr<std::string> name = nameOf(operand);
      if (failed(name))
        return failure();
      operands.push_back(*name);
    }
    Type type = op.getResult(0).getType();
    std::string cType = computeType(type);
    std::string expression;
    auto unaryMath = [&](StringRef function) {
      return fmt::format("ssm::device::{}({})", function.str(), operands[0]);
    };
    auto binary = [&](StringRef symbol) {
      return "(" + operands[0] + " " + symbol.str() + " " + operands[1] + ")";
    };
    if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
      FailureOr<std::string> literal = nameOf(constant.getResult());
      if (failed(literal))
        return failure();
      expression = *literal;
    } else if (isa<arith::AddFOp, arith::AddIOp>(op)) {
      expression = binary("+");
    } else if (isa<arith::SubFOp, arith::SubIOp>(op)) {
      expression = binary("-");
    } else if (isa<arith::MulFOp, arith::MulIOp>(op)) {
      expression = binary("*");
    } else if (isa<arith::DivFOp, arith::DivSIOp>(op)) {
      expression = binary("/");
    } else if (isa<arith::RemFOp>(op)) {
      expression = "fmod(" + operands[0] + ", " + operands[1] + ")";
    } else if (isa<arith::NegFOp>(op)) {
      expression = "(-" + operands[0] + ")";
    } else if (isa<arith::MaximumFOp>(op)) {
      expression = "ssm::device::maximumf(" + operands[0] + ", " +
                   operands[1] + ")";
    } else if (isa<arith::MinimumFOp>(op)) {
      expression = "ssm::device::minimumf(" + operands[0] + ", " +
                   operands[1] + ")";
    } else if (isa<arith::MaxNumFOp>(op)) {
      expression =
          "ssm::device::max(" + operands[0] + ", " + operands[1] + ")";
    } else if (isa<arith::MinNumFOp>(op)) {
      expression =
          "ssm::device::min(" + operands[0] + ", " + operands[1] + ")";
    } else if (auto cmp = dyn_cast<arith::CmpFOp>(op)) {
      expression = cmpfExpression(cmp.getPredicate(), operands[0], operands[1]);
    } else if (auto cmp = dyn_cast<arith::CmpIOp>(op)) {
      expression = cmpiExpression(cmp.getPredicate(), operands[0], operands[1]);
    } else if (isa<arith::MaxSIOp>(op)) {
      expression = "(" + operands[0] + " > " + operands[1] + " ? " +
                   operands[0] + " : " + operands[1] + ")";
    } else if (isa<arith::MinSIOp>(op)) {
      expression = "(" + operands[0] + " < " + operands[1] + " ? " +
                   operands[0] + " : " + operands[1] + ")";
    } else if (isa<arith::RemSIOp>(op)) {
      expression = "(" + operands[0] + " % " + operands[1] + ")";
    } else if (isa<arith::SelectOp>(op)) {
      expression =
          "(" + operands[0] + " ? " + operands[1] + " : " + operands[2] + ")";
    } else if (isa<arith::ExtFOp, arith::TruncFOp, arith::SIToFPOp,
                   arith::FPToSIOp, arith::ExtSIOp, arith::TruncIOp,
                   arith::IndexCastOp>(op)) {
      expression = "static_cast<" + cType + ">(" + operands[0] + ")";
    } else if (isa<arith::UIToFPOp>(op)) {
      expression = "static_cast<" + cType + ">(static_cast<uint64_t>(" +
                   operands[0] + "))";
    } else if (isa<math::ExpOp>(op)) {
      expression = unaryMath("exp");
    } else if (isa<math::Exp2Op>(op)) {
      expression = unaryMath("exp2");
    } else if (isa<math::ExpM1Op>(op)) {
      expression = unaryMath("expm1");
    } else if (isa<math::LogOp>(op)) {
      expression = unaryMath("log");
    } else if (isa<math::Log1pOp>(op)) {
      expression = unaryMath("log1p");
    } else if (isa<math::Log2Op>(op)) {
      expression = "(ssm::device::log(" + operands[0] + ") * " +
                   floatLiteral(1.4426950408889634, type) + ")";
    } else if (isa<math::TanhOp>(op)) {
      expression = unaryMath("tanh");
    } else if (isa<math::SqrtOp>(op)) {
      expression = unaryMath("sqrt");
    } else if (isa<math::RsqrtOp>(op)) {
      expression = unaryMath("rsqrt");
    } else if (isa<math::AbsFOp>(op)) {
      expression = unaryMath("abs");
    } else if (isa<math::SinOp>(op)) {
      expression = unaryMath("sin");
    } else if (isa<math::CosOp>(op)) {
      expression = unaryMath("cos");
    } else if (isa<math::ErfOp>(op)) {
      expression = unaryMath("erf");
    } else if (isa<math::FloorOp>(op)) {
      expression = unaryMath("floor");
    } else if (isa<math::CeilOp>(op)) {
      expression = unaryMath("ceil");
    } else if (isa<math::PowFOp>(op)) {
      expression =
          "ssm::device::pow(" + operands[0] + ", " + operands[1] + ")";
    } else if (isa<math::FmaOp>(op)) {
      expression = "ssm::device::fma(" + operands[0] + ", " + operands[1] +
                   ", " + operands[2] + ")";
    } else {
      return op.emitOpError()
             << "cannot be fused into a CUDA kernel (no translation yet)";
    }
    if (isa<FloatType>(type))
      expression = roundIfNarrow(type, expression);
    std::string local = fmt::format("v{}", nextValue++);
    out.line("const {} {} = {};", cType, local, expression);
    names[op.getResult(0)] = local;
  }
  auto yield = cast<linalg::YieldOp>(block->getTerminator());
  return nameOf(yield.getOperand(0));
}

void KernelWriter::printMembers(SourcePrinter &out) const {
  for (const KernelParameter &parameter : parameters)
    out.line("{};", parameter.declaration);
}

void KernelWriter::printAssignments(SourcePrinter &out,
                                    StringRef object) const {
  for (const KernelParameter &parameter : parameters)
    out.line("{}.{} = {};", object.str(), parameter.name, parameter.name);
}

std::string KernelWriter::parameterList() const {
  std::string text;
  for (auto [index, parameter] : llvm::enumerate(parameters))
    text += (index ? ",\n    " : "\n    ") + parameter.declaration;
  return text;
}

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

void FunctionEmitter::finishKernel(const KernelWriter &writer,
                                   StringRef comment, StringRef body,
                                   unsigned threads) {
  out.line("// {}", comment.str());
  out.line("extern \"C\" __global__ void __launch_bounds__({}) {}({}) {{",
           threads, writer.getName(), writer.parameterList());
  out.append(body.str());
  out.line("}}");
  out.blank();
  std::vector<std::string> types, names;
  for (const KernelParameter &parameter : writer.getParameters()) {
    types.push_back(parameter.type);
    names.push_back(parameter.name);
  }
  emulatorEntries.push_back({writer.getName(), types});
  parameterNames[writer.getName()] = names;
}

static std::vector<CudaKernelArgument>
argumentsOf(const KernelWriter &writer) {
  std::vector<CudaKernelArgument> arguments;
  for (const KernelParameter &parameter : writer.getParameters())
    arguments.push_back(parameter.argument);
  return arguments;
}

static const char *scoreName(MixOp op) {
  return op.isSoftmax() ? "Softmax" : "Linear";
}
static const char *maskName(MixOp op) {
  switch (op.getMask().getKind()) {
  case MaskKind::Causal:
    return "Causal";
  case MaskKind::Full:
    return "Full";
  case MaskKind::Window:
    return "Window";
  }
  return "Causal";
}
static const char *decayName(MixOp op) {
  if (!op.hasDecay())
    return "None";
  return op.hasDiagonalDecay() ? "Diagonal" : "Scalar";
}

LogicalResult FunctionEmitter::emitMix(KernelRoot root, unsigned ordinal,
                                       CudaFunctionPlan &plan) {
  MixOp op = root.mix;
  Location loc = op.getLoc();
  FailureOr<CudaMixMapping> mapping = mapMixToCuda(op);
  if (failed(mapping))
    return failure();
  // The kernels but quadratic_simt take one length: Lq and Lk must be equal
  // by the program's ops, or input dims that the runtime checks equal (the
  // plan needs them so); otherwise these are queries against a cache.
  auto queries = cast<RankedTensorType>(op.getQ().getType()),
       keys = cast<RankedTensorType>(op.getK().getType());
  bool equalLengths = queries.getDimSize(1) == keys.getDimSize(1);
  if (mapping->kernel == KernelKind::QuadraticSimt && !op.needsEqualLengths())
    equalLengths = true; // it reads keyLength
  else if (queries.isDynamicDim(1) || keys.isDynamicDim(1)) {
    DynamicSizes byProgram(func, /*requiredEqualities=*/false);
    equalLengths = byProgram.same(op.getQ(), 1, op.getK(), 1) ||
                   (byProgram.inputDimOf(op.getQ(), 1) &&
                    byProgram.inputDimOf(op.getK(), 1));
  }
  if (!equalLengths)
    return op.emitOpError()
           << "has query and key lengths the program does not make equal "
              "(queries against a cache, Lq <= Lk): only kernel "
              "'quadratic_simt' takes a cache (plan it, or compile for the "
              "CPU)";
  std::string kernelName = fmt::format("{}_mix{}", prefix, ordinal);
  std::string opsName = kernelName + "_ops";
  KernelWriter writer(*this, kernelName);
  std::string compute = computeType(op.getV().getType().getElementType());

  // Accessors first: they register the parameters.
  SourcePrinter accessors;
  accessors.indentMore();
  auto accessor = [&](StringRef name, Value operand,
                      ArrayRef<std::string> indices) -> LogicalResult {
    FailureOr<std::string> value =
        writer.read(analyzeFusedRead(operand, policy), indices);
    if (failed(value))
      return failure();
    std::string parametersText;
    for (auto [i, index] : llvm::enumerate(indices))
      parametersText += fmt::format("{}int64_t {}", i ? ", " : "", index);
    accessors.line("SSM_DEVICE Compute {}({}) const {{", name.str(),
                   parametersText);
    accessors.line("  return static_cast<Compute>({});", *value);
    accessors.line("}}");
    return success();
  };
  // Rows of consecutive n (q, k) or p (v): what the tiles of the kernels
  // load, with vector loads where the memory is contiguous.
  auto rowAccessor = [&](StringRef name, Value operand,
                         ArrayRef<std::string> indices) -> LogicalResult {
    SourcePrinter body;
    body.indentMore();
    body.indentMore();
    FailureOr<KernelWriter::RowValue> row = writer.readRow(
        analyzeFusedRead(operand, policy), indices, 3, "W", body);
    if (failed(row))
      return failure();
    accessors.line("template <int W>");
    accessors.line("SSM_DEVICE void {}Row(int64_t {}, int64_t {}, int64_t {}, "
                   "int64_t {}, Compute (&out)[W]) const {{",
                   name.str(), indices[0], indices[1], indices[2], indices[3]);
    accessors.append(body.str());
    accessors.line("  #pragma unroll");
    accessors.line("  for (int j = 0; j < W; ++j)");
    accessors.line("    out[j] = static_cast<Compute>({});",
                   row->isArray ? row->expression + "[j]" : row->expression);
    accessors.line("}}");
    return success();
  };
  // The same split into loads (raw leaves, in registers) and glue, for
  // kernels that issue a later step's loads before they need the values:
  // <name>Load(indices, Raw &) and <name>Compute(const Raw &, ...).
  auto splitAccessor = [&](StringRef name, Value operand,
                           ArrayRef<std::string> indices,
                           bool row) -> LogicalResult {
    FusedRead tree = analyzeFusedRead(operand, policy);
    std::optional<unsigned> rowDim;
    if (row)
      rowDim = indices.size() - 1;
    SourcePrinter loads, compute;
    loads.indentMore();
    loads.indentMore();
    compute.indentMore();
    compute.indentMore();
    std::vector<std::string> fields, unused;
    int leaf = 0;
    if (failed(writer.splitRead(tree, indices, rowDim, "W",
                                KernelWriter::Phase::Load, leaf, loads,
                                fields)))
      return failure();
    leaf = 0;
    FailureOr<KernelWriter::RowValue> value =
        writer.splitRead(tree, indices, rowDim, "W",
                         KernelWriter::Phase::Compute, leaf, compute, unused);
    if (failed(value))
      return failure();
    std::string raw = std::string(1, std::toupper(name[0])) +
                      name.drop_front().str() + "Raw";
    std::string parametersText;
    for (auto [i, index] : llvm::enumerate(indices))
      parametersText += fmt::format("{}int64_t {}", i ? ", " : "", index);
    if (row)
      accessors.line("template <int W>");
    accessors.line("struct {} {{", raw);
    for (const std::string &field : fields)
      accessors.line("  {}", field);
    if (fields.empty())
      accessors.line("  char unused;");
    accessors.line("}};");
    if (row) {
      accessors.line("template <int W>");
      accessors.line("SSM_DEVICE void {}Load({}, {}<W> &raw) const {{",
                     name.str(), parametersText, raw);
      accessors.append(loads.str());
      accessors.line("}}");
      accessors.line("template <int W>");
      accessors.line("SSM_DEVICE void {}Compute(const {}<W> &raw, Compute "
                     "(&out)[W]) const {{",
                     name.str(), raw);
      accessors.append(compute.str());
      accessors.line("  #pragma unroll");
      accessors.line("  for (int j = 0; j < W; ++j)");
      accessors.line("    out[j] = static_cast<Compute>({});",
                     value->isArray ? value->expression + "[j]"
                                    : value->expression);
      accessors.line("}}");
    } else {
      accessors.line("SSM_DEVICE void {}Load({}, {} &raw) const {{",
                     name.str(), parametersText, raw);
      accessors.append(loads.str());
      accessors.line("}}");
      accessors.line("SSM_DEVICE Compute {}Compute(const {} &raw) const {{",
                     name.str(), raw);
      accessors.append(compute.str());
      accessors.line("  return static_cast<Compute>({});", value->expression);
      accessors.line("}}");
    }
    return success();
  };
  if (failed(accessor("q", op.getQ(), {"b", "t", "h", "n"})) ||
      failed(accessor("k", op.getK(), {"b", "t", "h", "n"})) ||
      failed(accessor("v", op.getV(), {"b", "t", "h", "p"})) ||
      failed(rowAccessor("q", op.getQ(), {"b", "t", "h", "n"})) ||
      failed(rowAccessor("k", op.getK(), {"b", "t", "h", "n"})) ||
      failed(rowAccessor("v", op.getV(), {"b", "t", "h", "p"})) ||
      failed(splitAccessor("q", op.getQ(), {"b", "t", "h", "n"}, true)) ||
      failed(splitAccessor("k", op.getK(), {"b", "t", "h", "n"}, true)) ||
      failed(splitAccessor("v", op.getV(), {"b", "t", "h", "p"}, true)))
    return failure();
  if (op.hasDecay()) {
    if (failed(accessor("dt", op.getDt(), {"b", "t", "h"})) ||
        failed(splitAccessor("dt", op.getDt(), {"b", "t", "h"}, false)))
      return failure();
    if (op.hasDiagonalDecay()) {
      if (failed(accessor("A", op.getA(), {"h", "n"})))
        return failure();
    } else if (failed(accessor("A", op.getA(), {"h"}))) {
      return failure();
    }
  }
  // Operands read from memory as they are, in the tensor cores' type: the
  // kernels copy their tiles asynchronously instead of through accessors.
  struct PlainOperand {
    const char *flag, *member;
    Value operand;
    bool plain = false;
    std::string pointer, type = "float";
  };
  std::vector<PlainOperand> plainOperands = {{"kPlainQ", "qData", op.getQ()},
                                             {"kPlainK", "kData", op.getK()},
                                             {"kPlainV", "vData", op.getV()}};
  bool tensorCores = mapping->kernel == KernelKind::ChunkedMma ||
                     mapping->kernel == KernelKind::QuadraticMma ||
                     mapping->kernel == KernelKind::QuadraticWgmma;
  for (PlainOperand &plain : plainOperands) {
    Type element =
        cast<RankedTensorType>(plain.operand.getType()).getElementType();
    FailureOr<std::string> type = storageType(element);
    if (succeeded(type))
      plain.type = *type;
    std::optional<Storage> where = storageOf(plain.operand);
    if (!tensorCores || !analyzeFusedRead(plain.operand, policy).isLeaf() ||
        !where || where->kind == Storage::Kind::Constant ||
        manifestDtype(element) != mapping->mmaType)
      continue;
    FailureOr<std::string> base = writer.pointer(*where, element, false, loc);
    if (failed(base))
      return failure();
    plain.plain = true;
    plain.pointer = *base;
  }
  bool plainInitialState = false, plainFinalState = false;
  std::string initialStateData = "nullptr", finalStateData = "nullptr";
  if (Value initial = op.getInitialState()) {
    if (failed(accessor("initialState", initial, {"b", "h", "p", "n"})))
      return failure();
    FusedRead read = analyzeFusedRead(initial, policy);
    std::optional<Storage> where = storageOf(initial);
    Type element = cast<RankedTensorType>(initial.getType()).getElementType();
    if (read.isLeaf() && where && where->kind != Storage::Kind::Constant &&
        element.isF32()) {
      FailureOr<std::string> base = writer.pointer(*where, element, false, loc);
      if (failed(base))
        return failure();
      plainInitialState = true;
      initialStateData = *base;
    }
  }

  // Stores of y (through the fused consumer): storeY, and the same split
  // into the consumer's loads (yLoad into a YRaw) and the rest (yStore).
  for (KernelWriter::Phase phase :
       {KernelWriter::Phase::Load, KernelWriter::Phase::Compute}) {
    SourcePrinter direct, loads, split;
    for (SourcePrinter *printer : {&direct, &loads, &split}) {
      printer->indentMore();
      printer->indentMore();
    }
    std::vector<std::string> fields, unused;
    int leaf = 0;
    if (root.write) {
      linalg::GenericOp consumer = root.write->consumer;
      std::vector<std::string> loops = consumerLoops(*root.write);
      std::vector<std::string> directInputs, splitInputs;
      for (OpOperand *input : consumer.getDpsInputOperands()) {
        unsigned index = input->getOperandNumber();
        Type element =
            cast<RankedTensorType>(input->get().getType()).getElementType();
        std::string local = fmt::format("w{}", index);
        if (index == root.write->resultOperand) {
          std::string rounded = roundIfNarrow(
              element, "static_cast<" + computeType(element) + ">(value)");
          direct.line("const {} {} = {};", computeType(element), local,
                      rounded);
          split.line("const {} {} = {};", computeType(element), local,
                     rounded);
        } else {
          AffineMap map = consumer.getMatchingIndexingMap(input);
          std::vector<std::string> mapped;
          for (AffineExpr result : map.getResults()) {
            if (auto dim = dyn_cast<AffineDimExpr>(result))
              mapped.push_back(loops[dim.getPosition()]);
            else
              mapped.push_back("0");
          }
          const FusedRead &tree = root.write->otherInputs[index];
          if (phase == KernelWriter::Phase::Load) {
            if (failed(writer.splitRead(tree, mapped, std::nullopt, "1",
                                        KernelWriter::Phase::Load, leaf, loads,
                                        fields)))
              return failure();
            continue;
          }
          FailureOr<std::string> value = writer.read(tree, mapped);
          FailureOr<KernelWriter::RowValue> fromRaw = writer.splitRead(
              tree, mapped, std::nullopt, "1", KernelWriter::Phase::Compute,
              leaf, split, unused);
          if (failed(value) || failed(fromRaw))
            return failure();
          direct.line("const {} {} = {};", computeType(element), local,
                      *value);
          split.line("const {} {} = {};", computeType(element), local,
                     fromRaw->expression);
        }
        directInputs.push_back(local);
        splitInputs.push_back(local);
      }
      if (phase == KernelWriter::Phase::Load) {
        accessors.line("struct YRaw {{");
        for (const std::string &field : fields)
          accessors.line("  {}", field);
        if (fields.empty())
          accessors.line("  char unused;");
        accessors.line("}};");
        accessors.line("SSM_DEVICE void yLoad(int64_t b, int64_t t, int64_t h, "
                       "int64_t p, YRaw &raw) const {{");
        accessors.append(loads.str());
        accessors.line("}}");
        continue;
      }
      FailureOr<std::string> result =
          writer.translateBody(consumer, directInputs, direct);
      FailureOr<std::string> splitResult =
          writer.translateBody(consumer, splitInputs, split);
      if (failed(result) || failed(splitResult))
        return failure();
      FailureOr<std::string> store =
          writer.store(consumer.getResult(0), loops, *result, loc);
      FailureOr<std::string> splitStore =
          writer.store(consumer.getResult(0), loops, *splitResult, loc);
      if (failed(store) || failed(splitStore))
        return failure();
      direct.line("{}", *store);
      split.line("{}", *splitStore);
    } else {
      if (phase == KernelWriter::Phase::Load) {
        accessors.line("struct YRaw {{ char unused; }};");
        accessors.line("SSM_DEVICE void yLoad(int64_t, int64_t, int64_t, "
                       "int64_t, YRaw &) const {{}}");
        continue;
      }
      FailureOr<std::string> store =
          writer.store(op.getY(), {"b", "t", "h", "p"}, "value", loc);
      if (failed(store))
        return failure();
      direct.line("{}", *store);
      split.line("{}", *store);
    }
    accessors.line("SSM_DEVICE void storeY(int64_t b, int64_t t, int64_t h, "
                   "int64_t p, Compute value) const {{");
    accessors.append(direct.str());
    accessors.line("}}");
    accessors.line("SSM_DEVICE void yStore(const YRaw &raw, int64_t b, int64_t "
                   "t, int64_t h, int64_t p, Compute value) const {{");
    accessors.append(split.str());
    accessors.line("}}");
  }
  // A row of y (W consecutive p) through the fused consumer, with the
  // consumer's other inputs read as rows too: for kernels that stage a tile
  // of y on chip and store it row by row, in wide coalesced accesses.
  {
    SourcePrinter body;
    body.indentMore();
    body.indentMore();
    std::string statement;
    if (root.write) {
      linalg::GenericOp consumer = root.write->consumer;
      std::vector<std::string> loops = consumerLoops(*root.write);
      unsigned rowLoop = llvm::find(loops, "p") - loops.begin();
      std::vector<KernelWriter::RowValue> inputs;
      std::vector<Type> elements;
      for (OpOperand *input : consumer.getDpsInputOperands()) {
        unsigned index = input->getOperandNumber();
        elements.push_back(
            cast<RankedTensorType>(input->get().getType()).getElementType());
        if (index == root.write->resultOperand) {
          inputs.push_back({"values", true});
          continue;
        }
        AffineMap map = consumer.getMatchingIndexingMap(input);
        std::vector<std::string> mapped;
        std::optional<unsigned> rowPosition;
        for (auto [position, result] : llvm::enumerate(map.getResults())) {
          auto dim = dyn_cast<AffineDimExpr>(result);
          mapped.push_back(dim ? loops[dim.getPosition()] : "0");
          if (dim && dim.getPosition() == rowLoop)
            rowPosition = position;
        }
        const FusedRead &tree = root.write->otherInputs[index];
        if (rowPosition) {
          FailureOr<KernelWriter::RowValue> row =
              writer.readRow(tree, mapped, *rowPosition, "W", body);
          if (failed(row))
            return failure();
          inputs.push_back(*row);
          continue;
        }
        FailureOr<std::string> value = writer.read(tree, mapped);
        if (failed(value))
          return failure();
        std::string name = fmt::format("other{}", index);
        body.line("const {} {} = {};", computeType(elements.back()), name,
                  *value);
        inputs.push_back({name, false});
      }
      Type resultElement =
          cast<RankedTensorType>(consumer.getResult(0).getType())
              .getElementType();
      body.line("{} row[W];", computeType(resultElement));
      body.line("#pragma unroll");
      body.line("for (int j = 0; j < W; ++j) {{");
      body.indentMore();
      std::vector<std::string> names;
      for (auto [i, input] : llvm::enumerate(inputs)) {
        std::string element =
            input.isArray ? input.expression + "[j]" : input.expression;
        if (i == root.write->resultOperand) {
          std::string local = fmt::format("y{}", i);
          body.line("const {} {} = {};", computeType(elements[i]), local,
                    roundIfNarrow(elements[i], "static_cast<" +
                                                   computeType(elements[i]) +
                                                   ">(" + element + ")"));
          element = local;
        }
        names.push_back(element);
      }
      FailureOr<std::string> result =
          writer.translateBody(consumer, names, body);
      if (failed(result))
        return failure();
      body.line("row[j] = {};", *result);
      body.indentLess();
      body.line("}}");
      FailureOr<std::string> store = writer.storeRow(
          consumer.getResult(0), loops, rowLoop, "W", "row", loc);
      if (failed(store))
        return failure();
      statement = *store;
    } else {
      FailureOr<std::string> store =
          writer.storeRow(op.getY(), {"b", "t", "h", "p"}, 3, "W", "values", loc);
      if (failed(store))
        return failure();
      statement = *store;
    }
    body.line("{}", statement);
    accessors.line("template <int W>");
    accessors.line("SSM_DEVICE void storeYRow(int64_t b, int64_t t, int64_t h, "
                   "int64_t p, const Compute (&values)[W]) const {{");
    accessors.append(body.str());
    accessors.line("}}");
  }
  if (Value finalState = op.getFinalState()) {
    FailureOr<std::string> store =
        writer.store(finalState, {"b", "h", "p", "n"}, "value", loc);
    if (failed(store))
      return failure();
    accessors.line("SSM_DEVICE void storeFinalState(int64_t b, int64_t h, "
                   "int64_t p, int64_t n, Compute value) const {{");
    accessors.line("  {}", *store);
    accessors.line("}}");
    std::optional<Storage> where = storageOf(finalState);
    Type element = cast<RankedTensorType>(finalState.getType()).getElementType();
    if (element.isF32() && where) {
      FailureOr<std::string> base = writer.pointer(*where, element, true, loc);
      if (failed(base))
        return failure();
      plainFinalState = true;
      finalStateData = *base;
    }
  }
  FailureOr<std::string> batch = writer.sizeOf(op.getQ(), 0, loc);
  FailureOr<std::string> length = writer.sizeOf(op.getQ(), 1, loc);
  FailureOr<std::string> keyLength = writer.sizeOf(op.getK(), 1, loc);
  if (failed(keyLength))
    return failure();
  if (failed(batch) || failed(length))
    return failure();

  // Segments: the state launch hands each segment's state and log-decay to
  // the segments after it through two f32 buffers of the call,
  // [B, (S − 1) · H · P · N] and [B, (S − 1) · H].
  FailureOr<CudaGridExtent> batchExtent = extentOf(op.getQ(), 0, 1, loc);
  if (failed(batchExtent))
    return failure();
  std::string segmentStates, segmentDecays;
  if (mapping->segments) {
    const int64_t perSequence = (mapping->segments - 1) * op.getNumHeads();
    Type f32 = Float32Type::get(op.getContext());
    for (auto [elements, name] :
         {std::pair{perSequence * op.getValueHeadDim() * op.getStateSize(),
                    &segmentStates},
          std::pair{perSequence, &segmentDecays}}) {
      CudaBuffer buffer;
      buffer.dtype = "f32";
      if (batchExtent->dims.empty()) {
        buffer.shape = {batchExtent->factor, elements};
        buffer.dimsFrom = {std::nullopt, std::nullopt};
      } else {
        buffer.shape = {-1, elements};
        buffer.dimsFrom = {batchExtent->dims[0], std::nullopt};
      }
      Storage where{Storage::Kind::Buffer,
                    static_cast<unsigned>(plan.buffers.size())};
      plan.buffers.push_back(std::move(buffer));
      FailureOr<std::string> pointer = writer.pointer(where, f32, true, loc);
      if (failed(pointer))
        return failure();
      *name = *pointer;
    }
  }

  // The operand struct.
  out.line("// The operands of ssm.mix at {}: {} {}{}, decay {}, {}.",
           locationOf(loc), op.isSoftmax() ? "softmax" : "linear",
           stringifyMaskKind(op.getMask().getKind()).str(),
           op.getMask().getKind() == MaskKind::Window
               ? fmt::format("({})", op.getMask().getWindow())
               : "",
           StringRef(decayName(op)).lower(), mapping->describe());
  out.line("struct {} {{", opsName);
  out.indentMore();
  out.line("using Compute = {};", compute);
  out.line("static constexpr int kHeads = {}, kQueryHeads = {}, kKeyHeads = "
           "{}, kValueHeads = {};",
           op.getNumHeads(), op.getNumQueryHeads(), op.getNumKeyHeads(),
           op.getNumValueHeads());
  out.line("static constexpr int kStateSize = {}, kValueDim = {};",
           op.getStateSize(), op.getValueHeadDim());
  out.line("static constexpr ssm::device::Score kScore = "
           "ssm::device::Score::{};",
           scoreName(op));
  out.line("static constexpr double kScale = {};",
           floatLiteral(op.getScale() ? op.getScale()->convertToDouble() : 1.0,
                        Float64Type::get(op.getContext())));
  out.line("static constexpr ssm::device::Mask kMask = ssm::device::Mask::{};",
           maskName(op));
  out.line("static constexpr int64_t kWindow = {};",
           op.getMask().getWindow());
  out.line("static constexpr ssm::device::Decay kDecay = "
           "ssm::device::Decay::{};",
           decayName(op));
  out.line("static constexpr bool kHasInitialState = {}, kHasFinalState = {};",
           op.getInitialState() ? "true" : "false",
           op.getFinalState() ? "true" : "false");
  out.line("static constexpr bool kPlainInitialState = {}, kPlainFinalState = "
           "{};",
           plainInitialState ? "true" : "false",
           plainFinalState ? "true" : "false");
  for (const PlainOperand &plain : plainOperands) {
    out.line("static constexpr bool {} = {};", plain.flag,
             plain.plain ? "true" : "false");
    out.line("const {} *{} = nullptr;", plain.type, plain.member);
  }
  writer.printMembers(out);
  out.line("const float *initialStateData = nullptr;");
  out.line("float *finalStateData = nullptr;");
  if (mapping->segments)
    out.line("float *segmentStates = nullptr, *segmentDecays = nullptr;");
  // length: Lq (the queries'); keyLength: Lk (a cache's, where Lq < Lk).
  out.line("int64_t batch = 0, length = 0, keyLength = 0;");
  out.indentLess();
  out.append(accessors.str());
  out.append(writer.getHelpers().str());
  out.line("}};");
  out.blank();

  // The kernels.
  std::string templateCall;
  const std::string &t = mapping->mmaType;
  std::string mmaType = t == "bf16" ? "ssm::device::bf16" : "ssm::device::f16";
  CudaLaunch launch;
  launch.kernel = kernelName;
  launch.block[0] = geometry::kMixThreads;
  launch.sharedBytes = mapping->sharedBytes;
  const int64_t heads = op.getNumHeads(), p = op.getValueHeadDim();
  auto constant = [](int64_t value) {
    CudaGridExtent extent;
    extent.factor = value;
    return extent;
  };
  auto rowSlicedCall = [&](bool storeOutputs) {
    return fmt::format("ssm::device::recurrentRowSliced<{}, {}, {}, {}, {}, {}>",
                       opsName, geometry::kMixThreads, mapping->lanes,
                       mapping->vector, mapping->rows,
                       storeOutputs ? "true" : "false");
  };
  auto rowSlicedGrid = [&](CudaLaunch &l) {
    int64_t rowsPerBlock =
        geometry::rowSlicedRowsPerBlock(mapping->lanes, mapping->rows);
    l.grid[0] = constant((heads * p + rowsPerBlock - 1) / rowsPerBlock);
    l.grid[1] = *batchExtent;
  };
  switch (mapping->kernel) {
  case KernelKind::Loops:
    // The CPU's kernel: mapMixToCuda refuses it before emission.
    return op.emitError("kernel 'loops' is the CPU's; the CUDA target "
                        "cannot emit it");
  case KernelKind::RowPerThread:
    templateCall = fmt::format(
        "ssm::device::recurrentRowPerThread<{}, {}, {}, {}>", opsName,
        geometry::kMixThreads, geometry::kRowPerThreadSteps,
        mapping->stageKeys ? "true" : "false");
    launch.grid[0] =
        constant((heads * p + geometry::kMixThreads - 1) / geometry::kMixThreads);
    launch.grid[1] = *batchExtent;
    break;
  case KernelKind::RowSliced:
    templateCall = rowSlicedCall(true);
    rowSlicedGrid(launch);
    break;
  case KernelKind::ChunkedSimt:
    templateCall = fmt::format("ssm::device::chunkedSimt<{}, {}, {}>", opsName,
                               mapping->chunkSize, geometry::kMixThreads);
    launch.grid[0] = constant(heads);
    launch.grid[1] = *batchExtent;
    break;
  case KernelKind::ChunkedMma:
    templateCall =
        mapping->segments
            ? fmt::format("ssm::device::chunkedMma<{}, {}, {}, {}>", opsName,
                          mmaType, mapping->blocksPerSM, mapping->segments)
            : fmt::format("ssm::device::chunkedMma<{}, {}, {}>", opsName,
                          mmaType, mapping->blocksPerSM);
    launch.grid[0] = constant(p / geometry::kChunkedMmaValueTile);
    launch.grid[1] = constant(heads);
    launch.grid[2] = *batchExtent;
    if (mapping->segments)
      launch.grid[2].factor *= mapping->segments;
    break;
  case KernelKind::QuadraticWgmma: {
    templateCall =
        fmt::format("ssm::device::quadraticWgmma<{}, {}>", opsName, mmaType);
    launch.block[0] = geometry::kQuadraticWgmmaThreads;
    FailureOr<CudaGridExtent> rows =
        extentOf(op.getQ(), 1, geometry::kQuadraticWgmmaRows, loc);
    if (failed(rows))
      return failure();
    launch.grid[0] = *rows;
    launch.grid[1] = constant(heads);
    launch.grid[2] = *batchExtent;
    break;
  }
  case KernelKind::QuadraticSimt:
  case KernelKind::QuadraticMma: {
    bool mma = mapping->kernel == KernelKind::QuadraticMma;
    templateCall =
        mma ? fmt::format("ssm::device::quadraticMma<{}, {}, {}>", opsName,
                          mmaType, mapping->mTiles)
            : fmt::format("ssm::device::quadraticSimt<{}, {}>", opsName,
                          geometry::kQuadraticSimtRows);
    FailureOr<CudaGridExtent> rows = extentOf(
        op.getQ(), 1,
        mma ? geometry::quadraticMmaRows(mapping->mTiles)
            : geometry::kQuadraticSimtRows,
        loc);
    if (failed(rows))
      return failure();
    launch.grid[0] = *rows;
    launch.grid[1] = constant(heads);
    launch.grid[2] = *batchExtent;
    break;
  }
  }

  auto printKernel = [&](const std::string &name, const std::string &call,
                         const std::string &comment, int minBlocksPerSM,
                         int threads = geometry::kMixThreads) {
    SourcePrinter body;
    body.indentMore();
    body.line("{} ops;", opsName);
    writer.printAssignments(body, "ops");
    for (const PlainOperand &plain : plainOperands)
      if (plain.plain)
        body.line("ops.{} = {};", plain.member, plain.pointer);
    if (plainInitialState)
      body.line("ops.initialStateData = {};", initialStateData);
    if (plainFinalState)
      body.line("ops.finalStateData = {};", finalStateData);
    if (mapping->segments) {
      body.line("ops.segmentStates = {};", segmentStates);
      body.line("ops.segmentDecays = {};", segmentDecays);
    }
    body.line("ops.batch = {};", *batch);
    body.line("ops.length = {};", *length);
    body.line("ops.keyLength = {};", *keyLength);
    body.line("{}(ops);", call);
    // The same parameters under the kernel's own name.
    out.line("// {}", comment);
    std::string bounds = std::to_string(threads);
    if (minBlocksPerSM > 0)
      bounds += fmt::format(", {}", minBlocksPerSM);
    out.line("extern \"C\" __global__ void __launch_bounds__({}) {}({}) {{",
             bounds, name, writer.parameterList());
    out.append(body.str());
    out.line("}}");
    out.blank();
    std::vector<std::string> types, names;
    for (const KernelParameter &parameter : writer.getParameters()) {
      types.push_back(parameter.type);
      names.push_back(parameter.name);
    }
    emulatorEntries.push_back({name, types});
    parameterNames[name] = names;
  };
  if (mapping->segments) {
    // The segments' states first: every segment but the last, the state
    // update alone.
    CudaLaunch statesLaunch = launch;
    statesLaunch.kernel = kernelName + "_segment_states";
    statesLaunch.grid[2].factor =
        batchExtent->factor * (mapping->segments - 1);
    printKernel(statesLaunch.kernel,
                fmt::format("ssm::device::chunkedMma<{}, {}, {}, {}, true>",
                            opsName, mmaType, mapping->blocksPerSM,
                            mapping->segments),
                fmt::format("ssm.mix at {}: the state each of its {} "
                            "segments but the last ends with",
                            locationOf(loc), mapping->segments),
                0);
    statesLaunch.arguments = argumentsOf(writer);
    plan.launches.push_back(statesLaunch);
    // Then the state each segment starts from, in place of those.
    CudaLaunch combineLaunch = statesLaunch;
    combineLaunch.kernel = kernelName + "_segment_combine";
    combineLaunch.grid[2] = *batchExtent;
    combineLaunch.sharedBytes = 0;
    printKernel(combineLaunch.kernel,
                fmt::format("ssm::device::chunkedMmaCombine<{}, {}>", opsName,
                            mapping->segments),
                fmt::format("ssm.mix at {}: the states its segments start "
                            "from",
                            locationOf(loc)),
                0);
    plan.launches.push_back(combineLaunch);
  }
  printKernel(
      kernelName, templateCall,
      fmt::format("ssm.mix at {}: {}", locationOf(loc), mapping->describe()),
      mapping->kernel == KernelKind::ChunkedMma &&
              geometry::chunkedMmaBuffers(mapping->blocksPerSM) == 1
          ? mapping->blocksPerSM
      : mapping->kernel == KernelKind::QuadraticWgmma ? 1
                                                      : 0,
      static_cast<int>(launch.block[0]));
  launch.arguments = argumentsOf(writer);
  plan.launches.push_back(launch);
  if (mapping->stateScan) {
    CudaLaunch stateLaunch;
    stateLaunch.kernel = kernelName + "_final_state";
    stateLaunch.block[0] = geometry::kMixThreads;
    rowSlicedGrid(stateLaunch);
    printKernel(stateLaunch.kernel, rowSlicedCall(false),
                fmt::format("ssm.mix at {}: its final state, by the "
                            "recurrence",
                            locationOf(loc)),
                0);
    stateLaunch.arguments = launch.arguments;
    plan.launches.push_back(stateLaunch);
  }
  return success();
}

LogicalResult FunctionEmitter::emitElementwise(KernelRoot root,
                                               unsigned ordinal,
                                               CudaFunctionPlan &plan) {
  bool isCopy = root.kind == KernelRoot::Kind::Copy;
  Value result =
      isCopy ? func.getBody().front().getTerminator()->getOperand(root.output)
             : root.generic.getResult(0);
  Location loc = isCopy ? root.source.getLoc() : root.generic.getLoc();
  auto valueAt = [&](KernelWriter &writer, SourcePrinter &,
                     ArrayRef<std::string> indices) -> FailureOr<std::string> {
    FusedRead read;
    if (isCopy) {
      read.tensor = root.source;
    } else {
      read.tensor = result;
      read.producer = root.generic;
      for (OpOperand *input : root.generic.getDpsInputOperands()) {
        read.inputs.push_back(analyzeFusedRead(input->get(), policy));
        read.inputMaps.push_back(root.generic.getMatchingIndexingMap(input));
      }
    }
    return writer.read(read, indices);
  };
  // The result is written row-major at `index` (an output viewed through a
  // reshape has the same offsets).
  std::optional<Storage> target;
  if (isCopy)
    target = Storage{Storage::Kind::Output, root.output};
  return emitPerElement(
      fmt::format("{}_{}{}", prefix, isCopy ? "copy" : "elementwise", ordinal),
      result, loc,
      fmt::format("{} at {}",
                  isCopy ? "copy into an output" : "elementwise glue",
                  locationOf(loc)),
      valueAt, plan, target);
}

LogicalResult FunctionEmitter::emitPerElement(const std::string &kernelName,
                                              Value result, Location loc,
                                              const std::string &comment,
                                              const ElementValue &valueAt,
                                              CudaFunctionPlan &plan,
                                              std::optional<Storage> target,
                                              bool perWarp) {
  std::string opsName = kernelName + "_ops";
  KernelWriter writer(*this, kernelName);
  auto type = cast<RankedTensorType>(result.getType());
  unsigned rank = type.getRank();

  SourcePrinter compute;
  compute.indentMore();
  compute.line(perWarp ? "SSM_DEVICE void compute(int64_t index, int lane) "
                         "const {{"
                       : "SSM_DEVICE void compute(int64_t index) const {{");
  compute.indentMore();
  if (rank > 0) {
    compute.line("int64_t rest = index;");
    for (int d = static_cast<int>(rank) - 1; d >= 1; --d) {
      FailureOr<std::string> size = writer.sizeOf(result, d, loc);
      if (failed(size))
        return failure();
      compute.line("const int64_t i{} = rest % {};", d, *size);
      compute.line("rest /= {};", *size);
    }
    compute.line("const int64_t i0 = rest;");
  }
  std::vector<std::string> indices;
  for (unsigned d = 0; d < rank; ++d)
    indices.push_back(fmt::format("i{}", d));
  FailureOr<std::string> value = valueAt(writer, compute, indices);
  if (failed(value))
    return failure();
  if (!target && isSplit(result)) {
    FailureOr<std::string> size = writer.sizeOf(result, rank - 1, loc);
    if (failed(size))
      return failure();
    compute.line("const {} value = {};", computeType(type.getElementType()),
                 *value);
    FailureOr<std::string> stores = splitStore(
        writer, result, "index / " + *size, fmt::format("i{}", rank - 1),
        "value", perWarp ? "if (lane == 0) " : "", loc);
    if (failed(stores))
      return failure();
    compute.line("{}", *stores);
  } else {
    std::optional<Storage> where = target ? target : storageOf(result);
    if (!where)
      return emitError(loc)
             << "internal error: a kernel's result has no storage";
    FailureOr<std::string> base =
        writer.pointer(*where, type.getElementType(), true, loc);
    if (failed(base))
      return failure();
    compute.line("{}ssm::device::store({}, index, {});",
                 perWarp ? "if (lane == 0) " : "", *base, *value);
  }
  compute.indentLess();
  compute.line("}}");

  std::string sizeText = "1";
  for (unsigned d = 0; d < rank; ++d) {
    FailureOr<std::string> size = writer.sizeOf(result, d, loc);
    if (failed(size))
      return failure();
    sizeText += " * " + *size;
  }
  out.line("// {}", comment);
  out.line("struct {} {{", opsName);
  out.indentMore();
  writer.printMembers(out);
  out.line("SSM_DEVICE int64_t size() const {{ return {}; }}", sizeText);
  out.indentLess();
  out.append(compute.str());
  out.append(writer.getHelpers().str());
  out.line("}};");
  SourcePrinter body;
  body.indentMore();
  body.line("{} ops;", opsName);
  writer.printAssignments(body, "ops");
  body.line(perWarp ? "ssm::device::warpPerElement(ops);"
                    : "ssm::device::elementwise(ops);");
  finishKernel(writer, comment, body.str(), geometry::kElementwiseThreads);

  CudaLaunch launch;
  launch.kernel = kernelName;
  launch.block[0] = geometry::kElementwiseThreads;
  CudaGridExtent &extent = launch.grid[0];
  extent.factor = 1;
  for (unsigned d = 0; d < rank; ++d) {
    std::optional<SizeProduct> product = sizes.productOf(result, d);
    if (!product)
      return emitError(loc) << "cannot tell dim " << d
                            << " of this result from the inputs' sizes";
    extent.factor *= product->factor;
    extent.dims.insert(extent.dims.end(), product->dims.begin(),
                       product->dims.end());
  }
  extent.divisor = perWarp ? geometry::kElementwiseThreads / 32
                           : geometry::kElementwiseThreads;
  // A grid-stride loop covers the rest.
  extent.limit = 1 << 20;
  launch.arguments = argumentsOf(writer);
  plan.launches.push_back(launch);
  return success();
}

/// Whether a warp computes each element of `op`'s result: one reduction
/// loop of a static extent of at least 64 (a row's sum: RMSNorm's, a dot
/// product's), an f32 result, and a body that adds a term not depending on
/// the accumulator to it, so that lanes can sum terms apart.
static bool isWarpReduction(linalg::LinalgOp op) {
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  if (!type.getElementType().isF32() || op.getNumReductionLoops() != 1)
    return false;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned loop = 0; loop < op.getNumLoops(); ++loop) {
    if (iterators[loop] != utils::IteratorType::reduction)
      continue;
    auto source = loopExtentSource(op, loop);
    if (!source)
      return false;
    auto shaped = cast<ShapedType>(source->first.getType());
    if (shaped.isDynamicDim(source->second) ||
        shaped.getDimSize(source->second) < 64)
      return false;
  }
  Block &body = op->getRegion(0).front();
  BlockArgument accumulator = body.getArguments().back();
  auto add = dyn_cast_or_null<arith::AddFOp>(
      body.getTerminator()->getOperand(0).getDefiningOp());
  if (!add || !accumulator.hasOneUse())
    return false;
  Value term = add.getLhs() == accumulator ? add.getRhs() : add.getLhs();
  if (add.getLhs() != accumulator && add.getRhs() != accumulator)
    return false;
  return term != accumulator;
}

/// W's function argument when `op` is a projection the tensor-core kernel
/// takes: x [M, K] · Wᵀ with W [N, K] (the importer's maps), an f32 result,
/// N and K static, K a multiple of 8, and W a bf16 or f16 argument, read as
/// it is or through its widening to f32 (a generic of one arith.extf).
static std::optional<BlockArgument> projectionWeight(linalg::MatmulOp op) {
  MLIRContext *context = op.getContext();
  AffineExpr m, n, k;
  bindDims(context, m, n, k);
  SmallVector<AffineMap> expected = AffineMap::inferFromExprList(
      ArrayRef<ArrayRef<AffineExpr>>{{m, k}, {n, k}, {m, n}}, context);
  if (op.getIndexingMapsArray() != ArrayRef<AffineMap>(expected))
    return std::nullopt;
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  auto weightType =
      cast<RankedTensorType>(op.getDpsInputOperand(1)->get().getType());
  if (!resultType.getElementType().isF32() || weightType.getRank() != 2 ||
      !weightType.hasStaticShape() ||
      !geometry::projectionTakes(weightType.getDimSize(1)))
    return std::nullopt;
  Value weight = op.getDpsInputOperand(1)->get();
  if (auto widening = weight.getDefiningOp<linalg::GenericOp>()) {
    Block &body = widening.getRegion().front();
    auto extension = dyn_cast<arith::ExtFOp>(body.front());
    bool isWidening =
        widening.getNumDpsInputs() == 1 && widening.getNumDpsInits() == 1 &&
        llvm::all_of(widening.getIndexingMapsArray(),
                     [](AffineMap map) { return map.isIdentity(); }) &&
        body.getOperations().size() == 2 && extension &&
        extension.getIn() == body.getArgument(0) &&
        cast<linalg::YieldOp>(body.getTerminator()).getOperand(0) ==
            extension.getResult();
    if (!isWidening)
      return std::nullopt;
    weight = widening.getDpsInputOperand(0)->get();
  }
  auto argument = dyn_cast<BlockArgument>(weight);
  Type element = cast<RankedTensorType>(weight.getType()).getElementType();
  if (!argument || !(element.isBF16() || element.isF16()))
    return std::nullopt;
  return argument;
}

LogicalResult FunctionEmitter::emitProjection(linalg::MatmulOp op,
                                              BlockArgument weight,
                                              unsigned ordinal,
                                              CudaFunctionPlan &plan) {
  Value result = op->getResult(0), x = op.getDpsInputOperand(0)->get();
  Location loc = op.getLoc();
  Type element = cast<RankedTensorType>(weight.getType()).getElementType();
  int64_t columns = cast<RankedTensorType>(weight.getType()).getDimSize(0);
  int64_t depth = cast<RankedTensorType>(weight.getType()).getDimSize(1);
  std::string kernelName = fmt::format("{}_projection{}", prefix, ordinal);
  std::string type = element.isBF16() ? "ssm::device::bf16" : "ssm::device::f16";
  std::optional<SizeProduct> rowsProduct = sizes.productOf(result, 0);
  if (!rowsProduct)
    return emitError(loc) << "cannot tell the rows of this projection from "
                             "the inputs' sizes";

  // x staged in the weight's type, [rows..., K]: its fused glue evaluated
  // once per element, not once per block column of the product.
  CudaBuffer staged;
  staged.dtype = manifestDtype(element);
  appendDims(staged, *rowsProduct);
  staged.shape.push_back(depth);
  staged.dimsFrom.push_back(std::nullopt);
  Storage stagedStorage{Storage::Kind::Buffer,
                        static_cast<unsigned>(plan.buffers.size())};
  plan.buffers.push_back(staged);
  auto rowsExtent = [&](CudaGridExtent &extent) {
    extent.factor = rowsProduct->factor;
    extent.dims.assign(rowsProduct->dims.begin(), rowsProduct->dims.end());
  };
  {
    std::string stageName = kernelName + "_stage";
    KernelWriter writer(*this, stageName);
    FailureOr<std::string> rows = writer.sizeOf(x, 0, loc);
    FailureOr<std::string> value =
        writer.read(analyzeFusedRead(x, policy), {"m", "k"});
    FailureOr<std::string> base =
        writer.pointer(stagedStorage, element, true, loc);
    if (failed(rows) || failed(value) || failed(base))
      return failure();
    std::string comment =
        fmt::format("{} at {}: x staged as {} for the projection",
                    op->getName().getStringRef().str(), locationOf(loc),
                    element.isBF16() ? "bf16" : "f16");
    out.line("// {}", comment);
    out.line("struct {}_ops {{", stageName);
    out.indentMore();
    writer.printMembers(out);
    out.line("SSM_DEVICE int64_t size() const {{ return {} * {}; }}", *rows,
             depth);
    out.line("SSM_DEVICE void compute(int64_t index) const {{");
    out.line("  const int64_t m = index / {0}, k = index % {0};", depth);
    out.line("  ssm::device::store({}, index, {});", *base, *value);
    out.line("}}");
    out.indentLess();
    out.append(writer.getHelpers().str());
    out.line("}};");
    SourcePrinter body;
    body.indentMore();
    body.line("{}_ops ops;", stageName);
    writer.printAssignments(body, "ops");
    body.line("ssm::device::elementwise(ops);");
    finishKernel(writer, comment, body.str(), geometry::kElementwiseThreads);
    CudaLaunch launch;
    launch.kernel = stageName;
    launch.block[0] = geometry::kElementwiseThreads;
    rowsExtent(launch.grid[0]);
    launch.grid[0].factor *= depth;
    launch.grid[0].divisor = geometry::kElementwiseThreads;
    launch.grid[0].limit = 1 << 20;
    launch.arguments = argumentsOf(writer);
    plan.launches.push_back(launch);
  }

  // The kernel's forms by the rows (matmul.cuh), each a launch of its own
  // grid and shared memory that runs for its range of rows: all three where
  // the rows are dynamic, the one that applies where they are static.
  enum class FormKind { Vector, FewRows, Tiles };
  struct Form {
    FormKind kind;
    const char *suffix, *function, *what;
    int64_t atLeast, atMost, sharedBytes;
  };
  const Form forms[] = {
      {FormKind::Vector, "_vector", "projectionVector",
       "a matrix-vector product (at most 4 rows)", 0,
       geometry::kProjectionVectorRows, geometry::projectionVectorSharedBytes()},
      {FormKind::FewRows, "_few", "projectionFewRows",
       "every row of 256 columns a block", geometry::kProjectionVectorRows + 1,
       geometry::kProjectionFewRows, geometry::projectionFewRowsSharedBytes()},
      {FormKind::Tiles, "", "projectionTiles", "128 × 256 tiles",
       geometry::kProjectionFewRows + 1, 0,
       geometry::projectionTilesSharedBytes()},
  };
  const bool staticRows = rowsProduct->dims.empty();
  // The few-row form splits K where the columns alone give too few blocks;
  // its partial sums go to a buffer [splits, rows..., N] that a kernel after
  // it adds in split order (deterministic).
  const int64_t splits = geometry::projectionSplits(columns, depth);
  std::optional<Storage> partialsStorage;
  for (const Form &form : forms) {
    if (staticRows && (rowsProduct->factor < form.atLeast ||
                       (form.atMost > 0 && rowsProduct->factor > form.atMost)))
      continue;
    const bool split = form.kind == FormKind::FewRows && splits > 1;
    if (split) {
      CudaBuffer partials;
      partials.dtype = "f32";
      partials.shape.push_back(splits);
      partials.dimsFrom.push_back(std::nullopt);
      appendDims(partials, *rowsProduct);
      partials.shape.push_back(columns);
      partials.dimsFrom.push_back(std::nullopt);
      partialsStorage = Storage{Storage::Kind::Buffer,
                                static_cast<unsigned>(plan.buffers.size())};
      plan.buffers.push_back(partials);
    }
    std::string formName = kernelName + form.suffix;
    std::string opsName = formName + "_ops";
    KernelWriter writer(*this, formName);
    FailureOr<std::string> rows = writer.sizeOf(x, 0, loc);
    FailureOr<std::string> stagedBase =
        writer.pointer(stagedStorage, element, false, loc);
    FailureOr<std::string> weightBase =
        writer.pointer(Storage{Storage::Kind::Input, weight.getArgNumber()},
                       element, false, loc);
    FailureOr<std::string> resultStore = projectionStore(writer, op);
    FailureOr<std::string> partialsBase = std::string();
    if (split)
      partialsBase = writer.pointer(
          *partialsStorage, Float32Type::get(op.getContext()), true, loc);
    if (failed(rows) || failed(stagedBase) || failed(weightBase) ||
        failed(resultStore) || failed(partialsBase))
      return failure();
    std::string comment = fmt::format(
        "{} at {}: x · Wᵀ on tensor cores, W {} [{}, {}]: {}",
        op->getName().getStringRef().str(), locationOf(loc),
        element.isBF16() ? "bf16" : "f16", columns, depth, form.what);
    out.line("// {}", comment);
    out.line("struct {} {{", opsName);
    out.indentMore();
    writer.printMembers(out);
    out.line("static constexpr int64_t kColumns = {}, kDepth = {};", columns,
             depth);
    out.line("SSM_DEVICE int64_t rows() const {{ return {}; }}", *rows);
    out.line("SSM_DEVICE const {} *x() const {{ return {}; }}", type,
             *stagedBase);
    out.line("SSM_DEVICE const {} *weight() const {{ return {}; }}", type,
             *weightBase);
    out.line("SSM_DEVICE void store(int64_t m, int64_t n, float sum) const {{");
    for (StringRef statement : llvm::split(*resultStore, '\n'))
      out.line("  {}", statement.str());
    out.line("}}");
    if (form.kind == FormKind::Vector)
      out.line("static constexpr int kVectorSplit = {};",
               geometry::projectionVectorSplit(columns));
    if (form.kind == FormKind::FewRows) {
      out.line("static constexpr int kSplits = {};", split ? splits : 1);
      if (split) {
        out.line("SSM_DEVICE void storePartial(int64_t split, int64_t m, "
                 "int64_t n, float value) const {{ ssm::device::store({}, "
                 "(split * rows() + m) * kColumns + n, value); }}",
                 *partialsBase);
      }
    }
    out.indentLess();
    out.append(writer.getHelpers().str());
    out.line("}};");
    SourcePrinter body;
    body.indentMore();
    body.line("{} ops;", opsName);
    writer.printAssignments(body, "ops");
    body.line("ssm::device::{}<{}>(ops);", form.function, type);
    finishKernel(writer, comment, body.str(), geometry::kProjectionThreads);

    CudaLaunch launch;
    launch.kernel = formName;
    if (!staticRows) {
      CudaLaunchRange &range = launch.runsWhen.emplace();
      range.factor = rowsProduct->factor;
      range.dims.assign(rowsProduct->dims.begin(), rowsProduct->dims.end());
      range.atLeast = form.atLeast;
      range.atMost = form.atMost;
    }
    launch.block[0] = geometry::kProjectionThreads;
    launch.sharedBytes = form.sharedBytes;
    const int64_t blockColumns = form.kind == FormKind::Tiles
                                     ? geometry::kProjectionTileColumns
                                 : form.kind == FormKind::FewRows
                                     ? geometry::kProjectionFewColumns
                                     : geometry::kProjectionColumns;
    launch.grid[1].factor = (columns + blockColumns - 1) / blockColumns;
    if (form.kind == FormKind::Tiles) {
      rowsExtent(launch.grid[0]);
      launch.grid[0].divisor = geometry::kProjectionRows;
    } else if (form.kind == FormKind::FewRows) {
      launch.grid[2].factor = split ? splits : 1;
    } else {
      launch.grid[2].factor = geometry::projectionVectorSplit(columns);
    }
    launch.arguments = argumentsOf(writer);
    plan.launches.push_back(launch);
    if (split &&
        failed(emitProjectionSum(op, kernelName, *partialsStorage, splits,
                                 launch.runsWhen, rowsExtent, plan)))
      return failure();
  }
  return success();
}

FailureOr<std::string>
FunctionEmitter::projectionStore(KernelWriter &writer, linalg::MatmulOp op) {
  Value result = op->getResult(0);
  Location loc = op.getLoc();
  // The result's initial value where the matmul accumulates into it.
  std::string initial;
  OpOperand *init = op.getDpsInitOperand(0);
  if (op.payloadUsesValueFromOperand(init)) {
    FailureOr<std::string> value =
        writer.read(analyzeFusedRead(init->get(), policy), {"m", "n"});
    if (failed(value))
      return failure();
    initial = " + " + *value;
  }
  std::string stored = "const float stored = sum" + initial + ";\n";
  // The result's parts (the slices its readers take) written apart.
  if (isSplit(result)) {
    FailureOr<std::string> stores =
        splitStore(writer, result, "m", "n", "stored", "", loc);
    if (failed(stores))
      return failure();
    return stored + *stores;
  }
  std::optional<Storage> where = storageOf(result);
  if (!where)
    return emitError(loc) << "internal error: a projection has no storage";
  FailureOr<std::string> base = writer.pointer(
      *where, cast<RankedTensorType>(result.getType()).getElementType(), true,
      loc);
  if (failed(base))
    return failure();
  int64_t columns = cast<RankedTensorType>(result.getType()).getDimSize(1);
  return stored +
         fmt::format("ssm::device::store({}, m * {} + n, stored);", *base,
                     columns);
}

LogicalResult FunctionEmitter::emitProjectionSum(
    linalg::MatmulOp op, StringRef kernelName, Storage partials, int64_t splits,
    const std::optional<CudaLaunchRange> &range,
    llvm::function_ref<void(CudaGridExtent &)> rowsExtent,
    CudaFunctionPlan &plan) {
  Value result = op->getResult(0), x = op.getDpsInputOperand(0)->get();
  Location loc = op.getLoc();
  int64_t columns = cast<RankedTensorType>(result.getType()).getDimSize(1);
  std::string sumName = (kernelName + "_sum").str();
  KernelWriter writer(*this, sumName);
  FailureOr<std::string> rows = writer.sizeOf(x, 0, loc);
  FailureOr<std::string> partialsBase = writer.pointer(
      partials, Float32Type::get(op.getContext()), false, loc);
  FailureOr<std::string> resultStore = projectionStore(writer, op);
  if (failed(rows) || failed(partialsBase) || failed(resultStore))
    return failure();
  std::string comment = fmt::format(
      "{} at {}: the {} partial sums of the projection's splits of K, in order",
      op->getName().getStringRef().str(), locationOf(loc), splits);
  out.line("// {}", comment);
  out.line("struct {}_ops {{", sumName);
  out.indentMore();
  writer.printMembers(out);
  out.line("SSM_DEVICE int64_t size() const {{ return {} * {}; }}", *rows,
           columns);
  out.line("SSM_DEVICE void compute(int64_t index) const {{");
  out.line("  const int64_t m = index / {0}, n = index % {0};", columns);
  out.line("  float sum = 0.0f;");
  out.line("  for (int64_t split = 0; split < {}; ++split)", splits);
  out.line("    sum += ssm::device::load<float>({}, split * size() + index);",
           *partialsBase);
  for (StringRef statement : llvm::split(*resultStore, '\n'))
    out.line("  {}", statement.str());
  out.line("}}");
  out.indentLess();
  out.append(writer.getHelpers().str());
  out.line("}};");
  SourcePrinter body;
  body.indentMore();
  body.line("{}_ops ops;", sumName);
  writer.printAssignments(body, "ops");
  body.line("ssm::device::elementwise(ops);");
  finishKernel(writer, comment, body.str(), geometry::kElementwiseThreads);
  CudaLaunch launch;
  launch.kernel = sumName;
  launch.runsWhen = range;
  launch.block[0] = geometry::kElementwiseThreads;
  rowsExtent(launch.grid[0]);
  launch.grid[0].factor *= columns;
  launch.grid[0].divisor = geometry::kElementwiseThreads;
  launch.grid[0].limit = 1 << 20;
  launch.arguments = argumentsOf(writer);
  plan.launches.push_back(launch);
  return success();
}

LogicalResult FunctionEmitter::emitReduction(KernelRoot root, unsigned ordinal,
                                             CudaFunctionPlan &plan) {
  linalg::LinalgOp op = root.reduction;
  if (auto matmul = dyn_cast<linalg::MatmulOp>(op.getOperation()))
    if (std::optional<BlockArgument> weight = projectionWeight(matmul))
      return emitProjection(matmul, *weight, ordinal, plan);
  if (isRowArgmax(op))
    return emitArgmax(op, ordinal, plan);
  const bool perWarp = isWarpReduction(op);
  Value result = op->getResult(0);
  Location loc = op.getLoc();
  std::string cType =
      computeType(cast<RankedTensorType>(result.getType()).getElementType());
  auto valueAt = [&](KernelWriter &writer, SourcePrinter &compute,
                     ArrayRef<std::string> indices) -> FailureOr<std::string> {
    // Parallel loops from the output's indices, reduction loops in order.
    std::vector<std::string> loops(op.getNumLoops());
    AffineMap outputMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
    for (auto [position, expr] : llvm::enumerate(outputMap.getResults()))
      loops[cast<AffineDimExpr>(expr).getPosition()] = indices[position];
    // The output's initial value, where the body reads it (a reduction's);
    // a parallel-only op (a gather, a permutation) writes every element anew.
    OpOperand *init = op.getDpsInitOperand(0);
    if (op.payloadUsesValueFromOperand(init)) {
      FailureOr<std::string> initial =
          writer.read(analyzeFusedRead(init->get(), policy), indices);
      if (failed(initial))
        return failure();
      compute.line("{} accumulator = {};", cType, *initial);
    } else {
      compute.line("{} accumulator{{}};", cType);
    }
    // A warp's lanes each sum every 32nd term from zero, then the warp's
    // sum joins the initial value.
    if (perWarp)
      compute.line("{} partial{{}};", cType);
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    unsigned open = 0;
    for (unsigned loop = 0; loop < op.getNumLoops(); ++loop) {
      if (iterators[loop] != utils::IteratorType::reduction)
        continue;
      auto [operand, dim] = *loopExtentSource(op, loop);
      FailureOr<std::string> extent = writer.sizeOf(operand, dim, loc);
      if (failed(extent))
        return failure();
      loops[loop] = fmt::format("r{}", loop);
      if (perWarp)
        compute.line("for (int64_t r{0} = lane; r{0} < {1}; r{0} += 32) {{",
                     loop, *extent);
      else
        compute.line("for (int64_t r{0} = 0; r{0} < {1}; ++r{0}) {{", loop,
                     *extent);
      compute.indentMore();
      ++open;
    }
    std::vector<std::string> inputNames;
    for (auto [index, input] : llvm::enumerate(op.getDpsInputOperands())) {
      std::vector<std::string> mapped;
      for (AffineExpr expr : op.getMatchingIndexingMap(input).getResults())
        mapped.push_back(indexExpression(expr, loops));
      FailureOr<std::string> value =
          writer.read(analyzeFusedRead(input->get(), policy), mapped);
      if (failed(value))
        return failure();
      Type element =
          cast<RankedTensorType>(input->get().getType()).getElementType();
      std::string local = fmt::format("a{}", index);
      compute.line("const {} {} = {};", computeType(element), local, *value);
      inputNames.push_back(local);
    }
    const std::string accumulator = perWarp ? "partial" : "accumulator";
    FailureOr<std::string> next =
        writer.translateBody(op, inputNames, compute, &accumulator, loops);
    if (failed(next))
      return failure();
    compute.line("{} = {};", accumulator, *next);
    for (; open > 0; --open) {
      compute.indentLess();
      compute.line("}}");
    }
    if (perWarp)
      compute.line("accumulator += ssm::device::warpSum(partial);");
    return std::string("accumulator");
  };
  return emitPerElement(
      fmt::format("{}_reduction{}", prefix, ordinal), result, loc,
      fmt::format("{} at {}: {}", op->getName().getStringRef().str(),
                  locationOf(loc),
                  perWarp ? "a warp an output element, its lanes splitting "
                            "the reduction loop"
                          : "a thread an output element, over the reduction "
                            "loops"),
      valueAt, plan, std::nullopt, perWarp);
}

LogicalResult FunctionEmitter::emitArgmax(linalg::LinalgOp op,
                                          unsigned ordinal,
                                          CudaFunctionPlan &plan) {
  std::string kernelName = fmt::format("{}_argmax{}", prefix, ordinal);
  KernelWriter writer(*this, kernelName);
  Value input = op.getDpsInputs()[0], index = op->getResult(1);
  Location loc = op.getLoc();
  const unsigned rank = op.getNumLoops();
  SourcePrinter members;
  members.indentMore();
  members.line("SSM_DEVICE float value(int64_t row, int64_t v) const {{");
  members.indentMore();
  std::vector<std::string> at;
  std::string rowsText = "1";
  if (rank > 1) {
    members.line("int64_t rest = row;");
    for (int d = static_cast<int>(rank) - 2; d >= 1; --d) {
      FailureOr<std::string> size = writer.sizeOf(input, d, loc);
      if (failed(size))
        return failure();
      members.line("const int64_t i{} = rest % {};", d, *size);
      members.line("rest /= {};", *size);
    }
    members.line("const int64_t i0 = rest;");
  }
  for (unsigned d = 0; d + 1 < rank; ++d) {
    FailureOr<std::string> size = writer.sizeOf(input, d, loc);
    if (failed(size))
      return failure();
    rowsText += " * " + *size;
    at.push_back(fmt::format("i{}", d));
  }
  at.push_back("v");
  FailureOr<std::string> value =
      writer.read(analyzeFusedRead(input, policy), at);
  FailureOr<std::string> length = writer.sizeOf(input, rank - 1, loc);
  if (failed(value) || failed(length))
    return failure();
  members.line("return {};", *value);
  members.indentLess();
  members.line("}}");
  std::optional<Storage> where = storageOf(index);
  if (!where || isSplit(index))
    return emitError(loc) << "internal error: an argmax's index has no "
                             "storage of its own";
  FailureOr<std::string> base = writer.pointer(
      *where, cast<RankedTensorType>(index.getType()).getElementType(), true,
      loc);
  if (failed(base))
    return failure();
  members.line("SSM_DEVICE void store(int64_t row, int64_t at) const {{ "
               "{}[row] = at; }}",
               *base);

  std::string comment = fmt::format(
      "{} at {}: a row argmax, a block a row", op->getName().getStringRef().str(),
      locationOf(loc));
  out.line("// {}", comment);
  out.line("struct {}_ops {{", kernelName);
  out.indentMore();
  writer.printMembers(out);
  out.line("SSM_DEVICE int64_t rows() const {{ return {}; }}", rowsText);
  out.line("SSM_DEVICE int64_t length() const {{ return {}; }}", *length);
  out.indentLess();
  out.append(members.str());
  out.append(writer.getHelpers().str());
  out.line("}};");
  SourcePrinter body;
  body.indentMore();
  body.line("{}_ops ops;", kernelName);
  writer.printAssignments(body, "ops");
  body.line("ssm::device::rowArgmax(ops);");
  finishKernel(writer, comment, body.str(), geometry::kArgmaxThreads);

  CudaLaunch launch;
  launch.kernel = kernelName;
  launch.block[0] = geometry::kArgmaxThreads;
  launch.sharedBytes = geometry::argmaxSharedBytes();
  CudaGridExtent &extent = launch.grid[0];
  extent.factor = 1;
  for (unsigned d = 0; d + 1 < rank; ++d) {
    std::optional<SizeProduct> product = sizes.productOf(input, d);
    if (!product)
      return emitError(loc) << "cannot tell dim " << d
                            << " of this argmax's rows from the inputs' sizes";
    extent.factor *= product->factor;
    extent.dims.insert(extent.dims.end(), product->dims.begin(),
                       product->dims.end());
  }
  // A grid-stride loop covers the rest.
  extent.limit = 1 << 20;
  launch.arguments = argumentsOf(writer);
  plan.launches.push_back(launch);
  return success();
}

LogicalResult FunctionEmitter::emitSlice(KernelRoot root, unsigned ordinal,
                                         CudaFunctionPlan &plan) {
  Operation *op = root.view;
  Value result = op->getResult(0);
  Location loc = op->getLoc();
  auto valueAt = [&](KernelWriter &writer, SourcePrinter &compute,
                     ArrayRef<std::string> indices) -> FailureOr<std::string> {
    auto offsetText = [&](OpFoldResult offset) -> FailureOr<std::string> {
      if (auto attr = dyn_cast<Attribute>(offset))
        return std::to_string(cast<IntegerAttr>(attr).getInt());
      return writer.indexValue(cast<Value>(offset), loc);
    };
    {
      auto slice = cast<tensor::ExtractSliceOp>(op);
      // Source index = offset + stride · result index; a dropped (unit)
      // dim stays at its offset.
      llvm::SmallBitVector dropped = slice.getDroppedDims();
      std::vector<std::string> at;
      unsigned d = 0;
      for (auto [i, offset] : llvm::enumerate(slice.getMixedOffsets())) {
        FailureOr<std::string> start = offsetText(offset);
        if (failed(start))
          return failure();
        if (dropped.test(i)) {
          at.push_back(*start);
          continue;
        }
        FailureOr<std::string> stride = offsetText(slice.getMixedStrides()[i]);
        if (failed(stride))
          return failure();
        at.push_back(
            fmt::format("({} + {} * {})", *start, *stride, indices[d]));
        ++d;
      }
      return writer.read(analyzeFusedRead(slice.getSource(), policy), at);
    }
  };
  return emitPerElement(fmt::format("{}_slice{}", prefix, ordinal), result, loc,
                        fmt::format("{} at {}",
                                    op->getName().getStringRef().str(),
                                    locationOf(loc)),
                        valueAt, plan);
}

LogicalResult FunctionEmitter::emit(CudaFunctionPlan &plan) {
  plan.name = func.getSymName().str();
  if (failed(classify()) || failed(assignStorage(plan)))
    return failure();
  out.line("//===-- function @{} "
           "--------------------------------------------------===//",
           plan.name);
  out.blank();
  for (auto [value, index] : constants) {
    auto constant = value.getDefiningOp<arith::ConstantOp>();
    auto dense = cast<DenseElementsAttr>(constant.getValue());
    Type element = dense.getElementType();
    if (dense.getNumElements() > 4096)
      return constant.emitOpError()
             << "is a constant of " << dense.getNumElements()
             << " elements; the CUDA backend keeps constants in constant "
                "memory (at most 4096 elements each): pass it as an argument";
    std::string values;
    if (isa<FloatType>(element)) {
      for (const APFloat &element : dense.getValues<APFloat>())
        values += (values.empty() ? "" : ", ") +
                  floatLiteral(element.convertToDouble(), dense.getElementType());
    } else {
      for (const APInt &element : dense.getValues<APInt>())
        values += (values.empty() ? "" : ", ") +
                  std::to_string(element.getSExtValue());
    }
    out.line("__constant__ {} {}_constant{}[{}] = {{{}}};",
             computeType(element), prefix, index, dense.getNumElements(),
             values);
  }
  unsigned mixes = 0, elementwise = 0, reductions = 0, slices = 0;
  for (KernelRoot &root : roots) {
    size_t mark = out.size(), firstLaunch = plan.launches.size(),
           firstEntry = emulatorEntries.size();
    if (root.kind == KernelRoot::Kind::Mix) {
      if (failed(emitMix(root, mixes++, plan)))
        return failure();
    } else if (root.kind == KernelRoot::Kind::Reduction) {
      if (failed(emitReduction(root, reductions++, plan)))
        return failure();
    } else if (root.kind == KernelRoot::Kind::Slice) {
      if (failed(emitSlice(root, slices++, plan)))
        return failure();
    } else if (failed(emitElementwise(root, elementwise++, plan))) {
      return failure();
    }
    // The root's kernels, in the order written; a root like one before
    // launches that one's kernels instead.
    std::vector<std::pair<std::string, std::vector<std::string>>> kernels;
    for (size_t e = firstEntry; e < emulatorEntries.size(); ++e)
      kernels.push_back({emulatorEntries[e].first,
                         parameterNames[emulatorEntries[e].first]});
    std::string text = out.takeFrom(mark);
    std::optional<std::vector<std::string>> earlier =
        written.find(text, kernels);
    if (!earlier) {
      out.append(text);
      continue;
    }
    for (size_t l = firstLaunch; l < plan.launches.size(); ++l)
      for (size_t k = 0; k < kernels.size(); ++k)
        if (plan.launches[l].kernel == kernels[k].first)
          plan.launches[l].kernel = (*earlier)[k];
    emulatorEntries.resize(firstEntry);
  }
  return success();
}

/// Gives buffers of one shape and dtype whose uses do not overlap one
/// buffer: the launches run in order on one stream, so a buffer is free
/// after the last launch that names it. A model's layers are alike, so its
/// functions need one layer's buffers, not one per layer.
void shareBuffers(CudaFunctionPlan &plan) {
  const size_t count = plan.buffers.size();
  std::vector<int64_t> first(count, -1), last(count, -1);
  for (auto [index, launch] : llvm::enumerate(plan.launches))
    for (const CudaKernelArgument &argument : launch.arguments)
      if (argument.kind == CudaKernelArgument::Kind::Buffer) {
        int64_t at = static_cast<int64_t>(index);
        if (first[argument.index] < 0)
          first[argument.index] = at;
        last[argument.index] = at;
      }
  auto sameSpec = [](const CudaBuffer &a, const CudaBuffer &b) {
    return a.dtype == b.dtype && a.shape == b.shape && a.dimsFrom == b.dimsFrom;
  };
  // In order of first use, each buffer takes a slot of its spec that is
  // free by then, or a new one.
  std::vector<unsigned> order(count);
  for (unsigned b = 0; b < count; ++b)
    order[b] = b;
  std::stable_sort(order.begin(), order.end(),
                   [&](unsigned a, unsigned b) { return first[a] < first[b]; });
  std::vector<CudaBuffer> slots;
  std::vector<int64_t> slotFreeAfter;
  std::vector<unsigned> slotOf(count);
  for (unsigned b : order) {
    std::optional<unsigned> chosen;
    for (unsigned slot = 0; slot < slots.size() && first[b] >= 0; ++slot)
      if (sameSpec(slots[slot], plan.buffers[b]) &&
          slotFreeAfter[slot] < first[b]) {
        chosen = slot;
        break;
      }
    if (!chosen) {
      chosen = static_cast<unsigned>(slots.size());
      slots.push_back(plan.buffers[b]);
      slotFreeAfter.push_back(-1);
    }
    slotOf[b] = *chosen;
    slotFreeAfter[*chosen] = first[b] < 0 ? INT64_MAX : last[b];
  }
  for (CudaLaunch &launch : plan.launches)
    for (CudaKernelArgument &argument : launch.arguments)
      if (argument.kind == CudaKernelArgument::Kind::Buffer)
        argument.index = slotOf[argument.index];
  plan.buffers = std::move(slots);
}

} // namespace

LogicalResult mlir::ssm::translateToCUDA(ModuleOp module, raw_ostream &os,
                                         std::vector<CudaFunctionPlan> &plans,
                                         StringRef sourceName) {
  SourcePrinter out;
  out.line("// CUDA C++ generated by ssmc{}: every ssm.mix with its fused "
           "glue as",
           sourceName.empty() ? "" : " from " + sourceName.str());
  out.line("// instances of the templates in ssm/device/ (runtime/include).");
  out.line("#include \"ssm/device/chunked.cuh\"");
  out.line("#include \"ssm/device/elementwise.cuh\"");
  out.line("#include \"ssm/device/matmul.cuh\"");
  out.line("#include \"ssm/device/quadratic.cuh\"");
  out.line("#include \"ssm/device/recurrent.cuh\"");
  out.blank();
  std::vector<std::pair<std::string, std::vector<std::string>>> entries;
  KernelDeduplicator written;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (!func.isPublic() || func.isDeclaration())
      continue;
    CudaFunctionPlan plan;
    FunctionEmitter emitter(func, out, written);
    if (failed(emitter.emit(plan)))
      return failure();
    shareBuffers(plan);
    plans.push_back(std::move(plan));
    entries.insert(entries.end(), emitter.emulatorEntries.begin(),
                   emitter.emulatorEntries.end());
  }
  // The emulator (emulation.h) calls kernels by name with cuLaunchKernel's
  // argument array: one pointer to each argument's value.
  out.line("#if defined(SSM_DEVICE_EMULATION)");
  out.line("extern \"C\" int ssm_emu_launch(const char *kernel, const "
           "unsigned *grid, const unsigned *block, size_t sharedBytes, void "
           "**args) {{");
  out.indentMore();
  for (const auto &[name, types] : entries) {
    std::string arguments;
    for (auto [index, type] : llvm::enumerate(types))
      arguments += fmt::format("{}*static_cast<{} *>(args[{}])",
                               index ? ", " : "", type, index);
    out.line("if (std::strcmp(kernel, \"{}\") == 0) {{", name);
    out.line("  ssm_emu::launch({{grid[0], grid[1], grid[2]}}, {{block[0], "
             "block[1], block[2]}}, sharedBytes, [&] {{ {}({}); }});",
             name, arguments);
    out.line("  return 0;");
    out.line("}}");
  }
  out.line("return -1;");
  out.indentLess();
  out.line("}}");
  out.line("extern \"C\" int ssm_emu_has_kernel(const char *kernel) {{");
  out.indentMore();
  for (const auto &entry : entries)
    out.line("if (std::strcmp(kernel, \"{}\") == 0) return 1;", entry.first);
  out.line("return 0;");
  out.indentLess();
  out.line("}}");
  // How many arguments to record when the emulator captures a launch.
  out.line("extern \"C\" int ssm_emu_kernel_arity(const char *kernel) {{");
  out.indentMore();
  for (const auto &[name, types] : entries)
    out.line("if (std::strcmp(kernel, \"{}\") == 0) return {};", name,
             types.size());
  out.line("return -1;");
  out.indentLess();
  out.line("}}");
  out.line("#endif");
  os << out.str();
  return success();
}
