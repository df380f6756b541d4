"""What happens around Slack's ack (issues 9.3, 10.4): a command is done before its ack, a
slow one is stored before it and answered after (once, by DM when the response_url has
expired), and response_url replies share one connection."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.slack import flow as flow_module
from adapters.slack.answer import Origin
from adapters.slack.app import flow_of
from adapters.slack.flow import ON_IT
from adapters.slack.work import reply_to
from core.accepted import WorkState, command_work
from core.services import accepted
from tests.adapters.slack.driver import Driver
from tests.adapters.slack.fake_slack import FakeSlack
from tests.adapters.slack.test_slack_lifecycle import join, texts
from tests.fakes import FakeClock, InMemoryStorage


async def _learners(storage: InMemoryStorage) -> list[str]:
    async with storage.uow_factory() as uow:
        community = await uow.communities.by_external("slack", "T1")
        if community is None:
            return []
        return [lr.platform_user_id for lr in await uow.learners.list(community.id)]


async def _work(storage: InMemoryStorage) -> list[Any]:
    async with storage.uow_factory() as uow:
        return await uow.accepted.list()


async def test_a_command_is_done_when_its_ack_arrives(
        http_driver: Driver, memory_storage: InMemoryStorage) -> None:
    body, key = http_driver.slash_body("U1", "help")
    sent = await http_driver.send(body, settle=False)
    assert sent.status == 200
    assert await _learners(memory_storage) == ["U1"]  # first contact stored before the ack
    await http_driver.settle()
    assert texts(http_driver.fake, key)


async def test_match_now_is_stored_before_its_ack_and_answered_once_after(
        http_driver: Driver, fake: FakeSlack, memory_storage: InMemoryStorage) -> None:
    for user in ("U1", "U2"):
        await join(http_driver, fake, user)
    body, key = http_driver.slash_body("UADMIN", "admin match-now")
    sent = await http_driver.send(body, settle=False)
    assert sent.body == ON_IT  # shown at once (Bolt answers a bare text as plain text)
    [row] = await _work(memory_storage)  # stored before Slack heard back
    assert row.command == "peeradmin match-now"
    await http_driver.settle()
    [summary] = texts(fake, key)
    assert "Round done" in summary and "1 match," in summary
    [row] = await _work(memory_storage)
    assert row.state is WorkState.REPLIED


async def test_an_expired_response_url_gets_the_answer_by_dm(
        driver: Driver, fake: FakeSlack, clock: FakeClock) -> None:
    flow = flow_of(driver.app)
    origin = Origin("T1", "UADMIN", "admin", channel_id="C0GENERAL",
                    response_url=fake.response_url("gone"))
    fake.expire("gone")  # e.g. the bot was down for more than 30 minutes
    await accepted.accept(flow.services, command_work(
        "slack", "T1", "peeradmin queue", {}, {}, reply_to(origin), clock.now()))
    flow.on_accepted()  # as after a restart
    await driver.settle()
    dm = str(fake.m_conversations_open({"users": "UADMIN"})["channel"]["id"])
    assert [m["text"] for m in fake.messages_in(dm)] == ["Nobody is waiting."]
    assert texts(fake, "gone") == []


async def test_response_url_replies_share_one_connection(
        http_driver: Driver, fake: FakeSlack) -> None:
    for _ in range(3):
        await http_driver.slash("U1", "help")
    assert len(fake.responses) == 3
    assert len(set(fake.response_peers)) == 1  # one keep-alive connection, not one each


async def test_a_submission_slower_than_the_ack_budget_is_answered_by_message(
        driver: Driver, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    _, key = await driver.slash("U1", "join study-buddy")
    view = fake.opened_views[-1]["view"]
    monkeypatch.setattr(flow_module, "ACK_BUDGET_SECONDS", 0.05)
    fake.slow("users.info", 0.3)  # who is asking must be looked up again: slower than that
    flow_of(driver.app).actors.forget()
    bad = await driver.submit("U1", view, {"topic": "Python", "languages": "English",
                                           "availability": "whenever"})
    assert bad.status == 200 and bad.body == ""  # the modal closes instead of timing out
    [told] = texts(fake, key)
    assert told.startswith("Please check:") and "submit the form again" in told
    flow_of(driver.app).actors.forget()
    good = await driver.submit("U1", view, {"topic": "Python", "languages": "English",
                                            "availability": "Mon-Fri 18:00-21:00"})
    assert good.body == ""
    assert "in the queue" in texts(fake, key)[-1]


async def test_the_ack_does_not_wait_for_the_reply(
        http_driver: Driver, fake: FakeSlack) -> None:
    """The listener returns at its ack (process_before_response): a slow reply (here the
    join modal) follows the HTTP answer instead of holding it."""
    fake.slow("views.open", 0.5)
    body, _ = http_driver.slash_body("U1", "join study-buddy")
    sent = await http_driver.send(body, settle=False)
    assert sent.status == 200
    assert fake.opened_views == []  # answered before the modal was opened
    await http_driver.settle()
    [opened] = fake.opened_views
    assert opened["view"]["type"] == "modal"
