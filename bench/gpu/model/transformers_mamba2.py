"""On the GPU machine: the whole-model peer for ssm-model-bench.

    python3 transformers_mamba2.py CONFIG_DIR CHECKPOINT_DIR OUT.json POINT...

Builds transformers' Mamba2ForCausalLM from CONFIG_DIR/config.json with random
weights on the GPU, in bfloat16, saves it to CHECKPOINT_DIR (the checkpoint the
ssmc artifact then loads: the same weights on both sides), and times it at each
POINT "BATCHxPROMPTxNEW" as ssm-model-bench does: prefill (one forward pass
over the prompt, last position's logits) and greedy decode (per step, from
generate of NEW tokens minus generate of one). Medians of 5 after a warm-up.

transformers takes its fast path (mamba_ssm's Triton kernels: the chunked SSD
scan, the state update) only when its kernel loader finds mamba_ssm and
causal_conv1d; neither is installed on this machine, so mamba_ssm is the
snapshot on PYTHONPATH, handed to the loader (and set where the loader left
the modeling module's names unset), and causal_conv1d's two entry points are
plain torch (a grouped conv1d, a rolled state) where transformers has no
fallback of its own. The JSON says which kernels ran (calls counted).
"""
import json
import statistics
import sys
import time
import types

import torch
import torch.nn.functional as F


def conv1d_module():
    def causal_conv1d_fn(x, weight, bias=None, activation=None, **unused):
        width = weight.shape[-1]
        y = F.conv1d(x, weight.unsqueeze(1), bias, padding=width - 1,
                     groups=x.shape[1])[..., : x.shape[-1]]
        return F.silu(y) if activation in ("silu", "swish") else y

    def causal_conv1d_update(x, conv_state, weight, bias=None, activation=None,
                             **unused):
        # x [B, D] or [B, D, 1]; conv_state [B, D, W], shifted in place.
        single = x.dim() == 2
        column = x.unsqueeze(-1) if single else x
        conv_state.copy_(torch.cat([conv_state[..., 1:],
                                    column.to(conv_state.dtype)], dim=-1))
        y = (conv_state * weight.unsqueeze(0)).sum(-1)
        if bias is not None:
            y = y + bias
        if activation in ("silu", "swish"):
            y = F.silu(y)
        y = y.to(x.dtype)
        return y if single else y.unsqueeze(-1)

    module = types.ModuleType("causal_conv1d")
    module.causal_conv1d_fn = causal_conv1d_fn
    module.causal_conv1d_update = causal_conv1d_update
    return module


def use_mamba_ssm_kernels():
    import mamba_ssm
    import mamba_ssm.ops.triton.selective_state_update  # noqa: F401
    import mamba_ssm.ops.triton.ssd_combined  # noqa: F401
    from transformers.integrations import hub_kernels
    mapping = hub_kernels._KERNEL_MODULE_MAPPING
    mapping["mamba-ssm"] = mamba_ssm
    mapping["causal-conv1d"] = conv1d_module()


def median_seconds(fn, repeat=5):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    config_dir, checkpoint_dir, out_path = sys.argv[1:4]
    points = [tuple(int(v) for v in p.split("x")) for p in sys.argv[4:]]
    use_mamba_ssm_kernels()
    from transformers import Mamba2Config, Mamba2ForCausalLM
    from transformers.models.mamba2 import modeling_mamba2

    config = Mamba2Config.from_pretrained(config_dir)
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = Mamba2ForCausalLM(config).to(torch.bfloat16).eval()
    # Where transformers' own resolution of mamba-ssm left them unset, the
    # snapshot's kernels, as its cuda_kernels_forward calls them.
    import mamba_ssm.ops.triton.selective_state_update as state_update
    import mamba_ssm.ops.triton.ssd_combined as ssd_combined
    for name, function in (
            ("selective_state_update", state_update.selective_state_update),
            ("mamba_chunk_scan_combined",
             ssd_combined.mamba_chunk_scan_combined),
            ("mamba_split_conv1d_scan_combined",
             ssd_combined.mamba_split_conv1d_scan_combined)):
        if getattr(modeling_mamba2, name, None) is None:
            setattr(modeling_mamba2, name, function)
    if hasattr(modeling_mamba2, "is_fast_path_available"):
        modeling_mamba2.is_fast_path_available = True

    # transformers 5.17's mixer calls its own entry points, which use the
    # kernels only when its loader found them: they are given mamba_ssm's.
    def chunk_scan(x, dt, A, B, C, chunk_size, D=None, z=None,
                   return_final_states=False, dt_bias=None, dt_softplus=False,
                   initial_states=None, dt_limit=(0.0, float("inf")), **unused):
        return ssd_combined.mamba_chunk_scan_combined(
            x, dt, A, B, C, chunk_size, D=D, z=z, dt_bias=dt_bias,
            initial_states=initial_states, dt_softplus=dt_softplus,
            dt_limit=dt_limit, return_final_states=return_final_states)

    def step(state, x, dt, A, B, C, D=None, z=None, dt_bias=None,
             dt_softplus=False, **unused):
        return state_update.selective_state_update(
            state, x, dt, A, B, C, D=D, z=z, dt_bias=dt_bias,
            dt_softplus=dt_softplus)

    if hasattr(modeling_mamba2, "mamba2_chunk_scan"):
        modeling_mamba2.mamba2_chunk_scan = chunk_scan
    if hasattr(modeling_mamba2, "mamba2_selective_state_update"):
        modeling_mamba2.mamba2_selective_state_update = step
    # Which kernels the mixers call: transformers resolves them into its
    # module's globals when the mixers are built; counting the SSD scan's
    # calls shows the fast path ran.
    kernels = {}
    for name in ("mamba_chunk_scan_combined", "selective_state_update",
                 "mamba2_chunk_scan", "mamba2_selective_state_update",
                 "causal_conv1d_fn", "causal_conv1d_update"):
        function = getattr(modeling_mamba2, name, None)
        kernels[name] = getattr(function, "__module__", repr(function))
    calls = {"scan": 0, "update": 0}
    for name, key in (("mamba_chunk_scan_combined", "scan"),
                      ("selective_state_update", "update"),
                      ("mamba2_chunk_scan", "scan"),
                      ("mamba2_selective_state_update", "update")):
        function = getattr(modeling_mamba2, name, None)
        if callable(function):
            def counted(*args, _function=function, _key=key, **kwargs):
                calls[_key] += 1
                return _function(*args, **kwargs)
            setattr(modeling_mamba2, name, counted)
    print(json.dumps({"kernels": kernels}), flush=True)
    model.save_pretrained(checkpoint_dir)
    vocab = config.vocab_size
    results = {"kernels": kernels, "points": []}
    generator = torch.Generator(device="cuda").manual_seed(1)
    with torch.no_grad():
        for batch, prompt, new in points:
            ids = torch.randint(0, vocab, (batch, prompt), device="cuda",
                                generator=generator)

            def prefill():
                try:
                    model(ids, use_cache=False, logits_to_keep=1)
                except TypeError:
                    model(ids, use_cache=False)

            def generate(count):
                return lambda: model.generate(
                    ids, max_new_tokens=count, min_new_tokens=count,
                    do_sample=False, pad_token_id=0)

            before = dict(calls)
            prefill()
            results.setdefault("mamba_ssm_calls_in_prefill", {})[
                "%dx%d" % (batch, prompt)] = {
                    k: calls[k] - before[k] for k in calls}
            prefill_s = median_seconds(prefill)
            decode_s = (median_seconds(generate(new)) -
                        median_seconds(generate(1))) / (new - 1)
            point = {"batch": batch, "prompt": prompt, "new": new,
                     "prefill_ms": 1e3 * prefill_s,
                     "prefill_tokens_per_s": batch * prompt / prefill_s,
                     "decode_ms_per_step": 1e3 * decode_s,
                     "decode_tokens_per_s": batch / decode_s}
            print(json.dumps(point), flush=True)
            results["points"].append(point)
    results["fast_path"] = all(
        v["scan"] > 0 for v in results["mamba_ssm_calls_in_prefill"].values())
    json.dump(results, open(out_path, "w"), indent=1)


main()
