"""Claims that mean something and faults by kind, driven with a fake clock on every backend:
a batch that outlives its lease, a restart that takes its own claims back at once, a database
error while recording, unclear outcomes, step journals, 429 pacing per target, bounded
concurrency and per-call timeouts (issue 10.1, 10.2, 10.6)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import pytest

from core.messages import DirectMessage
from core.model import Community, OutboxMessage, OutboxState
from core.ports import DeliveryError
from core.services.delivery import dispatch_due, drain, reclaim_own
from core.settings import DispatchSettings
from tests.fakes import FakeClock
from tests.scheduler.support import TimedDeliverer

LEASE = DispatchSettings().lease_seconds


class Killed(BaseException):
    """The process dies (not an error the dispatcher could catch and record)."""


async def _dms(storage: Any, clock: FakeClock, targets: list[str]) -> list[str]:
    """One due DM per entry of ``targets`` (the user it goes to); returns their keys."""
    async with storage.uow_factory() as uow:
        cid = (await uow.communities.add(Community("test", "g"))).id
        keys = [f"dm:{n}:{user}" for n, user in enumerate(targets)]
        for key, user in zip(keys, targets, strict=True):
            await uow.outbox.add(OutboxMessage(DirectMessage(user, key, key), cid, clock.now()))
        await uow.commit()
    return keys


async def _rows(storage: Any) -> dict[str, OutboxMessage]:
    async with storage.uow_factory() as uow:
        return {m.idempotency_key: m for m in await uow.outbox.list()}


class Scripted(TimedDeliverer):
    """A platform whose answer per call is scripted: ``script(message)`` may raise, wait,
    or move the clock; then the message is accepted like TimedDeliverer accepts it."""

    def __init__(self, clock: FakeClock, script: Callable[..., Any]) -> None:
        super().__init__(clock)
        self.script = script

    async def deliver(self, message, community_external_id="", *, journal=None):  # type: ignore[no-untyped-def]
        await self.script(self, message, journal)
        return await super().deliver(message, community_external_id, journal=journal)


async def test_a_batch_that_outlives_its_lease_never_sends_a_row_twice(storage, clock) -> None:
    keys = await _dms(storage, clock, ["u1"] * 3)  # one target: delivered one by one
    other = TimedDeliverer(clock)
    second: list[Any] = []

    async def slow(_platform: Scripted, message: OutboxMessage, _journal: Any) -> None:
        clock.advance(seconds=LEASE * 0.6)  # each call takes 60 % of the lease
        if message.idempotency_key == keys[1]:
            # Row 3's batch lease has run out: a second process claims and sends it now.
            second.append(await dispatch_due(storage.uow_factory, clock, {"test": other},
                                             instance="b"))

    first = Scripted(clock, slow)
    result = await dispatch_due(storage.uow_factory, clock, {"test": first}, instance="a")
    # Row 2's attempt renewed its lease when it started, so only row 3 was free to take.
    assert [r.sent for r in second] == [1] and other.delivered_keys() == [keys[2]]
    assert result.sent == 2 and result.lost == 1  # process a found its claim gone: skipped
    assert first.delivered_keys() == keys[:2]
    assert {m.state for m in (await _rows(storage)).values()} == {OutboxState.SENT}


async def test_a_lost_claim_never_overwrites_the_new_holder(storage, clock, caplog) -> None:
    [key] = await _dms(storage, clock, ["u1"])
    other = TimedDeliverer(clock)

    async def taken_over(_platform: Scripted, _message: OutboxMessage, _journal: Any) -> None:
        clock.advance(seconds=LEASE + 1)  # longer than any timeout allows, on purpose
        async with storage.uow_factory() as uow:  # process b claims the row meanwhile
            [row] = await uow.outbox.claim_due(clock.now(), 10, clock.now(), "b")
            row.state = OutboxState.PENDING
            row.last_error = "b holds it"
            await uow.commit()
        raise DeliveryError("bad gateway", unclear=True)

    with caplog.at_level(logging.WARNING, logger="core.services.delivery"):
        result = await dispatch_due(storage.uow_factory, clock,
                                    {"test": Scripted(clock, taken_over)}, instance="a")
    assert result.lost == 1 and result.retried == 0 and "claim lost" in caplog.text
    row = (await _rows(storage))[key]
    assert row.claimed_by == "b" and row.claim_token and row.attempts == 0  # b's, untouched
    assert other.delivered_keys() == []


async def test_a_restart_takes_back_its_own_claims_at_once_and_reconciles(storage,
                                                                          clock) -> None:
    keys = await _dms(storage, clock, ["u1", "u1", "u1"])

    async def die_on_second(platform: Scripted, message: OutboxMessage, _j: Any) -> None:
        if message.idempotency_key == keys[1]:
            platform.delivered.append((clock.now(), message))  # the platform got it ...
            platform._answers[message.idempotency_key] = {}
            raise Killed  # ... and the process died before hearing back

    platform = Scripted(clock, die_on_second)
    with pytest.raises(Killed):
        await dispatch_due(storage.uow_factory, clock, {"test": platform},
                           instance="host-a")
    rows = await _rows(storage)
    assert rows[keys[1]].unclear and rows[keys[1]].claimed_by == "host-a"
    # Another instance takes nothing back; the lease still holds against everyone.
    assert await reclaim_own(storage.uow_factory, clock, "host-b") == 0
    assert (await dispatch_due(storage.uow_factory, clock, {"test": platform})).sent == 0
    # The same instance restarts: its two dead claims are due again at once.
    assert await reclaim_own(storage.uow_factory, clock, "host-a") == 2
    platform.script = lambda *_: asyncio.sleep(0)
    result = await dispatch_due(storage.uow_factory, clock, {"test": platform},
                                instance="host-a")
    assert result.sent == 2
    assert platform.unclear_calls == [keys[1]] and platform.reconciled == [keys[1]]
    assert sorted(platform.delivered_keys()) == sorted(keys)  # each once
    assert all(m.state is OutboxState.SENT and not m.unclear
               for m in (await _rows(storage)).values())


class FailingRecords:
    """A storage whose outbox refuses to record outcomes ``times`` times (the database
    went away between the call and the record)."""

    def __init__(self, storage: Any, times: int) -> None:
        self.storage, self.times = storage, times

    def uow_factory(self) -> Any:
        uow = self.storage.uow_factory()
        real = uow.outbox.record

        async def record(message: OutboxMessage, token: str) -> bool:
            if self.times > 0:
                self.times -= 1
                raise ConnectionResetError("connection to the database was lost")
            return bool(await real(message, token))

        uow.outbox.record = record
        return uow


async def test_a_database_error_while_recording_stays_in_the_tick_and_is_reconciled(
        storage, clock, caplog) -> None:
    [key] = await _dms(storage, clock, ["u1"])
    flaky = FailingRecords(storage, times=1)
    platform = TimedDeliverer(clock)
    with caplog.at_level(logging.ERROR, logger="core.services.delivery"):
        result = await dispatch_due(flaky.uow_factory, clock, {"test": platform})
    assert result.sent == 0 and "recording the outcome failed" in caplog.text
    row = (await _rows(storage))[key]
    assert row.state is OutboxState.PENDING and row.unclear and row.claim_token  # left as is
    clock.advance(seconds=LEASE)
    assert (await dispatch_due(flaky.uow_factory, clock, {"test": platform})).sent == 1
    assert platform.delivered_keys() == [key] and platform.reconciled == [key]


async def test_unclear_outcomes_keep_the_journal_mark_and_clear_ones_do_not(storage,
                                                                            clock) -> None:
    keys = await _dms(storage, clock, ["u1", "u2", "u3"])
    faults = {keys[0]: DeliveryError("Slack answered 503", unclear=True),
              keys[1]: DeliveryError("not ready yet"),
              keys[2]: RuntimeError("the SDK broke")}

    async def fail(_platform: Scripted, message: OutboxMessage, _journal: Any) -> None:
        raise faults[message.idempotency_key]

    result = await dispatch_due(storage.uow_factory, clock, {"test": Scripted(clock, fail)})
    assert result.retried == 3 and result.unclear == 2
    rows = await _rows(storage)
    assert rows[keys[0]].unclear and rows[keys[2]].unclear  # may have been carried out
    assert not rows[keys[1]].unclear  # the platform said no: known not sent
    assert all(m.attempts == 1 and not m.claim_token for m in rows.values())
    assert "RuntimeError: the SDK broke" in rows[keys[2]].last_error


async def test_finished_steps_are_journaled_at_once_and_handed_to_the_next_attempt(
        storage, clock) -> None:
    [key] = await _dms(storage, clock, ["u1"])
    seen: list[dict[str, str]] = []

    async def text_then_file(_platform: Scripted, message: OutboxMessage, journal: Any) -> None:
        seen.append(dict(message.progress))
        if "text" not in message.progress:
            await journal("text", "1700000000.000100")
            assert (await _rows(storage))[key].progress == {"text": "1700000000.000100"}
            raise DeliveryError("file upload: connection reset", unclear=True)

    platform = Scripted(clock, text_then_file)
    assert (await dispatch_due(storage.uow_factory, clock, {"test": platform})).retried == 1
    clock.advance(seconds=DispatchSettings().max_backoff_seconds)
    assert (await dispatch_due(storage.uow_factory, clock, {"test": platform})).sent == 1
    assert seen == [{}, {"text": "1700000000.000100"}]


async def test_a_429_paces_its_target_only_and_the_dispatcher_never_sleeps(storage,
                                                                           clock) -> None:
    keys = await _dms(storage, clock, ["busy", "busy", "calm", "busy", "calm"])
    limited = {"busy": 1}

    async def rate_limit(_platform: Scripted, message: OutboxMessage, _journal: Any) -> None:
        if message.target == "busy" and limited["busy"]:
            limited["busy"] -= 1
            raise DeliveryError("rate limited", retry_after=30.0)

    platform = Scripted(clock, rate_limit)
    start = clock.now()
    result = await dispatch_due(storage.uow_factory, clock, {"test": platform},
                                DispatchSettings(batch_size=2))
    # Claimed: busy, busy. The first is limited: both wait 30 s; the unclaimed third busy
    # row is paced in the store too; calm is untouched.
    assert result.sent == 0 and result.retried == 1 and clock.now() == start
    rows = await _rows(storage)
    assert [rows[k].due_at for k in (keys[0], keys[1], keys[3])] == [
        start.replace(second=30)] * 3
    assert rows[keys[0]].attempts == 0 and rows[keys[1]].attempts == 0  # no attempt used
    assert (await drain(storage.uow_factory, clock, {"test": platform})).sent == 2
    assert platform.delivered_keys() == [keys[2], keys[4]]
    clock.advance(seconds=30)
    assert (await drain(storage.uow_factory, clock, {"test": platform})).sent == 3
    assert platform.delivered_keys()[2:] == [keys[0], keys[1], keys[3]]  # in order


async def test_targets_run_side_by_side_bounded_and_one_target_in_order(storage,
                                                                        clock) -> None:
    keys = await _dms(storage, clock, ["a", "b", "c", "a", "d", "b", "a"])
    running: list[str] = []
    peak: list[int] = []
    three_at_once = asyncio.Event()

    async def busy(_platform: Scripted, message: OutboxMessage, _journal: Any) -> None:
        assert message.target not in running  # never two calls to one target at once
        running.append(message.target)
        peak.append(len(running))
        if len(running) == 3:
            three_at_once.set()
        # The first calls hold until three run together (or give up: peak then says so).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(three_at_once.wait(), 5)
        running.remove(message.target)

    platform = Scripted(clock, busy)
    result = await dispatch_due(storage.uow_factory, clock, {"test": platform},
                                DispatchSettings(concurrency=3))
    assert result.sent == 7 and max(peak) == 3
    order = platform.delivered_keys()
    for target in "ab":
        mine = [k for k in keys if k.endswith(f":{target}")]
        assert [k for k in order if k in mine] == mine


async def test_a_hung_call_is_cut_off_and_stalls_nothing_else(storage, clock) -> None:
    keys = await _dms(storage, clock, ["hung", "fine", "fine"])

    async def hang(_platform: Scripted, message: OutboxMessage, _journal: Any) -> None:
        if message.target == "hung":
            await asyncio.Event().wait()  # never answers

    platform = Scripted(clock, hang)
    result = await dispatch_due(storage.uow_factory, clock, {"test": platform},
                                DispatchSettings(call_timeout_seconds=1.0))
    assert result.sent == 2 and result.retried == 1 and result.unclear == 1
    hung = (await _rows(storage))[keys[0]]
    assert hung.state is OutboxState.PENDING and hung.unclear and "no answer" in hung.last_error
