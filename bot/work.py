"""The accepted-work runner of ``peermatch run`` (core/accepted.py, core/services/accepted.py).

It runs what platforms accepted before their ack: everything left pending at start-up
(the process that accepted it died; the rows this same instance held when it died are
taken back at once, not after their lease), then whatever an adapter reports after an ack
(``kick``), and every ``LEASE`` anyway, for rows whose runner died elsewhere (several
processes on one PostgreSQL). One row at a time: a round is the heaviest work the bot has,
and two at once would only fight over the same cores.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from contextlib import suppress

from core.accepted import TOKEN_LENGTH, claim_prefix
from core.services import accepted
from core.services.accepted import WorkPlatform
from core.services.context import Services

log = logging.getLogger(__name__)


class WorkRunner:
    """Runs accepted work in the background of the bot process."""

    def __init__(self, services: Services, instance: str = "") -> None:
        self._services = services
        self.platforms: dict[str, WorkPlatform] = {}
        # This process's claims: the instance's prefix (stable across restarts) and a
        # random rest (this run's own, so a lease still tells runs apart).
        self._prefix = claim_prefix(instance)
        self._token = self._prefix + secrets.token_hex((TOKEN_LENGTH - len(self._prefix)) // 2)
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Future[None] | None = None

    def serve(self, platform: str, work: WorkPlatform) -> None:
        """Run (and answer) the commands that ``platform`` accepted."""
        self.platforms[platform] = work

    def kick(self) -> None:
        """Work was just accepted: run it now."""
        self._wake.set()

    def start(self) -> None:
        """Start; what an earlier process left pending runs first."""
        self._task = asyncio.ensure_future(self._loop())

    async def _loop(self) -> None:
        try:
            await accepted.reclaim_own(self._services, self._prefix)
        except Exception:  # the database is away: the rows come back after their lease
            log.exception("could not take back this instance's accepted work")
        while not self._stopping:
            self._wake.clear()
            try:
                ran = await accepted.run_pending(self._services, self._token, self.platforms)
                if ran:
                    log.info("accepted work: %d done", ran)
            except Exception:  # the database is away: try again at the next wake-up
                log.exception("accepted work could not be run")
            with suppress(TimeoutError):
                async with asyncio.timeout(accepted.LEASE.total_seconds()):
                    await self._wake.wait()

    async def stop(self, bound: float) -> bool:
        """Let the running row finish within ``bound`` seconds, else cancel it (its
        transaction rolls back and it runs again after a restart). True if it finished."""
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return True
        done, _ = await asyncio.wait([self._task], timeout=bound)
        if not done:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        return bool(done)
