"""Moderator commands: refused for learners by the core; queue, pair, end, remove, ban, config,
export, stats (every backend)."""

from __future__ import annotations

import csv
import io

import pytest

from core import catalogue
from core.settings import CommunitySettings
from tests.helpers import Bot

ADMIN_COMMANDS = [c for c in catalogue.COMMANDS if c.moderator]


@pytest.mark.parametrize("cmd", ADMIN_COMMANDS, ids=lambda c: c.name)
async def test_every_moderator_command_is_refused_to_a_learner(memory_storage, cmd) -> None:
    bot = Bot(memory_storage)
    await bot.join("ana")
    args = {
        o.name: "1" if o.kind is catalogue.Kind.INT else "learners" if o.name == "what" else "ana"
        for o in cmd.options
        if o.required
    }
    reply = await bot.run("eve", cmd.key, **args)
    assert not reply.ok and "for moderators" in reply.text
    async with memory_storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", "guild-1")
        assert len(await uow.queue.waiting(community.id)) == 1
        assert await uow.audit.list(community.id) == []


async def test_configured_moderator_users_and_roles_are_moderators(storage) -> None:
    settings = CommunitySettings(moderator_users=("uma",), moderator_roles=("role-mods",))
    bot = Bot(storage, settings=settings)
    bot.admins = set()
    assert (await bot.run("uma", "peeradmin queue")).ok
    from core.services.context import Actor, CommandRequest
    from tests.helpers import handle_request

    with_role = CommandRequest(
        "test", "guild-1", Actor("rio", "Rio", roles=("role-mods",)), "peeradmin queue"
    )
    assert (await handle_request(bot.services, with_role)).ok
    without = CommandRequest(
        "test", "guild-1", Actor("sol", "Sol", roles=("role-x",)), "peeradmin queue"
    )
    assert not (await handle_request(bot.services, without)).ok


async def test_queue_filters_by_mode_and_topic(storage) -> None:
    bot = Bot(storage)
    await bot.join("ana")
    await bot.join("ben", mode="accountability", topic="Calculus")
    everyone = await bot.run("mod", "peeradmin queue")
    assert "2 waiting" in everyone.text and "Ana" in everyone.text and "Ben" in everyone.text
    calc = await bot.run("mod", "peeradmin queue", topic="calc")
    assert "1 waiting" in calc.text and "Ben" in calc.text and "Ana" not in calc.text
    buddies = await bot.run("mod", "peeradmin queue", mode="study-buddy")
    assert "Ana" in buddies.text and "Ben" not in buddies.text


async def test_queue_counts_everyone_and_lists_the_50_oldest(storage) -> None:
    bot = Bot(storage)
    for i in range(52):
        await bot.join(f"py{i:02d}")
        bot.clock.advance(minutes=1)
    await bot.join("calc", mode="accountability", topic="Calculus")
    shown = (await bot.run("mod", "peeradmin queue")).text
    assert "53 waiting" in shown and "Study buddy / Python: 52" in shown, shown
    assert "1. Py00 " in shown and "50. Py49 " in shown and "Py50" not in shown
    assert "... and 3 more" in shown
    # The filter narrows the counts and the list the same way (Calculus is newest).
    calc = (await bot.run("mod", "peeradmin queue", topic="CALC")).text
    assert "1 waiting" in calc and "1. Calc " in calc and "Py00" not in calc, calc
    assert "more" not in calc


async def test_dry_run_previews_the_same_matches_and_changes_nothing(storage) -> None:
    bot = Bot(storage)
    for user in ("ana", "ben", "cal", "dee"):
        await bot.join(user)
    preview = await bot.run("mod", "peeradmin match-now", dry_run="yes")
    assert preview.ok and "Dry run" in preview.text
    assert "Ana" in (await bot.run("mod", "peeradmin queue")).text
    real = await bot.run("mod", "peeradmin match-now")
    # the same seed, matches, reasons and first times: every line but the headline's start
    assert "(seed " in preview.text and preview.text.count("\n") >= 2
    assert preview.text.split("waiting", 1)[1] == real.text.split("waiting", 1)[1]
    assert "Nobody is waiting" in (await bot.run("mod", "peeradmin queue")).text


async def test_manual_pair_end_match_remove_ban_unban(storage) -> None:
    bot = Bot(storage)
    await bot.join("ana")
    await bot.join("ben", topic="Calculus")
    warned = await bot.run("mod", "peeradmin pair", user_a="ana", user_b="ben")
    assert not warned.ok and "Different topics: Python and Calculus" in warned.text
    paired = await bot.run("mod", "peeradmin pair", user_a="ana", user_b="ben", confirm="yes")
    assert paired.ok, paired.text
    match_no = paired.text.split("#")[1].split(")")[0]
    assert not (await bot.run("mod", "peeradmin pair", user_a="ana", user_b="ana")).ok
    ended = await bot.run("mod", "peeradmin end-match", match=match_no, reason="test")
    assert ended.ok
    assert not (await bot.run("mod", "peeradmin end-match", match=match_no, reason="again")).ok
    await bot.join("cal")
    assert (await bot.run("mod", "peeradmin remove", user="cal", reason="duplicate")).ok
    assert not (await bot.run("mod", "peeradmin remove", user="cal", reason="again")).ok
    assert not (await bot.run("mod", "peeradmin ban", user="nobody", reason="x")).ok
    assert (await bot.run("mod", "peeradmin ban", user="ana", reason="spam")).ok
    refused = await bot.join("ana")
    assert not refused.ok and "contact a moderator" in refused.text
    assert (await bot.run("mod", "peeradmin unban", user="ana")).ok
    assert (await bot.join("ana")).ok
    async with storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", "guild-1")
        actions = [a.action for a in await uow.audit.list(community.id)]
    assert actions == ["pair", "end-match", "remove", "ban", "unban"]


async def test_config_view_set_and_refuse_bad_values(storage) -> None:
    bot = Bot(storage)
    listing = await bot.run("mod", "peeradmin config")
    assert "`group_max` = 5" in listing.text
    assert (await bot.run("mod", "peeradmin config", key="topics", value="Rust, Go")).ok
    assert not (await bot.join("ana")).ok  # Python is no longer a topic here
    assert (await bot.join("ana", topic="rust")).ok
    bad_tz = await bot.run("mod", "peeradmin config", key="timezone", value="Nowhere/City")
    assert not bad_tz.ok and "Unknown time zone" in bad_tz.text
    bad_size = await bot.run("mod", "peeradmin config", key="group_min", value="9")
    assert not bad_size.ok and "group_min" in bad_size.text
    unknown = await bot.run("mod", "peeradmin config", key="colour", value="blue")
    assert not unknown.ok and "no setting" in unknown.text
    assert "`group_min` = 3" in (await bot.run("mod", "peeradmin config", key="group_min")).text


async def test_export_keeps_ids_and_phone_numbers_as_strings(storage) -> None:
    bot = Bot(storage)
    await bot.join("00123", contact="0044770090012")
    reply = await bot.run("mod", "peeradmin export", what="learners")
    [file] = reply.attachments
    assert file.mime == "text/csv" and file.filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(file.content.decode("utf-8-sig"))))
    row = next(r for r in rows if r["user_id"] == "00123")
    assert row["contact"] == "0044770090012"
    bad = await bot.run("mod", "peeradmin export", what="passwords")
    assert not bad.ok


async def test_stats_reply_has_figures_and_a_png_chart(storage) -> None:
    bot = Bot(storage)
    for user in ("ana", "ben", "cal"):
        await bot.join(user)
    await bot.run("mod", "peeradmin match-now")
    reply = await bot.run("mod", "peeradmin stats")
    assert reply.ok and "2 of 3" in reply.text
    [png] = reply.attachments
    assert png.content.startswith(b"\x89PNG") and png.mime == "image/png"
    assert reply.data["matched"] == 2 and reply.data["waiting"] == 1


@pytest.mark.parametrize("cmd", ADMIN_COMMANDS, ids=lambda c: c.name)
async def test_a_refused_moderator_command_keeps_no_first_contact_rows(storage, cmd) -> None:
    bot = Bot(storage)
    args = {o.name: "1" if o.kind is catalogue.Kind.INT else "learners" if o.name == "what" else "x"
            for o in cmd.options if o.required}
    await bot.join("ana")  # the community exists; eve has never spoken to the bot
    reply = await bot.run("eve", cmd.key, **args)
    assert not reply.ok and "for moderators" in reply.text
    async with storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", "guild-1")
        assert await uow.learners.by_platform_id(community.id, "eve") is None
    fresh = Bot(storage, community="guild-new")
    assert not (await fresh.run("eve", cmd.key, **args)).ok
    async with storage.uow_factory() as uow:
        assert await uow.communities.by_external("test", "guild-new") is None


async def test_pair_warns_and_writes_nothing_until_confirmed(storage) -> None:
    bot = Bot(storage)
    await bot.join("ana")
    await bot.join("ben", mode="accountability")
    await bot.run("ben", "peer pause", weeks="2")
    await bot.run("cal", "peer help")  # known to the bot, never joined
    warned = await bot.run("mod", "peeradmin pair", user_a="ana", user_b="ben")
    assert not warned.ok
    assert "different things" in warned.text and "paused matching until" in warned.text
    [again] = warned.buttons
    assert again.action == "peeradmin pair" and again.args["confirm"] == "yes"
    no_profile = await bot.run("mod", "peeradmin pair", user_a="ana", user_b="cal")
    assert not no_profile.ok and "Cal is not waiting" in no_profile.text
    assert "Cal has no profile" in no_profile.text
    async with storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", "guild-1")
        assert await uow.matches.list(community.id) == []
        assert await uow.audit.list(community.id) == []
    confirmed = await bot.run("mod", "peeradmin pair", **again.args)
    assert confirmed.ok, confirmed.text


async def test_pair_never_overrides_a_block_even_confirmed(storage) -> None:
    bot = Bot(storage)
    await bot.join("ana")
    await bot.join("ben")
    assert (await bot.run("mod", "peeradmin pair", user_a="ana", user_b="ben")).ok
    assert (await bot.run("ben", "peer unpair", reason="rude")).ok
    await bot.join("ana")
    await bot.join("ben")
    refused = await bot.run("mod", "peeradmin pair", user_a="ana", user_b="ben", confirm="yes")
    assert not refused.ok and "never matches them again" in refused.text


async def _pair_while_a_round_runs(storage) -> None:
    bot = Bot(storage)
    await bot.join("ana")
    await bot.join("ben", topic="Python")
    async with storage.uow_factory() as round_uow:  # a round holds the community's lock
        community = await round_uow.communities.by_external("test", "guild-1")
        assert await round_uow.lock_community(community.id)
        busy = await bot.run("mod", "peeradmin pair", user_a="ana", user_b="ben")
        assert not busy.ok and "round is running" in busy.text
    async with storage.uow_factory() as uow:
        assert await uow.matches.list(community.id) == []
    assert (await bot.run("mod", "peeradmin pair", user_a="ana", user_b="ben")).ok


# SQLite needs no test: BEGIN IMMEDIATE already serialises the pair and the round.
async def test_pair_waits_for_a_running_round_in_memory(memory_storage) -> None:
    await _pair_while_a_round_runs(memory_storage)


@pytest.mark.postgres
async def test_pair_waits_for_a_running_round_on_postgres(pg_storage) -> None:
    await _pair_while_a_round_runs(pg_storage)
