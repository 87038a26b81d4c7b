//===- SsmOps.h - Operations of the ssm dialect -----------------*- C++ -*-===//
//
// Declares `ssm.mix`.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_SSMOPS_H
#define SSM_SSMOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "ssm/SsmDialect.h"

#define GET_OP_CLASSES
#include "ssm/SsmOps.h.inc"

#endif // SSM_SSMOPS_H
