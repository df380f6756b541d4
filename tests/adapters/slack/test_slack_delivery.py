"""SlackDeliverer against the fake Web API: DMs, spaces, closing, rate limits and errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from adapters.slack.client import make_client
from adapters.slack.deliver import SlackDeliverer, channel_name
from core.messages import CloseSpace, DirectMessage, OpenSpace
from core.model import Community, OutboxMessage, OutboxState
from core.ports import DeliveryError
from core.replies import Attachment, Button
from core.services.delivery import dispatch_due
from tests.adapters.slack.conftest import make_settings
from tests.adapters.slack.fake_slack import FakeSlack
from tests.fakes import FakeClock, InMemoryStorage


@pytest.fixture
def deliverer(fake: FakeSlack) -> SlackDeliverer:
    return SlackDeliverer(make_client(make_settings(fake), max_wait_seconds=2))


def dm(user: str = "U1", text: str = "Hello **there**", **kwargs: Any) -> OutboxMessage:
    return OutboxMessage(DirectMessage(user, text, f"k:{user}:{text}", **kwargs), 1,
                         FakeClock().now())


def space(members: list[str], mode: str = "auto", name: str = "peer-1-python") -> OutboxMessage:
    return OutboxMessage(OpenSpace(1, name, tuple(members), "Welcome {u:U1}!",
                                   (Button("Unpair", "peer unpair", {"match": "1"}, "danger"),),
                                   space_mode=mode), 1, FakeClock().now())


async def test_a_dm_goes_to_the_user_with_buttons_and_files(deliverer: SlackDeliverer,
                                                           fake: FakeSlack) -> None:
    msg = dm(buttons=(Button("Status", "peer status"),),
             attachments=(Attachment("x.csv", b"a,b\n1,2\n", "text/csv"),))
    assert await deliverer.deliver(msg) == {}
    posted = fake.messages[-1]
    assert posted["channel"].startswith("D") and posted["text"] == "Hello *there*"
    assert posted["blocks"][-1]["elements"][0]["action_id"] == "pm:peer.status:0"
    assert (
        fake.files[0]["channel"] == posted["channel"] and fake.files[0]["content"] == b"a,b\n1,2\n"
    )


async def test_a_group_dm_is_the_default_space(deliverer: SlackDeliverer, fake: FakeSlack) -> None:
    facts = await deliverer.deliver(space(["U1", "U2", "U3"]))
    channel = fake.channels[facts["space_id"]]
    assert channel["is_mpim"] and set(channel["members"]) == {"U1", "U2", "U3", "UBOT"}
    assert fake.messages_in(channel["id"])[0]["text"] == "Welcome <@U1>!"
    # Opening it again (a retry after a crash) gives the same conversation.
    assert (await deliverer.deliver(space(["U1", "U2", "U3"])))["space_id"] == channel["id"]


async def test_channel_mode_creates_a_private_channel_and_invites(deliverer: SlackDeliverer,
                                                                 fake: FakeSlack) -> None:
    facts = await deliverer.deliver(
        space(["U1", "U2"], mode="channel", name="peer-1-Data Science!")
    )
    channel = fake.channels[facts["space_id"]]
    assert channel["name"] == "peer-1-data-science" and channel["is_private"]
    assert {"U1", "U2"} <= set(channel["members"])
    # name_taken by our own channel (a retry): reused, not duplicated.
    again = await deliverer.deliver(
        space(["U1", "U2"], mode="channel", name="peer-1-Data Science!")
    )
    assert again["space_id"] == channel["id"]


async def test_a_name_taken_by_someone_else_gets_a_suffix(
    deliverer: SlackDeliverer, fake: FakeSlack
) -> None:
    fake._new_channel("C", name="peer-1-python", members=["U3"])  # not the bot's
    facts = await deliverer.deliver(space(["U1", "U2"], mode="channel"))
    assert fake.channels[facts["space_id"]]["name"] == "peer-1-python-1"


async def test_more_than_eight_people_get_a_private_channel(deliverer: SlackDeliverer,
                                                           fake: FakeSlack) -> None:
    people = [f"UX{i}" for i in range(9)]
    for user in people:
        fake.add_user(user, user)
    facts = await deliverer.deliver(space(people))
    channel = fake.channels[facts["space_id"]]
    assert not channel["is_mpim"] and set(people) <= set(channel["members"])


def test_channel_names_are_valid() -> None:
    assert channel_name("Peer 1 — Álgebra Linéal") == "peer-1-lgebra-lin-al"
    assert len(channel_name("x" * 200, 12)) == 80 and channel_name("x" * 200, 12).endswith("-12")
    assert channel_name("!!!") == "peermatch"


async def test_closing_archives_a_channel_and_tells_a_group_dm(deliverer: SlackDeliverer,
                                                              fake: FakeSlack) -> None:
    channel_id = (await deliverer.deliver(space(["U1", "U2"], mode="channel")))["space_id"]
    group_id = (await deliverer.deliver(space(["U1", "U2"])))["space_id"]
    for space_id in (channel_id, group_id):
        await deliverer.deliver(OutboxMessage(CloseSpace(1, space_id, "archive"), 1,
                                              FakeClock().now()))
    assert fake.channels[channel_id]["is_archived"]
    assert not fake.channels[group_id]["is_archived"]
    assert "ended" in fake.messages_in(group_id)[-1]["text"]
    # Closing twice is harmless.
    await deliverer.deliver(OutboxMessage(CloseSpace(1, channel_id, "archive"), 1,
                                          FakeClock().now()))


@pytest.mark.parametrize(("error", "permanent", "says"), [
    ("user_not_found", True, "user_not_found"),
    ("cannot_dm_bot", True, "cannot_dm_bot"),
    ("missing_scope", True, "'chat:write' scope"),
    ("internal_error", False, "internal_error"),
])
async def test_slack_errors_become_delivery_errors(deliverer: SlackDeliverer, fake: FakeSlack,
                                                   error: str, permanent: bool, says: str) -> None:
    fake.fail("chat.postMessage", error, needed="chat:write")
    with pytest.raises(DeliveryError) as raised:
        await deliverer.deliver(dm())
    assert raised.value.permanent is permanent
    assert says in str(raised.value)


async def _slack_community(storage: InMemoryStorage) -> int:
    async with storage.uow_factory() as uow:
        community = await uow.communities.add(Community("slack", "T1", "Test"))
        await uow.commit()
    assert community.id is not None
    return community.id


async def _row(storage: InMemoryStorage, community_id: int, clock: FakeClock) -> OutboxMessage:
    async with storage.uow_factory() as uow:
        row = await uow.outbox.add(OutboxMessage(DirectMessage("U1", "Reminder", "reminder:1"),
                                                 community_id, clock.now()))
        await uow.commit()
    return row


async def test_a_short_rate_limit_is_waited_out_in_place(deliverer: SlackDeliverer, fake: FakeSlack,
                                                         memory_storage: InMemoryStorage,
                                                         clock: FakeClock) -> None:
    community_id = await _slack_community(memory_storage)
    await _row(memory_storage, community_id, clock)
    fake.fail("chat.postMessage", status=429, retry_after=1)
    result = await dispatch_due(memory_storage.uow_factory, clock, {"slack": deliverer})
    assert result.sent == 1 and result.retried == 0
    assert len(fake.calls_to("chat.postMessage")) == 2  # the 429, then the retry
    assert [m["text"] for m in fake.messages] == ["Reminder"]


async def test_a_long_rate_limit_reschedules_at_retry_after(
    deliverer: SlackDeliverer, fake: FakeSlack, memory_storage: InMemoryStorage, clock: FakeClock
) -> None:
    community_id = await _slack_community(memory_storage)
    row = await _row(memory_storage, community_id, clock)
    fake.fail("chat.postMessage", status=429, retry_after=120)
    result = await dispatch_due(memory_storage.uow_factory, clock, {"slack": deliverer})
    assert result.retried == 1 and fake.messages == []
    async with memory_storage.uow_factory() as uow:
        pending = await uow.outbox.pending(community_id)
    assert [p.id for p in pending] == [row.id]
    assert pending[0].state is OutboxState.PENDING
    assert pending[0].due_at == clock.now() + timedelta(seconds=120)  # Retry-After, honoured
    assert "rate limited" in pending[0].last_error
    clock.advance(seconds=119)
    assert (await dispatch_due(memory_storage.uow_factory, clock, {"slack": deliverer})).sent == 0
    clock.advance(seconds=1)
    assert (await dispatch_due(memory_storage.uow_factory, clock, {"slack": deliverer})).sent == 1
    assert [m["text"] for m in fake.messages] == ["Reminder"]
