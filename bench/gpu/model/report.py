"""The whole-model table: ssm-model-bench's lines beside transformers'.

    python3 report.py MODEL-SSMC.jsonl MODEL-TRANSFORMERS.json
"""
import json
import sys

ssmc = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
peer = json.load(open(sys.argv[2]))
print("transformers fast path (mamba_ssm kernels in prefill): %s; kernels: %s\n" % (peer["fast_path"], peer.get("kernels")))
print("| batch × prompt | what | ssmc tokens/s | transformers tokens/s | ratio |")
print("|---|---|---:|---:|---:|")
for ours in ssmc:
    theirs = next((p for p in peer["points"]
                   if (p["batch"], p["prompt"], p["new"]) ==
                   (ours["batch"], ours["prompt"], ours["new"])), None)
    if theirs is None:
        continue
    for what in ("prefill", "decode"):
        key = what + "_tokens_per_s"
        print("| %d × %d | %s | %.0f | %.0f | %.2f× |" % (
            ours["batch"], ours["prompt"], what, ours[key], theirs[key],
            ours[key] / theirs[key]))
