# lit configuration of the ssm tests: tools from the build, FileCheck from LLVM.
import os
import sys

import lit.formats
from lit.llvm import llvm_config

config.name = "SSM"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.ssm_obj_root, "test")
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "unit", "Inputs",
                   "expect_exit.py"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%ssm_src_root", config.ssm_src_root))
config.substitutions.append(("%testdata", os.path.join(config.ssm_shared_dir, "testdata")))

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# `%expect-exit N cmd...` runs cmd and succeeds iff it exits with N (lit's
# internal shell has no `$?`).
config.substitutions.append(
    ("%expect-exit", "%s %s" % (sys.executable, os.path.join(config.test_source_root, "expect_exit.py"))))
config.substitutions.append(
    ("%edit-checkpoint", "%s %s" % (sys.executable, os.path.join(config.test_source_root, "models", "edit_checkpoint.py"))))

config.substitutions.append(
    ("%make-inputs", "%s %s" % (sys.executable, os.path.join(config.test_source_root, "make_inputs.py"))))

tool_dirs = [config.ssm_tools_dir, config.llvm_tools_dir]
tools = ["ssm-opt", "ssmc", "ssm-run", "ssm-example-run", "ssm-example-generate", "ssm-example-weights",
         "ssm-calibrate"]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# Tests that compile through the real compiler need it built.
if os.path.exists(os.path.join(config.ssm_tools_dir, "ssmc")):
    config.available_features.add("ssmc")
