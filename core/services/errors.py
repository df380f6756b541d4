"""Refusals: the polite way a use case says no. Dispatch rolls back and shows the text."""

from __future__ import annotations


class Refusal(Exception):
    """A user-facing 'no', with optional per-field messages for forms."""

    def __init__(self, message: str, field_errors: dict[str, str] | None = None,
                 code: str = "") -> None:
        super().__init__(message)
        self.field_errors = field_errors or {}
        self.code = code  # a stable name for callers that act on the kind of refusal
