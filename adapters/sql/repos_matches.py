"""Repositories of matches (with their members), rounds, sessions and feedback."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, Select, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from adapters.sql.repo_base import SqlRepository
from adapters.sql.repos_people import MODES, among, chunks, records
from adapters.sql.tables import active_memberships, match_members, matches, rounds, sessions
from adapters.sql.tables import feedback as feedback_t
from core.model import (
    SUPPORT_MODES,
    Feedback,
    Match,
    MatchMember,
    MatchState,
    Round,
    Session,
    SessionState,
)
from core.ports import StorageConflict

_MATCH_FIELDS = ("community_id", "round_id", "kind", "reasons", "score", "space_id", "state",
                 "ended_reason", "ended_at", "created_at")


def _match_values(match: Match, utc_text: dict[datetime, str] | None = None) -> dict[str, Any]:
    """The match's row. ``utc_text``: the UTC text of instants already written, shared
    across a bulk write (a round's 50,000 matches suggest a few hundred distinct times)."""
    known = {} if utc_text is None else utc_text

    def utc(instant: datetime) -> str:
        text = known.get(instant)  # equal instants have one UTC text, whatever their zone
        if text is None:
            text = known[instant] = instant.astimezone(UTC).isoformat()
        return text

    values = {n: getattr(match, n) for n in _MATCH_FIELDS}
    values.update(kind=str(match.kind), state=str(match.state), reasons=list(match.reasons),
                  suggested_times=[[utc(s), utc(e)] for s, e in match.suggested_times])
    return values


_MATCH_STATES = {s.value: s for s in MatchState}
_SUPPORTER = "supporter"  # several seats: holds no row in active_memberships (migration 0005)
_MANY_CHUNK = 2_000  # matches per bulk write: 3 statements and one SAVEPOINT each


def _member_rows(match: Match) -> list[dict[str, Any]]:
    return [{"match_id": match.id, "learner_id": m.learner_id, "role": m.role, "alias": m.alias,
             "position": i, "answered_at": m.answered_at} for i, m in enumerate(match.members)]


def _seats(match: Match) -> set[tuple[int, str]]:
    """The (learner, mode) rows of ``active_memberships`` this match would take."""
    if match.state is not MatchState.ACTIVE:
        return set()
    return {(m.learner_id, str(match.kind)) for m in match.members if m.role != _SUPPORTER}


def _member_of(learner_ids: Sequence[int]) -> Select[tuple[int]]:
    """Ids of the matches any of these learners belongs to (a sub-select)."""
    return select(match_members.c.match_id).where(match_members.c.learner_id.in_(list(learner_ids)))


class SqlMatchRepository(SqlRepository):
    async def _load(self, stmt: Select[Any]) -> list[Match]:
        stmt = stmt.order_by(None).order_by(matches.c.id)
        found = records(await self.conn.execute(stmt))
        if not found:
            return []
        members: dict[int, list[MatchMember]] = {r["id"]: [] for r in found}
        # The members of the same selection: up to a few thousand matches by their ids (one
        # bound parameter, ``among``), beyond that as a sub-select (a community's 50,000
        # matches would not fit an IN (...) list: SQLite takes 32,766 parameters).
        chosen = (among(self.conn.dialect.name, match_members.c.match_id, list(members))
                  if len(members) <= 5_000
                  else match_members.c.match_id.in_(stmt.with_only_columns(matches.c.id)))
        for m in await self.conn.execute(
                select(match_members.c.match_id, match_members.c.learner_id,
                       match_members.c.role, match_members.c.alias,
                       match_members.c.answered_at).where(chosen)
                .order_by(match_members.c.match_id, match_members.c.position)):
            match_id, learner_id, role, alias, answered_at = m
            if match_id in members:  # a match added since the first read is not shown
                members[match_id].append(MatchMember(learner_id, role, alias, answered_at))
        return [Match(
            community_id=r["community_id"], kind=MODES[r["kind"]], members=members[r["id"]],
            reasons=list(r["reasons"]), created_at=r["created_at"],
            suggested_times=[(datetime.fromisoformat(s), datetime.fromisoformat(e))
                             for s, e in r["suggested_times"]],
            round_id=r["round_id"], score=r["score"], space_id=r["space_id"],
            state=_MATCH_STATES[r["state"]], ended_reason=r["ended_reason"],
            ended_at=r["ended_at"], id=r["id"]) for r in found]

    async def _save_members(self, match: Match, *, new: bool = False) -> None:
        if not new:  # a new match has no members to replace yet
            await self.conn.execute(
                delete(match_members).where(match_members.c.match_id == match.id))
        if match.members:
            await self.conn.execute(insert(match_members), _member_rows(match))

    async def add(self, match: Match) -> Match:
        """Store a new match with its members, all or nothing: a member already in an
        active match of this mode (the guard of migration 0005) raises ``StorageConflict``
        and leaves the rest of the transaction usable."""
        try:
            async with self.conn.begin_nested():
                match.id = int((await self.conn.execute(
                    matches.insert().values(_match_values(match)).returning(matches.c.id)
                )).scalar_one())
                await self._save_members(match, new=True)
        except IntegrityError as exc:
            match.id = None
            raise StorageConflict(f"match not stored: {exc.orig}") from exc
        return match

    async def add_many(self, items: Sequence[Match]) -> builtins.list[Match]:
        """Store new matches in a few statements per ``_MANY_CHUNK`` of them (a round's
        50,000 matches: some 150 statements, not 150,000): one read of the seats already
        taken, then per chunk new ids, one executemany of matches and one of members inside
        a SAVEPOINT. The guard of migration 0005 keeps the last word: should a chunk still
        break it (a seat taken by a concurrent writer after the read), the SAVEPOINT undoes
        the chunk and its matches are stored one at a time, only the refused ones left out."""
        items = builtins.list(items)
        if not items:
            return []
        taken = await self._taken_seats({lid for m in items for lid, _ in _seats(m)})
        fresh: builtins.list[Match] = []
        for match in items:
            match.id = None
            seats = _seats(match)
            if seats & taken:  # refused, as the guard would: nobody in two at once
                continue
            taken |= seats
            fresh.append(match)
        stored: builtins.list[Match] = []
        for chunk in chunks(fresh, _MANY_CHUNK):
            try:
                async with self.conn.begin_nested():
                    await self._insert_chunk(chunk)
                stored += chunk
            except IntegrityError:
                for match in chunk:
                    match.id = None
                    try:
                        stored.append(await self.add(match))
                    except StorageConflict:
                        continue
        return stored

    async def _taken_seats(self, learner_ids: set[int]) -> set[tuple[int, str]]:
        if not learner_ids:
            return set()
        rows = await self.conn.execute(
            select(active_memberships.c.learner_id, active_memberships.c.kind).where(
                among(self.conn.dialect.name, active_memberships.c.learner_id,
                      sorted(learner_ids))))
        return {(r.learner_id, r.kind) for r in rows}

    async def _insert_chunk(self, chunk: builtins.list[Match]) -> None:
        """Give the chunk's matches their ids up front, then executemany INSERTs of the
        matches, (SQLite) their members' seats and the members (an INSERT ... RETURNING
        that must keep the rows' order is one statement per row on SQLite through
        SQLAlchemy)."""
        for match, new_id in zip(chunk, await self._new_ids(matches, len(chunk)), strict=True):
            match.id = new_id
        try:
            utc_text: dict[datetime, str] = {}
            await self._insert_rows(matches, [{"id": m.id, **_match_values(m, utc_text)}
                                              for m in chunk])
            if self.conn.dialect.name == "sqlite":
                # the seats first, in one executemany: migration 0014's per-row trigger then
                # skips these members (1.5 s of a 100,000-member INSERT otherwise)
                await self._insert_rows(active_memberships, [
                    {"learner_id": lid, "kind": kind, "match_id": m.id}
                    for m in chunk for lid, kind in sorted(_seats(m))])
            await self._insert_rows(match_members,
                                    [row for m in chunk for row in _member_rows(m)])
        except BaseException:
            for match in chunk:
                match.id = None
            raise

    async def support_seats(self, learner_ids: Sequence[int]) -> dict[int, int]:
        """Active support matches per learner, counted in SQL (GROUP BY), one statement."""
        if not learner_ids:
            return {}
        rows = await self.conn.execute(
            select(match_members.c.learner_id, func.count())
            .join(matches, matches.c.id == match_members.c.match_id)
            .where(among(self.conn.dialect.name, match_members.c.learner_id,
                         sorted(set(learner_ids))),
                   matches.c.state == MatchState.ACTIVE.value,
                   matches.c.kind.in_(sorted(str(m) for m in SUPPORT_MODES)))
            .group_by(match_members.c.learner_id))
        return {int(lid): int(n) for lid, n in rows}

    async def partner_pairs(self, community_id: int) -> set[frozenset[int]]:
        """One self-join of match_members: two members of one match, the lower id first."""
        one, other = match_members.alias("one"), match_members.alias("other")
        rows = await self.conn.execute(
            select(one.c.learner_id, other.c.learner_id)
            .join(other, (other.c.match_id == one.c.match_id)
                  & (other.c.learner_id > one.c.learner_id))
            .join(matches, matches.c.id == one.c.match_id)
            .where(matches.c.community_id == community_id).distinct())
        return {frozenset(pair) for pair in rows}

    async def get(self, match_id: int) -> Match | None:
        found = await self._load(select(matches).where(matches.c.id == match_id))
        return found[0] if found else None

    async def update(self, match: Match) -> None:
        """Store the match and replace its member list with ``match.members`` (all or
        nothing; ``StorageConflict`` as for ``add``)."""
        try:
            async with self.conn.begin_nested():
                await self.conn.execute(update(matches).where(matches.c.id == match.id)
                                        .values(_match_values(match)))
                await self._save_members(match)
        except IntegrityError as exc:
            raise StorageConflict(f"match not stored: {exc.orig}") from exc

    async def active_for(self, learner_id: int) -> list[Match]:
        return await self._load(select(matches).where(
            matches.c.id.in_(_member_of([learner_id])), matches.c.state == MatchState.ACTIVE.value))

    async def for_learner(self, learner_id: int) -> list[Match]:
        return await self._load(select(matches).where(matches.c.id.in_(_member_of([learner_id]))))

    async def list(self, community_id: int, state: MatchState | None = None) -> list[Match]:
        stmt = select(matches).where(matches.c.community_id == community_id)
        if state is not None:
            stmt = stmt.where(matches.c.state == str(state))
        return await self._load(stmt)

    async def page(self, community_id: int, after_id: int,
                   limit: int) -> builtins.list[Match]:
        return await self._load(select(matches).where(
            matches.c.community_id == community_id, matches.c.id > after_id)
            .order_by(matches.c.id).limit(limit))

    async def get_many(self, match_ids: Sequence[int]) -> dict[int, Match]:
        if not match_ids:
            return {}
        return {m.id or 0: m for m in await self._load(select(matches).where(
            among(self.conn.dialect.name, matches.c.id, sorted(set(match_ids)))))}

    async def remove_member(self, learner_id: int) -> None:
        """Forget a learner in every match (used by /peer forget)."""
        await self.conn.execute(
            delete(match_members).where(match_members.c.learner_id == learner_id)
        )


_ROUND_FIELDS = ("community_id", "seed", "started_at", "dry_run", "finished_at", "figures")


def _round(row: Row[Any]) -> Round:
    return Round(**{n: getattr(row, n) for n in _ROUND_FIELDS}, id=row.id)


class SqlRoundRepository(SqlRepository):
    async def add(self, rnd: Round) -> Round:
        rnd.id = await self._insert(rounds, {n: getattr(rnd, n) for n in _ROUND_FIELDS},
                                    "round not stored")
        return rnd

    async def latest(self, community_id: int, dry_run: bool | None = None) -> Round | None:
        stmt = select(rounds).where(rounds.c.community_id == community_id)
        if dry_run is not None:
            stmt = stmt.where(rounds.c.dry_run == dry_run)
        row = (await self.conn.execute(
            stmt.order_by(rounds.c.started_at.desc(), rounds.c.id.desc()).limit(1))).first()
        return _round(row) if row else None

    async def list(self, community_id: int) -> list[Round]:
        rows = await self.conn.execute(select(rounds).where(rounds.c.community_id == community_id)
                                       .order_by(rounds.c.id))
        return [_round(r) for r in rows]


_SESSION_FIELDS = ("match_id", "start", "end", "booked_by", "ics_uid", "sequence")


def _session(row: Row[Any]) -> Session:
    return Session(**{n: getattr(row, n) for n in _SESSION_FIELDS},
                   state=SessionState(row.state), id=row.id)


def _session_values(session: Session) -> dict[str, Any]:
    return {**{n: getattr(session, n) for n in _SESSION_FIELDS}, "state": str(session.state)}


class SqlSessionRepository(SqlRepository):
    _order = (sessions.c.start, sessions.c.id)

    async def add(self, session: Session) -> Session:
        session.id = await self._insert(sessions, _session_values(session), "ics uid already used")
        return session

    async def get(self, session_id: int) -> Session | None:
        row = (await self.conn.execute(select(sessions).where(sessions.c.id == session_id))).first()
        return _session(row) if row else None

    async def update(self, session: Session) -> None:
        await self._guarded(update(sessions).where(sessions.c.id == session.id)
                            .values(_session_values(session)), "ics uid already used")

    async def for_match(self, match_id: int) -> list[Session]:
        rows = await self.conn.execute(select(sessions).where(sessions.c.match_id == match_id)
                                       .order_by(*self._order))
        return [_session(r) for r in rows]

    async def for_matches(self, match_ids: Sequence[int]) -> dict[int, list[Session]]:
        out: dict[int, list[Session]] = {}
        if not match_ids:
            return out
        rows = await self.conn.execute(select(sessions).where(
            sessions.c.match_id.in_(list(match_ids))).order_by(*self._order))
        for r in rows:
            out.setdefault(r.match_id, []).append(_session(r))
        return out

    async def booked_for_learners(self, learner_ids: Sequence[int]) -> list[Session]:
        """Booked sessions of any match any of these learners belongs to."""
        if not learner_ids:
            return []
        rows = await self.conn.execute(select(sessions).where(
            sessions.c.match_id.in_(_member_of(learner_ids)),
            sessions.c.state == SessionState.BOOKED.value).order_by(*self._order))
        return [_session(r) for r in rows]

    async def count_since(self, community_id: int, since: datetime,
                          learner_id: int | None = None) -> int:
        """Sessions not cancelled that start at or after ``since`` in the community's matches
        (only the learner's matches when ``learner_id`` is given)."""
        stmt = (select(func.count()).select_from(sessions)
                .join(matches, matches.c.id == sessions.c.match_id)
                .where(matches.c.community_id == community_id, sessions.c.start >= since,
                       sessions.c.state != SessionState.CANCELLED.value))
        if learner_id is not None:
            stmt = stmt.where(sessions.c.match_id.in_(_member_of([learner_id])))
        return int(await self.conn.scalar(stmt) or 0)


    async def for_community(self, community_id: int) -> list[Session]:
        rows = await self.conn.execute(
            select(sessions).join(matches, matches.c.id == sessions.c.match_id)
            .where(matches.c.community_id == community_id).order_by(*self._order))
        return [_session(r) for r in rows]

    async def matches_with_sessions(self, community_id: int) -> set[int]:
        rows = await self.conn.scalars(
            select(sessions.c.match_id).distinct()
            .join(matches, matches.c.id == sessions.c.match_id)
            .where(matches.c.community_id == community_id,
                   sessions.c.state != SessionState.CANCELLED.value))
        return set(rows)


_FEEDBACK_FIELDS = ("match_id", "from_learner", "to_learner", "scores", "comment", "created_at")
_FEEDBACK_TWICE = "feedback already given"


def _feedback(row: Row[Any]) -> Feedback:
    return Feedback(**{n: getattr(row, n) for n in _FEEDBACK_FIELDS},
                    session_id=row.session_id or None, id=row.id)


def _feedback_values(fb: Feedback) -> dict[str, Any]:
    # None <-> 0: see the comment on feedback.session_id in tables.py.
    return {**{n: getattr(fb, n) for n in _FEEDBACK_FIELDS}, "session_id": fb.session_id or 0}


class SqlFeedbackRepository(SqlRepository):
    async def add(self, feedback: Feedback) -> Feedback:
        feedback.id = await self._insert(feedback_t, _feedback_values(feedback), _FEEDBACK_TWICE)
        return feedback

    async def update(self, feedback: Feedback) -> None:
        await self._guarded(update(feedback_t).where(feedback_t.c.id == feedback.id)
                            .values(_feedback_values(feedback)), _FEEDBACK_TWICE)

    async def find(self, match_id: int, session_id: int | None, from_learner: int,
                   to_learner: int) -> Feedback | None:
        row = (
            await self.conn.execute(
                select(feedback_t).where(
                    feedback_t.c.match_id == match_id,
                    feedback_t.c.session_id == (session_id or 0),
                    feedback_t.c.from_learner == from_learner,
                    feedback_t.c.to_learner == to_learner,
                )
            )
        ).first()
        return _feedback(row) if row else None

    async def about(self, learner_id: int) -> list[Feedback]:
        rows = await self.conn.execute(
            select(feedback_t)
            .where(feedback_t.c.to_learner == learner_id)
            .order_by(feedback_t.c.id)
        )
        return [_feedback(r) for r in rows]

    async def list(self, community_id: int) -> list[Feedback]:
        rows = await self.conn.execute(
            select(feedback_t).join(matches, matches.c.id == feedback_t.c.match_id)
            .where(matches.c.community_id == community_id).order_by(feedback_t.c.id))
        return [_feedback(r) for r in rows]

    async def delete_for(self, learner_id: int) -> None:
        await self.conn.execute(delete(feedback_t).where(
            (feedback_t.c.from_learner == learner_id) | (feedback_t.c.to_learner == learner_id)))
