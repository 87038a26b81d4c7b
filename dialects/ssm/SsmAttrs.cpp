//===- SsmAttrs.cpp - Attributes of the ssm dialect -----------------------===//
//
// Parsing, printing and verification of the mask and algorithm attributes.
//
//===----------------------------------------------------------------------===//

#include "ssm/SsmDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::ssm;

#include "ssm/SsmEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "ssm/SsmAttrs.cpp.inc"

void SsmDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "ssm/SsmAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// MaskAttr
//===----------------------------------------------------------------------===//

// Syntax: `<causal>`, `<full>` or `<window = W>`.
Attribute MaskAttr::parse(AsmParser &parser, Type) {
  StringRef keyword;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess() || parser.parseKeyword(&keyword))
    return {};
  std::optional<MaskKind> kind = symbolizeMaskKind(keyword);
  if (!kind) {
    parser.emitError(loc) << "unknown mask '" << keyword
                          << "', expected 'causal', 'full' or 'window'";
    return {};
  }
  int64_t window = 0;
  if (*kind == MaskKind::Window &&
      (parser.parseEqual() || parser.parseInteger(window)))
    return {};
  if (parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(loc); },
                    parser.getContext(), *kind, window);
}

void MaskAttr::print(AsmPrinter &printer) const {
  printer << '<' << stringifyMaskKind(getKind());
  if (getKind() == MaskKind::Window)
    printer << " = " << getWindow();
  printer << '>';
}

LogicalResult MaskAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               MaskKind kind, int64_t window) {
  if (kind == MaskKind::Window && window <= 0)
    return emitError() << "mask 'window' expects a positive width, got "
                       << window;
  if (kind != MaskKind::Window && window != 0)
    return emitError() << "mask '" << stringifyMaskKind(kind)
                       << "' takes no window width";
  return success();
}

bool MaskAttr::keeps(int64_t i, int64_t j) const {
  switch (getKind()) {
  case MaskKind::Full:
    return true;
  case MaskKind::Causal:
    return j <= i;
  case MaskKind::Window:
    return j <= i && i - j < getWindow();
  }
  llvm_unreachable("unknown mask kind");
}

//===----------------------------------------------------------------------===//
// AlgorithmAttr
//===----------------------------------------------------------------------===//

// Syntax: `<quadratic>`, `<recurrent>` or `<chunked, chunk_size = Q>`.
Attribute AlgorithmAttr::parse(AsmParser &parser, Type) {
  StringRef keyword;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess() || parser.parseKeyword(&keyword))
    return {};
  std::optional<AlgorithmKind> kind = symbolizeAlgorithmKind(keyword);
  if (!kind) {
    parser.emitError(loc)
        << "unknown algorithm '" << keyword
        << "', expected 'quadratic', 'recurrent' or 'chunked'";
    return {};
  }
  int64_t chunkSize = 0;
  if (succeeded(parser.parseOptionalComma()) &&
      (parser.parseKeyword("chunk_size") || parser.parseEqual() ||
       parser.parseInteger(chunkSize)))
    return {};
  if (parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(loc); },
                    parser.getContext(), *kind, chunkSize);
}

void AlgorithmAttr::print(AsmPrinter &printer) const {
  printer << '<' << stringifyAlgorithmKind(getKind());
  if (getKind() == AlgorithmKind::Chunked)
    printer << ", chunk_size = " << getChunkSize();
  printer << '>';
}

LogicalResult
AlgorithmAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      AlgorithmKind kind, int64_t chunkSize) {
  if (kind == AlgorithmKind::Chunked && chunkSize <= 0)
    return emitError() << "algorithm 'chunked' expects a positive chunk_size, "
                          "got "
                       << chunkSize;
  if (kind == AlgorithmKind::Chunked && chunkSize > kMaxChunkSize)
    return emitError() << "algorithm 'chunked' takes chunk_size at most "
                       << kMaxChunkSize << ", got " << chunkSize;
  if (kind != AlgorithmKind::Chunked && chunkSize != 0)
    return emitError() << "algorithm '" << stringifyAlgorithmKind(kind)
                       << "' takes no chunk_size";
  return success();
}
