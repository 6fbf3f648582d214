"""Process reward models in the catalog: how a step-level benchmark is scored (`StepScoring`, the
`steps:` block of a benchmark of kind `steps`) and how a PRM reads its step scores (`PrmHead`, the
`prm:` block of a model entry of type `prm`). Each rule is named here once and written once in SQL
(sql/prm_*.sql)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rb_pipeline.core.kinds import kinds_with, model_kind

# The step-level rules, by name; the SQL of each names its upstream file and lines.
STEP_RULES: dict[str, str] = {
    "processbench": "ProcessBench (run_eval.py:112-129): the predicted index is the first step whose score "
    "is not above the threshold (-1: none); right when it equals the label exactly; per subset the "
    "accuracies on erroneous and on correct solutions and their harmonic mean (F1); overall = the mean "
    "of the subset F1s; the threshold is the one that gives the best F1 on `threshold_from` (paper §4.1)",
    "prmbench": "PRMBench (prmtest_classified/task.py:248-294, 200-235): every step judged correct when its "
    "score is above the threshold; an error step judged correct is FP, judged wrong TN; any other step "
    "judged correct TP, judged wrong FN; counts summed per category and over all non-`correct` items; "
    "PRMScore = max(0, (F1 + negative F1) / 2), F1 alone where no step is an error (`f1_only`); group = "
    "the plain mean of its categories' PRMScores",
}
StepRule = Literal["processbench", "prmbench"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StepScoring(_Frozen):
    """How a step-level benchmark turns step scores into its numbers."""

    rule: StepRule
    threshold: float | None = None  # a fixed threshold (PRMBench: 0.5, models/abstract_model.py:18)
    threshold_from: str | None = None  # or the subset on which the best-F1 threshold is chosen
    groups: dict[str, tuple[str, ...]] = {}  # group -> its subsets (PRMBench: simplicity, ...)
    f1_only: tuple[str, ...] = ()  # subsets scored on F1 alone (PRMBench multi_solutions)
    outside_overall: tuple[str, ...] = ()  # subsets shown but not pooled (PRMBench `correct`)

    @model_validator(mode="after")
    def _one_threshold(self) -> StepScoring:
        if (self.threshold is None) == (self.threshold_from is None):
            raise ValueError("give either `threshold` or `threshold_from`")
        return self

    def subsets_named(self) -> set[str]:
        """Every subset this block names (the benchmark checks they are declared)."""
        grouped = {name for members in self.groups.values() for name in members}
        return grouped | set(self.f1_only) | set(self.outside_overall) | {self.threshold_from} - {None}


class PrmHead(_Frozen):
    """Where a PRM's step scores are read: the token after each step (`step_tag`, one token of the
    tokenizer) and what is read there.

    token-classification: softmax over the head's labels at the tag, the `good_label` column
    (Qwen2.5-Math-PRM: `<extra_0>`, label 1). causal-lm: softmax over the LM's logits of `good_token`
    and `bad_token` at the tag, the good one (Math-Shepherd: ` ки`, `+`, `-`)."""

    head: Literal["token-classification", "causal-lm"]
    step_tag: str = Field(min_length=1)
    # what follows each step in the text, holding the tag (default: the tag alone); Math-Shepherd: " ки\n"
    after_step: str | None = None
    good_label: int = Field(default=1, ge=0)
    good_token: str | None = None
    bad_token: str | None = None
    # the solution's text: the chat template over [prompt..., assistant: steps], or the prompt's last
    # turn, a newline and the steps (Math-Shepherd's plain `question step ки step ки`)
    template: Literal["chat", "plain"] = "chat"

    @model_validator(mode="after")
    def _tokens_for_lm(self) -> PrmHead:
        if self.head == "causal-lm" and not (self.good_token and self.bad_token):
            raise ValueError("a causal-lm head needs `good_token` and `bad_token`")
        if self.after_step is not None and self.step_tag not in self.after_step:
            raise ValueError(f"after_step: {self.after_step!r} does not hold the step tag {self.step_tag!r}")
        return self


def kind_mismatch(model_type: str, benchmark_kind: str) -> str | None:
    """Why a model of this type does not score a benchmark of this kind (None: it does): process reward
    models score step-level benchmarks only, and only they do."""
    if model_kind(model_type).scores_steps == (benchmark_kind == "steps"):
        return None
    types = " or ".join(kinds_with("scores steps"))  # the declared step scorers (core.kinds)
    if benchmark_kind == "steps":
        return f"step-level data, scored by process reward models (type {types}) only"
    return f"a process reward model (type {types}) scores step-level benchmarks only"
