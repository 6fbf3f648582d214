"""Errors every layer may raise for the CLI to print."""


class UserError(Exception):
    """Anything the user can fix; printed as one line."""
