"""The steps of one multi-step delivery, as both platform deliverers run them (issue 10.1).

A delivery such as "post the text, then upload the files" or "open the space, then post the
intro" is a list of named steps. What each finished step answered (a message ts, a space
id) is kept in ``OutboxMessage.progress`` through the dispatcher's ``StepJournal``, so a
retry skips what is done: a failed file upload never posts the text again. When the row is
``unclear`` (an earlier attempt's outcome is unknown), a step not in ``progress`` may still
have happened; the deliverer then asks the platform (``reconciling``) before doing it.
"""

from __future__ import annotations

import hashlib

from core.model import OutboxMessage
from core.ports import StepJournal

NONCE_LENGTH = 25  # Discord's longest string nonce


def step_nonce(key: str, step: str) -> str:
    """A short stable name of one step of one message (the same on every attempt and in
    every process): ``pm`` + 23 hex digits of SHA-256 of the key and step. Discord takes it
    as the message nonce; both platforms can find it again in a channel's history."""
    digest = hashlib.sha256(f"{key}\x00{step}".encode()).hexdigest()
    return ("pm" + digest)[:NONCE_LENGTH]


class Steps:
    """Finished steps of one message: read them, record new ones at once."""

    def __init__(self, message: OutboxMessage, journal: StepJournal | None) -> None:
        self.key = message.idempotency_key
        self.done: dict[str, str] = dict(message.progress)
        # Unclear: the last attempt may have done more than ``progress`` says.
        self.reconciling = message.unclear
        self.unclear_since = message.attempt_started_at  # when that attempt began
        self._journal = journal

    def get(self, step: str) -> str | None:
        """What ``step`` answered when it finished, or None if it has not (as far as known)."""
        return self.done.get(step)

    async def finish(self, step: str, answer: str) -> str:
        """Record ``step`` as done (durably, before the next step starts); returns answer."""
        self.done[step] = answer
        if self._journal is not None:
            await self._journal(step, answer)
        return answer

    def nonce(self, step: str) -> str:
        return step_nonce(self.key, step)
