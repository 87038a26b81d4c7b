//===- SsmAttrs.cpp - Attributes of the ssm dialect -----------------------===//
//
// Parsing, printing and verification of the mask and algorithm attributes.
//
//===----------------------------------------------------------------------===//

#include "ssm/SsmDialect.h"
#include "ssm/device/geometry.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

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

// Syntax: `<kind` then, comma-separated in this order, `chunk_size = Q`,
// `kernel = K`, `vector_width = W`, `warp_row_tiles = T`,
// `blocks_per_sm = S`, `segments = G`, then `>`.
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
  int64_t chunkSize = 0, vectorWidth = 0, warpRowTiles = 0, blocksPerSM = 0,
          segments = 0;
  std::optional<KernelKind> kernel;
  while (succeeded(parser.parseOptionalComma())) {
    StringRef key;
    SMLoc keyLoc = parser.getCurrentLocation();
    if (parser.parseKeyword(&key) || parser.parseEqual())
      return {};
    if (key == "kernel") {
      StringRef name;
      SMLoc nameLoc = parser.getCurrentLocation();
      if (parser.parseKeyword(&name))
        return {};
      kernel = symbolizeKernelKind(name);
      if (!kernel) {
        parser.emitError(nameLoc)
            << "unknown kernel '" << name
            << "', expected loops, row_per_thread, row_sliced, chunked_simt, "
               "chunked_mma, quadratic_simt, quadratic_mma or quadratic_wgmma";
        return {};
      }
      continue;
    }
    int64_t *value = key == "chunk_size"       ? &chunkSize
                     : key == "vector_width"   ? &vectorWidth
                     : key == "warp_row_tiles" ? &warpRowTiles
                     : key == "blocks_per_sm"  ? &blocksPerSM
                     : key == "segments"       ? &segments
                                               : nullptr;
    if (!value) {
      parser.emitError(keyLoc)
          << "unknown algorithm parameter '" << key
          << "', expected chunk_size, kernel, vector_width, warp_row_tiles, "
             "blocks_per_sm or segments";
      return {};
    }
    if (parser.parseInteger(*value))
      return {};
  }
  if (parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(loc); }, parser.getContext(),
                    *kind, chunkSize, kernel, vectorWidth, warpRowTiles,
                    blocksPerSM, segments);
}

void AlgorithmAttr::print(AsmPrinter &printer) const {
  printer << '<' << stringifyAlgorithmKind(getKind());
  if (getKind() == AlgorithmKind::Chunked)
    printer << ", chunk_size = " << getChunkSize();
  if (std::optional<KernelKind> kernel = getKernel())
    printer << ", kernel = " << stringifyKernelKind(*kernel);
  if (getVectorWidth())
    printer << ", vector_width = " << getVectorWidth();
  if (getWarpRowTiles())
    printer << ", warp_row_tiles = " << getWarpRowTiles();
  if (getBlocksPerSM())
    printer << ", blocks_per_sm = " << getBlocksPerSM();
  if (getSegments())
    printer << ", segments = " << getSegments();
  printer << '>';
}

AlgorithmAttr AlgorithmAttr::withKernel(KernelKind kernel, int64_t vectorWidth,
                                        int64_t warpRowTiles,
                                        int64_t blocksPerSM,
                                        int64_t segments) const {
  return get(getContext(), getKind(), getChunkSize(), kernel, vectorWidth,
             warpRowTiles, blocksPerSM, segments);
}

/// The algorithm a kernel runs; loops run any.
static std::optional<AlgorithmKind> algorithmOfKernel(KernelKind kernel) {
  switch (kernel) {
  case KernelKind::Loops:
    return std::nullopt;
  case KernelKind::RowPerThread:
  case KernelKind::RowSliced:
    return AlgorithmKind::Recurrent;
  case KernelKind::ChunkedSimt:
  case KernelKind::ChunkedMma:
    return AlgorithmKind::Chunked;
  case KernelKind::QuadraticSimt:
  case KernelKind::QuadraticMma:
  case KernelKind::QuadraticWgmma:
    return AlgorithmKind::Quadratic;
  }
  return std::nullopt;
}

LogicalResult
AlgorithmAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      AlgorithmKind kind, int64_t chunkSize,
                      std::optional<KernelKind> kernel, int64_t vectorWidth,
                      int64_t warpRowTiles, int64_t blocksPerSM,
                      int64_t segments) {
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
  if (kernel) {
    std::optional<AlgorithmKind> runs = algorithmOfKernel(*kernel);
    if (runs && *runs != kind)
      return emitError() << "kernel '" << stringifyKernelKind(*kernel)
                         << "' runs algorithm '" << stringifyAlgorithmKind(*runs)
                         << "', not '" << stringifyAlgorithmKind(kind) << "'";
  }
  bool loops = kernel == KernelKind::Loops;
  if (loops != (vectorWidth != 0) ||
      (loops && (vectorWidth > kMaxVectorWidth ||
                 !llvm::isPowerOf2_64(vectorWidth))))
    return emitError() << "vector_width goes with kernel 'loops' only, as a "
                          "power of two in [1, "
                       << kMaxVectorWidth << "], got " << vectorWidth;
  bool quadraticMma = kernel == KernelKind::QuadraticMma;
  if (quadraticMma != (warpRowTiles != 0) ||
      (quadraticMma && warpRowTiles != 1 && warpRowTiles != 2))
    return emitError() << "warp_row_tiles goes with kernel 'quadratic_mma' "
                          "only, as 1 or 2, got "
                       << warpRowTiles;
  bool chunkedMma = kernel == KernelKind::ChunkedMma;
  if (chunkedMma != (blocksPerSM != 0) ||
      (chunkedMma &&
       !::ssm::device::geometry::chunkedMmaTakesBlocksPerSM(blocksPerSM)))
    return emitError() << "blocks_per_sm goes with kernel 'chunked_mma' only, "
                          "as 2 or 3, got "
                       << blocksPerSM;
  if (segments != 0 &&
      (!chunkedMma ||
       !::ssm::device::geometry::chunkedMmaTakesSegments(segments) ||
       blocksPerSM != 2))
    return emitError() << "segments goes with kernel 'chunked_mma' and "
                          "blocks_per_sm = 2 only, as a power of two in [2, "
                       << ::ssm::device::geometry::kChunkedMmaMaxSegments
                       << "], got " << segments;
  return success();
}
