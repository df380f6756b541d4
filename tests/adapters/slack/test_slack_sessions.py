"""After the match: book a session from the intro's button, get the .ics invite, answer
"did you meet?", and rate the partner through the feedback form, all on Slack."""

from __future__ import annotations

from typing import Any

from adapters.slack.app import deliverer_for
from core.services.delivery import dispatch_due
from tests.adapters.slack.driver import Driver
from tests.adapters.slack.fake_slack import FakeSlack
from tests.adapters.slack.test_slack_lifecycle import join
from tests.fakes import FakeClock, InMemoryStorage


async def matched(driver: Driver, fake: FakeSlack, storage: InMemoryStorage, clock: FakeClock,
                  app: Any) -> dict[str, Any]:
    """Ada and Bo matched and told; returns the intro message in their group DM."""
    await join(driver, fake, "U1")
    await join(driver, fake, "U2")
    await driver.slash("UADMIN", "admin match-now")
    await dispatch_due(storage.uow_factory, clock, {"slack": deliverer_for(app)})
    group = next(c for c in fake.channels.values() if c["is_mpim"])
    return fake.messages_in(group["id"])[0]


async def test_book_meet_and_rate(driver: Driver, fake: FakeSlack, memory_storage: InMemoryStorage,
                                  clock: FakeClock, app: Any) -> None:
    intro = await matched(driver, fake, memory_storage, clock, app)

    # "Schedule" carries the match; the modal asks when (a suggested time's number works).
    await driver.click("U2", intro, "Schedule")
    modal = fake.opened_views[-1]["view"]
    assert [b["block_id"] for b in modal["blocks"] if b["type"] == "input"] == ["when",
                                                                                "minutes"]
    answer = await driver.submit("U2", modal, {"when": "1"})
    assert answer.status == 200 and answer.body == ""
    assert any("Proposed a session" in r["text"] for r in fake.responses)
    async with memory_storage.uow_factory() as uow:
        assert await uow.sessions.for_match(1) == []  # booked only when U1 accepts

    # U1 is asked by DM and accepts with the button: now it is booked.
    await dispatch_due(memory_storage.uow_factory, clock, {"slack": deliverer_for(app)})
    ask = next(m for m in fake.messages if "proposes a session" in m["text"])
    await driver.click("U1", ask, "Accept")
    assert any("Booked session #1" in r["text"] for r in fake.responses)
    async with memory_storage.uow_factory() as uow:
        sessions = await uow.sessions.for_match(1)
    assert len(sessions) == 1

    await dispatch_due(memory_storage.uow_factory, clock, {"slack": deliverer_for(app)})
    invites = [f for f in fake.files if str(f["title"]).endswith(".ics")]
    assert len(invites) == 2 and b"BEGIN:VCALENDAR" in invites[0]["content"]

    # "Did we meet?" asks for the answer in a modal built from the command's options.
    await driver.click("U1", intro, "Did we meet?")
    modal = fake.opened_views[-1]["view"]
    answer_input = next(b for b in modal["blocks"] if b.get("block_id") == "answer")
    assert [o["value"] for o in answer_input["element"]["options"]] == [
        "yes", "not-yet", "no", "no-show"]
    assert (await driver.submit("U1", modal, {"answer": "yes"})).body == ""

    # After the session, the feedback prompt's button opens the feedback form.
    clock.set(sessions[0].end)
    clock.advance(minutes=1)
    await dispatch_due(memory_storage.uow_factory, clock, {"slack": deliverer_for(app)})
    prompt = next(m for m in fake.messages if "How did your session" in m["text"]
                  and m["channel"] == fake.m_conversations_open({"users": "U1"})["channel"]["id"])
    await driver.click("U1", prompt, "Give feedback")
    form = fake.opened_views[-1]["view"]
    assert form["callback_id"] == "pmform:feedback-peer"
    bad = await driver.submit(
        "U1", form, {"preparedness": "9", "engagement": "4", "responsiveness": "5"}
    )
    assert bad.json()["response_action"] == "errors" and "preparedness" in bad.json()["errors"]
    good = await driver.submit("U1", form, {"preparedness": "5", "engagement": "4",
                                            "responsiveness": "5", "comment": "great"})
    assert good.body == ""
    async with memory_storage.uow_factory() as uow:
        given = await uow.feedback.list(1)
    assert [(f.scores["preparedness"], f.comment) for f in given] == [(5, "great")]
    assert fake.problems == []


async def test_a_delivered_match_refreshes_the_home_tab(driver: Driver, fake: FakeSlack,
                                                        memory_storage: InMemoryStorage,
                                                        clock: FakeClock, app: Any) -> None:
    await driver.home_opened("U1")
    await matched(driver, fake, memory_storage, clock, app)
    home = str(fake.homes["U1"])
    assert "Match #1" in home and "<@U2>" in home
