// ssm-run check where the compiler is not built (the runtime-only build of a
// GPU host): compile on a machine with ssmc and use `run --compare`.
#include "RunSupport.h"

namespace ssm::run {

int commandCheck(const std::vector<std::string> &) {
  fail(kExitBadInput,
       "check compiles through the compiler's libraries, which this ssm-run "
       "was built without; compile with ssmc where it is installed and use "
       "'ssm-run run ARTIFACT --inputs=VECTOR --compare=VECTOR'");
}

} // namespace ssm::run
