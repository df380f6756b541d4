"""Exactly once on Slack (issue 10.1, 10.9): faults after the platform acted, retries, steps.

Slack never deduplicates, and neither does the fake: every test counts what the fake kept.
``until_delivered`` plays the dispatcher's side of the Deliverer port: each finished step is
journaled into ``progress``; an unclear failure leaves ``attempt_started_at`` set, so the
next attempt reconciles first.
"""

from __future__ import annotations

from typing import Any

import pytest

from adapters.slack.client import make_client
from adapters.slack.deliver import SlackDeliverer
from core.messages import DirectMessage, OpenSpace, SpaceMessage
from core.model import OutboxMessage
from core.ports import DeliveryError
from core.replies import Attachment
from tests.adapters.slack.conftest import make_settings
from tests.adapters.slack.fake_slack import FakeSlack
from tests.fakes import FakeClock

ICS = Attachment("session-3.ics", b"BEGIN:VCALENDAR\r\nMETHOD:CANCEL\r\n", "text/calendar")


@pytest.fixture
def deliverer(fake: FakeSlack) -> SlackDeliverer:
    # A short timeout so a hung call fails the attempt quickly.
    return SlackDeliverer(make_client(make_settings(fake), max_wait_seconds=2, timeout=1))


def dm_row(*files: Attachment) -> OutboxMessage:
    return OutboxMessage(DirectMessage("U1", "Session cancelled", "session:3:cancel:1",
                                       attachments=files), 1, FakeClock().now())


async def until_delivered(deliverer: SlackDeliverer, row: OutboxMessage,
                          tries: int = 4) -> tuple[dict[str, Any], list[DeliveryError]]:
    """Deliver as the dispatcher does, retrying after each failure; (facts, failures)."""
    failures: list[DeliveryError] = []

    async def journal(step: str, answer: str) -> None:
        row.progress[step] = answer

    for _ in range(tries):
        try:
            facts = await deliverer.deliver(row, journal=journal)
        except DeliveryError as exc:
            failures.append(exc)
            # An unclear outcome stays recorded as an attempt in flight.
            row.attempt_started_at = FakeClock().now() if exc.unclear else None
            continue
        row.attempt_started_at = None
        return facts, failures
    raise AssertionError(f"not delivered after {tries} tries: {failures}")


def texts(fake: FakeSlack) -> list[str]:
    return [m["text"] for m in fake.messages]


@pytest.mark.parametrize("fault", ["500", "drop", "hang"])
async def test_a_post_that_fails_after_posting_is_not_posted_again(
        deliverer: SlackDeliverer, fake: FakeSlack, fault: str) -> None:
    fake.after("chat.postMessage", fault)
    row = dm_row(ICS)
    _, failures = await until_delivered(deliverer, row)
    assert [f.unclear for f in failures] == [True]
    assert texts(fake) == ["Session cancelled"]  # once, though the first answer was lost
    # The SDK did not re-send it on its own either.
    assert len(fake.calls_to("chat.postMessage")) == 1
    assert [f["name"] for f in fake.files] == ["session-3.ics"]  # nothing lost after it
    assert set(row.progress) == {"text", "files"}


async def test_the_metadata_names_the_key_and_step(deliverer: SlackDeliverer,
                                                   fake: FakeSlack) -> None:
    await deliverer.deliver(dm_row())
    [call] = fake.calls_to("chat.postMessage")
    assert call["metadata"] == {"event_type": "peermatch_delivery",
                                "event_payload": {"key": "session:3:cancel:1", "step": "text"}}


@pytest.mark.parametrize("fault", ["500", "drop"])
async def test_a_failed_upload_never_posts_the_text_again(
        deliverer: SlackDeliverer, fake: FakeSlack, fault: str) -> None:
    fake.after("files.completeUploadExternal", fault)
    row = dm_row(ICS)
    _, failures = await until_delivered(deliverer, row)
    assert len(failures) == 1 and failures[0].unclear
    assert texts(fake) == ["Session cancelled"]
    assert len(fake.files) == 1  # found again in the history, not shared twice
    assert len(fake.calls_to("files.completeUploadExternal")) == 1


async def test_an_upload_that_failed_before_sharing_is_uploaded_once_more(
        deliverer: SlackDeliverer, fake: FakeSlack) -> None:
    fake.fail("files.completeUploadExternal", "internal_error", status=500)
    row = dm_row(ICS)
    _, failures = await until_delivered(deliverer, row)
    assert failures[0].unclear and "text" in row.progress
    assert texts(fake) == ["Session cancelled"] and len(fake.files) == 1


async def test_a_crash_after_everything_was_done_sends_nothing_more(
        deliverer: SlackDeliverer, fake: FakeSlack) -> None:
    await deliverer.deliver(dm_row(ICS))  # done, but the process died before recording it
    row = dm_row(ICS)
    row.attempt_started_at = FakeClock().now()  # what the restarted dispatcher sees
    await until_delivered(deliverer, row)
    assert texts(fake) == ["Session cancelled"] and len(fake.files) == 1
    assert len(fake.calls_to("chat.postMessage")) == 1
    assert row.progress["text"].startswith("D")


async def test_an_unclear_attempt_that_never_reached_slack_is_sent(
        deliverer: SlackDeliverer, fake: FakeSlack) -> None:
    fake.fail("chat.postMessage", "internal_error", status=500)  # refused before posting
    row = dm_row()
    _, failures = await until_delivered(deliverer, row)
    assert failures[0].unclear
    assert texts(fake) == ["Session cancelled"]  # nothing lost either


async def test_steps_already_done_are_skipped_without_asking(
        deliverer: SlackDeliverer, fake: FakeSlack) -> None:
    await deliverer.deliver(dm_row())
    row = dm_row(ICS)
    row.progress["text"] = fake.messages[0]["channel"] + "/" + fake.messages[0]["ts"]
    await until_delivered(deliverer, row)
    assert texts(fake) == ["Session cancelled"] and len(fake.files) == 1
    assert fake.calls_to("conversations.history") == []  # the row was clear: no need


async def test_a_space_intro_lost_in_a_500_is_posted_once(deliverer: SlackDeliverer,
                                                         fake: FakeSlack) -> None:
    fake.after("chat.postMessage", "500")
    row = OutboxMessage(OpenSpace(4, "peer-4", ("U1", "U2"), "Welcome!"), 1, FakeClock().now())
    facts, _ = await until_delivered(deliverer, row)
    assert texts(fake) == ["Welcome!"] and fake.messages[0]["channel"] == facts["space_id"]
    assert row.progress["space"] == facts["space_id"]


async def test_a_fallback_space_message_keeps_its_files(deliverer: SlackDeliverer,
                                                        fake: FakeSlack) -> None:
    space = (await deliverer.deliver(OutboxMessage(OpenSpace(4, "peer-4", ("U1", "U2"), "Hi"),
                                                   1, FakeClock().now())))["space_id"]
    fake.after("chat.postMessage", "drop")
    row = OutboxMessage(SpaceMessage(4, "{u:U1} I couldn't DM you", "dm-fallback:x",
                                     attachments=(ICS,), space_id=space), 1, FakeClock().now())
    await until_delivered(deliverer, row)
    assert texts(fake) == ["Hi", "<@U1> I couldn't DM you"]
    assert [(f["channel"], f["content"]) for f in fake.files] == [(space, ICS.content)]


async def test_reads_are_still_retried_by_the_sdk(deliverer: SlackDeliverer,
                                                  fake: FakeSlack) -> None:
    await deliverer.deliver(dm_row())
    fake.after("conversations.history", "drop")
    row = dm_row()
    row.attempt_started_at = FakeClock().now()
    await deliverer.deliver(row)  # the dropped read was repeated in place: no failure
    assert len(fake.calls_to("conversations.history")) == 2
    assert texts(fake) == ["Session cancelled"]


async def test_slack_does_not_deduplicate_and_neither_does_the_fake(
        deliverer: SlackDeliverer, fake: FakeSlack) -> None:
    await deliverer.deliver(dm_row())
    await deliverer.deliver(dm_row())  # a clear row delivered twice is posted twice
    assert texts(fake) == ["Session cancelled", "Session cancelled"]


async def test_without_the_history_scope_reconciling_fails_for_good(
        deliverer: SlackDeliverer, fake: FakeSlack) -> None:
    fake.scopes.discard("im:history")
    row = dm_row()
    row.attempt_started_at = FakeClock().now()
    with pytest.raises(DeliveryError) as raised:
        await deliverer.deliver(row)
    assert raised.value.permanent and "'im:history' scope" in str(raised.value)
    assert fake.messages == []  # never posted blind


@pytest.mark.parametrize(("error", "fix"), [
    ("channel_not_found", "cannot see it"),
    ("not_in_channel", "/invite @PeerMatch"),
    ("invalid_auth", "SLACK_BOT_TOKEN"),
    ("account_inactive", "reinstall"),
    ("token_revoked", "reinstall"),
])
async def test_permanent_errors_say_the_fix(deliverer: SlackDeliverer, fake: FakeSlack,
                                            error: str, fix: str) -> None:
    fake.fail("chat.postMessage", error)
    with pytest.raises(DeliveryError) as raised:
        await deliverer.deliver(dm_row())
    assert raised.value.permanent and not raised.value.unclear
    assert fix in str(raised.value)


async def test_a_429_is_a_wait_not_an_unclear_outcome(fake: FakeSlack) -> None:
    deliverer = SlackDeliverer(make_client(make_settings(fake), max_wait_seconds=0))
    fake.fail("chat.postMessage", status=429, retry_after=30)
    with pytest.raises(DeliveryError) as raised:
        await deliverer.deliver(dm_row())
    assert raised.value.retry_after == 30 and not raised.value.unclear
    assert fake.messages == []


async def test_a_recent_unclear_attempt_not_seen_yet_is_a_wait(fake: FakeSlack) -> None:
    clock = FakeClock()
    deliverer = SlackDeliverer(make_client(make_settings(fake)), now=clock.now)
    row = dm_row()
    row.attempt_started_at = clock.now()
    clock.advance(seconds=15)
    with pytest.raises(DeliveryError) as raised:
        await deliverer.deliver(row)
    assert raised.value.unclear and raised.value.retry_after == 45
    assert fake.messages == []  # not posted blind while the first may still land
    clock.advance(seconds=45)
    await deliverer.deliver(row)  # a minute on, still not there: it was never posted
    assert texts(fake) == ["Session cancelled"]
