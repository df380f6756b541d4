"""Accepted work: what the bot told a platform it would do, kept until it is done.

Slack and Discord want an answer within 3 s. A command that cannot finish in that time (a
matching round), or a follow-up of a command that should not delay its reply (an instant
match after a join), is written here *before* the ack, or in the same transaction as the
command that caused it, and run from here afterwards (core/services/accepted.py). A crash
after the ack therefore loses nothing: on restart the row is still pending and runs then,
or, after ``MAX_ATTEMPTS`` runs that never finished, the person is told it did not happen.

States: ``pending`` (accepted, not done yet) -> ``done`` (its effects committed, in the
same transaction that marks it done, so it runs at most once; the reply kept) ->
``replied`` (the reply reached the person). ``failed``: given up, the person told.
A claim (``claim_token`` and a lease, ``claimed_until``) keeps two runners off one row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from core import keys
from core.messages import DirectMessage
from core.replies import Reply

MAX_ATTEMPTS = 3
TOKEN_LENGTH = 32  # the claim_token column


def claim_prefix(instance: str) -> str:
    """The start of every claim token of the process named ``instance`` (bot/config.py
    ``instance_id``, stable across its restarts): a restarted process finds the rows it
    held when it died by it and takes them back at once. Hashed: an instance id is longer
    than a token and may name a host; empty (no instance: a test, an app run alone) gives
    no prefix, so nobody else's claims ever match."""
    if not instance:
        return ""
    return hashlib.sha256(instance.encode()).hexdigest()[:16] + "."


class WorkKind(StrEnum):
    COMMAND = "command"  # a catalogue command run after its ack (payload: the request)
    INSTANT_MATCH = "instant_match"  # after a join (payload: community and learner ids)


class WorkState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    REPLIED = "replied"
    FAILED = "failed"


@dataclass
class AcceptedWork:
    """One accepted piece of work.

    ``payload`` is what to run (for a command: ``command``, ``args`` and who asked, as the
    adapter needs to rebuild its request); ``reply_to`` is the adapter's own way back to
    the person (a Slack response_url and user id, a Discord interaction token, ...), opaque
    to the core. ``result`` is the reply once done (text, ok, ephemeral)."""

    kind: WorkKind
    platform: str
    community_external_id: str
    payload: dict[str, Any]
    accepted_at: datetime
    reply_to: dict[str, str] = field(default_factory=dict)
    state: WorkState = WorkState.PENDING
    attempts: int = 0
    claim_token: str = ""
    claimed_until: datetime | None = None
    result: dict[str, Any] = field(default_factory=dict)
    finished_at: datetime | None = None
    id: int | None = None

    @property
    def command(self) -> str:
        return str(self.payload.get("command") or "")


FOLLOW_UP = "follow_up"
"""Key in ``Reply.data``: the command accepted work to run after its reply (the adapter then
wakes the runner)."""


def instant_match_work(platform: str, community_external_id: str, community_id: int,
                       learner_id: int, now: datetime) -> AcceptedWork:
    """The instant match a join asks for, written in the joining transaction."""
    return AcceptedWork(WorkKind.INSTANT_MATCH, platform, community_external_id,
                        {"community_id": community_id, "learner_id": learner_id}, now)


def command_work(platform: str, community_external_id: str, command: str,
                 args: dict[str, str], who: dict[str, str], reply_to: dict[str, str],
                 now: datetime) -> AcceptedWork:
    """A command to run after its ack; ``who`` is what the adapter needs to rebuild the
    actor (user id, name), ``reply_to`` where the answer goes."""
    return AcceptedWork(WorkKind.COMMAND, platform, community_external_id,
                        {"command": command, "args": dict(args), "who": dict(who)}, now,
                        reply_to=dict(reply_to))


def reply_dm(work: AcceptedWork, user_id: str, reply: Reply) -> DirectMessage:
    """The reply to ``work`` as a DM to ``user_id``, keyed by the work: however often a
    runner that crashed writes it again, the person gets it once."""
    return DirectMessage(user_id, reply.text, keys.accepted_reply(work.id), reply.buttons,
                         reply.attachments)
