"""``/peeradmin deliveries`` (``/peer admin deliveries`` on Slack) through the real Bolt app:
the failed rows listed to a workspace admin, refused to a learner, put back on request."""

from __future__ import annotations

from core.messages import DirectMessage
from core.model import OutboxMessage, OutboxState
from tests.adapters.slack.driver import Driver
from tests.adapters.slack.fake_slack import FakeSlack
from tests.adapters.slack.test_slack_lifecycle import texts
from tests.fakes import FakeClock, InMemoryStorage


async def test_deliveries_are_listed_and_retried_through_slack(
        driver: Driver, fake: FakeSlack, memory_storage: InMemoryStorage,
        clock: FakeClock) -> None:
    _, empty = await driver.slash("UADMIN", "admin deliveries")
    assert texts(fake, empty)[0].startswith("No failed deliveries")
    async with memory_storage.uow_factory() as uow:
        community = await uow.communities.by_external("slack", "T1")
        row = await uow.outbox.add(OutboxMessage(DirectMessage("U1", "hi", "k"), community.id,
                                                 clock.now()))
        row.state, row.last_error, row.attempts = OutboxState.FAILED, "channel_not_found", 1
        await uow.outbox.update(row)
        await uow.commit()
    _, listed = await driver.slash("UADMIN", "admin deliveries")
    assert f"#{row.id}" in texts(fake, listed)[0] and "channel_not_found" in texts(fake, listed)[0]
    _, learner = await driver.slash("U1", "admin deliveries retry:all")
    assert "for moderators" in texts(fake, learner)[0]
    _, retried = await driver.slash("UADMIN", "admin deliveries retry:all")
    assert texts(fake, retried)[0].startswith("Put 1 failed delivery back")
    async with memory_storage.uow_factory() as uow:
        [back] = await uow.outbox.list(community.id)
    assert back.state is OutboxState.PENDING and back.attempts == 0 and back.due_at == clock.now()
    async with memory_storage.uow_factory() as uow:
        assert [e.actor for e in await uow.audit.list(community.id)] == ["UADMIN"]
