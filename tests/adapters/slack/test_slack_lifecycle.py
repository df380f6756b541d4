"""The whole learner lifecycle through the real Bolt app, in-process and over HTTP:
join (slash → modal → submission) ×2 → admin match-now → outbox delivered on Slack (DMs,
group DM with intro and buttons) → a reminder DM → unpair (button → reason modal →
submission) → partner told, group DM closed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from adapters.slack.app import deliverer_for
from core.messages import DirectMessage
from core.model import MatchState, OutboxMessage, QueueState
from core.services.delivery import dispatch_due
from tests.adapters.slack.driver import Driver
from tests.adapters.slack.fake_slack import FakeSlack
from tests.fakes import FakeClock, InMemoryStorage


async def join(driver: Driver, fake: FakeSlack, user: str, **values: Any) -> dict[str, Any]:
    """``/peer join study-buddy``, then fill in and submit the modal."""
    opened = len(fake.opened_views)
    sent, _ = await driver.slash(user, "join study-buddy")
    assert sent.status == 200 and sent.body == ""  # acked at once, nothing shown yet
    view = fake.opened_views[opened]["view"]
    assert view["callback_id"] == "pmform:join-study-buddy"
    answer = await driver.submit(user, view, {"topic": "Python", "languages": "English",
                                              "availability": "Mon-Fri 18:00-21:00", **values})
    assert answer.status == 200
    return view


def texts(fake: FakeSlack, key: str) -> list[str]:
    return [r["text"] for r in fake.responses if r["key"] == key]


async def waiting(storage: InMemoryStorage) -> list[Any]:
    async with storage.uow_factory() as uow:
        community = await uow.communities.by_external("slack", "T1")
        return await uow.queue.waiting(community.id) if community else []


async def test_full_lifecycle(any_driver: Driver, fake: FakeSlack, memory_storage: InMemoryStorage,
                              clock: FakeClock, app: Any) -> None:
    driver = any_driver
    view = await join(driver, fake, "U1")
    # users.info's tz pre-filled the time zone; the learner's answers were kept.
    tz_input = next(b for b in view["blocks"] if b.get("block_id") == "timezone")
    assert tz_input["element"]["initial_value"] == "Europe/London"
    await join(driver, fake, "U2")
    queue = await waiting(memory_storage)
    assert [e.state for e in queue] == [QueueState.WAITING, QueueState.WAITING]
    # The confirmation went to the slash command's response_url, ephemeral.
    confirmations = [r for r in fake.responses if "in the queue" in r["text"]]
    assert len(confirmations) == 2 and all(r["response_type"] == "ephemeral" for r in confirmations)

    sent, key = await driver.slash("UADMIN", "admin match-now")
    assert "Round done" in texts(fake, key)[0] and "1 match," in texts(fake, key)[0]
    assert await waiting(memory_storage) == []

    deliverer = deliverer_for(app)
    result = await dispatch_due(memory_storage.uow_factory, clock, {"slack": deliverer})
    assert result.failed == 0 and result.sent >= 3
    dms = {m["channel"] for m in fake.messages if m["channel"].startswith("D")}
    assert len(dms) == 2
    group = next(c for c in fake.channels.values() if c["is_mpim"])
    assert set(group["members"]) == {"U1", "U2", "UBOT"}
    intro = fake.messages_in(group["id"])[0]
    assert "<@U1>" in intro["text"] and "<!date^" in intro["text"]
    labels = [
        e["text"]["text"] for b in intro["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert {"Schedule", "Unpair"} <= set(labels)
    async with memory_storage.uow_factory() as uow:
        match = (await uow.matches.list(1))[0]
    assert match.space_id == group["id"]

    # A reminder-like row written by the core later: delivered when due.
    async with memory_storage.uow_factory() as uow:
        await uow.outbox.add(OutboxMessage(
            DirectMessage("U1", "⏰ Your session starts {t:1772488800:R}", "reminder:test"),
            match.community_id, clock.now() + timedelta(hours=1)))
        await uow.commit()
    clock.advance(hours=2)
    await dispatch_due(memory_storage.uow_factory, clock, {"slack": deliverer})
    reminder = [m for m in fake.messages if "Your session starts" in m["text"]]
    assert len(reminder) == 1 and "<!date^1772488800^{ago}" in reminder[0]["text"]

    # Unpair: the intro's button carries the match, the modal asks for the reason.
    opened = len(fake.opened_views)
    await driver.click("U1", intro, "Unpair", channel=group["id"])
    modal = fake.opened_views[opened]["view"]
    assert modal["callback_id"] == "pmcmd:peer.unpair"
    assert [b["block_id"] for b in modal["blocks"] if b["type"] == "input"] == ["reason"]
    answer = await driver.submit("U1", modal, {"reason": "we never met"})
    assert answer.status == 200 and answer.body == ""  # the modal closes
    async with memory_storage.uow_factory() as uow:
        ended = await uow.matches.get(match.id)
    assert ended is not None and ended.state is MatchState.ENDED
    assert "we never met" in ended.ended_reason

    before = len(fake.messages)
    await dispatch_due(memory_storage.uow_factory, clock, {"slack": deliverer})
    told = [m for m in fake.messages[before:] if "has left match" in m["text"]]
    assert [m["channel"] for m in told] == [
        fake.m_conversations_open({"users": "U2"})["channel"]["id"]
    ]
    closing = [m for m in fake.messages[before:] if m["channel"] == group["id"]]
    assert closing and "ended" in closing[-1]["text"]
    assert fake.problems == []
