"""Accepted work runs once, from the store (issues 9.3 and 10.4): an instant match after the
join's reply, a match-now accepted before its ack and run after a crash, a reply kept for a
crash between the commit and the answer, and a row given up with the person told."""

from __future__ import annotations

from typing import Any

from core.accepted import (
    MAX_ATTEMPTS,
    TOKEN_LENGTH,
    AcceptedWork,
    WorkState,
    claim_prefix,
    command_work,
)
from core.replies import Reply
from core.services import accepted
from core.services.context import Actor, CommandRequest
from core.settings import CommunitySettings
from tests.helpers import Bot


class Answers:
    """The platform side of the runner for the 'test' platform: rebuilds requests and
    records the replies shown."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.shown: list[tuple[int | None, Reply]] = []

    async def request_for(self, work: AcceptedWork) -> CommandRequest:
        who = work.payload["who"]
        actor = Actor(who["user_id"], who["name"], platform_admin=who["user_id"] in self.bot.admins)
        return CommandRequest("test", work.community_external_id, actor, work.command,
                              dict(work.payload["args"]))

    async def reply(self, work: AcceptedWork, reply: Reply) -> None:
        self.shown.append((work.id, reply))


def _match_now(bot: Bot) -> AcceptedWork:
    return command_work("test", bot.community, "peeradmin match-now", {},
                        {"user_id": "mod", "name": "Mod"}, {"user_id": "mod"}, bot.clock.now())


async def _rows(bot: Bot) -> list[AcceptedWork]:
    async with bot.storage.uow_factory() as uow:
        rows: list[AcceptedWork] = await uow.accepted.list()
    return rows


async def _matches(bot: Bot) -> int:
    async with bot.storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", bot.community)
        return len(await uow.matches.list(community.id))


async def test_an_instant_match_runs_after_the_joins_reply_and_once(storage: Any) -> None:
    bot = Bot(storage, settings=CommunitySettings(instant_match=True))
    assert "in the queue" in (await bot.join("ana")).text
    second = await bot.join("ben")
    assert second.ok and "in the queue" in second.text  # answered before any planning
    assert second.data.get("follow_up")
    assert [r.state for r in await _rows(bot)] == [WorkState.PENDING, WorkState.PENDING]
    assert await _matches(bot) == 0
    answers = Answers(bot)
    assert await accepted.run_pending(bot.services, "t1", {"test": answers}) == 2
    assert await _matches(bot) == 1  # ana's found nobody yet; ben's found ana
    assert await accepted.run_pending(bot.services, "t2", {"test": answers}) == 0
    assert await _matches(bot) == 1
    assert {r.state for r in await _rows(bot)} == {WorkState.REPLIED}
    await bot.deliver()
    assert bot.deliverer.dms_to("ana") and bot.deliverer.dms_to("ben")
    assert answers.shown == []  # an instant match answers by DM, through the outbox


async def test_a_match_now_accepted_before_a_crash_runs_once_on_restart(storage: Any) -> None:
    bot = Bot(storage)
    for who in ("ana", "ben"):
        await bot.join(who)
    work = await accepted.accept(bot.services, _match_now(bot))  # then the process died
    answers = Answers(bot)
    assert await accepted.run_pending(bot.services, "restart", {"test": answers}) == 1
    assert await _matches(bot) == 1
    [(work_id, reply)] = answers.shown
    assert work_id == work.id and "**Round done**: 1 match," in reply.text
    [row] = await _rows(bot)
    assert row.state is WorkState.REPLIED and row.attempts == 1
    assert await accepted.run_pending(bot.services, "again", {"test": answers}) == 0
    assert len(answers.shown) == 1


async def test_work_settled_by_someone_else_keeps_nothing_of_a_second_run(storage: Any) -> None:
    bot = Bot(storage)
    for who in ("ana", "ben"):
        await bot.join(who)
    await accepted.accept(bot.services, _match_now(bot))
    [claimed] = await accepted.claim(bot.services, "first", ("test",))
    bot.clock.advance(accepted.LEASE * 2)  # "first" stalled past its lease
    [again] = await accepted.claim(bot.services, "second", ("test",))
    answers = Answers(bot)
    await accepted.run(bot.services, again, {"test": answers})
    await accepted.run(bot.services, claimed, {"test": answers})  # the stale claim wakes up
    assert await _matches(bot) == 1  # its round was rolled back: nobody matched twice
    assert "**Round done**: 1 match," in answers.shown[0][1].text
    assert answers.shown[1][1].ok is False  # "already done"
    [row] = await _rows(bot)
    assert row.state is WorkState.REPLIED and row.attempts == 2


async def test_a_crash_between_commit_and_reply_shows_the_kept_reply(storage: Any) -> None:
    bot = Bot(storage)
    for who in ("ana", "ben"):
        await bot.join(who)
    await accepted.accept(bot.services, _match_now(bot))

    class DiesOnReply(Answers):
        async def reply(self, _work: AcceptedWork, _reply: Reply) -> None:
            raise ConnectionError("killed before the reply left")

    await accepted.run_pending(bot.services, "first", {"test": DiesOnReply(bot)})
    [row] = await _rows(bot)
    assert row.state is WorkState.DONE and "1 match," in row.result["text"]
    bot.clock.advance(accepted.LEASE * 2)
    answers = Answers(bot)
    assert await accepted.run_pending(bot.services, "restart", {"test": answers}) == 1
    assert await _matches(bot) == 1  # not run again
    assert "**Round done**: 1 match," in answers.shown[0][1].text


async def test_work_that_never_finishes_is_given_up_and_the_person_told(storage: Any) -> None:
    bot = Bot(storage)
    await accepted.accept(bot.services, _match_now(bot))

    class Crashes(Answers):
        async def request_for(self, _work: AcceptedWork) -> CommandRequest:
            raise RuntimeError("the process died here")

    for n in range(MAX_ATTEMPTS):
        await accepted.run_pending(bot.services, f"run{n}", {"test": Crashes(bot)})
        bot.clock.advance(accepted.LEASE * 2)
    answers = Answers(bot)
    await accepted.run_pending(bot.services, "last", {"test": answers})
    [(_, told)] = answers.shown
    assert not told.ok and "did not happen" in told.text
    [row] = await _rows(bot)
    assert row.state is WorkState.FAILED


async def test_a_runner_leaves_other_platforms_commands_alone(storage: Any) -> None:
    bot = Bot(storage)
    await accepted.accept(bot.services, _match_now(bot))  # a 'test' platform command
    for n in range(MAX_ATTEMPTS + 1):  # e.g. `peermatch console` on the bot's database
        assert await accepted.run_pending(bot.services, f"console{n}", {}) == 0
    [row] = await _rows(bot)
    assert (row.state, row.attempts) == (WorkState.PENDING, 0)  # never started, not given up
    answers = Answers(bot)
    assert await accepted.run_pending(bot.services, "slack", {"test": answers}) == 1


async def test_a_restarted_instance_takes_back_its_own_claims_at_once(storage: Any) -> None:
    bot = Bot(storage)
    for who in ("ana", "ben"):
        await bot.join(who)
    mine, theirs = claim_prefix("host-a:db"), claim_prefix("host-b:db")
    assert mine and mine != theirs and claim_prefix("") == ""
    await accepted.accept(bot.services, _match_now(bot))
    await accepted.accept(bot.services, _match_now(bot))
    [dead, other] = await accepted.claim(bot.services, mine + "run1", ("test",), limit=1) + \
        await accepted.claim(bot.services, theirs + "run1", ("test",), limit=1)
    assert len(mine + "run1") <= TOKEN_LENGTH
    # host-a died holding its row and starts again: within the lease, nothing is free...
    assert await accepted.claim(bot.services, mine + "run2", ("test",)) == []
    assert await accepted.reclaim_own(bot.services, "") == 0  # an unnamed runner owns nothing
    # ...until it takes back its own (and only its own) claims.
    assert await accepted.reclaim_own(bot.services, mine) == 1
    [again] = await accepted.claim(bot.services, mine + "run2", ("test",))
    assert again.id == dead.id and again.attempts == 2  # the crashed run counted
    [row_other] = [r for r in await _rows(bot) if r.id == other.id]
    assert row_other.claim_token == theirs + "run1" and row_other.claimed_until is not None


async def test_a_reply_by_dm_is_queued_once_however_often_it_is_written(storage: Any) -> None:
    bot = Bot(storage)  # no command ever ran: a refusal keeps no community
    work = await accepted.accept(bot.services, _match_now(bot))
    reply = Reply(text="Sorry, that command is for moderators.", ok=False)
    for _ in range(2):  # a runner that died after queueing it runs the row again
        await accepted.reply_by_dm(bot.services, work, "mod", reply)
    async with bot.storage.uow_factory() as uow:
        [row] = await uow.outbox.list()
    assert row.message.target == "mod" and row.message.text == reply.text
    assert row.idempotency_key == f"accepted:{work.id}:reply"
