"""Permanent delivery failures are told once per kind to the moderators, and
``/peeradmin deliveries`` lists failed rows and puts them back (issue 10.6), on every backend
and through the console; tests/adapters/slack/test_slack_deliveries.py runs it through Slack."""

from __future__ import annotations

import io
from collections import deque
from typing import Any

from adapters.console.repl import Console
from core.messages import DirectMessage
from core.model import OutboxMessage, OutboxState
from core.ports import DeliveryError
from core.services.context import Services
from core.settings import CommunitySettings
from tests.fakes import FakeClock
from tests.helpers import Bot, RecordingDeliverer


class Refusing(RecordingDeliverer):
    """A platform that refuses DMs to some people for good (the bot lacks a permission to
    reach them), and accepts everything else."""

    def __init__(self, refused: dict[str, str]) -> None:
        super().__init__()
        self.refused = refused

    async def deliver(self, message: Any, _community_external_id: str = "", *,
                      journal: Any = None) -> dict[str, Any]:
        if message.kind == "dm" and message.target in self.refused:
            kind = self.refused[message.target]
            raise DeliveryError(f"PeerMatch lacks {kind}: a moderator should grant it",
                                permanent=True, problem=kind)
        return await super().deliver(message, _community_external_id, journal=journal)


async def _rows(bot: Bot) -> list[OutboxMessage]:
    async with bot.storage.uow_factory() as uow:
        return await uow.outbox.list()


async def test_a_permanent_failure_is_told_once_per_kind_and_retried_on_request(storage) -> None:
    bot = Bot(storage, settings=CommunitySettings(moderator_users=("mod",)))
    platform = Refusing({"ana": "missing_permission", "ben": "missing_permission",
                         "cat": "channel_not_found"})
    bot.deliverer = platform
    assert (await bot.run("mod", "peeradmin deliveries")).text.startswith("No failed")
    # Three DMs to three people, two kinds of problem.
    async with storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", bot.community)
        for user in ("ana", "ben", "cat"):
            await uow.outbox.add(OutboxMessage(DirectMessage(user, "hello", f"hi:{user}"),
                                               community.id, bot.clock.now()))
        await uow.commit()
    await bot.deliver()
    await bot.deliver()  # the reports themselves
    reports = platform.dms_to("mod")
    assert len(reports) == 2  # one per kind, not one per failed row
    assert sorted(r.split("lacks ")[1].split(":")[0] for r in reports) == [
        "channel_not_found", "missing_permission"]
    assert all("/peeradmin deliveries retry:all" in r for r in reports)
    failed = [m for m in await _rows(bot) if m.state is OutboxState.FAILED]
    assert sorted(m.target for m in failed) == ["ana", "ben", "cat"]

    listing = await bot.run("mod", "peeradmin deliveries")
    assert listing.ok and listing.text.index("{u:cat}") < listing.text.index("{u:ana}")
    assert "lacks channel_not_found" in listing.text and "(1 attempt)" in listing.text

    assert not (await bot.run("mod", "peeradmin deliveries", retry="soon")).ok
    refused = await bot.run("mod", "peeradmin deliveries", retry="99999")
    assert not refused.ok and "no failed delivery #99999" in refused.text
    assert [m.state for m in await _rows(bot) if m.target == "ana"] == [OutboxState.FAILED]

    platform.refused = {}  # the moderator granted the permission
    ana = next(m for m in failed if m.target == "ana")
    one = await bot.run("mod", "peeradmin deliveries", retry=f"#{ana.id}")
    assert one.ok and f"#{ana.id}" in one.text
    assert (await bot.run("mod", "peeradmin deliveries", retry="all")).ok
    await bot.deliver()
    assert [m for m in await _rows(bot) if m.state is not OutboxState.SENT] == []
    assert (await bot.run("mod", "peeradmin deliveries")).text.startswith("No failed")
    async with storage.uow_factory() as uow:
        audit = await uow.audit.list(community.id)
    assert [e.action for e in audit] == ["deliveries retry", "deliveries retry"]
    assert platform.dms_to("mod") == reports  # told once: no new report after the retry


async def test_nobody_to_tell_is_logged_and_a_failed_report_breeds_no_more(storage,
                                                                           caplog) -> None:
    bot = Bot(storage)
    bot.admins = set()
    platform = Refusing({"ana": "revoked_token", "mod": "revoked_token"})
    bot.deliverer = platform
    assert (await bot.run("ana", "peer status")).ok
    async with storage.uow_factory() as uow:
        community = await uow.communities.by_external("test", bot.community)
        await uow.outbox.add(OutboxMessage(DirectMessage("ana", "hello", "hi:ana"),
                                           community.id, bot.clock.now()))
        await uow.commit()
    await bot.deliver()
    assert "no moderator is known" in caplog.text
    bot.admins = {"mod"}
    assert (await bot.run("mod", "peeradmin deliveries", retry="all")).ok  # audited: known
    await bot.deliver()
    await bot.deliver()
    rows = await _rows(bot)
    # The report to the moderator failed the same way: it is kept failed, and not reported.
    assert sorted((m.target, m.state.value) for m in rows) == [
        ("ana", "failed"), ("mod", "failed")]


async def test_deliveries_through_the_console(memory_storage) -> None:
    class Lines:
        def __init__(self) -> None:
            self.queue: deque[str] = deque()

        def readline(self) -> str:
            return self.queue.popleft() + "\n" if self.queue else ""

    clock = FakeClock()
    out = io.StringIO()
    console = Console(Services(memory_storage.uow_factory, clock, CommunitySettings()), "c1",
                      Lines(), out)  # type: ignore[arg-type]
    await console.meta_or_command("as moderator")
    await console.meta_or_command("/peeradmin deliveries")
    assert "No failed deliveries" in out.getvalue()
    async with memory_storage.uow_factory() as uow:
        [community] = await uow.communities.list()
        row = await uow.outbox.add(OutboxMessage(DirectMessage("ana", "hi", "k"),
                                                 community.id, clock.now()))
        row.state, row.last_error = OutboxState.FAILED, "missing_scope: im:write"
        await uow.outbox.update(row)
        await uow.commit()
    await console.meta_or_command("/peeradmin deliveries")
    assert f"#{row.id}" in out.getvalue() and "missing_scope: im:write" in out.getvalue()
    await console.meta_or_command("/peeradmin deliveries retry:nope")
    assert "takes the number of a failed delivery" in out.getvalue()
    await console.meta_or_command(f"/peeradmin deliveries retry:{row.id}")
    assert "Put 1 failed delivery back" in out.getvalue()
    async with memory_storage.uow_factory() as uow:  # the console drains after a command
        assert [m.state for m in await uow.outbox.list()] == [OutboxState.SENT]
    assert "📨 DM to" in out.getvalue()
