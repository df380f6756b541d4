"""SQLite: a bulk write of match members may take their seats up front, in one statement.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

Migration 0005's trigger takes each inserted member's seat in ``active_memberships``, one
trigger program per row: for a 100,000-learner round's 100,000 members, 1.5 of the 2.0 s
the members' INSERT took on SQLite (measured on bench/rounds.py's database; the same
seats inserted as rows of their own took 0.2 s). SQLite has no statement-level triggers
(PostgreSQL got one in 0013), so here the trigger skips a member whose seat in this very
match is there already: ``matches.add_many`` inserts the chunk's seats first, in one
executemany, then the members. Every other writer of members (one match at a time) is
served by the trigger as before. The rule is unchanged: supporters hold no seat; a member
of an active match takes (learner, kind); a second seat for the same learner and mode
breaks the primary key, whether the trigger or the bulk write inserts it.

PostgreSQL is left as 0013 made it.
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0014'
down_revision: str | Sequence[str] | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRIGGER = """
    CREATE TRIGGER trg_match_members_active_insert AFTER INSERT ON match_members
    WHEN NEW.role != 'supporter'{taken}
    BEGIN
        INSERT INTO active_memberships (learner_id, kind, match_id)
        SELECT NEW.learner_id, m.kind, m.id FROM matches m
        WHERE m.id = NEW.match_id AND m.state = 'active';
    END
"""
_TAKEN = """ AND NOT EXISTS (
        SELECT 1 FROM active_memberships a
        WHERE a.learner_id = NEW.learner_id AND a.match_id = NEW.match_id)"""


def _replace(trigger: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS trg_match_members_active_insert")
        op.execute(trigger)


def upgrade() -> None:
    _replace(_TRIGGER.format(taken=_TAKEN))


def downgrade() -> None:
    _replace(_TRIGGER.format(taken=""))
