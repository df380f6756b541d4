"""Repositories of communities, learners, profiles, the queue, blocks and the audit log."""

from __future__ import annotations

import builtins
import json
from collections.abc import Collection, Mapping, Sequence
from secrets import token_hex
from typing import Any

from sqlalchemy import (
    Result,
    Row,
    Table,
    and_,
    any_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from adapters.sql import lines_sql
from adapters.sql.repo_base import SqlRepository
from adapters.sql.tables import (
    audit,
    blocks,
    communities,
    learners,
    profiles,
    queue_entries,
    secrets,
    tombstones,
)
from adapters.sql.waiting_lines import Gone, Stale, Topic, Upsert, waiting_of
from core.model import (
    AuditEntry,
    Block,
    Community,
    Learner,
    Mode,
    Profile,
    QueueEntry,
    QueueState,
    Setup,
    Tombstone,
)
from core.ports import LearnerExportRow, StorageConflict


# A row's values by column name in one C-level zip: reading a Row's attributes one by one
# costs about four times as much, which is most of a 100,000-learner export (issue 9.7).
def row_values(row: Row[Any]) -> dict[str, Any]:
    """One row as {column: value}."""
    return dict(zip(row._fields, row, strict=True))


def records(result: Result[Any]) -> builtins.list[dict[str, Any]]:
    """Every row of a result as {column: value}, the column names read once (``Row._fields``
    rebuilds them for each row)."""
    keys = builtins.list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result]


# Enum members by stored value: a dict lookup, not Enum.__call__, per row.
MODES: dict[str, Mode] = {m.value: m for m in Mode}
_QUEUE_STATES: dict[str, QueueState] = {s.value: s for s in QueueState}
_SETUPS: dict[str, Setup] = {s.value: s for s in Setup}


def upsert_insert(dialect_name: str) -> Any:
    """The dialect's INSERT that knows ``ON CONFLICT`` (SQLite and PostgreSQL only)."""
    if dialect_name == "postgresql":
        return postgresql.insert
    if dialect_name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"PeerMatch supports SQLite and PostgreSQL, not {dialect_name}")


def _fields(obj: Any, *names: str) -> dict[str, Any]:
    return {n: getattr(obj, n) for n in names}


# Ids per IN (...) list: well under SQLite's and asyncpg's bound-parameter limits (32,766
# and 32,767), for the writes that read back what they wrote. Reads of many rows by key use
# ``among`` instead.
_IN_CHUNK = 500


def chunks(items: Sequence[Any], size: int = _IN_CHUNK) -> list[list[Any]]:
    """``items`` in lists of at most ``size`` (for IN (...) lists)."""
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


_chunks = chunks


def among(dialect_name: str, column: Any, values: Sequence[Any]) -> Any:
    """``column IN values`` with all the values in ONE bound parameter: a PostgreSQL array
    (``= ANY(:values)``) or, on SQLite, a JSON array read by ``json_each``. One statement
    for 20 keys or 100,000, no parameter limit, and no per-value compile cost (an expanding
    IN of 20,000 values cost SQLAlchemy seconds to render: bench/planner.py)."""
    if dialect_name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
    each = func.json_each(json.dumps(list(values))).table_valued("value")
    return column.in_(select(each.c.value))


async def _insert_many(repo: SqlRepository, table: Table, rows: list[dict[str, Any]],
                       what: str) -> None:
    """Insert rows in one executemany without RETURNING (a RETURNING that must keep the
    rows' order makes SQLAlchemy send one INSERT per row on SQLite); callers read the new
    ids back by their natural key. All or none: a duplicate raises ``StorageConflict`` and
    the SAVEPOINT undoes the rows already inserted."""
    if not rows:
        return
    try:
        async with repo.conn.begin_nested():
            await repo.conn.execute(table.insert(), rows)
    except IntegrityError as exc:
        raise StorageConflict(f"{what}: {exc.orig}") from exc


def _community(row: Row[Any]) -> Community:
    return Community(platform=row.platform, external_id=row.external_id, name=row.name,
                     settings=dict(row.settings or {}), id=row.id)


class SqlCommunityRepository(SqlRepository):
    async def get(self, community_id: int) -> Community | None:
        row = (
            await self.conn.execute(select(communities).where(communities.c.id == community_id))
        ).first()
        return _community(row) if row else None

    async def by_external(self, platform: str, external_id: str) -> Community | None:
        row = (await self.conn.execute(select(communities).where(
            communities.c.platform == platform, communities.c.external_id == external_id))).first()
        return _community(row) if row else None

    async def add(self, community: Community) -> Community:
        community.id = await self._insert(communities, _fields(
            community, "platform", "external_id", "name", "settings"), "community already exists")
        return community

    async def update(self, community: Community) -> None:
        await self._guarded(update(communities).where(communities.c.id == community.id).values(
            _fields(community, "platform", "external_id", "name", "settings")),
            "community already exists")

    async def list(self) -> list[Community]:
        rows = await self.conn.execute(select(communities).order_by(communities.c.id))
        return [_community(r) for r in rows]


_LEARNER_FIELDS = ("community_id", "platform_user_id", "display_name", "is_moderator", "banned",
                   "ban_reason", "paused_until", "created_at", "pause_reason")


def _learner(values: Mapping[str, Any]) -> Learner:
    return Learner(**{n: values[n] for n in _LEARNER_FIELDS}, id=values["id"])


class SqlLearnerRepository(SqlRepository):
    async def get(self, learner_id: int) -> Learner | None:
        row = (await self.conn.execute(select(learners).where(learners.c.id == learner_id))).first()
        return _learner(row_values(row)) if row else None

    async def by_platform_id(self, community_id: int, user_id: str) -> Learner | None:
        row = (
            await self.conn.execute(
                select(learners).where(
                    learners.c.community_id == community_id, learners.c.platform_user_id == user_id
                )
            )
        ).first()
        return _learner(row_values(row)) if row else None

    async def add(self, learner: Learner) -> Learner:
        learner.id = await self._insert(learners, _fields(learner, *_LEARNER_FIELDS),
                                        "learner already exists")
        return learner

    async def update(self, learner: Learner) -> None:
        await self._guarded(update(learners).where(learners.c.id == learner.id).values(
            _fields(learner, *_LEARNER_FIELDS)), "learner already exists")

    async def delete(self, learner_id: int) -> None:
        """Delete a learner; their profile, queue entries, memberships, blocks and feedback
        go with them (ON DELETE CASCADE)."""
        await self.conn.execute(delete(learners).where(learners.c.id == learner_id))
        self._uow.note(Gone(learner_ids=(learner_id,)))

    async def list(self, community_id: int) -> list[Learner]:
        rows = await self.conn.execute(select(learners).where(
            learners.c.community_id == community_id).order_by(learners.c.id))
        return [_learner(v) for v in records(rows)]

    async def by_platform_ids(self, community_id: int,
                              user_ids: Sequence[str]) -> dict[str, Learner]:
        if not user_ids:
            return {}
        rows = await self.conn.execute(select(learners).where(  # one statement: ``among``
            learners.c.community_id == community_id,
            among(self.conn.dialect.name, learners.c.platform_user_id,
                  list(dict.fromkeys(user_ids)))))
        return {v["platform_user_id"]: _learner(v) for v in records(rows)}

    async def get_many(self, learner_ids: Sequence[int]) -> dict[int, Learner]:
        if not learner_ids:
            return {}
        rows = await self.conn.execute(select(learners).where(
            among(self.conn.dialect.name, learners.c.id, sorted(set(learner_ids)))))
        return {v["id"]: _learner(v) for v in records(rows)}

    async def page(self, community_id: int, after_id: int, limit: int) -> builtins.list[Learner]:
        rows = await self.conn.execute(select(learners).where(
            learners.c.community_id == community_id, learners.c.id > after_id)
            .order_by(learners.c.id).limit(limit))
        return [_learner(v) for v in records(rows)]

    async def export_page(self, community_id: int, after_id: int,
                          limit: int) -> builtins.list[LearnerExportRow]:
        """One statement a page: the learner, their profile (LEFT JOIN) and latest queue
        entry (an indexed lookup per learner of the page), read as plain tuples."""
        lr, p, q = learners.c, profiles.c, queue_entries.c
        # The page's ids first: otherwise SQLite walks the community's index, looks up
        # every learner's latest entry, and only then sorts and keeps ``limit``.
        ids = (select(lr.id).where(lr.community_id == community_id, lr.id > after_id)
               .order_by(lr.id).limit(limit).subquery())
        latest = (select(q.id).where(q.learner_id == lr.id)
                  .order_by(q.joined_at.desc(), q.id.desc()).limit(1)
                  .correlate(learners).scalar_subquery())
        rows = await self.conn.execute(
            select(lr.id, lr.platform_user_id, lr.display_name, lr.banned, p.mode, p.topic,
                   p.languages, p.timezone, p.availability, p.cohort, p.country, p.setup,
                   p.support_kind, p.capacity, p.anonymous, p.goal, p.contact, q.state,
                   q.joined_at)
            .select_from(ids.join(learners, lr.id == ids.c.id)
                         .outerjoin(profiles, p.learner_id == lr.id)
                         .outerjoin(queue_entries, q.id == latest))
            .order_by(lr.id))
        return builtins.list(map(LearnerExportRow._make, rows))

    async def paused_for(self, community_id: int, reason_prefix: str) -> builtins.list[Learner]:
        # A prefix compared with substr, not LIKE: a prefix holding % or _ matches itself only.
        # ``pause_reason <> ''`` lets the database read only the paused (migration 0015).
        where = [learners.c.community_id == community_id,
                 func.substr(learners.c.pause_reason, 1, len(reason_prefix)) == reason_prefix]
        if reason_prefix:
            where.append(learners.c.pause_reason != "")
        rows = await self.conn.execute(select(learners).where(*where).order_by(learners.c.id))
        return [_learner(r) for r in records(rows)]

    async def add_many(self, items: Sequence[Learner]) -> builtins.list[Learner]:
        await _insert_many(self, learners, [_fields(lr, *_LEARNER_FIELDS) for lr in items],
                           "learner already exists")
        for community_id in {lr.community_id for lr in items}:
            mine = [lr for lr in items if lr.community_id == community_id]
            stored = await self.by_platform_ids(community_id, [lr.platform_user_id for lr in mine])
            for learner in mine:
                learner.id = stored[learner.platform_user_id].id
        return list(items)


_PROFILE_FIELDS = ("mode", "topic", "languages", "timezone", "availability", "cohort", "country",
                   "setup", "support_kind", "goal", "group_size", "capacity", "anonymous",
                   "contact", "updated_at", "rotate_partners", "styles")


def _profile(got: Mapping[str, Any]) -> Profile:
    values = {n: got[n] for n in _PROFILE_FIELDS}
    values.update(mode=MODES[got["mode"]], setup=_SETUPS[got["setup"]],
                  languages=tuple(got["languages"]), styles=tuple(got["styles"] or ()))
    return Profile(learner_id=got["learner_id"], **values)


def _profile_values(profile: Profile) -> dict[str, Any]:
    values = _fields(profile, "learner_id", *_PROFILE_FIELDS)
    values.update(mode=str(profile.mode), setup=str(profile.setup),
                  languages=list(profile.languages), styles=list(profile.styles))
    return values


class SqlProfileRepository(SqlRepository):
    async def get(self, learner_id: int) -> Profile | None:
        row = (
            await self.conn.execute(select(profiles).where(profiles.c.learner_id == learner_id))
        ).first()
        return _profile(row_values(row)) if row else None

    async def save(self, profile: Profile) -> None:
        """Insert or replace the learner's profile."""
        stmt = upsert_insert(self.conn.dialect.name)(profiles).values(**_profile_values(profile))
        await self.conn.execute(stmt.on_conflict_do_update(
            index_elements=[profiles.c.learner_id],
            set_={n: stmt.excluded[n] for n in _PROFILE_FIELDS}))
        self._uow.note(Topic(profile.learner_id, profile.topic or ""))

    async def save_many(self, items: Sequence[Profile]) -> None:
        if not items:
            return
        stmt = upsert_insert(self.conn.dialect.name)(profiles)
        await self.conn.execute(stmt.on_conflict_do_update(
            index_elements=[profiles.c.learner_id],
            set_={n: stmt.excluded[n] for n in _PROFILE_FIELDS}),
            [_profile_values(p) for p in items])
        for p in items:
            self._uow.note(Topic(p.learner_id, p.topic or ""))

    async def delete(self, learner_id: int) -> None:
        await self.conn.execute(delete(profiles).where(profiles.c.learner_id == learner_id))
        self._uow.note(Topic(learner_id, ""))

    async def for_learners(self, learner_ids: Sequence[int]) -> dict[int, Profile]:
        if not learner_ids:
            return {}
        rows = await self.conn.execute(select(profiles).where(
            among(self.conn.dialect.name, profiles.c.learner_id, sorted(set(learner_ids))))
            .order_by(profiles.c.learner_id))
        return {v["learner_id"]: _profile(v) for v in records(rows)}


_QUEUE_FIELDS = ("learner_id", "community_id", "mode", "joined_at", "state", "unmatched_reason",
                 "skip_at")
_ONE_WAITING = "learner already has a waiting queue entry"


def _entry(v: Mapping[str, Any]) -> QueueEntry:
    return QueueEntry(learner_id=v["learner_id"], community_id=v["community_id"],
                      mode=MODES[v["mode"]], joined_at=v["joined_at"],
                      state=_QUEUE_STATES[v["state"]], unmatched_reason=v["unmatched_reason"],
                      skip_at=v["skip_at"], id=v["id"])


def _entry_values(entry: QueueEntry) -> dict[str, Any]:
    values = _fields(entry, *_QUEUE_FIELDS)
    values.update(mode=str(entry.mode), state=str(entry.state))
    return values


class SqlQueueRepository(SqlRepository):
    _order = (queue_entries.c.joined_at, queue_entries.c.id)

    async def add(self, entry: QueueEntry) -> QueueEntry:
        """Add an entry; a second WAITING entry for a learner raises ``StorageConflict``."""
        entry.id = await self._insert(queue_entries, _entry_values(entry), _ONE_WAITING)
        self._uow.note(Upsert(waiting_of(entry), entry.state is QueueState.WAITING))
        return entry

    async def open_for(self, learner_id: int) -> QueueEntry | None:
        row = (await self.conn.execute(select(queue_entries).where(
            queue_entries.c.learner_id == learner_id,
            queue_entries.c.state == QueueState.WAITING.value))).first()
        return _entry(row_values(row)) if row else None

    async def update(self, entry: QueueEntry) -> None:
        await self._guarded(update(queue_entries).where(queue_entries.c.id == entry.id)
                            .values(_entry_values(entry)), _ONE_WAITING)
        self._uow.note(Upsert(waiting_of(entry), entry.state is QueueState.WAITING))

    async def waiting(self, community_id: int, mode: Mode | None = None) -> list[QueueEntry]:
        """Waiting entries, oldest first."""
        stmt = select(queue_entries).where(queue_entries.c.community_id == community_id,
                                           queue_entries.c.state == QueueState.WAITING.value)
        if mode is not None:
            stmt = stmt.where(queue_entries.c.mode == str(mode))
        return [_entry(v) for v in records(await self.conn.execute(stmt.order_by(*self._order)))]

    def _waiting_where(self, community_id: int, mode: Mode | None) -> list[Any]:
        where = [queue_entries.c.community_id == community_id,
                 queue_entries.c.state == QueueState.WAITING.value]
        if mode is not None:
            where.append(queue_entries.c.mode == str(mode))
        return where

    async def waiting_counts(self, community_id: int,
                             mode: Mode | None = None) -> dict[tuple[Mode, str], int]:
        if lines_sql.unit_made_stale(self._uow, community_id):
            return await self.counted_waiting(community_id, mode)
        return await lines_sql.waiting_counts(self._uow, community_id, mode)

    async def counted_waiting(self, community_id: int,
                              mode: Mode | None = None) -> dict[tuple[Mode, str], int]:
        """``waiting_counts`` counted by the database (the kept line's reference)."""
        topic = func.coalesce(profiles.c.topic, "")
        rows = await self.conn.execute(
            select(queue_entries.c.mode, topic, func.count())
            .select_from(queue_entries.outerjoin(
                profiles, profiles.c.learner_id == queue_entries.c.learner_id))
            .where(*self._waiting_where(community_id, mode))
            .group_by(queue_entries.c.mode, topic))
        return {(Mode(m), str(t)): int(n) for m, t, n in rows}

    async def waiting_first(self, community_id: int, mode: Mode | None,
                            topics: Collection[str] | None, limit: int) -> list[QueueEntry]:
        stmt = select(queue_entries).where(*self._waiting_where(community_id, mode))
        if topics is not None:
            stmt = stmt.join(profiles, profiles.c.learner_id == queue_entries.c.learner_id
                             ).where(profiles.c.topic.in_(sorted(topics)))
        rows = await self.conn.execute(stmt.order_by(*self._order).limit(limit))
        return [_entry(r) for r in records(rows)]

    async def delete_for(self, learner_id: int) -> None:
        await self.conn.execute(
            delete(queue_entries).where(queue_entries.c.learner_id == learner_id)
        )
        self._uow.note(Gone(learner_ids=(learner_id,)))

    async def history(self, community_id: int) -> list[QueueEntry]:
        rows = await self.conn.execute(select(queue_entries).where(
            queue_entries.c.community_id == community_id).order_by(*self._order))
        return [_entry(v) for v in records(rows)]

    async def open_for_many(self, learner_ids: Sequence[int]) -> dict[int, QueueEntry]:
        if not learner_ids:
            return {}
        rows = await self.conn.execute(select(queue_entries).where(
            among(self.conn.dialect.name, queue_entries.c.learner_id,
                  list(dict.fromkeys(learner_ids))),
            queue_entries.c.state == QueueState.WAITING.value))
        return {v["learner_id"]: _entry(v) for v in records(rows)}

    async def latest_for_many(self, learner_ids: Sequence[int]) -> dict[int, QueueEntry]:
        if not learner_ids:
            return {}
        rows = await self.conn.execute(select(queue_entries).where(
            among(self.conn.dialect.name, queue_entries.c.learner_id, sorted(set(learner_ids))))
            .order_by(*self._order))
        return {v["learner_id"]: _entry(v) for v in records(rows)}  # oldest first: the latest wins

    async def position(self, entry: QueueEntry) -> tuple[int, int]:
        if lines_sql.unit_made_stale(self._uow, entry.community_id):
            return await self.counted_position(entry)
        return await lines_sql.position(self._uow, entry)

    async def counted_position(self, entry: QueueEntry) -> tuple[int, int]:
        """``position`` counted by the database (the kept line's reference)."""
        q = queue_entries.c
        ahead = or_(q.joined_at < entry.joined_at,
                    and_(q.joined_at == entry.joined_at, q.id <= entry.id))
        row = (await self.conn.execute(select(
            func.count(), func.coalesce(func.sum(case((ahead, 1), else_=0)), 0),
            func.coalesce(func.sum(case((q.id == entry.id, 1), else_=0)), 0),
        ).where(q.community_id == entry.community_id, q.state == QueueState.WAITING.value,
                q.mode == str(entry.mode)))).one()
        total, place, present = int(row[0]), int(row[1]), int(row[2])
        return (place if present else total, total)

    async def add_many(self, entries: Sequence[QueueEntry]) -> list[QueueEntry]:
        if any(e.state is not QueueState.WAITING for e in entries):
            raise ValueError("add_many stores new WAITING entries only")
        await _insert_many(self, queue_entries, [_entry_values(e) for e in entries],
                           _ONE_WAITING)
        for community_id in {e.community_id for e in entries}:  # many: read them again
            self._uow.note(Stale(community_id))
        # One WAITING entry per learner (a unique index): that is the new entry's key.
        stored = await self.open_for_many([e.learner_id for e in entries])
        for entry in entries:
            entry.id = stored[entry.learner_id].id
        return list(entries)

    async def claim_waiting(self, learner_ids: Sequence[int]) -> dict[int, int]:
        """Mark these learners' entries MATCHED only ``WHERE state = 'waiting'`` (reason
        cleared); return whose entries changed, with the entry ids. Someone who left (or
        was matched by someone else) since they were read is simply not among them."""
        if not learner_ids:
            return {}
        rows = await self.conn.execute(  # one set-based statement, however many (``among``)
            update(queue_entries).where(
                among(self.conn.dialect.name, queue_entries.c.learner_id,
                      list(dict.fromkeys(learner_ids))),
                queue_entries.c.state == QueueState.WAITING.value)
            .values(state=QueueState.MATCHED.value, unmatched_reason="")
            .returning(queue_entries.c.learner_id, queue_entries.c.id))
        claimed = {int(lid): int(eid) for lid, eid in rows}
        self._uow.note(Gone(entry_ids=tuple(claimed.values())))
        return claimed

    async def release(self, entry_ids: Collection[int]) -> None:
        if not entry_ids:
            return
        await self.conn.execute(
            update(queue_entries).where(
                among(self.conn.dialect.name, queue_entries.c.id, sorted(set(entry_ids))),
                queue_entries.c.state == QueueState.MATCHED.value)
            .values(state=QueueState.WAITING.value))
        self._uow.note(Stale(None))  # back in line (a round's release): read them again

    async def waiting_ids(self, community_id: int) -> set[int]:
        rows = await self.conn.execute(select(queue_entries.c.learner_id).where(
            queue_entries.c.community_id == community_id,
            queue_entries.c.state == QueueState.WAITING.value))
        return set(rows.scalars())

    async def note_unmatched(self, reasons: Mapping[int, str]) -> None:
        """Store why each of these learners is still waiting (entries still WAITING only),
        in one batched statement."""
        if not reasons:
            return
        await self.conn.execute(
            update(queue_entries).where(queue_entries.c.learner_id == bindparam("lid"),
                                        queue_entries.c.state == QueueState.WAITING.value)
            .values(unmatched_reason=bindparam("why")),
            [{"lid": lid, "why": why} for lid, why in reasons.items()])


class SqlBlockRepository(SqlRepository):
    async def add(self, block: Block) -> None:
        """Store the pair (smaller id first); a pair already blocked is left as it is."""
        a, b = sorted((block.learner_a, block.learner_b))
        stmt = upsert_insert(self.conn.dialect.name)(blocks).values(
            community_id=block.community_id, learner_a=a, learner_b=b, reason=block.reason,
            created_at=block.created_at)
        await self.conn.execute(stmt.on_conflict_do_nothing())

    async def pairs(self, community_id: int) -> set[frozenset[int]]:
        rows = await self.conn.execute(select(blocks.c.learner_a, blocks.c.learner_b).where(
            blocks.c.community_id == community_id))
        return {frozenset((r.learner_a, r.learner_b)) for r in rows}

    async def of(self, learner_id: int) -> list[Block]:
        rows = await self.conn.execute(select(blocks).where(
            or_(blocks.c.learner_a == learner_id, blocks.c.learner_b == learner_id)))
        return [Block(r.community_id, r.learner_a, r.learner_b, r.reason, r.created_at)
                for r in rows]

    async def delete_for(self, learner_id: int) -> None:
        await self.conn.execute(delete(blocks).where(
            or_(blocks.c.learner_a == learner_id, blocks.c.learner_b == learner_id)))

    async def tombstone_key(self) -> bytes:
        """Made on first use (random, 32 bytes) and kept; concurrent first uses agree,
        since only one insert wins and both read the stored row."""
        name = "tombstone-key"
        found = (await self.conn.execute(
            select(secrets.c.value).where(secrets.c.name == name))).scalar_one_or_none()
        if found is None:
            stmt = upsert_insert(self.conn.dialect.name)(secrets).values(
                name=name, value=token_hex(32))
            await self.conn.execute(stmt.on_conflict_do_nothing())
            found = (await self.conn.execute(
                select(secrets.c.value).where(secrets.c.name == name))).scalar_one()
        return bytes.fromhex(found)

    async def bury(self, tombstone: Tombstone) -> None:
        result = await self.conn.execute(insert(tombstones).values(_fields(
            tombstone, "community_id", "subject", "other_learner_id", "other_subject", "reason",
            "created_at")).returning(tombstones.c.id))
        tombstone.id = int(result.scalar_one())

    async def tombstones(self, community_id: int, subjects: Sequence[str]) -> list[Tombstone]:
        found: dict[int, Tombstone] = {}
        for chunk in _chunks(list(subjects)):
            rows = await self.conn.execute(select(tombstones).where(
                tombstones.c.community_id == community_id,
                or_(tombstones.c.subject.in_(chunk), tombstones.c.other_subject.in_(chunk))))
            found.update((r.id, _tombstone(r)) for r in rows)
        return [found[i] for i in sorted(found)]

    async def tombstones_naming(self, learner_id: int) -> list[Tombstone]:
        rows = await self.conn.execute(select(tombstones).where(
            tombstones.c.other_learner_id == learner_id).order_by(tombstones.c.id))
        return [_tombstone(r) for r in rows]

    async def update_tombstone(self, tombstone: Tombstone) -> None:
        await self.conn.execute(update(tombstones).where(tombstones.c.id == tombstone.id).values(
            _fields(tombstone, "subject", "other_learner_id", "other_subject")))

    async def delete_tombstone(self, tombstone_id: int) -> None:
        await self.conn.execute(delete(tombstones).where(tombstones.c.id == tombstone_id))


def _tombstone(row: Row[Any]) -> Tombstone:
    return Tombstone(community_id=row.community_id, subject=row.subject, reason=row.reason,
                     created_at=row.created_at, other_learner_id=row.other_learner_id,
                     other_subject=row.other_subject, id=row.id)


class SqlAuditRepository(SqlRepository):
    async def add(self, entry: AuditEntry) -> None:
        result = await self.conn.execute(
            insert(audit)
            .values(_fields(entry, "community_id", "actor", "action", "detail", "at"))
            .returning(audit.c.id)
        )
        entry.id = int(result.scalar_one())

    async def list(self, community_id: int) -> list[AuditEntry]:
        rows = await self.conn.execute(select(audit).where(audit.c.community_id == community_id)
                                       .order_by(audit.c.id))
        return [AuditEntry(community_id=r.community_id, actor=r.actor, action=r.action,
                           detail=r.detail, at=r.at, id=r.id) for r in rows]
