#!/bin/sh
# Compiles a shared checkpoint and runs a session test program on it
# (ssm-session-threads, ssm-session-cache: PROGRAM ARTIFACT CHECKPOINT).
#   session-test.sh SSMC PROGRAM CHECKPOINT_DIR WORK_DIR
set -e
ssmc=$1 program=$2 checkpoint=$3 work=$4
rm -rf "$work"
"$ssmc" "$checkpoint" -o "$work"
"$program" "$work" "$checkpoint"
