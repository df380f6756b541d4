"""Deferred fan-out (issue 9.5): a new match is stored with ONE row, its announcement, and the
dispatcher expands it into the intro DMs, space, check-ins and nudges in one transaction of
its own. Every backend; the SQL-only abort mid-expansion is in tests/sql/test_announce_abort.py.
"""

from __future__ import annotations

from collections import Counter

from core import keys
from core.messages import AnnounceMatch
from core.model import OutboxState
from core.replies import mention
from core.services.delivery import drain
from tests.helpers import Bot
from tests.scheduler.support import community_id, learner_id, matches


async def _rows(bot: Bot) -> dict[str, tuple[str, OutboxState]]:
    """Every row as stored, without expanding anything first."""
    async with bot.storage.uow_factory() as uow:
        return {m.idempotency_key: (m.kind, m.state) for m in await uow.outbox.list()}


async def _round(bot: Bot) -> int:
    for user in ("ana", "ben"):
        assert (await bot.join(user)).ok
    reply = await bot.run("mod", "peeradmin match-now")
    assert reply.ok and "1 match," in reply.text, reply.text
    return int((await matches(bot))[-1].id)


async def _drain(bot: Bot) -> None:
    await drain(bot.storage.uow_factory, bot.clock, {"test": bot.deliverer},
                defaults=bot.services.defaults)


def _sent_keys(bot: Bot) -> Counter[str]:
    return Counter(m.idempotency_key for m in bot.deliverer.sent)


async def test_a_round_stores_one_announcement_per_match_and_a_pass_delivers_its_messages(
        storage) -> None:
    bot = Bot(storage)
    mid = await _round(bot)
    rows = await _rows(bot)
    mine = {k: v for k, v in rows.items() if k.startswith(keys.match_prefix(mid))
            or k == keys.space_open(mid)}
    assert mine == {keys.match_made(mid): (AnnounceMatch.kind, OutboxState.PENDING)}
    await _drain(bot)  # one drain: the announcement expanded, then its DMs and space sent
    rows = await _rows(bot)
    assert rows[keys.match_made(mid)] == (AnnounceMatch.kind, OutboxState.SENT)
    ana, ben = await learner_id(bot, "ana"), await learner_id(bot, "ben")
    sent = _sent_keys(bot)
    assert sent[keys.intro_dm(mid, ana)] == sent[keys.intro_dm(mid, ben)] == 1
    assert sent[keys.space_open(mid)] == 1
    assert keys.match_made(mid) not in sent  # never handed to a deliverer
    assert "You've been matched" in bot.deliverer.dms_to("ana")[0]
    # The check-ins and nudges are written, due later.
    assert rows[keys.checkin(mid, ana)][1] is OutboxState.PENDING
    assert rows[keys.nudge(mid, 1)][1] is OutboxState.PENDING


async def test_a_moderator_pairing_takes_the_same_path(storage) -> None:
    bot = Bot(storage)
    for user in ("ana", "ben"):
        assert (await bot.join(user)).ok
    assert (await bot.run("mod", "peeradmin pair", user_a="ana", user_b="ben")).ok
    mid = int((await matches(bot))[-1].id)
    assert (await _rows(bot))[keys.match_made(mid)][1] is OutboxState.PENDING
    await _drain(bot)
    assert _sent_keys(bot)[keys.intro_dm(mid, await learner_id(bot, "ana"))] == 1


async def test_an_announcement_expanded_twice_adds_nothing_and_sends_nothing_twice(
        storage) -> None:
    bot = Bot(storage)
    mid = await _round(bot)
    assert await bot.announce() == 1
    first = await _rows(bot)
    # As if the commit's outcome were lost and another pass took the row again.
    async with bot.storage.uow_factory() as uow:
        [row] = [m for m in await uow.outbox.list() if m.idempotency_key == keys.match_made(mid)]
        row.state, row.sent_at = OutboxState.PENDING, None
        await uow.outbox.update(row)
        await uow.commit()
    await _drain(bot)
    assert set(await _rows(bot)) == set(first)  # no new row
    assert all(n == 1 for n in _sent_keys(bot).values())
    assert _sent_keys(bot)[keys.space_open(mid)] == 1


async def test_a_match_ended_before_its_announcement_sends_nothing_of_it(storage) -> None:
    bot = Bot(storage)
    mid = await _round(bot)
    assert (await bot.run("ana", "peer unpair", reason="changed my mind")).ok
    rows = await _rows(bot)
    assert rows[keys.match_made(mid)][1] is OutboxState.DROPPED
    assert keys.space_close(mid) not in rows  # no space was asked for: none to close
    await _drain(bot)
    sent = _sent_keys(bot)
    assert not [k for k in sent if k.startswith(keys.match_prefix(mid))]
    assert keys.space_open(mid) not in sent
    # The ending's own message still goes: Ben hears that Ana left.
    assert any("left" in text for text in bot.deliverer.dms_to("ben"))


async def test_a_member_banned_before_the_announcement_ends_it_and_nothing_is_announced(
        storage) -> None:
    bot = Bot(storage)
    mid = await _round(bot)
    assert (await bot.run("mod", "peeradmin ban", user="ben", reason="spam")).ok
    await _drain(bot)
    assert not [k for k in _sent_keys(bot) if k.startswith(keys.match_prefix(mid))
                or k == keys.space_open(mid)]
    assert (await _rows(bot))[keys.match_made(mid)][1] is OutboxState.DROPPED


async def test_an_announcement_of_a_match_no_longer_active_adds_nothing(storage) -> None:
    """The race the drop in ``close_space`` cannot see (an ending committed while the
    announcement was being taken): the expansion reads the match again and skips it."""
    bot = Bot(storage)
    mid = await _round(bot)
    async with bot.storage.uow_factory() as uow:
        match = await uow.matches.get(mid)
        assert match is not None
        match.state = match.state.ENDED
        await uow.matches.update(match)
        await uow.commit()
    assert await bot.announce() == 1
    rows = await _rows(bot)
    assert rows[keys.match_made(mid)][1] is OutboxState.SENT
    assert keys.space_open(mid) not in rows
    assert not [k for k in rows if k.startswith(keys.match_prefix(mid))
                and k != keys.match_made(mid)]


async def test_a_pass_expands_at_most_a_batch_of_announcements(storage) -> None:
    from core.services import announce

    bot = Bot(storage)
    for i in range(6):
        assert (await bot.join(f"u{i}")).ok
    assert (await bot.run("mod", "peeradmin match-now")).ok
    assert len(await matches(bot)) == 3
    taken = await announce.expand_due(bot.storage.uow_factory, bot.clock,
                                      bot.services.defaults, limit=2)
    assert taken == 2
    assert await bot.announce() == 1  # the rest, in the next batch
    cid = await community_id(bot)
    async with bot.storage.uow_factory() as uow:
        pending = [m for m in await uow.outbox.pending(cid) if m.kind == AnnounceMatch.kind]
    assert pending == []


async def test_a_member_who_forgot_before_the_announcement_is_left_out_of_it(storage) -> None:
    bot = Bot(storage)
    for user in ("ana", "ben", "cleo"):
        assert (await bot.join(user, mode="study-group")).ok
    assert (await bot.run("mod", "peeradmin match-now")).ok
    [group] = await matches(bot)
    assert len(group.members) == 3
    cleo = await learner_id(bot, "cleo")
    assert (await bot.run("cleo", "peer forget", confirm="yes")).ok  # the group goes on
    await _drain(bot)
    assert bot.deliverer.dms_to("cleo") == []
    for user, other in (("ana", "ben"), ("ben", "ana")):
        [intro] = [t for t in bot.deliverer.dms_to(user) if "You've been matched" in t]
        assert mention(other) in intro and mention("cleo") not in intro
    sent = _sent_keys(bot)
    assert keys.intro_dm(group.id, cleo) not in sent and sent[keys.space_open(group.id)] == 1
    [space] = [m for m in bot.deliverer.sent if m.kind == "space_open"]
    assert "cleo" not in space.payload["members"]
