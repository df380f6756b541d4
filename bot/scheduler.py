"""The scheduler: matching rounds on each community's cron, the outbox dispatcher tick, and
the periodic check-in planner, on an APScheduler 3.x ``AsyncIOScheduler``.

Jobs live in the default memory job store and are rebuilt from config and database at every
start (``PeerScheduler.start``) and on ``refresh()``; nothing is pickled, so a code change or
a community's new cron never meets a stale stored job. Everything durable is in the
database: due messages are outbox rows, so a restart loses nothing.

Several bot processes on one PostgreSQL database are safe:

- a round stores its plan under the community's advisory lock (``uow.lock_community``) and
  is skipped when a round already started at or after this cron fire time (checked before
  loading and again under the lock), so each fire makes one round whichever process gets
  there first; the store re-checks who still waits, so nobody is matched twice;
- the dispatcher claims due rows with ``FOR UPDATE SKIP LOCKED``, a lease and a claim
  token that guards every later write (core/services/delivery.py); at start a process
  takes back its own dead claims (``instance_id``) at once;
- the planner only writes rows under idempotency keys.

The job bodies are plain async functions (``tick``, ``run_scheduled_round``,
``run_due_rounds``, ``plan_all``), usable without APScheduler: tests drive them with a
fake clock, and ``start()`` uses ``run_due_rounds`` to catch up on a round missed while
the bot was down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from bot.process import gc_paused
from core.cron import NO_SCHEDULE, WEEKDAYS, CronError, CronSpec, parse_cron
from core.model import Community
from core.ports import Deliverer, UnitOfWork
from core.services.cadence import rotate_due
from core.services.context import Services
from core.services.delivery import TickResult, dispatch_due, drain, reclaim_own
from core.services.dispatch import effective_settings
from core.services.errors import Refusal
from core.services.ghosts import find_ghosts
from core.services.planner import plan_periodic
from core.services.rounds import RoundOutcome, run_round
from core.services.support_offers import expire_due
from core.settings import DispatchSettings

log = logging.getLogger(__name__)

CommunityLister = Callable[[], Awaitable[list[Community]]]
def has_schedule(expr: str) -> bool:
    """False for a community that runs rounds by hand only (schedule "off")."""
    return expr.strip().lower() not in NO_SCHEDULE


class _WallClockCron(CronTrigger):  # type: ignore[misc]
    """APScheduler's CronTrigger held to core/cron.py's DST rule: a wall time that happens
    twice fires once (APScheduler alone fires both), and an instant fires once (alone it
    can return a gap time and the same instant after the gap)."""

    def get_next_fire_time(self, previous_fire_time: datetime | None,
                           now: datetime) -> datetime | None:
        # APScheduler 3 is untyped: its answer is an aware datetime or None.
        nxt: datetime | None = super().get_next_fire_time(previous_fire_time, now)
        while nxt is not None and (_second_occurrence(nxt) or (
                previous_fire_time is not None
                and nxt.astimezone(UTC) <= previous_fire_time.astimezone(UTC))):
            nxt = super().get_next_fire_time(nxt, nxt)
        return nxt


def _second_occurrence(when: datetime) -> bool:
    return when.fold == 1 and when.replace(fold=0).utcoffset() != when.utcoffset()


def cron_trigger(spec: CronSpec, timezone: str) -> CronTrigger:
    """The APScheduler trigger of a parsed cron line (core/cron.py is the only parser): each
    field is spelt out as its values, weekdays by name because APScheduler 3 counts 0 as
    Monday where cron counts 0 as Sunday. Fire times are wall-clock times in the zone, the
    same as ``core.cron.next_fire`` gives, DST included (tests/bot/test_cron_trigger.py)."""
    def numbers(values: frozenset[int]) -> str:
        return ",".join(str(v) for v in sorted(values))

    return _WallClockCron(minute=numbers(spec.minutes), hour=numbers(spec.hours),
                       day=numbers(spec.days), month=numbers(spec.months),
                       day_of_week=",".join(WEEKDAYS[d] for d in sorted(spec.weekdays)),
                       timezone=timezone or "UTC")


def crontab_trigger(expr: str, timezone: str) -> CronTrigger:
    """The trigger of a schedule line (CronError, a ValueError, if it does not parse or is
    'off': callers check ``has_schedule`` first)."""
    spec = parse_cron(expr)
    if spec is None:
        raise CronError("rounds are by hand only (off): there is nothing to schedule")
    return cron_trigger(spec, timezone)


def fire_times(trigger: BaseTrigger, since: datetime, until: datetime) -> list[datetime]:
    """The trigger's fire times in (since, until], oldest first."""
    out: list[datetime] = []
    nxt = trigger.get_next_fire_time(None, since + timedelta(microseconds=1))
    while nxt is not None and nxt <= until:
        out.append(nxt)
        nxt = trigger.get_next_fire_time(nxt, nxt)
    return out


async def list_communities(services: Services) -> list[Community]:
    """Every stored community (the default community lister)."""
    async with services.uow_factory() as uow:
        return await uow.communities.list()


async def tick(services: Services, deliverers: Mapping[str, Deliverer],
               settings: DispatchSettings | None = None) -> TickResult:
    """Deliver what is due now (one dispatcher batch)."""
    return await dispatch_due(services.uow_factory, services.clock, deliverers, settings)


async def run_scheduled_round(services: Services, community_id: int,
                              fire_time: datetime) -> RoundOutcome | None:
    """Run the community's round for the cron fire at ``fire_time`` and commit; None when
    another process holds the round lock or a round already started since that fire
    (checked before loading and again under the lock just before storing)."""

    async def still_due(uow: UnitOfWork) -> bool:
        latest = await uow.rounds.latest(community_id, dry_run=False)
        return latest is None or latest.started_at < fire_time

    async with services.uow_factory(writes=False) as uow:
        community = await uow.communities.get(community_id)
        if community is None or not await uow.lock_community(community_id):
            return None
        if not await still_due(uow):
            return None
    settings = effective_settings(services, community)
    try:
        # the collector paused for the whole round, not only its solve: the load and the
        # store make hundreds of thousands of objects beside the queue's own, and each
        # collection rescans them all (bot/process.py; 7 s of a 100,000-learner round)
        with gc_paused():
            outcome = await run_round(services, community, settings, dry_run=False,
                                      still_wanted=still_due)
    except Refusal as refusal:
        log.info("round for community %s skipped: %s", community_id, refusal)
        return None
    log.info("round for community %s: %d matches, %d waiting", community_id,
             len(outcome.matches), len(outcome.plan.unmatched))
    return outcome


async def run_due_rounds(services: Services, since: datetime, until: datetime,
                         communities: list[Community] | None = None) -> list[int]:
    """Run each community's round whose cron fired in (since, until] (once, for the latest
    fire: a missed backlog is one round, not several). Returns the communities that ran."""
    ran: list[int] = []
    for community in communities if communities is not None else await list_communities(services):
        assert community.id is not None
        settings = effective_settings(services, community)
        if not has_schedule(settings.schedule):
            continue
        try:
            fires = fire_times(crontab_trigger(settings.schedule, settings.timezone), since, until)
        except ValueError as exc:
            log.error("community %s has an invalid schedule %r: %s", community.id,
                      settings.schedule, exc)
            continue
        if fires and await run_scheduled_round(services, community.id, fires[-1]) is not None:
            ran.append(community.id)
    return ran


async def plan_all(services: Services, communities: list[Community] | None = None) -> int:
    """Write the weekly check-ins and waiting updates now due, in every community; then
    pause the ghosts (and ask silent members again: core/services/ghosts.py), rotate
    the partners due for it (core/services/cadence.py) and hand on the support offers no
    supporter answered in time (core/services/support_offers.py), each in its own unit of
    work."""
    written = 0
    for community in communities if communities is not None else await list_communities(services):
        # Reads in one unit of work, then short write batches (core/services/planner.py).
        written += await plan_periodic(services.uow_factory, community, services.clock.now())
        settings, now = effective_settings(services, community), services.clock.now()
        await find_ghosts(services.uow_factory, community, settings, now)  # reads, then writes
        async with services.uow_factory() as uow:
            await rotate_due(uow, community, settings, now)  # after: a ghost is not "moved on"
            await uow.commit()
        await expire_due(services, community, settings, now)  # silence: the next supporter
    return written


class PeerScheduler:
    """The jobs of one bot process. ``await start()`` once the event loop runs;
    ``await refresh()`` after a community's schedule changed; ``shutdown()`` at exit."""

    def __init__(self, services: Services, deliverers: Mapping[str, Deliverer], *,
                 communities: CommunityLister | None = None,
                 dispatch: DispatchSettings | None = None, tick_seconds: float = 5.0,
                 plan_minutes: float = 15.0, catch_up_hours: float = 6.0,
                 round_grace_minutes: float = 30.0, instance_id: str = "") -> None:
        self.services = services
        self.instance_id = instance_id  # names this process's outbox claims
        self.deliverers = deliverers
        self.communities = communities or (lambda: list_communities(services))
        self.dispatch = dispatch
        self.tick_seconds = tick_seconds
        self.plan_minutes = plan_minutes
        self.catch_up = timedelta(hours=catch_up_hours)
        self.grace = timedelta(minutes=round_grace_minutes)
        # coalesce + one instance: a slow tick is never run twice at once or in a backlog.
        self.scheduler = AsyncIOScheduler(timezone=UTC, job_defaults={
            "coalesce": True, "max_instances": 1,
            "misfire_grace_time": int(self.grace.total_seconds())})
        self._triggers: dict[int, CronTrigger] = {}
        self._specs: dict[int, tuple[str, str]] = {}
        self._inflight: set[asyncio.Task[Any]] = set()  # jobs running now (for stop())
        self._stopping = False  # set by stop(): the outbox starts no new row

    async def start(self) -> None:
        """Take back this instance's dead outbox claims, build every job, start the
        scheduler, and run a round missed during downtime."""
        await reclaim_own(self.services.uow_factory, self.services.clock, self.instance_id)
        self.scheduler.add_job(self._tick, "interval", seconds=self.tick_seconds, id="tick",
                               replace_existing=True, next_run_time=datetime.now(UTC))
        self.scheduler.add_job(self._plan, "interval", minutes=self.plan_minutes, id="plan",
                               replace_existing=True, next_run_time=datetime.now(UTC))
        communities = await self.refresh()
        self.scheduler.start()
        now = self.services.clock.now()
        await run_due_rounds(self.services, now - self.catch_up, now, communities)

    async def refresh(self) -> list[Community]:
        """Re-read the communities and (re)build the round jobs whose schedule or zone
        changed (the planner calls it too, so a new community or a new schedule is picked
        up within ``plan_minutes`` without a restart)."""
        communities = await self.communities()
        wanted: set[str] = set()
        for community in communities:
            assert community.id is not None
            settings = effective_settings(self.services, community)
            job_id = f"round:{community.id}"
            spec = (settings.schedule, settings.timezone)
            if not has_schedule(settings.schedule):
                continue  # rounds by hand only; an old job is removed below
            if self._specs.get(community.id) == spec and self.scheduler.get_job(job_id):
                wanted.add(job_id)
                continue
            try:
                trigger = crontab_trigger(*spec)
            except ValueError as exc:
                log.error("community %s (%s): invalid schedule %r: %s; no automatic rounds",
                          community.id, community.name, settings.schedule, exc)
                continue
            wanted.add(job_id)
            self._triggers[community.id], self._specs[community.id] = trigger, spec
            self.scheduler.add_job(self._round, trigger, args=[community.id], id=job_id,
                                   name=f"round {community.name}", replace_existing=True)
        for job in self.scheduler.get_jobs():
            if job.id.startswith("round:") and job.id not in wanted:
                job.remove()
        return communities

    def jobs(self) -> dict[str, datetime | None]:
        """Job id -> next run time (for logs, `peermatch` status and tests)."""
        return {job.id: getattr(job, "next_run_time", None) for job in self.scheduler.get_jobs()}

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def stop(self, grace_seconds: float) -> bool:
        """Start no new job, give the running ones ``grace_seconds`` to finish, then cancel
        what is left (a cancelled delivery keeps its row pending: it is sent after restart).
        Returns True when everything finished in time."""
        self._stopping = True
        if self.scheduler.running:
            self.scheduler.pause()
        running = {t for t in self._inflight if not t.done()}
        finished = True
        if running:
            log.info("waiting up to %.0f s for %d running job(s)", grace_seconds, len(running))
            _, late = await asyncio.wait(running, timeout=grace_seconds)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=1.0)
                finished = False
        self.shutdown()
        return finished

    def _track(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def _tick(self) -> None:
        self._track()
        try:
            await drain(self.services.uow_factory, self.services.clock, self.deliverers,
                        self.dispatch, stopping=lambda: self._stopping,
                        instance=self.instance_id, defaults=self.services.defaults)
        except Exception:  # a database hiccup must not kill the job; next tick retries
            log.exception("outbox tick failed")

    async def _plan(self) -> None:
        self._track()
        try:
            await plan_all(self.services, await self.refresh())
        except Exception:
            log.exception("check-in planning failed")

    async def _round(self, community_id: int) -> None:
        self._track()
        now = self.services.clock.now()
        trigger = self._triggers.get(community_id)
        fires = fire_times(trigger, now - self.grace, now) if trigger else []
        try:
            await run_scheduled_round(self.services, community_id, fires[-1] if fires else now)
        except Exception:
            log.exception("scheduled round for community %s failed", community_id)
