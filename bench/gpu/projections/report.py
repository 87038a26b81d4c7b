"""The projections' table: ssmc (ssm-gpu-bench's JSON lines) next to
PyTorch's cuBLAS (torch_linear.py's JSON), GPU time, TFLOP/s, ratio.
    report.py SHAPES SSMC.jsonl TORCH.json"""
import json
import sys


def main(shapes, ssmc_path, torch_path):
    ssmc = {}
    for line in open(ssmc_path):
        record = json.loads(line)
        ssmc[record["name"]] = record
    torch = json.load(open(torch_path))
    print("| shape | rows × K → N | ssmc GPU ms | TFLOP/s | cuBLAS ms | TFLOP/s | ratio |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for line in open(shapes):
        name, m, k, n = line.split()
        flops = 2.0 * int(m) * int(k) * int(n)
        ours, theirs = ssmc[name]["gpu_ms"], torch[name]
        print("| %s | %s × %s → %s | %.4f | %.0f | %.4f | %.0f | %.2f× |" % (
            name, m, k, n, ours, flops / ours / 1e9, theirs,
            flops / theirs / 1e9, theirs / ours))


if __name__ == "__main__":
    main(*sys.argv[1:])
