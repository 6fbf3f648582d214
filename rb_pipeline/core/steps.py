"""A step-level solution as one response text: its steps as a JSON list, so the steps survive the
shared `responses` table unchanged (a PRM scorer reads them back; identical solutions share an id)."""

from __future__ import annotations

import json


def steps_text(steps: list[str] | tuple[str, ...]) -> str:
    """The response text of a solution made of `steps`."""
    return json.dumps(list(steps), ensure_ascii=False)


def text_steps(text: str) -> list[str]:
    """The steps of a solution's response text (`steps_text`); a text that is no JSON list of strings
    is one step."""
    try:
        steps = json.loads(text)
    except ValueError:
        return [text]
    if isinstance(steps, list) and steps and all(isinstance(step, str) for step in steps):
        return steps
    return [text]
