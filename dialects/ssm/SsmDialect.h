//===- SsmDialect.h - The ssm dialect and its attributes --------*- C++ -*-===//
//
// Declares the ssm dialect, its enums and attributes.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_SSMDIALECT_H
#define SSM_SSMDIALECT_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"

#include "ssm/SsmDialect.h.inc"
#include "ssm/SsmEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "ssm/SsmAttrs.h.inc"

#endif // SSM_SSMDIALECT_H
