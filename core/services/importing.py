"""Importing learners from a spreadsheet export (Google Forms, Microsoft Forms, Excel).

Every row gets the same validation as ``/peer join`` (``joining.build_profile``) and the same
one-pending-request rule. Rows are written in batches, one transaction each (all rows of a
batch or none), with a few set-based statements per batch: nothing is read or written once
per row. A bad row never stops the others, and the report accounts for every row: imported,
updated (a known learner queued again), skipped (with why) or rejected (with why).
Importing a file twice imports nothing twice. An interrupted import keeps the batches
already committed; running it again skips them. Imported learners wait for the next round
(no instant match per row).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from core.model import MODE_LABELS, Community, Learner, MatchState, Mode, Profile, QueueEntry
from core.ports import StorageConflict, UnitOfWork
from core.services import tombstones
from core.services.context import Actor, CommandRequest, Ctx, Services
from core.services.dispatch import effective_settings
from core.services.errors import Refusal
from core.services.import_file import HeaderMapping, Table, map_headers
from core.services.joining import build_profile, may_join_while_matched
from core.settings import CommunitySettings
from core.text import clean_display

BATCH_SIZE = 500
_MODE_WORDS = {
    "buddy": Mode.STUDY_BUDDY, "group": Mode.STUDY_GROUP, "accountab": Mode.ACCOUNTABILITY,
    "offer": Mode.OFFER_SUPPORT, "behind": Mode.NEED_SUPPORT, "struggl": Mode.NEED_SUPPORT,
    "need": Mode.NEED_SUPPORT,
}
_NOT_PROFILE = {"timestamp", "user_id", "name", "mode", "email", "handle"}
IMPORTED, UPDATED, SKIPPED, REJECTED = "imported", "updated", "skipped", "rejected"
ALREADY = "already imported"


@dataclass
class ImportReport:
    """What happened to every row. ``actions`` holds (row, action, detail) for all rows in
    file order; ``skipped``/``rejected`` the (row, why) of those. ``problem``: the file
    could not be imported at all (then every row is rejected with it)."""

    total: int = 0
    imported: int = 0
    updated: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    actions: list[tuple[int, str, str]] = field(default_factory=list)
    mapping: HeaderMapping | None = None
    problem: str = ""
    dry_run: bool = False

    def add(self, line: int, action: str, detail: str) -> None:
        self.actions.append((line, action, detail))
        if action == IMPORTED:
            self.imported += 1
        elif action == UPDATED:
            self.updated += 1
        elif action == SKIPPED:
            self.skipped.append((line, detail))
        else:
            self.rejected.append((line, detail))

    @property
    def accounted(self) -> int:
        return self.imported + self.updated + len(self.skipped) + len(self.rejected)

    @property
    def already(self) -> int:
        return sum(1 for _, why in self.skipped if why.startswith(ALREADY))

    def summary(self) -> str:
        verb = "Would import" if self.dry_run else "Imported"
        other = len(self.skipped) - self.already
        return (f"{verb} {self.imported} learners; {self.already} already imported; "
                f"{self.updated} updated; {other} skipped; {len(self.rejected)} rejected "
                f"({self.total} rows).")


class FixedClock:
    """A clock stopped at one instant: a row is validated and queued 'when it was sent'."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@dataclass
class _Row:
    line: int
    user_id: str
    name: str
    mode: Mode
    joined: datetime
    args: dict[str, str]


def parse_mode(text: str) -> Mode | None:
    """A mode from its value, its label or a telling word ("Find a Study Buddy")."""
    low = text.strip().lower()
    for mode in Mode:
        if low in (mode.value, MODE_LABELS[mode].lower()):
            return mode
    for word, mode in _MODE_WORDS.items():
        if word in low:
            return mode
    return None


def _timestamp(text: str, fallback: datetime) -> datetime:
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M:%S",
                "%Y/%m/%d %H:%M:%S", "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M"):
        try:
            parsed = datetime.strptime(text.strip(), fmt)  # noqa: DTZ007 - zone added below
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return fallback


def _parse(line: int, cells: list[str], mapping: HeaderMapping, width: int,
           now: datetime) -> _Row | str:
    """A row's values, or why it cannot be read."""
    extra = [c for c in cells[width:] if c.strip()]
    if extra:
        return (f"{len(cells)} cells but the header has {width} (a delimiter inside an "
                "unquoted value?): nothing in this row can be trusted")
    values = {name: cells[i].strip() for name, i in mapping.fields.items() if i < len(cells)}
    user_id = values.get("user_id", "")
    if not user_id:
        return "no user id"
    mode_text = values.get("mode", "")
    mode = parse_mode(mode_text)
    if mode is None:
        shown = f"'{mode_text[:40]}' is not understood" if mode_text else "missing"
        return f"mode {shown} (one of: {', '.join(m.value for m in Mode)})"
    joined = min(_timestamp(values.get("timestamp", ""), now), now)
    args = {k: v for k, v in values.items() if k not in _NOT_PROFILE and v}
    # Names are shown to others: no bidi or zero-width tricks (as ensure_learner does).
    name = clean_display(values.get("name", "")).strip()
    return _Row(line, user_id, name or user_id, mode, joined, args)


def table_from_dicts(rows: list[dict[str, str]], first_line: int = 2) -> Table:
    """Rows as dicts (e.g. the demo's sample) as a Table."""
    headers = list(rows[0]) if rows else []
    records = [(n, [row.get(h, "") or "" for h in headers]) for n, row in
               enumerate(rows, first_line)]
    return Table(headers, records, "UTF-8", ",")


async def import_rows(services: Services, platform: str, community: str,
                      rows: list[dict[str, str]], first_line: int = 2,
                      progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import rows given as dicts (header -> value)."""
    return await import_table(services, platform, community,
                              table_from_dicts(rows, first_line), progress=progress)


async def import_table(services: Services, platform: str, external_id: str, table: Table, *,
                       dry_run: bool = False, batch_size: int = BATCH_SIZE,
                       progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import (or, with ``dry_run``, only plan) every record of ``table``.

    ``progress(done, total)`` is called after each batch (a progress bar in the terminal).
    """
    mapping = map_headers(table.headers, platform)
    report = ImportReport(total=len(table.records) + len(table.unreadable), mapping=mapping,
                          dry_run=dry_run)
    for line, why in table.unreadable:
        report.add(line, REJECTED, why)
    if mapping.problem:
        report.problem = mapping.problem
        for line, _ in table.records:
            report.add(line, REJECTED, "not imported: the file's columns are not understood")
        report.actions.sort()
        return report
    community = await _community(services, platform, external_id, create=not dry_run)
    settings = effective_settings(services, community)
    now = services.clock.now()
    parsed: list[_Row] = []
    last: dict[str, int] = {}
    for line, cells in table.records:
        row = _parse(line, cells, mapping, len(table.headers), now)
        if isinstance(row, str):
            report.add(line, REJECTED, row)
        else:
            parsed.append(row)
            last[row.user_id] = line
    rows = []
    for row in parsed:  # a person who answered twice: the later answer is the one meant
        if last[row.user_id] != row.line:
            report.add(row.line, SKIPPED, f"superseded by row {last[row.user_id]} "
                                          "(a later answer from the same person)")
        else:
            rows.append(row)
    for start in range(0, len(rows), batch_size):
        batch = rows[start:start + batch_size]
        for line, action, detail in await _write_batch(services, community, settings, batch,
                                                       dry_run):
            report.add(line, action, detail)
        if progress is not None:
            progress(min(start + batch_size, len(rows)), len(rows))
    report.actions.sort()
    return report


async def _community(services: Services, platform: str, external_id: str, *,
                     create: bool) -> Community:
    """The community, created on first contact (a dry run creates nothing)."""
    async with services.uow_factory() as uow:
        found = await uow.communities.by_external(platform, external_id)
        if found is not None or not create:
            return found or Community(platform, external_id, external_id)
        added = await uow.communities.add(Community(platform, external_id, external_id))
        await uow.commit()
        return added


async def _write_batch(services: Services, community: Community, settings: CommunitySettings,
                       rows: list[_Row], dry_run: bool) -> list[tuple[int, str, str]]:
    """Plan and write one batch in one transaction. A conflict with a concurrent change
    (someone joined through the bot meanwhile) re-plans the batch once on fresh reads;
    a second conflict stores none of the batch and says so for each row."""
    for attempt in range(2):
        async with services.uow_factory() as uow:
            try:
                return await _plan_and_write(services, uow, community, settings, rows, dry_run)
            except StorageConflict as exc:
                await uow.rollback()
                if attempt == 1:
                    return [(r.line, REJECTED, f"not stored: {exc}; run the import again")
                            for r in rows]
    raise AssertionError("unreachable")  # pragma: no cover


def _busy(row: _Row, learner: Learner | None, waiting: set[int], matched: set[int],
          settings: CommunitySettings, now: datetime) -> tuple[str, str] | None:
    """(action, why) when the row must not be queued: the rules of ``/peer join``."""
    if row.mode not in settings.modes:
        return REJECTED, f"{row.mode.label} isn't offered in this community"
    if learner is None:
        return None
    if learner.banned:
        return REJECTED, "banned in this community"
    if (until := learner.pause_end(now)) is not None:  # now: the answer may be old
        return SKIPPED, f"paused matching until {until:%Y-%m-%d %H:%M} UTC"
    if learner.id in waiting:
        return SKIPPED, f"{ALREADY} (already in the queue)"
    if learner.id in matched and not may_join_while_matched(row.mode):
        return SKIPPED, f"{ALREADY} (already matched)"
    return None


async def _plan_and_write(services: Services, uow: UnitOfWork, community: Community,
                          settings: CommunitySettings, rows: list[_Row],
                          dry_run: bool) -> list[tuple[int, str, str]]:
    cid = community.id
    existing = await uow.learners.by_platform_ids(cid, [r.user_id for r in rows]) if cid else {}
    known = [lr.id for lr in existing.values() if lr.id is not None]
    waiting = set(await uow.queue.open_for_many(known)) if known else set()
    matched: set[int] = set()
    if set(known) - waiting and cid is not None:  # a fresh import never reads matches
        for m in await uow.matches.list(cid, MatchState.ACTIVE):
            matched.update(m.member_ids())
    outcomes: list[tuple[int, str, str]] = []
    new: list[tuple[Learner, Profile, _Row]] = []
    again: list[tuple[Profile, _Row]] = []
    for row in rows:
        learner = existing.get(row.user_id)
        refused = _busy(row, learner, waiting, matched, settings, services.clock.now())
        if refused is not None:
            outcomes.append((row.line, *refused))
            continue
        person = learner or Learner(cid or 0, row.user_id, row.name, created_at=row.joined,
                                    id=0)  # id 0: validated before it is stored
        request = CommandRequest(community.platform, community.external_id,
                                 Actor(row.user_id, row.name), "peer join",
                                 {"mode": row.mode.value, **row.args})
        ctx = Ctx(replace(services, clock=FixedClock(row.joined)), uow, request, community,
                  person, settings, False)
        try:
            profile = build_profile(ctx, row.mode, row.args)
        except Refusal as refusal:
            outcomes.append((row.line, REJECTED, str(refusal).removeprefix("Please fix: ")))
            continue
        if learner is None:
            new.append((person, profile, row))
        else:
            again.append((profile, row))
    what = "would be" if dry_run else "was"
    outcomes += [(r.line, IMPORTED, f"{r.user_id} {what} queued for {p.mode.label} on "
                  f"{p.topic} (new learner)") for _, p, r in new]
    outcomes += [(r.line, UPDATED, f"{r.user_id} (known already) {what} queued again for "
                  f"{p.mode.label} on {p.topic}") for p, r in again]
    if not dry_run and cid is not None and (new or again):
        await uow.learners.add_many([lr for lr, _, _ in new])
        # People who forgot their data and come back in the file: their blocks hold again.
        await tombstones.restore_many(uow, [lr for lr, _, _ in new], services.clock.now())
        profiles = [replace(p, learner_id=lr.id or 0) for lr, p, _ in new]
        profiles += [p for p, _ in again]
        await uow.profiles.save_many(profiles)
        joined = [r.joined for _, _, r in new] + [r.joined for _, r in again]
        await uow.queue.add_many([QueueEntry(p.learner_id, cid, p.mode, at)
                                  for p, at in zip(profiles, joined, strict=True)])
        await uow.commit()
    return outcomes
