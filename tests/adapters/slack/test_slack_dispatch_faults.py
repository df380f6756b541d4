"""The outbox dispatcher and the Slack deliverer under platform faults (issue 10.9).

Rows go through the real dispatcher (core/services/delivery.py) with a fake clock, on
memory and SQLite, against the fake Slack, which deduplicates nothing. Each fault happens
after Slack has acted; the dispatcher retries as it would; the test counts what Slack kept:
every message exactly once, every row sent. A crash is a dispatcher pass cancelled while
its call is in flight (the process dies with Slack's answer outstanding); the restarted
instance takes its claims back and reconciles.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from adapters.slack.client import make_client
from adapters.slack.deliver import SlackDeliverer
from core.messages import DirectMessage, OpenSpace
from core.model import Community, OutboxMessage, OutboxState
from core.replies import Attachment
from core.services.delivery import dispatch_due, reclaim_own
from core.settings import DispatchSettings
from tests.adapters.slack.conftest import make_settings
from tests.adapters.slack.fake_slack import FakeSlack
from tests.fakes import FakeClock

ICS = Attachment("session-5.ics", b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\n", "text/calendar")
FAST = DispatchSettings(call_timeout_seconds=5.0)
ME = "instance-a"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(f"{request.param}_storage")


@pytest.fixture
def deliverers(fake: FakeSlack) -> dict[str, SlackDeliverer]:
    return {"slack": SlackDeliverer(make_client(make_settings(fake), max_wait_seconds=0,
                                                timeout=1))}


async def put_rows(store: Any, clock: FakeClock) -> None:
    async with store.uow_factory() as uow:
        community = await uow.communities.add(Community("slack", "T1", "Test"))
        assert community.id is not None
        for row in (DirectMessage("U1", "Your session is booked", "session:5:invite:1",
                                  attachments=(ICS,)),
                    DirectMessage("U2", "Your session is booked", "session:5:invite:2",
                                  attachments=(ICS,)),
                    OpenSpace(9, "peer-9", ("U1", "U2"), "Welcome, both!")):
            await uow.outbox.add(OutboxMessage(row, community.id, clock.now()))
        await uow.commit()


async def until_settled(store: Any, clock: FakeClock, deliverers: dict[str, Any],
                        passes: int = 8) -> list[OutboxMessage]:
    """Dispatcher passes, the clock moved past every backoff, until no row is pending."""
    for _ in range(passes):
        await dispatch_due(store.uow_factory, clock, deliverers, FAST, instance=ME)
        async with store.uow_factory() as uow:
            rows = await uow.outbox.list()
        if all(r.state is not OutboxState.PENDING for r in rows):
            return rows
        clock.advance(hours=1)
    raise AssertionError(f"still pending: {[(r.idempotency_key, r.last_error) for r in rows]}")


def assert_each_once(fake: FakeSlack, rows: list[OutboxMessage]) -> None:
    assert sorted(m["text"] for m in fake.messages) == [
        "Welcome, both!", "Your session is booked", "Your session is booked"]
    dm_files = sorted(f["channel"] for f in fake.files)
    assert len(dm_files) == 2 and len(set(dm_files)) == 2  # one invite in each DM
    assert [r.state for r in rows] == [OutboxState.SENT] * 3


@pytest.mark.parametrize("method", ["chat.postMessage", "files.completeUploadExternal"])
@pytest.mark.parametrize("fault", ["500", "drop", "hang"])
async def test_a_fault_after_slack_acted_sends_nothing_twice(
        store: Any, clock: FakeClock, fake: FakeSlack, deliverers: dict[str, Any],
        method: str, fault: str) -> None:
    await put_rows(store, clock)
    fake.after(method, fault, times=2)
    rows = await until_settled(store, clock, deliverers)
    assert_each_once(fake, rows)
    assert any(r.attempts > 1 for r in rows)  # the faults did cost attempts: retried


async def test_a_429_storm_delays_but_loses_and_repeats_nothing(
        store: Any, clock: FakeClock, fake: FakeSlack, deliverers: dict[str, Any]) -> None:
    await put_rows(store, clock)
    fake.fail("chat.postMessage", status=429, retry_after=30, times=12)
    rows = await until_settled(store, clock, deliverers, passes=20)
    assert_each_once(fake, rows)


async def test_a_crash_with_a_post_in_flight_is_reconciled_on_restart(
        store: Any, clock: FakeClock, fake: FakeSlack, deliverers: dict[str, Any]) -> None:
    await put_rows(store, clock)
    fake.after("chat.postMessage", "hang", times=3)  # posted, never answered
    crashed = asyncio.create_task(
        dispatch_due(store.uow_factory, clock, deliverers, FAST, instance=ME))
    await fake.wait_for(lambda: len(fake.messages) >= 1)
    crashed.cancel()  # the process dies with the answer outstanding
    with contextlib.suppress(asyncio.CancelledError):
        await crashed
    fake.after_faults_clear()
    assert await reclaim_own(store.uow_factory, clock, ME) >= 1  # at once, no lease to wait
    rows = await until_settled(store, clock, deliverers)
    assert_each_once(fake, rows)


async def test_a_call_carried_out_after_the_client_gave_up_is_waited_for(
        store: Any, clock: FakeClock, fake: FakeSlack) -> None:
    """Slack may act on a call after the client timed out: a retry that finds nothing too
    soon waits (without using an attempt) instead of posting a second copy."""
    deliverers = {"slack": SlackDeliverer(make_client(make_settings(fake), timeout=1),
                                          now=clock.now)}
    await put_rows(store, clock)
    fake.slow("chat.postMessage", 3)  # each post lands 3 s after it was sent: too late
    await dispatch_due(store.uow_factory, clock, deliverers, FAST, instance=ME)
    fake.slow("chat.postMessage", 0)  # (the posts under way keep their delay)
    clock.advance(seconds=10)  # past the backoff, within the settle time
    await dispatch_due(store.uow_factory, clock, deliverers, FAST, instance=ME)
    async with store.uow_factory() as uow:
        waiting = await uow.outbox.list()
    assert [r.state for r in waiting] == [OutboxState.PENDING] * 3
    assert all("may still land" in r.last_error and r.attempts == 1 for r in waiting)
    await fake.wait_for(lambda: len(fake.messages) == 3)  # the late posts have landed
    clock.advance(seconds=60)
    rows = await until_settled(store, clock, deliverers)
    assert_each_once(fake, rows)
