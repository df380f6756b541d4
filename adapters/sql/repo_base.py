"""What every SQL repository shares: the connection of its unit of work, inserts that
return the new id, and uniqueness violations turned into the core's ``StorageConflict``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Column,
    Executable,
    Select,
    Table,
    Text,
    bindparam,
    cast,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from core.ports import StorageConflict

if TYPE_CHECKING:
    from adapters.sql.uow import SqlUnitOfWork


def unnested(table: Table, rows: list[dict[str, Any]]) -> tuple[list[str], Select[Any]]:
    """PostgreSQL: the rows (all with the same keys) as ``SELECT ... FROM unnest(one array
    per column) WITH ORDINALITY ORDER BY`` it, for ``INSERT ... SELECT`` of them all in one
    statement, in their order (ids drawn from a sequence follow it)."""
    names = list(rows[0])
    arrays = []
    for name in names:
        column = table.c[name]
        values = [row[name] for row in rows]
        if isinstance(column.type, JSON):  # json[] is awkward to bind: text, cast back
            arrays.append(bindparam(None, [json.dumps(v) for v in values],
                                    type_=postgresql.ARRAY(Text())))
        else:
            arrays.append(bindparam(None, values, type_=postgresql.ARRAY(column.type)))
    src = func.unnest(*arrays).table_valued(*names, with_ordinality="ord").render_derived()
    picked = [cast(src.c[n], JSON) if isinstance(table.c[n].type, JSON) else src.c[n]
              for n in names]
    return names, select(*picked).order_by(src.c.ord)


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

    async def _insert_rows(self, table: Table, rows: list[dict[str, Any]],
                           unless_taken: Column[Any] | None = None) -> None:
        """Insert many rows (all with the same keys) without RETURNING. On PostgreSQL as ONE
        ``INSERT ... SELECT FROM unnest(arrays)``: asyncpg's executemany runs the INSERT
        once per row (1.9 s of server time for a round's 100,000 match members; the rows'
        triggers run either way). SQLite: the driver's executemany of plain tuples, each
        column through its type's bind processor (SQLAlchemy's own executemany builds and
        processes a parameter dict per row: a second of a 100,000-learner round's store).
        ``unless_taken`` (SQLite only): a unique column; a row whose value is taken already
        is left out (ON CONFLICT DO NOTHING)."""
        if not rows:
            return
        dialect = self.conn.dialect
        if dialect.name == "postgresql":
            assert unless_taken is None, "PostgreSQL: use unnested() with on_conflict"
            await self.conn.execute(insert(table).from_select(*unnested(table, rows)))
            return
        names = list(rows[0])
        quote = dialect.identifier_preparer.quote
        sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
               f"VALUES ({', '.join('?' for _ in names)})")
        if unless_taken is not None:
            sql += f" ON CONFLICT ({quote(unless_taken.name)}) DO NOTHING"
        columns = []
        for name in names:  # column by column: one processor call per value, no dict
            values = [row[name] for row in rows]
            # as SQLAlchemy's compiler does: the dialect's own processors (a TypeDecorator's
            # ``bind_processor`` alone skips SQLite's DATETIME text format)
            process = table.c[name].type._cached_bind_processor(dialect)
            columns.append([process(v) for v in values] if process else values)
        await self.conn.exec_driver_sql(sql, list(zip(*columns, strict=True)))

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
