"""Nobody in two active matches of one mode, enforced by the database: ``active_memberships``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

A round stores a plan made from an earlier read, and a moderator may pair learners by hand
meanwhile (issue 10.3). The round's store re-checks who still waits, and ``pair`` takes the
community lock; the database has the last word, as migration 0002 does for double booking:

- ``active_memberships`` holds one row per member of every ACTIVE match, keyed by
  (learner, match kind): a second active match of one mode for a learner breaks the
  primary key. Supporters (role ``supporter``) have several seats and hold no row.
- Triggers keep it in step: a member written into an active match takes a row; a member
  leaving a match gives it back; a match whose state (or kind) is written gets its rows
  rewritten (none once it ended). Unique keys are safe under concurrency on PostgreSQL (the
  second writer waits, then fails), which a check in a trigger under READ COMMITTED is not;
  on SQLite one writer runs at a time.

The failed write raises an integrity error, which the match repository turns into
``StorageConflict`` inside a savepoint; a round then skips that match (its members wait for
the next round). Existing active matches are copied in (a duplicate that slipped in before
is kept once).

Future migrations: a SQLite batch operation on ``matches`` or ``match_members`` rebuilds the
table, and SQLite drops a table's triggers with it: re-create them afterwards.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL = """
    INSERT INTO active_memberships (learner_id, kind, match_id)
    SELECT mm.learner_id, m.kind, MIN(m.id) FROM matches m
    JOIN match_members mm ON mm.match_id = m.id
    WHERE m.state = 'active' AND mm.role <> 'supporter'
    GROUP BY mm.learner_id, m.kind
"""

_PG = [
    _BACKFILL,
    """
    CREATE FUNCTION pm_active_memberships_from_member() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            DELETE FROM active_memberships
            WHERE match_id = OLD.match_id AND learner_id = OLD.learner_id;
            RETURN NULL;
        END IF;
        IF NEW.role <> 'supporter' THEN
            INSERT INTO active_memberships (learner_id, kind, match_id)
            SELECT NEW.learner_id, m.kind, m.id FROM matches m
            WHERE m.id = NEW.match_id AND m.state = 'active';
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER trg_match_members_active AFTER INSERT OR DELETE ON match_members
    FOR EACH ROW EXECUTE FUNCTION pm_active_memberships_from_member()
    """,
    """
    CREATE FUNCTION pm_active_memberships_from_match() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.state = OLD.state AND NEW.kind = OLD.kind THEN
            RETURN NULL;
        END IF;
        DELETE FROM active_memberships WHERE match_id = NEW.id;
        IF NEW.state = 'active' THEN
            INSERT INTO active_memberships (learner_id, kind, match_id)
            SELECT mm.learner_id, NEW.kind, NEW.id FROM match_members mm
            WHERE mm.match_id = NEW.id AND mm.role <> 'supporter';
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER trg_matches_active AFTER UPDATE ON matches
    FOR EACH ROW EXECUTE FUNCTION pm_active_memberships_from_match()
    """,
]

_SQLITE = [
    _BACKFILL,
    """
    CREATE TRIGGER trg_match_members_active_insert AFTER INSERT ON match_members
    WHEN NEW.role != 'supporter'
    BEGIN
        INSERT INTO active_memberships (learner_id, kind, match_id)
        SELECT NEW.learner_id, m.kind, m.id FROM matches m
        WHERE m.id = NEW.match_id AND m.state = 'active';
    END
    """,
    """
    CREATE TRIGGER trg_match_members_active_delete AFTER DELETE ON match_members
    BEGIN
        DELETE FROM active_memberships
        WHERE match_id = OLD.match_id AND learner_id = OLD.learner_id;
    END
    """,
    """
    CREATE TRIGGER trg_matches_active_update AFTER UPDATE OF state, kind ON matches
    WHEN NEW.state != OLD.state OR NEW.kind != OLD.kind
    BEGIN
        DELETE FROM active_memberships WHERE match_id = NEW.id;
        INSERT INTO active_memberships (learner_id, kind, match_id)
        SELECT mm.learner_id, NEW.kind, NEW.id FROM match_members mm
        WHERE mm.match_id = NEW.id AND mm.role != 'supporter' AND NEW.state = 'active';
    END
    """,
]

_SQLITE_TRIGGERS = ("trg_match_members_active_insert", "trg_match_members_active_delete",
                    "trg_matches_active_update")


def upgrade() -> None:
    op.create_table('active_memberships',
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('match_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['learner_id'], ['learners.id'], name=op.f('fk_active_memberships_learner_id_learners'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['match_id'], ['matches.id'], name=op.f('fk_active_memberships_match_id_matches'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('learner_id', 'kind', name=op.f('pk_active_memberships'))
    )
    op.create_index(op.f('ix_active_memberships_match_id'), 'active_memberships', ['match_id'], unique=False)
    for statement in _PG if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_matches_active ON matches")
        op.execute("DROP TRIGGER IF EXISTS trg_match_members_active ON match_members")
        op.execute("DROP FUNCTION IF EXISTS pm_active_memberships_from_match()")
        op.execute("DROP FUNCTION IF EXISTS pm_active_memberships_from_member()")
    else:
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index(op.f('ix_active_memberships_match_id'), table_name='active_memberships')
    op.drop_table('active_memberships')
