"""What every SQL repository shares: the connection of its unit of work, inserts that
return the new id, and uniqueness violations turned into the core's ``StorageConflict``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Executable, Table, func, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from core.ports import StorageConflict

if TYPE_CHECKING:
    from adapters.sql.uow import SqlUnitOfWork


class SqlRepository:
    """Base of the repositories: statements run on the unit of work's open connection."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    @property
    def conn(self) -> AsyncConnection:
        return self._uow.connection

    async def _guarded(self, stmt: Executable, what: str) -> CursorResult[Any]:
        """Run a write inside a SAVEPOINT so that a broken uniqueness rule raises
        ``StorageConflict`` and leaves the rest of the transaction usable (PostgreSQL would
        otherwise abort the whole transaction)."""
        try:
            async with self.conn.begin_nested():
                return await self.conn.execute(stmt)
        except IntegrityError as exc:
            raise StorageConflict(f"{what}: {exc.orig}") from exc

    async def _insert(self, table: Table, values: dict[str, Any], what: str) -> int:
        """Insert a row; return its new id (raises ``StorageConflict`` on a duplicate)."""
        result = await self._guarded(table.insert().values(**values).returning(table.c.id), what)
        return int(result.scalar_one())

    async def _new_ids(self, table: Table, count: int) -> list[int]:
        """``count`` unused ids of ``table``, ascending, for rows inserted in bulk without
        RETURNING. PostgreSQL: drawn from the id's sequence (safe beside other writers).
        SQLite: the ones above the highest id, which is what SQLite itself would pick; a
        writing unit holds the database's write lock from its ``BEGIN IMMEDIATE``, so nobody
        else can take them meanwhile."""
        if self.conn.dialect.name == "postgresql":
            rows = await self.conn.scalars(
                select(func.nextval(func.pg_get_serial_sequence(table.name, "id")))
                .select_from(func.generate_series(1, count)))
            return sorted(int(r) for r in rows)
        top = int(await self.conn.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0)
        return list(range(top + 1, top + 1 + count))
