"""Forms on Discord: the core's validation errors are shown and fixable without starting over."""

from __future__ import annotations

from tests.adapters.discord.conftest import Bot
from tests.adapters.discord.test_discord_flow import PAGE_1, join


def label_of(modal_body: dict[str, object], custom_id: str) -> dict[str, object]:
    return next(c for c in modal_body["components"]  # type: ignore[attr-defined]
                if c["component"]["custom_id"] == custom_id)


async def test_a_bad_availability_is_rejected_then_fixed_with_the_answers_kept(bot: Bot) -> None:
    users = bot.users
    modal = await users.answer(await users.slash("alice", "peer join", mode="study-buddy"))
    step = await users.answer(
        await users.submit("alice", modal, {**PAGE_1, "availability": "Mon 25:00-26:00"})
    )
    page_2 = await users.answer(await users.click("alice", step, "Next"))
    rejected = await users.answer(await users.submit("alice", page_2, {"goal": "Pass the exam"}))

    # The core's message names the problem; the learner can fix it in place.
    assert rejected.ephemeral and "25:00" in rejected.content
    assert "When are you free each week?" in rejected.content
    assert "Fix my answers" in rejected.buttons()

    fix = await users.answer(await users.click("alice", rejected, "Fix my answers"))
    assert fix.type == 9 and fix.body["title"].endswith("(1/2)")  # only the page with the error
    availability = label_of(fix.body, "availability")
    assert "⚠️" in str(availability["description"])  # the error, under the field's label
    assert availability["component"]["value"] == "Mon 25:00-26:00"  # type: ignore[index]
    topic = label_of(fix.body, "topic")["component"]
    assert [o["value"] for o in topic["options"] if o.get("default")] == ["Python"]  # type: ignore[index]

    done = await users.answer(
        await users.submit("alice", fix, {"availability": "Mon-Fri 18:00-21:00"})
    )
    assert "in the queue for **Study buddy** on **Python**" in done.content
    async with bot.storage.uow_factory() as uow:
        community = await uow.communities.by_external("discord", bot.fake.guild_id)
        learner = await uow.learners.by_platform_id(community.id, bot.fake.ids["alice"])  # type: ignore[union-attr]
        profile = await uow.profiles.get(learner.id)  # type: ignore[union-attr]
    assert profile is not None and profile.goal == "Pass the exam"  # page 2 was kept


async def test_rejoining_later_opens_the_form_prefilled(bot: Bot) -> None:
    users = bot.users
    await join(bot, "alice")
    await users.answer(await users.slash("alice", "peer leave"))
    modal = await users.answer(await users.slash("alice", "peer profile", action="edit"))
    assert modal.type == 9
    assert label_of(modal.body, "availability")["component"]["value"] == "Mon-Fri 18:00-21:00"  # type: ignore[index]


async def test_a_form_page_after_a_restart_is_answered_politely(bot: Bot) -> None:
    users = bot.users
    modal = await users.answer(await users.slash("alice", "peer join", mode="study-buddy"))
    bot.client.forms = type(bot.client.forms)()  # as if the process had restarted
    reply = await users.answer(await users.submit("alice", modal, PAGE_1))
    assert reply.ephemeral and "expired" in reply.content


async def test_a_reply_that_asks_for_a_form_after_a_modal_offers_a_button(bot: Bot) -> None:
    """/peer help's Join button lacks the mode: a modal asks for it; the join form can't open
    from a modal submit, so an 'Open the form' button does."""
    users = bot.users
    help_reply = await users.answer_with(await users.slash("alice", "peer help"), "Join")
    mode = await users.answer(await users.click("alice", help_reply, "Join"))
    assert [c["component"]["custom_id"] for c in mode.body["components"]] == ["mode"]
    offer = await users.answer(await users.submit("alice", mode, {"mode": "accountability"}))
    assert "Open the form" in offer.buttons()
    form = await users.answer(await users.click("alice", offer, "Open the form"))
    assert form.type == 9 and form.body["title"].startswith("Join: Accountability")
