"""Finding what an earlier, unclear attempt already posted on Slack (issue 10.1).

Slack does not deduplicate ``chat.postMessage``: a retry after a 500, a timeout or a
dropped connection posts a second copy if the first one went through. So every message the
deliverer posts carries its outbox key in message ``metadata``::

    {"event_type": "peermatch_delivery", "event_payload": {"key": ..., "step": ...}}

and before posting again after an unclear outcome the deliverer reads the conversation's
recent history (``conversations.history`` with ``include_all_metadata``; the ``*:history``
scopes) and treats a message carrying the same key and step as delivered.

Files cannot carry metadata; an upload is found again as a file share of the bot with the
same file names, later than the text it follows (which is found by its metadata).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

EVENT_TYPE = "peermatch_delivery"
# How far back a retry looks: one page of the most recent messages. A retry comes within
# minutes of the attempt it checks, and a match's DM or space rarely sees a hundred
# messages in between; an older copy is not looked for (bounded cost per retry).
HISTORY_LIMIT = 100


def metadata(key: str, step: str) -> dict[str, Any]:
    """The message metadata that names one step of one outbox message."""
    return {"event_type": EVENT_TYPE, "event_payload": {"key": key, "step": step}}


def posted(history: Sequence[dict[str, Any]], key: str, step: str) -> str | None:
    """The ``ts`` of a message in ``history`` that carries this key and step, if any."""
    for message in history:
        meta = message.get("metadata") or {}
        payload = meta.get("event_payload") or {}
        if (meta.get("event_type") == EVENT_TYPE and payload.get("key") == key
                and payload.get("step") == step):
            return str(message.get("ts"))
    return None


def _ts(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def uploaded(history: Sequence[dict[str, Any]], bot_user: str, filenames: Sequence[str],
             after_ts: str) -> str | None:
    """The ids of a file share by the bot, later than ``after_ts``, holding all these files."""
    wanted = set(filenames)
    for message in history:
        if message.get("user") != bot_user or _ts(message.get("ts")) <= _ts(after_ts):
            continue
        files = message.get("files") or []
        if wanted <= {str(f.get("name")) for f in files}:
            return ",".join(str(f.get("id")) for f in files)
    return None
