#!/usr/bin/env python3
"""Whole-model benchmark: ssmc against transformers (PyTorch CPU), fp32, batch 1.

For three ~130M-parameter configs (Mamba-1, Mamba-2, a nemotron_h hybrid) with
random weights it
  1. makes the checkpoints with transformers itself (config -> random init with a
     fixed seed -> save_pretrained(safe_serialization=True)) into
     bench/models/checkpoints/ (git-ignored), f32, with an expected.safetensors
     (input_ids/logits of one short forward, generate_input_ids/generated_ids of a
     short greedy generate) for a correctness check;
  2. compiles each with build/bin/ssmc and checks it with `ssm-run check-model`;
  3. measures this machine's memory bandwidth (numpy copy, torch 2-thread read);
  4. times ssmc (`ssm-run generate`: prefill of a 2048-token prompt, then 128
     decode steps) and transformers (one forward of the 2048 tokens; greedy
     generate of 129 new tokens with the cache, the 128 decode steps timed by a
     logits processor that stamps each step, so generate's own prefill is
     reported apart) on the same prompt, and compares the greedy ids;
  5. writes bench/models/report.md.

Install the Python side once (PyPI):
    python3 -m venv bench/models/.venv
    bench/models/.venv/bin/pip install -r bench/models/requirements.txt
Build ssmc and ssm-run (README.md, "Building by hand"), then from the project root:
    bench/models/.venv/bin/python bench/models/run.py
Options: --repeats N (ssmc runs per model, median; default 5), --hf-repeats N
and --hf-budget S (transformers runs per model, default up to 3 while they
have taken under 150 s: its reference Mamba-2 path takes minutes a run),
--models a,b (a subset), --no-hf (ssmc only; the report then has no ratios),
--prompt-length L, --decode-tokens N, --report PATH, --no-perf; --from-results
JSON only writes the report again from an earlier run's results.json.
"""

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CHECKPOINTS = HERE / "checkpoints"
ARTIFACTS = HERE / "checkpoints" / "artifacts"
BUILD_SSMC = ROOT / "build" / "bin" / "ssmc"
BUILD_SSM_RUN = ROOT / "build" / "bin" / "ssm-run"
# A run uses copies made at its start (others may relink build/bin meanwhile).
SSMC = ARTIFACTS / "bin" / "ssmc"
SSM_RUN = ARTIFACTS / "bin" / "ssm-run"
SEED = 0
THREADS = os.cpu_count() or 1

INSTALL_HINT = (
    "bench/models/run.py needs torch, transformers, numpy and safetensors:\n"
    "    python3 -m venv bench/models/.venv\n"
    "    bench/models/.venv/bin/pip install -r bench/models/requirements.txt\n"
    "then run it with bench/models/.venv/bin/python bench/models/run.py")

try:
    import numpy as np
    import torch
    import transformers
    from safetensors.torch import save_file
except ImportError as error:  # pragma: no cover - the message is the point
    sys.exit(f"{error}\n{INSTALL_HINT}")

# nemotron_h hybrid: M = Mamba-2, * = attention, - = MLP (the legacy
# hybrid_override_pattern letters), written as layers_block_type.
HYBRID_PATTERN = "M-M-M*-M-M-M-M*-M-M-M-M-"
HYBRID_KINDS = {"M": "mamba", "*": "attention", "-": "mlp"}


def model_specs():
    """name -> (description, config class name, config kwargs)."""
    return {
        "mamba-130m": (
            "model_type mamba: hidden 768, 24 layers, d_state 16, expand 2, "
            "d_conv 4, dt rank 48, vocab 50280, tied head",
            "MambaConfig",
            dict(vocab_size=50280, hidden_size=768, state_size=16,
                 num_hidden_layers=24, expand=2, conv_kernel=4,
                 tie_word_embeddings=True),
        ),
        "mamba2-130m": (
            "model_type mamba2: hidden 768, 24 layers, 24 heads x head_dim 64, "
            "d_state 128, n_groups 1, chunk 256, vocab 50288, tied head",
            "Mamba2Config",
            dict(vocab_size=50288, hidden_size=768, num_hidden_layers=24,
                 num_heads=24, head_dim=64, state_size=128, n_groups=1,
                 expand=2, conv_kernel=4, chunk_size=256,
                 tie_word_embeddings=True),
        ),
        "nemotronh-hybrid": (
            f"model_type nemotron_h: hidden 768, 24 blocks `{HYBRID_PATTERN}` "
            f"({HYBRID_PATTERN.count('M')} Mamba-2: 24 heads x 64, d_state 128, "
            f"n_groups 1; {HYBRID_PATTERN.count('*')} attention: 12 heads, "
            f"4 KV heads x 64, no RoPE; {HYBRID_PATTERN.count('-')} relu2 MLP "
            "2048), vocab 50280, untied head",
            "NemotronHConfig",
            dict(vocab_size=50280, hidden_size=768,
                 layers_block_type=[HYBRID_KINDS[c] for c in HYBRID_PATTERN],
                 num_attention_heads=12, num_key_value_heads=4, head_dim=64,
                 intermediate_size=2048, ssm_state_size=128,
                 mamba_num_heads=24, mamba_head_dim=64, n_groups=1,
                 chunk_size=128, max_position_embeddings=4096),
        ),
    }


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


HZ = os.sysconf("SC_CLK_TCK")


def cpu_seconds():
    """(CPU seconds every process has used (/proc/stat), CPU seconds of this
    process and its waited-for children)."""
    import resource
    with open("/proc/stat") as f:
        user, nice, system, idle, iowait, irq, softirq = \
            map(int, f.readline().split()[1:8])
    own = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        own += usage.ru_utime + usage.ru_stime
    return (user + nice + system + irq + softirq) / HZ, own


class Others:
    """Cores that other processes kept busy while the block ran (this
    machine is shared: other sessions build and test on it)."""

    def __enter__(self):
        self.start = time.perf_counter()
        self.busy, self.own = cpu_seconds()
        return self

    def __exit__(self, *exc):
        busy, own = cpu_seconds()
        wall = time.perf_counter() - self.start
        self.cores = max(0.0, (busy - self.busy) - (own - self.own)) / \
            max(wall, 1e-9)
        return False


WAIT_BUDGET = [300.0]  # seconds of waiting for a quiet machine, in all
BANDWIDTH_RUNS = []  # the start's and the end's measurements


def wait_quiet(threshold=0.25, window=2.0, limit=90.0):
    """Waits (within WAIT_BUDGET) until other processes use under
    `threshold` cores over `window` seconds; returns the last reading."""
    start = time.perf_counter()
    while True:
        with Others() as others:
            time.sleep(window)
        waited = time.perf_counter() - start
        if others.cores < threshold or waited >= limit or \
                waited >= WAIT_BUDGET[0]:
            break
    WAIT_BUDGET[0] = max(0.0, WAIT_BUDGET[0] - waited)
    if waited > window * 1.5:
        log(f"waited {waited:.0f} s for a quieter machine (others: "
            f"{others.cores:.2f} cores)")
    return others.cores


def median(values):
    return statistics.median(values) if values else float("nan")


# --------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------

def make_checkpoint(name, spec):
    """Random-init checkpoint of `spec` in CHECKPOINTS/name, made once per
    spec (a stamp file holds the spec it was made from)."""
    description, config_class, kwargs = spec
    directory = CHECKPOINTS / name
    stamp = directory / "bench-spec.json"
    wanted = json.dumps({"class": config_class, "kwargs": kwargs,
                         "seed": SEED, "torch": torch.__version__,
                         "transformers": transformers.__version__},
                        sort_keys=True)
    if stamp.exists() and stamp.read_text() == wanted and \
            (directory / "expected.safetensors").exists():
        return directory
    log(f"{name}: making the checkpoint ({config_class}, seed {SEED})")
    config = getattr(transformers, config_class)(**kwargs)
    torch.manual_seed(SEED)
    model = transformers.AutoModelForCausalLM.from_config(
        config, dtype=torch.float32)
    model.eval()
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory, safe_serialization=True)
    # expected.safetensors in ../shared/testdata/models' layout: one forward
    # pass without cache, and a short greedy generate with it.
    generator = torch.Generator().manual_seed(SEED + 1)
    vocab = config.vocab_size
    input_ids = torch.randint(0, vocab, (1, 256), generator=generator)
    prompt = torch.randint(0, vocab, (1, 32), generator=generator)
    with torch.inference_mode():
        logits = model(input_ids, use_cache=False).logits.float()
        generated = model.generate(prompt, max_new_tokens=16,
                                   min_new_tokens=16, do_sample=False)
    save_file({"input_ids": input_ids.contiguous(),
               "logits": logits.contiguous(),
               "generate_input_ids": prompt.contiguous(),
               "generated_ids": generated.contiguous()},
              str(directory / "expected.safetensors"))
    stamp.write_text(wanted)
    del model
    return directory


def tensor_sizes(path):
    """name -> bytes of every tensor in a safetensors file (its header)."""
    with open(path, "rb") as f:
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    return {k: v["data_offsets"][1] - v["data_offsets"][0]
            for k, v in header.items() if k != "__metadata__"}


# --------------------------------------------------------------------------
# ssmc
# --------------------------------------------------------------------------

def run_tool(args, timeout=900):
    """Runs a build/bin tool; retries while it is being relinked by someone
    else (Text file busy / permission denied). Returns (rc, stdout, stderr,
    None, wall s)."""
    for attempt in range(30):
        start = time.perf_counter()
        try:
            process = subprocess.Popen(args, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True)
        except OSError as error:  # ETXTBSY, EACCES while relinking
            log(f"{Path(args[0]).name}: {error}; retrying in 20 s")
            time.sleep(20)
            continue
        out, err = process.communicate(timeout=timeout)
        wall = time.perf_counter() - start
        if process.returncode == 126 or "Text file busy" in err:
            log(f"{Path(args[0]).name}: busy; retrying in 20 s")
            time.sleep(20)
            continue
        return process.returncode, out, err, None, wall
    sys.exit(f"{args[0]} stayed busy")


def child_times(function):
    """(result, user s, sys s) of the children function() waits for."""
    import resource
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = function()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return result, after.ru_utime - before.ru_utime, \
        after.ru_stime - before.ru_stime


def compile_model(name, checkpoint):
    artifact = ARTIFACTS / name
    log(f"{name}: ssmc {checkpoint.relative_to(ROOT)}")
    start = time.perf_counter()
    rc, out, err, _, _ = run_tool([str(SSMC), str(checkpoint), "-o",
                                   str(artifact)])
    seconds = time.perf_counter() - start
    if rc != 0:
        return None, seconds, (err or out).strip()
    return artifact, seconds, ""


def check_model(artifact, checkpoint):
    rc, out, err, _, _ = run_tool([
        str(SSM_RUN), "check-model", str(artifact), "--weights",
        str(checkpoint), "--expected", str(checkpoint / "expected.safetensors")])
    return rc, (out + err).strip()


SIGNATURE_LINE = re.compile(r"^\s*(input|output)\s+\d+\s+(\S+):\s+(\w+)\[(.*)\]")


def signature(artifact, function):
    """[(kind, name, dtype, dims)] of `function` (`ssm-run info`)."""
    rc, out, err, _, _ = run_tool([str(SSM_RUN), "info", str(artifact)])
    if rc != 0:
        sys.exit(f"ssm-run info {artifact}: {err}")
    rows, current = [], None
    for line in out.splitlines():
        if line.startswith("function "):
            current = line.split()[1]
        elif current == function:
            m = SIGNATURE_LINE.match(line)
            if m:
                dims = [d.strip() for d in m.group(4).split(",") if d.strip()]
                rows.append((m.group(1), m.group(2), m.group(3), dims))
    return rows


def decode_bytes(artifact, checkpoint, prompt_length, decode_tokens):
    """Bytes one batch-1 decode step must read: every weight the decode
    function takes, less the embedding table when the head is not tied to
    it (one row of it is gathered), plus the states it takes (attention
    caches at their mean length over the decode steps)."""
    sizes = tensor_sizes(checkpoint / "model.safetensors")
    weights = states = 0
    cache_length = prompt_length + (decode_tokens - 1) / 2
    tied = "lm_head.weight" not in sizes
    embedding = None
    for kind, name, dtype, dims in signature(artifact, "decode"):
        if kind != "input" or name == "input_ids":
            continue
        if name in sizes:
            if name.endswith("embeddings.weight") or \
                    name.endswith("embed_tokens.weight"):
                embedding = name
                if not tied:
                    continue
            weights += sizes[name]
            continue
        bits = int(re.sub(r"\D", "", dtype) or 32)
        n = bits // 8
        for i, d in enumerate(dims):
            if d == "?":
                n *= 1 if i == 0 else cache_length  # batch, cache length
            else:
                n *= int(d)
        states += n
    return weights, states, sum(sizes.values()), embedding


TTFT = re.compile(r"time to first token: ([\d.]+) ms")
DECODE = re.compile(r"decode: (\d+) tokens in ([\d.]+) ms")
GENERATED = re.compile(r"generated: ([\d,]*)")


def ssmc_generate(artifact, checkpoint, prompt, new_tokens):
    """One `ssm-run generate` run: dict(ttft_ms, decode_ms, decode_tokens,
    ids, user_s, sys_s)."""
    args = [str(SSM_RUN), "generate", str(artifact), "--weights",
            str(checkpoint), "--prompt-ids", ",".join(map(str, prompt)),
            "--max-new-tokens", str(new_tokens)]
    (rc, out, err, _, wall), user, system = child_times(lambda: run_tool(args))
    if rc != 0:
        raise RuntimeError(f"ssm-run generate failed ({rc}): {err.strip()}")
    ttft, decode, ids = TTFT.search(out), DECODE.search(out), \
        GENERATED.search(out)
    return {"ttft_ms": float(ttft.group(1)),
            "decode_tokens": int(decode.group(1)) if decode else 0,
            "decode_ms": float(decode.group(2)) if decode else 0.0,
            "ids": [int(x) for x in ids.group(1).split(",") if x],
            "user_s": user, "sys_s": system, "wall_s": wall}


def perf_profile(artifact, checkpoint, prompt, new_tokens):
    """Where one `ssm-run generate` run's samples fall: the generated
    prefill / decode code, the kernel (page faults of fresh buffers),
    libc (memcpy/memset), the OpenMP runtime; and the hottest symbols."""
    data = ARTIFACTS / "perf.data"
    args = ["perf", "record", "-q", "-F", "499", "-o", str(data), "--",
            str(SSM_RUN), "generate", str(artifact), "--weights",
            str(checkpoint), "--prompt-ids", ",".join(map(str, prompt)),
            "--max-new-tokens", str(new_tokens)]
    rc, _, err, _, _ = run_tool(args)
    if rc != 0:
        return None
    report = subprocess.run(
        ["perf", "report", "-i", str(data), "--stdio", "--no-children",
         "--sort", "dso,sym"], capture_output=True, text=True).stdout
    groups, top = {}, []
    for line in report.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)", line)
        if not m:
            continue
        share, dso, level, sym = float(m.group(1)), m.group(2), m.group(3), \
            m.group(4).strip()
        if level == "k":
            group = "kernel (page faults, zeroing fresh pages)"
        elif dso == "model_cpu.so" and sym.startswith("prefill"):
            group = "generated prefill code"
        elif dso == "model_cpu.so" and sym.startswith("decode"):
            group = "generated decode code"
        elif dso == "model_cpu.so":
            group = "generated code, other"
        elif dso.startswith("libc"):
            group = "libc (memcpy, memset, malloc)"
        elif "omp" in dso:
            group = "OpenMP runtime"
        else:
            group = f"other ({dso})"
        groups[group] = groups.get(group, 0.0) + share
        if len(top) < 6:
            top.append((share, f"{dso} {sym}"))
    data.unlink(missing_ok=True)
    return {"groups": groups, "top": top}


# --------------------------------------------------------------------------
# transformers
# --------------------------------------------------------------------------

def hf_generate(checkpoint, prompt, new_tokens):
    """Greedy generate with the cache, each step stamped by a logits
    processor: dict(prefill_s (up to the first token's logits: the forward
    of the whole prompt), decode_s (the following new_tokens-1 steps),
    ids, prefill_logits_positions)."""
    from transformers import LogitsProcessor, LogitsProcessorList

    model = transformers.AutoModelForCausalLM.from_pretrained(
        checkpoint, dtype=torch.float32)
    model.eval()

    class Stamp(LogitsProcessor):
        def __init__(self):
            self.times, self.scores = [], []

        def __call__(self, input_ids, scores):
            self.times.append(time.perf_counter())
            self.scores.append(scores[0].detach().clone())
            return scores

    positions = []
    forward = model.forward

    def recording_forward(*args, **kwargs):
        out = forward(*args, **kwargs)
        if not positions:
            positions.append(out.logits.shape[1])
        return out

    model.forward = recording_forward
    # Each side generates as its users run it: ssmc's generate takes the
    # prompt through prefill_last (the LM head on the last position only),
    # nemotron_h's transformers generate keeps the last position's logits
    # too (its config's num_logits_to_keep 1); transformers' mamba and
    # mamba2 compute them for every position (recorded below).
    stamp = Stamp()
    ids = torch.tensor([prompt])
    with torch.inference_mode():
        start = time.perf_counter()
        out = model.generate(ids, max_new_tokens=new_tokens,
                             min_new_tokens=new_tokens, do_sample=False,
                             logits_processor=LogitsProcessorList([stamp]))
    t = stamp.times
    result = {"prefill_s": t[0] - start,
              "decode_s": t[-1] - t[0], "decode_tokens": len(t) - 1,
              "ids": out[0, len(prompt):].tolist(),
              "prefill_logits_positions": positions[0] if positions else None,
              "attn": getattr(model.config, "_attn_implementation", None),
              "scores": stamp.scores}
    del model, out
    return result


def divergence(ssmc_ids, hf):
    """How many greedy ids agree before the first difference, and there
    transformers' logits of its pick and of ssmc's (a near-tie is f32
    rounding, not a wrong model)."""
    same = 0
    for a, b in zip(ssmc_ids, hf["ids"]):
        if a != b:
            break
        same += 1
    n = min(len(ssmc_ids), len(hf["ids"]))
    if same == n:
        return same, n, None
    scores = hf["scores"][same]
    theirs, ours = hf["ids"][same], ssmc_ids[same]
    return same, n, (theirs, scores[theirs].item(), ours, scores[ours].item())


def f64_check(name, checkpoint, artifact):
    """When check-model's 1e-3 logit bound fails: ssmc's and transformers'
    f32 logits of expected.safetensors' input_ids, each against
    transformers in float64. Returns a sentence."""
    from safetensors.torch import load_file
    expected = load_file(str(checkpoint / "expected.safetensors"))
    inputs = dict(load_file(str(checkpoint / "model.safetensors")))
    inputs["input_ids"] = expected["input_ids"]
    inputs_path = ARTIFACTS / f"{name}-inputs.safetensors"
    output_path = ARTIFACTS / f"{name}-logits.safetensors"
    save_file(inputs, str(inputs_path))
    del inputs
    rc, out, err, _, _ = run_tool([
        str(SSM_RUN), "run", str(artifact), "--function=prefill",
        f"--inputs={inputs_path}", f"--output={output_path}",
        "--warmup=0", "--repeat=1"])
    inputs_path.unlink(missing_ok=True)
    if rc != 0:
        return f"ssm-run run failed: {err.strip()}"
    ours = load_file(str(output_path))["logits"].double()
    output_path.unlink(missing_ok=True)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        checkpoint, dtype=torch.float64).eval()
    with torch.inference_mode():
        reference = model(expected["input_ids"], use_cache=False).logits
    del model
    theirs = expected["logits"].double()
    scale = reference.abs().max().item()
    e_ours = (ours - reference).abs().max().item()
    e_theirs = (theirs - reference).abs().max().item()
    return (f"against transformers in float64 (max |logit| {scale:.1f}): "
            f"ssmc f32 {e_ours:.2e}, transformers f32 {e_theirs:.2e}, "
            f"ssmc vs transformers f32 {(ours - theirs).abs().max().item():.2e}")


# --------------------------------------------------------------------------
# Bandwidth
# --------------------------------------------------------------------------

def measure_bandwidth(gib=1, rounds=7):
    """GB/s (1e9 bytes), the median of `rounds`, of: a numpy copy (bytes
    read + written, one thread), a torch copy and a read-only torch sum on
    one thread and on all of them."""
    n = gib << 28
    a = np.ones(n, np.float32)
    b = np.empty_like(a)

    def typical(function):
        times = []
        for _ in range(rounds):
            t = time.perf_counter()
            function()
            times.append(time.perf_counter() - t)
        return median(times)

    result = {"numpy copy, 1 thread (read + write)":
              2 * a.nbytes / typical(lambda: np.copyto(b, a)) / 1e9}
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    for threads in sorted({1, THREADS}):
        torch.set_num_threads(threads)
        label = f"{threads} thread{'s' * (threads > 1)}"
        result[f"torch copy, {label} (read + write)"] = \
            2 * a.nbytes / typical(lambda: tb.copy_(ta)) / 1e9
        result[f"torch sum, {label} (read)"] = \
            a.nbytes / typical(lambda: ta.sum()) / 1e9
    torch.set_num_threads(THREADS)
    del a, b, ta, tb
    return result


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def machine_line():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                memory = f", {int(line.split()[1]) / 2**20:.0f} GiB"
    except OSError:
        pass
    flags = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "?"
    return f"{THREADS} cores, {cpu} ({isa}){memory}, {platform.platform()}"


def git_commit():
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short",
                               "HEAD"], capture_output=True, text=True).stdout
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain",
                                "--untracked-files=no"],
                               capture_output=True, text=True).stdout
        return head.strip() + (" (with uncommitted changes)" if dirty else "")
    except OSError:
        return "?"


def fmt(x, digits=1):
    return "–" if x is None or x != x else f"{x:,.{digits}f}"


def ratio(a, b):
    return None if not a or not b else a / b


def rates(args, r):
    """(ssmc prefill tok/s, decode tok/s, transformers prefill, decode)."""
    s, h = r.get("ssmc"), r.get("hf")
    sp = s and args.prompt_length / (s["ttft_ms"] / 1e3)
    sd = s and s["decode_tokens"] / (s["decode_ms"] / 1e3)
    hp = h and args.prompt_length / h["prefill_s"]
    hd = h and h["decode_tokens"] / h["decode_s"]
    return sp, sd, hp, hd


def write_report(path, args, results, bandwidth, meta):
    best_bw_name = max(bandwidth, key=bandwidth.get)
    bw = bandwidth[best_bw_name]
    lines = []
    w = lines.append
    w("# Whole models: ssmc against transformers on this CPU")
    w("")
    w(f"`bench/models/run.py`: random weights, fp32, batch 1, a prompt of "
      f"{args.prompt_length} random ids then {args.decode_tokens} greedy "
      f"decode steps; {time.strftime('%Y-%m-%d %H:%M', time.localtime(meta['started']))}, "
      f"{(meta.get('finished', time.time()) - meta['started']) / 60:.1f} min "
      "for the whole run.")
    w("")
    w(f"- Machine: {meta['machine']}. It is shared: other sessions build and "
      "test on the same two cores, so each timed run waits (up to a budget) "
      "for other processes to use under 0.25 cores and records how many "
      "cores they used while it ran (`others` below).")
    w(f"- ssmc: commit {meta['commit']}"
      + (f", build/bin/ssmc built {meta['built']}" if meta.get("built") else "")
      + "; `ssmc <checkpoint> -o <artifact>` "
      f"(code for this host's CPU), timed by `ssm-run generate --max-new-tokens "
      f"{args.decode_tokens + 1}`: its time to first token is the prefill "
      f"(all {args.prompt_length} positions' logits, as its prefill entry "
      f"point returns), its decode line the {args.decode_tokens} decode steps "
      f"(median of {args.repeats} runs, after a short warm-up run).")
    w(f"- transformers {meta['transformers']}, torch {meta['torch']} "
      f"(the PyPI wheel, on the CPU, {meta['threads']} threads), "
      f"numpy {meta['numpy']}, Python {meta['python']}: one greedy "
      f"`generate` of {args.decode_tokens + 1} new tokens with the cache per "
      "run, a logits processor stamping each step: the prefill is the time "
      "to the first token's logits (one forward of the whole prompt, all "
      "positions' logits), the decode the "
      f"{args.decode_tokens} steps after it. Up to {args.hf_repeats} runs "
      f"per model while they take under {args.hf_budget:.0f} s (median). No "
      "`mamba_ssm` / `causal_conv1d` on a CPU, so its Mamba layers take "
      "transformers' reference PyTorch paths: what a CPU user of "
      "transformers gets.")
    w("- Memory bandwidth, measured in this run (1 GiB buffers, median of 7, "
      "at the start / the end of the run): " +
      "; ".join(f"{k} " + " / ".join(f"{m[k]:.1f}" for m in BANDWIDTH_RUNS)
                + " GB/s" if len(BANDWIDTH_RUNS) == 2 else f"{k} {v:.1f} GB/s"
                for k, v in bandwidth.items()) +
      f". The share of bandwidth is over the highest, {bw:.1f} GB/s "
      f"({best_bw_name}); bytes "
      "per decode token are every weight the decode step reads (the "
      "embedding table only where it is also the head) plus the states it "
      "takes (attention caches at their mean length over the decode).")
    w("")
    w("| model | params | ssmc prefill tok/s | transformers prefill tok/s | "
      "ssmc / tf | ssmc decode tok/s | transformers decode tok/s | ssmc / tf | "
      "bytes per decode token | ssmc decode GB/s | share of bandwidth |")
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        sp, sd, hp, hd = rates(args, r)
        per_token = r["weights_bytes"] + r["state_bytes"]
        gbs = sd and per_token * sd / 1e9
        w(f"| {name} | {r['params'] / 1e6:.0f}M | {fmt(sp)} | {fmt(hp)} | "
          f"{fmt(ratio(sp, hp), 1)}× | {fmt(sd)} | {fmt(hd)} | "
          f"{fmt(ratio(sd, hd), 1)}× | {per_token / 1e6:.0f} MB "
          f"({r['weights_bytes'] / 1e6:.0f} weights + "
          f"{r['state_bytes'] / 1e6:.1f} states) | {fmt(gbs)} | "
          f"{fmt(gbs and 100 * gbs / bw, 0)} % |")
    w("")
    w("The times behind it (medians; every run in brackets):")
    w("")
    w("| model | ssmc prefill ms | ssmc decode ms/token | ssmc others, cores "
      "| ssmc CPU user / sys s per run | transformers prefill ms | "
      "transformers decode ms/token | transformers others, cores | "
      "ssmc compile s |")
    w("|---|---|---|---|---|---|---|---|---|")

    def cell(values, digits):
        text = f"{median(values):.{digits}f}"
        if len(values) > 1:
            text += " (" + ", ".join(f"{v:.{digits}f}" for v in values) + ")"
        return text

    for name, r in results.items():
        runs, hruns = r.get("ssmc_runs", []), r.get("hf_runs", [])
        cells = ["–"] * 7
        if runs:
            cells[0] = cell([x["ttft_ms"] for x in runs], 0)
            cells[1] = cell([x["decode_ms"] / x["decode_tokens"] for x in runs], 2)
            cells[2] = cell([x["others"] for x in runs], 2)
            cells[3] = (f"{median([x['user_s'] for x in runs]):.1f} / "
                        f"{median([x['sys_s'] for x in runs]):.1f}")
        if hruns:
            cells[4] = cell([x["prefill_s"] * 1e3 for x in hruns], 0)
            cells[5] = cell([x["decode_s"] * 1e3 / x["decode_tokens"]
                             for x in hruns], 1)
            cells[6] = cell([x["others"] for x in hruns], 2)
        w(f"| {name} | " + " | ".join(cells) +
          f" | {fmt(r.get('compile_s'), 0)} |")
    w("")
    w("## Checks")
    w("")
    for name, r in results.items():
        w(f"- **{name}**: {r['description']}.")
        if r.get("compile_error"):
            w(f"  ssmc refused it: `{r['compile_error']}`")
            continue
        w(f"  `ssm-run check-model` against the expected.safetensors made with "
          f"transformers (a 256-token forward; a 32-token prompt and 16 greedy "
          f"tokens) "
          f"{'passes' if r['check_rc'] == 0 else 'FAILS (exit %d)' % r['check_rc']}:")
        for line in r["check_out"].splitlines():
            w(f"  `{line.strip()}`")
        if r.get("f64"):
            w(f"  The logit bound is 1e-3 absolute; {r['f64']}: both f32 "
              "implementations are that far from float64, so the bound is "
              "too tight for this checkpoint's logits rather than ssmc wrong.")
        s, h = r.get("ssmc"), r.get("hf")
        if s and h and r.get("divergence"):
            same, n, split = r["divergence"]
            text = (f"  The benchmark's own greedy ids after the "
                    f"{args.prompt_length}-token prompt: ")
            if split is None:
                text += f"all {n} the same as transformers'."
            else:
                theirs, theirs_logit, ours, ours_logit = split
                text += (f"the first {same} of {n} the same as transformers'; "
                         f"then transformers picks {theirs} (its logit "
                         f"{theirs_logit:.5f}) and ssmc {ours} (transformers' "
                         f"logit for it {ours_logit:.5f}, "
                         f"{theirs_logit - ours_logit:.1e} lower)"
                         + (": a near-tie, within f32 rounding of the two "
                            "implementations" if theirs_logit - ours_logit < 5e-3
                            else ": NOT a near-tie, worth a look") + ".")
            w(text)
        if h:
            w(f"  transformers used attention `{h['attn']}`; its prefill "
              f"returned logits for {h['prefill_logits_positions']} positions.")
    profiles = {n: r["perf"] for n, r in results.items() if r.get("perf")}
    if profiles:
        w("")
        w("## Where ssmc's time goes")
        w("")
        w(f"`perf record` of one more `ssm-run generate` run per model (the "
          f"prefill and the {args.decode_tokens} decode steps together), share "
          "of the samples by where they fall, and the hottest symbols (the "
          "generated code's parallel regions are named after their function):")
        w("")
        groups = sorted({g for p in profiles.values() for g in p["groups"]},
                        key=lambda g: -max(p["groups"].get(g, 0)
                                           for p in profiles.values()))
        groups = [g for g in groups
                  if max(p["groups"].get(g, 0) for p in profiles.values()) >= 0.5]
        w("| model | " + " | ".join(groups) + " | hottest symbols |")
        w("|---|" + "---|" * (len(groups) + 1))
        for name, p in profiles.items():
            w(f"| {name} | " + " | ".join(
                f"{p['groups'].get(g, 0):.1f} %" for g in groups) + " | " +
              "; ".join(f"{s:.1f} % `{sym.split()[-1]}`"
                        for s, sym in p["top"][:3]) + " |")
    w("")
    w("## Reading it")
    w("")
    for paragraph in reading(args, results, bandwidth, bw):
        w(paragraph)
        w("")
    w("Reproduce: `python3 -m venv bench/models/.venv && "
      "bench/models/.venv/bin/pip install -r bench/models/requirements.txt`, "
      "build (README.md), then `bench/models/.venv/bin/python "
      "bench/models/run.py` (checkpoints, artifacts and a results.json go to "
      "the git-ignored bench/models/checkpoints/).")
    Path(path).write_text("\n".join(lines) + "\n")


def head_flops(args, r):
    """FLOPs of the head's matmul in prefill, and of the whole prefill's
    matmuls (2 per weight per position; the mixers' scans are extra)."""
    cfg = r["config"]
    hidden, vocab = cfg["hidden_size"], cfg["vocab_size"]
    head = 2.0 * args.prompt_length * hidden * vocab
    # every weight but the embedding table is used once per position, the
    # table once more as the head where tied
    matmul = 2.0 * args.prompt_length * (r["weights_bytes"] / 4)
    return head, matmul


def reading(args, results, bandwidth, bw):
    """What the run measured, in sentences filled from its numbers, then
    what was found by hand about the baselines (noted as such)."""
    out = []
    rows = {}
    for name, r in results.items():
        if not r.get("ssmc"):
            continue
        sp, sd, hp, hd = rates(args, r)
        share = (r["weights_bytes"] + r["state_bytes"]) * sd / 1e9 / bw
        rows[name] = (sp, sd, hp, hd, share)
    if not rows:
        return out
    ok_p = [n for n, v in rows.items() if v[2] and v[0] / v[2] >= 5]
    ok_d = [n for n, v in rows.items() if v[3] and v[1] / v[3] >= 5]
    ok_b = [n for n, v in rows.items() if v[4] >= 0.7]
    out.append(
        "**Against the issue's aims** (≥5× transformers on prefill and on "
        "decode, ≥70 % of bandwidth on decode): prefill ≥5× on "
        f"{', '.join(ok_p) or 'none'}; decode ≥5× on "
        f"{', '.join(ok_d) or 'none'}; ≥70 % of bandwidth on "
        f"{', '.join(ok_b) or 'none'}.")
    others_s = [x["others"] for r in results.values()
                for x in r.get("ssmc_runs", [])]
    others_h = [x["others"] for r in results.values()
                for x in r.get("hf_runs", [])]
    if others_s:
        out.append(
            "**Noise.** Other processes used a median "
            f"{median(others_s):.2f} cores (max {max(others_s):.2f}) during "
            "the ssmc runs" +
            (f" and {median(others_h):.2f} (max {max(others_h):.2f}) during "
             "the transformers runs" if others_h else "") +
            ". Any load on the second core hurts both sides' decode most: a "
            "decode step is hundreds of small parallel regions, each waiting "
            "for both threads. Rows whose `others` column is well above zero "
            "are slower than this machine is.")
    # Prefill: the head.
    parts = []
    for name, r in results.items():
        p = r.get("perf")
        if not p or not r.get("ssmc"):
            continue
        prefill_top = [(s, sym) for s, sym in p["top"] if " prefill" in sym]
        head, matmul = head_flops(args, r)
        runs = r["ssmc_runs"]
        cpu = median([x["user_s"] + x["sys_s"] for x in runs])
        parts.append(
            f"{name}: the hottest region "
            + (f"`{prefill_top[0][1].split()[-1]}` has {prefill_top[0][0]:.0f} % "
               "of the samples" if prefill_top else "(none in prefill)")
            + f"; the head is {head / 1e9:.0f} of the prefill's "
            f"{matmul / 1e9:.0f} GFLOP of matmuls ({100 * head / matmul:.0f} %)")
    if parts:
        out.append(
            "**Prefill.** ssmc's generate runs `prefill_last`, whose LM head "
            "covers the last position only; over all "
            f"{args.prompt_length} positions (`prefill`, a plain forward) it "
            "would be the share of the matmuls given here. " +
            "; ".join(parts) + ".")
    sys_share = ", ".join(
        f"{n} {100 * r['ssmc']['sys_s'] / max(r['ssmc']['user_s'] + r['ssmc']['sys_s'], 1e-9):.0f} %"
        for n, r in results.items() if r.get("ssmc"))
    kernel = ", ".join(
        f"{n} {r['perf']['groups'].get('kernel (page faults, zeroing fresh pages)', 0):.0f} %"
        for n, r in results.items() if r.get("perf"))
    vocab = max(r["config"]["vocab_size"] for r in results.values())
    logits_gb = args.prompt_length * vocab * 4 / 1e9
    out.append(
        "**The kernel's share.** System time is this share of ssm-run's CPU "
        f"time: {sys_share}" + (f" (perf's kernel samples: {kernel})" if kernel else "") +
        ": page faults and the zeroing of fresh pages (`clear_page_erms`). "
        "A session writes each decode step's states and logits into the "
        "buffers of the step before last and grows its attention caches in "
        "place; what faults is the generated code's own scratch (each "
        "call's intermediate activations, allocated by the compiled "
        "function) and the prompt's first pass (all logits of a plain "
        f"forward would be {args.prompt_length} × {vocab} × 4 B ≈ "
        f"{logits_gb:.2f} GB; `prefill_last` returns one position's).")
    dec = []
    for name, (sp, sd, hp, hd, share) in rows.items():
        r = results[name]
        p = r.get("perf") or {"groups": {}, "top": []}
        dec.append(f"{name} {1e3 / sd:.1f} ms/token = "
                   f"{(r['weights_bytes'] + r['state_bytes']) * sd / 1e9:.1f} GB/s, "
                   f"{100 * share:.0f} %")
    omp = ", ".join(f"{n} {r['perf']['groups'].get('OpenMP runtime', 0):.0f} %"
                    for n, r in results.items() if r.get("perf"))
    out.append(
        "**Decode** is reading the weights: " + "; ".join(dec) +
        f" of {bw:.0f} GB/s. The head ("
        + ", ".join(sorted({f"{r['config']['vocab_size'] * r['config']['hidden_size'] * 4 / 1e6:.0f} MB"
                            for r in results.values()})) +
        " of f32) is "
        "the largest single read and the hottest decode region; the rest is "
        "24 layers of small matrix-vector products, each its own parallel "
        "region" + (f" (the OpenMP runtime's own share of the samples: {omp})"
                     if omp else "") +
        ".")
    if len(BANDWIDTH_RUNS) == 2:
        low = min(m[k] for m in BANDWIDTH_RUNS for k in m if k in bandwidth
                  and bandwidth[k] == bw)
        if low < 0.9 * bw:
            fastest = max(rows.items(), key=lambda item: item[1][1] * (
                results[item[0]]["weights_bytes"] +
                results[item[0]]["state_bytes"]))
            streamed = fastest[1][1] * (results[fastest[0]]["weights_bytes"] +
                                        results[fastest[0]]["state_bytes"]) / 1e9
            out.append(
                "This VM's bandwidth readings move between repeats of the same "
                f"measurement: the one used above read {low:.0f} GB/s at the "
                f"other end of the run, against {bw:.0f}, while "
                f"{fastest[0]}'s decode streamed {streamed:.0f} GB/s between "
                "them. The shares above, over the highest reading, are the "
                "conservative ones; over the lower one they would be " +
                ", ".join(f"{n} {100 * v[4] * bw / low:.0f} %"
                          for n, v in rows.items()) +
                (" (over 100 %: that reading undershot what the machine "
                 "delivers)" if any(v[4] * bw / low > 1 for v in rows.values())
                 else "") + ".")
    mamba1 = [rows[n][4] for n, r in results.items()
              if n in rows and r["config"]["model_type"] == "mamba"]
    mamba2 = [(n, rows[n][4]) for n, r in results.items()
              if n in rows and r["config"]["model_type"] != "mamba"]
    if mamba1 and mamba2 and all(v < 0.85 * mamba1[0] for _, v in mamba2):
        out.append(
            "The Mamba-2 models read only a few percent more bytes a token "
            "than Mamba-1 (their 128-wide SSM states) yet reach a smaller "
            "share of bandwidth (" + ", ".join(f"{n} {100 * v:.0f} %"
                                                for n, v in mamba2) +
            f" against {100 * mamba1[0]:.0f} %): the time goes to more than "
            "the bytes, per-layer work and synchronisation being the "
            "candidates.")
    out.append(
        "**transformers' side** (found by hand with torch.profiler, not "
        "re-measured by the script): its reference Mamba-2 prefill "
        "(`torch_forward`, `mamba_chunk_scan_combined` falling back to "
        "PyTorch) materialises broadcast products over chunk × chunk × heads "
        "× state, 80 % of a 256-token forward in `aten::mul`; its cost grows "
        "with `chunk_size` (256 for mamba2-130m, 128 for the hybrid), which "
        "is why mamba2's transformers prefill is the slowest of the three. "
        "Its Mamba-1 prefill is a sequential scan in Python-driven ops. Its "
        "decode is a few hundred tiny ATen ops per token: on a quiet machine "
        "mamba-130m took 35–38 ms a step, but with one or two other busy "
        "processes on the two cores the same steps took 1–3 s, since every "
        "op's parallel region waits for a descheduled thread; so the "
        "transformers decode figures depend on the `others` column far more "
        "than ssmc's.")
    return out


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--hf-repeats", type=int, default=3)
    parser.add_argument("--hf-budget", type=float, default=150.0,
                        help="seconds of transformers runs per model after "
                             "which no further repeat starts")
    parser.add_argument("--models", default=",".join(model_specs()))
    parser.add_argument("--no-hf", action="store_true")
    parser.add_argument("--no-perf", action="store_true")
    parser.add_argument("--prompt-length", type=int, default=2048)
    parser.add_argument("--decode-tokens", type=int, default=128)
    parser.add_argument("--report", default=str(HERE / "report.md"))
    parser.add_argument("--from-results", metavar="JSON",
                        help="only write the report again from the "
                             "results.json of an earlier run")
    args = parser.parse_args()
    if args.from_results:
        saved = json.loads(Path(args.from_results).read_text())
        BANDWIDTH_RUNS[:] = saved["bandwidth_runs"]
        stored = argparse.Namespace(**saved["args"])
        write_report(args.report, stored, saved["results"], saved["bandwidth"],
                     saved["meta"])
        log(f"wrote {args.report} from {args.from_results}")
        return
    meta = {"started": time.time(), "machine": machine_line(),
            "commit": git_commit(), "transformers": transformers.__version__,
            "torch": torch.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "threads": THREADS,
            "built": time.strftime("%Y-%m-%d %H:%M", time.localtime(
                BUILD_SSMC.stat().st_mtime)) if BUILD_SSMC.exists() else "?"}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    SSMC.parent.mkdir(exist_ok=True)
    for tool, copy in ((BUILD_SSMC, SSMC), (BUILD_SSM_RUN, SSM_RUN)):
        if not tool.exists():
            sys.exit(f"{tool} is missing: build first (README.md)")
        for attempt in range(30):
            try:
                shutil.copy2(tool, copy)
                break
            except OSError as error:
                log(f"copying {tool}: {error}; retrying in 20 s")
                time.sleep(20)
    torch.set_num_threads(THREADS)
    specs = model_specs()
    names = [n for n in args.models.split(",") if n]
    for n in names:
        if n not in specs:
            sys.exit(f"unknown model {n} (known: {', '.join(specs)})")
    has_perf = not args.no_perf and subprocess.run(
        ["perf", "--version"], capture_output=True).returncode == 0 \
        if not args.no_perf else False

    log("memory bandwidth")
    wait_quiet()
    bandwidth = measure_bandwidth()
    results = {}
    for name in names:
        description, config_class, kwargs = specs[name]
        checkpoint = make_checkpoint(name, specs[name])
        r = results[name] = {"description": description}
        sizes = tensor_sizes(checkpoint / "model.safetensors")
        r["params"] = sum(sizes.values()) / 4
        r["config"] = json.loads((checkpoint / "config.json").read_text())
        artifact, r["compile_s"], error = compile_model(name, checkpoint)
        if artifact is None:
            log(f"{name}: ssmc failed: {error}")
            r["compile_error"] = error
            r["weights_bytes"] = r["state_bytes"] = 0
            continue
        r["check_rc"], r["check_out"] = check_model(artifact, checkpoint)
        log(f"{name}: check-model exit {r['check_rc']}")
        if r["check_rc"] != 0 and "MISMATCH" in r["check_out"].split("\n")[0]:
            r["f64"] = f64_check(name, checkpoint, artifact)
            log(f"{name}: {r['f64']}")
        r["weights_bytes"], r["state_bytes"], _, _ = decode_bytes(
            artifact, checkpoint, args.prompt_length, args.decode_tokens)
        rng = random.Random(SEED + 2)
        vocab = json.loads((checkpoint / "config.json").read_text())["vocab_size"]
        prompt = [rng.randrange(vocab) for _ in range(args.prompt_length)]
        new_tokens = args.decode_tokens + 1  # the first from prefill
        log(f"{name}: ssm-run generate, warm-up")
        ssmc_generate(artifact, checkpoint, prompt[:16], 2)
        runs = []
        for i in range(args.repeats):
            wait_quiet()
            with Others() as others:
                run = ssmc_generate(artifact, checkpoint, prompt, new_tokens)
            run["others"] = others.cores
            runs.append(run)
            log(f"{name}: ssmc run {i + 1}: prefill {run['ttft_ms']:.0f} ms, "
                f"decode {run['decode_ms'] / max(run['decode_tokens'], 1):.2f} "
                f"ms/token (user {run['user_s']:.1f} s, sys {run['sys_s']:.1f} s; "
                f"others {others.cores:.2f} cores)")
        r["ssmc_runs"] = runs
        r["ssmc"] = {"ttft_ms": median([x["ttft_ms"] for x in runs]),
                     "decode_ms": median([x["decode_ms"] for x in runs]),
                     "decode_tokens": runs[0]["decode_tokens"],
                     "user_s": median([x["user_s"] for x in runs]),
                     "sys_s": median([x["sys_s"] for x in runs]),
                     "others": median([x["others"] for x in runs]),
                     "ids": runs[0]["ids"]}
        if has_perf:
            log(f"{name}: perf record")
            wait_quiet()
            r["perf"] = perf_profile(artifact, checkpoint, prompt, new_tokens)
        if not args.no_hf:
            hruns, spent = [], 0.0
            # Repeats while they are cheap: the reference Mamba-2 path takes
            # minutes for one 2048-token prefill.
            while len(hruns) < args.hf_repeats and \
                    (not hruns or spent < args.hf_budget):
                log(f"{name}: transformers generate ({args.prompt_length} + "
                    f"{new_tokens})")
                wait_quiet()
                begin = time.perf_counter()
                with Others() as others:
                    run = hf_generate(checkpoint, prompt, new_tokens)
                spent += time.perf_counter() - begin
                run["others"] = others.cores
                hruns.append(run)
                log(f"{name}: transformers run {len(hruns)}: prefill "
                    f"{run['prefill_s']:.1f} s, decode "
                    f"{run['decode_s'] * 1e3 / run['decode_tokens']:.1f} "
                    f"ms/token (others {others.cores:.2f} cores)")
            r["hf_runs"] = hruns
            r["hf"] = {"prefill_s": median([x["prefill_s"] for x in hruns]),
                       "decode_s": median([x["decode_s"] for x in hruns]),
                       "decode_tokens": hruns[0]["decode_tokens"],
                       "ids": hruns[0]["ids"], "attn": hruns[0]["attn"],
                       "others": median([x["others"] for x in hruns]),
                       "prefill_logits_positions":
                           hruns[0]["prefill_logits_positions"]}
            r["divergence"] = divergence(r["ssmc"]["ids"], hruns[0])
            for x in hruns:
                x.pop("scores", None)
        # Partial reports as it goes: a long run leaves something behind.
        write_report(args.report, args, results, bandwidth, meta)
    log("memory bandwidth, again")
    wait_quiet()
    again = measure_bandwidth()
    BANDWIDTH_RUNS[:] = [bandwidth, again]
    bandwidth = {k: max(v, again.get(k, 0)) for k, v in bandwidth.items()}
    meta["finished"] = time.time()
    write_report(args.report, args, results, bandwidth, meta)
    saved = {"args": vars(args), "meta": meta, "bandwidth": bandwidth,
             "bandwidth_runs": BANDWIDTH_RUNS, "results": results}
    (ARTIFACTS / "results.json").write_text(json.dumps(saved, indent=1))
    log(f"wrote {args.report} (and {ARTIFACTS / 'results.json'})")


if __name__ == "__main__":
    main()
