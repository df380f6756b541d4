"""core/services/reminders.py on its own: the rows a booked, moved or cancelled session writes.

The functions are called directly on a real SQLite unit of work (the rows go through the SQL
outbox repository and are read back), then delivered by the real dispatcher to a recording
platform edge where delivery matters. Nothing in the core is mocked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from core import keys
from core.messages import DirectMessage
from core.model import (
    Community,
    Learner,
    Match,
    MatchMember,
    Mode,
    OutboxMessage,
    OutboxState,
    Session,
)
from core.services import reminders
from core.services.delivery import dispatch_due
from core.settings import CommunitySettings
from tests.fakes import FakeClock
from tests.helpers import RecordingDeliverer
from tests.scheduler.support import calendar_of

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the FakeClock's Monday
START = datetime(2026, 3, 5, 18, 0, tzinfo=UTC)  # Thursday evening
END = START + timedelta(hours=1)
ALIAS = "Anonymous learner 7"


@dataclass
class World:
    """A stored community with Ana and Ben in one match, and one booked session."""

    storage: Any
    match: Match
    session: Session
    learners: dict[int, Learner]
    ana: Learner
    ben: Learner


async def world(storage: Any, *, anonymous: bool = False, start: datetime = START,
                end: datetime = END, community: str = "guild-1") -> World:
    """Ana supports Ben; with ``anonymous`` Ben asked to stay anonymous (his alias)."""
    async with storage.uow_factory() as uow:
        c = await uow.communities.add(Community("test", community, community))
        ana = await uow.learners.add(Learner(c.id, "U-ana", "Ana", created_at=NOW))
        ben = await uow.learners.add(Learner(c.id, "U-ben", "Ben", created_at=NOW))
        kind = Mode.NEED_SUPPORT if anonymous else Mode.STUDY_BUDDY
        members = ([MatchMember(ana.id, "supporter"), MatchMember(ben.id, "supported", ALIAS)]
                   if anonymous else [MatchMember(ana.id), MatchMember(ben.id)])
        match = await uow.matches.add(Match(c.id, kind, members, ["same topic"], NOW))
        session = await uow.sessions.add(Session(match.id, start, end, ana.id,
                                                 f"session-{match.id}-test@peermatch"))
        await uow.commit()
    return World(storage, match, session, {ana.id: ana, ben.id: ben}, ana, ben)


async def book(w: World, settings: CommunitySettings | None = None, now: datetime = NOW,
               **kw: Any) -> dict[str, OutboxMessage]:
    """write_session_rows in its own committed transaction; returns every row by key."""
    async with w.storage.uow_factory() as uow:
        await reminders.write_session_rows(uow, settings or CommunitySettings(), w.match,
                                           w.session, w.learners, now, **kw)
        await uow.commit()
    return await rows(w)


async def rows(w: World) -> dict[str, OutboxMessage]:
    async with w.storage.uow_factory() as uow:
        return {m.idempotency_key: m for m in await uow.outbox.list()}


def key(w: World, part: str, learner: Learner, seq: int = 0) -> str:
    return f"session:{w.session.id}:seq{seq}:{part}:{learner.id}"


def expires(message: OutboxMessage) -> datetime:
    return datetime.fromisoformat(message.payload["expires_at"])


async def test_every_member_gets_an_invite_each_reminder_and_a_feedback_prompt(
        sqlite_storage: Any) -> None:
    w = await world(sqlite_storage)
    got = await book(w)
    for who in (w.ana, w.ben):
        expected = {key(w, p, who) for p in ("invite", "remind:1440", "remind:60", "feedback")}
        assert {k for k, m in got.items() if m.target == who.platform_user_id} == expected
        invite = got[key(w, "invite", who)]
        assert invite.kind == "dm" and invite.due_at == NOW
        calendar = calendar_of(invite)
        assert calendar.get("method") == "PUBLISH"  # no ATTENDEE e-mail is known
        [event] = calendar.walk("VEVENT")
        assert event.decoded("dtstart") == START and event.decoded("dtend") == END
        assert "📅 **Session booked**" in invite.payload["text"]
        assert "(60 min)" in invite.payload["text"]
        day, hour = got[key(w, "remind:1440", who)], got[key(w, "remind:60", who)]
        assert (day.due_at, hour.due_at) == (START - timedelta(days=1), START - timedelta(hours=1))
        assert "⏰ Reminder" in hour.payload["text"]
        assert [b["action"] for b in hour.payload["buttons"]] == ["peer cancel"]
        prompt = got[key(w, "feedback", who)]
        assert prompt.due_at == END
        assert expires(prompt) == END + reminders.FEEDBACK_PROMPT_USEFUL
        [rate] = prompt.payload["buttons"]
        partner = w.ben if who is w.ana else w.ana
        assert rate["action"] == "peer feedback"
        assert rate["args"] == {"match": str(w.match.id), "to": str(partner.id),
                                "session": str(w.session.id)}
    assert all(m.state is OutboxState.PENDING for m in got.values())


async def test_each_reminder_expires_when_the_next_closer_one_is_due(sqlite_storage: Any) -> None:
    w = await world(sqlite_storage)
    # Duplicates, zero and negative offsets are ignored; the order written does not matter.
    settings = CommunitySettings(reminder_offsets_minutes=(60, 0, 15, -5, 1440, 60))
    got = await book(w, settings)
    reminder_keys = sorted(k for k in got if ":remind:" in k and k.endswith(f":{w.ana.id}"))
    assert reminder_keys == sorted(key(w, f"remind:{o}", w.ana) for o in (1440, 60, 15))
    assert expires(got[key(w, "remind:1440", w.ana)]) == START - timedelta(minutes=60)
    assert expires(got[key(w, "remind:60", w.ana)]) == START - timedelta(minutes=15)
    assert expires(got[key(w, "remind:15", w.ana)]) == START  # the last: until it starts
    assert got[key(w, "remind:15", w.ana)].due_at == START - timedelta(minutes=15)
    assert "expires_at" not in got[key(w, "invite", w.ana)].payload  # an invite never expires


async def test_no_reminders_when_the_offsets_are_empty(sqlite_storage: Any) -> None:
    w = await world(sqlite_storage)
    got = await book(w, CommunitySettings(reminder_offsets_minutes=()))
    assert not [k for k in got if ":remind:" in k]
    assert key(w, "invite", w.ana) in got and key(w, "feedback", w.ana) in got


async def test_a_reminder_already_inside_its_window_is_not_written(sqlite_storage: Any) -> None:
    # Booked 2 hours ahead: the day-before reminder is past due, the invite stands in for it.
    w = await world(sqlite_storage, start=NOW + timedelta(hours=2),
                    end=NOW + timedelta(hours=3))
    got = await book(w)
    assert key(w, "remind:1440", w.ana) not in got
    assert got[key(w, "remind:60", w.ana)].due_at == NOW + timedelta(hours=1)
    # Booked 30 minutes ahead: no reminder at all, still an invite and a prompt.
    soon = await world(sqlite_storage, start=NOW + timedelta(minutes=30),
                       end=NOW + timedelta(minutes=90), community="guild-2")
    got = await book(soon)
    assert sorted(k.split(":")[3] for k in got if k.startswith(f"session:{soon.session.id}:")
                  and k.endswith(f":{soon.ana.id}")) == ["feedback", "invite"]


async def test_moving_drops_the_pending_rows_and_writes_the_next_sequence(
        sqlite_storage: Any) -> None:
    w = await world(sqlite_storage)
    await book(w)
    clock = FakeClock(NOW)
    deliverer = RecordingDeliverer()
    sent = await dispatch_due(sqlite_storage.uow_factory, clock, {"test": deliverer})
    assert sent.sent == 2  # the two invites are due now; reminders and prompts are not
    # Another session's rows share the "session:1" start: the trailing colon keeps them.
    other = f"session:{w.session.id}2:seq0:remind:60:{w.ana.id}"
    async with sqlite_storage.uow_factory() as uow:
        await uow.outbox.add(OutboxMessage(DirectMessage("U-ana", "x", other),
                                           w.match.community_id, START))
        await uow.commit()
    async with sqlite_storage.uow_factory() as uow:
        dropped = await reminders.drop_session_rows(uow, w.session, "moved")
        w.session.start, w.session.end = START + timedelta(days=1), END + timedelta(days=1)
        w.session.sequence += 1
        await uow.sessions.update(w.session)
        await reminders.write_session_rows(uow, CommunitySettings(), w.match, w.session,
                                           w.learners, NOW, moved=True)
        await uow.commit()
    assert dropped == 6  # 2 members x (2 reminders + 1 prompt); sent invites are history
    got = await rows(w)
    old = {k: m.state for k, m in got.items() if ":seq0:" in k and k != other}
    assert old == {**{key(w, "invite", p): OutboxState.SENT for p in (w.ana, w.ben)},
                   **{key(w, part, p): OutboxState.DROPPED for p in (w.ana, w.ben)
                      for part in ("remind:1440", "remind:60", "feedback")}}
    assert got[other].state is OutboxState.PENDING
    new = {k: m for k, m in got.items() if ":seq1:" in k}
    assert len(new) == 8 and all(m.state is OutboxState.PENDING for m in new.values())
    assert new[key(w, "remind:60", w.ben, seq=1)].due_at == START + timedelta(hours=23)
    moved = new[key(w, "invite", w.ben, seq=1)]
    assert moved.payload["text"].startswith("🔁 **Session moved**")
    assert calendar_of(moved).walk("VEVENT")[0].decoded("sequence") == 1


async def test_cancelling_tells_everyone_with_a_cancel_invite(sqlite_storage: Any) -> None:
    w = await world(sqlite_storage)
    await book(w)
    async with sqlite_storage.uow_factory() as uow:
        assert await reminders.drop_session_rows(uow, w.session, "cancelled") == 8
        await reminders.write_cancel_rows(uow, w.match, w.session, w.learners, w.ben.id, NOW)
        await uow.commit()
    got = await rows(w)
    pending = {k: m for k, m in got.items() if m.state is OutboxState.PENDING}
    to_ana = pending[f"session:{w.session.id}:cancel:{w.ana.id}"]
    to_ben = pending[f"session:{w.session.id}:cancel:{w.ben.id}"]
    assert set(pending) == {to_ana.idempotency_key, to_ben.idempotency_key}
    assert to_ana.due_at == to_ben.due_at == NOW
    assert to_ana.payload["text"].startswith("❌ **Session cancelled**: {u:U-ben} cancelled")
    assert to_ben.payload["text"].startswith("❌ **Session cancelled**: You cancelled")
    for message in (to_ana, to_ben):
        calendar = calendar_of(message)
        assert calendar.get("method") == "PUBLISH"
        [event] = calendar.walk("VEVENT")
        assert str(event.get("uid")) == w.session.ics_uid
        assert event["STATUS"] == "CANCELLED"
        assert "reschedule" not in str(event["DESCRIPTION"])  # a cancelled session can't move


async def test_a_canceller_or_member_no_longer_known_is_handled(sqlite_storage: Any) -> None:
    w = await world(sqlite_storage)
    only_ana = {w.ana.id: w.ana}  # Ben used /peer forget: no row for him, no name either
    async with sqlite_storage.uow_factory() as uow:
        await reminders.write_cancel_rows(uow, w.match, w.session, only_ana, w.ben.id, NOW)
        await reminders.write_session_rows(uow, CommunitySettings(), w.match, w.session,
                                           only_ana, NOW)
        await uow.commit()
    got = await rows(w)
    assert {m.target for m in got.values()} == {"U-ana"}
    cancel = got[f"session:{w.session.id}:cancel:{w.ana.id}"].payload["text"]
    assert f"Your match cancelled your session #{w.session.id}" in cancel


async def test_after_downtime_only_the_reminder_still_useful_is_sent(sqlite_storage: Any) -> None:
    w = await world(sqlite_storage)
    await book(w)
    clock = FakeClock(START - timedelta(minutes=30))  # the bot was down for three days
    deliverer = RecordingDeliverer()
    result = await dispatch_due(sqlite_storage.uow_factory, clock, {"test": deliverer})
    delivered = sorted(m.idempotency_key for m in deliverer.sent)
    assert delivered == sorted(key(w, p, who) for who in (w.ana, w.ben)
                               for p in ("invite", "remind:60"))
    assert result.expired == 2
    got = await rows(w)
    for who in (w.ana, w.ben):
        stale = got[key(w, "remind:1440", who)]
        assert stale.state is OutboxState.DROPPED and "expired" in stale.last_error
        assert got[key(w, "feedback", who)].state is OutboxState.PENDING  # due at the end
    clock.set(END + timedelta(days=8))  # a prompt a week late is not worth sending either
    result = await dispatch_due(sqlite_storage.uow_factory, clock, {"test": deliverer})
    assert (result.sent, result.expired) == (0, 2)


async def test_an_anonymous_member_is_named_by_alias_to_the_supporter_only(
        sqlite_storage: Any) -> None:
    w = await world(sqlite_storage, anonymous=True)
    got = await book(w)
    to_ana = [m for m in got.values() if m.target == "U-ana"]
    to_ben = [m for m in got.values() if m.target == "U-ben"]
    assert len(to_ana) == len(to_ben) == 4
    for message in to_ana:  # the supporter: the alias everywhere, never Ben's name or id
        text = message.payload["text"]
        assert ALIAS in text and "Ben" not in text and "U-ben" not in text
        assert message.payload["match_id"] is None  # no shared space to fall back to
    summary = str(calendar_of(got[key(w, "invite", w.ana)]).walk("VEVENT")[0].get("summary"))
    assert summary == f"PeerMatch: {w.match.kind.label} with {ALIAS}"
    [rate] = got[key(w, "feedback", w.ana)].payload["buttons"]
    assert rate["label"] == "Give feedback" and "Ben" not in str(rate)
    for message in to_ben:  # the learner sees the supporter as usual
        assert "{u:U-ana}" in message.payload["text"]
    ben_summary = calendar_of(got[key(w, "invite", w.ben)]).walk("VEVENT")[0].get("summary")
    assert str(ben_summary).endswith("with Ana")


def test_names_shown_in_plain_text_and_as_mentions() -> None:
    ana = Learner(1, "U-ana", "Ana", id=1)
    ben = Learner(1, "U-ben", "Ben", id=2)
    cy = Learner(1, "U-cy", "Cy", id=3)
    group = Match(1, Mode.STUDY_GROUP, [MatchMember(1), MatchMember(2, alias=ALIAS),
                                        MatchMember(3)], [], NOW, id=9)
    people = {1: ana, 2: ben, 3: cy}
    assert reminders.shown_name(group, ben, viewer_id=1) == ALIAS
    assert reminders.shown_name(group, ben, viewer_id=2) == "Ben"  # never hidden from oneself
    assert reminders.others(group, people, 1) == f"{ALIAS}, {{u:U-cy}}"
    assert reminders.others(group, people, 2) == "{u:U-ana}, {u:U-cy}"
    assert reminders.others(group, people, 1, plain=True) == f"{ALIAS}, Cy"
    assert reminders.others(group, {1: ana}, 1) == "your match"
    labels = [b.label for b in reminders.feedback_buttons(group, None, people, 1)]
    assert labels == [f"Rate {ALIAS}", "Rate Cy"]
    assert all("session" not in b.args for b in reminders.feedback_buttons(group, None,
                                                                           people, 1))
    assert keys.session_prefix(1) == "session:1:"
