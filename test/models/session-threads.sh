#!/bin/sh
# Compiles a shared checkpoint (a hybrid: Mamba-2 states and attention
# caches) and runs ssm-session-threads on it.
#   session-threads.sh SSMC SSM_SESSION_THREADS CHECKPOINT_DIR WORK_DIR
set -e
ssmc=$1 threads=$2 checkpoint=$3 work=$4
rm -rf "$work"
"$ssmc" "$checkpoint" -o "$work"
"$threads" "$work" "$checkpoint"
