"""Core reply text (a small Markdown subset with placeholders) as Slack ``mrkdwn``.

- ``**bold**`` → ``*bold*``, ``*italic*`` → ``_italic_``, ``- `` bullets → ``• ``;
- ``{t:<unix>:<style>}`` → ``<!date^unix^{tokens}|fallback>``: Slack shows each reader the
  instant in their own time zone; the fallback (old clients, notifications) is UTC text;
- ``{u:<user id>}`` → ``<@id>``;
- ``/peeradmin <sub>`` → ``/peer admin <sub>`` (Slack has one command, see grammar.py).

User-typed text reaches us inside core replies (reasons, goals), so ``&``, ``<`` and ``>``
are escaped first; only the markup made here may contain ``<...>``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from core.replies import split_lines, substitute

SECTION_LIMIT = 3000  # Slack's limit on a section block's text

# Slack date tokens per core style (the core borrows Discord's letters).
_DATE_TOKENS = {
    "F": "{date_long_pretty} {time}",
    "f": "{date_short_pretty} {time}",
    "D": "{date_long_pretty}",
    "d": "{date_num}",
    "t": "{time}",
    "T": "{time_secs}",
    "R": "{ago}",
}
_CODE = re.compile(r"(`[^`\n]*`)")
_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_ITALIC = re.compile(r"(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])")
_ADMIN = re.compile(r"/peeradmin\b")
_BOLD_MARK = "\x00"  # stands for Slack's '*' while italics are converted


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def date_token(unix: int, style: str = "F") -> str:
    """``<!date^...>`` for an instant; each reader sees it in their own zone."""
    tokens = _DATE_TOKENS.get(style, _DATE_TOKENS["F"])
    when = datetime.fromtimestamp(unix, tz=UTC)
    fallback = f"{when:%a %d %b %Y %H:%M} UTC"
    return f"<!date^{unix}^{tokens}|{fallback}>"


def _emphasis(part: str) -> str:
    part = _BOLD.sub(lambda m: f"{_BOLD_MARK}{m.group(1)}{_BOLD_MARK}", part)
    part = _ITALIC.sub(lambda m: f"_{m.group(1)}_", part)
    return part.replace(_BOLD_MARK, "*")


def mrkdwn(text: str) -> str:
    """Core text → Slack mrkdwn (escaped, placeholders resolved)."""
    text = _ADMIN.sub("/peer admin", escape(text))
    # Emphasis is not converted inside `code` spans, where asterisks are literal.
    text = "".join(p if p.startswith("`") else _emphasis(p) for p in _CODE.split(text))
    lines = [("• " + line[2:]) if line.startswith("- ") else line for line in text.split("\n")]
    text = "\n".join(lines)
    return substitute(text, lambda t: date_token(t.unix, t.style),
                      lambda u: f"<@{u.user_id}>")


def plain(text: str, limit: int = 150) -> str:
    """Core text as short plain text (modal titles, option labels, notifications)."""
    text = _ADMIN.sub("/peer admin", text).replace("**", "")
    text = substitute(text, lambda t: f"{datetime.fromtimestamp(t.unix, tz=UTC):%a %d %b %H:%M} "
                      "UTC", lambda u: f"@{u.user_id}")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def chunks(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split mrkdwn into pieces of at most ``limit`` characters, at line breaks if possible."""
    out = split_lines(text, limit)
    return [c for c in out if c.strip()] or [" "]
