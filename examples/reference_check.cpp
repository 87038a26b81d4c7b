//===- reference_check.cpp - The float64 reference on test vectors --------===//
//
// Evaluates shared reference vectors (../shared/testdata/ops) with ssmc's
// float64 oracle and prints, per output, max |error| / max |reference|.
// Exit status: 0 when all are within the tolerance, 1 when one is not, 2 on
// an unreadable file.
//
//===----------------------------------------------------------------------===//

#include "ssm/Reference/TestVectors.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

static cl::list<std::string> vectorPaths(cl::Positional, cl::OneOrMore,
                                         cl::desc("<vector.safetensors>..."));
static cl::opt<double> tolerance("tolerance", cl::init(1e-4),
                                 cl::desc("max |error| / max |reference|"));

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(
      argc, argv, "ssm-reference-check: the float64 reference of ssm.mix "
                  "against shared test vectors\n");
  int status = 0;
  for (const std::string &path : vectorPaths) {
    Expected<ssm::reference::TestVectorResult> result =
        ssm::reference::checkTestVector(path);
    if (!result) {
      WithColor::error() << toString(result.takeError()) << "\n";
      status = 2;
      continue;
    }
    outs() << formatv("{0,-34} {1,-18}", sys::path::filename(path),
                      result->kind);
    for (const auto &output : result->outputs) {
      bool ok = output.relativeError() <= tolerance;
      outs() << formatv("  {0} {1:e2} {2}", output.name,
                        output.relativeError(), ok ? "ok" : "FAIL");
      if (!ok && status == 0)
        status = 1;
    }
    outs() << "\n";
  }
  return status;
}
