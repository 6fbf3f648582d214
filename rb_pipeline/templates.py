"""Named chat templates for models whose tokenizer has none (rewardbench's `--chat_template`).

Each is a Jinja template over `messages`, as `tokenizer.apply_chat_template` expects. The names follow
FastChat's conversation templates that rewardbench uses; the strings reproduce their prompt layout.
"""

from __future__ import annotations

NAMED_TEMPLATES: dict[str, str] = {
    # FastChat "raw": the messages' contents joined with no roles.
    "raw": "{% for m in messages %}{{ m['content'] }}{% endfor %}",
    # FastChat "tulu": <|user|>\n...\n<|assistant|>\n...
    "tulu": ("{% for m in messages %}{{ '<|' + m['role'] + '|>\\n' + m['content'] + '\\n' }}{% endfor %}"),
    # FastChat "pku-align": BEGINNING OF CONVERSATION: USER: ... ASSISTANT:...
    "pku-align": (
        "BEGINNING OF CONVERSATION:{% for m in messages %}"
        "{% if m['role'] == 'user' %} USER: {{ m['content'] }}{% else %} ASSISTANT:{{ m['content'] }}"
        "{% endif %}{% endfor %}"
    ),
}


def resolve_template(name: str | None, tokenizer_template: str | None) -> str:
    """The Jinja template to use: a named one, else the tokenizer's own; error when neither exists."""
    if name in (None, "tokenizer"):
        if not tokenizer_template:
            raise ValueError(
                f"the tokenizer has no chat template: pass a named one ({sorted(NAMED_TEMPLATES)})"
            )
        return tokenizer_template
    if name not in NAMED_TEMPLATES:
        raise ValueError(
            f"unknown chat template {name!r} (known: tokenizer, {', '.join(sorted(NAMED_TEMPLATES))})"
        )
    return NAMED_TEMPLATES[name]
