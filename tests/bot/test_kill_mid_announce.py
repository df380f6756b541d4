"""SIGKILL a real `peermatch run` between a match's expansion and its delivery (issue 9.5):
the dispatcher has expanded the match's announcement (one committed transaction: the intro
DMs, the space) and is delivering the first DM when it dies. After a restart every message
of the match arrives once, the announcement is not expanded again, and no row is doubled."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from adapters.sql.migrate import upgrade
from adapters.sql.uow import SqlStorage
from core import keys
from core.messages import AnnounceMatch
from core.model import (
    Community,
    Learner,
    Match,
    MatchMember,
    Mode,
    OutboxMessage,
    OutboxState,
)
from tests.adapters.slack.fake_slack import FakeSlack
from tests.bot.test_graceful_stop import _exit_code, _start, _until, fake, settle_and_stop
from tests.bot.test_kill_mid_delivery import TAKE_BACK_BOUND, _stored

__all__ = ["fake"]  # the fixture, shared with the graceful-stop tests


async def _seed_match(url: str) -> int:
    """A stored match of U1 and U2 and its one announcement row, as a round leaves it."""
    storage = SqlStorage(url)
    try:
        async with storage.uow_factory() as uow:
            now = datetime.now(UTC)
            community = await uow.communities.add(Community("slack", "T1", "T1"))
            assert community.id is not None
            ada = await uow.learners.add(Learner(community.id, "U1", "Ada", created_at=now))
            bo = await uow.learners.add(Learner(community.id, "U2", "Bo", created_at=now))
            match = await uow.matches.add(Match(
                community.id, Mode.STUDY_BUDDY,
                [MatchMember(ada.id or 0, "peer"), MatchMember(bo.id or 0, "peer")],
                ["both on Python"], now))
            assert match.id is not None
            await uow.outbox.add(OutboxMessage(AnnounceMatch(match.id), community.id, now))
            await uow.commit()
            return match.id
    finally:
        await storage.dispose()


async def test_a_kill_between_expansion_and_delivery_loses_nothing_and_doubles_nothing(
        tmp_path: Path, fake: FakeSlack) -> None:
    fake.add_user("U2", "Bo", tz="Europe/London")
    url = f"sqlite+aiosqlite:///{tmp_path / 'pm.db'}"
    upgrade(url)
    mid = await _seed_match(url)
    fake.after("chat.postMessage", "hang")  # the first is posted, then no answer comes
    proc = _start(url, fake, tmp_path, tmp_path / "run.log")
    try:
        # Lanes run side by side: the hung DM's call was carried out, the others too.
        await _until(lambda: len(fake.messages) >= 1, 30)
        await asyncio.sleep(0.5)
        proc.send_signal(signal.SIGKILL)
        assert await _exit_code(proc, 10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    rows = await _stored(url)
    assert rows[keys.match_made(mid)].state is OutboxState.SENT  # the expansion committed
    intros = [keys.intro_dm(mid, i) for i in (1, 2)] + [keys.space_open(mid)]
    assert all(k in rows for k in intros)  # its rows were there before any was delivered

    fake.after_faults_clear()
    again = _start(url, fake, tmp_path, tmp_path / "again.log")
    try:
        # The restarted instance takes back the hung DM and reconciles it.
        for _ in range(int(TAKE_BACK_BOUND / 0.2)):
            if all(r.state is OutboxState.SENT for k, r in (await _stored(url)).items()
                   if k in intros):
                break
            await asyncio.sleep(0.2)
        await settle_and_stop(again)
    finally:
        if again.poll() is None:
            again.kill()
    texts = Counter(m["text"] for m in fake.messages)
    assert len(fake.messages) == 3 and all(n == 1 for n in texts.values()), texts
    rows = await _stored(url)
    assert all(rows[k].state is OutboxState.SENT for k in intros)
    assert rows[keys.match_made(mid)].state is OutboxState.SENT
    assert len([k for k in rows if k == keys.match_made(mid)]) == 1
