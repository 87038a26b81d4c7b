#!/usr/bin/env bash
# On the GPU machine, after run.sh (its build and checkpoint): where a model
# call's GPU time goes. Nsight Compute's kernel durations for KERNEL_REGEX's
# launches after the first SKIP of one ssm-model-bench run (kernels alike are
# shared by the functions, so a decode step is told by the launches before
# it: a prefill's, ~20 a layer), summed by kernel, largest first.
#   bash bench/gpu/model/profile.sh KERNEL_REGEX COUNT BATCH PROMPT NEW [SKIP]
set -uo pipefail
regex=$1 count=$2 batch=$3 prompt=$4 new=$5 skip=${6:-0}
out=${OUT:-/tmp}
csv=$out/ncu-$batch-$prompt-$skip.csv
ncu --kernel-name "regex:$regex" --launch-skip "$skip" --launch-count "$count" \
  --metrics gpu__time_duration.sum --csv \
  build-device/bin/ssm-model-bench .device/model-bench/mamba2-2.7b \
  /tmp/mamba2-2.7b-random --batch="$batch" --prompt="$prompt" --new="$new" \
  --repeat=1 >"$csv" 2>"$out/ncu.log" || { tail -5 "$out/ncu.log"; exit 2; }
python3 - "$csv" <<'PY'
import csv, collections, sys
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
if not rows:
    sys.exit("no kernels profiled")
header = rows[0]
name, value = header.index("Kernel Name"), header.index("Metric Value")
total = collections.Counter()
count = collections.Counter()
for r in rows[1:]:
    try:
        total[r[name]] += float(r[value].replace(",", ""))
        count[r[name]] += 1
    except ValueError:
        pass
grand = sum(total.values())
print("%d launches, %.3f ms" % (sum(count.values()), grand / 1e6))
for kernel, ns in total.most_common(14):
    print("%6.1f%% %9.1f us %4d x  %s" % (100 * ns / grand, ns / 1e3,
                                          count[kernel], kernel))
PY
