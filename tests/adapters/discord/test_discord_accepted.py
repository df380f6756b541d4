"""A slow Discord command survives its first response (issue 10.4): `/peeradmin match-now`
is stored before Discord hears anything, deferred, run from the store and answered once
through the interaction's follow-up webhook; once the token has expired (15 minutes, or
Discord says so) the answer comes by DM through the outbox, refusals included. On memory,
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.discord.work import TOKEN_LIFETIME
from adapters.sql.migrate import upgrade
from adapters.sql.uow import SqlStorage
from core import keys
from core.accepted import AcceptedWork, WorkState
from core.replies import Reply
from core.services import accepted
from core.services.context import Actor, CommandRequest, Services
from core.services.dispatch import handle
from tests.adapters.discord.conftest import Bot, community_settings, discord_settings, running
from tests.adapters.discord.fake_discord import LEARNER_PERMS, MANAGE_GUILD, Call, FakeDiscord
from tests.adapters.discord.interactions import DEFERRED, Users
from tests.bot.test_graceful_stop import ROOT, _exit_code, _until
from tests.fakes import FakeClock
from tests.helpers import JOIN
from tests.sql.support import create_database, drop_database

MOD_PERMS = LEARNER_PERMS | MANAGE_GUILD


@pytest.fixture
async def dbot(fake: FakeDiscord, storage: Any, clock: FakeClock) -> AsyncIterator[Bot]:
    async with running(fake, storage, clock, community_settings(fake),
                       discord_settings(fake)) as bot:
        yield bot


async def _waiting(services: Services, fake: FakeDiscord, *names: str) -> None:
    for name in names:
        reply = await handle(services, CommandRequest(
            "discord", fake.guild_id, Actor(fake.ids[name], name), "peer join",
            {"mode": "study-buddy", **JOIN}))
        assert reply.ok, reply.text


async def _rows(bot: Bot) -> list[AcceptedWork]:
    async with bot.storage.uow_factory() as uow:
        rows: list[AcceptedWork] = await uow.accepted.list()
    return rows


async def _settled(bot: Bot) -> list[AcceptedWork]:
    """The rows once none is still open (the runner marks a row after its reply)."""
    async with asyncio.timeout(10):
        while True:
            rows = await _rows(bot)
            if rows and all(r.state in (WorkState.REPLIED, WorkState.FAILED) for r in rows):
                return rows
            await asyncio.sleep(0.02)


async def _matches(bot: Bot) -> int:
    async with bot.storage.uow_factory() as uow:
        community = await uow.communities.by_external("discord", bot.fake.guild_id)
        return len(await uow.matches.list(community.id)) if community else 0


def _first_response(fake: FakeDiscord, token: str) -> int:
    """The type of the interaction's first response, as the bot sent it."""
    [call] = [c for c in fake.calls if c.path.endswith(f"/{token}/callback")]
    return int(call.json["type"])


async def _accepted_only(bot: Bot, name: str) -> str:
    """`/peeradmin match-now` deferred, then the process 'dies': nothing runs it here."""
    bot.client.on_accepted = lambda: None
    token = await bot.users.slash(name, "peeradmin match-now", permissions=MOD_PERMS)
    await bot.fake.wait_for(lambda: bot.fake.replies(token))
    return token


async def test_match_now_is_stored_before_discord_hears_and_answered_once_by_follow_up(
        dbot: Bot) -> None:
    fake = dbot.fake
    await _waiting(dbot.services, fake, "alice", "bob")
    stored_at_callback: list[list[str]] = []

    async def look(call: Call) -> None:
        if "/callback" in call.path:
            stored_at_callback.append([w.command for w in await _rows(dbot)])

    fake.on_arrival.append(look)
    token = await dbot.users.slash("mod", "peeradmin match-now", permissions=MOD_PERMS)
    reply = await dbot.users.answer(token)
    assert stored_at_callback == [["peeradmin match-now"]]  # kept before the first response
    assert _first_response(fake, token) == DEFERRED
    # The deferral itself became the answer (an edit of the original response).
    assert reply.kind == "callback" and reply.edits == 1 and reply.ephemeral
    assert "Round done" in reply.content and "1 match," in reply.content
    [row] = await _settled(dbot)
    assert row.state is WorkState.REPLIED and row.attempts == 1
    assert row.reply_to["token"] == token and row.reply_to["application_id"] == fake.app_id
    assert await _matches(dbot) == 1
    # Nothing more: one deferral, one follow-up, and a runner that looks again finds nothing.
    assert await accepted.run_pending(dbot.services, "again", {"discord": dbot.client.work}) == 0
    assert [(s.kind, s.edits) for s in fake.replies(token)] == [("callback", 1)]


async def test_after_fifteen_minutes_the_answer_comes_by_dm_once(dbot: Bot) -> None:
    fake, clock = dbot.fake, dbot.clock
    await _waiting(dbot.services, fake, "alice", "bob")
    token = await _accepted_only(dbot, "mod")
    # The bot was down past the token's life: on restart the runner does not even try it.
    clock.advance(TOKEN_LIFETIME + timedelta(minutes=1))
    fake.expired_tokens.add(token)
    calls = len(fake.calls)
    assert await accepted.run_pending(dbot.services, "restart", {"discord": dbot.client.work}) == 1
    assert not [c for c in fake.calls[calls:] if "/webhooks/" in c.path]
    [row] = await _rows(dbot)
    assert row.state is WorkState.REPLIED and await _matches(dbot) == 1
    async with dbot.storage.uow_factory() as uow:
        [dm] = [m for m in await uow.outbox.list() if m.idempotency_key == keys.accepted_reply(
            row.id)]
    assert dm.message.target == fake.ids["mod"]
    await dbot.deliver()
    [sent] = fake.dms_to("mod")
    assert "Round done" in sent.content and "1 match," in sent.content
    [deferral] = fake.replies(token)
    assert deferral.type == DEFERRED and deferral.edits == 0  # the deferral only


async def test_a_token_discord_refuses_falls_back_to_a_dm_and_a_refusal_is_told(
        dbot: Bot) -> None:
    fake = dbot.fake
    token = await _accepted_only(dbot, "alice")  # not a moderator
    fake.expired_tokens.add(token)  # fresh by our clock, but Discord says no (401 50027)
    assert await accepted.run_pending(dbot.services, "restart", {"discord": dbot.client.work}) == 1
    [tried] = [c for c in fake.calls if "/webhooks/" in c.path]
    assert tried.status == 401
    await dbot.deliver()
    [sent] = fake.dms_to("alice")
    assert "for moderators" in sent.content  # never silence, even for a refusal
    [row] = await _rows(dbot)
    assert row.state is WorkState.REPLIED and await _matches(dbot) == 0
    # A runner that dies after queueing the DM and runs the row again queues nothing new.
    async with dbot.storage.uow_factory() as uow:
        assert len(await uow.outbox.list()) == 1


async def test_a_deferral_discord_refused_still_gets_its_answer_by_dm(dbot: Bot) -> None:
    fake = dbot.fake
    await _waiting(dbot.services, fake, "alice", "bob")
    # The store took longer than Discord's 3 s: the deferral is refused (404 10062).
    fake.fail("POST", r"/interactions/\d+/[^/]+/callback", 404,
              {"code": 10062, "message": "Unknown interaction"})
    token = await dbot.users.slash("mod", "peeradmin match-now", permissions=MOD_PERMS)
    [row] = await _settled(dbot)  # stored first, so run all the same
    assert row.state is WorkState.REPLIED and await _matches(dbot) == 1
    assert fake.replies(token) == []  # nothing could be shown on the interaction
    await dbot.deliver()
    [sent] = fake.dms_to("mod")
    assert "Round done" in sent.content


async def test_the_member_is_resolved_again_when_the_work_runs(dbot: Bot) -> None:
    fake = dbot.fake
    await _waiting(dbot.services, fake, "alice", "bob")
    token = await _accepted_only(dbot, "mod")
    fake.member_roles[fake.ids["mod"]] = []  # the moderator role was taken away meanwhile
    assert await accepted.run_pending(dbot.services, "restart", {"discord": dbot.client.work}) == 1
    reply = await dbot.users.answer(token)
    assert "for moderators" in reply.content and await _matches(dbot) == 0
    assert [c for c in fake.calls if c.path.endswith(f"/members/{fake.ids['mod']}")]


async def test_a_public_reply_replaces_the_private_deferral(dbot: Bot) -> None:
    fake = dbot.fake
    token = await _accepted_only(dbot, "mod")
    [row] = await _rows(dbot)
    await dbot.client.work.reply(row, Reply(text="Posted for everyone", ephemeral=False))
    deferral, shown = fake.replies(token)
    assert deferral.type == DEFERRED and deferral.body.get("deleted")  # not left "thinking"
    assert shown.kind == "followup" and not shown.ephemeral
    assert shown.content == "Posted for everyone"


async def test_a_store_that_fails_is_apologised_for_and_nothing_is_deferred(
        dbot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*_args: object) -> AcceptedWork:
        raise OSError("the database went away")

    monkeypatch.setattr(accepted, "accept", broken)
    token = await dbot.users.slash("mod", "peeradmin match-now", permissions=MOD_PERMS)
    [answer] = [await dbot.users.answer(token)]
    assert answer.type == 4 and answer.ephemeral and "Sorry" in answer.content
    assert await _rows(dbot) == []


# ---- a real `peermatch run` killed after the deferral ------------------------------------

PG_SERVER = os.environ.get("PEERMATCH_TEST_POSTGRES_URL",
                           "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def process_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database of its own for real processes (they cannot share a test's schema)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'pm.db'}"
        return
    try:
        url = await create_database(PG_SERVER, "pm_discord")
    except Exception as exc:  # no server: skipped here, a failure in CI (as conftest does)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL at {PG_SERVER} is unreachable: {exc}")
        pytest.skip(f"PostgreSQL at {PG_SERVER} is unreachable: {exc}")
    try:
        yield url
    finally:
        await drop_database(PG_SERVER, url)


def _bot_process(url: str, fake: FakeDiscord, tmp: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PEERMATCH_CONFIG": str(tmp / "none.toml"),
           "PEERMATCH_DATABASE_URL": url, "PEERMATCH_BOT_PLATFORMS": "discord",
           "DISCORD_TOKEN": "test-token", "PEERMATCH_DISCORD_API_BASE_URL": fake.api_url,
           "PEERMATCH_DISCORD_GATEWAY_URL": fake.gateway_url,
           "PEERMATCH_DISCORD_GUILD_IDS": fake.guild_id,
           "PEERMATCH_COMMUNITY_MODERATOR_ROLES": "Moderators",
           "PEERMATCH_BOT_DISPATCH_INTERVAL_SECONDS": "0.2",
           "PEERMATCH_BOT_SHUTDOWN_TIMEOUT_SECONDS": "4"}
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=tmp, env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)


async def _process_state(url: str, guild_id: str) -> tuple[list[AcceptedWork], int, int]:
    storage = SqlStorage(url)
    try:
        async with storage.uow_factory() as uow:
            community = await uow.communities.by_external("discord", guild_id)
            assert community is not None and community.id is not None
            return (await uow.accepted.list(), len(await uow.rounds.list(community.id)),
                    len(await uow.matches.list(community.id)))
    finally:
        await storage.dispose()


ORIGINAL = r"/webhooks/\d+/[^/]+/messages/@original"


async def _killed_and_restarted(tmp_path: Path, fake: FakeDiscord, url: str,
                                moment: str) -> tuple[str, AcceptedWork, str]:
    """Run match-now in a real process, SIGKILL it at ``moment`` ("resolving": the runner
    waits for the member; "replying": the reply reached Discord, its answer did not come
    back), restart it and let it finish. Returns the token, the row as the kill left it,
    and the restarted process's log."""
    upgrade(url)
    storage = SqlStorage(url)
    try:
        await _waiting(Services(storage.uow_factory, FakeClock()), fake, "alice", "bob")
    finally:
        await storage.dispose()
    if moment == "resolving":
        fake.hold("GET", r"/guilds/\d+/members/\d+")
    else:
        fake.after("PATCH", ORIGINAL, "hang")
    proc = _bot_process(url, fake, tmp_path, tmp_path / "first.log")
    users = Users(fake)
    try:
        # Synced, and on the gateway: READY and the guild go down the socket before the
        # interaction does (commands are synced before the gateway connects).
        await _until(lambda: fake.commands.get(fake.guild_id) and fake.identified, 60)
        token = await users.slash("mod", "peeradmin match-now", permissions=MOD_PERMS)
        await _until(lambda: fake.replies(token) and (
            fake.held if moment == "resolving" else fake.replies(token)[0].edits), 30)
        assert _first_response(fake, token) == DEFERRED  # the person sees it is on
        proc.send_signal(signal.SIGKILL)
        assert await _exit_code(proc, 10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    [left], _, _ = await _process_state(url, fake.guild_id)
    assert left.claimed_until is not None  # the dead process's claim, its lease running

    fake.release()
    fake.after_faults.clear()
    edits = fake.replies(token)[0].edits  # 1 when the kill came after the reply's edit
    again_log = tmp_path / "again.log"
    again = _bot_process(url, fake, tmp_path, again_log)
    try:
        await _until(lambda: fake.replies(token)[0].edits > edits, 60)
        await asyncio.sleep(1.0)  # room for a wrong second reply to show
        again.send_signal(signal.SIGTERM)
        assert await _exit_code(again, 15) == 0, again_log.read_text()
    finally:
        if again.poll() is None:
            again.kill()
    log = again_log.read_text()
    # Taken back at once by the same instance, not after the dead claim's lease.
    assert "took back 1 accepted work row(s)" in log
    return token, left, log


async def test_a_process_killed_after_the_deferral_finishes_the_work_once_on_restart(
        tmp_path: Path, fake: FakeDiscord, process_db: str) -> None:
    token, left, _ = await _killed_and_restarted(tmp_path, fake, process_db, "resolving")
    assert (left.state, left.attempts) == (WorkState.PENDING, 1)  # not done, not lost
    [reply] = fake.replies(token)  # exactly one message: the deferral, edited once
    assert reply.edits == 1 and "Round done" in reply.content and "1 match," in reply.content
    [row], rounds, matches = await _process_state(process_db, fake.guild_id)
    assert (row.state, row.attempts, rounds, matches) == (WorkState.REPLIED, 2, 1, 1)


@pytest.mark.parametrize("process_db", ["sqlite"], indirect=True)
async def test_a_process_killed_while_replying_shows_the_kept_reply_as_one_message(
        tmp_path: Path, fake: FakeDiscord, process_db: str) -> None:
    token, left, _ = await _killed_and_restarted(tmp_path, fake, process_db, "replying")
    assert left.state is WorkState.DONE  # the round was committed before the reply went out
    [reply] = fake.replies(token)  # the same message edited again, not a second one
    assert reply.edits == 2 and "Round done" in reply.content and "1 match," in reply.content
    assert not [s for s in fake.sent if s.kind == "followup"]
    [row], rounds, matches = await _process_state(process_db, fake.guild_id)
    assert (row.state, row.attempts, rounds, matches) == (WorkState.REPLIED, 1, 1, 1)
