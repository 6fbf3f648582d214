"""The schema of every table in the lake (polars dtypes), in one place: each layer that writes or reads a
table takes its columns from here."""

from __future__ import annotations

import polars as pl

# ---------------------------------------------------------------- normalized datasets (sources.normalize)

DATASET_TABLES = ("examples", "responses", "rejects", "step_solutions", "steps")  # steps: sources.steps
MESSAGE = pl.Struct({"role": pl.String, "content": pl.String})
EXAMPLES_SCHEMA = {
    "benchmark": pl.String,
    "subset": pl.String,
    "example_id": pl.String,
    "prompt": pl.List(MESSAGE),
    "source_revision": pl.String,
    "source_file": pl.String,
    "source_row": pl.Int64,
}
RESPONSES_SCHEMA = {
    "benchmark": pl.String,
    "example_id": pl.String,
    "response_id": pl.String,
    "position": pl.Int32,
    "text": pl.String,
    "label": pl.String,
    "source_model": pl.String,
}
REJECTS_SCHEMA = {
    "benchmark": pl.String,
    "source_file": pl.String,
    "source_row": pl.Int64,
    "subset": pl.String,  # the subset the catalog gives the file; null when rows name their own
    "reason": pl.String,
    "excerpt": pl.String,
}

# ---------------------------------------------------------------- step-level data (sources.steps)

# Benchmarks of kind `steps` (process reward models) also write these: one row per solution and one
# per step. The solution itself is a response whose text holds its steps (core.steps.steps_text).
STEP_TABLES = ("step_solutions", "steps")
STEP_SOLUTIONS_SCHEMA = {
    "benchmark": pl.String,
    "subset": pl.String,
    "example_id": pl.String,
    "response_id": pl.String,
    "n_steps": pl.Int32,
    # 0-based index of the earliest wrong step, -1 when none (ProcessBench's `label`; PRMBench: the
    # first of its error steps that exists)
    "first_error": pl.Int32,
    "error_steps": pl.List(pl.Int32),  # 1-based, as published (PRMBench); null where only the first is known
    "error_steps_past_end": pl.Int32,  # error steps naming no step of the solution (upstream ignores them)
}
STEPS_SCHEMA = {
    "benchmark": pl.String,
    "subset": pl.String,
    "example_id": pl.String,
    "response_id": pl.String,
    "step": pl.Int32,  # 0-based
    "text": pl.String,
    "label": pl.String,  # correct | error | null: unknown (after ProcessBench's first error)
}

# ---------------------------------------------------------------- scores and runs (engine)

SCORES_SCHEMA = {
    "model": pl.String,
    "run_id": pl.String,
    "settings_key": pl.String,
    "response_id": pl.String,
    "score": pl.Float64,
    "score_vector": pl.List(pl.Float64),
    "n_tokens": pl.Int32,
    "truncated_tokens": pl.Int32,
    "reused": pl.Boolean,
}
RUNS_SCHEMA = {
    "run_id": pl.String,
    "model": pl.String,
    "model_revision": pl.String,
    "model_type": pl.String,
    "settings": pl.String,
    "settings_key": pl.String,
    "benchmarks": pl.List(pl.String),
    "device": pl.String,
    "started_at": pl.Datetime("us", "UTC"),
    "ended_at": pl.Datetime("us", "UTC"),
    "status": pl.String,
    "provenance": pl.String,
    "n_responses": pl.Int64,
    "n_scored": pl.Int64,
    "n_reused": pl.Int64,
    "n_truncated": pl.Int64,
    "max_length": pl.Int64,  # the one used: the setting capped by the model's context
    "responses_per_s": pl.Float64,
    "tokens_per_s": pl.Float64,
    "padding_overhead": pl.Float64,
    "package_versions": pl.String,
    "git_hash": pl.String,
    "host": pl.String,  # where the run's process runs: with `pid`, how a dead run is told from a live one
    "pid": pl.Int64,
    # which data the run covered: per benchmark its source (mirror | hub@<repo>@<revision> | sample |
    # local) and examples (rb_pipeline.sources.datasets.run_sources); imported runs leave them empty
    "data_sources": pl.List(pl.Struct({"benchmark": pl.String, "source": pl.String, "examples": pl.Int64})),
    "n_examples": pl.Int64,
    # responses continued from their example's cached prompt (scorers with shared prompts), and the
    # rest, scored as whole sequences; imported runs and runs before shared prompts leave them empty
    "n_prompt_shared": pl.Int64,
    "n_prompt_full": pl.Int64,
}

# ---------------------------------------------------------------- judgments (engine.judging)

JUDGMENTS_SCHEMA = {
    "model": pl.String,
    "run_id": pl.String,
    "settings_key": pl.String,
    "benchmark": pl.String,
    "example_id": pl.String,
    "response_a_id": pl.String,
    "response_b_id": pl.String,
    "protocol": pl.String,  # pairwise | ratings | four-way (engine.judging; null in older files: pairwise)
    "pair_order": pl.String,  # pairwise: chosen_first | rejected_first; rating | rating_ties; chosen_at_A..D
    "sampled": pl.Boolean,  # the order drawn for the single-order (RewardBench) credit
    "judge": pl.Int32,  # index of the ensemble member (0 for a single judge)
    "judge_model": pl.String,
    "answer_ids": pl.List(pl.String),  # the answers in the order shown (pairwise [A, B]; a rating [it])
    "verdict": pl.String,  # pairwise: A | B | tie | error; ratings: rated | error; four-way: A-D | error
    "raw_output": pl.String,  # generative: the judge's reply (or the HTTP error); else null
    "judge_score": pl.Float64,  # pairwise-judge: the model's score (> 0: A); ratings: the 1-10 rating
    "n_tokens": pl.Int32,  # prompt tokens (local models; 0 over HTTP)
    "truncated_tokens": pl.Int32,  # > 0: the input was too long by this much and was not judged
    "reused": pl.Boolean,
}

# ---------------------------------------------------------------- imported results (sources.results.importer)

IMPORTED_METRICS_SCHEMA = {
    "model": pl.String,
    "run_id": pl.String,
    "benchmark": pl.String,
    "subset": pl.String,
    "n": pl.Int64,  # NULL for a metrics file: its counts are unknown
    "accuracy": pl.Float64,
    "score": pl.Float64,  # a subset score that is not an accuracy (rb2-ties: RewardBench 2's Ties score)
}
IMPORTED_OUTCOMES_SCHEMA = {
    "model": pl.String,
    "run_id": pl.String,
    "benchmark": pl.String,
    "subset": pl.String,
    "example_id": pl.String,
    "correct": pl.Boolean,
    "margin": pl.Float64,
    "credit": pl.Float64,  # the file's result: 1, 0, or a share (0.5 for a judge's tie, 1/k in RewardBench 2)
    "chosen_spread": pl.Float64,  # best - worst correct answer (RewardBench 2 Ties rows), else null
}

# ---------------------------------------------------------------- catalog tables (warehouse.views)

BENCHMARKS_SCHEMA = {
    "benchmark": pl.String,
    "title": pl.String,
    "kind": pl.String,
    "suspect_min_models": pl.Int64,
}
SUBSET_WEIGHTS_SCHEMA = {
    "benchmark": pl.String,
    "subset": pl.String,
    "section": pl.String,
    "weight": pl.Float64,
    "expected_rows": pl.Int64,
    "rule": pl.String,
}
SECTIONS_SCHEMA = {
    "benchmark": pl.String,
    "section": pl.String,
    "title": pl.String,
    "column_name": pl.String,
    "overall": pl.String,
    "overall_column": pl.String,
    "overall_weight": pl.Float64,
    "required": pl.Boolean,
    "needs": pl.String,
    "aggregation": pl.String,
}
SCORING_RULES_SCHEMA = {"rule": pl.String, "applies_to": pl.String, "definition": pl.String}
ENSEMBLE_MEMBERS_SCHEMA = {"ensemble": pl.String, "member": pl.String, "combine": pl.String}
# judged: a judge (its runs write judgments, judged in pairs), else a scorer (per-response scores)
MODEL_KINDS_SCHEMA = {"kind": pl.String, "judged": pl.Boolean, "scores_steps": pl.Boolean}
