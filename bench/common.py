"""Helpers shared by the benchmarks (run with the project venv, never in CI).

Everything here is offline: models get random weights, tokenizers are trained on the fly, and data
comes from the full benchmark copies under `$RB_MIRROR` (default `../shared/data`).
"""

from __future__ import annotations

import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
CACHE = BENCH / ".cache"  # models, sampled data, lakes and rewardbench outputs (git-ignored)
RESULTS = BENCH / "results"
RB_VENV_PYTHON = BENCH / ".venv-rewardbench" / "bin" / "python"
DEFAULT_MIRROR = REPO.parent / "shared" / "data"

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "WANDB_MODE": "disabled",
    "TOKENIZERS_PARALLELISM": "false",
}


def set_offline_env() -> None:
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("RB_MIRROR", str(DEFAULT_MIRROR))


def peak_rss_mib() -> float:
    """Peak resident set size of this process (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def matmul_flops(n: int = 2048, repeats: int = 10, device: str = "cpu", dtype: str = "float32") -> float:
    """n x n matmul FLOP/s (best of `repeats`, after 2 warm-ups) with torch's current threads; on a GPU
    (`device` cuda, e.g. bfloat16) an 8192 x 8192 one, synchronized."""
    import torch

    if device != "cpu":
        n = max(n, 8192)
    kind = getattr(torch, dtype)
    a, b = torch.randn(n, n, device=device, dtype=kind), torch.randn(n, n, device=device, dtype=kind)

    def sync() -> None:
        if device != "cpu":
            torch.cuda.synchronize()

    for _ in range(2):
        a @ b
    sync()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        sync()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best


def machine_info() -> dict:
    """What the numbers were measured on."""
    import torch
    import transformers

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        flags = next(
            (line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")), ""
        )
        simd = [f for f in ("avx", "fma", "avx2", "avx512f", "amx_tile") if f" {f}" in flags]
    except OSError:
        simd = []
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "simd": simd,
        "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "torch_threads": torch.get_num_threads(),
        "load_avg_at_start": os.getloadavg(),
    }


# ---------------------------------------------------------------- data


def load_rmb(benchmark: str):
    """An RMB benchmark (`rmb-pairwise`, or `rmb-bon`: one example per list, its responses the best
    answer and the losers), normalized by the project: (examples, responses)."""
    set_offline_env()
    from rb_pipeline.catalog.entries import load_benchmarks
    from rb_pipeline.sources.normalize import normalize

    data = normalize(load_benchmarks()[benchmark])
    return data.examples, data.responses


def load_rmb_pairwise():
    return load_rmb("rmb-pairwise")


def load_rmb_bon():
    return load_rmb("rmb-bon")


def sample_by_prompt(examples, n_pairs: int, seed: int = 0, keep=None):
    """Whole prompt groups (RMB pairs several answers to one prompt) drawn at random until there are
    >= n_pairs pairs, returned in dataset order. Sampling prompts, not pairs, keeps the benchmark's
    duplicate structure (the same chosen answer in several pairs), so dedup is not understated."""
    import polars as pl

    frame = examples.with_columns(
        _pkey=pl.col("prompt").list.eval(pl.element().struct.field("content")).list.join("\x1f")
    )
    if keep is not None:
        frame = frame.filter(pl.col("example_id").is_in(list(keep)))
    keys = frame["_pkey"].unique(maintain_order=True).to_list()
    random.Random(seed).shuffle(keys)
    counts = dict(frame.group_by("_pkey").len().iter_rows())
    chosen, total = set(), 0
    for key in keys:
        if total >= n_pairs:
            break
        chosen.add(key)
        total += counts[key]
    picked = frame.filter(pl.col("_pkey").is_in(list(chosen))).drop("_pkey")
    return picked.sort("source_file", "source_row")


def pairs_table(examples, responses):
    """One row per pair, in the examples' order: example_id, prompt messages, chosen/rejected text+id."""
    import polars as pl

    chosen = responses.filter(pl.col("label") == "chosen").select(
        "example_id", chosen_id="response_id", chosen="text"
    )
    rejected = responses.filter(pl.col("label") == "rejected").select(
        "example_id", rejected_id="response_id", rejected="text"
    )
    pairs = examples.select("example_id", "subset", "prompt").join(chosen, on="example_id", how="left")
    return pairs.join(rejected, on="example_id", how="left", maintain_order="left")


def write_rewardbench_json(pairs, path: Path) -> Path:
    """The pairs as rewardbench's `--load_json` preference format: chosen/rejected message lists whose
    last turn is the answer (its `load_and_process_dataset` splits the prompt off)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for row in pairs.iter_rows(named=True):
            prompt = [{"role": m["role"], "content": m["content"]} for m in row["prompt"]]
            record = {
                "example_id": row["example_id"],
                "chosen": [*prompt, {"role": "assistant", "content": row["chosen"]}],
                "rejected": [*prompt, {"role": "assistant", "content": row["rejected"]}],
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def write_rewardbench_messages_json(examples, responses, path: Path) -> Path:
    """Best-of-N responses as rewardbench's instruction format (`messages`: the prompt turns, then the
    response as the assistant's), one row per distinct response in dataset order: rewardbench scores
    each row once (its pointwise path), which is the least work its CLI can do for a list."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = responses.join(examples.select("example_id", "prompt"), on="example_id").unique(
        "response_id", keep="first", maintain_order=True
    )
    with path.open("w", encoding="utf-8") as out:
        for row in rows.select("response_id", "prompt", "text").iter_rows(named=True):
            prompt = [{"role": m["role"], "content": m["content"]} for m in row["prompt"]]
            record = {
                "response_id": row["response_id"],
                "messages": [*prompt, {"role": "assistant", "content": row["text"]}],
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


# ---------------------------------------------------------------- subprocesses


def run_worker(
    python: Path | str, script: Path, args: list[str], cwd: Path | None = None, log: Path | None = None
):
    """Run a worker script in its own process (own venv, own peak RSS); it prints one JSON line last."""
    env = os.environ.copy()
    env.update(OFFLINE_ENV)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCH), env.get("PYTHONPATH", "")]))
    cmd = [str(python), str(script), *args]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"$ {' '.join(cmd)}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).splitlines()[-30:])
        raise RuntimeError(f"{script.name} failed ({proc.returncode}):\n{tail}")
    last = [line for line in proc.stdout.splitlines() if line.startswith("{")][-1]
    return json.loads(last)


def median(values):
    values = sorted(values)
    n = len(values)
    if not n:
        return None
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def eprint(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- models


GPT2_SMALL = {"n_layer": 12, "n_embd": 768, "n_head": 12}
# a ~1B-parameter GPT-2 twin (24 x 1792, head dim 128: 0.92B in the blocks, 0.98B with a 32k vocab),
# for the bf16 run on a GPU (`throughput.py --size 1b --device cuda`)
GPT2_1B = {"n_layer": 24, "n_embd": 1792, "n_head": 14}


def build_gpt2_small_classifier(
    path: Path,
    texts: list[str],
    vocab_size: int = 32000,
    seed: int = 0,
    sizes: dict | None = None,
    dtype: str = "float32",
) -> Path:
    """A GPT-2-sized GPT2ForSequenceClassification (default GPT-2 small: 12 layers, 768 wide, 12 heads;
    1024 positions, num_labels=1) with random weights and a byte-level BPE tokenizer trained here on
    `texts` with the project's `train_tiny_tokenizer` (its chat template). Built once per `path` and
    sizes (a marker file says which). The tokenizer truncates on the left, as rewardbench does under
    `--force_truncation`, so both paths keep the same tokens."""
    sizes = sizes or GPT2_SMALL
    marker = path / "bench_model.json"
    params = {
        "kind": "gpt2-classifier",
        "vocab_size": vocab_size,
        "seed": seed,
        "n_texts": len(texts),
        **sizes,
        **({"dtype": dtype} if dtype != "float32" else {}),  # saved as (e.g. bf16 for the GPU twin)
        "v": 3,
    }
    if marker.exists() and json.loads(marker.read_text()) == params:
        return path
    import torch
    from transformers import GPT2ForSequenceClassification

    from rb_pipeline.models.tiny_models import gpt2_config, train_tiny_tokenizer

    tokenizer = train_tiny_tokenizer(texts, vocab_size=vocab_size)
    tokenizer.truncation_side = "left"
    config = gpt2_config(tokenizer, n_positions=1024, num_labels=1, **sizes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = GPT2ForSequenceClassification(config).eval().to(getattr(torch, dtype))
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    portable_tokenizer_config(path, truncation_side="left")
    marker.write_text(json.dumps(params))
    return path


def portable_tokenizer_config(path: Path, truncation_side: str | None = None) -> None:
    """transformers 5 saves `tokenizer_class: TokenizersBackend`, which rewardbench's transformers 4.51
    cannot load; `PreTrainedTokenizerFast` loads the same tokenizer.json in both. transformers 5 also
    does not persist `truncation_side`: write it so both versions read it back."""
    config_path = path / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    # PreTrainedTokenizerFast's default model_input_names include token_type_ids, and rewardbench's
    # RewardBenchPipeline passes everything the tokenizer returns to the model: GPT-2 would then add
    # wte[0] to every position. GPT-2's own tokenizer returns only these two.
    config["model_input_names"] = ["input_ids", "attention_mask"]
    if truncation_side is not None:
        config["truncation_side"] = truncation_side
    config_path.write_text(json.dumps(config, indent=2) + "\n")


def param_counts(model) -> dict:
    """Total parameters and those that do matmul work per token (no token/position embeddings)."""
    total = sum(p.numel() for p in model.parameters())
    embeddings = sum(m.weight.numel() for m in model.modules() if m.__class__.__name__ == "Embedding")
    return {"total": total, "non_embedding": total - embeddings}
