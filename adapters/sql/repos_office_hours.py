"""The repository of office hours and their seats (migration 0010 holds the guards)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Row, func, select, update

from adapters.sql.repo_base import SqlRepository
from adapters.sql.tables import office_hour_seats as seats_t
from adapters.sql.tables import office_hours as hours_t
from core.model import SessionState
from core.office_hours import OfficeHour, OfficeHourState, Seat

_HOUR = ("community_id", "supporter_id", "weekday", "start_minute", "end_minute", "timezone",
         "every_weeks", "seats", "topic", "created_at")
_SEAT = ("office_hour_id", "learner_id", "start", "end", "seat_no", "ics_uid", "booked_at",
         "sequence")


def _hour_values(hour: OfficeHour) -> dict[str, Any]:
    return {**{n: getattr(hour, n) for n in _HOUR}, "first_day": hour.first_day.isoformat(),
            "cancelled": sorted(t.astimezone(UTC).isoformat() for t in hour.cancelled),
            "state": str(hour.state)}


def _hour(row: Row[Any]) -> OfficeHour:
    return OfficeHour(**{n: getattr(row, n) for n in _HOUR},
                      first_day=date.fromisoformat(row.first_day),
                      cancelled=[datetime.fromisoformat(t) for t in row.cancelled or ()],
                      state=OfficeHourState(row.state), id=row.id)


def _seat_values(seat: Seat) -> dict[str, Any]:
    return {**{n: getattr(seat, n) for n in _SEAT}, "state": str(seat.state)}


def _seat(row: Row[Any]) -> Seat:
    return Seat(**{n: getattr(row, n) for n in _SEAT}, state=SessionState(row.state),
                id=row.id)


class SqlOfficeHourRepository(SqlRepository):
    async def add(self, hour: OfficeHour) -> OfficeHour:
        hour.id = await self._insert(hours_t, _hour_values(hour), "office hour")
        return hour

    async def get(self, hour_id: int) -> OfficeHour | None:
        row = (await self.conn.execute(select(hours_t).where(hours_t.c.id == hour_id))).first()
        return _hour(row) if row else None

    async def update(self, hour: OfficeHour) -> None:
        await self.conn.execute(update(hours_t).where(hours_t.c.id == hour.id)
                                .values(_hour_values(hour)))

    async def active(self, community_id: int) -> list[OfficeHour]:
        rows = await self.conn.execute(select(hours_t).where(
            hours_t.c.community_id == community_id,
            hours_t.c.state == OfficeHourState.ACTIVE.value).order_by(hours_t.c.id))
        return [_hour(r) for r in rows]

    async def add_seat(self, seat: Seat) -> Seat:
        # A taken seat number, a second seat in one occurrence or an overlap with another
        # booking of the learner fails in the database (indexes and triggers of 0010).
        seat.id = await self._insert(seats_t, _seat_values(seat), "office hour seat refused")
        return seat

    async def get_seat(self, seat_id: int) -> Seat | None:
        row = (await self.conn.execute(select(seats_t).where(seats_t.c.id == seat_id))).first()
        return _seat(row) if row else None

    async def update_seat(self, seat: Seat) -> None:
        await self._guarded(update(seats_t).where(seats_t.c.id == seat.id)
                            .values(_seat_values(seat)), "office hour seat refused")

    async def booked_seats(self, hour_ids: Sequence[int], lo: datetime,
                           hi: datetime) -> list[Seat]:
        if not hour_ids:
            return []
        rows = await self.conn.execute(select(seats_t).where(
            seats_t.c.office_hour_id.in_(list(hour_ids)), seats_t.c.start >= lo,
            seats_t.c.start < hi, seats_t.c.state == SessionState.BOOKED.value)
            .order_by(seats_t.c.start, seats_t.c.id))
        return [_seat(r) for r in rows]

    async def seats_for_learner(self, learner_id: int) -> list[Seat]:
        rows = await self.conn.execute(select(seats_t).where(
            seats_t.c.learner_id == learner_id, seats_t.c.state == SessionState.BOOKED.value)
            .order_by(seats_t.c.start, seats_t.c.id))
        return [_seat(r) for r in rows]

    async def count_seats(self, community_id: int, lo: datetime, hi: datetime,
                          learner_id: int | None = None) -> int:
        stmt = (select(func.count()).select_from(seats_t.join(
            hours_t, hours_t.c.id == seats_t.c.office_hour_id)).where(
            hours_t.c.community_id == community_id, seats_t.c.start >= lo,
            seats_t.c.start < hi, seats_t.c.state != SessionState.CANCELLED.value))
        if learner_id is not None:
            stmt = stmt.where(seats_t.c.learner_id == learner_id)
        return int((await self.conn.execute(stmt)).scalar_one())
