"""A support offer on Slack through the real Bolt app and the fake Slack Web API: the
supporter's DM carries Accept / Decline, Accept makes the match, then the group DM opens."""

from __future__ import annotations

from typing import Any

from adapters.slack.app import deliverer_for
from core.services.delivery import dispatch_due
from tests.adapters.slack.driver import Driver
from tests.adapters.slack.fake_slack import FakeSlack
from tests.fakes import FakeClock, InMemoryStorage

FORM = {"topic": "Python", "languages": "English", "availability": "Mon-Fri 18:00-21:00",
        "support_kind": "Concepts", "capacity": "2"}


async def join(driver: Driver, fake: FakeSlack, user: str, mode: str) -> None:
    opened = len(fake.opened_views)
    sent, _ = await driver.slash(user, f"join {mode}")
    assert sent.status == 200
    view = fake.opened_views[opened]["view"]
    assert view["callback_id"] == f"pmform:join-{mode}"
    assert (await driver.submit(user, view, FORM)).status == 200


async def test_the_supporter_accepts_with_the_dm_button(
        driver: Driver, fake: FakeSlack, memory_storage: InMemoryStorage, clock: FakeClock,
        app: Any) -> None:
    await join(driver, fake, "U1", "offer-support")
    await join(driver, fake, "U2", "need-support")
    await driver.slash("UADMIN", "admin match-now")
    await dispatch_due(memory_storage.uow_factory, clock, {"slack": deliverer_for(app)})
    ask = next(m for m in fake.messages if "asks for support" in m["text"])
    assert "<@U2>" in ask["text"]
    assert not any(c["is_mpim"] for c in fake.channels.values())  # no space before a yes

    await driver.click("U1", ask, "Accept")
    assert any("You now support" in r["text"] for r in fake.responses)
    await dispatch_due(memory_storage.uow_factory, clock, {"slack": deliverer_for(app)})
    group = next(c for c in fake.channels.values() if c["is_mpim"])
    assert "match #1" in fake.messages_in(group["id"])[0]["text"]
    assert any("accepted your request" in m["text"] for m in fake.messages)
    async with memory_storage.uow_factory() as uow:
        assert len(await uow.matches.list(1)) == 1
