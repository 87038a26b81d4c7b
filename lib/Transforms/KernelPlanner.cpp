//===- KernelPlanner.cpp - The registry of backends' planners -------------===//

#include "ssm/Transforms/KernelPlanner.h"

#include "llvm/ADT/StringMap.h"

#include <mutex>

using namespace mlir;
using namespace mlir::ssm;

namespace {
struct Registry {
  std::mutex mutex;
  llvm::StringMap<KernelPlanner> planners;
};
} // namespace

static Registry &registry() {
  static Registry instance;
  return instance;
}

void ssm::registerKernelPlanner(llvm::StringRef backend,
                                KernelPlanner planner) {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.planners[backend] = std::move(planner);
}

KernelPlanner ssm::lookupKernelPlanner(llvm::StringRef backend) {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.planners.find(backend);
  return it == r.planners.end() ? KernelPlanner() : it->second;
}
