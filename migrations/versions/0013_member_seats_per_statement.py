"""PostgreSQL: a bulk write of match members takes its seats in one set-based statement.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

Migration 0005 keeps ``active_memberships`` (one row per learner and mode of an active
match) in step with ``match_members`` by a trigger that runs once per inserted member. A
round stores its matches in bulk (``matches.add_many``: 2,000 matches and their members per
INSERT), and on PostgreSQL the per-row trigger (a PL/pgSQL call and an INSERT each) was
about 1.8 of the 4.5 s that a 100,000-learner round spent inserting its 100,000 members.

Here, on PostgreSQL, inserted members take their seats in ONE statement per INSERT: an
``AFTER INSERT ... FOR EACH STATEMENT`` trigger over the statement's transition table
(``REFERENCING NEW TABLE``). The rule is unchanged: supporters hold no seat; a member of an
active match takes (learner, kind); a second seat for the same learner and mode breaks the
primary key, so the whole INSERT fails with an integrity error (as the per-row trigger's
failing INSERT made it fail), and the repository's SAVEPOINT handles it as before. Deleted
members still give their seats back row by row (the same function as 0005).

SQLite has no statement-level triggers: its triggers are left as they are.
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0013'
down_revision: str | Sequence[str] | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UP = [
    "DROP TRIGGER IF EXISTS trg_match_members_active ON match_members",
    """
    CREATE TRIGGER trg_match_members_active_delete AFTER DELETE ON match_members
    FOR EACH ROW EXECUTE FUNCTION pm_active_memberships_from_member()
    """,
    """
    CREATE FUNCTION pm_active_memberships_from_members() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO active_memberships (learner_id, kind, match_id)
        SELECT a.learner_id, m.kind, m.id FROM pm_added_members a
        JOIN matches m ON m.id = a.match_id
        WHERE m.state = 'active' AND a.role <> 'supporter';
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER trg_match_members_active_insert AFTER INSERT ON match_members
    REFERENCING NEW TABLE AS pm_added_members
    FOR EACH STATEMENT EXECUTE FUNCTION pm_active_memberships_from_members()
    """,
]

_DOWN = [
    "DROP TRIGGER IF EXISTS trg_match_members_active_insert ON match_members",
    "DROP TRIGGER IF EXISTS trg_match_members_active_delete ON match_members",
    "DROP FUNCTION IF EXISTS pm_active_memberships_from_members()",
    """
    CREATE TRIGGER trg_match_members_active AFTER INSERT OR DELETE ON match_members
    FOR EACH ROW EXECUTE FUNCTION pm_active_memberships_from_member()
    """,
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _DOWN:
            op.execute(statement)
