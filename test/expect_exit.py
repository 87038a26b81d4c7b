"""Runs a command and succeeds iff it exits with the expected status.

Usage: expect_exit.py STATUS COMMAND [ARGS...]; the command's output passes
through, so a pipe into FileCheck still sees it.
"""
import subprocess
import sys

expected = int(sys.argv[1])
status = subprocess.call(sys.argv[2:])
if status != expected:
    sys.stderr.write("expected exit status %d, got %d: %s\n"
                     % (expected, status, " ".join(sys.argv[2:])))
    sys.exit(1)
