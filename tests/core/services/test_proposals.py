"""Booking by agreement (issue 14.6): a proposed time is booked only when every member has
accepted; a declined one books nothing; a time outside someone's hours may be proposed with
a warning that names them and the rule (every backend)."""

from __future__ import annotations

from core.settings import CommunitySettings
from tests.helpers import Bot
from tests.scheduler.support import learner_id, pair, rows_by_key, sessions

WINDOW = {"availability": "Mon-Fri 10:00-14:00"}


def _proposal(reply) -> str:  # type: ignore[no-untyped-def]
    return next(b.args["proposal"] for b in reply.buttons if "proposal" in b.args)


async def test_a_proposal_books_nothing_until_the_partner_accepts(storage) -> None:
    bot = Bot(storage)
    mid = await pair(bot)
    proposed = await bot.run("ana", "peer schedule", when="2026-03-04 18:00", minutes="45")
    assert proposed.ok and "Proposed a session" in proposed.text and "(45 min)" in proposed.text
    assert await sessions(bot, mid) == []
    pid = _proposal(proposed)
    ben = await learner_id(bot, "ben")
    ask = (await rows_by_key(bot))[f"match:{mid}:proposal:{pid}:ask:{ben}"]
    assert "{u:ana} proposes a session" in ask.payload["text"]
    assert [b["action"] for b in ask.payload["buttons"]] == ["peer accept", "peer decline"]

    own = await bot.run("ana", "peer accept", proposal=pid)  # the proposer's yes is already in
    assert own.ok and "Waiting for {u:ben}" in own.text and await sessions(bot, mid) == []
    accepted = await bot.run("ben", "peer accept", proposal=pid)
    assert accepted.ok and "Booked session #" in accepted.text, accepted.text
    [session] = await sessions(bot, mid)
    assert (session.end - session.start).total_seconds() == 45 * 60
    rows = await rows_by_key(bot)
    assert f"session:{session.id}:seq0:invite:{ben}" in rows
    again = await bot.run("ben", "peer accept", proposal=pid)
    assert not again.ok and "booked already" in again.text
    assert len(await sessions(bot, mid)) == 1


async def test_a_declined_proposal_books_nothing_and_the_proposer_is_told(storage) -> None:
    bot = Bot(storage)
    mid = await pair(bot)
    pid = _proposal(await bot.run("ana", "peer schedule", when="2026-03-04 18:00"))
    declined = await bot.run("ben", "peer decline", proposal=pid)
    assert declined.ok and "nothing was booked" in declined.text
    assert await sessions(bot, mid) == []
    ana = await learner_id(bot, "ana")
    told = (await rows_by_key(bot))[f"match:{mid}:proposal:{pid}:declined:{ana}"]
    assert "{u:ben} declined the proposed time" in told.payload["text"]
    late = await bot.run("ana", "peer accept", proposal=pid)
    assert not late.ok and "declined already" in late.text
    assert await sessions(bot, mid) == []


async def test_outside_declared_hours_is_proposed_with_the_rule_and_booked_when_accepted(
        storage) -> None:
    bot = Bot(storage)
    mid = await pair(bot, ana=WINDOW, ben=WINDOW)
    proposed = await bot.run("ana", "peer schedule", when="2026-03-04 13:30")
    assert proposed.ok, proposed.text
    assert ("the 60-minute session must fit: 13:30-14:30 ends after your window 10:00-14:00"
            in proposed.text)
    assert "{u:ben}: the 60-minute session must fit" in proposed.text
    pid = _proposal(proposed)
    ben = await learner_id(bot, "ben")
    ask = (await rows_by_key(bot))[f"match:{mid}:proposal:{pid}:ask:{ben}"]
    assert "you: the 60-minute session must fit: 13:30-14:30 ends after your window" in (
        ask.payload["text"])
    booked = await bot.run("ben", "peer accept", proposal=pid)
    assert booked.ok and "Booked session #" in booked.text
    [session] = await sessions(bot, mid)
    invite = (await rows_by_key(bot))[f"session:{session.id}:seq0:invite:{ben}"]
    assert "Everyone agreed to this time" in invite.payload["text"]


async def test_a_community_may_keep_declared_hours_a_hard_rule(storage) -> None:
    strict = Bot(storage, settings=CommunitySettings(allow_outside_availability=False))
    mid = await pair(strict, ana=WINDOW, ben=WINDOW)
    refused = await strict.run("ana", "peer schedule", when="2026-03-04 13:30")
    assert not refused.ok
    assert "the 60-minute session must fit: 13:30-14:30 ends after your window" in refused.text
    assert "only inside everyone's declared hours" in refused.text
    assert await sessions(strict, mid) == []
    fits = await strict.book("ana", "peer schedule", when="2026-03-04 13:00")
    assert fits.ok and "Booked session #" in fits.text


async def test_a_reschedule_is_a_proposal_too(storage) -> None:
    bot = Bot(storage)
    mid = await pair(bot)
    assert (await bot.book("ana", "peer schedule", when="2026-03-04 18:00")).ok
    [session] = await sessions(bot, mid)
    proposed = await bot.run("ben", "peer reschedule", session=session.id,
                             when="2026-03-05 19:00")
    assert proposed.ok and f"moving session #{session.id}" in proposed.text
    [unchanged] = await sessions(bot, mid)
    assert unchanged.start == session.start
    moved = await bot.run("ana", "peer accept", proposal=_proposal(proposed))
    assert moved.ok and f"Moved session #{session.id}" in moved.text
    [after] = await sessions(bot, mid)
    assert after.start != session.start and after.sequence == 1


async def test_an_outsider_cannot_answer_and_a_passed_time_cannot_be_accepted(storage) -> None:
    bot = Bot(storage)
    await pair(bot)
    pid = _proposal(await bot.run("ana", "peer schedule", when="2026-03-04 18:00"))
    assert (await bot.join("cat")).ok
    stranger = await bot.run("cat", "peer accept", proposal=pid)
    assert not stranger.ok and f"no proposed time number {pid}" in stranger.text
    bot.clock.advance(days=5)
    late = await bot.run("ben", "peer accept", proposal=pid)
    assert not late.ok and "already passed" in late.text


async def test_sessions_lists_open_proposals_with_the_answer_to_give(storage) -> None:
    bot = Bot(storage)
    await pair(bot)
    pid = _proposal(await bot.run("ana", "peer schedule", when="2026-03-04 18:00"))
    ben = await bot.run("ben", "peer sessions")
    assert f"proposal #{pid}" in ben.text and "waiting for your answer" in ben.text
    assert [b.action for b in ben.buttons] == ["peer accept", "peer decline"]
    ana = await bot.run("ana", "peer sessions")
    assert "you accepted, waiting for the others" in ana.text and ana.buttons == ()


async def test_an_ended_match_withdraws_its_open_proposals(storage) -> None:
    bot = Bot(storage)
    mid = await pair(bot)
    pid = _proposal(await bot.run("ana", "peer schedule", when="2026-03-04 18:00"))
    assert (await bot.run("ben", "peer unpair", reason="moving on")).ok
    async with bot.storage.uow_factory() as uow:
        proposal = await uow.proposals.get(int(pid))
        assert proposal is not None and proposal.state.value == "withdrawn"
        assert await uow.proposals.open_for_match(mid) == []
    ben = await learner_id(bot, "ben")
    ask = (await rows_by_key(bot))[f"match:{mid}:proposal:{pid}:ask:{ben}"]
    assert ask.state.value == "dropped"  # never delivered: the match is over
