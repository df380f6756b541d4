"""Helpers shared by the session, feedback and scheduler tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from icalendar import Calendar

from core.messages import attachments_from_payload
from core.model import Match, MatchMember, Mode, OutboxMessage, Session
from tests.helpers import Bot

NY = {"timezone": "America/New_York", "availability": "Mon-Fri 13:00-16:00",
      "country": "United States"}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def unix(instant: datetime) -> int:
    return int(instant.timestamp())


async def pair(bot: Bot, ana: dict[str, Any] | None = None,
               ben: dict[str, Any] | None = None) -> int:
    """Ana and Ben join, a moderator runs a round and the dispatcher announces the match
    (its DMs, space, check-ins and nudges written); returns the match id."""
    assert (await bot.join("ana", **(ana or {}))).ok
    assert (await bot.join("ben", **(ben or {}))).ok
    reply = await bot.run("mod", "peeradmin match-now")
    assert reply.ok and "1 match," in reply.text, reply.text
    assert await bot.announce() == 1
    return int((await matches(bot))[-1].id)


async def community_id(bot: Bot) -> int:
    async with bot.storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", bot.community)
        return int(community.id)


async def matches(bot: Bot) -> list[Match]:
    cid = await community_id(bot)
    async with bot.storage.uow_factory() as uow:
        return await uow.matches.list(cid)


async def learner_id(bot: Bot, user: str) -> int:
    cid = await community_id(bot)
    async with bot.storage.uow_factory() as uow:
        learner = await uow.learners.by_platform_id(cid, user)
        assert learner is not None, user
        return int(learner.id)


async def add_match(bot: Bot, *users: str, kind: Mode = Mode.STUDY_BUDDY,
                    roles: tuple[str, ...] = ()) -> Match:
    """A match made by hand in storage (e.g. a learner in two matches at once)."""
    cid = await community_id(bot)
    ids = [await learner_id(bot, u) for u in users]
    members = [MatchMember(i, roles[n] if roles else "peer") for n, i in enumerate(ids)]
    async with bot.storage.uow_factory() as uow:
        match = await uow.matches.add(Match(cid, kind, members, ["by hand"], bot.clock.now()))
        await uow.commit()
    return match


async def sessions(bot: Bot, match_id: int) -> list[Session]:
    async with bot.storage.uow_factory() as uow:
        return await uow.sessions.for_match(match_id)


async def outbox_rows(bot: Bot) -> list[OutboxMessage]:
    """Every row, once the due match announcements are expanded (what the dispatcher does
    first in each pass)."""
    await bot.announce()
    async with bot.storage.uow_factory() as uow:
        return await uow.outbox.list()


async def rows_by_key(bot: Bot) -> dict[str, OutboxMessage]:
    return {m.idempotency_key: m for m in await outbox_rows(bot)}


def calendar_of(message: Any) -> Calendar:
    """The .ics attached to an outbox DM, parsed."""
    [attachment] = attachments_from_payload(message.payload["attachments"])
    assert attachment.mime == "text/calendar" and attachment.filename.endswith(".ics")
    return Calendar.from_ical(attachment.content)


class TimedDeliverer:
    """The platform's side of delivery, as a recording fake: what arrived, and when.

    Like the real platforms it does NOT deduplicate: every call shows the message again, so
    a message sent twice is seen twice (``delivered``); ``attempts`` counts every call too.
    Like the real platforms it can be *asked* (Slack ``conversations.history``, Discord
    channel history): when the dispatcher says an earlier attempt is unclear
    (``message.unclear``), the deliverer looks the key up first and, found, does not send
    it again (``reconciled``), the way the real deliverers reconcile.
    """

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.delivered: list[tuple[datetime, OutboxMessage]] = []
        self.attempts: list[str] = []
        self.reconciled: list[str] = []
        self.unclear_calls: list[str] = []
        self._spaces = 0
        self._answers: dict[str, dict[str, Any]] = {}

    async def deliver(self, message: OutboxMessage, _community_external_id: str = "", *,
                      journal: Any = None,  # noqa: ARG002 (one step only)
                      ) -> dict[str, Any]:
        self.attempts.append(message.idempotency_key)
        if message.unclear:
            self.unclear_calls.append(message.idempotency_key)
            if message.idempotency_key in self._answers:  # it is there already
                self.reconciled.append(message.idempotency_key)
                return self._answers[message.idempotency_key]
        self.delivered.append((self.clock.now(), message))
        answer: dict[str, Any] = {}
        if message.kind == "space_open":
            self._spaces += 1
            answer = {"space_id": f"space-{message.payload['match_id']}"}
        self._answers[message.idempotency_key] = answer
        return answer

    def delivered_keys(self) -> list[str]:
        return [m.idempotency_key for _, m in self.delivered]

    def at(self, key: str) -> datetime:
        [when] = [t for t, m in self.delivered if m.idempotency_key == key]
        return when

    def text(self, key: str) -> str:
        [text] = [m.payload["text"] for _, m in self.delivered if m.idempotency_key == key]
        return str(text)
