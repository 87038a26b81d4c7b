//===- SsmDialect.cpp - The ssm dialect -----------------------------------===//
//
// Registers the ssm dialect's ops and attributes.
//
//===----------------------------------------------------------------------===//

#include "ssm/SsmDialect.h"
#include "ssm/SsmOps.h"

using namespace mlir;
using namespace mlir::ssm;

#include "ssm/SsmDialect.cpp.inc"

void SsmDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "ssm/SsmOps.cpp.inc"
      >();
  registerAttributes();
}
