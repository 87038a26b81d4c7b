#!/usr/bin/env python3
"""Turns one device call's results into the GPU bench report (markdown).

    python3 bench/gpu/report.py SSMC_JSONL PEERS_JSON > bench/gpu/report.md

SSMC_JSONL is what ssm-gpu-bench printed (bench/gpu/run.sh keeps it as
$OUT/ssmc.jsonl); PEERS_JSON is what ../shared/anchors/peers_gpu.py wrote in
the same call. Every ratio is peer time / ssmc time, so > 1 means ssmc is
faster: GPU time (ssmc's CUDA graph against the peer's `graph`) and whole
calls (ssmc through the runtime against the peer's eager Python call).
"""
import json
import re
import sys

# Lower bounds on the H200 from ../shared/anchors/README.md (ms), for the
# shapes where it states one; the decode step's comes from the copy rate
# measured in the same call, attention's from the dense bf16 peak.
STATED_BOUND_MS = {
    "ssd_b1_l2048": 0.015, "ssd_b1_l8192": 0.05, "ssd_b8_l2048": 0.1,
    "ssd_b8_l4096": 0.2, "ssd_b4_l16384": 0.4,
    "mamba1_b8_l2048": 0.35,
    "gla_b8_l2048_h16_k128_v128": 0.065, "gla_b4_l16384_h16_k128_v128": 0.25,
}
DENSE_BF16_TFLOPS = 990.0
DECODE_STATE = (80, 64, 128)  # heads, head dim, state size; fp32
ATTENTION_TOKENS = 16384      # per batch, hidden 2048


def find(entries, **key):
    if not isinstance(entries, list):
        return None
    for entry in entries:
        if all(entry.get(k) == v for k, v in key.items()):
            return entry
    return None


def peer_of(shape, peers):
    """(peer name, graph ms, eager ms, extra column) for a bench shape."""
    m = re.fullmatch(r"ssd_b(\d+)_l(\d+)", shape)
    if m:
        e = find(peers.get("ssd_mamba_ssm_triton"), B=int(m[1]), L=int(m[2]))
        return "mamba_chunk_scan_combined", e and e["graph_ms"], e and e["eager_ms"], None
    m = re.fullmatch(r"decode_b(\d+)", shape)
    if m:
        e = find(peers.get("decode_mamba_ssm_triton"), B=int(m[1]))
        return "selective_state_update", e and e["graph_ms"], e and e["eager_ms"], None
    m = re.fullmatch(r"mamba1_b(\d+)_l(\d+)", shape)
    if m:
        e = find(peers.get("mamba1_selective_scan_cuda"), B=int(m[1]), L=int(m[2]))
        return "selective_scan_cuda", e and e["graph_ms"], e and e["eager_ms"], None
    m = re.fullmatch(r"gla_b(\d+)_l(\d+)_h(\d+)_k(\d+)_v(\d+)", shape)
    if m:
        e = find(peers.get("decayed_linear_fla_chunk_simple_gla"), B=int(m[1]),
                 L=int(m[2]), H=int(m[3]), K=int(m[4]), V=int(m[5]))
        return "chunk_simple_gla", e and e["graph_ms"], e and e["eager_ms"], None
    m = re.fullmatch(r"attention_hd(\d+)_l(\d+)", shape)
    if m:
        e = find(peers.get("attention_sdpa"), hd=int(m[1]), L=int(m[2]))
        return "SDPA flash", e and e["flash_ms"], None, e and e["cudnn_ms"]
    return None, None, None, None


def bound_ms(shape, peers):
    if shape in STATED_BOUND_MS:
        return STATED_BOUND_MS[shape]
    m = re.fullmatch(r"decode_b(\d+)", shape)
    if m and peers.get("copy_TBps"):
        h, p, n = DECODE_STATE
        state_bytes = int(m[1]) * h * p * n * 4
        return 2 * state_bytes / (peers["copy_TBps"] * 1e12) * 1e3
    m = re.fullmatch(r"attention_hd(\d+)_l(\d+)", shape)
    if m:
        return attention_flops(int(m[1]), int(m[2])) / (DENSE_BF16_TFLOPS * 1e12) * 1e3
    return None


def attention_flops(head_dim, length):
    heads = 2048 // head_dim
    batch = ATTENTION_TOKENS // length
    return 4 * batch * heads * length * length * head_dim / 2  # causal half


def fmt(value, digits=3):
    return "–" if value is None else f"{value:.{digits}f}"


def ratio(peer, ours):
    return "–" if peer is None or not ours else f"{peer / ours:.2f}×"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
    peers = json.load(open(sys.argv[2]))
    print(f"GPU: {peers.get('gpu', '?')}; device copy {fmt(peers.get('copy_TBps'), 2)} TB/s, "
          f"bf16 GEMM {fmt(peers.get('bf16_gemm_TFLOPs'), 0)} TFLOP/s (same call).\n")
    print("| shape | ssmc kernel | ssmc GPU ms | ssmc whole ms | peer | peer graph ms "
          "| GPU ratio | peer eager ms | whole ratio | cuDNN ms | cuDNN ratio "
          "| bound ms | share of bound |")
    print("|" + "---|" * 13)
    for row in rows:
        name = row["name"]
        shape = name.split("-")[0]
        peer, graph, eager, cudnn = peer_of(shape, peers)
        bound = bound_ms(shape, peers)
        ours = row.get("gpu_ms")
        share = f"{100 * bound / ours:.0f} %" if bound and ours else "–"
        kernel = row.get("algorithm", "?") + ("" if name == shape else " (forced)")
        print(f"| {shape} | {kernel} | {fmt(ours)} | {fmt(row.get('whole_ms'))} | {peer or '–'} "
              f"| {fmt(graph)} | {ratio(graph, ours)} | {fmt(eager)} "
              f"| {ratio(eager, row.get('whole_ms'))} | {fmt(cudnn)} | {ratio(cudnn, ours)} "
              f"| {fmt(bound)} | {share} |")


if __name__ == "__main__":
    main()
