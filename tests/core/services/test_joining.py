"""Joining, the form, validation and the one-pending-request rule (every backend)."""

from __future__ import annotations

from core.model import QueueState
from tests.helpers import Bot


async def _waiting(bot: Bot) -> list:
    async with bot.storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", bot.community)
        return [] if community is None else await uow.queue.waiting(community.id)


async def test_join_without_fields_opens_the_mode_form(storage) -> None:
    bot = Bot(storage)
    reply = await bot.run("ana", "peer join", mode="study-group")
    assert reply.ok and reply.form is not None
    assert reply.form.form == "join-study-group"
    assert reply.form.submit_command == "peer join"
    assert reply.form.context == {"mode": "study-group"}
    assert await _waiting(bot) == []


async def test_join_queues_and_remembers_the_profile(storage) -> None:
    bot = Bot(storage)
    reply = await bot.join("ana", goal="pass the exam", contact="07700900123")
    assert reply.ok, reply.text
    assert "1 of 1 waiting" in reply.text
    [entry] = await _waiting(bot)
    assert entry.state is QueueState.WAITING
    async with storage.uow_factory() as uow:
        profile = await uow.profiles.get(entry.learner_id)
    assert profile.topic == "Python" and profile.contact == "07700900123"
    # The saved profile pre-fills the form next time.
    await bot.run("ana", "peer leave")
    again = await bot.run("ana", "peer join", mode="study-buddy")
    assert again.form is not None and again.form.values["availability"] == "Mon-Fri 18:00-21:00"


async def test_duplicate_join_is_refused_clearly_and_changes_nothing(storage) -> None:
    bot = Bot(storage)
    assert (await bot.join("ana")).ok
    second = await bot.join("ana", mode="accountability")
    assert not second.ok
    assert "already in the queue" in second.text and "/peer leave" in second.text
    entries = await _waiting(bot)
    assert len(entries) == 1 and entries[0].mode.value == "study-buddy"


async def test_bad_availability_names_the_bad_token_and_changes_nothing(storage) -> None:
    bot = Bot(storage)
    reply = await bot.join("ana", availability="Mon-Fri 18:00-21:00, Sut 10:00-12:00")
    assert not reply.ok
    assert "'sut'" in reply.field_errors["availability"].lower()
    assert await _waiting(bot) == []


async def test_unknown_time_zone_and_overlong_topic_are_refused(storage) -> None:
    bot = Bot(storage)
    tz = await bot.join("ana", timezone="Mars/Olympus_Mons")
    assert not tz.ok and "Unknown time zone" in tz.field_errors["timezone"]
    long_topic = await bot.join("ana", topic="x" * 2000)
    assert not long_topic.ok and "too long" in long_topic.field_errors["topic"]
    long_goal = await bot.join("ana", goal="y" * 2000)
    assert not long_goal.ok and "too long" in long_goal.field_errors["goal"]
    assert await _waiting(bot) == []


async def test_choice_fields_accept_any_case_and_refuse_unknown_values(storage) -> None:
    bot = Bot(storage)
    bad = await bot.join("ana", topic="Astrology")
    assert not bad.ok and "not one of" in bad.field_errors["topic"]
    good = await bot.join("ana", topic="python", languages="english, SPANISH")
    assert good.ok, good.text
    async with storage.uow_factory() as uow:
        [entry] = await uow.queue.waiting((await uow.communities.by_external("test", "guild-1")).id)
        profile = await uow.profiles.get(entry.learner_id)
    assert profile.topic == "Python" and profile.languages == ("English", "Spanish")


async def test_rejoin_uses_the_saved_profile(storage) -> None:
    bot = Bot(storage)
    none = await bot.run("ana", "peer rejoin")
    assert not none.ok and "/peer join" in none.text
    await bot.join("ana", mode="accountability")
    await bot.run("ana", "peer leave")
    assert (await bot.run("ana", "peer rejoin")).ok
    [entry] = await _waiting(bot)
    assert entry.mode.value == "accountability"


async def test_supporter_capacity_and_group_size_are_bounded(storage) -> None:
    bot = Bot(storage)
    too_many = await bot.join("sam", mode="offer-support", support_kind="Concepts", capacity="9")
    assert not too_many.ok and "capacity" in too_many.field_errors
    big_group = await bot.join("gus", mode="study-group", group_size="7")
    assert not big_group.ok and "group_size" in big_group.field_errors
    assert await _waiting(bot) == []


async def test_a_round_does_not_store_a_match_whose_member_left_after_the_plan(storage) -> None:
    """The plan is made from one read; a member who left before it is stored stays unmatched
    (the plan is stored later with the real store_plan, as a round does after solving)."""
    from core.services import rounds
    from core.services.dispatch import effective_settings
    from core.services.round_store import store_plan

    bot = Bot(storage)
    for user in ("ana", "ben"):
        assert (await bot.join(user)).ok
    async with storage.uow_factory(writes=False) as uow:
        community = await uow.communities.by_external("test", "guild-1")
    settings = effective_settings(bot.services, community)
    outcome = await rounds.run_round(bot.services, community, settings, dry_run=True)
    assert len(outcome.plan.matches) == 1  # ana + ben, planned
    async with storage.uow_factory() as uow:
        [ben] = [e for e in await uow.queue.waiting(community.id)
                 if outcome.learners[e.learner_id].platform_user_id == "ben"]
        ben.state = QueueState.LEFT  # ben leaves before the plan is stored
        await uow.queue.update(ben)
        stored = await store_plan(uow, community, settings, outcome.round, outcome.plan,
                                  outcome.learners, outcome.profiles, bot.clock.now())
        assert stored == []
        await uow.commit()
    async with storage.uow_factory() as uow:
        assert await uow.matches.list(community.id) == []
        states = sorted(e.state for e in await uow.queue.history(community.id))
        assert await uow.outbox.list(community.id) == []  # nobody was told of a match
    assert states == sorted([QueueState.LEFT, QueueState.WAITING])
