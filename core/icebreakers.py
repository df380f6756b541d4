"""Icebreakers and hosts: each match's intro carries a conversation starter and names who
hosts (is asked to propose the first time).

Starters come from per-topic lists: a community's own (the ``icebreakers`` setting, topic =
"question | question") first, then the defaults shipped as data (core/data/icebreakers.toml),
then the shipped "default" list. The pick is fixed by the match id, so a retried intro says
the same thing. The host rotates per session: member ``(match id + sessions so far) mod n``,
so in a group everyone takes a turn.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources

from core.model import Match
from core.settings import CommunitySettings


@lru_cache(maxsize=1)
def shipped() -> dict[str, tuple[str, ...]]:
    """The default lists shipped with PeerMatch, by casefolded topic ("default" for any)."""
    raw = tomllib.loads(resources.files("core").joinpath("data/icebreakers.toml")
                        .read_text(encoding="utf-8"))
    return {str(k).casefold(): tuple(str(q) for q in v) for k, v in raw.items()}


def starters(topic: str, settings: CommunitySettings) -> tuple[str, ...]:
    """The conversation starters for ``topic`` in this community (never empty)."""
    key = topic.casefold()
    own = {k.casefold(): v for k, v in settings.icebreakers.items()}
    for source in (own.get(key), own.get(settings.family(topic))):
        if source:
            questions = tuple(q.strip() for q in source.split("|") if q.strip())
            if questions:
                return questions
    lists = shipped()
    return lists.get(key) or lists.get(settings.family(topic)) or lists["default"]


def starter_for(match: Match, topic: str, settings: CommunitySettings) -> str:
    """The one starter this match's intro shows (the same on every retry)."""
    questions = starters(topic, settings)
    return questions[(match.id or 0) % len(questions)]


def host_of(match: Match, sessions_so_far: int = 0) -> int:
    """The learner id who hosts the next session: asked to propose a time, rotating."""
    ids = match.member_ids()
    return ids[((match.id or 0) + sessions_so_far) % len(ids)]
