"""Two-way feedback: the right form for whoever is rated, one per session and partner,
editable for 24 hours, aggregated per learner; anonymous aliases respected (every backend)."""

from __future__ import annotations

from datetime import timedelta

from core.model import Feedback, Mode
from core.services.feedback import averages, rating_of
from tests.helpers import Bot
from tests.scheduler.support import add_match, learner_id, matches, pair, sessions, utc

SUPPORT = {"support_kind": "Concepts"}


async def _support_pair(bot: Bot, anonymous: bool = False) -> int:
    assert (await bot.join("sam", mode="offer-support", capacity="2", **SUPPORT)).ok
    assert (await bot.join("nia", mode="need-support", anonymous="yes" if anonymous else "no",
                           **SUPPORT)).ok
    assert "1 match," in (await bot.match_now()).text
    return int((await matches(bot))[0].id)


async def _met_session(bot: Bot, who: str = "sam") -> int:
    """Book Tuesday 18:00 UTC and move the clock past its end; returns the session id."""
    reply = await bot.book(who, "peer schedule", when="2026-03-03 18:00")
    assert reply.ok, reply.text
    bot.clock.set(utc(2026, 3, 3, 19, 5))
    return int(reply.buttons[0].args["session"])


async def _feedback(bot: Bot) -> list[Feedback]:
    async with bot.storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", bot.community)
        return await uow.feedback.list(community.id)


async def test_learner_and_supporter_rate_each_other_on_their_own_criteria(storage) -> None:
    bot = Bot(storage)
    await _support_pair(bot)
    sid = await _met_session(bot)
    learner_form = await bot.run("nia", "peer feedback")
    assert learner_form.form is not None and learner_form.form.form == "feedback-supporter"
    supporter_form = await bot.run("sam", "peer feedback")
    assert supporter_form.form is not None and supporter_form.form.form == "feedback-supported"
    assert supporter_form.form.context["session"] == str(sid)
    ok = await bot.run("nia", "peer feedback", **learner_form.form.context, clarity="5",
                       responsiveness="4", comment="Clear and kind")
    assert ok.ok and "Thanks" in ok.text, ok.text
    ok = await bot.run("sam", "peer feedback", **supporter_form.form.context, preparedness="3",
                       engagement="4")
    assert ok.ok, ok.text
    sam, nia = await learner_id(bot, "sam"), await learner_id(bot, "nia")
    given = {(f.from_learner, f.to_learner): f for f in await _feedback(bot)}
    assert given[(nia, sam)].scores == {"clarity": 5, "responsiveness": 4}
    assert given[(nia, sam)].comment == "Clear and kind" and given[(nia, sam)].session_id == sid
    assert given[(sam, nia)].scores == {"preparedness": 3, "engagement": 4}


async def test_the_prompt_button_opens_the_form_and_scores_are_checked(storage) -> None:
    bot = Bot(storage)
    await pair(bot)
    await _met_session(bot, "ana")
    await bot.deliver()
    [prompt] = [m for m in bot.deliverer.sent
                if m.target == "ben" and ":feedback:" in m.idempotency_key]
    [button] = prompt.payload["buttons"]
    opened = await bot.run("ben", button["action"], **button["args"])
    assert opened.form is not None and opened.form.form == "feedback-peer"
    assert "{u:ana}" in opened.text
    bad = await bot.run("ben", "peer feedback", **opened.form.context, preparedness="7",
                        engagement="4", responsiveness="x")
    assert not bad.ok and {"preparedness", "responsiveness"} <= set(bad.field_errors)
    assert await _feedback(bot) == []


async def test_one_feedback_per_session_editable_for_24_hours(storage) -> None:
    bot = Bot(storage)
    await pair(bot)
    await _met_session(bot, "ana")
    scores = {"preparedness": "4", "engagement": "4", "responsiveness": "4"}
    assert (await bot.run("ana", "peer feedback", **scores)).ok
    bot.clock.advance(hours=23)
    again = await bot.run("ana", "peer feedback")
    assert again.form is not None and again.form.values["engagement"] == "4"  # pre-filled
    assert (await bot.run("ana", "peer feedback", **{**scores, "engagement": "2"})).ok
    [only] = await _feedback(bot)
    assert only.scores["engagement"] == 2
    bot.clock.advance(hours=2)
    late = await bot.run("ana", "peer feedback", **scores)
    assert not late.ok and "changed for 24 hours" in late.text
    # A new session is a new feedback.
    bot.clock.set(utc(2026, 3, 5, 12))
    assert (await bot.book("ana", "peer schedule", when="2026-03-05 18:00")).ok
    bot.clock.set(utc(2026, 3, 5, 19))
    assert (await bot.run("ana", "peer feedback", **scores)).ok
    assert len(await _feedback(bot)) == 2


async def test_a_session_cannot_be_rated_before_it_happens(storage) -> None:
    bot = Bot(storage)
    await pair(bot)
    booked = await bot.book("ana", "peer schedule", when="2026-03-05 18:00")
    sid = booked.buttons[0].args["session"]
    early = await bot.run("ana", "peer feedback", session=sid)
    assert not early.ok and "hasn't happened yet" in early.text
    stranger = await bot.run("ana", "peer feedback", match="99")
    assert not stranger.ok and "no match number 99" in stranger.text


async def test_in_a_group_each_partner_is_rated_separately(storage) -> None:
    bot = Bot(storage)
    for user in ("ana", "ben", "cat"):
        assert (await bot.join(user, mode="study-group")).ok
    group = await add_match(bot, "ana", "ben", "cat", kind=Mode.STUDY_GROUP)
    choose = await bot.run("ana", "peer feedback", match=group.id)
    assert [b.label for b in choose.buttons] == ["Rate Ben", "Rate Cat"]
    form = await bot.run("ana", choose.buttons[1].action, **choose.buttons[1].args)
    assert form.form is not None and form.form.context["to"] == str(await learner_id(bot, "cat"))
    outsider = await bot.run("ana", "peer feedback", match=group.id, to="999")
    assert not outsider.ok and "isn't in this match" in outsider.text


async def test_the_supporter_sees_only_the_alias_of_an_anonymous_learner(storage) -> None:
    bot = Bot(storage)
    await _support_pair(bot, anonymous=True)
    await _met_session(bot)
    opened = await bot.run("sam", "peer feedback")
    assert "Anonymous learner" in opened.text and "{u:nia}" not in opened.text
    saved = await bot.run("sam", "peer feedback", **opened.form.context, preparedness="5",
                          engagement="5")
    assert saved.ok and "Anonymous learner" in saved.text and "nia" not in saved.text.lower()
    await bot.deliver()
    for message in bot.deliverer.sent:
        if message.target == "sam":
            assert "{u:nia}" not in message.payload.get("text", "")
            assert all("Nia" not in b["label"] for b in message.payload.get("buttons", []))


async def test_ratings_are_aggregated_per_learner(storage) -> None:
    bot = Bot(storage)
    await _support_pair(bot)
    await _met_session(bot)
    assert (await bot.run("nia", "peer feedback", clarity="5", responsiveness="3")).ok
    sam, nia = await learner_id(bot, "sam"), await learner_id(bot, "nia")
    async with storage.uow_factory() as uow:
        assert await rating_of(uow, sam) == 4.0
        assert averages(await uow.feedback.about(sam)) == {
            "clarity": 5.0, "responsiveness": 3.0, "overall": 4.0}
        assert await rating_of(uow, nia) is None


async def test_feedback_about_an_ended_match_is_still_welcome(storage) -> None:
    bot = Bot(storage)
    mid = await pair(bot)
    await _met_session(bot, "ana")
    assert (await bot.run("ben", "peer unpair", reason="moving on")).ok
    late = await bot.run("ana", "peer feedback", match=mid, preparedness="4", engagement="4",
                         responsiveness="5")
    assert late.ok, late.text
    [session] = await sessions(bot, mid)
    assert session.start == utc(2026, 3, 3, 18) and session.end - session.start == timedelta(
        hours=1
    )
