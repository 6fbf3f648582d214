"""rewardbench's DPO scoring with its own code (rewardbench 0.1.4 `DPOInference` + trl's
`DPODataCollatorWithPadding`), run inside `bench/.venv-rewardbench`.

The loop is the one of the `rewardbench` CLI's DPO branch (and `scripts/run_dpo.py` for the reference-free
types): `load_and_process_dataset` (chat template via the tokenizer) -> `dataset.map(dpo.tokenize_row)` ->
DataLoader(batch_size, DPODataCollatorWithPadding) -> `dpo.inference_step(batch, ref_free=...)`.
CPU changes only: models load in float32 on the CPU (the CLI loads them 8-bit with bitsandbytes, CUDA only).

Modes:
- `published`: exactly as above.
- `aligned`: the same code fed inputs that remove the differences between rewardbench and
  rb_pipeline that are known (see rb_pipeline/models/dpo.py and bench/README.md): the prompt text is
  rendered with the generation prompt (so the assistant header is prompt, not response), and the EOS
  that `tokenize_row` appends after the template's own end of turn is dropped from each response.
- `generation_prompt_only` / `no_appended_eos_only`: one of the two, to attribute the differences.

Prints one JSON line: per example, chosen and rejected rewards for each (mode, kind).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--policy", required=True)
    parser.add_argument("--ref", required=True)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from accelerate import Accelerator
    from rewardbench import DPOInference, load_and_process_dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl.trainer.utils import DPODataCollatorWithPadding

    accelerator = Accelerator(cpu=True)
    tokenizer = AutoTokenizer.from_pretrained(args.policy)
    # as the CLI does
    tokenizer.pad_token = tokenizer.eos_token
    if tokenizer.bos_token is None:
        tokenizer.bos_token_id = tokenizer.eos_token_id
        tokenizer.pad_token_id = tokenizer.eos_token_id
    policy = AutoModelForCausalLM.from_pretrained(args.policy, torch_dtype=torch.float32)
    ref = AutoModelForCausalLM.from_pretrained(args.ref, torch_dtype=torch.float32)

    dataset = load_and_process_dataset(args.dataset, json=True, tokenizer=tokenizer)
    example_ids = dataset["example_id"]
    keep = ["prompt", "text_chosen", "text_rejected"]
    dataset = dataset.remove_columns([c for c in dataset.column_names if c not in keep])

    def with_generation_prompt(example):
        messages = json.loads(example["_messages"])
        example["prompt"] = tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        return example

    raw = [json.loads(line) for line in Path(args.dataset).read_text(encoding="utf-8").splitlines()]
    out: dict[str, dict] = {}
    for mode in ("published", "generation_prompt_only", "no_appended_eos_only", "aligned"):
        gen_prompt = mode in ("generation_prompt_only", "aligned")
        drop_eos = mode in ("no_appended_eos_only", "aligned")
        data = dataset
        if gen_prompt:
            data = dataset.add_column("_messages", [json.dumps(r["chosen"][:-1]) for r in raw])
            data = data.map(with_generation_prompt).remove_columns("_messages")
        for kind in ("ref", "sum", "avg", "norm"):
            if kind == "ref":
                dpo = DPOInference(policy, ref, tokenizer=tokenizer, accelerator=accelerator)
            else:
                dpo = DPOInference(
                    policy, None, tokenizer=tokenizer, accelerator=accelerator, ref_free_norm=kind
                )
            tokenized = data.map(dpo.tokenize_row, remove_columns=list(data.features))
            if drop_eos:
                tokenized = tokenized.map(drop_appended_eos)
            loader = torch.utils.data.DataLoader(
                tokenized,
                batch_size=args.batch_size,
                collate_fn=DPODataCollatorWithPadding(
                    pad_token_id=tokenizer.pad_token_id,
                    label_pad_token_id=dpo.label_pad_token_id,
                    is_encoder_decoder=dpo.is_encoder_decoder,
                ),
                shuffle=False,
                drop_last=False,
            )
            chosen, rejected = [], []
            with torch.no_grad():
                for batch in loader:
                    c, r = dpo.inference_step(batch, ref_free=kind != "ref")
                    chosen += c.float().cpu().numpy().tolist()
                    rejected += r.float().cpu().numpy().tolist()
            out[f"{mode}/{kind}"] = {
                eid: {"chosen": c, "rejected": r}
                for eid, c, r in zip(example_ids, chosen, rejected, strict=True)
            }
    n_tokens = {eid: len(row["chosen_input_ids"]) for eid, row in zip(example_ids, tokenized, strict=True)}
    print(json.dumps({"scores": out, "max_chosen_tokens_aligned": max(n_tokens.values())}))


def drop_appended_eos(row):
    """`tokenize_row` appends EOS to each response; the template already ended the turn."""
    for side in ("chosen", "rejected"):
        for key in ("input_ids", "attention_mask", "labels"):
            row[f"{side}_{key}"] = row[f"{side}_{key}"][:-1]
    return row


if __name__ == "__main__":
    main()
