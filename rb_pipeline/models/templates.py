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


def is_jinja(template: str) -> bool:
    """A template written out in the entry (rather than a name)."""
    return "{{" in template or "{%" in template


def resolve_template(name: str | None, tokenizer_template: str | None) -> str:
    """The Jinja template to use: the entry's own (a name above, or a Jinja string), else the
    tokenizer's. Without either this refuses: joining the turns without roles would score a text the
    model was never trained on, and silently."""
    if name in (None, "tokenizer"):
        if not tokenizer_template:
            raise ValueError(
                "the tokenizer has no chat template and the model's entry names none; set the "
                f"entry's `chat_template` to one of {', '.join(sorted(NAMED_TEMPLATES))} or a Jinja template"
            )
        return tokenizer_template
    if is_jinja(name):
        return name
    if name not in NAMED_TEMPLATES:
        raise ValueError(
            f"unknown chat template {name!r} (known: tokenizer, {', '.join(sorted(NAMED_TEMPLATES))}, "
            "or a Jinja template)"
        )
    return NAMED_TEMPLATES[name]
