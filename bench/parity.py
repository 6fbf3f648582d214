"""Parity: per-response scores of our engine vs rewardbench's own code, on tiny models and real pairs.

    .venv/bin/python bench/parity.py            # ~300 RMB pairs; a couple of minutes on 2 cores

Models (rb_pipeline.models.tiny_models, random weights, built offline into bench/.cache/models): a tiny
classifier, and a tiny DPO policy + reference (two seeds). Data: real RMB pairwise pairs (whole prompts
sampled at random), kept only when every sequence fits the tiny models' 1,024 positions, so neither
side truncates (truncation rules differ by design and are not what is compared here).

rewardbench side: the real package (0.1.4) in bench/.venv-rewardbench:
- classifier: its CLI (`rewardbench.rewardbench.rewardbench`), batch size 8 as published and 1 (no padding);
- DPO: its `DPOInference` + trl's collator in the CLI's loop, `published` and `aligned` (see _rb_dpo_worker.py).
Ours: `rb_pipeline.engine.scoring.score_model` with the registered classifier / dpo scorers.
Results: bench/results/parity.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    BENCH,
    CACHE,
    RB_VENV_PYTHON,
    RESULTS,
    eprint,
    load_rmb_pairwise,
    pairs_table,
    portable_tokenizer_config,
    run_worker,
    sample_by_prompt,
    set_offline_env,
    write_rewardbench_json,
)

MAX_TOKENS = 1000  # < the tiny models' 1,024 positions, with room for BOS/EOS


def build_models(texts: list[str]) -> dict[str, Path]:
    from rb_pipeline.models.tiny_models import build_tiny_causal_lm, build_tiny_classifier

    models = {
        "classifier": build_tiny_classifier(CACHE / "models" / "tiny-rm", texts, seed=0),
        "policy": build_tiny_causal_lm(CACHE / "models" / "tiny-policy", texts, seed=0),
        "ref": build_tiny_causal_lm(CACHE / "models" / "tiny-ref", texts, seed=1),
    }
    for path in models.values():
        portable_tokenizer_config(path)  # loadable by rewardbench's transformers 4.51 (see common.py)
    return models


def eligible(examples, responses, tokenizer) -> set[str]:
    """Examples whose prompt + each answer, templated, stays under MAX_TOKENS tokens."""
    frame = responses.join(examples.select("example_id", "prompt"), on="example_id")
    conversations = [
        [
            *[{"role": m["role"], "content": m["content"]} for m in prompt],
            {"role": "assistant", "content": text},
        ]
        for prompt, text in zip(frame["prompt"].to_list(), frame["text"].to_list(), strict=True)
    ]
    rendered = tokenizer.apply_chat_template(conversations, tokenize=False)
    lengths = [len(ids) for ids in tokenizer(rendered)["input_ids"]]
    too_long = {eid for eid, n in zip(frame["example_id"].to_list(), lengths, strict=True) if n > MAX_TOKENS}
    return set(examples["example_id"].to_list()) - too_long


def ours_scores(entry, settings, examples, responses, home: Path) -> dict[str, float]:
    import os

    import polars as pl

    from rb_pipeline.core.lake import scores_dir
    from rb_pipeline.engine.scoring import score_model

    os.environ["RB_HOME"] = str(home)
    result = score_model(
        entry, responses, examples, settings, ["rmb-pairwise"], device="cpu", log=lambda _m: None
    )
    frame = pl.read_parquet(sorted(scores_dir(entry.id, result.run_id).glob("*.parquet")))
    return dict(zip(frame["response_id"].to_list(), frame["score"].to_list(), strict=True))


def compare(pairs, theirs: dict, ours: dict[str, float]) -> dict:
    """theirs: example_id -> {chosen, rejected}; ours: response_id -> score."""
    deltas, relative, differ, acc_theirs, acc_ours = [], [], [], 0, 0
    for row in pairs.iter_rows(named=True):
        t = theirs[row["example_id"]]
        oc, orj = ours[row["chosen_id"]], ours[row["rejected_id"]]
        deltas += [abs(t["chosen"] - oc), abs(t["rejected"] - orj)]
        # float32 sums of hundreds of log-probs carry ~1e-7 of their size: the relative error shows it
        relative += [abs(t["chosen"] - oc) / max(abs(t["chosen"]), 1.0)]
        relative += [abs(t["rejected"] - orj) / max(abs(t["rejected"]), 1.0)]
        win_t, win_o = t["chosen"] > t["rejected"], oc > orj
        acc_theirs += win_t
        acc_ours += win_o
        if win_t != win_o:
            differ.append(row["example_id"])
    deltas.sort()
    n = pairs.height
    return {
        "pairs": n,
        "max_abs_delta": deltas[-1],
        "median_abs_delta": deltas[len(deltas) // 2],
        "max_relative_delta": max(relative),
        "accuracy_rewardbench": acc_theirs / n,
        "accuracy_ours": acc_ours / n,
        "per_example_outcomes_identical": not differ,
        "examples_with_different_outcome": len(differ),
        "different_outcome_ids": differ[:20],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", default=str(RESULTS / "parity.json"))
    args = parser.parse_args()
    set_offline_env()
    if not RB_VENV_PYTHON.exists():
        sys.exit("bench/.venv-rewardbench is missing: run bench/setup_rewardbench_venv.sh first")
    import torch
    from transformers import AutoTokenizer

    from rb_pipeline.catalog.entries import ModelEntry
    from rb_pipeline.core.settings import ScorerSettings

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    examples, responses = load_rmb_pairwise()
    texts = responses["text"].unique(maintain_order=True).to_list()[::50][:300]
    models = build_models(texts)
    tokenizer = AutoTokenizer.from_pretrained(models["policy"])
    keep = eligible(examples, responses, tokenizer)
    picked = sample_by_prompt(examples, args.pairs, seed=args.seed, keep=keep)
    picked_responses = responses.join(picked.select("example_id"), on="example_id", how="semi")
    pairs = pairs_table(picked, picked_responses)
    folder = CACHE / "data" / f"parity-{args.pairs}-{args.seed}"
    folder.mkdir(parents=True, exist_ok=True)
    data_json = write_rewardbench_json(pairs, folder / "pairs.jsonl")
    eprint(
        f"parity: {pairs.height} pairs ({len(keep)} of {examples.height} RMB pairs fit {MAX_TOKENS} tokens)"
    )

    # ---- rewardbench (real package, own venv)
    rb_cls = {}
    for batch in (8, 1):
        out_dir = CACHE / "rb-out" / f"parity-cls-bs{batch}"
        shutil.rmtree(out_dir, ignore_errors=True)
        run = run_worker(
            RB_VENV_PYTHON,
            BENCH / "_rb_classifier_worker.py",
            [
                "--model",
                str(models["classifier"].relative_to(CACHE)),
                "--dataset",
                str(data_json),
                "--output-dir",
                str(out_dir.relative_to(CACHE)) + "/",
                "--batch-size",
                str(batch),
                "--max-length",
                "1024",
                "--threads",
                str(args.threads),
                "--no-force-truncation",  # the CLI's default: no truncation (nothing here is too long)
                "--skip-matmul",
            ],
            cwd=CACHE,
            log=CACHE / "logs" / f"parity-rb-classifier-bs{batch}.log",
        )
        rb_cls[batch] = {row["example_id"]: row for row in run["scores"]}
    rb_dpo = run_worker(
        RB_VENV_PYTHON,
        BENCH / "_rb_dpo_worker.py",
        [
            "--policy",
            str(models["policy"]),
            "--ref",
            str(models["ref"]),
            "--dataset",
            str(data_json),
            "--batch-size",
            "8",
            "--threads",
            str(args.threads),
        ],
        log=CACHE / "logs" / "parity-rb-dpo.log",
    )["scores"]

    # ---- ours
    home = CACHE / "lakes" / "parity"
    shutil.rmtree(home, ignore_errors=True)
    settings = ScorerSettings(max_length=1024, batch_size=8, dtype="float32")
    cls_entry = ModelEntry(
        id="bench/tiny-rm", source=str(models["classifier"]), type="classifier", dtype="float32"
    )
    ours = {"classifier": ours_scores(cls_entry, settings, picked, picked_responses, home)}
    dpo_entry = ModelEntry(
        id="bench/tiny-dpo",
        source=str(models["policy"]),
        type="dpo",
        ref_model=str(models["ref"]),
        dtype="float32",
    )
    ours["ref"] = ours_scores(dpo_entry, settings, picked, picked_responses, home)
    free_entry = ModelEntry(
        id="bench/tiny-dpo-ref-free", source=str(models["policy"]), type="dpo", dtype="float32"
    )
    for kind in ("sum", "avg", "norm"):
        kind_settings = ScorerSettings(max_length=1024, batch_size=8, dtype="float32", ref_free_type=kind)
        ours[kind] = ours_scores(free_entry, kind_settings, picked, picked_responses, home)
    # dpo_tokens="clean" (the header is prompt, no appended EOS) against rewardbench fed the same tokens
    clean = ScorerSettings(max_length=1024, batch_size=8, dtype="float32", dpo_tokens="clean")
    ours["clean/ref"] = ours_scores(dpo_entry, clean, picked, picked_responses, home)
    for kind in ("sum", "avg", "norm"):
        kind_settings = ScorerSettings(
            max_length=1024, batch_size=8, dtype="float32", ref_free_type=kind, dpo_tokens="clean"
        )
        ours[f"clean/{kind}"] = ours_scores(free_entry, kind_settings, picked, picked_responses, home)

    results = {
        "classifier (rewardbench CLI, batch 8, as published)": compare(pairs, rb_cls[8], ours["classifier"]),
        "classifier (rewardbench CLI, batch 1: no padding)": compare(pairs, rb_cls[1], ours["classifier"]),
    }
    for kind, label in (
        ("ref", "dpo with reference"),
        ("sum", "dpo ref-free sum"),
        ("avg", "dpo ref-free avg"),
        ("norm", "dpo ref-free norm"),
    ):
        results[f"{label} (rewardbench DPOInference as published; ours, default dpo_tokens)"] = compare(
            pairs, rb_dpo[f"published/{kind}"], ours[kind]
        )
        results[f"{label} (rewardbench DPOInference, aligned inputs; ours, dpo_tokens=clean)"] = compare(
            pairs, rb_dpo[f"aligned/{kind}"], ours[f"clean/{kind}"]
        )
    report = {
        "what": "per-response scores: rb_pipeline.score_model vs the real rewardbench 0.1.4 code, tiny models, CPU",
        "rewardbench": "real package 0.1.4 (bench/.venv-rewardbench, transformers 4.51.0, trl 0.19.1), not a reimplementation",
        "data": {
            "benchmark": "rmb-pairwise (RB_MIRROR, rb_pipeline.sources.normalize)",
            "pairs": pairs.height,
            "sampling": f"whole prompts at random (seed {args.seed}) among pairs whose every sequence is "
            f"<= {MAX_TOKENS} tiny-tokenizer tokens (no truncation on either side)",
            "eligible_pairs": len(keep),
        },
        "models": {k: str(v.relative_to(BENCH)) for k, v in models.items()},
        "settings": {
            "ours": "max_length 1024, batch_size 8, float32; dpo_tokens rewardbench (default) and clean",
            "rewardbench": "batch 8 (and 1), float32, CPU",
        },
        "results": results,
        "wall_s": time.perf_counter() - started,
    }
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    for name, r in results.items():
        print(
            f"{name:70s} max|d|={r['max_abs_delta']:.3g}  acc rb={r['accuracy_rewardbench']:.4f} "
            f"ours={r['accuracy_ours']:.4f}  identical={r['per_example_outcomes_identical']} "
            f"({r['examples_with_different_outcome']} differ)"
        )
    eprint(f"wrote {out} in {report['wall_s']:.0f} s")


if __name__ == "__main__":
    main()
